"""The rule set: every rule's own cases, validation errors with file:line, catalogue, user rules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from apkscan.errors import ExitCode, RuleLoadError
from apkscan.rules.loader import load_rules
from apkscan.rules.selftest import check_rule, check_yara
from tests.conftest import ROOT, SAMPLES

_RULESET = load_rules()


@pytest.mark.parametrize("rule", _RULESET.rules, ids=lambda r: r.id)
def test_rule_cases(rule) -> None:  # type: ignore[no-untyped-def]
    assert check_rule(rule, _RULESET) == []


def test_yara_cases() -> None:
    failures, passed = check_yara(_RULESET, ROOT / "tests" / "rules" / "yara")
    assert failures == []
    assert passed == len(_RULESET.yara_meta) > 0


def test_rule_pack_size_and_coverage() -> None:
    rules = _RULESET.rules
    assert len(rules) + len(_RULESET.yara_meta) >= 90
    cats = {r.category for r in rules}
    assert {"fraud", "gambling", "personal-data", "store-policy", "security", "tampering", "sdk"} <= cats
    tags = {t for r in rules for t in r.tags}
    assert {"fraud-task", "fraud-invest", "fraud-loan", "fraud-cs", "fraud-police"} <= tags
    assert all(r.references for r in rules)
    assert len(_RULESET.sdks) >= 200
    assert sum(1 for s in _RULESET.sdks if s.country == "CN") >= 80


def _write(tmp_path: Path, text: str, name: str = "bad.yaml") -> Path:
    d = tmp_path / "rules"
    d.mkdir(exist_ok=True)
    (d / name).write_text(text, encoding="utf-8")
    return d


GOOD = """rules:
  - id: X-1
    title: t
    description: d
    severity: low
    category: fraud
    references: [x]
    match: {permission: READ_SMS}
    tests:
      positive: [{permissions: [READ_SMS]}]
      negative: [{permissions: [CAMERA]}]
"""


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        # the bad key's line, not the rule's first line
        (GOOD.replace("    title: t\n", "    title: t\n    colour: red\n"), ":4: rule X-1: unknown key 'colour'"),
        (GOOD.replace("severity: low", "severity: 3"), "unknown severity '3'"),
        (GOOD.replace("severity: low", "severity: severe"), "unknown severity 'severe'"),
        (GOOD.replace("category: fraud", "category: misc"), "category must be one of"),
        (GOOD.replace("{permission: READ_SMS}", "{permision: READ_SMS}"), "unknown predicate 'permision'"),
        (GOOD.replace("{permission: READ_SMS}", "{permission: 7}"), "permission must be a string"),
        (GOOD.replace("{permission: READ_SMS}", "{regex: {pattern: '(a)\\1'}}"), "RE2 syntax"),
        (GOOD.replace("{permission: READ_SMS}", "{keywords: {set: nosuchset}}"), "unknown keyword set 'nosuchset'"),
        (GOOD.replace("{permission: READ_SMS}", "{rule: NOPE-1}"), "names unknown rule 'NOPE-1'"),
        (GOOD + GOOD.replace("rules:\n", ""), "duplicate id"),
        (GOOD.replace("    title: t\n", ""), "missing required key 'title'"),
        ("rules:\n  - id: X\n    title: [unclosed\n", "invalid YAML"),
        ("rules: !!python/object:os.system {}\n", "bad.yaml"),
    ],
)
def test_bad_rule_is_rejected_with_file_and_line(tmp_path: Path, text: str, expect: str) -> None:
    d = _write(tmp_path, text)
    with pytest.raises(RuleLoadError) as err:
        load_rules([d], include_builtin=False)
    msg = str(err.value)
    assert "\n" not in msg
    assert "bad.yaml" in msg and expect in msg, msg


def test_yara_syntax_error(tmp_path: Path) -> None:
    d = _write(tmp_path, 'rule broken { meta: id = "Y-1" condition: $a }\n', "broken.yar")
    with pytest.raises(RuleLoadError) as err:
        load_rules([d], include_builtin=False)
    assert "broken.yar:1" in str(err.value) and "undefined string" in str(err.value)


def test_yara_meta_validated(tmp_path: Path) -> None:
    d = _write(tmp_path, 'rule nometa { strings: $a = "x" condition: $a }\n', "nometa.yar")
    with pytest.raises(RuleLoadError, match="meta 'id' is missing"):
        load_rules([d], include_builtin=False)


def test_bad_rules_stop_a_scan_with_exit_code_3(tmp_path: Path) -> None:
    d = _write(tmp_path, GOOD.replace("{permission: READ_SMS}", "{permision: READ_SMS}"))
    for args in (
        ["scan", str(SAMPLES / "clean.apk"), "--rules", str(d), "-o", str(tmp_path / "o")],
        ["rules", "validate", str(d)],
    ):
        p = subprocess.run([sys.executable, "-m", "apkscan", *args], capture_output=True, text=True, timeout=120)
        assert p.returncode == ExitCode.BAD_RULES, p.stderr
        assert p.stderr.count("\n") == 1 and "bad.yaml:8" in p.stderr and "permision" in p.stderr  # the key's line
        assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_user_rules_add_to_builtin_and_change_digest(tmp_path: Path) -> None:
    d = _write(tmp_path, GOOD.replace("X-1", "USER-SMS-1"), "mine.yaml")
    rs = load_rules([d])
    assert rs.rule("USER-SMS-1") is not None and rs.rule("PI-SMS-001") is not None
    assert rs.digest != _RULESET.digest
    only = load_rules([d], include_builtin=False)
    assert [r.id for r in only.rules] == ["USER-SMS-1"]
    from apkscan import api

    result = api.scan(SAMPLES / "pii_collector.apk", rs)
    assert "USER-SMS-1" in {f.rule_id for f in result.findings}
    assert result.rules_digest == rs.digest


def test_rule_catalogue_in_docs_is_current() -> None:
    from apkscan.rules.catalogue import render_catalogue

    current = render_catalogue(_RULESET, "md")
    assert current is not None
    committed = (ROOT / "docs" / "rule-catalogue.md").read_text(encoding="utf-8")
    strip = lambda t: [ln for ln in t.splitlines() if not ln.startswith("Generated by")]  # noqa: E731
    assert strip(committed) == strip(current), "regenerate: apkscan rules list --format md > docs/rule-catalogue.md"


def test_rules_cli_list_and_test() -> None:
    p = subprocess.run(
        [sys.executable, "-m", "apkscan", "rules", "test"], capture_output=True, text=True, timeout=300, cwd=ROOT
    )
    assert p.returncode == 0, p.stderr[-2000:]
    assert " passed, 0 failed" in p.stdout
    p = subprocess.run(
        [sys.executable, "-m", "apkscan", "rules", "list", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 0 and '"PI-SMS-001"' in p.stdout
