"""SARIF 2.1.0: one run, rules in ``tool.driver.rules``, results with logical locations
(class and method) and fingerprints that survive rebuilds (no offsets)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from apkscan import __version__
from apkscan.model import Finding, ScanResult, Severity, Suppression
from apkscan.report import i18n

LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
# GitHub code scanning reads "security-severity" (0-10) to rank alerts.
SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "1.0",
}
PRECISION = {"high": "high", "medium": "medium", "low": "low"}


def _texts(f: Finding | Any, lang: str) -> tuple[str, str, str]:
    """(title, description, remediation) of a finding or rule in ``lang``; English where a
    Chinese text is missing."""
    if lang == "zh":
        return (
            getattr(f, "title_zh", "") or f.title,
            getattr(f, "description_zh", "") or f.description,
            getattr(f, "remediation_zh", "") or f.remediation,
        )
    return f.title, f.description, f.remediation


def _rule(f: Finding | Any, lang: str = "en") -> dict[str, Any]:
    """A ``reportingDescriptor`` from a finding, or from a rule (the same attributes:
    id, title, description, remediation, severity, confidence, category, tags, references),
    its texts in ``lang``."""
    rule_id = f.rule_id if isinstance(f, Finding) else f.id
    title, description, remediation = _texts(f, lang)
    refs = "\n".join(f"- {i18n.reference_name(r.id, lang)}" + (f" <{r.url}>" if r.url else "") for r in f.references)
    labels = ("整改建议", "依据") if lang == "zh" else ("Remediation", "References")
    help_text = f"{description}\n\n{labels[0]}: {remediation}\n\n{labels[1]}:\n{refs}".strip()
    out: dict[str, Any] = {
        "id": rule_id,
        "name": "".join(w.capitalize() for w in rule_id.replace("_", "-").split("-")),
        "shortDescription": {"text": title},
        "fullDescription": {"text": description},
        "help": {"text": help_text, "markdown": help_text},
        "defaultConfiguration": {"level": LEVEL[f.severity]},
        "properties": {
            "tags": list(dict.fromkeys([f.category, *f.tags])),
            "category": f.category,
            "severity": f.severity.label,
            "security-severity": SECURITY_SEVERITY[f.severity],
            "precision": PRECISION.get(f.confidence, "medium"),
            "references": [{"id": r.id, "url": r.url} for r in f.references],
        },
    }
    url = next((r.url for r in f.references if r.url), "")
    if url:
        out["helpUri"] = url
    return out


def _suppression(s: Suppression) -> dict[str, Any]:
    """A SARIF ``suppression``: ``external`` (a baseline or config file, not the APK),
    accepted, with the team's reason."""
    out: dict[str, Any] = {
        "kind": "external",
        "status": "accepted",
        "justification": s.reason,
        "properties": {"source": s.kind},
    }
    if s.expires:
        out["properties"]["expires"] = s.expires
    return out


def _absent_rule(s: Suppression) -> dict[str, Any]:
    return {"id": s.rule_id, "shortDescription": {"text": s.title or s.rule_id}}


def _message(f: Finding, lang: str = "en") -> str:
    where = ""
    e = f.place
    if e is not None:
        bits = [
            b
            for b in (
                e.value,
                e.class_name and f"{'位于' if lang == 'zh' else 'in'} {e.class_name}.{e.method}".rstrip("."),
                e.sdk and f"(SDK {e.sdk})",
            )
            if b
        ]
        where = ": " + " ".join(bits)
        if len(f.evidence) > 1:
            where += f" 等 {len(f.evidence)} 处" if lang == "zh" else f" and {len(f.evidence) - 1} more"
    return f"{_texts(f, lang)[0]}{where}"


