"""Read and inflate every entry of a large APK: ``zipfile`` against :class:`ApkArchive`.

Usage: ``PYTHONPATH=. python benchmarks/bench_archive.py [APK]``; the default APK is
``$APKSCAN_CORPUS/large/cmp_mixed_13dex.apk`` (``APKSCAN_CORPUS`` defaults to
``../shared/corpus`` next to the repository). Prints the median of 3 runs of each, in the
same process, and the ratio.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

from apkscan.extract.archive import ApkArchive
from apkscan.limits import Limits

ROOT = Path(__file__).resolve().parent.parent


def default_apk() -> Path:
    corpus = Path(os.environ.get("APKSCAN_CORPUS", ROOT.parent / "shared" / "corpus"))
    return corpus / "large" / "cmp_mixed_13dex.apk"


def with_zipfile(path: Path) -> int:
    total = 0
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            total += len(zf.read(info))
    return total


def with_apkarchive(path: Path) -> int:
    archive = ApkArchive.open(path, Limits())
    return sum(len(archive.read(name)) for name in archive.names())


def with_apkarchive_facts(path: Path) -> int:
    archive = ApkArchive.open(path, Limits())
    return len(archive.facts().entries)


def median_of_3(fn: Callable[[Path], int], path: Path) -> tuple[float, int]:
    times: list[float] = []
    result = 0
    for _ in range(3):
        t0 = time.perf_counter()
        result = fn(path)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def main() -> int:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else default_apk()
    if not path.is_file():
        print(f"no APK at {path}; pass one or set APKSCAN_CORPUS", file=sys.stderr)
        return 2
    t_zip, n_zip = median_of_3(with_zipfile, path)
    t_arc, n_arc = median_of_3(with_apkarchive, path)
    t_facts, n_entries = median_of_3(with_apkarchive_facts, path)
    print(f"{path.name}: {n_entries} entries, {n_arc / 1e6:.1f} MB uncompressed")
    print(f"zipfile    read all : {t_zip:.3f} s ({n_zip} bytes)")
    print(f"ApkArchive read all : {t_arc:.3f} s ({n_arc} bytes)  ratio {t_arc / t_zip:.2f}x")
    print(f"ApkArchive open+facts (sniff only): {t_facts:.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
