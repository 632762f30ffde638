"""The JSON report: identity, verdict, findings, SDKs, personal data, facts and problems.

``render(result) -> str``; it never opens a file. Its JSON Schema is
``apkscan/schemas/report.schema.json`` (tests validate every report against it).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from apkscan.facts import ApkFacts
from apkscan.model import ScanResult
from apkscan.report.privacy_lists import privacy_json
from apkscan.serial import to_jsonable

SCHEMA_VERSION = "1.0"


def app_identity(facts: ApkFacts) -> dict[str, Any]:
    m = facts.manifest
    return {
        "file_name": facts.file_name,
        "size": facts.size,
        "sha256": facts.sha256,
        "package": m.package,
        "label": m.label,
        "labels": [{"locale": loc, "label": value} for loc, value in m.labels],
        "version_code": m.version_code,
        "version_name": m.version_name,
        "min_sdk": m.min_sdk,
        "target_sdk": m.target_sdk,
        "max_sdk": m.max_sdk,
    }


def facts_dict(facts: ApkFacts, full: bool = False) -> dict[str, Any]:
    """Facts for the report. Dex tables are summarised unless ``full`` (they can hold
    millions of rows); the batch store keeps them whole."""
    out: dict[str, Any] = {
        "manifest": to_jsonable(facts.manifest),
        "signing": to_jsonable(facts.signing),
        "archive": to_jsonable(facts.archive),
        "strings": {
            "resources": [{"locale": loc, "name": n, "value": v} for loc, n, v in facts.strings.resources],
            "assets": [{"path": p, "chars": len(t)} for p, t in facts.strings.assets],
            "urls": [{"url": u, "source": s} for u, s in facts.strings.urls],
            "domains": list(facts.strings.domains),
            "ips": list(facts.strings.ips),
            "emails": list(facts.strings.emails),
        },
        "yara": to_jsonable(facts.yara),
    }
    dex_out = []
    for d in facts.dex:
        item: dict[str, Any] = {
            "path": d.path,
            "classes": len(d.classes),
            "methods": len(d.methods),
            "fields": len(d.fields),
            "strings": len(d.strings),
            "calls": len(d.calls),
        }
        if full:
            item["class_names"] = list(d.classes)
            item["method_refs"] = list(d.methods)
            item["field_refs"] = list(d.fields)
            item["string_table"] = list(d.strings)
            item["call_edges"] = [[d.methods[a], d.methods[b]] for a, b in d.calls]
        dex_out.append(item)
    out["dex"] = dex_out
    return out


def report_dict(result: ScanResult, full_facts: bool = False) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "apkscan", "version": result.tool_version},
        "scan": {
            "scanned_at": result.scanned_at,
            "duration_s": result.duration_s,
            "rules_digest": result.rules_digest,
            "app_category": result.app_category,
            "timings": result.timings,
        },
        "app": app_identity(result.facts),
        "verdict": result.verdict,
        "verdict_reason": {
            "en": result.verdict_reason,
            "zh": result.verdict_reason_zh,
            "deciding": list(result.verdict_deciding),
        },
        "counts": result.counts(),
        "acceptance": _acceptance(result),
        "findings": _findings(result),
        "sdks": to_jsonable(result.sdks),
        "data_access": to_jsonable(result.data_access),
        "facts": facts_dict(result.facts, full_facts),
        "problems": to_jsonable(result.facts.problems),
        "rule_errors": to_jsonable(result.rule_errors),
        "privacy": privacy_json(result),
    }


def _findings(result: ScanResult) -> list[dict[str, Any]]:
    """Findings, each accepted one with its ``suppression`` and, when a baseline was
    compared, every one with its ``baseline_state`` (``new`` or ``unchanged``)."""
    out: list[dict[str, Any]] = to_jsonable(result.findings)
    for item, f in zip(out, result.findings, strict=True):
        # how many evidence items the check found, also when all are listed (0 read as "none")
        item["evidence_total"] = max(f.evidence_total, len(f.evidence))
    a = result.acceptance
    if not a.accepted and not a.baseline:
        return out
    for item, f in zip(out, result.findings, strict=True):
        s = a.of(f.fingerprint)
        if s is not None:
            item["suppression"] = to_jsonable(s)
        if a.baseline:
            item["baseline_state"] = "unchanged" if s is not None and s.kind == "baseline" else "new"
    return out


def _acceptance(result: ScanResult) -> dict[str, Any]:
    a = result.acceptance
    shown = {f.fingerprint for f in result.findings}
    return {
        "baseline": a.baseline,
        "accepted": sum(1 for s in a.accepted if s.fingerprint in shown),
        "open": sum(1 for f in result.findings if a.of(f.fingerprint) is None),
        "absent": to_jsonable(a.absent),
        "hidden": a.hidden,
        "min_severity": a.min_severity,
    }


def render(result: ScanResult, full_facts: bool = False) -> str:
    return dumps(report_dict(result, full_facts)) + "\n"


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": "))


def _compact_with(make: Any) -> Callable[[Any], str]:
    """``_ENCODER.encode`` through one C encoder made once: ``encode`` makes a new one on
    every call, which cost more than the encoding of the 11,000 small values (one archive
    entry, one evidence item) of a large app's report. No cycle check: a report is a
    tree. Without the C encoder, ``_ENCODER.encode`` itself."""
    if make is None:
        return _ENCODER.encode
    e = _ENCODER
    encode = make(None, e.default, json.encoder.encode_basestring, None, ": ", ", ", False, False, True)
    return lambda obj: "".join(encode(obj, 0))


_COMPACT = _compact_with(getattr(json.encoder, "c_make_encoder", None))
LAYOUT_DEPTH = 4
"""Containers nested deeper than this are written on one line each: one archive entry,
one evidence item or one URL per line. Readable, greppable, and written by the C encoder
(``indent`` would make :mod:`json` fall back to its pure-Python encoder, four times slower
on the 3 MB report of a large app)."""


def dumps(obj: Any, depth: int = LAYOUT_DEPTH, level: int = 0) -> str:
    """JSON indented by two spaces down to ``depth`` levels; deeper values, and lists of
    scalars, each on one line."""
    if level >= depth or not obj or not isinstance(obj, (dict, list)):
        return _COMPACT(obj)
    pad = "\n" + "  " * (level + 1)
    if isinstance(obj, dict):
        body = [_COMPACT(str(k)) + ": " + dumps(v, depth, level + 1) for k, v in obj.items()]
        return "{" + pad + ("," + pad).join(body) + "\n" + "  " * level + "}"
    if not any(isinstance(v, (dict, list)) for v in obj):
        return _COMPACT(obj)  # a list of scalars (tags, names) stays on its line
    body = [dumps(v, depth, level + 1) for v in obj]
    return "[" + pad + ("," + pad).join(body) + "\n" + "  " * level + "]"
