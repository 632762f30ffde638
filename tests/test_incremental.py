"""Rule changes over a batch store: results a change cannot alter are carried over (issue 16)."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from apkscan.batch.incremental import may_match
from apkscan.batch.runner import BatchOptions, run_batch

SAMPLES = Path(__file__).resolve().parent.parent / "samples"

NEW_RULE = """rules:
- id: TEST-NEW-001
  title: Reads SMS and says payment (test rule)
  title_zh: 读取短信并提及支付（测试规则）
  description: Added after the batch ran.
  description_zh: 批量检测之后新增。
  severity: low
  category: fraud
  match:
    all:
    - permission: READ_SMS
    - keywords: {words: [支付, payment, 付款], min: 1}
"""


def test_may_match_is_conservative() -> None:
    sms = {"android.permission.READ_SMS"}
    assert not may_match({"permission": "READ_SMS"}, set())
    assert may_match({"permission": ["READ_SMS", "SEND_SMS"]}, sms)
    assert not may_match({"all": [{"permission": "READ_SMS"}, {"keywords": {"set": "x"}}]}, set())
    assert may_match({"any": [{"permission": "READ_SMS"}, {"keywords": {"set": "x"}}]}, set())
    assert not may_match({"at_least": {"n": 2, "of": [{"permission": "A"}, {"permission": "B"},
                                                      {"api": "x"}]}}, set())
    assert may_match({"not": {"permission": "READ_SMS"}}, set())
    assert may_match({"rule": "X"}, set())


SMS_RULE = """rules:
- id: TEST-NEW-002
  title: Reads SMS (test rule)
  title_zh: 读取短信（测试规则）
  description: Added after the batch ran; fires on the PII sample.
  description_zh: 批量检测之后新增；在个人信息样本上触发。
  severity: low
  category: personal-data
  match:
    permission: READ_SMS
"""


DEPENDENT_RULE = """- id: TEST-NEW-003
  title: Reads SMS, by another rule (test rule)
  title_zh: 读取短信（依赖另一条测试规则）
  description: Added last; fires where TEST-NEW-002 does.
  description_zh: 最后新增；在TEST-NEW-002触发处触发。
  severity: info
  category: personal-data
  match:
    rule: TEST-NEW-002
"""


def _timeless(report: dict[str, object]) -> dict[str, object]:
    """A JSON report without what differs between two runs over the same facts: when and
    how long (a carried-over result keeps its earlier report, naming its rules digest)."""
    scan = dict(report["scan"])  # type: ignore[call-overload]
    for key in ("scanned_at", "duration_s", "timings", "rules_digest"):
        scan.pop(key, None)
    return {**report, "scan": scan}


def _current(out: Path) -> dict[str, dict[str, object]]:
    """The current rule set's result of every app, as stored and as its JSON report says."""
    db = sqlite3.connect(out / "apkscan.db")
    digest = db.execute("SELECT value FROM meta WHERE key = 'rules_digest'").fetchone()[0]
    got: dict[str, dict[str, object]] = {}
    for sha, verdict, counts, findings, sdks, access, errors, stem in db.execute(
        "SELECT sha256, verdict, counts, findings, sdks, data_access, rule_errors, report_stem FROM results "
        "WHERE rules_digest = ?", (digest,)
    ):
        report = json.loads((out / "reports" / f"{stem}.json").read_text(encoding="utf-8"))
        got[sha] = {
            "verdict": verdict, "counts": json.loads(counts), "findings": json.loads(findings),
            "sdks": json.loads(sdks), "data_access": json.loads(access), "rule_errors": json.loads(errors),
            "rows": sorted(db.execute("SELECT rule_id, severity, category, title, confidence FROM findings "
                                      "WHERE sha256 = ? AND rules_digest = ?", (sha, digest))),
            "sdk_rows": sorted(db.execute("SELECT sdk_id, name, category FROM sdks WHERE sha256 = ? "
                                          "AND rules_digest = ?", (sha, digest))),
            "report": _timeless(report),
        }
    db.close()
    return got


