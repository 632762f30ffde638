"""Rule changes over a batch store: results a change cannot alter are carried over (issue 16)."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

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


def test_one_new_rule_carries_over_what_it_cannot_change(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    for name in ("pii_collector", "clean", "toolbox"):
        shutil.copy(SAMPLES / f"{name}.apk", src / f"{name}.apk")
    out = tmp_path / "out"
    first = run_batch(BatchOptions(source=src, out=out, jobs=1, formats=("json",), quiet=True))
    assert first.scanned == 3
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "new.yaml").write_text(NEW_RULE, encoding="utf-8")
    second = run_batch(BatchOptions(source=src, out=out, jobs=1, formats=("json",), quiet=True, rule_dirs=[rules]))
    assert second.reevaluated == 3
    db = sqlite3.connect(out / "apkscan.db")
    perms = {sha: json.loads(p) for sha, p in db.execute("SELECT sha256, permissions FROM app_tokens")}
    sms = {sha for sha, p in perms.items() if "android.permission.READ_SMS" in p}
    assert sms and len(sms) < 3  # the PII sample reads SMS, the others do not
    assert second.carried == 3 - len(sms)
    old, new = first.rules_digest, second.rules_digest
    for sha in perms:
        rows = {d: (v, f) for d, v, f in db.execute(
            "SELECT rules_digest, verdict, findings FROM results WHERE sha256 = ?", (sha,))}
        assert set(rows) == {old, new}
        if sha not in sms:  # carried over: the same findings and verdict under the new digest
            assert rows[new] == rows[old]
        n_old = db.execute("SELECT COUNT(*) FROM findings WHERE sha256 = ? AND rules_digest = ?", (sha, old))
        n_new = db.execute("SELECT COUNT(*) FROM findings WHERE sha256 = ? AND rules_digest = ?", (sha, new))
        if sha not in sms:
            assert n_old.fetchone() == n_new.fetchone()
    # a third run with a changed rule text: the rule is re-checked, the result still carried where it cannot match
    (rules / "new.yaml").write_text(NEW_RULE.replace("severity: low", "severity: medium"), encoding="utf-8")
    third = run_batch(BatchOptions(source=src, out=out, jobs=1, formats=("json",), quiet=True, rule_dirs=[rules]))
    assert third.reevaluated == 3 and third.carried == 3 - len(sms)
    # dropping a rule that had findings forbids carrying for the apps it had them in
    fourth = run_batch(BatchOptions(source=src, out=out, jobs=1, formats=("json",), quiet=True))
    assert fourth.skipped == 3  # the first rule set's results are still in the store
