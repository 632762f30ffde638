"""Rule changes over a batch store, evaluating only the touched rules (issue 16).

Every batch run records, per rule, a digest of its YAML text (:func:`rule_digests`) under
the rule set's digest. When the rules change, the rules whose text changed, the added and
removed ones and every rule that depends on one of them (``rule:`` predicates) are
*touched*. An app's latest stored result under an earlier rule set is **carried over**
(copied under the new digest: findings, verdict and reports unchanged) when nothing the
change touches can alter it:

* everything outside the rules' own YAML text (engine version, keyword sets, data tables,
  SDK catalogue, YARA rules: :func:`base_digest`) is the same;
* no touched rule had a finding or an error in the stored result, and the result lost no
  finding to the findings cap;
* no changed or added rule matches the app: ruled out without reading its facts by a
  conservative check over its stored permissions (:func:`may_match`: an ``all`` needs
  each part, an ``any`` one part, an ``at_least`` n parts; a ``permission`` leaf needs one
  of its permissions; any other predicate may match), else by evaluating only those rules
  (and the rules they depend on) over its stored facts (:func:`evaluate_touched`, in a
  worker or, for a few apps, in the batch process).

Where a changed or added rule does match, its finding joins the stored result
(:func:`apkscan.engine.with_new_findings`: the verdict decided again, the reports
rendered again) without evaluating the other rules again, when that gives what a full
evaluation gives. A rule that fails, and every app the above does not cover, gets a full
re-evaluation over its stored facts as before, reports included. Nothing is carried over
for an app whose permissions were not recorded (stores written before this version, until
their next re-evaluation).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import yaml

from apkscan.batch.store import Store, now
from apkscan.facts import ApkFacts
from apkscan.model import Evidence
from apkscan.rules.context import Context, full_permission
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


CAP_RULE = "ANALYSIS-FINDINGS-CAP"
"""A result with this finding lost some findings to the cap: whether a touched rule had one
cannot be told from the stored rows, so such a result is never carried over."""

COPY_SQL = (
    # (sha256, old digest) of the apps to carry over are in temp.carry; ? is the new digest
    "INSERT OR REPLACE INTO results(sha256, rules_digest, verdict, critical, high, medium, low, info, "
    "counts, findings, sdks, data_access, rule_errors, evaluated_at, duration, yara_stale, report_stem) "
    "SELECT r.sha256, :digest, verdict, critical, high, medium, low, info, counts, findings, sdks, data_access, "
    "rule_errors, :stamp, 0, yara_stale, report_stem FROM temp.carry c "
    "JOIN results r ON r.sha256 = c.sha256 AND r.rules_digest = c.old",
    "DELETE FROM findings WHERE rules_digest = :digest AND sha256 IN (SELECT sha256 FROM temp.carry)",
    "INSERT INTO findings(sha256, rules_digest, rule_id, severity, category, title, confidence) "
    # CROSS JOIN: the carried apps drive the loop (an index search each) rather than a scan
    # of every stored finding under every digest
    "SELECT f.sha256, :digest, rule_id, severity, category, title, confidence FROM temp.carry c "
    "CROSS JOIN findings f ON f.sha256 = c.sha256 AND f.rules_digest = c.old",
    "DELETE FROM sdks WHERE rules_digest = :digest AND sha256 IN (SELECT sha256 FROM temp.carry)",
    "INSERT OR IGNORE INTO sdks(sha256, rules_digest, sdk_id, name, category) "
    "SELECT s.sha256, :digest, sdk_id, name, category FROM temp.carry c "
    "CROSS JOIN sdks s ON s.sha256 = c.sha256 AND s.rules_digest = c.old",
    "DELETE FROM temp.carry",
)


class Carry:
    """Decides, app by app, what a rule change needs for the app's latest stored result:
    nothing (carried over as it is), an evaluation of only the touched rules over the
    stored facts (carried over when none of them matches), or a full re-evaluation."""

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
        self._plans: dict[str, tuple[frozenset[str], frozenset[str]] | None] = {}
        self._latest: dict[str, tuple[Any, ...]] | None = None
        self._fired: dict[str, dict[str, set[str]]] = {}
        self.carried = 0
        self._copies: list[tuple[str, str]] = []

    def flush(self) -> None:
        """Write the carried-over results in one transaction (an interrupted run redoes
        those not written yet)."""
        if not self._copies:
            return
        db = self.store.db
        db.execute("CREATE TEMP TABLE IF NOT EXISTS carry(sha256 TEXT PRIMARY KEY, old TEXT NOT NULL)")
        with db:
            db.execute("DELETE FROM temp.carry")
            db.executemany("INSERT OR REPLACE INTO temp.carry(sha256, old) VALUES (?, ?)", self._copies)
            for sql in COPY_SQL:
                db.execute(sql, {"digest": self.digest, "stamp": now()})
        self._copies.clear()
        self.store.checkpoint_in_background()  # the copies (a few MB) reach the database file meanwhile

    def _latest_row(self, sha256: str) -> tuple[Any, ...] | None:
        """The app's latest result under another rules digest, with its facts' YARA digest
        and its permissions (read for every app at once)."""
        if self._latest is None:
            self._latest = {}
            for row in self.store.db.execute(
                "SELECT r.sha256, r.rules_digest, r.rule_errors, r.verdict, f.yara_rules_digest, t.permissions "
                "FROM results r JOIN facts f ON f.sha256 = r.sha256 JOIN app_tokens t ON t.sha256 = r.sha256 "
                "WHERE r.rules_digest <> ? ORDER BY r.evaluated_at, r.rowid",
                (self.digest,),
            ):
                self._latest[str(row[0])] = tuple(row)  # the latest one stays
        return self._latest.get(sha256)

    def _rules_with_findings(self, old_digest: str, sha256: str) -> set[str]:
        """The rules with a finding in the app's result under ``old_digest`` (the findings
        rows of that digest, read at once)."""
        if old_digest not in self._fired:
            fired: dict[str, set[str]] = {}
            for sha, rule_id in self.store.db.execute(
                "SELECT sha256, rule_id FROM findings WHERE rules_digest = ?", (old_digest,)
            ):
                fired.setdefault(sha, set()).add(rule_id)
            self._fired[old_digest] = fired
        return self._fired[old_digest].get(sha256, set())

    def _plan(self, old_digest: str) -> tuple[frozenset[str], frozenset[str]] | None:
        """(rules to check, rules whose old findings forbid carrying), or None when the
        change is outside the rules' own text (or unknown)."""
        if old_digest in self._plans:
            return self._plans[old_digest]
        plan: tuple[frozenset[str], frozenset[str]] | None = None
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
                # a rule whose match cannot be read here is simply never ruled out by may_match
                self.nodes.update(_match_nodes({self.files[i] for i in check if i in self.files}))
                plan = (frozenset(check), frozenset(touched))
        self._plans[old_digest] = plan
        return plan

    def decide(self, sha256: str) -> tuple[str, str, tuple[str, ...], str]:
        """(what, old rules digest, rules to check, old verdict): ``carry`` (queued for
        :meth:`flush`) when no touched rule can match the app as far as its stored
        permissions tell; ``check`` when the result under the old digest holds unless one
        of the rules to check matches or fails over the stored facts (the caller evaluates
        them and then calls :meth:`carry` or re-evaluates in full); ``eval`` otherwise."""
        row = self._latest_row(sha256)
        if row is None or (row[4] or "") != self.yara_digest:
            return ("eval", "", (), "")
        old = str(row[1])
        plan = self._plan(old)
        if plan is None:
            return ("eval", "", (), "")
        check, touched = plan
        fired = self._rules_with_findings(old, sha256)
        if fired & touched or CAP_RULE in fired:
            return ("eval", "", (), "")
        errors = json.loads(row[2] or "[]")
        if any(not isinstance(e, dict) or e.get("rule_id") in touched for e in errors):
            return ("eval", "", (), "")  # an error of a touched rule: the new result may differ
        permissions = set(json.loads(row[5] or "[]"))
        maybe = tuple(sorted(i for i in check if may_match(self.nodes.get(i), permissions)))
        verdict = str(row[3] or "")
        if maybe:
            return ("check", old, maybe, verdict)
        self.carry(sha256, old)
        return ("carry", old, (), verdict)

    def stored(self, sha256: str, old_digest: str) -> dict[str, str] | None:
        """The parts of the app's result under ``old_digest`` that a rule's new finding
        joins (:func:`apkscan.engine.with_new_findings`), as the store keeps them."""
        row = self.store.db.execute(
            "SELECT findings, sdks, data_access, rule_errors FROM results WHERE sha256 = ? AND rules_digest = ?",
            (sha256, old_digest),
        ).fetchone()
        if row is None:
            return None
        return {k: str(v or "[]") for k, v in zip(("findings", "sdks", "data_access", "rule_errors"), row,
                                                   strict=True)}

    def carry(self, sha256: str, old_digest: str) -> None:
        """Queue the copy of the result under ``old_digest`` to the current digest."""
        self._copies.append((sha256, old_digest))
        self.carried += 1
        if len(self._copies) >= 500:
            self.flush()