def _batch(src: Path, out: Path, rule_text: str | None, tmp: Path):  # type: ignore[no-untyped-def]
    dirs = []
    if rule_text is not None:
        rules = tmp / f"rules-{hashlib.sha256(rule_text.encode()).hexdigest()[:12]}"
        rules.mkdir(exist_ok=True)
        (rules / "new.yaml").write_text(rule_text, encoding="utf-8")
        dirs = [rules]
    return run_batch(BatchOptions(source=src, out=out, jobs=1, formats=("json",), quiet=True, rule_dirs=dirs))


@pytest.mark.parametrize("in_process", [True, False], ids=["in-process", "workers"])
def test_rule_changes_give_what_a_rescan_gives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               in_process: bool) -> None:
    """Each rule change over one store (a rule that matches nothing, one that fires, a
    changed rule with findings, a removed rule, a rule on top of another) gives, app by
    app, the stored result and JSON report that a batch from scratch with the same rules
    gives; the apps no touched rule can change are carried over, reports and all. The
    evaluations run in the batch process (a few apps) or in the workers."""
    from apkscan.batch import incremental

    if not in_process:
        monkeypatch.setattr(incremental, "IN_PROCESS_MAX", 0)
    src = tmp_path / "in"
    src.mkdir()
    for name in ("pii_collector", "clean", "toolbox"):
        shutil.copy(SAMPLES / f"{name}.apk", src / f"{name}.apk")
    out = tmp_path / "out"
    first = _batch(src, out, None, tmp_path)
    assert first.scanned == 3
    db = sqlite3.connect(out / "apkscan.db")
    perms = {sha: json.loads(p) for sha, p in db.execute("SELECT sha256, permissions FROM app_tokens")}
    db.close()
    sms = {sha for sha, p in perms.items() if "android.permission.READ_SMS" in p}
    assert sms and len(sms) < 3  # the PII sample reads SMS, the others do not

    steps = [
        NEW_RULE,  # may match the SMS app by its permissions; its facts say no
        NEW_RULE + SMS_RULE.removeprefix("rules:\n"),  # fires on the SMS app
        NEW_RULE + SMS_RULE.removeprefix("rules:\n").replace("severity: low", "severity: high"),  # changed
        SMS_RULE.replace("severity: low", "severity: high"),  # TEST-NEW-001 removed
        SMS_RULE.replace("severity: low", "severity: high") + DEPENDENT_RULE,  # a new rule on top of another
    ]
    for i, text in enumerate(steps):
        summary = _batch(src, out, text, tmp_path)
        fresh = _batch(src, tmp_path / f"fresh{i}", text, tmp_path)
        assert summary.rules_digest == fresh.rules_digest
        assert summary.scanned == 0 and summary.reevaluated == 3 and not summary.failed
        assert summary.verdicts == fresh.verdicts
        got, want = _current(out), _current(tmp_path / f"fresh{i}")
        assert got == want, f"step {i}"
        hits = {sha for sha, r in want.items() if any(f["rule_id"].startswith("TEST-NEW-") for f in r["findings"])}
        assert hits == (sms if "TEST-NEW-002" in text else set()), f"step {i}"
        if "TEST-NEW-003" in text:
            assert all(any(f["rule_id"] == "TEST-NEW-003" for f in want[sha]["findings"]) for sha in sms)
        # the app a new rule fires on, or a changed rule had a finding in, is evaluated again;
        # every other app is carried over (in the last step the removed rule had no finding)
        changed = sms if i in (1, 2, 4) else set()
        assert summary.carried == 3 - len(changed), f"step {i}"
        # a new rule's finding joins the stored result; a changed rule that had one is evaluated in full
        assert summary.joined == (len(sms) if i in (1, 4) else 0), f"step {i}"
        assert summary.checked == (len(sms) if i in (0, 1) else 0 if i in (2, 3) else 3), f"step {i}"
    report = json.loads(next((out / "reports").glob("*.json")).read_text(encoding="utf-8"))
    assert report["findings"] is not None
    sev = {f["severity"] for r in _current(out).values() for f in r["findings"] if f["rule_id"] == "TEST-NEW-002"}
    assert sev == {"high"}
    # the first rule set again: its results are still in the store
    again = _batch(src, out, None, tmp_path)
    assert again.skipped == 3 and again.reevaluated == 0


