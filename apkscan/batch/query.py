"""``apkscan query``: questions over a batch store, read-only."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from apkscan.batch.exports import csv_text
from apkscan.batch.runner import DB_NAME
from apkscan.batch.store import Store
from apkscan.errors import UsageError

SHARED = {"cert": "shared_certificates", "domain": "shared_domains", "generator": "shared_generator_ids",
          "package": "shared_packages"}

Rows = tuple[list[str], list[tuple[Any, ...]]]


def open_store(out: Path) -> Store:
    db = out / DB_NAME if out.is_dir() else out
    if not db.is_file():
        raise UsageError(f"{out}: no batch results store here (expected {db}); run `apkscan batch` first")
    try:
        return Store(db, readonly=True)
    except sqlite3.Error as exc:
        raise UsageError(f"{db}: cannot open the results store ({exc})") from None


def _match(value: str) -> tuple[str, str]:
    return ("GLOB", value) if any(c in value for c in "*?[") else ("=", value)


def run_query(store: Store, finding: str | None = None, sdk: str | None = None, shared: str | None = None,
              sql: str | None = None, family: str | None = None, versions: bool = False) -> Rows:
    asked = [x for x in (finding, sdk, shared, sql, family, versions) if x]
    if len(asked) > 1:
        raise UsageError("give one of --finding, --sdk, --shared, --family, --versions or --sql")
    if family:
        return family_rows(store, family)
    if versions:
        return version_rows(store)
    if finding:
        if finding == "all":
            q = ("SELECT rule_id, severity, category, title, COUNT(DISTINCT sha256) AS apps FROM apps_with_finding "
                 "GROUP BY rule_id ORDER BY apps DESC, rule_id")
            return _run(store, q, ())
        op, v = _match(finding)
        q = ("SELECT DISTINCT rule_id, severity, sha256, package, label, version_name, path FROM apps_with_finding "
             f"WHERE rule_id {op} ? ORDER BY rule_id, package, sha256")
        return _run(store, q, (v,))
    if sdk:
        if sdk == "all":
            return _run(store, "SELECT sdk_id, name, category, apps, packages FROM apps_per_sdk", ())
        op, v = _match(sdk)
        q = ("SELECT s.sdk_id, s.name, a.sha256, a.package, a.label, a.version_name, a.path FROM sdks s "
             "JOIN apks a ON a.sha256 = s.sha256 WHERE s.rules_digest = (SELECT value FROM meta WHERE key = "
             f"'rules_digest') AND s.sdk_id {op} ? ORDER BY s.sdk_id, a.package, a.sha256")
        return _run(store, q, (v,))
    if shared:
        view = SHARED.get(shared)
        if view is None:
            raise UsageError(f"--shared: use one of {', '.join(SHARED)}")
        return _run(store, f"SELECT * FROM {view}", ())
    if sql:
        return _run(store, sql, ())
    q = ("SELECT a.status, COALESCE(r.verdict, a.error_kind) AS verdict_or_error, COUNT(*) AS apps FROM apks a "
         "LEFT JOIN current_results r ON r.sha256 = a.sha256 GROUP BY 1, 2 ORDER BY 1 DESC, 3 DESC")
    return _run(store, q, ())


def unknown_id(finding: str | None, sdk: str | None) -> str | None:
    """Why an empty answer may be a typo: the rule id or SDK id asked for (no wildcard) is
    not one apkscan knows (built-in rules and SDK catalogue); None when it is."""
    from apkscan.rules.loader import load_rules

    ruleset = load_rules()
    if finding and finding != "all" and "*" not in finding:
        known = {r.id for r in ruleset.rules} | set(ruleset.yara_meta)
        if finding not in known and not finding.startswith(("PI-MAP-", "ANALYSIS-", "TAMPER-", "KNOWN-", "PRIV-")):
            return f"{finding} is not a rule id apkscan knows (apkscan rules list; * wildcards match several)"
    if sdk and sdk != "all" and "*" not in sdk and sdk not in {s.id for s in ruleset.sdks}:
        return f"{sdk} is not an SDK id of the catalogue (apkscan query OUT --sdk all lists those found)"
    return None


def family_rows(store: Store, family: str) -> Rows:
    """``all``: one row per family (size, verdicts, shared evidence, packages); a family
    number, or a package or SHA-256 (prefix) of a member: that family's apps and links."""
    from apkscan.batch.families import summary

    fams = summary(store)
    if family == "all":
        cols = ["family", "size", "verdicts", "evidence", "packages"]
        rows: list[tuple[Any, ...]] = [
            (f["family"], f["size"], " ".join(f"{k}:{v}" for k, v in sorted(f["verdicts"].items())),
             "; ".join(f"{e['kind']}{' ' + e['value'] if e['value'] else ''} x{e['links']}" for e in f["evidence"]),
             " ".join(sorted({m["package"] or "?" for m in f["members"]})))
            for f in fams
        ]
        return cols, rows
    wanted = [
        f for f in fams
        if str(f["family"]) == family
        or any(m["package"] == family or (len(family) >= 8 and m["sha256"].startswith(family.lower()))
               for m in f["members"])
    ]
    if not wanted:
        raise UsageError(f"--family {family}: no family has that number, package or SHA-256 (see --family all)")
    cols = ["family", "sha256", "package", "label", "version", "verdict", "links"]
    rows = []
    for f in wanted:
        links = "; ".join(f"{e['kind']}{' ' + e['value'] if e['value'] else ''} x{e['links']}" for e in f["evidence"])
        for m in f["members"]:
            rows.append((f["family"], m["sha256"], m["package"], m["label"], m["version"], m["verdict"], links))
    return cols, rows


