"""Time :func:`apkscan.extract.dex.read_dex` on every dex of an APK.

    python benchmarks/bench_dex.py [APK] [--repeat 3] [--androguard]

The default APK is ``large/cmp_mixed_13dex.apk`` of the corpus (``$APKSCAN_CORPUS`` or
``../shared/corpus``). The dex entries are inflated once, up front, with zipfile; the
figures are the median of ``--repeat`` runs of ``read_dex`` per file and in total, and
the peak RSS of the process. ``--androguard`` also times ``DEX(data).get_methods()`` on
the same bytes, for the ratio.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import sys
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from apkscan.extract.dex import read_dex  # noqa: E402

CORPUS = Path(os.environ.get("APKSCAN_CORPUS") or REPO.parent / "shared" / "corpus")
DEFAULT_APK = CORPUS / "large" / "cmp_mixed_13dex.apk"


def peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux and in bytes on macOS.
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def load(apk: Path) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(apk) as zf:
        entries = [
            (info.filename, zf.read(info)) for info in zf.infolist() if re.fullmatch(r"classes\d*\.dex", info.filename)
        ]
    return sorted(entries, key=lambda e: (len(e[0]), e[0]))


def bench_ours(entries: list[tuple[str, bytes]], repeat: int) -> float:
    per_file: dict[str, list[float]] = {name: [] for name, _ in entries}
    totals: list[float] = []
    counts: dict[str, tuple[int, ...]] = {}
    for _ in range(repeat):
        run_start = time.perf_counter()
        for name, data in entries:
            start = time.perf_counter()
            dex, notes = read_dex(data, name)
            per_file[name].append(time.perf_counter() - start)
            counts[name] = (
                len(dex.classes),
                len(dex.methods),
                len(dex.fields),
                len(dex.strings),
                len(dex.calls),
                len(dex.const_strings),
                len(notes),
            )
            del dex
        totals.append(time.perf_counter() - run_start)
    print(
        f"{'entry':<16}{'MB':>7}{'s':>8}{'classes':>9}{'methods':>9}{'fields':>8}"
        f"{'strings':>9}{'calls':>9}{'consts':>8}{'notes':>6}"
    )
    for name, data in entries:
        c = counts[name]
        print(
            f"{name:<16}{len(data) / 1e6:>7.2f}{statistics.median(per_file[name]):>8.3f}"
            f"{c[0]:>9}{c[1]:>9}{c[2]:>8}{c[3]:>9}{c[4]:>9}{c[5]:>8}{c[6]:>6}"
        )
    total = statistics.median(totals)
    size = sum(len(d) for _, d in entries) / 1e6
    print(
        f"read_dex total: {total:.3f} s for {len(entries)} dex, {size:.1f} MB "
        f"(median of {repeat}; runs: {', '.join(f'{t:.3f}' for t in totals)})"
    )
    print(f"peak RSS: {peak_rss_mb():.0f} MB")
    return total


def bench_androguard(entries: list[tuple[str, bytes]]) -> float:
    from loguru import logger

    logger.disable("androguard")
    from androguard.core.dex import DEX

    start = time.perf_counter()
    for _, data in entries:
        DEX(data).get_methods()
    elapsed = time.perf_counter() - start
    print(f"androguard DEX(data).get_methods(): {elapsed:.3f} s (one run)")
    print(f"peak RSS after androguard: {peak_rss_mb():.0f} MB")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("apk", nargs="?", type=Path, default=DEFAULT_APK)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--androguard", action="store_true", help="also time androguard")
    args = parser.parse_args()
    if not args.apk.is_file():
        print(f"{args.apk} not found (set APKSCAN_CORPUS)", file=sys.stderr)
        return 2
    start = time.perf_counter()
    entries = load(args.apk)
    print(f"{args.apk.name}: inflated {len(entries)} dex in {time.perf_counter() - start:.3f} s")
    print(f"peak RSS after inflating: {peak_rss_mb():.0f} MB")
    ours = bench_ours(entries, args.repeat)
    if args.androguard:
        theirs = bench_androguard(entries)
        print(f"ratio androguard / read_dex: {theirs / ours:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
