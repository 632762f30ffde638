"""The closed vocabulary of YAML rule predicates.

Each predicate is compiled once when the rule set loads (so that a wrong value is an error
before any APK is read) into a function ``Context -> list[Evidence] | None``: ``None`` means
false, a list (possibly empty) means true with that evidence.
"""

from __future__ import annotations

import fnmatch
import functools
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import re2

from apkscan.extract.dex import pairs_where
from apkscan.globs import glob_filter
from apkscan.model import Evidence
from apkscan.rules.context import SEP_BYTE, Context, api_prefix, full_permission, normalise, split_ref

Pred = Callable[[Context], "list[Evidence] | None"]
MAX_EVIDENCE = 50
TEXT_PLACES = ("dex", "resources", "assets", "label")


class PredicateError(ValueError):
    """A predicate's value is wrong; the loader adds file, line and rule id."""


@dataclass
class CompileEnv:
    keyword_sets: dict[str, list[str]]
    referenced_rules: set[str] = field(default_factory=set)
    watched_apis: set[str] = field(default_factory=set)
    keyword_forms: set[str] = field(default_factory=set)
    blob_patterns: list[bytes] = field(default_factory=list)
    """Every regex predicate's blob pattern; one RE2 set pass tells which can match."""
    app_code_only: bool = False
    """Set while compiling a rule of an illegal-app category (fraud, gambling, malware):
    code and string evidence that lives only in a known third-party SDK's classes does not
    count, so an SDK's own vocabulary or API use never makes the app look fraudulent."""

    def blob_slot(self, pattern: bytes) -> int:
        if pattern not in self.blob_patterns:
            self.blob_patterns.append(pattern)
        return self.blob_patterns.index(pattern)


Compiler = Callable[[Any, CompileEnv], Pred]
REGISTRY: dict[str, Compiler] = {}


def predicate(name: str) -> Callable[[Compiler], Compiler]:
    def deco(fn: Compiler) -> Compiler:
        REGISTRY[name] = fn
        return fn

    return deco


def compile_pred(node: Any, env: CompileEnv) -> Pred:
    if not isinstance(node, dict) or len(node) != 1:
        raise PredicateError(f"a predicate is a mapping with exactly one key (one of: {', '.join(sorted(REGISTRY))})")
    ((name, value),) = node.items()
    fn = REGISTRY.get(str(name))
    if fn is None:
        raise PredicateError(f"unknown predicate {name!r} (known: {', '.join(sorted(REGISTRY))})")
    try:
        return fn(value, env)
    except PredicateError as exc:
        raise PredicateError(f"{name}: {exc}") from None


