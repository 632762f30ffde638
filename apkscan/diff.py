"""What changed between two versions of an app.

Works on JSON report dicts, so either side may be an APK (scanned now) or a JSON report
written earlier by ``apkscan scan`` (what a CI pipeline keeps from the last release).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from rich.console import Console

from apkscan.errors import UsageError
from apkscan.model import Severity
from apkscan.report.console import clean
from apkscan.rules.loader import RuleSet


@dataclass(frozen=True)
class DiffFinding:
    rule_id: str
    title: str
    severity: Severity
    category: str
    fingerprint: str


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

    @property
    def signer_changed(self) -> bool:
        return not self.signers.empty


def _load(path: Path, ruleset: RuleSet) -> dict[str, Any]:
    if path.suffix.lower() == ".json":
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UsageError(f"{path}: no such file") from None
        except (OSError, ValueError) as exc:
            raise UsageError(f"{path}: not a JSON report ({exc})") from None
        if not isinstance(doc, dict) or "findings" not in doc or "facts" not in doc:
            raise UsageError(f"{path}: not an apkscan JSON report")
        return doc
    from apkscan import api
    from apkscan.report.json_report import report_dict

    return report_dict(api.scan(path, ruleset))


def _change(old: set[str], new: set[str]) -> Change:
    return Change(sorted(new - old), sorted(old - new))


def _findings(doc: dict[str, Any]) -> dict[str, DiffFinding]:
    out = {}
    for f in doc.get("findings", []):
        out[f["fingerprint"]] = DiffFinding(
            f["rule_id"], f["title"], Severity.parse(f["severity"]), f["category"], f["fingerprint"]
        )
    return out


def diff_reports(old: dict[str, Any], new: dict[str, Any]) -> AppDiff:
    def perms(d: dict[str, Any]) -> set[str]:
        return {p["name"] for p in d["facts"]["manifest"].get("permissions", [])}

    def sdks(d: dict[str, Any]) -> set[str]:
        return {f"{s['id']} ({s['name']})" for s in d.get("sdks", [])}

    def pdata(d: dict[str, Any]) -> set[str]:
        return {a["category"] for a in d.get("data_access", [])}

    def domains(d: dict[str, Any]) -> set[str]:
        return set(d["facts"]["strings"].get("domains", []))

    def signers(d: dict[str, Any]) -> set[str]:
        return {f"{c['sha256']} {c['subject']}" for c in d["facts"]["signing"].get("certificates", [])}

    fo, fn = _findings(old), _findings(new)
    order = lambda f: (-f.severity, f.rule_id)  # noqa: E731
    return AppDiff(
        old=old,
        new=new,
        permissions=_change(perms(old), perms(new)),
        sdks=_change(sdks(old), sdks(new)),
        personal_data=_change(pdata(old), pdata(new)),
        domains=_change(domains(old), domains(new)),
        signers=_change(signers(old), signers(new)),
        new_findings=sorted((f for k, f in fn.items() if k not in fo), key=order),
        fixed_findings=sorted((f for k, f in fo.items() if k not in fn), key=order),
    )


def diff_paths(old: Path, new: Path, ruleset: RuleSet) -> AppDiff:
    return diff_reports(_load(old, ruleset), _load(new, ruleset))


def _ident(d: dict[str, Any]) -> str:
    app = d["app"]
    return f"{app['package']} {app['version_name']} ({app['version_code']})"


SECTIONS = (
    ("permissions", "Permissions"),
    ("sdks", "SDKs"),
    ("personal_data", "Personal-data categories"),
    ("signers", "Signing certificates"),
    ("domains", "Domains"),
)


def print_diff(console: Console, d: AppDiff) -> None:
    console.print(f"[bold]{clean(_ident(d.old))}[/] -> [bold]{clean(_ident(d.new))}[/]")
    if d.signer_changed:
        console.print("[bold red]  signer changed[/]")
    for attr, title in SECTIONS:
        ch: Change = getattr(d, attr)
        if ch.empty:
            continue
        console.print(f"  [bold]{title}[/]")
        for a in ch.added:
            console.print(f"    [green]+ {clean(a)}[/]")
        for r in ch.removed:
            console.print(f"    [red]- {clean(r)}[/]")
    console.print(f"  [bold]Findings[/]: {len(d.new_findings)} new, {len(d.fixed_findings)} fixed")
    for f in d.new_findings:
        console.print(f"    [red]+ {f.severity.label:<8} {clean(f.rule_id)} {clean(f.title)}[/]")
    for f in d.fixed_findings:
        console.print(f"    [green]- {f.severity.label:<8} {clean(f.rule_id)} {clean(f.title)}[/]")


def diff_dict(d: AppDiff) -> dict[str, Any]:
    def fl(items: list[DiffFinding]) -> list[dict[str, str]]:
        return [
            {
                "rule_id": f.rule_id,
                "title": f.title,
                "severity": f.severity.label,
                "category": f.category,
                "fingerprint": f.fingerprint,
            }
            for f in items
        ]

    out: dict[str, Any] = {"old": d.old["app"], "new": d.new["app"], "signer_changed": d.signer_changed}
    for attr, _ in SECTIONS:
        ch: Change = getattr(d, attr)
        out[attr] = {"added": ch.added, "removed": ch.removed}
    out["findings"] = {"new": fl(d.new_findings), "fixed": fl(d.fixed_findings)}
    return out


def render_diff_json(d: AppDiff) -> str:
    return json.dumps(diff_dict(d), ensure_ascii=False, indent=2) + "\n"


_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>apkscan diff: {{ d.new.package }}</title>
<style>
body{font-family:system-ui,"Noto Sans CJK SC","PingFang SC","Microsoft YaHei",sans-serif;margin:2rem;color:#1d2433}
h1{font-size:1.4rem} h2{font-size:1.1rem;margin-top:1.5rem;border-bottom:1px solid #dde}
.add{color:#0a7a32} .rem{color:#b3261e} .warn{background:#fde8e8;padding:.5rem 1rem;border-radius:6px}
table{border-collapse:collapse} td,th{padding:.25rem .75rem;border-bottom:1px solid #eee;text-align:left}
.sev{font-weight:600;text-transform:uppercase;font-size:.8rem}
</style></head><body>
<h1>{{ d.old.package }} {{ d.old.version_name }} &rarr; {{ d.new.version_name }}</h1>
{% if d.signer_changed %}<p class="warn">The signing certificate changed.</p>{% endif %}
<h2>Findings: {{ d.findings.new|length }} new, {{ d.findings.fixed|length }} fixed</h2>
<table><tr><th></th><th>severity</th><th>rule</th><th>title</th></tr>
{% for f in d.findings.new %}<tr class="rem"><td>new</td><td class="sev">{{ f.severity }}</td><td>{{ f.rule_id }}</td><td>{{ f.title }}</td></tr>{% endfor %}
{% for f in d.findings.fixed %}<tr class="add"><td>fixed</td><td class="sev">{{ f.severity }}</td><td>{{ f.rule_id }}</td><td>{{ f.title }}</td></tr>{% endfor %}
</table>
{% for key, title in sections %}{% set ch = d[key] %}
<h2>{{ title }}</h2>
{% if not ch.added and not ch.removed %}<p>No change.</p>{% endif %}
<ul>{% for a in ch.added %}<li class="add">+ {{ a }}</li>{% endfor %}{% for r in ch.removed %}<li class="rem">&minus; {{ r }}</li>{% endfor %}</ul>
{% endfor %}
</body></html>
"""


def render_diff_html(d: AppDiff) -> str:
    env = jinja2.Environment(autoescape=True)
    return env.from_string(_TEMPLATE).render(d=diff_dict(d), sections=SECTIONS)
