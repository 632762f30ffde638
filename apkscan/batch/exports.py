"""Batch outputs written from the store: ``index.html``, ``apps.csv``, ``findings.jsonl``.

Every APK-derived string is hostile: HTML goes through jinja2 autoescaping (no APK text
ever reaches a script or style block), CSV cells that a spreadsheet would run as a formula
get a leading apostrophe.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from apkscan.batch.families import summary as family_summary
from apkscan.batch.store import WELL_KNOWN_DOMAINS, Store, now
from apkscan.report.safe import html_finalize, neutralise, write_atomic

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
SEVERITIES = ("critical", "high", "medium", "low", "info")
APP_COLUMNS = (
    "sha256", "status", "verdict", *SEVERITIES, "top_categories", "package", "label", "version_name",
    "version_code", "signer_sha256", "kind", "path", "size", "error", "report",
)


def csv_safe(value: Any) -> Any:
    """Defuse spreadsheet formula injection: text starting with = + - @ TAB CR gets a
    leading apostrophe (numbers are left alone); control characters and bidi overrides
    (ESC, BEL, CR, U+202E ...) become ``?``."""
    if isinstance(value, str):
        if value.startswith(FORMULA_PREFIXES):
            value = "'" + value
        return neutralise(value)
    return value


def csv_text(header: list[str] | tuple[str, ...], rows: list[list[Any]] | list[tuple[Any, ...]]) -> str:
    buf = io.StringIO()
    # CRLF rows (RFC 4180): the writer then quotes any cell holding CR or LF, so a bare CR
    # cannot start a new spreadsheet row whose next cell would be a live formula.
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([csv_safe(h) for h in header])
    for row in rows:
        w.writerow(["" if v is None else csv_safe(v) for v in row])
    return buf.getvalue()


def write_text_atomic(path: Path, text: str) -> None:
    """A unique temporary file in the folder renamed over ``path``, never through a symlink
    (:func:`apkscan.report.safe.write_atomic`): two runs never share a temporary name."""
    write_atomic(path, text)


@dataclass
class App:
    row: dict[str, Any]
    categories: list[str] = field(default_factory=list)
    report: str = ""

    @property
    def name(self) -> str:
        return str(self.row.get("label") or self.row.get("package") or Path(str(self.row["path"])).name)


@dataclass
class Cluster:
    kind: str
    key: str
    detail: str
    apps: list[App]


def _report_link(out: Path, stem: str | None) -> str:
    if not stem:
        return ""
    for ext in ("html", "json", "sarif"):
        if (out / "reports" / f"{stem}.{ext}").exists():
            return f"reports/{stem}.{ext}"
    return ""


def load_apps(store: Store, out: Path) -> list[App]:
    digest = store.meta("rules_digest") or ""
    cats: dict[str, Counter[str]] = defaultdict(Counter)
    for r in store.iter_rows("SELECT sha256, category, COUNT(*) FROM findings WHERE rules_digest = ? "
                             "AND severity <> 'info' GROUP BY sha256, category", (digest,)):
        cats[r[0]][r[1]] += r[2]
    apps = []
    for r in store.iter_rows(
        "SELECT a.*, r.verdict, r.critical, r.high, r.medium, r.low, r.info, r.report_stem AS result_stem "
        "FROM apks a LEFT JOIN results r ON r.sha256 = a.sha256 AND r.rules_digest = ? "
        "ORDER BY a.status DESC, "
        "CASE r.verdict WHEN 'reject' THEN 0 WHEN 'review' THEN 1 WHEN 'fix' THEN 2 ELSE 3 END, "
        "r.critical DESC, r.high DESC, r.medium DESC, COALESCE(a.package, ''), a.path", (digest,)
    ):
        row = dict(r)
        app = App(row, [c for c, _ in cats[row["sha256"]].most_common(3)],
                  _report_link(out, row.get("result_stem")))
        apps.append(app)
    return apps


def _common_domain(domain: str) -> bool:
    return any(domain == d or domain.endswith("." + d) for d in WELL_KNOWN_DOMAINS)


def clusters(store: Store, apps: list[App]) -> list[Cluster]:
    by_sha = {a.row["sha256"]: a for a in apps if a.row["status"] == "ok"}
    n_ok = len(by_sha)
    out: list[Cluster] = []
    certs: dict[str, list[App]] = defaultdict(list)
    subjects: dict[str, str] = {}
    for r in store.iter_rows("SELECT sha256, cert_sha256, subject, debug, test_key FROM certs ORDER BY cert_sha256"):
        if r[0] in by_sha:
            certs[r[1]].append(by_sha[r[0]])
            subjects[r[1]] = str(r[2] or "") + (" (debug key)" if r[3] else "") + (" (public test key)" if r[4] else "")
    for key, members in certs.items():
        if len(members) > 1:
            out.append(Cluster("certificate", key, subjects[key], members))
    domains: dict[str, list[App]] = defaultdict(list)
    for r in store.iter_rows("SELECT sha256, domain FROM domains ORDER BY domain"):
        if r[0] in by_sha:
            domains[r[1]].append(by_sha[r[0]])
    for key, members in domains.items():
        if len(members) > 1 and len(members) * 2 <= n_ok and not _common_domain(key):
            out.append(Cluster("domain", key, "", members))
    gens: dict[tuple[str, str], list[App]] = defaultdict(list)
    for r in store.iter_rows("SELECT sha256, kind, id FROM generator_ids ORDER BY kind, id"):
        if r[0] in by_sha:
            gens[(r[1], r[2])].append(by_sha[r[0]])
    for (kind, ident), members in gens.items():
        if len(members) > 1:
            out.append(Cluster("generator", ident, kind, members))
    out.sort(key=lambda c: (c.kind, -len(c.apps), c.key))
    return out


TEMPLATE = r"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy"
 content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>apkscan batch: {{ apps|length }} apps</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.2em;color:#222}
h1{font-size:1.4em;margin:.2em 0} h2{font-size:1.15em;margin-top:1.6em}
.meta{color:#666} table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f3f3f3;cursor:pointer;user-select:none;position:sticky;top:0}
th.sorted-asc::after{content:" \25B2"} th.sorted-desc::after{content:" \25BC"}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.v-reject{color:#fff;background:#c62828;border-radius:3px;padding:0 4px}
.v-review{background:#ffe082;border-radius:3px;padding:0 4px}
.v-pass{color:#fff;background:#2e7d32;border-radius:3px;padding:0 4px}
.v-fix{color:#fff;background:#0e7490;border-radius:3px;padding:0 4px}
.v-failed{color:#fff;background:#616161;border-radius:3px;padding:0 4px}
.s-critical{color:#b71c1c;font-weight:bold}.s-high{color:#d84315;font-weight:bold}
.muted{color:#888}.mono{font-family:ui-monospace,monospace;font-size:12px;word-break:break-all}
.controls{margin:.6em 0}.controls input{width:24em;padding:3px}
details{margin:.3em 0} summary{cursor:pointer}
</style></head><body>
<h1>apkscan batch report</h1>
<p class="meta">{{ apps|length }} apps ({{ n_ok }} scanned, {{ n_failed }} failed) &middot;
verdicts: {% for v, n in verdicts %}{{ v }} {{ n }}{% if not loop.last %}, {% endif %}{% endfor %} &middot;
rules <span class="mono">{{ digest[:19] }}</span> &middot; generated {{ generated }}</p>
<div class="controls">
<input id="q" type="search" placeholder="filter: package, label, category, rule, error…" aria-label="filter">
<select id="vf" aria-label="verdict"><option value="">all verdicts</option><option>reject</option>
<option>review</option><option>fix</option><option>pass</option><option>failed</option></select>
<span id="shown" class="muted"></span></div>
<table id="apps"><thead><tr>
<th data-type="text">verdict</th><th data-type="num">critical</th><th data-type="num">high</th>
<th data-type="num">medium</th><th data-type="num">low</th><th data-type="num">info</th>
<th data-type="text">top categories</th><th data-type="text">package</th><th data-type="text">label</th>
<th data-type="text">version</th><th data-type="text">file</th><th data-type="text">report / error</th>
</tr></thead><tbody>
{% for a in apps %}{% set r = a.row %}{% set v = (r.verdict or 'pending') if r.status == 'ok' else 'failed' %}
<tr data-verdict="{{ v }}"><td data-sort="{{ vrank[v] }}"><span class="v-{{ v }}">{{ v }}</span></td>
{% for s in severities %}<td class="n{% if r[s] %} s-{{ s }}{% endif %}">
{{- r[s] if r[s] is not none else '' }}</td>{% endfor %}
<td>{{ a.categories|join(', ') }}</td><td class="mono">{{ r.package or '' }}</td><td>{{ r.label or '' }}</td>
<td>{{ r.version_name or '' }}</td><td class="mono" title="{{ r.path }}">{{ r.path|basename }}</td>
<td>{% if a.report %}<a href="{{ a.report }}">report</a>
{%- else %}<span class="muted">{{ r.error or '' }}</span>{% endif %}</td></tr>
{% endfor %}</tbody></table>

<h2>Clusters</h2>
<p class="meta">Apps sharing a signing certificate, a server domain (domains in more than half of the apps and
well-known ones such as googleapis.com are left out) or an app-generator account id.</p>
{% for kind, title in sections %}
<h3>{{ title }}</h3>
{% set items = clusters|selectattr('kind', 'equalto', kind)|list %}
{% if not items %}<p class="muted">none</p>{% endif %}
{% for c in items %}<details><summary><span class="mono">{{ c.key }}</span> {{ c.detail }}
 &mdash; {{ c.apps|length }} apps</summary><ul>
{% for a in c.apps %}<li>{% if a.report %}<a href="{{ a.report }}">{{ a.name }}</a>{% else %}{{ a.name }}{% endif %}
<span class="mono muted">{{ a.row.package or '' }} {{ a.row.version_name or '' }}</span></li>{% endfor %}
</ul></details>{% endfor %}
{% endfor %}
<script>
(function(){
  var table=document.getElementById('apps'),body=table.tBodies[0],q=document.getElementById('q'),
      vf=document.getElementById('vf'),shown=document.getElementById('shown');
  function cell(row,i){var c=row.cells[i];return c.hasAttribute('data-sort')?c.getAttribute('data-sort'):c.textContent;}
  function filter(){
    var t=q.value.toLowerCase(),v=vf.value,n=0;
    for(var i=0;i<body.rows.length;i++){var r=body.rows[i];
      var ok=(!v||r.getAttribute('data-verdict')===v)&&(!t||r.textContent.toLowerCase().indexOf(t)>=0);
      r.style.display=ok?'':'none';if(ok)n++;}
    shown.textContent=n+' shown';
  }
  var ths=table.tHead.rows[0].cells;
  for(var i=0;i<ths.length;i++)(function(i){ths[i].addEventListener('click',function(){
    var asc=!this.classList.contains('sorted-asc'),num=this.getAttribute('data-type')==='num';
    for(var j=0;j<ths.length;j++)ths[j].classList.remove('sorted-asc','sorted-desc');
    this.classList.add(asc?'sorted-asc':'sorted-desc');
    var rows=Array.prototype.slice.call(body.rows);
    rows.sort(function(a,b){var x=cell(a,i),y=cell(b,i);
      if(num){x=parseFloat(x)||0;y=parseFloat(y)||0;return asc?x-y:y-x;}
      return asc?x.localeCompare(y):y.localeCompare(x);});
    rows.forEach(function(r){body.appendChild(r);});
  });})(i);
  q.addEventListener('input',filter);vf.addEventListener('change',filter);filter();
})();
</script>
</body></html>
"""


