"""``apkscan serve`` under a bounded load from loopback, beside ``apkscan batch`` and the CLI.

    python benchmarks/bench_serve.py [--count 200] [--concurrency 8] [-j 2] [--repeat 20]

1. latency of one ~3 MB app (``--app``; default the corpus APK closest to 3 MB) on a
   warm service: ``--repeat`` uploads one after another, each a different file (a unique
   ZIP comment, so the store cannot answer it), compared with ``apkscan scan`` of the same
   file in a new process (the CLI per-APK cost);
2. throughput: ``--count`` distinct files (the samples, then the corpus's top-level APKs,
   then apksig/), uploaded ``--concurrency`` at a time with ``?wait``, then
   ``apkscan batch -j J`` on the same files (same report formats: json, html, sarif) in a
   new process, as a user runs it.

Everything stays on 127.0.0.1; the service gets a fresh data folder (no store to answer from).
"""

from __future__ import annotations

import argparse
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from serve_util import Server, request, upload  # noqa: E402


def files_for(corpus: Path | None, count: int) -> list[Path]:
    files = sorted((ROOT / "samples").glob("*.apk"))
    if corpus is not None:
        files += sorted(p for p in corpus.glob("*.apk") if p.is_file())
        files += sorted(p for p in (corpus / "apksig").glob("*.apk") if p.is_file())
    seen: set[bytes] = set()
    out = []
    import hashlib

    for p in files:
        h = hashlib.sha256(p.read_bytes()).digest()
        if h not in seen:
            seen.add(h)
            out.append(p)
    return out[:count]


