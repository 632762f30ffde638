"""Hostile-input census: every file of the real corpus plus N mutated inputs through
``apkscan.api.scan`` in-process, each under a time limit, reports rendered into a temp
output folder and an audit hook watching for writes elsewhere (``tests/fuzz/harness``).

    python benchmarks/hostile_census.py [--mutants 10000] [--seed 1] [--timeout 300]

Prints: files, reports vs errors by kind (exit code / message class), tampering findings
by rule id, failures (crash / timeout / print / write) and max / p99 time per input.
Exit status 1 when anything failed. The corpus comes from APKSCAN_CORPUS or
../shared/corpus (skipped with a note when absent).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fuzz.harness import Harness, Tally  # noqa: E402
from tests.fuzz.mutate import corpus_dir  # noqa: E402
from tests.fuzz.run import campaign  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mutants", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=300.0, help="per corpus file (the CLI default)")
    ap.add_argument("--mutant-timeout", type=float, default=10.0, help="per mutated input")
    args = ap.parse_args()

    failed = 0
    root = corpus_dir()
    with Harness(time_limit=args.timeout) as h:
        if root is None:
            print("corpus: absent (set APKSCAN_CORPUS or place it at ../shared/corpus)")
        else:
            files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in (".apk", ".aab"))
            tally = Tally()
            t0 = time.monotonic()
            for p in files:
                tally.add(str(p.relative_to(root)), h.run_path(p))
            print(f"== corpus {root}: {len(files)} files, {time.monotonic() - t0:.1f} s")
            print("\n".join(tally.lines()))
            failed += len(tally.failures)
        h.time_limit = args.mutant_timeout
        t0 = time.monotonic()
        tally = campaign(float("inf"), args.seed, args.mutants, harness=h)
        print(f"\n== mutants: seed {args.seed}, {args.mutants} inputs, {time.monotonic() - t0:.1f} s")
        print("\n".join(tally.lines()))
        failed += len(tally.failures)
    print(f"\nfailures in total: {failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