def render_index(store: Store, apps: list[App]) -> str:
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, finalize=html_finalize)
    env.filters["basename"] = lambda p: Path(str(p)).name
    verdicts = Counter((a.row["verdict"] or "pending") if a.row["status"] == "ok" else "failed" for a in apps)
    return env.from_string(TEMPLATE).render(
        apps=apps,
        n_ok=sum(a.row["status"] == "ok" for a in apps),
        n_failed=sum(a.row["status"] != "ok" for a in apps),
        verdicts=sorted(verdicts.items(), key=lambda kv: -kv[1]),
        vrank={"reject": 4, "review": 3, "fix": 2, "pass": 1, "pending": 0, "failed": 0},
        severities=SEVERITIES,
        sections=[("certificate", "Shared signing certificates"), ("domain", "Shared server domains"),
                  ("generator", "Shared app-generator ids")],
        clusters=clusters(store, apps),
        digest=store.meta("rules_digest") or "",
        generated=now(),
    )


def apps_csv(apps: list[App]) -> str:
    rows = []
    for a in apps:
        r = a.row
        rows.append([
            r["sha256"], r["status"], r.get("verdict") or "", *[r.get(s) for s in SEVERITIES],
            " ".join(a.categories), r.get("package"), r.get("label"), r.get("version_name"),
            r.get("version_code"), r.get("signer_sha256"), r.get("kind"), r.get("path"), r.get("size"),
            r.get("error"), a.report,
        ])
    return csv_text(APP_COLUMNS, rows)


def findings_jsonl(store: Store) -> str:
    digest = store.meta("rules_digest") or ""
    lines = []
    for r in store.iter_rows(
        "SELECT a.sha256, a.package, a.version_name, a.path, r.findings FROM results r "
        "JOIN apks a ON a.sha256 = r.sha256 WHERE r.rules_digest = ? ORDER BY a.package, a.sha256", (digest,)
    ):
        for f in json.loads(r[4] or "[]"):
            item = {"sha256": r[0], "package": r[1], "version_name": r[2], "path": r[3], "rules_digest": digest}
            item.update(f)
            lines.append(json.dumps(item, ensure_ascii=False))
    return "".join(line + "\n" for line in lines)


def write_exports(store: Store, out: Path) -> list[str]:
    apps = load_apps(store, out)
    write_text_atomic(out / "index.html", render_index(store, apps))
    write_text_atomic(out / "apps.csv", apps_csv(apps))
    write_text_atomic(out / "findings.jsonl", findings_jsonl(store))
    write_text_atomic(out / "families.json", json.dumps(family_summary(store), ensure_ascii=False, indent=1) + "\n")
    return [str(out / n) for n in ("index.html", "apps.csv", "findings.jsonl", "families.json", "apkscan.db")]
