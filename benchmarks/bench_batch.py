"""Batch throughput: APKs per minute with -j 1, -j 2 and a 2-worker Dask LocalCluster.

    python benchmarks/bench_batch.py [--corpus DIR] [--large] [--format json,html]

Uses the real-APK corpus at ../shared/corpus (or $APKSCAN_CORPUS): its top-level APKs and
apksig/ (``--large`` adds large/). Each configuration runs into a fresh temporary output
folder (no store to resume from), so every APK is read, evaluated and reported.
The wall time includes starting the workers, hashing, the store and the batch exports.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from apkscan.batch.runner import BatchOptions, BatchSummary, parse_formats, run_batch

ROOT = Path(__file__).resolve().parent.parent


def corpus_files(corpus: Path, large: bool) -> list[Path]:
    files = sorted(p for p in corpus.glob("*.apk") if p.is_file())
    files += sorted(p for p in (corpus / "apksig").glob("*.apk") if p.is_file())
    if large:
        files += sorted((corpus / "large").glob("*.apk"))
    return files


def one(label: str, listing: Path, formats: tuple[str, ...], jobs: int = 1,
        scheduler: str | None = None) -> BatchSummary:
    with tempfile.TemporaryDirectory(prefix="apkscan-bench-") as tmp:
        t0 = time.perf_counter()
        s = run_batch(BatchOptions(source=listing, out=Path(tmp) / "out", jobs=jobs, scheduler=scheduler,
                                   formats=formats, quiet=True))
        wall = time.perf_counter() - t0
    s.wall_s = wall
    print(f"{label:<22} {s.files:>5} files  {s.scanned:>4} ok  {len(s.failed):>3} failed  "
          f"{wall:7.1f} s  {s.per_minute:8.1f} APKs/min", flush=True)
    return s


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(os.environ.get("APKSCAN_CORPUS", ROOT.parent / "shared" / "corpus"))
    ap.add_argument("--corpus", type=Path, default=default)
    ap.add_argument("--large", action="store_true", help="include large/ (adds ~30 s of work per run)")
    ap.add_argument("--format", default="json,html", help="per-APK report formats (default json,html)")
    ap.add_argument("--no-dask", action="store_true")
    args = ap.parse_args()
    if not args.corpus.is_dir():
        print(f"corpus not found: {args.corpus} (set APKSCAN_CORPUS)", file=sys.stderr)
        return 2
    files = corpus_files(args.corpus, args.large)
    formats = parse_formats(args.format)
    print(f"corpus {args.corpus}: {len(files)} files, {sum(p.stat().st_size for p in files) / 1e6:.1f} MB; "
          f"{os.cpu_count()} CPUs; reports: {','.join(formats) or 'none'}")
    with tempfile.TemporaryDirectory(prefix="apkscan-bench-list-") as tmp:
        listing = Path(tmp) / "inputs.txt"
        listing.write_text("".join(f"{p}\n" for p in files), encoding="utf-8")
        j1 = one("local -j 1", listing, formats, jobs=1)
        j2 = one("local -j 2", listing, formats, jobs=2)
        dask = None
        if not args.no_dask:
            from distributed import LocalCluster

            with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
                dask = one("dask LocalCluster(2)", listing, formats, scheduler=cluster.scheduler_address)
    print(f"scaling -j 2 vs -j 1: {j2.per_minute / j1.per_minute:.2f}x")
    if dask is not None:
        print(f"scaling dask(2) vs -j 1: {dask.per_minute / j1.per_minute:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