def render(results: list[ScanResult], ran: Sequence[Any] = (), lang: str = "en") -> str:
    """One run for ``results``. ``ran``: the rules that ran (YAML rules, YARA metas), all
    listed in ``tool.driver.rules`` whether they fired or not; built-in checks that fired
    are added from their findings. Findings a baseline or the config accepted carry
    ``suppressions``; with a baseline every result has a ``baselineState`` (``new``,
    ``unchanged``, and ``absent`` for baseline entries no longer found). Rule texts and
    result messages are in ``lang`` (``zh`` or ``en``)."""
    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    for r in ran:
        if r.id not in index:
            index[r.id] = len(rules)
            rules.append(_rule(r, lang))
    artifacts: list[dict[str, Any]] = []
    sarif_results: list[dict[str, Any]] = []
    notifications: list[dict[str, Any]] = []
    digests = sorted({r.rules_digest for r in results if r.rules_digest})
    for a_idx, res in enumerate(results):
        facts = res.facts
        artifacts.append(
            {
                "location": {"uri": facts.file_name},
                "length": facts.size,
                "hashes": {"sha-256": facts.sha256},
                "mimeType": "application/vnd.android.package-archive",
                "properties": {
                    "package": facts.manifest.package,
                    "versionName": facts.manifest.version_name,
                    "verdict": res.verdict,
                    "verdictReason": res.verdict_reason,
                    "verdictReasonZh": res.verdict_reason_zh,
                },
            }
        )
        for p in facts.problems:
            notifications.append(
                {
                    "level": "warning",
                    "message": {"text": f"{facts.file_name}: {p.where}: {p.message}"},
                    "descriptor": {"id": p.kind},
                }
            )
        for f in res.findings:
            if f.rule_id not in index:
                index[f.rule_id] = len(rules)
                rules.append(_rule(f, lang))
            logical = []
            for e in f.evidence[:20]:
                if e.class_name:
                    name = f"{e.class_name}.{e.method.split('(', 1)[0]}" if e.method else e.class_name
                    logical.append({"fullyQualifiedName": name, "kind": "function" if e.method else "type"})
            location: dict[str, Any] = {
                "physicalLocation": {"artifactLocation": {"uri": facts.file_name, "index": a_idx}},
            }
            if logical:
                location["logicalLocations"] = list({json.dumps(x, sort_keys=True): x for x in logical}.values())[:10]
            item: dict[str, Any] = {
                "ruleId": f.rule_id,
                "ruleIndex": index[f.rule_id],
                "level": LEVEL[f.severity],
                "message": {"text": _message(f, lang)},
                "locations": [location],
                "partialFingerprints": {"apkscanFinding/v1": f.fingerprint},
            }
            accepted = res.acceptance.of(f.fingerprint)
            if res.acceptance.baseline:
                in_baseline = accepted is not None and accepted.kind == "baseline"
                item["baselineState"] = "unchanged" if in_baseline else "new"
            if accepted is not None:
                item["suppressions"] = [_suppression(accepted)]
            sarif_results.append(
                {
                    **item,
                    "properties": {
                        "severity": f.severity.label,
                        "confidence": f.confidence,
                        "category": f.category,
                        "package": facts.manifest.package,
                        "evidence": [
                            {
                                k: v
                                for k, v in (
                                    ("kind", e.kind),
                                    ("value", e.value),
                                    ("file", e.file),
                                    ("class", e.class_name),
                                    ("method", e.method),
                                    ("sdk", e.sdk),
                                    ("offset", e.offset),
                                )
                                if v not in ("", None)
                            }
                            for e in f.evidence[:50]
                        ],
                    },
                }
            )
        for gone in res.acceptance.absent:
            if gone.rule_id not in index:
                index[gone.rule_id] = len(rules)
                rules.append(_absent_rule(gone))
            sarif_results.append(
                {
                    "ruleId": gone.rule_id,
                    "ruleIndex": index[gone.rule_id],
                    "level": "none",
                    "message": {
                        "text": f"{gone.title or gone.rule_id}: "
                        + ("基线中有此项，本次未再发现" if lang == "zh" else "in the baseline, no longer found")
                    },
                    "locations": [{"physicalLocation": {"artifactLocation": {"uri": facts.file_name, "index": a_idx}}}],
                    "partialFingerprints": {"apkscanFinding/v1": gone.fingerprint},
                    "baselineState": "absent",
                    "suppressions": [_suppression(gone)],
                    "properties": {"package": facts.manifest.package},
                }
            )
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "apkscan",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": "https://github.com/apkscan/apkscan",
                "rules": rules,
            }
        },
        "artifacts": artifacts,
        "results": sarif_results,
        "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notifications}],
        "columnKind": "unicodeCodePoints",
        "properties": {"rulesDigest": digests[0] if len(digests) == 1 else digests},
    }
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [run],
    }
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def merge(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """One SARIF log with one run from apkscan's per-APK logs (code scanning refuses
    several runs of one tool and category in an upload): rules united by id, artifacts
    concatenated, ``ruleIndex`` and artifact ``index`` renumbered."""
    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    artifacts: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    notifications: list[dict[str, Any]] = []
    digests: list[str] = []
    driver: dict[str, Any] = {}
    for doc in docs:
        for run in doc.get("runs", []):
            driver = driver or run["tool"]["driver"]
            run_rules = run["tool"]["driver"].get("rules", [])
            for r in run_rules:
                if r["id"] not in index:
                    index[r["id"]] = len(rules)
                    rules.append(r)
            offset = len(artifacts)
            artifacts.extend(run.get("artifacts", []))
            for res in run.get("results", []):
                res = json.loads(json.dumps(res))
                res["ruleIndex"] = index[res["ruleId"]]
                for loc in res.get("locations", []):
                    art = loc.get("physicalLocation", {}).get("artifactLocation", {})
                    if "index" in art:
                        art["index"] += offset
                results.append(res)
            for inv in run.get("invocations", []):
                notifications.extend(inv.get("toolExecutionNotifications", []))
            d = run.get("properties", {}).get("rulesDigest")
            digests.extend([d] if isinstance(d, str) else list(d or []))
    run_out: dict[str, Any] = {
        "tool": {"driver": {**driver, "name": "apkscan", "rules": rules}},
        "artifacts": artifacts,
        "results": results,
        "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notifications}],
        "columnKind": "unicodeCodePoints",
        "properties": {"rulesDigest": sorted(set(digests))},
    }
    return {"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0", "runs": [run_out]}


def main(argv: list[str] | None = None) -> int:
    """``python -m apkscan.report.sarif OUT.sarif IN.sarif...``: merge per-APK logs (the
    GitHub action uploads one file)."""
    import sys
    from pathlib import Path

    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 2:
        sys.stderr.write("usage: python -m apkscan.report.sarif OUT.sarif IN.sarif...\n")
        return 2
    out, inputs = Path(args[0]), [Path(a) for a in args[1:] if Path(a).resolve() != Path(args[0]).resolve()]
    docs = [json.loads(p.read_text(encoding="utf-8")) for p in inputs]
    out.write_text(json.dumps(merge(docs), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
