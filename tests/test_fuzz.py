"""Bounded mutation fuzzing of ``apkscan.api.scan`` (driver: ``python -m tests.fuzz.run``).

Budget: ``APKSCAN_FUZZ_SECONDS`` (default 100 s when ``CI`` is set, 15 s otherwise) and,
when set, ``APKSCAN_FUZZ_COUNT`` inputs;
campaign seed: ``APKSCAN_FUZZ_SEED`` (default 1, so CI runs are reproducible). Any crash,
timeout, print or write outside the output folder fails the test with the seed, the
mutation and the command that reproduces it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.fuzz.harness import Harness
from tests.fuzz.mutate import Mutator, load_seeds
from tests.fuzz.run import campaign


def budget() -> float:
    env = os.environ.get("APKSCAN_FUZZ_SECONDS")
    if env:
        return float(env)
    return 100.0 if os.environ.get("CI", "").lower() in ("1", "true", "yes") else 15.0


def test_mutations_are_deterministic() -> None:
    m = Mutator(load_seeds(corpus=False))
    a = [m.generate(5, i) for i in range(30)]
    b = [m.generate(5, i) for i in range(30)]
    assert [x.data for x in a] == [x.data for x in b]
    assert len({x.data for x in a}) > 20


def test_harness_catches_crash_write_and_print(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The oracle itself: a crash, a write outside the output folder and a print are failures."""
    from apkscan import api

    sample = (Path(__file__).parent.parent / "samples" / "clean.apk").read_bytes()
    with Harness(time_limit=5) as h:
        assert h.run_bytes(sample).kind == "report"
        assert h.run_bytes(b"not a zip").kind == "error"
        real = api.extract

        def crashing(*a, **k):  # type: ignore[no-untyped-def]
            raise ValueError("boom")

        monkeypatch.setattr(api, "extract", crashing)
        assert h.run_bytes(sample).kind == "crash"

        def writing(*a, **k):  # type: ignore[no-untyped-def]
            (tmp_path / "escaped.txt").write_text("x")
            return real(*a, **k)

        monkeypatch.setattr(api, "extract", writing)
        assert h.run_bytes(sample).kind == "write"

        def printing(*a, **k):  # type: ignore[no-untyped-def]
            print("hello")
            return real(*a, **k)

        monkeypatch.setattr(api, "extract", printing)
        assert h.run_bytes(sample).kind == "print"

        def slow(*a, **k):  # type: ignore[no-untyped-def]
            while True:
                pass

        monkeypatch.setattr(api, "extract", slow)
        h.time_limit = 0.5
        assert h.run_bytes(sample).kind == "timeout"


@pytest.mark.slow
def test_fuzz_scan_never_crashes() -> None:
    """Bounded by time (``APKSCAN_FUZZ_SECONDS``) and, when set, by count
    (``APKSCAN_FUZZ_COUNT``, e.g. 10000 for the run recorded in docs/security.md)."""
    seconds = budget()
    seed = int(os.environ.get("APKSCAN_FUZZ_SEED", "1"))
    count = int(os.environ["APKSCAN_FUZZ_COUNT"]) if os.environ.get("APKSCAN_FUZZ_COUNT") else None
    if count is not None and not os.environ.get("APKSCAN_FUZZ_SECONDS"):
        seconds = 24 * 3600.0  # the count bounds the run
    tally = campaign(seconds, seed, count, time_limit=10.0)
    report = "\n".join(tally.lines())
    print(f"fuzz: seed {seed}, {seconds:g} s\n{report}")
    assert len(tally.times) > 50, report
    assert not tally.failures, report
