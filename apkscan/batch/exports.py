"""Batch outputs written from the store: ``index.html``, ``apps.csv``, ``findings.jsonl``.

Every APK-derived string is hostile: HTML goes through jinja2 autoescaping (no APK text
ever reaches a script or style block), CSV cells that a spreadsheet would run as a formula
get a leading apostrophe.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import marshal
import math
import os
from collections import Counter, defaultdict
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape

from apkscan.batch.families import summary as family_summary
from apkscan.batch.store import WELL_KNOWN_DOMAINS, Store, now
from apkscan.model import Finding, Severity
from apkscan.report.i18n import SDK_CATEGORY_ZH, batch_error_text, category_name, severity_name, term, ui
from apkscan.report.safe import html_finalize, neutralise, write_atomic
from apkscan.similarity import THRESHOLD as SIMILARITY_THRESHOLD
from apkscan.similarity import app_package
from apkscan.verdict import ILLEGAL
from apkscan.verdict import TEXT as VERDICT_TEXT

OTHER_VERDICTS = {"pending": ("PENDING", "待检测"), "failed": ("FAILED", "检测失败")}

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
    """Its finding categories, the one of its most severe finding first (the verdict's)."""
    report: str = ""
    verdict: str = ""
    """``reject`` ... ``pass``, ``pending`` (not evaluated with the current rules) or ``failed``."""
    search: str = ""
    """What the dashboard's filter matches: package, label, version, file, error, categories."""
    main: tuple[str, str] = ("", "")
    """(rule id, title) of its most severe finding, an illegal-app one first among equals:
    what the dashboard shows beside the verdict (the title in the page's language once
    :func:`render_index` has translated it)."""

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
    folder = os.path.join(out, "reports")  # strings, not Paths: one call per app of the batch
    for ext in ("html", "json", "sarif"):
        if os.path.exists(os.path.join(folder, f"{stem}.{ext}")):
            return f"reports/{stem}.{ext}"
    return ""


SEVERITY_RANK = {s.label: int(s) for s in Severity}


def load_apps(store: Store, out: Path) -> list[App]:
    digest = store.meta("rules_digest") or ""
    # One pass over the findings (info left out, as in the category chart). Per app: its
    # categories by their most severe finding, an illegal-app one first among equals, then by
    # how many findings (the category that decided the verdict comes first: gambling, not
    # the six security notes), and that most severe finding itself, shown beside the verdict.
    worst: dict[tuple[str, str], int] = {}
    count: Counter[tuple[str, str]] = Counter()
    main: dict[str, tuple[tuple[int, int, str], str]] = {}
    for sha, rule_id, title, sev, cat in store.iter_rows(
        "SELECT sha256, rule_id, title, severity, category FROM findings WHERE rules_digest = ? "
        "AND severity <> 'info'", (digest,)
    ):
        rank = SEVERITY_RANK.get(str(sev), 0)
        worst[(sha, cat)] = max(worst.get((sha, cat), 0), rank)
        count[(sha, cat)] += 1
        key = (-rank, -int(cat in ILLEGAL), str(rule_id))
        if sha not in main or key < main[sha][0]:
            main[sha] = (key, str(title or ""))
    cats: dict[str, list[tuple[int, int, int, str]]] = defaultdict(list)
    for (sha, cat), rank in worst.items():
        cats[sha].append((-rank, -int(cat in ILLEGAL), -count[(sha, cat)], cat))
    apps = []
    for r in store.iter_rows(
        "SELECT a.*, r.verdict, r.critical, r.high, r.medium, r.low, r.info, r.report_stem AS result_stem "
        "FROM apks a LEFT JOIN results r ON r.sha256 = a.sha256 AND r.rules_digest = ? "
        "ORDER BY a.status DESC, "
        "CASE r.verdict WHEN 'reject' THEN 0 WHEN 'review' THEN 1 WHEN 'fix' THEN 2 ELSE 3 END, "
        "r.critical DESC, r.high DESC, r.medium DESC, COALESCE(a.package, ''), a.path", (digest,)
    ):
        row = dict(r)
        sha = row["sha256"]
        key, title = main.get(sha, ((0, 0, ""), ""))
        apps.append(App(row, [c for *_, c in sorted(cats[sha])[:3]], _report_link(out, row.get("result_stem")),
                        main=(key[2], title)))
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
    packages: dict[str, list[App]] = defaultdict(list)
    for app in by_sha.values():
        packages[str(app.row.get("package") or "")].append(app)
    for key, members in packages.items():
        if len(members) > 1 and app_package(key):
            # which keys signed the builds: more than one is a re-signed or impersonating app
            signers = sorted({str(a.row.get("signer_sha256") or "")[:8] or "?" for a in members})
            out.append(Cluster("package", key, " ".join(signers), sorted(members, key=lambda a: a.row["sha256"])))
    out.sort(key=lambda c: (c.kind, -len(c.apps), c.key))
    return out


VERDICT_ORDER = ("reject", "review", "fix", "pass", "pending", "failed")
VRANK = {"reject": 4, "review": 3, "fix": 2, "pass": 1, "pending": 0, "failed": 0}
LINK_KINDS = ("certificate", "domain", "generator", "package")
KIND_NAMES = {"certificate": "Signer", "domain": "Server domain", "generator": "App-generator id",
              "package": "Package name"}
GRAPH_MAX_APPS = 240
"""Apps drawn in the cluster graph (the largest clusters first); the lists below it name all."""
GRAPH_MAX_KEYS = 120
GRAPH_WIDTH = 1160
FORCE_MAX_NODES = 90
"""Components up to this many nodes get a force-directed layout, larger ones a radial one."""


def _verdict(app: App) -> str:
    return (str(app.row.get("verdict") or "pending")) if app.row.get("status") == "ok" else "failed"


def _search_text(app: App, extra: tuple[str, ...] = ()) -> str:
    r = app.row
    parts = (r.get("package"), r.get("label"), r.get("version_name"), Path(str(r.get("path") or "")).name,
             r.get("error"), " ".join(app.categories), *extra)
    return neutralise(" ".join(str(p) for p in parts if p))[:4000]


def _search_extras(store: Store, lang: str) -> dict[str, tuple[str, ...]]:
    """What else the filter finds an app by: the rules that fired (ids), its SDKs (ids) and
    the names of its finding categories in the page's language."""
    digest = store.meta("rules_digest") or ""
    words: dict[str, set[str]] = defaultdict(set)
    for sha, rule_id, cat, sev in store.iter_rows(
        "SELECT DISTINCT sha256, rule_id, category, severity FROM findings WHERE rules_digest = ?", (digest,)
    ):
        words[sha].add(rule_id)
        if sev != "info":  # as in the category chart
            words[sha].add(category_name(cat, lang))
    for sha, sdk_id in store.iter_rows("SELECT sha256, sdk_id FROM sdks WHERE rules_digest = ?", (digest,)):
        words[sha].add(sdk_id)
    return {sha: tuple(sorted(w)) for sha, w in words.items()}


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _force_layout(n: int, edges: list[tuple[int, int]], iterations: int = 150) -> list[tuple[float, float]]:
    """Fruchterman-Reingold on a unit-ish square, deterministic (nodes start on a circle in
    their given order): linked apps end up near their shared key."""
    if n == 1:
        return [(0.0, 0.0)]
    pos = [[math.cos(2 * math.pi * i / n), math.sin(2 * math.pi * i / n)] for i in range(n)]
    k = math.sqrt(4.0 / n)
    t = 0.2
    for _ in range(iterations):
        disp = [[0.0, 0.0] for _ in range(n)]
        for i in range(n):
            xi, yi = pos[i]
            for j in range(i + 1, n):
                dx, dy = xi - pos[j][0], yi - pos[j][1]
                d2 = dx * dx + dy * dy or 1e-6
                f = k * k / d2
                disp[i][0] += dx * f
                disp[i][1] += dy * f
                disp[j][0] -= dx * f
                disp[j][1] -= dy * f
        for u, v in edges:
            dx, dy = pos[u][0] - pos[v][0], pos[u][1] - pos[v][1]
            d = math.hypot(dx, dy) or 1e-6
            f = d / k
            disp[u][0] -= dx * f
            disp[u][1] -= dy * f
            disp[v][0] += dx * f
            disp[v][1] += dy * f
        for i in range(n):
            dx, dy = disp[i]
            d = math.hypot(dx, dy)
            if d > 0:
                step = min(d, t)
                pos[i][0] += dx / d * step
                pos[i][1] += dy / d * step
        t *= 0.97
    return [(p[0], p[1]) for p in pos]


LAYOUTS_META = "graph_layouts"
"""Store ``meta`` key: the force layouts of the last dashboard (:class:`Layouts`)."""
_LAYOUT_CODE = hashlib.sha256(marshal.dumps(_force_layout.__code__)).hexdigest()[:16]
"""Part of every layout's key: a changed layout function never reuses an older layout."""


class Layouts:
    """Force layouts computed before (read from the store) and those used now. A layout is
    a pure function of its group's size and links (and of :func:`_force_layout`'s code),
    so a dashboard rewritten with the same groups (after a rule change, say) reuses them
    instead of spending a tenth of a second on them. An entry that is not a list of
    finite coordinates, one per node, is computed again."""

    def __init__(self, known: object = None) -> None:
        self.known = known if isinstance(known, dict) else {}
        self.used: dict[str, list[list[float]]] = {}

    @classmethod
    def of(cls, store: Store) -> Layouts:
        try:
            return cls(json.loads(store.meta(LAYOUTS_META) or "{}"))
        except ValueError:
            return cls()

    def force(self, n: int, edges: list[tuple[int, int]]) -> list[tuple[float, float]]:
        key = hashlib.sha256(f"{_LAYOUT_CODE}\0{n}\0{edges!r}".encode()).hexdigest()[:32]
        hit = self.known.get(key)
        if (isinstance(hit, list) and len(hit) == n
                and all(isinstance(p, list) and len(p) == 2 and all(type(v) in (int, float) and math.isfinite(v)
                                                                      for v in p) for p in hit)):
            coords = [(float(p[0]), float(p[1])) for p in hit]
        else:  # not there, or not a layout of this group: computed
            coords = _force_layout(n, edges)
        self.used[key] = [[x, y] for x, y in coords]
        return coords


def _radial_layout(keys: list[int], apps: list[int], first_key: dict[int, int]) -> dict[int, tuple[float, float]]:
    """Keys on an inner ring, apps on an outer ring next to their first key."""
    out: dict[int, tuple[float, float]] = {}
    for i, node in enumerate(keys):
        a = 2 * math.pi * i / max(1, len(keys))
        out[node] = (0.45 * math.cos(a), 0.45 * math.sin(a))
    order = {node: i for i, node in enumerate(keys)}
    ranked = sorted(apps, key=lambda v: (order.get(first_key.get(v, -1), 0), v))
    for i, node in enumerate(ranked):
        a = 2 * math.pi * i / max(1, len(ranked))
        out[node] = (math.cos(a), math.sin(a))
    return out


def cluster_graph(found: list[Cluster], layouts: Layouts | None = None) -> dict[str, Any]:
    """Apps linked to the signers, server domains and app-generator ids they share, laid out
    for an inline SVG: each connected group gets its own force-directed (or, when large,
    radial) layout and the groups are packed in rows. Everything is computed here; the page
    only draws it."""
    chosen: list[Cluster] = []
    app_ids: dict[str, int] = {}
    total = len({a.row["sha256"] for c in found for a in c.apps})
    for c in sorted(found, key=lambda c: (-len(c.apps), c.kind, c.key)):
        new = {a.row["sha256"] for a in c.apps} - set(app_ids)
        if len(chosen) >= GRAPH_MAX_KEYS or len(app_ids) + len(new) > GRAPH_MAX_APPS:
            continue
        chosen.append(c)
        for a in c.apps:
            app_ids.setdefault(a.row["sha256"], len(app_ids))
    if not chosen:
        return {"app_nodes": [], "key_nodes": [], "edges": [], "width": GRAPH_WIDTH, "height": 0, "truncated": False,
                "total": total}
    apps_by_sha = {a.row["sha256"]: a for c in chosen for a in c.apps}
    n_keys = len(chosen)
    # nodes 0..n_keys-1 are keys, then apps
    node_of_app = {sha: n_keys + i for sha, i in app_ids.items()}
    edges = sorted({(ki, node_of_app[a.row["sha256"]]) for ki, c in enumerate(chosen) for a in c.apps})
    n = n_keys + len(app_ids)
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for u, v in edges:
        parent[find(u)] = find(v)
    comps: dict[int, list[int]] = defaultdict(list)
    for node in range(n):
        comps[find(node)].append(node)
    pos: dict[int, tuple[float, float]] = {}
    x0, y0, row_h = 10.0, 10.0, 0.0
    for members in sorted(comps.values(), key=lambda m: (-len(m), m[0])):
        local = {node: i for i, node in enumerate(members)}
        local_edges = [(local[u], local[v]) for u, v in edges if u in local]
        if len(members) <= FORCE_MAX_NODES:
            laid = (layouts.force(len(members), local_edges) if layouts is not None
                    else _force_layout(len(members), local_edges))
            coords = dict(zip(members, laid, strict=True))
        else:
            first_key: dict[int, int] = {}
            for u, v in edges:
                if u in local:
                    first_key.setdefault(v, u)
            coords = _radial_layout([m for m in members if m < n_keys], [m for m in members if m >= n_keys],
                                    first_key)
        # the longer side of the group gets `size`; the other keeps the group's proportions
        size = min(GRAPH_WIDTH - 60.0, 50.0 + 70.0 * math.sqrt(len(members)))
        xs = [p[0] for p in coords.values()]
        ys = [p[1] for p in coords.values()]
        span = max(max(xs) - min(xs), max(ys) - min(ys), 1e-6)
        box_w = 40 + (max(xs) - min(xs)) / span * size
        box_h = 40 + (max(ys) - min(ys)) / span * size
        if x0 + box_w > GRAPH_WIDTH - 10 and x0 > 10:
            x0, y0, row_h = 10.0, y0 + row_h + 16, 0.0
        for node, (x, y) in coords.items():
            pos[node] = (x0 + 20 + (x - min(xs)) / span * size, y0 + 20 + (y - min(ys)) / span * size)
        x0 += box_w + 16
        row_h = max(row_h, box_h)
    keys_of: dict[int, list[str]] = defaultdict(list)
    for u, v in edges:
        keys_of[v].append(f"k{u}")
    app_nodes = []
    for sha, i in app_ids.items():
        a = apps_by_sha[sha]
        node = node_of_app[sha]
        x, y = pos[node]
        app_nodes.append({
            "id": f"a{i}", "x": round(x, 1), "y": round(y, 1), "r": 5 + min(4, len(keys_of[node])),
            "verdict": _verdict(a), "name": _short(neutralise(a.name), 24), "package": a.row.get("package") or "",
            "links": " ".join(keys_of[node]), "search": a.search or _search_text(a),
        })
    key_nodes = []
    for ki, c in enumerate(chosen):
        x, y = pos[ki]
        label = c.key
        if c.kind == "certificate":
            label = c.detail.split(",")[0].removeprefix("Common Name: ") or c.key[:12]
        key_nodes.append({"id": f"k{ki}", "kind": c.kind, "x": round(x, 1), "y": round(y, 1),
                          "label": _short(neutralise(label), 28), "full": f"{c.key} {c.detail}".strip(),
                          "n": len(c.apps)})
    edge_rows = [
        {"kind": chosen[u].kind, "app": f"a{app_ids_rev}", "key": f"k{u}",
         "x1": round(pos[u][0], 1), "y1": round(pos[u][1], 1), "x2": round(pos[v][0], 1), "y2": round(pos[v][1], 1)}
        for u, v in edges
        for app_ids_rev in (v - n_keys,)
    ]
    return {"app_nodes": app_nodes, "key_nodes": key_nodes, "edges": edge_rows, "width": GRAPH_WIDTH,
            "height": round(y0 + row_h + 10), "truncated": len(app_ids) < total, "total": total}


def _dashboard_data(store: Store, apps: list[App], lang: str) -> dict[str, Any]:
    """Counts for the dashboard: categories, severities, the most frequent findings and SDKs."""
    digest = store.meta("rules_digest") or ""
    n_ok = max(1, sum(1 for a in apps if a.row.get("status") == "ok"))
    ok = {a.row["sha256"] for a in apps if a.row.get("status") == "ok"}
    cat_apps: dict[str, set[str]] = defaultdict(set)
    cat_findings: Counter[str] = Counter()
    sev_apps: dict[str, set[str]] = defaultdict(set)
    sev_findings: Counter[str] = Counter()
    rule_apps: dict[str, set[str]] = defaultdict(set)
    rule_info: dict[str, tuple[str, str, str]] = {}
    rank = {s: i for i, s in enumerate(reversed(SEVERITIES))}
    for sha, rule_id, sev, cat, title in store.iter_rows(
        "SELECT sha256, rule_id, severity, category, title FROM findings WHERE rules_digest = ?", (digest,)
    ):
        if sha not in ok:
            continue
        sev_apps[sev].add(sha)
        sev_findings[sev] += 1
        if sev != "info":
            cat_apps[cat].add(sha)
            cat_findings[cat] += 1
        rule_apps[rule_id].add(sha)
        old = rule_info.get(rule_id)
        if old is None or rank.get(sev, 0) > rank.get(old[0], 0):
            rule_info[rule_id] = (sev, cat, title or rule_id)
    top = sorted(rule_apps, key=lambda r: (-len(rule_apps[r]), -rank.get(rule_info[r][0], 0), r))[:20]
    titles_zh = _titles_zh(store, digest, set(top)) if lang == "zh" else {}
    label_w, bar_w = 120, 260
    cats = sorted(cat_apps, key=lambda c: (-len(cat_apps[c]), c))
    biggest = max((len(cat_apps[c]) for c in cats), default=1)
    category_rows = [
        {"category": c, "label": category_name(c, lang), "apps": len(cat_apps[c]), "findings": cat_findings[c],
         "y": i * 22, "w": round(bar_w * len(cat_apps[c]) / biggest, 1)}
        for i, c in enumerate(cats)
    ]
    sdk_rows = []
    for sdk_id, name, category, n in store.iter_rows(
        "SELECT sdk_id, MAX(name), MAX(category), COUNT(DISTINCT sha256) AS n FROM sdks WHERE rules_digest = ? "
        "GROUP BY sdk_id ORDER BY n DESC, sdk_id LIMIT 25", (digest,)
    ):
        pct = round(100 * n / n_ok)
        sdk_rows.append({"id": sdk_id, "name": name or sdk_id, "category": category or "", "apps": n, "pct": pct,
                         "w": round(min(100, pct) * 0.8)})
    return {
        "categories": category_rows,
        "cat_chart": {"label_w": label_w, "width": label_w + bar_w + 150, "height": max(22, 22 * len(cats))},
        "severity_rows": [{"sev": s, "findings": sev_findings[s], "apps": len(sev_apps[s])} for s in SEVERITIES],
        "top_findings": [
            {"rule_id": r, "severity": rule_info[r][0], "category": rule_info[r][1],
             "title": titles_zh.get(r) or rule_info[r][2], "apps": len(rule_apps[r]),
             "pct": round(100 * len(rule_apps[r]) / n_ok), "w": round(min(100, 100 * len(rule_apps[r]) / n_ok) * 0.8)}
            for r in top
        ],
        "sdks": sdk_rows,
    }


def _titles_zh(store: Store, digest: str, wanted: set[str]) -> dict[str, str]:
    """Chinese titles of ``wanted`` rules, read from the stored findings (the rule files'
    ``title_zh``); stops as soon as every one is found."""
    out: dict[str, str] = {}
    for (blob,) in store.iter_rows("SELECT findings FROM results WHERE rules_digest = ?", (digest,)):
        for f in json.loads(blob or "[]"):
            rid = f.get("rule_id")
            if rid in wanted and rid not in out and f.get("title_zh"):
                out[rid] = str(f["title_zh"])
        if len(out) == len(wanted):
            break
    return out


def _script() -> str:
    return resources.files("apkscan.report").joinpath("templates", "batch.js").read_text("utf-8").strip()


def _csp(script: str) -> str:
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    return (
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
        f"script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'"
    )


def _html(value: object) -> str:
    """One ``{{ value }}`` of the dashboard template: the environment's ``finalize``, then
    autoescaping."""
    if type(value) is str:
        return str(escape(neutralise(value)))  # html_finalize's work on text
    if type(value) is int or type(value) is float:
        return str(value)  # digits, a sign, a point, "e", "inf", "nan": nothing to neutralise or escape
    return str(escape(html_finalize(value)))


def app_rows(apps: list[App], lang: str, verdict_names: dict[str, str]) -> Markup:
    """The rows of the dashboard's app table, as the template wrote them (every value
    through :func:`_html`), built here: as Jinja expressions they were half of the page's
    rendering time (17 values in each of hundreds of rows)."""
    report = _html(ui(lang)("report"))
    rows = []
    for a in apps:
        r, v = a.row, a.verdict
        badge = _html(Markup(f'<span class="vb v-{_html(v)}">{_html(verdict_names[v])}</span>'))
        counts = "".join(
            f'<td class="n{" s-" + s if r[s] else ""}">{_html(r[s] if r[s] is not None else "")}</td>'
            for s in SEVERITIES
        )
        cats = ", ".join(_html(category_name(c, lang)) for c in a.categories)
        if a.main[0]:
            cats += f'<div class="muted small">{_html(a.main[0])} {_html(_short(a.main[1], 80))}</div>'
        last = (f'<a href="{_html(a.report)}">{report}</a>' if a.report
                else f'<span class="muted data">{_html(batch_error_text(r["error"] or "", lang))}</span>')
        rows.append(
            f'  <tr data-verdict="{_html(v)}" data-search="{_html(a.search)}"><td data-sort="{_html(VRANK[v])}">'
            f'{badge}</td>\n{counts}  <td>{cats}</td><td class="mono">{_html(r["package"] or "")}</td>'
            f'<td class="data">{_html(r["label"] or "")}</td>\n  <td class="data">{_html(r["version_name"] or "")}</td>'
            f'<td class="mono" title="{_html(r["path"])}">{_html(Path(str(r["path"])).name)}</td>\n'
            f"  <td>{last}</td></tr>\n"
        )
    return Markup("".join(rows))


def graph_rows(graph: dict[str, Any], lang: str, verdict_names: dict[str, str]) -> dict[str, Markup]:
    """The cluster graph's SVG elements (``graph_edges``, ``graph_keys``, ``graph_apps``: one
    per line), as the template wrote them, built here for the reason of :func:`app_rows`."""
    _ = ui(lang)
    apps_word = _html(_("apps"))
    edges = "".join(
        f'<line class="edge" data-kind="{_html(e["kind"])}" data-app="{_html(e["app"])}" data-key="{_html(e["key"])}" '
        f'x1="{_html(e["x1"])}" y1="{_html(e["y1"])}" x2="{_html(e["x2"])}" y2="{_html(e["y2"])}"/>\n'
        for e in graph["edges"]
    )
    keys = []
    for k in graph["key_nodes"]:
        kind, full = _html(_(KIND_NAMES[k["kind"]])), _html(k["full"])
        keys.append(
            f'<g class="key" data-id="{_html(k["id"])}" data-kind="{_html(k["kind"])}" data-off="0" data-sel="0" '
            f'tabindex="0" role="button" aria-label="{kind}: {full}"><rect x="{_html(k["x"] - 6)}" '
            f'y="{_html(k["y"] - 6)}" width="12" height="12" rx="2"/><text class="data" x="{_html(k["x"] + 9)}" '
            f'y="{_html(k["y"] + 4)}">{_html(k["label"])}</text><title>{kind}: {full} ({_html(k["n"])} {apps_word})'
            "</title></g>\n"
        )
    nodes = []
    for a in graph["app_nodes"]:
        name = _html(a["name"])
        nodes.append(
            f'<g class="app" data-id="{_html(a["id"])}" data-verdict="{_html(a["verdict"])}" '
            f'data-keys="{_html(a["links"])}" data-search="{_html(a["search"])}" data-off="0" data-dim="0">'
            f'<circle cx="{_html(a["x"])}" cy="{_html(a["y"])}" r="{_html(a["r"])}"/><text class="data" '
            f'x="{_html(a["x"] + a["r"] + 3)}" y="{_html(a["y"] - a["r"])}">{name}</text><title>{name} · '
            f'{_html(a["package"])} · {_html(verdict_names[a["verdict"]])}</title></g>\n'
        )
    return {"graph_edges": Markup(edges), "graph_keys": Markup("".join(keys)), "graph_apps": Markup("".join(nodes))}


def render_index(store: Store, apps: list[App], lang: str = "en", layouts: Layouts | None = None,
                 families: list[dict[str, Any]] | None = None) -> str:
    """The batch dashboard (``index.html``) in ``lang`` (``zh`` or ``en``): verdict and
    category counts, the most frequent findings, SDK prevalence, the cluster graph and the
    app table. Self-contained, with the single-app report's strict Content-Security-Policy.
    ``layouts``: the graph's force layouts known from before (else read from the store);
    ``families``: :func:`apkscan.batch.families.summary` when the caller has it already."""
    from apkscan.report.html import _env

    env = _env()
    env.filters.setdefault("basename", lambda p: Path(str(p)).name)
    _ = ui(lang)
    extras = _search_extras(store, lang)
    wanted = {a.main[0] for a in apps if a.main[0]}
    titles_zh = _titles_zh(store, store.meta("rules_digest") or "", wanted) if lang == "zh" and wanted else {}
    for a in apps:
        a.verdict = _verdict(a)
        a.search = _search_text(a, extras.get(a.row["sha256"], ()))
        a.main = (a.main[0], titles_zh.get(a.main[0], a.main[1]))
    counts = Counter(a.verdict for a in apps)
    found = clusters(store, apps)
    script = _script()
    verdict_names = {v: (VERDICT_TEXT.get(v) or OTHER_VERDICTS[v])[1] if lang == "zh" else v for v in VERDICT_ORDER}
    graph = cluster_graph(found, layouts if layouts is not None else Layouts.of(store))
    return env.get_template("batch.html.j2").render(
        apps=apps,
        n_ok=sum(a.row["status"] == "ok" for a in apps),
        n_failed=sum(a.row["status"] != "ok" for a in apps),
        app_rows=app_rows(apps, lang, verdict_names),
        verdicts=[(v, counts[v]) for v in VERDICT_ORDER if counts[v]],
        verdict_names=verdict_names,
        vrank=VRANK,
        severities=SEVERITIES,
        sections=[("certificate", _("Shared signing certificates")), ("domain", _("Shared server domains")),
                  ("generator", _("Shared app-generator ids")), ("package", _("Shared package names"))],
        clusters=found,
        graph=graph,
        **graph_rows(graph, lang, verdict_names),
        families=family_summary(store) if families is None else families,
        family_threshold=SIMILARITY_THRESHOLD,
        link_kinds=LINK_KINDS,
        kind_names=KIND_NAMES,
        digest=store.meta("rules_digest") or "",
        generated=now(),
        lang=lang,
        _=_,
        sev_name=lambda s: severity_name(str(s), lang),
        cat_name=lambda c: category_name(str(c), lang),
        sdk_cat=lambda c: term(SDK_CATEGORY_ZH, str(c), lang),
        script=Markup(script),
        csp=Markup(_csp(script)),  # fixed words and a base64 hash: a server may copy it into a header
        **_dashboard_data(store, apps, lang),
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


_HEAD_KEYS = frozenset({"sha256", "package", "version_name", "path", "rules_digest"})
_DECODER = json.JSONDecoder()
_ENCODE = json.JSONEncoder(ensure_ascii=False).encode


def _finding_lines(head: str, text: str) -> list[str] | None:
    """The JSONL lines of one app's stored findings without encoding them again: ``head``
    (the app's fields, encoded, without the closing brace) followed by each finding's own
    text. The store writes the array with the encoder of the lines
    (``json.dumps(findings, ensure_ascii=False)``), so this is what encoding the merged
    object gives, in a third of the time. None when the text is not an array of non-empty
    objects without the app's field names, or holds a line break (not the encoder's text):
    then the caller decodes and encodes every finding."""
    if text == "[]":
        return []
    if not text.startswith("[{") or "\n" in text or "\r" in text:
        return None
    lines = []
    pos, end = 1, len(text) - 1
    while True:
        try:
            item, nxt = _DECODER.raw_decode(text, pos)
        except ValueError:
            return None
        if not isinstance(item, dict) or not item or _HEAD_KEYS & item.keys():
            return None
        lines.append(f"{head}, {text[pos + 1 : nxt]}\n")
        if nxt == end and text[end] == "]":
            return lines
        if not text.startswith(", {", nxt):
            return None
        pos = nxt + 2


_FIRST_KEY = '"rule_id": '
_FINDING_KEYS = [f.name for f in fields(Finding)]
_SPLIT_FAST = _FINDING_KEYS[:1] == ["rule_id"] and not _HEAD_KEYS & set(_FINDING_KEYS)
"""Findings are encoded with ``rule_id`` first and none of the app's field names."""


def _split_lines(head: str, text: str, count: int) -> str | None:
    """The JSONL lines of one app's stored findings (as :func:`_finding_lines` makes them)
    without decoding them: the array is cut where one finding ends and the next begins,
    ``}, {"rule_id": ``. Outside a string that is an item boundary (no nested object
    starts with ``rule_id``), and it cannot lie inside one: a string's own ``"`` is always
    escaped, so ``{"`` never occurs in it and no string is followed by ``rule_id``. None
    unless the cut gives exactly ``count`` findings (the app's rows in ``findings``) from
    the encoder's text (``[{"rule_id": … }]``, no line break): then decode."""
    if text == "[]" or count == 0:
        return "" if text == "[]" and count == 0 else None
    if not _SPLIT_FAST or not text.startswith("[{" + _FIRST_KEY) or not text.endswith("}]") or "\n" in text \
            or "\r" in text:
        return None
    parts = text[2 + len(_FIRST_KEY) : -2].split("}, {" + _FIRST_KEY)
    if len(parts) != count:
        return None
    first = f"{head}, {_FIRST_KEY}"
    return first + ("}\n" + first).join(parts) + "}\n"


def findings_jsonl(store: Store) -> str:
    digest = store.meta("rules_digest") or ""
    counts = dict(store.db.execute("SELECT sha256, COUNT(*) FROM findings WHERE rules_digest = ? GROUP BY sha256",
                                   (digest,)).fetchall())
    lines = []
    for r in store.db.execute(
        "SELECT a.sha256, a.package, a.version_name, a.path, r.findings FROM results r "
        "JOIN apks a ON a.sha256 = r.sha256 WHERE r.rules_digest = ? ORDER BY a.package, a.sha256", (digest,)
    ):
        item = {"sha256": r[0], "package": r[1], "version_name": r[2], "path": r[3], "rules_digest": digest}
        head = _ENCODE(item)[:-1]
        split = _split_lines(head, r[4] or "[]", counts.get(r[0], 0))
        if split is not None:
            lines.append(split)
            continue
        fast = _finding_lines(head, r[4] or "[]")
        if fast is not None:
            lines.extend(fast)
            continue
        for f in json.loads(r[4] or "[]"):
            item = {"sha256": r[0], "package": r[1], "version_name": r[2], "path": r[3], "rules_digest": digest}
            item.update(f)
            lines.append(json.dumps(item, ensure_ascii=False) + "\n")
    return "".join(lines)


def write_exports(store: Store, out: Path, lang: str = "en") -> list[str]:
    apps = load_apps(store, out)
    layouts = Layouts.of(store)
    families = family_summary(store)
    write_text_atomic(out / "index.html", render_index(store, apps, lang, layouts, families))
    if layouts.used != layouts.known:
        store.set_meta(LAYOUTS_META, json.dumps(layouts.used, sort_keys=True))
    write_text_atomic(out / "apps.csv", apps_csv(apps))
    write_text_atomic(out / "findings.jsonl", findings_jsonl(store))
    write_text_atomic(out / "families.json", json.dumps(families, ensure_ascii=False, indent=1) + "\n")
    return [str(out / n) for n in ("index.html", "apps.csv", "findings.jsonl", "families.json", "apkscan.db")]