def evaluate_touched(
    facts: ApkFacts, ruleset: RuleSet, rule_ids: Iterable[str]
) -> tuple[Context, dict[str, tuple[Evidence, ...]]] | None:
    """The rules ``rule_ids`` evaluated over these facts (with the rules they depend on, in
    the rule set's order) as a full evaluation evaluates them: the same context over the
    same facts, with the whole rule set's watched APIs and keyword forms. Returns the
    context and the evidence of those of ``rule_ids`` that match (empty: a full evaluation
    would give them no finding and no error, so the rest of the result is what it was
    without them), or None when one of them fails."""
    from apkscan.engine import all_watched
    from apkscan.sdk import SdkMatcher

    wanted = set(rule_ids)
    by_id = {r.id: r for r in ruleset.rules}
    needed = set(wanted)
    todo = list(wanted)
    while todo:
        rule = by_id.get(todo.pop())
        for dep in rule.depends if rule is not None else ():
            if dep not in needed:
                needed.add(dep)
                todo.append(dep)
    ctx = Context(facts, SdkMatcher(ruleset.sdks), all_watched(ruleset), ruleset.keyword_forms,
                  ruleset.blob_patterns)
    matched: dict[str, tuple[Evidence, ...]] = {}
    for rule in ruleset.rules:
        if rule.id not in needed:
            continue
        try:
            ev = rule.match(ctx)
        except Exception:
            if rule.id in wanted:
                return None
            ctx.rule_hits[rule.id] = False
            continue
        ctx.rule_hits[rule.id] = ev is not None
        if ev is not None and rule.id in wanted:
            matched[rule.id] = tuple(ev)
    return ctx, matched


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
    from apkscan.batch import worker
    from apkscan.errors import ApkscanError
    from apkscan.runtime import time_limit

    worker.REPORT_LANG = "zh" if lang == "zh" else "en"
    for task in tasks:
        t0 = time.perf_counter()
        try:
            with time_limit(timeout_s or None, str(task.get("path", ""))):
                payload = worker.process(task, ruleset, formats)
        except ApkscanError as exc:
            payload = worker.describe_error(exc, str(task.get("path", "")))
            payload.update(key=task["key"], kind=task["kind"], duration=round(time.perf_counter() - t0, 3))
        on_result(payload)
