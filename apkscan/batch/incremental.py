"""Rule changes over a batch store without re-reading every app's facts (issue 16).

Every batch run records, per rule, a digest of its YAML text (:func:`rule_digests`) under
the rule set's digest. When the rules change, an app's stored result under an earlier rule
set is **carried over** (copied under the new digest, findings, verdict and report
unchanged) when nothing the change touches can alter it:

* everything outside the rules' own YAML text (engine version, keyword sets, data tables,
  SDK catalogue, YARA rules: :func:`base_digest`) is the same;
* the changed, added and removed rules, and every rule that depends on one of them
  (``rule:`` predicates), had no finding in the stored result;
* none of the changed or added rules can match the app, as far as a conservative check
  over the app's stored permissions tells (:func:`may_match`: an ``all`` needs each part,
  an ``any`` one part, an ``at_least`` n parts; a ``permission`` leaf needs one of its
  permissions; any other predicate may match).

Every other app is re-evaluated over its stored facts as before. Nothing is carried over
for an app whose permissions were not recorded (stores written before this version, until
their next re-evaluation).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from apkscan.batch.store import Store, now
from apkscan.rules.context import full_permission
from apkscan.rules.loader import ENGINE_VERSION, RuleSet

BASE_KEY = "__base__"


def base_digest(ruleset: RuleSet) -> str:
    """What every rule's result depends on besides its own text: the engine version, the
    bytes of every loaded file that holds no rule (keyword sets, data tables, the SDK
    catalogue, YARA), the keyword sets and SDKs as parsed, and whether the built-in checks
    run. (The union of keyword forms and watched APIs grows with any new rule but changes
    no other rule's result, so it is left out.)"""
    h = hashlib.sha256(f"apkscan-engine-{ENGINE_VERSION}\0{ruleset.builtin_checks}".encode())
    rule_files = {r.file for r in ruleset.rules}
    for f in sorted(ruleset.files):
        if f in rule_files:
            continue
        try:
            h.update(f.encode("utf-8", "surrogatepass") + b"\0" + hashlib.sha256(Path(f).read_bytes()).digest())
        except OSError:
            h.update(f"{f}\0unreadable".encode("utf-8", "surrogatepass"))
    h.update(json.dumps(ruleset.keyword_sets, sort_keys=True, ensure_ascii=False).encode("utf-8", "surrogatepass"))
    h.update(repr(sorted((s.id, tuple(s.classes)) for s in ruleset.sdks)).encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def _digests(ruleset: RuleSet) -> dict[str, str]:
    """Rule id -> digest of its YAML text (from its line to the next rule's in its file)."""
    by_file: dict[str, list[Any]] = {}
    for r in ruleset.rules:
        by_file.setdefault(r.file, []).append(r)
    digests: dict[str, str] = {}
    for file, rules in by_file.items():
        try:
            lines = Path(file).read_text(encoding="utf-8").splitlines()
        except (OSError, ValueError):
            continue  # no digest: those rules are always re-evaluated
        rules = sorted(rules, key=lambda r: r.line)
        for i, r in enumerate(rules):
            end = rules[i + 1].line - 1 if i + 1 < len(rules) else len(lines)
            block = "\n".join(lines[max(0, r.line - 1) : end])
            digests[r.id] = hashlib.sha256(f"{r.id}\0{block}".encode("utf-8", "surrogatepass")).hexdigest()
    return digests


def _match_nodes(files: set[str]) -> dict[str, Any]:
    """Rule id -> its ``match`` node, for the rules of these files (parsed only when needed)."""
    loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    nodes: dict[str, Any] = {}
    for file in files:
        try:
            doc = yaml.load(Path(file).read_text(encoding="utf-8"), Loader=loader)  # a safe loader (C or Python)
        except (OSError, yaml.YAMLError, ValueError):
            continue
        items = doc.get("rules", []) if isinstance(doc, dict) else doc if isinstance(doc, list) else []
        for item in items or []:
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                nodes[item["id"]] = item.get("match")
    return nodes


def rule_digests(ruleset: RuleSet) -> dict[str, str]:
    return {**_digests(ruleset), BASE_KEY: base_digest(ruleset)}


def may_match(node: Any, permissions: set[str]) -> bool:
    """False only when the predicate tree surely cannot match an app with these permissions."""
    if not isinstance(node, dict) or len(node) != 1:
        return True
    ((name, value),) = node.items()
    if name == "all" and isinstance(value, list):
        return all(may_match(v, permissions) for v in value)
    if name == "any" and isinstance(value, list):
        return any(may_match(v, permissions) for v in value)
    if name == "at_least" and isinstance(value, dict) and isinstance(value.get("of"), list):
        n = value.get("n")
        possible = sum(1 for v in value["of"] if may_match(v, permissions))
        return not isinstance(n, int) or possible >= n
    if name == "permission":
        names = [value] if isinstance(value, str) else value if isinstance(value, list) else None
        if names is None or not all(isinstance(x, str) for x in names):
            return True
        return any(full_permission(x) in permissions for x in names)
    return True


class Carry:
    """Decides, app by app, whether the stored result can be carried over to ``digest``."""

    def __init__(self, store: Store, ruleset: RuleSet, digest: str, yara_digest: str) -> None:
        self.store = store
        self.digest = digest
        self.yara_digest = yara_digest
        self.digests = rule_digests(ruleset)
        self.files = {r.id: r.file for r in ruleset.rules}
        self.nodes: dict[str, Any] = {}
        store.set_meta("rule_digests:" + digest, json.dumps(self.digests, sort_keys=True))
        self.depends = {r.id: r.depends for r in ruleset.rules}
        self.complete = all(r.id in self.digests for r in ruleset.rules)
        """False when a rule's text could not be read: then nothing is carried over."""
        self._plans: dict[str, tuple[set[str], set[str]] | None] = {}
        self.carried = 0
        self.pending = 0

    def commit(self) -> None:
        """Commit the carried-over results (one transaction for many apps)."""
        self.store.db.commit()
        self.pending = 0

    def _plan(self, old_digest: str) -> tuple[set[str], set[str]] | None:
        """(rules to check, rules whose old findings forbid carrying), or None when the
        change is outside the rules' own text (or unknown)."""
        if old_digest in self._plans:
            return self._plans[old_digest]
        plan: tuple[set[str], set[str]] | None = None
        raw = self.store.meta("rule_digests:" + old_digest) if self.complete else None
        if raw:
            old: dict[str, str] = json.loads(raw)
            if old.get(BASE_KEY) == self.digests[BASE_KEY]:
                new = self.digests
                changed = {i for i, d in new.items() if i != BASE_KEY and old.get(i) != d}
                removed = {i for i in old if i != BASE_KEY and i not in new}
                touched = changed | removed
                grew = True
                while grew:  # rules that depend on a touched rule are touched too
                    more = {i for i, deps in self.depends.items() if deps & touched} - touched
                    grew = bool(more)
                    touched |= more
                check = {i for i in touched if i in new}
                self.nodes.update(_match_nodes({self.files[i] for i in check if i in self.files}))
                if all(i in self.nodes for i in check):
                    plan = (check, touched)
        self._plans[old_digest] = plan
        return plan

    def try_carry(self, sha256: str) -> str | None:
        """Copy the app's latest stored result to the current digest when allowed; its
        verdict when done, else None."""
        db = self.store.db
        row = db.execute(
            "SELECT r.rules_digest, r.findings, f.yara_rules_digest, t.permissions FROM results r "
            "JOIN facts f ON f.sha256 = r.sha256 JOIN app_tokens t ON t.sha256 = r.sha256 "
            "WHERE r.sha256 = ? AND r.rules_digest <> ? ORDER BY r.evaluated_at DESC LIMIT 1",
            (sha256, self.digest),
        ).fetchone()
        if row is None or (row[2] or "") != self.yara_digest:
            return None
        plan = self._plan(str(row[0]))
        if plan is None:
            return None
        check, touched = plan
        if any(f.get("rule_id") in touched for f in json.loads(row[1] or "[]")):
            return None
        permissions = set(json.loads(row[3] or "[]"))
        if any(may_match(self.nodes[i], permissions) for i in check):
            return None
        old = str(row[0])
        # committed together by commit(), never in the middle of an app: an interrupted run redoes them
        db.execute(
            "INSERT OR REPLACE INTO results(sha256, rules_digest, verdict, critical, high, medium, low, info, "
            "counts, findings, sdks, data_access, rule_errors, evaluated_at, duration, yara_stale, report_stem) "
            "SELECT sha256, ?, verdict, critical, high, medium, low, info, counts, findings, sdks, data_access, "
            "rule_errors, ?, 0, yara_stale, report_stem FROM results "
            "WHERE sha256 = ? AND rules_digest = ?",
            (self.digest, now(), sha256, old),
        )
        for table, cols in (("findings", "rule_id, severity, category, title, confidence"),
                            ("sdks", "sdk_id, name, category")):
            db.execute(f"DELETE FROM {table} WHERE sha256 = ? AND rules_digest = ?", (sha256, self.digest))
            db.execute(
                f"INSERT OR IGNORE INTO {table}(sha256, rules_digest, {cols}) SELECT sha256, ?, {cols} "
                f"FROM {table} WHERE sha256 = ? AND rules_digest = ?",
                (self.digest, sha256, old),
            )
        self.carried += 1
        self.pending += 1
        if self.pending >= 500:
            self.commit()
        verdict = db.execute("SELECT verdict FROM results WHERE sha256 = ? AND rules_digest = ?",
                             (sha256, self.digest)).fetchone()
        return str(verdict[0] or "") if verdict else ""


IN_PROCESS_MAX = 4
"""Up to this many re-evaluations (and no scan) run in the batch process itself: starting a
worker process and loading the rules there costs about a second, far more than evaluating
a few apps' stored facts. Stored facts are never the APK: nothing is unpacked or parsed
from the upload; the time limit still applies (memory is not capped here)."""


def run_in_process(
    tasks: list[dict[str, Any]], ruleset: RuleSet, formats: tuple[str, ...], timeout_s: float, lang: str,
    on_result: Callable[[dict[str, Any]], None],
) -> None:
    """Re-evaluate ``tasks`` (all of kind ``reeval``) here, as a worker would."""
    from apkscan import api
    from apkscan.batch import worker
    from apkscan.errors import ApkscanError

    worker.REPORT_LANG = "zh" if lang == "zh" else "en"
    for task in tasks:
        t0 = time.perf_counter()
        try:
            with api.time_limit(timeout_s or None, str(task.get("path", ""))):
                payload = worker.process(task, ruleset, formats)
        except ApkscanError as exc:
            payload = worker.describe_error(exc, str(task.get("path", "")))
            payload.update(key=task["key"], kind=task["kind"], duration=round(time.perf_counter() - t0, 3))
        on_result(payload)