def variant(data: bytes, i: int) -> bytes:
    """The same APK with a unique ZIP comment (a new SHA-256, the same work to scan)."""
    comment = f"apkscan-bench-{i}".encode()
    if data[-22:-18] == b"PK\x05\x06" and data[-2:] == b"\0\0":
        return data[:-2] + struct.pack("<H", len(comment)) + comment
    return data + comment  # not a plain EOCD at the end: trailing bytes still change the hash


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(os.environ.get("APKSCAN_CORPUS", ROOT.parent / "shared" / "corpus"))
    ap.add_argument("--corpus", type=Path, default=default)
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("-j", "--jobs", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=20, help="uploads of the ~3 MB app for its latency")
    ap.add_argument("--cli-runs", type=int, default=3)
    ap.add_argument("--app", type=Path, help="the app whose latency is measured (default: the corpus APK "
                                              "closest to 3 MB)")
    args = ap.parse_args()
    corpus = args.corpus if args.corpus.is_dir() else None
    files = files_for(corpus, args.count)
    if args.app is not None:
        mid = args.app
    elif corpus is not None:  # the corpus app closest to 3 MB
        mid = min((p for p in corpus.glob("*.apk") if p.is_file()), key=lambda p: abs(p.stat().st_size - 3_000_000))
    else:
        mid = max((ROOT / "samples").glob("*.apk"), key=lambda p: p.stat().st_size)
    print(f"{len(files)} distinct files, {sum(p.stat().st_size for p in files) / 1e6:.1f} MB; "
          f"{os.cpu_count()} CPUs; -j {args.jobs}; concurrency {args.concurrency}", flush=True)

    with tempfile.TemporaryDirectory(prefix="apkscan-bench-serve-") as tmp:
        tmpd = Path(tmp)
        # --- the CLI baseline: one new process per APK -----------------------------------
        cli_times = []
        for i in range(args.cli_runs):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "apkscan", "scan", str(mid), "-o", str(tmpd / f"cli{i}"),
                            "-f", "json,html,sarif"], check=False, capture_output=True)
            cli_times.append(time.perf_counter() - t0)

        # --- the service -----------------------------------------------------------------
        t_start = time.perf_counter()
        srv = Server(tmpd / "data", "-j", str(args.jobs), "--rate", "0", "--queue-max", "100000")
        try:
            srv.wait_ready(srv.token)
            start_s = time.perf_counter() - t_start
            for warm in sorted((ROOT / "samples").glob("*.apk"))[:2]:  # each worker's first scan
                upload(srv, srv.token, variant(warm.read_bytes(), 10_000), "warm.apk")
            data = mid.read_bytes()
            lat, scan_s, queue_s, failed_mid = [], [], [], 0
            for i in range(args.repeat):
                t0 = time.perf_counter()
                code, body = upload(srv, srv.token, variant(data, i), mid.name, wait=300)
                lat.append(time.perf_counter() - t0)
                if code >= 400 or not isinstance(body, dict) or body.get("status") != "done":
                    failed_mid += 1
                else:
                    scan_s.append(float(body["timings"].get("scan_s", 0)))
                    queue_s.append(float(body["timings"].get("queue_s", 0)))

            def one(p: Path) -> tuple[float, str]:
                t0 = time.perf_counter()
                try:
                    code, body = upload(srv, srv.token, p.read_bytes(), p.name, wait=600)
                except Exception as exc:
                    return time.perf_counter() - t0, f"error {type(exc).__name__}"
                status = body.get("status") if isinstance(body, dict) else ""
                return time.perf_counter() - t0, str(status) if code < 400 else f"http {code}"

            t0 = time.perf_counter()
            with ThreadPoolExecutor(args.concurrency) as pool:
                results = list(pool.map(one, files))
            answered_wall = time.perf_counter() - t0
            while True:  # the last answers' reports and facts: the wall ends when all is stored
                _, health = request(srv.url + "/api/v1/health", srv.token)
                if not health["queued"] and not health["running"]:
                    break
                time.sleep(0.02)
            serve_wall = time.perf_counter() - t0
        finally:
            srv.stop()
        lats = [r[0] for r in results]
        statuses = [r[1] for r in results]
        errors = [s for s in statuses if s not in ("done", "failed")]

        # --- apkscan batch on the same files ---------------------------------------------
        listing = tmpd / "inputs.txt"
        listing.write_text("".join(f"{p}\n" for p in files), encoding="utf-8")
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "apkscan", "batch", str(listing), "-o", str(tmpd / "batch"),
                        "-j", str(args.jobs), "-q", "--format", "json,html,sarif"], check=False)
        batch_wall = time.perf_counter() - t0

    mb = mid.stat().st_size / 1e6
    print(f"\nlatency of {mid.name} ({mb:.1f} MB), {args.repeat} uploads one at a time on a warm service:")
    print(f"  service  p50 {pct(lat, .5):.3f} s  p95 {pct(lat, .95):.3f} s  (in the worker p50 "
          f"{pct(scan_s, .5):.3f} s, waiting for a worker p50 {pct(queue_s, .5):.3f} s)  failures {failed_mid}")
    print(f"  CLI      apkscan scan in a new process: median {statistics.median(cli_times):.3f} s "
          f"over {len(cli_times)} runs")
    print(f"\nthroughput on {len(files)} distinct files, {args.concurrency} uploads at a time:")
    print(f"  service  {serve_wall:7.1f} s  {len(files) * 60 / serve_wall:8.1f} APKs/min  p50 {pct(lats, .5):.3f} s  "
          f"p95 {pct(lats, .95):.3f} s  scans failed {statuses.count('failed')}  request failures {len(errors)}"
          f"  (all answered after {answered_wall:.1f} s, all stored after {serve_wall:.1f} s; "
          f"service start {start_s:.1f} s, not counted)")
    print(f"  batch    {batch_wall:7.1f} s  {len(files) * 60 / batch_wall:8.1f} APKs/min  "
          f"(apkscan batch -j {args.jobs}, a new process, start-up included)")
    print(f"  service / batch throughput: {batch_wall / serve_wall:.2f}x")
    if errors:
        print(f"  request failures: {sorted(set(errors))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
