"""The library face: ``scan(path) -> ScanResult``; nothing here writes files or prints."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

from apkscan import __version__
from apkscan.engine import Options, evaluate
from apkscan.errors import BrokenApk
from apkscan.extract.apk import YaraSpec, extract
from apkscan.facts import ApkFacts
from apkscan.limits import Limits
from apkscan.model import ScanResult
from apkscan.rules.loader import RuleSet, load_rules
from apkscan.runtime import gc_paused, scan_deadline


def yara_spec(ruleset: RuleSet) -> YaraSpec | None:
    if ruleset.yara is None:
        return None
    return YaraSpec(
        rules=ruleset.yara,
        targets={ident: meta.targets for ident, meta in ruleset.yara_meta.items()},
        digest=ruleset.digest,
    )


def evaluate_facts(
    facts: ApkFacts,
    ruleset: RuleSet,
    options: Options | None = None,
    duration_s: float = 0.0,
    timings: dict[str, float] | None = None,
) -> ScanResult:
    """Rules over facts already read (batch re-evaluation uses this without the APK)."""
    t0 = time.perf_counter()
    result = evaluate(facts, ruleset, options)
    t = dict(timings or {})
    t["rules"] = time.perf_counter() - t0
    if result.privacy is not None:  # a part of "rules", shown as its own phase under --verbose
        t["consent_reach"] = result.privacy.consent.seconds
    return replace(
        result,
        tool_version=__version__,
        scanned_at=datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        duration_s=round(duration_s + t["rules"], 3),
        timings={k: round(v, 4) for k, v in t.items()},
    )


class ScanTimeout(BrokenApk):
    """The scan of one APK took longer than its time limit (exit code 6, like a broken APK)."""


class _Deadline(BaseException):
    """Raised by the timer signal. A BaseException, so that the ``except Exception`` which
    keep one unreadable part from stopping a scan cannot swallow it."""


@contextmanager
def time_limit(seconds: float | None, what: str) -> Iterator[None]:
    """Raise :class:`ScanTimeout` when the body runs longer than ``seconds`` of wall time.

    Uses ``signal.setitimer(ITIMER_REAL)``, so it only works in the main thread of a
    process with SIGALRM (POSIX); elsewhere, and for ``None`` or ``<= 0``, it does nothing.
    A timer already armed by the caller is restored (minus the time spent) afterwards.
    Python delivers the signal between bytecodes: a single long C call (one inflate step,
    one regex) finishes first, and each of those is bounded by :class:`Limits`."""
    usable = (
        seconds is not None
        and seconds > 0
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    )
    if not usable:
        yield
        return
    assert seconds is not None

    def _alarm(signum: int, frame: object) -> None:
        raise _Deadline

    previous = signal.signal(signal.SIGALRM, _alarm)
    t0 = time.monotonic()
    outer, _ = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except _Deadline:
        raise ScanTimeout(f"{what}: took longer than {seconds:g} s; scan stopped") from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer > 0:  # give the caller's timer back what is left of it
            signal.setitimer(signal.ITIMER_REAL, max(outer - (time.monotonic() - t0), 0.001))


def scan(
    path: Path,
    ruleset: RuleSet | None = None,
    options: Options | None = None,
    limits: Limits | None = None,
    timeout: float | None = None,
    data: bytes | None = None,
) -> ScanResult:
    """Read one APK and evaluate every rule. Raises :class:`apkscan.errors.ApkscanError`
    subclasses for inputs that are missing, not APKs or unreadable, and
    :class:`ScanTimeout` (a :class:`~apkscan.errors.BrokenApk`) when ``timeout`` seconds
    pass first (enforced in the main thread only, see :func:`time_limit`).

    With a timeout, each walking phase of the archive (``Limits.phase_seconds``) gets at
    most a third of it, so a slow archive yields a partial result with a ``limit``
    problem rather than no result. Helper threads see the same deadline
    (:func:`apkscan.runtime.scan_deadline`) and stop their YARA work when it passes.

    ``data``: the APK's bytes when they are already in memory (a bundle's base APK, never
    written to disk); ``path`` then only names it."""
    ruleset = ruleset or load_rules()
    limits = limits or Limits()
    if timeout is not None and timeout > 0 and limits.phase_seconds > timeout / 3:
        limits = replace(limits, phase_seconds=timeout / 3)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    with time_limit(timeout, str(path)), scan_deadline(timeout), gc_paused():
        wants = options.wants_fingerprints if options is not None else True
        facts = extract(Path(path), limits, timings, yara_spec(ruleset), data=data, fingerprints=wants)
        return evaluate_facts(facts, ruleset, options, time.perf_counter() - t0, timings)