JOIN_RULES = """rules:
- id: TEST-JOIN-INTERNET
  title: Uses the network (test rule)
  description: Fires on most samples.
  severity: info
  category: permissions
  match:
    permission: INTERNET
- id: TEST-JOIN-LOAN
  title: Says loan (test rule)
  description: A keyword rule.
  severity: high
  category: fraud
  match:
    keywords: {words: [贷款, loan, 借款], min: 1}
- id: TEST-JOIN-BOTH
  title: Network and the loan rule (test rule)
  description: Depends on another new rule.
  severity: medium
  category: fraud
  match:
    all:
    - rule: TEST-JOIN-LOAN
    - permission: INTERNET
"""


def test_new_findings_join_as_a_full_evaluation_gives(sample_results, ruleset, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A new rule's finding joined to an app's earlier result equals the result of
    evaluating every rule again: findings and their order, verdict and its reasons, SDKs,
    data access, rule errors, the privacy review and the similarity fingerprint."""
    from apkscan.batch.incremental import evaluate_touched
    from apkscan.engine import Options, evaluate, with_new_findings
    from apkscan.known import KnownLibrary
    from apkscan.rules.loader import load_rules
    from apkscan.serial import to_jsonable

    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "join.yaml").write_text(JOIN_RULES, encoding="utf-8")
    extended = load_rules([rules])
    new_ids = ["TEST-JOIN-BOTH", "TEST-JOIN-INTERNET", "TEST-JOIN-LOAN"]
    library = KnownLibrary(tmp_path / "known.sqlite")
    library.add(sample_results["pii_collector"].facts, "PiiKit / malware / stealer")
    joined = 0
    cases = [(name, Options()) for name in sample_results]
    cases += [(name, Options(known=library)) for name in ("pii_collector", "pii_collector_v2", "clean")]
    for name, options in cases:
        facts = sample_results[name].facts
        prior = evaluate(facts, ruleset, options)
        full = evaluate(facts, extended, options)
        touched = evaluate_touched(facts, extended, new_ids)
        assert touched is not None, name
        ctx, matched = touched
        assert set(matched) == {f.rule_id for f in full.findings} & set(new_ids), name
        if not matched:
            continue
        result = with_new_findings(prior, ctx, extended, options, matched)
        if result is None:  # it says when it cannot tell (the cap, a rule the data map names)
            continue
        joined += 1
        assert result.findings == full.findings, name
        for part in ("verdict", "verdict_reason", "verdict_reason_zh", "verdict_deciding", "sdks", "data_access",
                     "rule_errors", "rules_digest"):
            assert getattr(result, part) == getattr(full, part), (name, part)
        strip = {"seconds"}
        assert ({k: v for k, v in to_jsonable(result.privacy).items() if k != "consent"}
                == {k: v for k, v in to_jsonable(full.privacy).items() if k != "consent"}), name
        assert ({k: v for k, v in to_jsonable(result.privacy.consent).items() if k not in strip}
                == {k: v for k, v in to_jsonable(full.privacy.consent).items() if k not in strip}), name
        assert result.facts.fingerprint == full.facts.fingerprint, name
    assert joined >= 5
    # a library edited after the prior evaluation: its matches are not taken from the prior
    facts = sample_results["pii_collector_v2"].facts
    prior = evaluate(facts, ruleset, Options())
    ctx, matched = evaluate_touched(facts, extended, new_ids) or (None, {})
    assert ctx is not None and matched
    assert any("known-sample" in f.tags for f in evaluate(facts, extended, Options(known=library)).findings)
    assert with_new_findings(prior, ctx, extended, Options(known=library), matched) is None