# -- helpers --------------------------------------------------------------------------
def _strings(value: Any, what: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return list(value)
    raise PredicateError(f"{what} must be a string or a non-empty list of strings")


def _mapping(value: Any, allowed: set[str], required: set[str] = frozenset()) -> dict[str, Any]:  # type: ignore[assignment]
    if not isinstance(value, dict):
        raise PredicateError(f"expected a mapping with keys {', '.join(sorted(allowed))}")
    unknown = set(value) - allowed
    if unknown:
        raise PredicateError(f"unknown key {sorted(unknown)[0]!r} (allowed: {', '.join(sorted(allowed))})")
    missing = required - set(value)
    if missing:
        raise PredicateError(f"missing key {sorted(missing)[0]!r}")
    return value


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise PredicateError(f"{what} must be an integer")
    return value


def _bool(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise PredicateError(f"{what} must be true or false")
    return value


def _re2_quiet() -> Any:
    """RE2 options that keep RE2's own log lines off stderr (the error is raised anyway)."""
    options = re2.Options()
    options.log_errors = False
    return options


def _regex(pattern: Any) -> Any:
    if not isinstance(pattern, str):
        raise PredicateError("pattern must be a string")
    try:
        # RE2 runs in linear time: a hostile string cannot make a rule hang.
        return re2.compile(pattern, _re2_quiet())
    except Exception as exc:
        raise PredicateError(f"bad pattern {pattern!r}: {exc} (RE2 syntax: no backreferences or lookaround)") from None


def _blob_pattern(pattern: str) -> str:
    """The pattern for a NUL-joined blob: ``^`` and ``$`` outside character classes also
    match at the NUL separators between strings."""
    out: list[str] = []
    i, in_class = 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
            if pattern.startswith("[^]", i) or pattern.startswith("[]", i):
                out.append(pattern[i : i + (3 if pattern[i + 1] == "^" else 2)])
                i += 3 if pattern[i + 1] == "^" else 2
                continue
        elif c == "^":
            c = "(?:^|\\x00)"
        elif c == "$":
            c = "(?:$|\\x00)"
        out.append(c)
        i += 1
    return "".join(out)


def _snippet(text: str, form: str, width: int = 80) -> str:
    """The text around the first occurrence of a (normalised) keyword form."""
    if len(text) <= 2 * width:
        return text
    pos = normalise(text).find(form)
    if pos < 0:
        return text[: 2 * width]
    start = max(pos - width, 0)
    return ("…" if start else "") + text[start : pos + len(form) + width] + "…"


MARKUP_SUFFIXES = (".html", ".htm", ".xml", ".vue", ".xhtml")
_TAG = re2.compile(r"<[^<>]{0,300}>")  # linear time on app data, as every pattern here


def _around(file: str, text: str, form: str) -> str:
    """:func:`_snippet`, with the tags of an HTML or XML asset taken out (a reviewer reads
    ``如何提现？ 1. 登陆账户``, not ``<font color="red">如何提现？</font><br>?``)."""
    if not file.lower().endswith(MARKUP_SUFFIXES) or "<" not in text:
        return _snippet(text, form)
    window = _snippet(text, form, 400).strip("…")
    plain = " ".join(_TAG.sub(" ", window).split())
    return _snippet(plain, form) if normalise(plain).find(form) >= 0 else _snippet(text, form)


def _cap(ev: list[Evidence]) -> list[Evidence]:
    return ev[:MAX_EVIDENCE]


# -- combinators ----------------------------------------------------------------------
@predicate("all")
def _all(value: Any, env: CompileEnv) -> Pred:
    if not isinstance(value, list) or not value:
        raise PredicateError("expects a non-empty list of predicates")
    parts = [compile_pred(v, env) for v in value]

    def run(ctx: Context) -> list[Evidence] | None:
        ev: list[Evidence] = []
        for p in parts:
            got = p(ctx)
            if got is None:
                return None
            ev.extend(got)
        return _cap(ev)

    return run


@predicate("any")
def _any(value: Any, env: CompileEnv) -> Pred:
    if not isinstance(value, list) or not value:
        raise PredicateError("expects a non-empty list of predicates")
    parts = [compile_pred(v, env) for v in value]

    def run(ctx: Context) -> list[Evidence] | None:
        ev: list[Evidence] = []
        hit = False
        for p in parts:
            got = p(ctx)
            if got is not None:
                hit = True
                ev.extend(got)
        return _cap(ev) if hit else None

    return run


@predicate("not")
def _not(value: Any, env: CompileEnv) -> Pred:
    inner = compile_pred(value, env)
    return lambda ctx: [] if inner(ctx) is None else None


@predicate("at_least")
def _at_least(value: Any, env: CompileEnv) -> Pred:
    v = _mapping(value, {"n", "of"}, {"n", "of"})
    n = _int(v["n"], "n")
    if not isinstance(v["of"], list) or len(v["of"]) < n or n < 1:
        raise PredicateError("'of' must be a list with at least n predicates, n >= 1")
    parts = [compile_pred(p, env) for p in v["of"]]

    def run(ctx: Context) -> list[Evidence] | None:
        ev: list[Evidence] = []
        count = 0
        for p in parts:
            got = p(ctx)
            if got is not None:
                count += 1
                ev.extend(got)
        return _cap(ev) if count >= n else None

    return run


@predicate("rule")
def _rule(value: Any, env: CompileEnv) -> Pred:
    ids = _strings(value, "rule")
    env.referenced_rules.update(ids)

    def run(ctx: Context) -> list[Evidence] | None:
        hits = [i for i in ids if ctx.rule_hits.get(i)]
        return [Evidence("rule", i) for i in hits] if hits else None

    return run


# -- manifest ---------------------------------------------------------------------------
@predicate("permission")
def _permission(value: Any, env: CompileEnv) -> Pred:
    names = [full_permission(n) for n in _strings(value, "permission")]

    def run(ctx: Context) -> list[Evidence] | None:
        hits = [n for n in names if n in ctx.permissions]
        return [Evidence("permission", n, file="AndroidManifest.xml") for n in hits] or None

    return run


@predicate("permission_count")
def _permission_count(value: Any, env: CompileEnv) -> Pred:
    from apkscan.rules.data import permission_table

    v = _mapping(value, {"group", "min"}, {"min"})
    group = v.get("group", "dangerous")
    if group not in ("dangerous", "special", "all", "dangerous+special"):
        raise PredicateError("group must be dangerous, special, dangerous+special or all")
    n = _int(v["min"], "min")

    def run(ctx: Context) -> list[Evidence] | None:
        table = permission_table()
        hits = []
        for p in sorted(ctx.permissions):
            level = table.get(p, {}).get("protection", "")
            if group == "all" or level == group or (group == "dangerous+special" and level in ("dangerous", "special")):
                hits.append(p)
        if len(hits) < n:
            return None
        return [Evidence("permission", p, file="AndroidManifest.xml", detail=f"{len(hits)} {group}") for p in hits]

    return run


@predicate("package")
def _package(value: Any, env: CompileEnv) -> Pred:
    globs = _strings(value, "package")

    def run(ctx: Context) -> list[Evidence] | None:
        pkg = ctx.facts.manifest.package
        if any(fnmatch.fnmatchcase(pkg, g) for g in globs):
            return [Evidence("manifest", f"package {pkg}", file="AndroidManifest.xml")]
        return None

    return run


@predicate("label")
def _label(value: Any, env: CompileEnv) -> Pred:
    v = _mapping(value, {"pattern"}, {"pattern"})
    rx = _regex(v["pattern"])

    def run(ctx: Context) -> list[Evidence] | None:
        ev = [
            Evidence("manifest", f"label {label!r}" + (f" ({loc})" if loc else ""), file="AndroidManifest.xml")
            for loc, label in ctx.facts.manifest.labels
            if rx.search(label)
        ]
        return ev or None

    return run


@predicate("defines_permission")
def _defines_permission(value: Any, env: CompileEnv) -> Pred:
    globs = _strings(value, "defines_permission")

    def run(ctx: Context) -> list[Evidence] | None:
        hits = [
            p.name for p in ctx.facts.manifest.defined_permissions if any(fnmatch.fnmatchcase(p.name, g) for g in globs)
        ]
        return [Evidence("manifest", f"<permission {h}>", file="AndroidManifest.xml") for h in hits] or None

    return run


@predicate("manifest")
def _manifest(value: Any, env: CompileEnv) -> Pred:
    v = _mapping(value, {"flag", "equals", "present"}, {"flag"})
    flag = str(v["flag"])
    equals = v.get("equals")
    if equals is not None:
        equals = str(equals).lower()
    present = v.get("present")
    if present is not None:
        present = _bool(present, "present")

    def run(ctx: Context) -> list[Evidence] | None:
        got = ctx.app_flags.get(flag)
        ok = True
        if present is not None:
            ok = (got is not None) == present
        if equals is not None:
            ok = ok and got is not None and got.lower() == equals
        if not ok:
            return None
        shown = f"android:{flag}={got}" if got is not None else f"android:{flag} not set"
        return [Evidence("manifest", shown, file="AndroidManifest.xml")]

    return run


_CMP = {
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "eq": lambda a, b: a == b,
}


@predicate("sdk_level")
def _sdk_level(value: Any, env: CompileEnv) -> Pred:
    v = _mapping(value, {"min_sdk", "target_sdk"})
    checks: list[tuple[str, str, int]] = []
    for key, cond in v.items():
        c = _mapping(cond, set(_CMP))
        for op, num in c.items():
            checks.append((key, op, _int(num, f"{key}.{op}")))
    if not checks:
        raise PredicateError("give min_sdk or target_sdk with a comparison")

    def run(ctx: Context) -> list[Evidence] | None:
        m = ctx.facts.manifest
        ev = []
        for key, op, num in checks:
            actual = m.min_sdk if key == "min_sdk" else (m.target_sdk or m.min_sdk)
            if actual is None or not _CMP[op](actual, num):
                return None
            ev.append(Evidence("manifest", f"{key}={actual}", file="AndroidManifest.xml"))
        return ev

    return run


@predicate("component")
def _component(value: Any, env: CompileEnv) -> Pred:
    allowed = {
        "type",
        "name",
        "exported",
        "unprotected",
        "permission",
        "action",
        "min_priority",
        "scheme",
        "host",
        "category",
    }
    v = _mapping(value, allowed)
    types = _strings(v["type"], "type") if "type" in v else None
    name = str(v["name"]) if "name" in v else None
    exported = _bool(v["exported"], "exported") if "exported" in v else None
    unprotected = _bool(v["unprotected"], "unprotected") if "unprotected" in v else None
    permission = full_permission(str(v["permission"])) if "permission" in v else None
    actions = _strings(v["action"], "action") if "action" in v else None
    categories = _strings(v["category"], "category") if "category" in v else None
    min_priority = _int(v["min_priority"], "min_priority") if "min_priority" in v else None
    schemes = _strings(v["scheme"], "scheme") if "scheme" in v else None
    hosts = _strings(v["host"], "host") if "host" in v else None

    def run(ctx: Context) -> list[Evidence] | None:
        ev = []
        for c in ctx.facts.manifest.components:
            if types and c.kind not in types:
                continue
            if name and not fnmatch.fnmatchcase(c.name, name):
                continue
            if exported is not None and c.exported != exported:
                continue
            if unprotected is not None and (c.exported and not c.permission) != unprotected:
                continue
            if permission and c.permission != permission:
                continue
            filters = c.intent_filters
            if actions or min_priority is not None or schemes or hosts or categories:

                def ok(f: Any) -> bool:
                    return (
                        (not actions or any(a in f.actions for a in actions))
                        and (not categories or any(a in f.categories for a in categories))
                        and (min_priority is None or f.priority >= min_priority)
                        and (not schemes or any(s in f.schemes for s in schemes))
                        and (not hosts or any(fnmatch.fnmatchcase(h, p) for h in f.hosts for p in hosts))
                    )

                if not any(ok(f) for f in filters):
                    continue
            detail = f"exported={str(c.exported).lower()}"
            if c.permission:
                detail += f", permission={c.permission}"
            prios = [f.priority for f in filters if f.priority]
            if prios:
                detail += f", priority={max(prios)}"
            ev.append(
                Evidence(
                    "component", f"{c.kind} {c.name}", file="AndroidManifest.xml", class_name=c.name, detail=detail
                )
            )
        return _cap(ev) or None

    return run


@predicate("meta_data")
def _meta_data(value: Any, env: CompileEnv) -> Pred:
    v = _mapping(value, {"name", "value"}, {"name"})
    name = str(v["name"])
    rx = _regex(v["value"]) if "value" in v else None

    def run(ctx: Context) -> list[Evidence] | None:
        ev = [
            Evidence("manifest", f"<meta-data {k}={val}>", file="AndroidManifest.xml")
            for k, val in ctx.facts.manifest.meta_data
            if fnmatch.fnmatchcase(k, name) and (rx is None or rx.search(val))
        ]
        return ev or None

    return run


@predicate("queries")
def _queries(value: Any, env: CompileEnv) -> Pred:
    globs = _strings(value, "queries")

    def run(ctx: Context) -> list[Evidence] | None:
        ev = [
            Evidence("manifest", f"<queries> {q}", file="AndroidManifest.xml")
            for q in ctx.facts.manifest.queries
            if any(fnmatch.fnmatchcase(q, g) for g in globs)
        ]
        return ev or None

    return run


# -- SDKs and code ----------------------------------------------------------------------
@predicate("sdk")
def _sdk(value: Any, env: CompileEnv) -> Pred:
    v = _mapping(value, {"id", "category", "tracker", "country"})
    if not v:
        raise PredicateError("give id, category, tracker or country")
    ids = set(_strings(v["id"], "id")) if "id" in v else None
    cats = set(_strings(v["category"], "category")) if "category" in v else None
    tracker = _bool(v["tracker"], "tracker") if "tracker" in v else None
    country = set(_strings(v["country"], "country")) if "country" in v else None

    def run(ctx: Context) -> list[Evidence] | None:
        ev = [
            Evidence("sdk", f"{s.name} ({s.vendor})", sdk=s.id, detail="; ".join(s.matched))
            for s in ctx.sdks.values()
            if (ids is None or s.id in ids)
            and (cats is None or s.category in cats)
            and (tracker is None or s.tracker == tracker)
            and (country is None or s.country in country)
        ]
        return ev or None

    return run


@predicate("class_prefix")
def _class_prefix(value: Any, env: CompileEnv) -> Pred:
    prefixes = tuple(_strings(value, "class_prefix"))

    def run(ctx: Context) -> list[Evidence] | None:
        import bisect

        ev = []
        classes = ctx.sorted_classes
        for p in prefixes:
            i = bisect.bisect_left(classes, p)
            if i < len(classes) and classes[i].startswith(p):
                c = classes[i]
                ev.append(Evidence("class", c, file=ctx.classes[c], class_name=c, detail=f"prefix {p}"))
        return ev or None

    return run


def _api_list(value: Any) -> tuple[str, ...]:
    apis = _strings(value, "api")
    for a in apis:
        if not a.startswith("L") or ";" not in a:
            raise PredicateError(f"{a!r} is not a smali method (Lpkg/Cls;->name)")
    return tuple(api_prefix(a) for a in apis)


@predicate("api")
def _api(value: Any, env: CompileEnv) -> Pred:
    prefixes = _api_list(value)
    env.watched_apis.update(prefixes)
    app_only = env.app_code_only

    def run(ctx: Context) -> list[Evidence] | None:
        # Each call site names its class, method and SDK; a method only referenced (no
        # call edge the reader saw) is still evidence, by its dex alone.
        ev: list[Evidence] = []
        called: set[str] = set()
        for callee, caller, dex in ctx.calls_to(prefixes):
            called.add(callee)
            e = ctx.site_evidence(callee, caller, dex)
            if ctx.excluded(e.sdk, app_only):
                continue  # AndroidX wrappers show a capability, not a use
            ev.append(e)
        ev += _uncalled(ctx, ctx.refs_matching(prefixes), called, app_only, overloads=True)
        return _cap(ev) or None

    return run


def _uncalled(
    ctx: Context, refs: Iterable[tuple[str, str]], called: set[str], app_only: bool, overloads: bool = False
) -> list[Evidence]:
    """``api-ref`` evidence of the (method ref, dex) that are not in ``called``
    (:meth:`Context.ref_evidence`). A method the APK defines is left out when its class is
    code the rule does not count, and with ``overloads`` when another overload of it was
    called: a bundled library declares every overload, and the call already shows the use."""
    called_names = {c.split("(", 1)[0] for c in called} if overloads else set()
    out: list[Evidence] = []
    for m, d in refs:
        if m in called:
            continue
        e = ctx.ref_evidence(m, d)
        if e.class_name and (ctx.excluded(e.sdk, app_only) or m.split("(", 1)[0] in called_names):
            continue
        out.append(e)
    return out


@predicate("field")
def _field(value: Any, env: CompileEnv) -> Pred:
    prefixes = tuple(_strings(value, "field"))
    app_only = env.app_code_only

    def run(ctx: Context) -> list[Evidence] | None:
        hits = [e for p in prefixes for e in ctx.field_hits(p)]
        ev = [e for e in hits if e.kind == "field-ref" or not ctx.excluded(e.sdk, app_only)]
        return _cap(ev) or None

    return run


@predicate("api_call")
def _api_call(value: Any, env: CompileEnv) -> Pred:
    v = _mapping(value, {"api", "from_sdk", "outside_sdk", "from_app"}, {"api"})
    prefixes = _api_list(v["api"])
    env.watched_apis.update(prefixes)
    from_sdk = v.get("from_sdk")
    outside = v.get("outside_sdk")
    from_app = _bool(v["from_app"], "from_app") if "from_app" in v else None
    from_ids = None if from_sdk in (None, "any") else set(_strings(from_sdk, "from_sdk"))
    out_ids = None if outside in (None, "any") else set(_strings(outside, "outside_sdk"))
    app_only = env.app_code_only and from_sdk is None
    env_app_only = env.app_code_only

    def run(ctx: Context) -> list[Evidence] | None:
        ev = []
        for callee, caller, dex in ctx.calls_to(prefixes):
            e = ctx.site_evidence(callee, caller, dex)
            if e.sdk in ctx.platform_sdks:  # AndroidX wrappers: a capability, not a third party's use
                continue
            if app_only and ctx.is_known_sdk(e.sdk):
                continue
            if from_sdk is not None and (not e.sdk or (from_ids is not None and e.sdk not in from_ids)):
                continue
            if outside is not None and e.sdk and (out_ids is None or e.sdk in out_ids):
                continue
            # For the illegal-app categories an unidentified package tree is the app's own code
            # (a trojan's payload rarely sits under the manifest package); elsewhere it is a
            # third party's, as the personal-data rules need.
            own = not ctx.is_known_sdk(e.sdk) if env_app_only else e.sdk == ""
            if from_app is not None and own != from_app:
                continue
            ev.append(e)
        return _cap(ev) or None

    return run


@predicate("same_class")
def _same_class(value: Any, env: CompileEnv) -> Pred:
    """``[[api, ...], [api, ...], ...]``: one class of the app's own code (or of an
    unidentified package tree; nested classes count as their outer class) calls an API of
    every group. The steps of one behaviour in one place (walk the files, encrypt them,
    delete the originals) say more than the same APIs scattered over unrelated code."""
    if not isinstance(value, list) or len(value) < 2:
        raise PredicateError("same_class takes a list of two or more API lists")
    groups = [_api_list(g) for g in value]
    for g in groups:
        env.watched_apis.update(g)

    def run(ctx: Context) -> list[Evidence] | None:
        per_group: list[dict[str, list[Evidence]]] = []
        for g in groups:
            by_cls: dict[str, list[Evidence]] = {}
            for callee, caller, dex in ctx.calls_to(g):
                e = ctx.site_evidence(callee, caller, dex)
                if ctx.excluded(e.sdk):
                    continue
                by_cls.setdefault(e.class_name.split("$", 1)[0], []).append(e)
            if not by_cls:
                return None
            per_group.append(by_cls)
        common = set(per_group[0]).intersection(*per_group[1:])
        ev = [e for cls in sorted(common)[:3] for by_cls in per_group for e in by_cls[cls][:2]]
        return _cap(ev) or None

    return run


@predicate("source_to_sink")
def _source_to_sink(value: Any, env: CompileEnv) -> Pred:
    """``{source: [apis], uri: [content URIs], field: [fields], sink: [apis]}``: a method of
    the app's own code (or of an unidentified package tree) calls a source API, loads a
    content URI starting with one given or reads a given framework field
    (``ContactsContract$CommonDataKinds$Phone;->CONTENT_URI``), and a sink API is called
    by that method, by a method that calls it, or by a method either of them calls: the
    data is read and sent out in one place (one hop of the call graph each way; no
    data-flow tracking)."""
    v = _mapping(value, {"source", "uri", "field", "sink"}, {"sink"})
    sources = _api_list(v["source"]) if "source" in v else ()
    uris = tuple(_strings(v["uri"], "uri")) if "uri" in v else ()
    src_fields = tuple(_strings(v["field"], "field")) if "field" in v else ()
    if not sources and not uris and not src_fields:
        raise PredicateError("give 'source' APIs, content 'uri' prefixes or 'field's")
    sinks = _api_list(v["sink"])
    env.watched_apis.update(sources)
    env.watched_apis.update(sinks)

    def run(ctx: Context) -> list[Evidence] | None:
        foreign = ctx.excluded
        sites: list[tuple[str, str, Evidence]] = []
        for callee, caller, dex in ctx.calls_to(sources) if sources else ():
            e = ctx.site_evidence(callee, caller, dex)
            if not foreign(e.sdk):
                sites.append((dex, caller, e))
        for text, dex_path, caller in ctx.content_uri_users if uris else ():
            if text.startswith(uris):
                cls, method = split_ref(caller)
                sdk = ctx.matcher.sdk_of(cls)
                if not foreign(sdk):
                    sites.append((dex_path, caller, Evidence("content-uri", text, dex_path, cls, method, sdk=sdk)))
        for prefix in src_fields:
            for f, reader, dex_path in ctx.field_reads(prefix):
                e = ctx.field_evidence(f, reader, dex_path)
                if not foreign(e.sdk):
                    sites.append((dex_path, reader, e))
        if not sites:
            return None
        sink_at: dict[str, Evidence] = {}
        for callee, caller, dex in ctx.calls_to(sinks):
            sink_at.setdefault(caller, ctx.site_evidence(callee, caller, dex))
        if not sink_at:
            return None
        ev: list[Evidence] = []
        for dex_path, caller, e in sites[:64]:
            hit = ctx.near(dex_path, caller, sink_at.__contains__)
            if hit is not None:
                ev += [e, sink_at[hit]]
        return _cap(list(dict.fromkeys(ev))) or None

    return run


@predicate("collects")
def _collects(value: Any, env: CompileEnv) -> Pred:
    """``{categories: [sms, call-log, ...], min: N, from_app: true}``: the code reaches at
    least N of these personal-data categories of the data map (rules/data/pi_apis.yaml);
    with ``from_app`` (the default) only call sites in the app's own code or in an
    unidentified package tree count, not a catalogued SDK's."""
    from apkscan.rules.data import pi_table

    v = _mapping(value, {"categories", "min", "from_app"}, {"categories"})
    table = pi_table()
    known = set(table.get("categories") or {})
    cats = _strings(v["categories"], "categories")
    for c in cats:
        if c not in known:
            raise PredicateError(f"unknown personal-data category {c!r} (see rules/data/pi_apis.yaml)")
    n = _int(v.get("min", 1), "min")
    from_app = _bool(v.get("from_app", True), "from_app")
    apis: dict[str, tuple[str, ...]] = {}
    uris: dict[str, tuple[str, ...]] = {}
    fields: dict[str, tuple[str, ...]] = {}
    perms: dict[str, str] = {}
    for c in cats:
        apis[c] = tuple(api_prefix(str(e["api"])) for e in table.get("apis") or [] if e["category"] == c)
        uris[c] = tuple(str(e["uri"]) for e in table.get("uris") or [] if e["category"] == c)
        fields[c] = tuple(str(e["field"]) for e in table.get("fields") or [] if e["category"] == c)
        perms[c] = str(((table.get("categories") or {}).get(c) or {}).get("permission") or "")
        env.watched_apis.update(apis[c])

    def counts(ctx: Context, sdk: str) -> bool:
        return not ctx.excluded(sdk, from_app)

    def run(ctx: Context) -> list[Evidence] | None:
        ev: list[Evidence] = []
        for c in cats:
            hit = None
            for callee, caller, dex in ctx.calls_to(apis[c]) if apis[c] else ():
                e = ctx.site_evidence(callee, caller, dex)
                if counts(ctx, e.sdk):
                    hit = replace(e, detail=c)
                    break
            if hit is None and uris[c]:
                for text, dex_path, caller in ctx.content_uri_users:
                    if any(text == u or text.startswith(u + "/") for u in uris[c]):
                        cls, method = split_ref(caller)
                        sdk = ctx.matcher.sdk_of(cls)
                        if counts(ctx, sdk):
                            hit = Evidence("content-uri", text, dex_path, cls, method, sdk=sdk, detail=c)
                            break
            if hit is None and fields[c] and perms[c] in ctx.permissions:
                # A field (CallLog.Calls.CONTENT_URI ...) is attributed to the method that
                # reads it; a field referenced with no recorded read (older stored facts)
                # counts with the category's permission requested, as the app's intent.
                hit = next(
                    (replace(e, detail=c) for f in fields[c] for e in ctx.field_hits(f)
                     if e.kind == "field-ref" or counts(ctx, e.sdk)),
                    None,
                )
            if hit is not None:
                ev.append(hit)
        return ev if len(ev) >= n else None

    return run


PERMISSION_USES: dict[str, tuple[str, ...]] = {
    # permission -> what code that uses it references: class prefixes of method or field
    # refs, or strings (content URIs, intent actions). Broad on purpose: any use counts.
    "android.permission.READ_SMS": ("Landroid/telephony/SmsMessage;", "Landroid/provider/Telephony$", "content://sms",
                                    "content://mms", "Landroid/telephony/SmsManager;"),
    "android.permission.RECEIVE_SMS": ("Landroid/telephony/SmsMessage;", "Landroid/provider/Telephony$",
                                       "android.provider.Telephony.SMS_RECEIVED"),
    "android.permission.SEND_SMS": ("Landroid/telephony/SmsManager;", "Landroid/telephony/gsm/SmsManager;"),
    "android.permission.READ_CONTACTS": ("Landroid/provider/ContactsContract", "Landroid/provider/Contacts",
                                         "content://com.android.contacts", "content://contacts", "content://icc"),
    "android.permission.READ_CALL_LOG": ("Landroid/provider/CallLog", "content://call_log"),
    "android.permission.RECORD_AUDIO": ("Landroid/media/AudioRecord;", "Landroid/media/MediaRecorder;",
                                        "Landroid/speech/"),
    "android.permission.CAMERA": ("Landroid/hardware/Camera", "Landroid/hardware/camera2/", "Landroidx/camera/",
                                  "android.media.action.IMAGE_CAPTURE"),
    "android.permission.ACCESS_FINE_LOCATION": ("Landroid/location/", "Lcom/google/android/gms/location/",
                                                "Lcom/amap/api/location/", "Lcom/baidu/location/",
                                                "Lcom/tencent/map/geolocation/", "Landroid/net/wifi/WifiManager;"),
    "android.permission.GET_ACCOUNTS": ("Landroid/accounts/AccountManager;",),
    "android.permission.READ_CALENDAR": ("Landroid/provider/CalendarContract", "content://com.android.calendar"),
    "android.permission.PROCESS_OUTGOING_CALLS": ("android.intent.action.NEW_OUTGOING_CALL",),
}


@predicate("permissions_without_code")
def _permissions_without_code(value: Any, env: CompileEnv) -> Pred:
    """``{min: N}``: at least N of the data permissions the app requests (SMS, contacts,
    call log, microphone, camera, location, accounts, calendar, outgoing calls) have no
    code in the APK that could use them: the code that will is fetched or unpacked later."""
    v = _mapping(value, {"min"})
    n = _int(v.get("min", 3), "min")
    uses = {p: tuple(u for u in refs if u.startswith("L")) for p, refs in PERMISSION_USES.items()}
    texts = {p: tuple(u for u in refs if not u.startswith("L")) for p, refs in PERMISSION_USES.items()}

    def run(ctx: Context) -> list[Evidence] | None:
        if ctx.code_cut_by_lowered_limit:
            return None  # the code that uses them may sit in what the lowered limit left unread
        unused = []
        for perm in sorted(ctx.permissions & set(PERMISSION_USES)):
            if uses[perm] and (ctx.refs_matching(uses[perm]) or any(ctx.fields_matching(u) for u in uses[perm])):
                continue
            if any(ctx.find_text("dex", normalise(t)) for t in texts[perm]):
                continue
            unused.append(Evidence("permission", perm, file="AndroidManifest.xml", detail="no code uses it"))
        return unused if len(unused) >= n else None

    return run


_VOWELS = frozenset("aeiouy")


def gibberish(word: str) -> bool:
    """A keyboard-mash identifier (``kdghmdfh``, ``rkhgdfh``): five or more lower-case ASCII
    letters of which under a fifth are vowels. Shrinkers name classes ``a``, ``b``, ``ab``;
    people and libraries name them with words; builders of malware that randomise the
    manifest for each victim produce these."""
    if len(word) < 5 or not word.isascii() or not word.isalpha() or not word.islower():
        return False
    return sum(ch in _VOWELS for ch in word) / len(word) < 0.2


@predicate("app_code_size")
def _app_code_size(value: Any, env: CompileEnv) -> Pred:
    """``{max: N}`` and/or ``{min: N}``: the number of classes that are the app's own code
    (not a catalogued SDK's or a platform library's; unidentified package trees count as the
    app's) is within the bounds."""
    v = _mapping(value, {"max", "min"})
    if not v:
        raise PredicateError("give max or min")
    hi = _int(v["max"], "max") if "max" in v else None
    lo = _int(v["min"], "min") if "min" in v else None

    def run(ctx: Context) -> list[Evidence] | None:
        n = ctx.own_class_count
        if (hi is not None and n > hi) or (lo is not None and n < lo):
            return None
        # the count goes in detail: a finding's fingerprint (rule, value, place) must not move
        # when a rebuild adds a class
        bounds = " and ".join(b for b in (f"at least {lo}" if lo is not None else "",
                                          f"at most {hi}" if hi is not None else "") if b)
        return [Evidence("class", f"app's own code: {bounds} classes", detail=f"{n} classes")]

    return run


@predicate("gibberish_components")
def _gibberish_components(value: Any, env: CompileEnv) -> Pred:
    """``{min: N}``: at least N manifest components whose class name is keyboard-mash."""
    v = _mapping(value, {"min"})
    n = _int(v.get("min", 3), "min")

    def run(ctx: Context) -> list[Evidence] | None:
        hits = [
            Evidence("component", f"{c.kind} {c.name}", file="AndroidManifest.xml", class_name=c.name)
            for c in ctx.facts.manifest.components
            if gibberish(c.name.rsplit(".", 1)[-1].split("$")[0])
        ]
        return _cap(hits) if len(hits) >= n else None

    return run


# -- text -----------------------------------------------------------------------------
class _Traditional:
    """Traditional-character forms of keywords (OpenCC s2t and s2tw), cached on disk: the
    OpenCC dictionaries cost ~45 MB and 0.2 s to load, so they are loaded only for
    keywords not seen before."""

    def __init__(self) -> None:
        self.cache: dict[str, list[str]] | None = None
        self.dirty = False

    def _path(self) -> Path:
        from apkscan.rules.data import cache_dir

        return cache_dir() / "opencc-variants.json"

    @functools.cached_property
    def converters(self) -> tuple[Any, Any]:
        import opencc

        return opencc.OpenCC("s2t"), opencc.OpenCC("s2tw")

    def forms(self, word: str) -> list[str]:
        if self.cache is None:
            from apkscan.rules.data import read_cache

            try:  # read_cache: None unless the file matches its index (never a tampered one)
                self.cache = dict(json.loads(read_cache(self._path()) or b"{}"))
            except (ValueError, TypeError):
                self.cache = {}
        hit = self.cache.get(word)
        if hit is None:
            hit = sorted({c.convert(word) for c in self.converters})
            self.cache[word] = hit
            self.dirty = True
        return hit

    def save(self) -> None:
        if not self.dirty or self.cache is None:
            return
        from apkscan.rules.data import write_cache

        text = json.dumps(self.cache, ensure_ascii=False)
        if write_cache(self._path(), lambda tmp: tmp.write_text(text, encoding="utf-8")):
            self.dirty = False  # else a read-only home only costs the OpenCC load next time


TRADITIONAL = _Traditional()


def keyword_variants(word: str) -> set[str]:
    """A keyword in simplified and traditional forms, normalised."""
    out = {normalise(word)}
    if not word.isascii():
        out.update(normalise(f) for f in TRADITIONAL.forms(word))
    return out


@predicate("keywords")
def _keywords(value: Any, env: CompileEnv) -> Pred:
    v = _mapping(value, {"set", "words", "min", "in", "distinct"})
    words: list[str] = []
    if "set" in v:
        for name in _strings(v["set"], "set"):
            if name not in env.keyword_sets:
                known = ", ".join(sorted(env.keyword_sets)) or "none loaded"
                raise PredicateError(f"unknown keyword set {name!r} (known: {known})")
            words.extend(env.keyword_sets[name])
    if "words" in v:
        words.extend(_strings(v["words"], "words"))
    if not words:
        raise PredicateError("give 'set' or 'words'")
    n = _int(v.get("min", 1), "min")
    places = _strings(v.get("in", list(TEXT_PLACES)), "in")
    for p in places:
        if p not in TEXT_PLACES:
            raise PredicateError(f"'in' takes {', '.join(TEXT_PLACES)}, not {p!r}")
    variants = [(w, sorted(keyword_variants(w))) for w in dict.fromkeys(words)]
    for _, forms in variants:
        env.keyword_forms.update(forms)
    app_only = env.app_code_only

    def run(ctx: Context) -> list[Evidence] | None:
        found: list[Evidence] = []
        hits = ctx.keyword_hits
        for word, forms in variants:
            for place in places:
                present = hits.get(place, set())
                hit_form = next((f for f in forms if f in present), None)
                if hit_form is None:
                    continue
                if app_only and place == "dex":
                    where = ctx.find_text_outside_sdks(place, hit_form)
                    if where is None:  # only in known SDKs' code
                        continue
                else:
                    where = ctx.find_text(place, hit_form)
                file, text, cm = where if where else ("", "", "|")
                cls, _, method = cm.partition("|")
                # the string around the word; nothing when it is the word itself
                itself = len(text) <= 2 * len(hit_form) and normalise(text) == hit_form
                around = "" if itself else _around(file, text, hit_form)
                if place == "dex" and cls and not method:
                    # no method loads it: the name of a class, member or source file
                    detail = f"{NAME_IN_CODE}{text}"
                else:
                    detail = _in_resource(ctx, file, text, around)
                found.append(
                    Evidence(
                        "string",
                        word,
                        file=file,
                        class_name=cls,
                        method=method,
                        sdk=ctx.matcher.sdk_of(cls) if cls else "",
                        detail=detail,
                    )
                )
                break
        return _cap(found) if len(found) >= n else None

    return run


RESOURCES_FILE = "resources.arsc"


def _in_resource(ctx: Context, file: str, text: str, detail: str) -> str:
    """The evidence's detail, led by the string resource that holds ``text`` when it comes
    from resources.arsc (``string/app_secret``): its place there, as a class and method are
    a dex string's."""
    if file != RESOURCES_FILE:
        return detail
    name = ctx.resource_name(text)
    return f"{name}: {detail}" if name and detail else name or detail


NAME_IN_CODE = "a name in the code, not a string it loads: "
"""Detail of a keyword found in a class, member or source-file name (no method loads it)."""


@predicate("regex")
def _regex_pred(value: Any, env: CompileEnv) -> Pred:
    v = _mapping(value, {"pattern", "in", "min"}, {"pattern"})
    rx = _regex(v["pattern"])
    n = _int(v.get("min", 1), "min")
    places = _strings(v.get("in", list(TEXT_PLACES)), "in")
    for p in places:
        if p not in TEXT_PLACES:
            raise PredicateError(f"'in' takes {', '.join(TEXT_PLACES)}, not {p!r}")

    # Candidates come from the normalised (case-folded) text, so the pass is
    # case-insensitive; every candidate is confirmed with the pattern as written.
    # Compiled as bytes (RE2 still reads it as UTF-8): the blobs are UTF-8 bytes, and a str
    # pattern would make RE2 encode a whole blob again on every search.
    blob_source = ("(?i)" + _blob_pattern(v["pattern"])).encode("utf-8")
    blob_rx = re2.compile(blob_source, _re2_quiet())
    slot = env.blob_slot(blob_source)
    app_only = env.app_code_only

    def run(ctx: Context) -> list[Evidence] | None:
        # One linear-time pass over the joined strings of each place finds candidates (with
        # ^ and $ also matching at the separators); each candidate string is then checked
        # on its own, so anchors and the documented per-string semantics hold.
        ev: list[Evidence] = []
        seen: set[tuple[str, int]] = set()
        for place in places:
            for blob, may_match in zip(ctx.blobs[place], ctx.regex_candidates[place], strict=True):
                if may_match is not None and slot not in may_match:
                    continue
                for m in blob_rx.finditer(blob.data):
                    start = m.start() + (1 if blob.data.startswith(SEP_BYTE, m.start()) else 0)
                    idx = blob.item_at(start)
                    if (place, idx) in seen:
                        continue
                    seen.add((place, idx))
                    source, text = ctx.text_sources[place].item(idx)
                    own = rx.search(text)
                    if own is None:
                        continue
                    cls, method = ("", "")
                    if place == "dex":
                        cls, method = ctx.string_user(source, text)
                    sdk = ctx.matcher.sdk_of(cls) if cls else ""
                    if app_only and ctx.is_known_sdk(sdk):
                        continue
                    ev.append(
                        Evidence(
                            "string", own.group(0)[:200], file=source, class_name=cls, method=method, sdk=sdk,
                            detail=_in_resource(ctx, source, text, ""),
                        )
                    )
                    if len(ev) >= max(n, MAX_EVIDENCE):
                        return ev
        return ev if len(ev) >= n else None

    return run


@predicate("url")
def _url(value: Any, env: CompileEnv) -> Pred:
    from apkscan.extract.text import host_of, valid_ip

    v = _mapping(value, {"domain", "pattern", "scheme", "ip"})
    if not v:
        raise PredicateError("give domain, pattern, scheme or ip")
    domains = _strings(v["domain"], "domain") if "domain" in v else None
    rx = _regex(v["pattern"]) if "pattern" in v else None
    schemes = [s.lower() for s in _strings(v["scheme"], "scheme")] if "scheme" in v else None
    ip = _bool(v["ip"], "ip") if "ip" in v else None
    app_only = env.app_code_only

    def run(ctx: Context) -> list[Evidence] | None:
        ev = []
        for url, source in ctx.urls:
            host = host_of(url)
            if domains and not any(
                fnmatch.fnmatchcase(host, d) or host.endswith("." + d.lstrip("*.")) for d in domains
            ):
                continue
            if rx is not None and not rx.search(url):
                continue
            if schemes and url.split(":", 1)[0].lower() not in schemes:
                continue
            if ip is not None and valid_ip(host) != ip:
                continue
            cls = method = ""
            if source.endswith(".dex"):
                cls, method = ctx.string_user(source, url)
                if not cls:
                    where = ctx.find_text("dex", normalise(url))
                    if where is not None:
                        cls, _, method = where[2].partition("|")
            sdk = ctx.matcher.sdk_of(cls) if cls else ""
            if app_only and ctx.is_known_sdk(sdk):
                continue
            detail = ctx.resource_holding(url) if source == RESOURCES_FILE else ""
            ev.append(Evidence("url", url, file=source, class_name=cls, method=method, sdk=sdk, detail=detail))
            if len(ev) >= MAX_EVIDENCE:
                break
        return _cap(ev) or None

    return run


# -- signing and archive --------------------------------------------------------------
@predicate("certificate")
def _certificate(value: Any, env: CompileEnv) -> Pred:
    v = _mapping(value, {"sha256", "sha1", "subject", "debug", "test_key"})
    sha256 = {s.replace(":", "").upper() for s in _strings(v["sha256"], "sha256")} if "sha256" in v else None
    sha1 = {s.replace(":", "").upper() for s in _strings(v["sha1"], "sha1")} if "sha1" in v else None
    subject = str(v["subject"]) if "subject" in v else None
    debug = _bool(v["debug"], "debug") if "debug" in v else None
    test_key = _bool(v["test_key"], "test_key") if "test_key" in v else None

    def run(ctx: Context) -> list[Evidence] | None:
        ev = [
            Evidence("certificate", c.subject, file="META-INF", detail=f"SHA-256 {c.sha256}")
            for c in ctx.facts.signing.certificates
            if (sha256 is None or c.sha256 in sha256)
            and (sha1 is None or c.sha1 in sha1)
            and (subject is None or fnmatch.fnmatchcase(c.subject, subject))
            and (debug is None or c.debug == debug)
            and (test_key is None or c.test_key == test_key)
        ]
        return ev or None

    return run


@predicate("signing")
def _signing(value: Any, env: CompileEnv) -> Pred:
    v = _mapping(value, {"scheme", "only", "unsigned"})
    scheme = str(v["scheme"]) if "scheme" in v else None
    only = _bool(v.get("only", False), "only")
    unsigned = _bool(v["unsigned"], "unsigned") if "unsigned" in v else None

    def run(ctx: Context) -> list[Evidence] | None:
        schemes = ctx.facts.signing.schemes
        if unsigned is not None and (not schemes) != unsigned:
            return None
        if scheme is not None and (scheme not in schemes or (only and len(schemes) != 1)):
            return None
        return [Evidence("certificate", "schemes: " + (", ".join(schemes) or "none"), file="META-INF")]

    return run


def _glob_entries(value: Any, what: str) -> list[str]:
    return _strings(value, what)


@predicate("entry")
def _entry(value: Any, env: CompileEnv) -> Pred:
    globs = _glob_entries(value, "entry")

    def run(ctx: Context) -> list[Evidence] | None:
        ev: list[Evidence] = []
        for g in globs:
            hits = glob_filter(ctx.entry_names, g)
            ev.extend(Evidence("entry", h, file=h) for h in hits[:5])
        return _cap(ev) or None

    return run


@predicate("native_lib")
def _native_lib(value: Any, env: CompileEnv) -> Pred:
    globs = _glob_entries(value, "native_lib")

    def run(ctx: Context) -> list[Evidence] | None:
        ev = [
            Evidence("native-lib", lib.name, file=lib.path)
            for lib in ctx.facts.archive.native_libs
            if any(fnmatch.fnmatchcase(lib.name, g) or fnmatch.fnmatchcase(lib.path, g) for g in globs)
        ]
        return _cap(ev) or None

    return run


@predicate("nested_payload")
def _nested(value: Any, env: CompileEnv) -> Pred:
    v = _mapping(value, {"kind"})
    kinds = set(_strings(v.get("kind", ["apk", "jar", "zip", "dex"]), "kind"))

    def run(ctx: Context) -> list[Evidence] | None:
        ev = [
            Evidence("entry", n.path, file=n.path.split("!", 1)[0], detail=f"nested {n.kind}, depth {n.depth}")
            for n in ctx.facts.archive.nested
            if n.kind in kinds
        ]
        return _cap(ev) or None

    return run


@predicate("mismatched_entry")
def _mismatched(value: Any, env: CompileEnv) -> Pred:
    v = _mapping(value, {"kind"})
    kinds = set(_strings(v["kind"], "kind")) if "kind" in v else None

    def run(ctx: Context) -> list[Evidence] | None:
        ev = [
            Evidence("entry", name, file=name, detail=f"content is {kind}")
            for name, kind in ctx.facts.archive.mismatched
            if kinds is None or kind in kinds
        ]
        return _cap(ev) or None

    return run


@predicate("tampering")
def _tampering(value: Any, env: CompileEnv) -> Pred:
    globs = _strings(value, "tampering")

    def run(ctx: Context) -> list[Evidence] | None:
        ev = [
            Evidence("tampering", t.kind, file=t.entry, detail=t.detail)
            for t in ctx.facts.archive.tampering
            if any(fnmatch.fnmatchcase(t.kind, g) for g in globs)
        ]
        return _cap(ev) or None

    return run


@predicate("method_named")
def _method_named(value: Any, env: CompileEnv) -> Pred:
    """A method reference of that name and descriptor on any class: inherited framework
    methods called on ``this`` (``abortBroadcast``, ``setResultData``) are referenced
    through the app's own subclass, which ``api`` cannot name in advance."""
    names = _strings(value, "method_named")
    for n in names:
        if "(" not in n or "->" in n or ";" in n.split("(", 1)[0]:
            raise PredicateError(f"{n!r} is not a method name with its descriptor (abortBroadcast()V)")
    suffixes = tuple("->" + n for n in names)
    app_only = env.app_code_only

    def run(ctx: Context) -> list[Evidence] | None:
        # Each call names its caller (class, method, SDK), as for ``api``; a reference
        # nothing was seen calling is named by its declaring class when the app defines it.
        ev: list[Evidence] = []
        refs: dict[str, str] = {}
        for dex in ctx.facts.dex:
            methods = dex.methods
            wanted = [i for i, m in enumerate(methods) if m.endswith(suffixes)]
            if not wanted:
                continue
            called: set[int] = set()
            for caller, callee in pairs_where(dex.calls, wanted, len(methods)):
                called.add(callee)
                e = ctx.site_evidence(methods[callee], methods[caller], dex.path)
                if not ctx.excluded(e.sdk, app_only):
                    ev.append(e)
            for i in wanted:
                if i not in called:
                    refs.setdefault(methods[i], dex.path)
        ev += _uncalled(ctx, refs.items(), {e.value for e in ev}, app_only)
        return _cap(ev) or None

    return run


# -- hidden code and payloads ------------------------------------------------------------
MEDIA_EXTENSIONS = frozenset(
    [
        ".mp3",
        ".ogg",
        ".oga",
        ".opus",
        ".m4a",
        ".aac",
        ".amr",
        ".flac",
        ".wma",
        ".mp4",
        ".m4v",
        ".3gp",
        ".webm",
        ".mkv",
        ".avi",
        ".mov",
        ".ts",
        ".png",
        ".jpg",
        ".jpeg",
        ".gif",
        ".webp",
        ".heic",
        ".heif",
        ".avif",
        ".bmp",
        ".ico",
        ".ttf",
        ".otf",
        ".ttc",
        ".woff",
        ".woff2",
        ".gz",
        ".tgz",
        ".xz",
        ".bz2",
        ".zst",
        ".br",
        ".7z",
        ".rar",
        ".lz4",
        ".lzma",
        ".pkm",
        ".ktx",
        ".astc",
        ".pvr",
        ".etc",
        ".bks",
        ".bcfks",
        ".p12",
        ".pfx",
        ".jks",
        ".keystore",
        ".prof",
        ".tflite",
        ".pb",
        ".onnx",
        ".mnn",
        ".ncnn",
        ".param",
        ".model",
        ".pt",
        ".ptl",
        ".unity3d",
        ".bundle",
        ".assetbundle",
        ".obb",
        ".pak",
        ".fsb",
        ".bank",
        ".wem",
    ]
)
"""Formats that are already compressed or binary by design: a deflated media file does not
shrink either, so these names never count as opaque blobs."""
CODE_EXTENSIONS = frozenset([".dex", ".odex", ".vdex", ".jar", ".apk", ".zip", ".so", ".oat"])
"""Names that promise code or an archive: content of unknown format behind such a name is
encrypted or obfuscated code."""


def _extension(name: str) -> str:
    base = name.rsplit("/", 1)[-1].lower()
    return base[base.rfind(".") :] if "." in base else ""


def opaque_detail(name: str, kind: str, size: int, compressed: int, method: int) -> str | None:
    """Why an archive entry is an opaque blob, or None: content of no known format (``kind``
    ``other``) that deflate could not shrink (high entropy: encrypted or compressed), or
    that sits behind a code or archive name."""
    if kind != "other" or size <= 0:
        return None
    ext = _extension(name)
    if ext in MEDIA_EXTENSIONS:
        return None
    if ext in CODE_EXTENSIONS:
        return f"{size} bytes, named {ext} but of no known format (encrypted or obfuscated code)"
    if method == 8:
        ratio = compressed / size
        return f"{size} bytes of no known format; deflate keeps {ratio:.0%} of it (high entropy: encrypted)"
    return None


@predicate("opaque_entries")
def _opaque_entries(value: Any, env: CompileEnv) -> Pred:
    v = _mapping(value, {"under", "min_size", "min_ratio", "min"})
    under = tuple(_strings(v.get("under", ["assets/", "res/raw/"]), "under"))
    min_size = _int(v.get("min_size", 16384), "min_size")
    n = _int(v.get("min", 1), "min")
    ratio = v.get("min_ratio", 0.95)
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 0 < ratio <= 1.5:
        raise PredicateError("min_ratio must be a number above 0 (compressed size / size; 0.95 by default)")
    if min_size < 0 or n < 1:
        raise PredicateError("min_size must be >= 0 and min >= 1")

    def run(ctx: Context) -> list[Evidence] | None:
        ev: list[Evidence] = []
        for e in ctx.facts.archive.entries:
            if e.size < min_size or not e.name.startswith(under):
                continue
            deflated = e.kind == "other" and e.method == 8 and _extension(e.name) not in CODE_EXTENSIONS
            if deflated and e.compressed_size < ratio * e.size:
                continue
            detail = opaque_detail(e.name, e.kind, e.size, e.compressed_size, e.method)
            if detail:
                ev.append(Evidence("entry", e.name, file=e.name, detail=detail))
        return _cap(ev) if len(ev) >= n else None

    return run


@predicate("hidden_components")
def _hidden_components(value: Any, env: CompileEnv) -> Pred:
    v = _mapping(value, {"type", "permission", "action", "min", "share"})
    types = set(_strings(v["type"], "type")) if "type" in v else None
    perms = {full_permission(p) for p in _strings(v["permission"], "permission")} if "permission" in v else None
    actions = set(_strings(v["action"], "action")) if "action" in v else None
    n = _int(v.get("min", 1), "min")
    share = v.get("share", 0)
    if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share <= 1:
        raise PredicateError("share must be a number from 0 to 1")
    if n < 1:
        raise PredicateError("min must be >= 1")

    def run(ctx: Context) -> list[Evidence] | None:
        # Aliases name an activity, not a class; everything else must be a class of some dex.
        if ctx.code_cut_by_lowered_limit:
            return None  # a class not seen may sit in what a limit the user lowered left unread
        comps = [c for c in ctx.facts.manifest.components if c.kind != "activity-alias"]
        missing = [c for c in comps if c.name not in ctx.classes]
        if not comps or len(missing) < max(n, share * len(comps)):
            return None
        hits = [
            c
            for c in missing
            if (types is None or c.kind in types)
            and (perms is None or c.permission in perms)
            and (actions is None or any(a in f.actions for f in c.intent_filters for a in actions))
        ]
        if len(hits) < n:
            return None
        detail = f"{len(missing)} of {len(comps)} components have no code in the APK's dex files"
        return _cap(
            [
                Evidence(
                    "component", f"{c.kind} {c.name}", file="AndroidManifest.xml", class_name=c.name, detail=detail
                )
                for c in hits
            ]
        )

    return run


# -- impersonation --------------------------------------------------------------------------
BRAND_KINDS = ("bank", "payment", "government", "app-store", "telecom", "app", "courier", "system")
DEV_WORDS = ("demo", "sample", "sdk", "example", "test", "示例", "演示", "测试", "样例")
"""A label with one of these words is a developer's build named after the SDK it shows
(``WeiboSDK demo``), not an app offered to the public under someone else's name."""

# Latin look-alikes among Cyrillic and Greek letters (lower case after casefold).
_CONFUSABLES = str.maketrans(
    "авеёкмнорстухѕіїјԁɡԛԝαβεικνορτυχ",
    "abeekmhopctyxsiijdgqwabeikvoptux",
)
_LATIN_WORD = re2.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class Brand:
    id: str
    name: str
    kind: str
    names: tuple[str, ...]
    """Normalised names that count when the label contains them (as a whole word for
    Latin script)."""
    exact: tuple[str, ...]
    """Normalised names that count only when they are the whole label (short or generic)."""
    name_keys: tuple[str, ...]
    """The distinctive names (``names``) as whole-label keys: a label that is exactly one of
    them is the brand's own name, not a generic word or a companion ('Status Saver for ...')."""
    packages: tuple[str, ...]
    namespaces: tuple[str, ...]
    signers: tuple[str, ...]


def brand_key(text: str) -> str:
    """A label or brand name for comparison: NFKC, case-folded, look-alike Cyrillic and
    Greek letters read as Latin, spaces and punctuation dropped."""
    folded = normalise(text).translate(_CONFUSABLES)
    return "".join(ch for ch in folded if ch.isalnum())


def _spaced_key(text: str) -> str:
    """Like :func:`brand_key` but words kept apart by single spaces (for whole-word tests)."""
    folded = normalise(text).translate(_CONFUSABLES)
    return " ".join("".join(ch if ch.isalnum() else " " for ch in folded).split())


def has_homoglyphs(label: str) -> bool:
    """A word mixing Latin letters with Cyrillic or Greek look-alikes (``Chrоmе``)."""
    for word in normalise(label).split():
        latin = any("a" <= ch <= "z" for ch in word)
        if latin and word.translate(_CONFUSABLES) != word:
            return True
    return False


def _brand_error(where: str, msg: str) -> PredicateError:
    return PredicateError(f"rules/data/brands.yaml: {where}: {msg}")


@functools.cache
def brands() -> tuple[Brand, ...]:
    """The brand registry (``rules/data/brands.yaml``), validated."""
    from apkscan.rules.data import builtin_dir, load_yaml

    doc = load_yaml(builtin_dir() / "data" / "brands.yaml")
    raw = doc.get("brands") if isinstance(doc, dict) else None
    if not isinstance(raw, list) or not raw:
        raise _brand_error("top", "expected 'brands:' with a non-empty list")
    out: list[Brand] = []
    seen: set[str] = set()
    for i, b in enumerate(raw):
        where = f"brand #{i + 1}"
        if not isinstance(b, dict):
            raise _brand_error(where, "a brand is a mapping")
        unknown = set(b) - {"id", "name", "kind", "names", "exact", "packages", "namespaces", "signers", "source"}
        if unknown:
            raise _brand_error(where, f"unknown key {sorted(unknown)[0]!r}")
        bid = b.get("id")
        if not isinstance(bid, str) or not bid or bid in seen:
            raise _brand_error(where, "'id' must be a unique non-empty string")
        seen.add(bid)
        where = f"brand {bid}"
        if b.get("kind") not in BRAND_KINDS:
            raise _brand_error(where, f"'kind' must be one of {', '.join(BRAND_KINDS)}")
        lists: dict[str, tuple[str, ...]] = {}
        for key in ("names", "exact", "packages", "namespaces", "signers"):
            items = b.get(key) or []
            if not isinstance(items, list) or not all(isinstance(x, str) and x.strip() for x in items):
                raise _brand_error(where, f"'{key}' must be a list of non-empty strings")
            lists[key] = tuple(items)
        if not lists["names"] and not lists["exact"]:
            raise _brand_error(where, "give 'names' or 'exact'")
        if not lists["packages"] and not lists["namespaces"]:
            raise _brand_error(where, "give the official 'packages' or 'namespaces'")
        for name in lists["names"]:
            key = brand_key(name)
            if len(key) < (4 if key.isascii() else 2):
                raise _brand_error(where, f"name {name!r} is too short to match inside labels; list it under 'exact'")
        for s in lists["signers"]:
            if not re2.fullmatch(r"[0-9A-Fa-f:]{64,95}", s):
                raise _brand_error(where, f"signer {s!r} is not a SHA-256 digest")
        out.append(
            Brand(
                id=bid,
                name=str(b.get("name") or bid),
                kind=str(b["kind"]),
                names=tuple(dict.fromkeys(_spaced_key(x) for x in lists["names"])),
                exact=tuple(dict.fromkeys(brand_key(x) for x in lists["exact"] + lists["names"])),
                name_keys=tuple(dict.fromkeys(brand_key(x) for x in lists["names"])),
                packages=lists["packages"],
                namespaces=lists["namespaces"],
                signers=tuple(s.replace(":", "").upper() for s in lists["signers"]),
            )
        )
    return tuple(out)


def owns_package(brand: Brand, package: str) -> bool:
    """The package is one of the brand's official ones or under its own namespace."""
    if package in brand.packages:
        return True
    return any(package == ns or package.startswith(ns + ".") for ns in brand.namespaces)


def brand_in_label(brand: Brand, label: str) -> str | None:
    """How the label names the brand (``equals``/``contains NAME``), or None."""
    whole = brand_key(label)
    if whole and whole in brand.exact:
        return "equals"
    spaced = _spaced_key(label)
    for name in brand.names:
        if name.isascii():
            if f" {name} " in f" {spaced} ":
                return f"contains {name!r}"
        elif name.replace(" ", "") in whole:
            return f"contains {name!r}"
    return None


@predicate("impersonates")
def _impersonates(value: Any, env: CompileEnv) -> Pred:
    v = _mapping(value, {"kind", "match", "homoglyph", "demo"})
    kinds = set(_strings(v.get("kind", list(BRAND_KINDS)), "kind"))
    if kinds - set(BRAND_KINDS):
        raise PredicateError(f"kind takes {', '.join(BRAND_KINDS)}, not {sorted(kinds - set(BRAND_KINDS))[0]!r}")
    how = str(v.get("match", "contains"))
    if how not in ("contains", "exact", "name"):
        raise PredicateError("match must be 'contains', 'exact' or 'name'")
    homoglyph = _bool(v["homoglyph"], "homoglyph") if "homoglyph" in v else None
    demo = _bool(v.get("demo", False), "demo")
    table = [b for b in brands() if b.kind in kinds]

    def run(ctx: Context) -> list[Evidence] | None:
        m = ctx.facts.manifest
        signers = {c.sha256 for c in ctx.facts.signing.certificates}
        ev: list[Evidence] = []
        for loc, label in m.labels:
            if not label.strip():
                continue
            glyphs = has_homoglyphs(label)
            if homoglyph is not None and glyphs != homoglyph:
                continue
            if not demo and any(w in normalise(label) for w in DEV_WORDS):
                continue
            for b in table:
                if owns_package(b, m.package) or (b.signers and signers & set(b.signers)):
                    continue
                found = brand_in_label(b, label)
                if found is None or (how == "exact" and found != "equals"):
                    continue
                if how == "name":  # the whole label is one of the brand's distinctive names
                    if brand_key(label) not in b.name_keys:
                        continue
                    found = "is the name of"
                official = ", ".join([*b.packages, *(f"{ns}.*" for ns in b.namespaces)][:6])
                ev.append(
                    Evidence(
                        "manifest",
                        f"label {label!r}" + (f" ({loc})" if loc else ""),
                        file="AndroidManifest.xml",
                        detail=f"{found} brand {b.name} ({b.kind}); official: {official}; this app: {m.package}"
                        + ("; look-alike Cyrillic/Greek letters" if glyphs else ""),
                    )
                )
        return _cap(list(dict.fromkeys(ev))) or None

    return run


__all__ = ["REGISTRY", "CompileEnv", "Pred", "PredicateError", "compile_pred", "split_ref"]