def version_rows(store: Store) -> Rows:
    """Builds of a package seen before: how far each moved from the previous one (docs/families.md)."""
    cols = ["package", "sha256", "previous", "score", "swapped", "domains_added", "domains_removed",
            "sdks_added", "sdks_removed", "signer_changed"]
    rows: list[tuple[Any, ...]] = []
    for r in store.iter_rows("SELECT data FROM versions ORDER BY package, compared_at"):
        d = json.loads(r[0])
        rows.append((d["package"], d.get("sha256", ""), d["previous"], d["score"], " ".join(d["swapped"]),
                     " ".join(d["domains"]["added"]), " ".join(d["domains"]["removed"]),
                     " ".join(d["sdks"]["added"]), " ".join(d["sdks"]["removed"]), d["signer_changed"]))
    return cols, rows


def _run(store: Store, sql: str, params: tuple[Any, ...]) -> Rows:
    try:
        cur = store.db.execute(sql, params)
        rows = [tuple(r) for r in cur.fetchall()]
    except (sqlite3.Error, sqlite3.Warning) as exc:
        raise UsageError(f"query failed: {exc}") from None
    cols = [d[0] for d in cur.description or ()]
    return cols, rows


def _cell(v: Any) -> Any:
    if isinstance(v, bytes):
        return f"<{len(v)} bytes>"
    return v


def render_rows(console: Console, cols: list[str], rows: list[tuple[Any, ...]], fmt: str) -> str | None:
    """``table`` prints to ``console`` (control characters and markup stripped);
    ``csv`` and ``json`` return the text."""
    if fmt == "csv":
        return csv_text(cols, [[_cell(v) for v in r] for r in rows])
    if fmt == "json":
        return json.dumps([dict(zip(cols, map(_cell, r), strict=False)) for r in rows], ensure_ascii=False,
                          indent=1) + "\n"
    from apkscan.report.console import clean

    table = Table(show_header=True, header_style="bold", expand=False)
    for c in cols:
        table.add_column(clean(c, 40), overflow="fold")
    for r in rows:
        table.add_row(*["" if v is None else clean(str(_cell(v)), 300) for v in r])
    console.print(table)
    console.print(f"[dim]{len(rows)} row{'' if len(rows) == 1 else 's'}[/]")
    return None
