"""Scan speed and memory against two baselines, side by side in one invocation.

Each measurement runs in its own process (so peak RSS is that process's own):
  floor        read and inflate every zip entry with zipfile (the least any scanner must do)
  apkscan      `apkscan scan APK -f json` (extraction, every rule, the JSON report)
  extract      apkscan's extraction alone (no rules)
  known        `apkscan scan APK -f json` with a known-sample library (issue 16): the app is
               fingerprinted and matched; the library holds the bundled samples' fingerprints
  androguard   androguard's AnalyzeAPK (APK + DEX + cross-references); skip with --no-androguard

Usage: python benchmarks/bench_scan.py [APK] [--repeat N] [--no-androguard] [--no-known]
Default APK: ../shared/corpus/large/cmp_mixed_13dex.apk (or $APKSCAN_CORPUS/large/...).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

FLOOR = """
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    n = sum(len(z.read(i)) for i in z.infolist())
"""
EXTRACT = """
import sys
from pathlib import Path
from apkscan.extract.apk import extract
extract(Path(sys.argv[1]))
"""
ANDROGUARD = """
import sys
from loguru import logger
logger.disable("androguard")
from androguard.misc import AnalyzeAPK
a, d, dx = AnalyzeAPK(sys.argv[1])
"""


def run(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one child process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        raise SystemExit(f"{' '.join(cmd[:4])} failed ({proc.returncode}): {err[-500:]}")
    return wall, usage.ru_maxrss / 1024


KNOWN_ROW = "apkscan scan, known library"


def known_library(py: str) -> str:
    """A data folder whose known-sample library holds the bundled samples (the project
    ships no malware; what the library holds does not change the cost of a look-up much)."""
    folder = tempfile.mkdtemp(prefix="apkscan-bench-known-")
    samples = sorted(str(p) for p in (ROOT / "samples").glob("*.apk"))
    env = {**os.environ, "APKSCAN_DATA_DIR": folder}
    subprocess.run(
        [py, "-m", "apkscan", "known", "add", *samples, "--label", "bench / malware"],
        check=True, env=env, stdout=subprocess.DEVNULL,
    )
    return folder


def default_apk() -> Path:
    corpus = Path(os.environ.get("APKSCAN_CORPUS", ROOT.parent / "shared" / "corpus"))
    return corpus / "large" / "cmp_mixed_13dex.apk"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("apk", nargs="?", type=Path, default=default_apk())
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement (median reported)")
    ap.add_argument("--no-androguard", action="store_true", help="skip AnalyzeAPK (about a minute and 2.7 GB)")
    ap.add_argument("--no-known", action="store_true", help="skip the scan with a known-sample library")
    args = ap.parse_args()
    if not args.apk.exists():
        raise SystemExit(f"{args.apk}: not found (give an APK or set APKSCAN_CORPUS)")
    py = sys.executable
    out = tempfile.mkdtemp(prefix="apkscan-bench-")
    # pip byte-compiles a package when it installs it; an editable install compiles on
    # first import, unless PYTHONDONTWRITEBYTECODE is set, when every run would compile
    # apkscan's sources again (~0.1 s) while the stdlib and androguard load from .pyc.
    # Compile them once, so that all three are measured as installed.
    subprocess.run([py, "-m", "compileall", "-q", str(ROOT / "apkscan")], check=True)
    # The plain scan runs with an empty data folder: a known-sample library in the user's
    # own folder would make it fingerprint and match, which the "known" row measures.
    plain_env = {**os.environ, "APKSCAN_DATA_DIR": tempfile.mkdtemp(prefix="apkscan-bench-empty-")}
    scan_cmd = [py, "-m", "apkscan", "scan", str(args.apk), "-o", out, "-f", "json", "-q"]
    plans: list[tuple[str, list[str], int, dict[str, str] | None]] = [
        ("floor (zipfile read all)", [py, "-c", FLOOR, str(args.apk)], args.repeat, None),
        ("apkscan extract only", [py, "-c", EXTRACT, str(args.apk)], args.repeat, None),
        ("apkscan scan -f json", scan_cmd, args.repeat, plain_env),
    ]
    if not args.no_known:
        known_env = {**os.environ, "APKSCAN_DATA_DIR": known_library(py)}
        plans.append((KNOWN_ROW, scan_cmd, args.repeat, known_env))
    if not args.no_androguard:
        plans.append(("androguard AnalyzeAPK", [py, "-c", ANDROGUARD, str(args.apk)], 1, None))
    print(
        f"APK: {args.apk} ({args.apk.stat().st_size / 1e6:.1f} MB); "
        f"median of {args.repeat} interleaved rounds; cores: {os.cpu_count()}"
    )
    # Rounds interleave the measurements (floor, extract, scan, floor, ...), so that a
    # machine that gets busier or quieter during the run moves all of them alike.
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name, _, _, _ in plans}
    for i in range(max(n for _, _, n, _ in plans)):
        for name, cmd, n, env in plans:
            if i < n:
                runs[name].append(run(cmd, env))
    results: dict[str, tuple[float, float]] = {}
    for name, _, _, _ in plans:
        wall = statistics.median(r[0] for r in runs[name])
        rss = max(r[1] for r in runs[name])
        results[name] = (wall, rss)
        walls = ", ".join(f"{r[0]:.2f}" for r in runs[name])
        print(f"  {name:<28} {wall:8.2f} s   peak RSS {rss:7.0f} MB   (runs: {walls})")
    floor = results["floor (zipfile read all)"][0]
    scan_wall, scan_rss = results["apkscan scan -f json"]
    pairs = zip(runs["apkscan scan -f json"], runs["floor (zipfile read all)"], strict=True)
    ratios = sorted(s[0] / f[0] for s, f in pairs)
    print(
        f"apkscan scan / floor: {scan_wall / floor:.2f}x (target <= 3x); "
        f"per round {ratios[0]:.2f}x to {ratios[-1]:.2f}x"
    )
    print(f"apkscan peak RSS: {scan_rss:.0f} MB (target <= 250 MB)")
    if KNOWN_ROW in results:
        known_wall = results[KNOWN_ROW][0]
        pairs = zip(runs[KNOWN_ROW], runs["floor (zipfile read all)"], strict=True)
        ratios = sorted(s[0] / f[0] for s, f in pairs)
        print(
            f"with a known-sample library: {known_wall / floor:.2f}x the floor (target <= 3x), "
            f"per round {ratios[0]:.2f}x to {ratios[-1]:.2f}x; fingerprinting and matching add "
            f"{known_wall - scan_wall:+.2f} s ({(known_wall - scan_wall) / floor:+.2f}x the floor)"
        )
    if "androguard AnalyzeAPK" in results:
        ag = results["androguard AnalyzeAPK"][0]
        print(f"androguard AnalyzeAPK / apkscan scan: {ag / scan_wall:.1f}x faster (target >= 15x)")


if __name__ == "__main__":
    main()
