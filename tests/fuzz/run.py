"""Fuzz driver: ``python -m tests.fuzz.run --seconds N --seed S [--count K] [--save-crashes DIR]``.

Generates mutated inputs (:mod:`tests.fuzz.mutate`), scans each in-process under a
per-input time limit (:mod:`tests.fuzz.harness`) and prints counts. Exit status 1 when
any input crashed, timed out or wrote outside the output folder; each failure is printed
with the command that reproduces it (``--only INDEX``) and, with ``--save-crashes``, its
bytes and description are saved there.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests.fuzz.harness import Harness, Outcome, Tally
from tests.fuzz.mutate import Mutant, Mutator, load_seeds


def campaign(
    seconds: float,
    seed: int,
    count: int | None = None,
    *,
    start: int = 0,
    time_limit: float = 10.0,
    corpus: bool = True,
    render: bool = True,
    save_crashes: Path | None = None,
    progress: Callable[[int, Outcome], None] | None = None,
    harness: Harness | None = None,
) -> Tally:
    """Run inputs ``start, start+1, ...`` until ``seconds`` pass or ``count`` inputs ran."""
    mutator = Mutator(load_seeds(corpus=corpus))
    tally = Tally()
    own = harness is None
    h = harness or Harness(time_limit=time_limit, render=render)
    try:
        deadline = time.monotonic() + seconds
        i = start
        while (count is None or i - start < count) and time.monotonic() < deadline:
            m = mutator.generate(seed, i)
            o = h.run_bytes(m.data)
            label = f"seed {seed} input {i} [{m.seed}: {m.desc}] -> python -m tests.fuzz.run --seed {seed} --only {i}"
            tally.add(label, o)
            if o.failed and save_crashes is not None:
                _save(save_crashes, seed, i, m, o)
            if progress is not None:
                progress(i, o)
            i += 1
    finally:
        if own:
            h.close()
    return tally


def _save(folder: Path, seed: int, index: int, m: Mutant, o: Outcome) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / f"s{seed}-i{index}-{o.kind}"
    stem.with_suffix(".apk").write_bytes(m.data)
    stem.with_suffix(".txt").write_text(
        f"seed {seed} index {index}\nfrom {m.seed}: {m.desc}\n{o.kind}: {o.detail}\n{o.message}\n", encoding="utf-8"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.fuzz.run", description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="wall-time budget (default 60)")
    ap.add_argument("--count", type=int, default=None, help="stop after this many inputs")
    ap.add_argument("--seed", type=int, default=1, help="campaign seed (default 1)")
    ap.add_argument("--start", type=int, default=0, help="first input index")
    ap.add_argument("--only", type=int, default=None, help="run just this input index (reproduce a failure)")
    ap.add_argument("--time-limit", type=float, default=10.0, help="seconds per input (default 10)")
    ap.add_argument("--no-corpus", action="store_true", help="seed from samples/ only")
    ap.add_argument("--no-render", action="store_true", help="do not render reports (faster)")
    ap.add_argument("--save-crashes", type=Path, default=None, help="save failing inputs here")
    ap.add_argument("--verbose", "-v", action="store_true", help="print every input's outcome")
    args = ap.parse_args(argv)
    save = args.save_crashes.resolve() if args.save_crashes else None

    if args.only is not None:
        m = Mutator(load_seeds(corpus=not args.no_corpus)).generate(args.seed, args.only)
        print(f"input {args.only}: {len(m.data)} bytes from {m.seed}: {m.desc}")
        with Harness(time_limit=args.time_limit, render=not args.no_render) as h:
            o = h.run_bytes(m.data)
        print(f"{o.kind}: {o.detail} ({o.seconds:.3f} s)\n{o.message}")
        if save is not None:
            _save(save, args.seed, args.only, m, o)
        return 1 if o.failed else 0

    def show(i: int, o: Outcome) -> None:
        if args.verbose or o.failed:
            print(f"{i}: {o.kind} {o.detail} {o.seconds:.3f}s {o.message[:160]}", flush=True)

    t0 = time.monotonic()
    tally = campaign(
        args.seconds,
        args.seed,
        args.count,
        start=args.start,
        time_limit=args.time_limit,
        corpus=not args.no_corpus,
        render=not args.no_render,
        save_crashes=save,
        progress=show,
    )
    print(f"seed {args.seed}, {time.monotonic() - t0:.1f} s")
    print("\n".join(tally.lines()))
    return 1 if tally.failures else 0


if __name__ == "__main__":
    sys.exit(main())
