"""Time :func:`apkscan.extract.dex.read_dex` on every dex of an APK, native and pure Python.

    python benchmarks/bench_dex.py [APK] [--repeat 3] [--androguard] [--only native|python]

The default APK is ``large/cmp_mixed_13dex.apk`` of the corpus (``$APKSCAN_CORPUS`` or
``../shared/corpus``). Each implementation runs in its own process (the C extension
``apkscan.extract._dexfast``, and the pure-Python reader with ``APKSCAN_PURE_PYTHON=1``),
so that each peak RSS is its own. In each, the dex entries are inflated once, up front,
with zipfile; the figures are the median of ``--repeat`` runs of ``read_dex`` per file
and in total (wall seconds), and the peak RSS of the process. The table shows both side
by side with the ratio. ``--androguard`` also times ``DEX(data).get_methods()`` on the
same bytes, in a third process. ``--only`` runs one implementation in this process.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

CORPUS = Path(os.environ.get("APKSCAN_CORPUS") or REPO.parent / "shared" / "corpus")
DEFAULT_APK = CORPUS / "large" / "cmp_mixed_13dex.apk"
IMPLEMENTATIONS = ("native", "python")


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


def bench_ours(entries: list[tuple[str, bytes]], repeat: int) -> dict[str, Any]:
    """Runs read_dex as imported here (the environment chose the implementation)."""
    from apkscan.extract import dex as dexmod

    per_file: dict[str, list[float]] = {name: [] for name, _ in entries}
    totals: list[float] = []
    counts: dict[str, tuple[int, ...]] = {}
    for _ in range(repeat):
        run_start = time.perf_counter()
        for name, data in entries:
            start = time.perf_counter()
            dex, notes = dexmod.read_dex(data, name)
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
    return {
        "native": dexmod.NATIVE,
        "files": {name: [statistics.median(per_file[name]), *counts[name]] for name, _ in entries},
        "total": statistics.median(totals),
        "runs": totals,
        "rss": peak_rss_mb(),
    }


def bench_androguard(entries: list[tuple[str, bytes]]) -> dict[str, Any]:
    from loguru import logger

    logger.disable("androguard")
    from androguard.core.dex import DEX

    start = time.perf_counter()
    for _, data in entries:
        DEX(data).get_methods()
    return {"total": time.perf_counter() - start, "rss": peak_rss_mb()}


def child(apk: Path, impl: str, repeat: int) -> dict[str, Any] | None:
    """One implementation in a fresh interpreter; None when it cannot run there."""
    env = dict(os.environ)
    env.pop("APKSCAN_PURE_PYTHON", None)
    if impl == "python":
        env["APKSCAN_PURE_PYTHON"] = "1"
    cmd = [sys.executable, __file__, str(apk), "--repeat", str(repeat), "--only", impl, "--json"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        print(f"{impl}: failed ({proc.stderr.strip().splitlines()[-1:] or proc.returncode})", file=sys.stderr)
        return None
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    if impl == "native" and not result.get("native"):
        print("native: the C extension apkscan.extract._dexfast is not built; pure Python only", file=sys.stderr)
        return None
    return result


def report(entries: list[tuple[str, bytes]], results: dict[str, dict[str, Any]], repeat: int) -> None:
    nat, py = results.get("native"), results.get("python")
    ref = nat or py
    assert ref is not None
    print(
        f"{'entry':<16}{'MB':>7}{'native s':>10}{'python s':>10}{'ratio':>7}{'classes':>9}{'methods':>9}"
        f"{'fields':>8}{'strings':>9}{'calls':>9}{'consts':>8}{'notes':>6}"
    )
    for name, data in entries:
        c = ref["files"][name]
        n_s = f"{nat['files'][name][0]:.3f}" if nat else "-"
        p_s = f"{py['files'][name][0]:.3f}" if py else "-"
        ratio = f"{py['files'][name][0] / nat['files'][name][0]:.1f}x" if nat and py and nat["files"][name][0] else "-"
        if nat and py and nat["files"][name][1:] != py["files"][name][1:]:
            ratio += " MISMATCH"
        print(
            f"{name:<16}{len(data) / 1e6:>7.2f}{n_s:>10}{p_s:>10}{ratio:>7}"
            f"{c[1]:>9}{c[2]:>9}{c[3]:>8}{c[4]:>9}{c[5]:>9}{c[6]:>8}{c[7]:>6}"
        )
    size = sum(len(d) for _, d in entries) / 1e6
    print(f"read_dex total for {len(entries)} dex, {size:.1f} MB (median of {repeat}):")
    for impl in IMPLEMENTATIONS:
        r = results.get(impl)
        if r:
            runs = ", ".join(f"{t:.3f}" for t in r["runs"])
            print(f"  {impl:<7} {r['total']:.3f} s   peak RSS {r['rss']:.0f} MB   (runs: {runs})")
    if nat and py:
        print(f"  ratio python / native: {py['total'] / nat['total']:.1f}x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("apk", nargs="?", type=Path, default=DEFAULT_APK)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--androguard", action="store_true", help="also time androguard")
    parser.add_argument("--only", choices=[*IMPLEMENTATIONS, "androguard"], help="one implementation, in this process")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not args.apk.is_file():
        print(f"{args.apk} not found (set APKSCAN_CORPUS)", file=sys.stderr)
        return 2
    if args.only:
        if args.only == "python":
            os.environ["APKSCAN_PURE_PYTHON"] = "1"  # before apkscan.extract.dex is imported
        start = time.perf_counter()
        entries = load(args.apk)
        inflate = time.perf_counter() - start
        rss = peak_rss_mb()
        result = bench_androguard(entries) if args.only == "androguard" else bench_ours(entries, args.repeat)
        result.update(inflate=inflate, rss_inflated=rss)
        if args.json:
            print(json.dumps(result))
        else:
            print(f"{args.only}: {result['total']:.3f} s, peak RSS {result['rss']:.0f} MB")
        return 0

    start = time.perf_counter()
    entries = load(args.apk)
    print(f"{args.apk.name}: inflated {len(entries)} dex in {time.perf_counter() - start:.3f} s")
    print(f"peak RSS after inflating: {peak_rss_mb():.0f} MB (each process below starts from about this)")
    results = {impl: r for impl in IMPLEMENTATIONS if (r := child(args.apk, impl, args.repeat)) is not None}
    if not results:
        return 1
    report(entries, results, args.repeat)
    if args.androguard:
        theirs = child(args.apk, "androguard", 1)
        if theirs:
            seconds, rss = theirs["total"], theirs["rss"]
            print(f"androguard DEX(data).get_methods(): {seconds:.3f} s (one run), peak RSS {rss:.0f} MB")
            for impl, r in results.items():
                print(f"ratio androguard / read_dex {impl}: {theirs['total'] / r['total']:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
