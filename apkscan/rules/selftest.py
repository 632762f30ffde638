"""Every rule's own test cases: positives must match, negatives must not."""

from __future__ import annotations

from pathlib import Path

from apkscan.rules.context import Context
from apkscan.rules.fixtures import CaseError, facts_from_case
from apkscan.rules.loader import Rule, RuleSet
from apkscan.sdk import SdkMatcher

DEFAULT_YARA_CASES = Path("tests/rules/yara")


def check_rule(rule: Rule, ruleset: RuleSet, matcher: SdkMatcher | None = None) -> list[str]:
    """Failures of one rule's cases (empty when all pass or the rule has none)."""
    matcher = matcher or SdkMatcher(ruleset.sdks)
    failures: list[str] = []
    where = f"{rule.file}:{rule.line}: rule {rule.id}"
    cases = rule.tests or {}
    if not cases.get("positive") or not cases.get("negative"):
        failures.append(f"{where}: needs at least one positive and one negative test case")
    for kind in ("positive", "negative"):
        for i, case in enumerate(cases.get(kind) or []):
            if not isinstance(case, dict):
                failures.append(f"{where}: tests.{kind}[{i}] is not a mapping")
                continue
            try:
                facts = facts_from_case(case)
            except (CaseError, TypeError, ValueError, KeyError) as exc:
                failures.append(f"{where}: tests.{kind}[{i}]: {exc}")
                continue
            ctx = Context(facts, matcher, ruleset.watched_apis, ruleset.keyword_forms, ruleset.blob_patterns)
            for dep in case.get("rules") or []:
                ctx.rule_hits[str(dep)] = True
            try:
                got = rule.match(ctx) is not None
            except Exception as exc:
                failures.append(f"{where}: tests.{kind}[{i}] raised {type(exc).__name__}: {exc}")
                continue
            if got != (kind == "positive"):
                failures.append(f"{where}: tests.{kind}[{i}] {'did not match' if kind == 'positive' else 'matched'}")
    return failures


def check_yara(ruleset: RuleSet, cases_dir: Path = DEFAULT_YARA_CASES) -> tuple[list[str], int]:
    failures: list[str] = []
    passed = 0
    if ruleset.yara is None:
        return failures, passed
    for ident, meta in ruleset.yara_meta.items():
        folder = cases_dir / meta.id
        pos = sorted((folder / "positive").glob("*")) if folder.exists() else []
        neg = sorted((folder / "negative").glob("*")) if folder.exists() else []
        if not pos or not neg:
            failures.append(f"YARA rule {ident} ({meta.id}): needs files in {folder}/positive and {folder}/negative")
            continue
        ok = True
        for kind, files in (("positive", pos), ("negative", neg)):
            for f in files:
                hit = any(m.rule == ident for m in ruleset.yara.match(data=f.read_bytes()))
                if hit != (kind == "positive"):
                    ok = False
                    failures.append(
                        f"YARA rule {ident} ({meta.id}): {kind} case {f} "
                        f"{'did not match' if kind == 'positive' else 'matched'}"
                    )
        passed += ok
    return failures, passed


def run_rule_tests(ruleset: RuleSet, yara_cases: Path = DEFAULT_YARA_CASES) -> tuple[list[str], int]:
    matcher = SdkMatcher(ruleset.sdks)
    failures: list[str] = []
    passed = 0
    for rule in ruleset.rules:
        f = check_rule(rule, ruleset, matcher)
        failures += f
        passed += not f
    yf, yp = check_yara(ruleset, yara_cases)
    return failures + yf, passed + yp
