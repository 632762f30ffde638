"""The HTML report: one self-contained page a reviewer decides from.

``render(result) -> str``; it never opens a file. The page carries inline CSS, inline SVG
and one small inline script (filter/sort/tabs only: with JavaScript off everything is
shown). Every string read from an APK is hostile: the template autoescapes everything,
nothing from the APK is marked safe, and the script reads the DOM (``data-*`` attributes)
instead of embedding data. A Content-Security-Policy meta tag allows only the one inline
script (by hash), inline styles and ``data:`` images, so even an escaping bug cannot load
or run anything else.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
import sys
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import BytecodeCache, Environment, PackageLoader, StrictUndefined
from jinja2.bccache import Bucket
from markupsafe import Markup, escape

from apkscan.facts import ApkFacts, Component, Manifest
from apkscan.model import CATEGORIES, Evidence, Finding, ScanResult, SdkHit, Severity, Suppression
from apkscan.report import i18n
from apkscan.report.safe import html_finalize, neutralise
from apkscan.rules.data import cache_dir, read_cache, write_cache
from apkscan.rules.privacy import category_zh
from apkscan.sdk import UNIDENTIFIED_CATEGORY
from apkscan.verdict import TEXT as VERDICT_TEXT

SEVERITIES_DESC: tuple[Severity, ...] = tuple(sorted(Severity, reverse=True))
"""critical, high, medium, low, info."""

PACKER_CATEGORIES = frozenset({"packer", "app-generator", "hybrid-framework"})

VERDICTS: dict[str, tuple[str, str]] = VERDICT_TEXT

ICON_MAX_BYTES = 512 * 1024
URL_LIMIT = 5000
"""Rows of URLs shown; the JSON report has them all."""
INLINE_SITES = 4
"""Personal-data call sites shown without a <details> fold."""
OPEN_EVIDENCE = 12
"""Evidence tables up to this many rows start unfolded."""

EVIDENCE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("kind", "Kind"), ("value", "Value"), ("file", "File"), ("class_name", "Class"),
    ("method", "Method"), ("offset", "Offset"), ("sdk", "SDK"),
)

_CJK = re.compile(r"[\u4e00-\u9fff]")
_SMALI_METHOD = re.compile(r"^L([^;]+);->([^(]+)\((.*)\)(.+)$")
_BREAK_AFTER = re.compile(r"(?<=[./;$(,&?=])")


def breakable(value: object) -> Markup:
    """Escape ``value`` and allow line breaks after ``. / ; $ ( , & ? =`` (``<wbr>``), so long
    class names and URLs wrap at sensible places instead of one letter at a time.
    Every piece is escaped before it is joined: the result is as safe as autoescaping."""
    text = neutralise(str(value))
    if len(text) < 24:
        return escape(text)
    return Markup("<wbr>").join(escape(p) for p in _BREAK_AFTER.split(text))


class _TemplateCache(BytecodeCache):
    """Compiled templates in the per-user cache, verified as every cached artefact is
    (:func:`apkscan.rules.data.read_cache`): a process rendering its first report or
    dashboard (a batch parent re-evaluating after a rule change, a new worker) skips
    Jinja's parse and compile, about 0.2 s for the report page. The name carries the
    template's source checksum, the environment's compile options and the Jinja and Python
    versions; anything that does not load is compiled from the source."""

    def _path(self, bucket: Bucket) -> Path:
        env = bucket.environment
        options = (env.block_start_string, env.block_end_string, env.variable_start_string,
                   env.variable_end_string, env.comment_start_string, env.comment_end_string,
                   env.line_statement_prefix, env.line_comment_prefix, env.trim_blocks, env.lstrip_blocks,
                   env.keep_trailing_newline, env.newline_sequence, env.autoescape, env.finalize is not None,
                   env.optimized, sorted(env.extensions))
        key = f"{bucket.key}\0{bucket.checksum}\0{options!r}\0{jinja2.__version__}\0{sys.version}"
        return cache_dir() / "templates" / f"{hashlib.sha256(key.encode()).hexdigest()[:40]}.bin"

    def load_bytecode(self, bucket: Bucket) -> None:
        data = read_cache(self._path(bucket))
        if data is None:
            return
        try:
            bucket.bytecode_from_string(data)
        except Exception:  # unreadable: compiled again
            bucket.reset()

    def dump_bytecode(self, bucket: Bucket) -> None:
        data = bucket.bytecode_to_string()
        write_cache(self._path(bucket), lambda tmp: tmp.write_bytes(data))


@functools.cache
def _env() -> Environment:
    """One environment per process: Jinja compiles the template once, not per report."""
    env = Environment(
        loader=PackageLoader("apkscan.report", "templates"),
        bytecode_cache=_TemplateCache(),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=html_finalize,  # ESC, BEL, U+202E ... from the APK become '?'
    )
    env.filters["wbr"] = breakable
    return env


def _script() -> str:
    text = resources.files("apkscan.report").joinpath("templates", "report.js").read_text("utf-8")
    return text.strip()


def _csp(script: str) -> str:
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    return (
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
        f"script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'"
    )


# --- small formatting helpers ------------------------------------------------------------


def icon_data_uri(data: bytes | None) -> str | None:
    """A ``data:`` URI for a PNG/JPEG/WebP icon, or None when the bytes are anything else."""
    if not data or len(data) > ICON_MAX_BYTES:
        return None
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        mime = "image/png"
    elif data.startswith(b"\xff\xd8\xff"):
        mime = "image/jpeg"
    elif len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        mime = "image/webp"
    else:
        return None
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{n} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"  # pragma: no cover


def pretty_api(value: str) -> str:
    """``Landroid/telephony/TelephonyManager;->getDeviceId()Ljava/lang/String;`` ->
    ``android.telephony.TelephonyManager.getDeviceId()``; anything else unchanged."""
    m = _SMALI_METHOD.match(value)
    if not m:
        if value.startswith("L") and ";->" in value:
            cls, _, member = value[1:].partition(";->")
            return f"{cls.replace('/', '.')}.{member.split(':', 1)[0]}"
        return value
    return f"{m.group(1).replace('/', '.')}.{m.group(2)}()"


def short_permission(name: str) -> str:
    return name.removeprefix("android.permission.")


def _safe_url(url: str) -> str:
    """Reference URLs come from rules, but only http(s) links are emitted all the same."""
    return url if re.match(r"^https?://[^\s\"'<>]+$", url) else ""


def _tables() -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """(permission table, personal-data categories); empty when the data files are missing."""
    try:
        from apkscan.rules.data import permission_table, pi_table

        perms = permission_table()
        cats = pi_table().get("categories") or {}
        return perms, {str(k): dict(v or {}) for k, v in cats.items()}
    except Exception:  # a report must render even without the data tables
        return {}, {}


# --- view model -------------------------------------------------------------------------


@dataclass
class FindingView:
    index: int
    anchor: str
    finding: Finding
    sev: str
    rank: int
    references: list[dict[str, str]]
    evidence: list[dict[str, str]]
    columns: list[tuple[str, str]]
    """Evidence columns (key, heading) that hold a value in at least one row; kind, value
    and SDK always."""
    accepted: Suppression | None = None
    """The baseline entry or config suppression that accepts this finding."""
    baseline_state: str = ""
    """``new`` or ``unchanged`` when a baseline was compared."""
    title: str = ""
    description: str = ""
    remediation: str = ""
    """The finding's texts in the report's language."""


@dataclass
class Group:
    key: str
    title: str
    anchor: str
    url: str = ""
    items: list[FindingView] = field(default_factory=list)

    @property
    def top(self) -> int:
        return max((v.rank for v in self.items), default=-1)

    @property
    def counts(self) -> list[tuple[str, int]]:
        out: list[tuple[str, int]] = []
        for s in SEVERITIES_DESC:
            n = sum(1 for v in self.items if v.rank == int(s))
            if n:
                out.append((s.label, n))
        return out


def _sdk_names(sdks: Iterable[SdkHit]) -> dict[str, str]:
    return {s.id: s.name or s.id for s in sdks}


def _evidence_row(e: Evidence, sdk_names: dict[str, str], lang: str = "en") -> dict[str, str]:
    return {
        "kind": e.kind,
        "kind_label": i18n.term(i18n.EVIDENCE_KIND_ZH, e.kind, lang),
        "value": i18n.evidence_text(e.value, e.kind, lang) if e.kind != "rule" else e.value,
        "file": e.file,
        "class_name": e.class_name,
        "method": e.method,
        "offset": "" if e.offset is None else f"0x{e.offset:x}",
        "sdk": sdk_names.get(e.sdk, e.sdk) if e.sdk else "",
        "sdk_id": e.sdk,
        "detail": i18n.evidence_text(e.detail, e.kind, lang),
    }


def _finding_views(result: ScanResult, lang: str = "en") -> list[FindingView]:
    names = _sdk_names(result.sdks)
    _ = i18n.ui(lang)
    anchors: dict[str, str] = {}
    for i, f in enumerate(result.findings):
        anchors.setdefault(f.rule_id, f"f{i + 1}")
    out = []
    for i, f in enumerate(result.findings):
        # a reference's own description is shown in a Chinese page only when it is Chinese
        refs = [
            {
                "id": r.id,
                "name": i18n.reference_name(r.id, lang),
                "title": r.title if lang != "zh" or _CJK.search(r.title) else "",
                "url": _safe_url(r.url),
            }
            for r in f.references
        ]
        rows = [_evidence_row(e, names, lang) for e in f.evidence]
        for row in rows:
            row["link"] = anchors.get(row["value"], "") if row["kind"] == "rule" else ""
        columns = [(k, _(h)) for k, h in EVIDENCE_COLUMNS
                   if k in ("kind", "value", "sdk") or any(row[k] for row in rows)]
        title, description, remediation = f.text(lang)
        out.append(
            FindingView(
                index=i,
                anchor=f"f{i + 1}",
                finding=f,
                sev=f.severity.label,
                rank=int(f.severity),
                references=refs,
                evidence=rows,
                columns=columns,
                accepted=result.acceptance.of(f.fingerprint),
                baseline_state=_baseline_state(result, f),
                title=title,
                description=description,
                remediation=remediation,
            )
        )
    return out


def _baseline_state(result: ScanResult, f: Finding) -> str:
    a = result.acceptance
    if not a.baseline:
        return ""
    s = a.of(f.fingerprint)
    return "unchanged" if s is not None and s.kind == "baseline" else "new"


def _sort_views(views: list[FindingView]) -> list[FindingView]:
    return sorted(views, key=lambda v: (-v.rank, v.finding.category, v.finding.rule_id, v.index))


def _by_category(views: list[FindingView], lang: str = "en") -> list[Group]:
    groups: dict[str, Group] = {}
    for v in _sort_views(views):
        cat = v.finding.category
        if cat not in groups:
            groups[cat] = Group(key=cat, title=i18n.category_name(cat, lang), anchor=f"cat-{len(groups) + 1}")
        groups[cat].items.append(v)
    order = {c: i for i, c in enumerate(CATEGORIES)}
    return sorted(groups.values(), key=lambda g: (-g.top, order.get(g.key, len(order)), g.key))


def _by_reference(views: list[FindingView], lang: str = "en") -> list[Group]:
    groups: dict[str, Group] = {}
    none = Group(key="", title=i18n.ui(lang)("(no reference)"), anchor="ref-none")
    for v in _sort_views(views):
        if not v.references:
            none.items.append(v)
        seen: set[str] = set()
        for r in v.references:
            if r["id"] in seen:
                continue
            seen.add(r["id"])
            g = groups.get(r["id"])
            if g is None:
                g = Group(key=r["id"], title=r.get("name") or r["id"], anchor=f"ref-{len(groups) + 1}")
                groups[r["id"]] = g
            if r["url"] and not g.url:
                g.url = r["url"]
            g.items.append(v)
    out = sorted(groups.values(), key=lambda g: (-g.top, -len(g.items), g.key))
    if none.items:
        out.append(none)
    return out


def _category_chart(views: list[FindingView], lang: str = "en") -> dict[str, Any]:
    """Stacked horizontal bars per category, segments coloured by severity (SVG numbers only)."""
    per: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for v in views:
        per[v.finding.category][v.sev] += 1
    order = {c: i for i, c in enumerate(CATEGORIES)}
    cats = sorted(per, key=lambda c: (-sum(per[c].values()), order.get(c, 99), c))
    biggest = max((sum(per[c].values()) for c in cats), default=1)
    label_w, bar_w, row_h = 112, 200, 22
    rows = []
    for i, c in enumerate(cats):
        x = float(label_w)
        segs = []
        for s in SEVERITIES_DESC:
            n = per[c].get(s.label, 0)
            if not n:
                continue
            w = bar_w * n / biggest
            segs.append({"x": round(x, 1), "w": round(w, 1), "sev": s.label, "n": n})
            x += w
        rows.append({"y": i * row_h, "label": i18n.category_name(c, lang), "total": sum(per[c].values()), "segs": segs,
                     "end": round(x + 6, 1)})
    return {"rows": rows, "width": label_w + bar_w + 40, "height": max(len(rows) * row_h, row_h),
            "row_h": row_h, "label_w": label_w}


def _labels(m: Manifest) -> tuple[str, list[tuple[str, str]]]:
    main = m.label
    others: list[tuple[str, str]] = []
    seen = {main}
    for loc, value in m.labels:
        if value not in seen:
            seen.add(value)
            others.append((loc or "default", value))
    return main, others


def _sdk_reaches(result: ScanResult) -> dict[str, list[str]]:
    """SDK id -> the personal-data categories its own code reaches (by call-site
    attribution): what the SDK table shows for an unidentified SDK, which no vendor
    documents."""
    out: dict[str, set[str]] = defaultdict(set)
    for d in result.data_access:
        for e in d.sites:
            if e.sdk:
                out[e.sdk].add(d.category)
    return {k: sorted(v) for k, v in out.items()}


def _data_access(result: ScanResult, pi_cats: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    names = _sdk_names(result.sdks)
    out = []
    for d in result.data_access:
        meta = pi_cats.get(d.category, {})
        sites = []
        for e in d.sites:
            caller = ".".join(p for p in (e.class_name, e.method) if p)
            sites.append({
                "api": pretty_api(e.value),
                "api_full": e.value,
                "kind": e.kind,
                "caller": caller,
                "file": e.file,
                "sdk": names.get(e.sdk, e.sdk) if e.sdk else "",
            })
        attributed = sorted({s["sdk"] for s in sites if s["sdk"]})
        in_app = any(not s["sdk"] for s in sites)
        out.append({
            "category": d.category,
            "name": str(meta.get("name") or d.category),
            "name_zh": str(meta.get("name_zh") or ""),
            "permission": d.permission,
            "requested": d.permission_requested,
            "sites": sites,
            "attributed": attributed,
            "in_app": in_app,
            "fold": len(sites) > INLINE_SITES,
        })
    return out


_PROTECTION_RANK = {"special": 0, "dangerous": 1, "privileged": 2, "signature": 3, "normal": 4}


def _permissions(
    result: ScanResult, table: dict[str, dict[str, Any]], pi_cats: dict[str, dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    used = {d.category for d in result.data_access}
    rows: list[dict[str, Any]] = []
    for p in result.facts.manifest.permissions:
        meta = table.get(p.name, {})
        prot = str(meta.get("protection") or meta.get("level") or "")
        cat = str(meta.get("category") or "")
        rows.append({
            "name": p.name,
            "short": short_permission(p.name),
            "name_zh": str(meta.get("name_zh") or ""),
            "protection": prot or ("custom" if not p.name.startswith("android.") else "unknown"),
            "marked": prot in ("dangerous", "special"),
            "category": cat,
            "category_name": str((pi_cats or {}).get(cat, {}).get("name_zh") or cat),
            "used": (cat in used) if cat else None,
            "max_sdk": "" if p.max_sdk is None else str(p.max_sdk),
            "sdk23": p.sdk23,
            "note": str(meta.get("note") or ""),
        })
    rows.sort(key=lambda r: (_PROTECTION_RANK.get(r["protection"], 5), r["name"]))
    return rows


def _component(c: Component, launcher: str | None) -> dict[str, Any]:
    actions: list[str] = []
    schemes: list[str] = []
    for f in c.intent_filters:
        actions.extend(a for a in f.actions if a not in actions)
        for scheme in f.schemes:
            schemes.extend(f"{scheme}://{h}" if h else f"{scheme}:" for h in (f.hosts or ("",)))
    return {
        "kind": c.kind,
        "name": c.name,
        "permission": c.permission or "",
        "explicit": c.exported_explicit,
        "enabled": c.enabled,
        "actions": actions,
        "schemes": schemes,
        "priority": max((f.priority for f in c.intent_filters), default=0),
        "authorities": list(c.authorities),
        "launcher": launcher is not None and c.name == launcher,
    }


def _archive(result: ScanResult) -> dict[str, Any]:
    facts: ApkFacts = result.facts
    a = facts.archive
    libs: dict[str, list[Any]] = defaultdict(list)
    for lib in a.native_libs:
        libs[lib.abi or "(none)"].append(lib)
    return {
        "entries": len(a.entries),
        "assets": len(a.assets),
        "dex": [
            {"path": d.path, "classes": len(d.classes), "methods": len(d.methods),
             "strings": len(d.strings)}
            for d in facts.dex
        ],
        "libs": sorted(libs.items()),
        "nested": list(a.nested),
        "mismatched": list(a.mismatched),
        "tampering": list(a.tampering),
        "packers": [s for s in result.sdks if s.category in PACKER_CATEGORIES],
        "yara": list(facts.yara),
    }


def context(result: ScanResult, lang: str = "en") -> dict[str, Any]:
    """Everything the template needs (all plain values; the template escapes them), with
    the page's own words and the rule texts in ``lang`` (``zh`` or ``en``)."""
    facts = result.facts
    m = facts.manifest
    perms, pi_cats = _tables()
    views = _finding_views(result, lang)
    label, other_labels = _labels(m)
    counts = result.counts()
    categories_present = sorted({v.finding.category for v in views},
                                key=lambda c: (CATEGORIES.index(c) if c in CATEGORIES else 99, c))
    verdict = result.verdict if result.verdict in VERDICTS else ""
    return {
        "r": result,
        "facts": facts,
        "m": m,
        "label": label,
        "other_labels": other_labels,
        "icon": icon_data_uri(facts.icon_png),
        "size_h": human_size(facts.size),
        "verdict": verdict,
        "verdict_text": VERDICTS.get(verdict, ("NO VERDICT", "未评定")),
        "verdict_main": VERDICTS.get(verdict, ("NO VERDICT", "未评定"))[1 if lang == "zh" else 0],
        "severities": [s.label for s in SEVERITIES_DESC],
        "counts": counts,
        "total": len(views),
        "chart": _category_chart(views, lang),
        "categories_present": categories_present,
        "by_category": _by_category(views, lang),
        "by_reference": _by_reference(views, lang),
        "sdks": result.sdks,
        "sdk_reaches": _sdk_reaches(result),
        "unidentified_category": UNIDENTIFIED_CATEGORY,
        "data_access": _data_access(result, pi_cats),
        "permissions": _permissions(result, perms, pi_cats),
        "exported": [_component(c, m.launcher) for c in m.components if c.exported],
        "components_total": len(m.components),
        "app_flags": list(m.app_flags),
        "signing": facts.signing,
        "urls": list(facts.strings.urls[:URL_LIMIT]),
        "urls_total": len(facts.strings.urls),
        "archive": _archive(result),
        "timings": sorted(result.timings.items()),
        "short_permission": short_permission,
        "open_evidence": OPEN_EVIDENCE,
        "acceptance": result.acceptance,
        "accepted_count": sum(1 for v in views if v.accepted is not None),
    }


def _lang_context(lang: str) -> dict[str, Any]:
    """The template's language helpers: ``_("text")``, severity and category names, term tables."""
    return {
        "lang": lang,
        "_": i18n.ui(lang),
        "sev_name": lambda s: i18n.severity_name(str(s), lang),
        "cat_name": lambda c: i18n.category_name(str(c), lang),
        "term": lambda table, key: i18n.term(table, str(key), lang),
        "confidence_names": i18n.CONFIDENCE_ZH,
        "source_names": i18n.SOURCE_ZH,
        "protection_names": i18n.PROTECTION_ZH,
        "sdk_category_names": i18n.SDK_CATEGORY_ZH,
        "data_name": lambda tag: category_zh(str(tag)) if lang == "zh" else str(tag),
        "sdk_match": lambda text: i18n.sdk_match_text(str(text), lang),
    }




def render(result: ScanResult, lang: str = "en") -> str:
    """The page in ``lang`` (``en``: English with Chinese headings; ``zh``: Chinese only,
    except rule ids, API names, identifiers and quoted evidence)."""
    script = _script()
    env = _env()
    template = env.get_template("report.html.j2")
    # The script is our own static file (no APK data); it and the policy (fixed words and the
    # script's base64 hash) are the only Markup on the page. The policy is written unescaped
    # so that a server can copy it from the meta tag into a header as it is.
    return template.render(
        **context(result, lang), **_lang_context(lang), script=Markup(script), csp=Markup(_csp(script))
    )


__all__ = ["context", "icon_data_uri", "pretty_api", "render"]
