"""The library face: ``scan(path) -> ScanResult``; nothing here writes files or prints."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

from apkscan import __version__
from apkscan.engine import Options, evaluate
from apkscan.extract.apk import YaraSpec, extract
from apkscan.facts import ApkFacts
from apkscan.limits import Limits
from apkscan.model import ScanResult
from apkscan.rules.loader import RuleSet, load_rules


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
    return replace(
        result,
        tool_version=__version__,
        scanned_at=datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        duration_s=round(duration_s + t["rules"], 3),
        timings={k: round(v, 4) for k, v in t.items()},
    )


def scan(
    path: Path,
    ruleset: RuleSet | None = None,
    options: Options | None = None,
    limits: Limits | None = None,
) -> ScanResult:
    """Read one APK and evaluate every rule. Raises :class:`apkscan.errors.ApkscanError`
    subclasses for inputs that are missing, not APKs or unreadable."""
    ruleset = ruleset or load_rules()
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    facts = extract(Path(path), limits, timings, yara_spec(ruleset))
    return evaluate_facts(facts, ruleset, options, time.perf_counter() - t0, timings)
