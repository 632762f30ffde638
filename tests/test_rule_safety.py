"""Rules are data from users: loaded with a safe YAML loader, matched with RE2 (linear
time), validated with file:line errors, and a rule that raises is a ``rule_errors`` entry."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest

from apkscan.engine import evaluate
from apkscan.errors import RuleLoadError
from apkscan.rules.loader import load_rules

RULE = """\
rules:
- id: TEST-001
  title: test rule
  description: a test rule
  severity: low
  confidence: low
  category: fraud
  match:
    regex: {{pattern: '{pattern}', in: [dex]}}
"""


def write(tmp_path: Path, text: str, name: str = "r.yaml") -> Path:
    d = tmp_path / "rules"
    d.mkdir(exist_ok=True)
    (d / name).write_text(text, encoding="utf-8")
    return d


def test_python_object_tag_is_rejected(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    text = (
        "rules:\n"
        "- id: X\n"
        f"  title: !!python/object/apply:os.system ['touch {marker}']\n"
    )
    d = write(tmp_path, text)
    with pytest.raises(RuleLoadError) as err:
        load_rules([d], include_builtin=False)
    msg = str(err.value)
    assert "\n" not in msg
    assert "r.yaml:3" in msg, msg
    assert not marker.exists()


def test_python_name_tag_is_rejected(tmp_path: Path) -> None:
    d = write(tmp_path, "rules: !!python/name:os.system\n")
    with pytest.raises(RuleLoadError, match=r"r\.yaml:1"):
        load_rules([d], include_builtin=False)


def test_backreference_rejected_at_validation(tmp_path: Path) -> None:
    d = write(tmp_path, RULE.format(pattern=r"(a)\1"))
    with pytest.raises(RuleLoadError) as err:
        load_rules([d], include_builtin=False)
    msg = str(err.value)
    assert "r.yaml:" in msg and "TEST-001" in msg and "\n" not in msg


def test_catastrophic_pattern_runs_in_linear_time(tmp_path: Path, sample_results) -> None:  # type: ignore[no-untyped-def]
    d = write(tmp_path, RULE.format(pattern="(a+)+$"))
    rs = load_rules([d], include_builtin=False)
    facts = sample_results["clean"].facts
    dex = facts.dex[0]
    evil = replace(dex, strings=(*dex.strings, "a" * 100_000 + "!"))
    t0 = time.perf_counter()
    result = evaluate(replace(facts, dex=(evil,)), rs)
    assert time.perf_counter() - t0 < 5
    assert not result.rule_errors
    assert any(f.rule_id == "TEST-001" for f in result.findings)  # "aaa" strings elsewhere match


def test_rule_that_raises_becomes_a_rule_error(tmp_path: Path, sample_results) -> None:  # type: ignore[no-untyped-def]
    d = write(tmp_path, RULE.format(pattern="x"))
    rs = load_rules([d], include_builtin=False)
    rule = rs.rules[0]

    def boom(ctx: object) -> None:
        raise ZeroDivisionError("hostile input")

    object.__setattr__(rule, "match", boom) if hasattr(rule, "__dataclass_fields__") else setattr(rule, "match", boom)
    result = evaluate(sample_results["clean"].facts, rs)
    assert [e.rule_id for e in result.rule_errors] == ["TEST-001"]
    assert "ZeroDivisionError" in result.rule_errors[0].message
