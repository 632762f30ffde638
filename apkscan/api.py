"""The library face: ``scan(path) -> ScanResult``; nothing here writes files or prints."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from apkscan.engine import Options, evaluate, evaluate_facts
from apkscan.extract.apk import YaraSpec, extract
from apkscan.limits import Limits, lowered
from apkscan.model import ScanResult
from apkscan.rules.loader import RuleSet, load_rules
from apkscan.runtime import ScanTimeout, gc_paused, scan_deadline, time_limit

# evaluate_facts (apkscan.engine) and time_limit / ScanTimeout (apkscan.runtime) live where
# re-evaluating stored facts uses them without importing the APK readers (the batch's
# in-process re-evaluation after a rule change); they are part of this module's face too.
__all__ = ["Options", "ScanTimeout", "evaluate", "evaluate_facts", "scan", "time_limit", "yara_spec"]


def yara_spec(ruleset: RuleSet) -> YaraSpec | None:
    if ruleset.yara is None:
        return None
    return YaraSpec(
        rules=ruleset.yara,
        targets={ident: meta.targets for ident, meta in ruleset.yara_meta.items()},
        digest=ruleset.digest,
    )


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
    low = lowered(limits)
    if low:  # what these limits stop is not evidence about the app (engine.Options)
        options = replace(options or Options(), lowered_limits=low)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    with time_limit(timeout, str(path)), scan_deadline(timeout), gc_paused():
        wants = options.wants_fingerprints if options is not None else True
        facts = extract(Path(path), limits, timings, yara_spec(ruleset), data=data, fingerprints=wants)
        return evaluate_facts(facts, ruleset, options, time.perf_counter() - t0, timings)
