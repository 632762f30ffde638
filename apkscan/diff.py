"""What changed between two versions of an app.

Works on JSON report dicts, so either side may be an APK (scanned now) or a JSON report
written earlier by ``apkscan scan`` (what a CI pipeline keeps from the last release).

Findings are matched by fingerprint first (same rule, same evidence: ``unchanged``);
a finding left over on both sides with the same rule id is the same finding whose
evidence moved (``changed``: its call sites, files or values differ, listed as added and
removed locations); what is left is ``new`` or ``fixed``. The four lists are disjoint: a
finding present in both versions is never both new and fixed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from apkscan.errors import UsageError
from apkscan.model import Severity

if TYPE_CHECKING:
    from rich.console import Console

    from apkscan.model import ScanResult
    from apkscan.rules.loader import RuleSet

DIFF_FORMATS = ("json", "html")
LOCATIONS_SHOWN = 8


@dataclass(frozen=True)
class DiffFinding:
    rule_id: str
    title: str
    severity: Severity
    category: str
    fingerprint: str
    locations: tuple[str, ...] = ()
    """Where: ``class.method`` for code, the archive entry or the value otherwise."""
    old_severity: Severity | None = None
    """For a ``changed`` finding whose severity moved: the old one."""
    added: tuple[str, ...] = ()
    """For a ``changed`` finding: locations only in the new version."""
    removed: tuple[str, ...] = ()
    """For a ``changed`` finding: locations only in the old version."""
    title_zh: str = ""


@dataclass
class Change:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.added and not self.removed


@dataclass
class AppDiff:
    old: dict[str, Any]
    new: dict[str, Any]
    permissions: Change
    sdks: Change
    personal_data: Change
    domains: Change
    signers: Change
    new_findings: list[DiffFinding]
    fixed_findings: list[DiffFinding]
    personal_data_callers: Change = field(default_factory=Change)
    unchanged_findings: list[DiffFinding] = field(default_factory=list)
    changed_findings: list[DiffFinding] = field(default_factory=list)

    @property
    def signer_changed(self) -> bool:
        return not self.signers.empty

    @property
    def verdict_changed(self) -> bool:
        return _verdict(self.old)[0] != _verdict(self.new)[0]


def _load(path: Path, ruleset: RuleSet, transform: Callable[[ScanResult], ScanResult] | None) -> dict[str, Any]:
    if path.suffix.lower() == ".json":
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UsageError(f"{path}: no such file") from None
        except (OSError, ValueError) as exc:
            raise UsageError(f"{path}: not a JSON report ({exc})") from None
        if not isinstance(doc, dict) or "findings" not in doc or "facts" not in doc or "app" not in doc:
            raise UsageError(f"{path}: not an apkscan JSON report")
        return doc
    from apkscan import api
    from apkscan.report.json_report import report_dict

    result = api.scan(path, ruleset)
    return report_dict(transform(result) if transform else result)


def _change(old: set[str], new: set[str]) -> Change:
    return Change(sorted(new - old), sorted(old - new))


def _location(e: dict[str, Any]) -> str:
    cls, method = e.get("class_name") or "", e.get("method") or ""
    where = (f"{cls}.{method.split('(', 1)[0]}" if method else cls) if cls else str(e.get("file") or "")
    value = e.get("value") or ""
    if value and value not in where:
        where = f"{value} @ {where}" if where else value
    sdk = e.get("sdk") or ""
    return f"{where} [{sdk}]" if sdk else where


def _locations(f: dict[str, Any]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(loc for loc in (_location(e) for e in f.get("evidence") or []) if loc))


def _findings(doc: dict[str, Any]) -> dict[str, DiffFinding]:
    out: dict[str, DiffFinding] = {}
    for f in doc.get("findings", []):
        out.setdefault(
            f["fingerprint"],
            DiffFinding(
                f["rule_id"],
                f["title"],
                Severity.parse(f["severity"]),
                f["category"],
                f["fingerprint"],
                _locations(f),
                title_zh=str(f.get("title_zh") or ""),
            ),
        )
    return out


def match_findings(
    old: dict[str, DiffFinding], new: dict[str, DiffFinding]
) -> tuple[list[DiffFinding], list[DiffFinding], list[DiffFinding], list[DiffFinding]]:
    """(new, fixed, unchanged, changed), disjoint; each finding of either side is in
    exactly one list (a changed one once, as its new version)."""
    unchanged = [f for k, f in new.items() if k in old]
    rest_old = [f for k, f in old.items() if k not in new]
    rest_new = [f for k, f in new.items() if k not in old]
    by_rule: dict[str, list[DiffFinding]] = {}
    for f in rest_old:
        by_rule.setdefault(f.rule_id, []).append(f)
    changed: list[DiffFinding] = []
    added: list[DiffFinding] = []
    for f in rest_new:
        olds = by_rule.get(f.rule_id)
        if not olds:
            added.append(f)
            continue
        # the old finding of the same rule with the most locations in common
        best = max(olds, key=lambda o: len(set(o.locations) & set(f.locations)))
        olds.remove(best)
        changed.append(
            DiffFinding(
                f.rule_id,
                f.title,
                f.severity,
                f.category,
                f.fingerprint,
                f.locations,
                old_severity=best.severity if best.severity != f.severity else None,
                added=tuple(x for x in f.locations if x not in best.locations),
                removed=tuple(x for x in best.locations if x not in f.locations),
                title_zh=f.title_zh,
            )
        )
    fixed = [f for fs in by_rule.values() for f in fs]

    def order(f: DiffFinding) -> tuple[int, str, str]:
        return (-int(f.severity), f.rule_id, f.fingerprint)

    return sorted(added, key=order), sorted(fixed, key=order), sorted(unchanged, key=order), sorted(changed, key=order)


def diff_reports(old: dict[str, Any], new: dict[str, Any]) -> AppDiff:
    def perms(d: dict[str, Any]) -> set[str]:
        return {p["name"] for p in d["facts"]["manifest"].get("permissions", [])}

    def sdks(d: dict[str, Any]) -> set[str]:
        return {f"{s['id']} ({s['name']})" for s in d.get("sdks", [])}

    def pdata(d: dict[str, Any]) -> set[str]:
        return {a["category"] for a in d.get("data_access", [])}

    def callers(d: dict[str, Any]) -> set[str]:
        """``contacts by app``, ``device-id by umeng-analytics``: who reaches each category."""
        return {
            f"{a['category']} by {s.get('sdk') or 'app'}" for a in d.get("data_access", []) for s in a.get("sites", [])
        }

    def domains(d: dict[str, Any]) -> set[str]:
        return set(d["facts"]["strings"].get("domains", []))

    def signers(d: dict[str, Any]) -> set[str]:
        return {f"{c['sha256']} {c['subject']}" for c in d["facts"]["signing"].get("certificates", [])}

    added, fixed, unchanged, changed = match_findings(_findings(old), _findings(new))
    return AppDiff(
        old=old,
        new=new,
        permissions=_change(perms(old), perms(new)),
        sdks=_change(sdks(old), sdks(new)),
        personal_data=_change(pdata(old), pdata(new)),
        personal_data_callers=_change(callers(old), callers(new)),
        domains=_change(domains(old), domains(new)),
        signers=_change(signers(old), signers(new)),
        new_findings=added,
        fixed_findings=fixed,
        unchanged_findings=unchanged,
        changed_findings=changed,
    )


def diff_paths(
    old: Path,
    new: Path,
    ruleset: RuleSet,
    transform: Callable[[ScanResult], ScanResult] | None = None,
) -> AppDiff:
    """Diff two APKs or JSON reports; ``transform`` is applied to a freshly scanned
    result (rule selection) before it is compared."""
    return diff_reports(_load(old, ruleset, transform), _load(new, ruleset, transform))


def _verdict(d: dict[str, Any]) -> tuple[str, str, str]:
    reason = d.get("verdict_reason")
    if isinstance(reason, dict):
        return str(d.get("verdict") or ""), str(reason.get("en") or ""), str(reason.get("zh") or "")
    return str(d.get("verdict") or ""), str(reason or ""), ""


def _side(d: dict[str, Any]) -> dict[str, Any]:
    app = d["app"]
    verdict, reason, reason_zh = _verdict(d)
    return {
        "file_name": app.get("file_name", ""),
        "sha256": app.get("sha256", ""),
        "package": app.get("package", ""),
        "label": app.get("label", ""),
        "version_name": app.get("version_name", ""),
        "version_code": app.get("version_code", ""),
        "verdict": verdict,
        "verdict_reason": reason,
        "verdict_reason_zh": reason_zh,
    }


def _ident(side: dict[str, Any]) -> str:
    return f"{side['file_name']} ({side['package']} {side['version_name']} ({side['version_code']}))"


SECTIONS = (
    ("permissions", "Permissions", "权限"),
    ("sdks", "SDKs", "第三方 SDK"),
    ("personal_data", "Personal-data categories", "个人信息类别"),
    ("personal_data_callers", "Who reaches personal data (app or SDK)", "个人信息调用方（应用或 SDK）"),
    ("signers", "Signing certificates", "签名证书"),
    ("domains", "Domains", "域名"),
)
FINDING_LISTS = ("new", "fixed", "changed", "unchanged")


def print_diff(console: Console, d: AppDiff) -> None:
    from apkscan.report.console import VERDICT_STYLE, clean

    old, new = _side(d.old), _side(d.new)
    console.print(f"[bold]{clean(_ident(old), 160)}[/] -> [bold]{clean(_ident(new), 160)}[/]")
    ov, nv = old["verdict"] or "?", new["verdict"] or "?"
    console.print(
        f"  verdict: [{VERDICT_STYLE.get(ov, 'bold')}]{ov}[/] -> [{VERDICT_STYLE.get(nv, 'bold')}]{nv}[/]"
        + ("" if d.verdict_changed else " (unchanged)")
    )
    if new["verdict_reason"]:
        console.print(f"    {clean(new['verdict_reason'], 200)}")
    if old["package"] != new["package"]:
        console.print("[bold yellow]  different packages: these are two apps, not two versions of one[/]")
    if d.signer_changed:
        console.print("[bold red]  signer changed[/]")
    for attr, title, _zh in SECTIONS:
        ch: Change = getattr(d, attr)
        if ch.empty:
            continue
        console.print(f"  [bold]{title}[/]")
        for a in ch.added:
            console.print(f"    [green]+ {clean(a)}[/]")
        for r in ch.removed:
            console.print(f"    [red]- {clean(r)}[/]")
    console.print(
        f"  [bold]Findings[/]: {len(d.new_findings)} new, {len(d.fixed_findings)} fixed, "
        f"{len(d.changed_findings)} changed, {len(d.unchanged_findings)} unchanged"
    )
    for f in d.new_findings:
        where = f" @ {clean(f.locations[0], 80)}" if f.locations else ""
        console.print(f"    [red]+ {f.severity.label:<8} {clean(f.rule_id)} {clean(f.title)}{where}[/]")
    for f in d.fixed_findings:
        console.print(f"    [green]- {f.severity.label:<8} {clean(f.rule_id)} {clean(f.title)}[/]")
    for f in d.changed_findings:
        moved = f"+{len(f.added)}/-{len(f.removed)} locations"
        sev = f", was {f.old_severity.label}" if f.old_severity is not None else ""
        console.print(f"    [yellow]~ {f.severity.label:<8} {clean(f.rule_id)} {clean(f.title)} ({moved}{sev})[/]")


def _finding_dict(f: DiffFinding, changed: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "rule_id": f.rule_id,
        "title": f.title,
        "title_zh": f.title_zh,
        "severity": f.severity.label,
        "category": f.category,
        "fingerprint": f.fingerprint,
        "locations": list(f.locations),
    }
    if changed:
        out["locations_added"] = list(f.added)
        out["locations_removed"] = list(f.removed)
        out["old_severity"] = f.old_severity.label if f.old_severity is not None else f.severity.label
    return out


def diff_dict(d: AppDiff) -> dict[str, Any]:
    old, new = _side(d.old), _side(d.new)
    out: dict[str, Any] = {
        "old": old,
        "new": new,
        "verdict": {"old": old["verdict"], "new": new["verdict"], "changed": d.verdict_changed},
        "signer_changed": d.signer_changed,
        "same_package": old["package"] == new["package"],
    }
    for attr, _title, _zh in SECTIONS:
        ch: Change = getattr(d, attr)
        out[attr] = {"added": ch.added, "removed": ch.removed}
    lists = {
        "new": d.new_findings,
        "fixed": d.fixed_findings,
        "changed": d.changed_findings,
        "unchanged": d.unchanged_findings,
    }
    out["findings"] = {k: [_finding_dict(f, k == "changed") for f in v] for k, v in lists.items()}
    out["counts"] = {k: len(v) for k, v in lists.items()}
    return out


def render_diff_json(d: AppDiff) -> str:
    return json.dumps(diff_dict(d), ensure_ascii=False, indent=2) + "\n"


def render_diff_html(d: AppDiff) -> str:
    """The diff page: ``report/templates/diff.html.j2``, autoescaped, no script."""
    import jinja2

    from apkscan.report.i18n import SEVERITY_ZH
    from apkscan.report.safe import html_finalize

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("apkscan.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        finalize=html_finalize,  # control and bidi characters from either APK become '?'
    )
    return env.get_template("diff.html.j2").render(
        d=diff_dict(d), sections=SECTIONS, shown=LOCATIONS_SHOWN, sev_zh=SEVERITY_ZH
    )
