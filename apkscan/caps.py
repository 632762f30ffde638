"""Caps on what one scan reports, and the findings that say what was not analysed.

A hostile app can make every rule match thousands of times or hit a limit of the
extraction on purpose. Reports stay bounded (evidence per finding, findings per scan,
each with an "and N more" count), and every limit, time-out, memory shortage or
unreadable part becomes an ``analysis`` finding (medium or higher), so the verdict never
treats what was not analysed as clean (the verdict keeps it at ``review``).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import replace

from apkscan.facts import ApkFacts
from apkscan.limits import LIMIT_NAMES
from apkscan.model import Evidence, Finding, Reference, RuleError, Severity
from apkscan.verdict import LOWERED_LIMIT_TAG

MAX_EVIDENCE = 100
"""Evidence items kept per finding; :attr:`Finding.evidence_total` says how many there were."""
MAX_FINDINGS = 2000
"""Findings kept per scan (the most severe first); one ``ANALYSIS-FINDINGS-CAP`` finding
says how many more there were."""

FAIL_CLOSED_REF = Reference(
    "apkscan docs/security.md",
    "",
    "Fail closed: what was not analysed is never treated as clean",
)

_RULE_SUFFIX: dict[str, str] = {
    "max_entries": "LIMIT-ENTRIES",
    "max_entry_bytes": "LIMIT-ENTRY-SIZE",
    "max_total_bytes": "LIMIT-TOTAL-BYTES",
    "max_memory_bytes": "LIMIT-MEMORY-BUDGET",
    "max_ratio": "LIMIT-RATIO",
    "max_depth": "LIMIT-DEPTH",
    "max_manifest_bytes": "LIMIT-MANIFEST-SIZE",
    "max_text_asset_bytes": "LIMIT-TEXT-ASSET",
    "arsc_counts": "LIMIT-ARSC-COUNTS",
    "phase_seconds": "TIMEOUT",
    "timeout": "TIMEOUT",
}
_UNREADABLE_KINDS = frozenset({"dex-parse", "axml", "arsc"})
"""Problem kinds that leave code or the manifest unanalysed (a signature, an asset or a
YARA note does not)."""


def _fingerprint(rule_id: str, evidence: tuple[Evidence, ...]) -> str:
    parts = sorted({f"{e.file}|{e.value}" for e in evidence})
    return hashlib.sha256("\n".join([rule_id, *parts]).encode()).hexdigest()[:32]


def _analysis(
    rule_id: str,
    title: tuple[str, str],
    severity: Severity,
    description: tuple[str, str],
    ev: list[Evidence],
) -> Finding:
    """An ``analysis`` finding; ``title`` and ``description`` are (English, Chinese)."""
    kept = tuple(ev[:MAX_EVIDENCE])
    return Finding(
        rule_id=rule_id,
        title=title[0],
        severity=severity,
        confidence="high",
        category="analysis",
        description=description[0],
        remediation=(
            "A person must review the parts that were not analysed (or rescan with higher "
            "--limit values / --timeout if the input is trusted)."
        ),
        title_zh=title[1],
        description_zh=description[1],
        remediation_zh="需人工复核未分析的部分（如输入可信，也可提高 --limit 限值或 --timeout 后重新扫描）。",
        tags=("analysis", "fail-closed"),
        references=(FAIL_CLOSED_REF,),
        evidence=kept,
        source="builtin",
        fingerprint=_fingerprint(rule_id, kept),
        evidence_total=len(ev) if len(ev) > len(kept) else 0,
    )


def analysis_findings(
    facts: ApkFacts, errors: list[RuleError] | tuple[RuleError, ...] = (), lowered: frozenset[str] = frozenset()
) -> list[Finding]:
    """One ``analysis`` finding per limit hit (``ANALYSIS-LIMIT-*``, ``ANALYSIS-TIMEOUT``),
    for memory shortage (``ANALYSIS-MEMORY``), for unreadable code or manifest
    (``ANALYSIS-UNREADABLE``) and for rules that raised (``ANALYSIS-RULE-ERROR``)."""
    by_rule: dict[str, list[Evidence]] = defaultdict(list)
    names: dict[str, str] = {}
    for p in facts.problems:
        item = Evidence("problem", p.message, file=p.where, detail=p.limit or p.kind)
        if p.kind == "limit":
            suffix = _RULE_SUFFIX.get(p.limit, "LIMIT-ENTRY-SIZE" if not p.limit else "LIMIT-" + p.limit.upper())
            by_rule[suffix].append(item)
            names[suffix] = p.limit
        elif p.kind == "memory":
            by_rule["MEMORY"].append(item)
        elif p.kind in _UNREADABLE_KINDS:
            by_rule["UNREADABLE"].append(item)
    for e in errors:
        by_rule["RULE-ERROR"].append(Evidence("rule", e.rule_id, detail=e.message[:300]))
    out: list[Finding] = []
    for suffix, ev in sorted(by_rule.items()):
        rid = f"ANALYSIS-{suffix}"
        if suffix == "MEMORY":
            out.append(
                _analysis(
                    rid,
                    ("Ran out of memory: part of the app was not analysed", "内存不足，部分内容未分析"),
                    Severity.HIGH,
                    (
                        "The scan ran out of memory while reading the parts listed; what they hold is unknown, "
                        "and the verdict cannot be better than review.",
                        "扫描在读取所列部分时内存不足，其内容未知，结论至少为人工复核。",
                    ),
                    ev,
                )
            )
        elif suffix == "UNREADABLE":
            out.append(
                _analysis(
                    rid,
                    ("Code or manifest could not be read", "代码或清单无法解析"),
                    Severity.MEDIUM,
                    (
                        "Android may run parts of this app that the scanner could not parse (a corrupt or "
                        "deliberately malformed dex, manifest or resource table); they were not analysed.",
                        "Android可能运行本应用中扫描器无法解析的部分（损坏或被蓄意构造畸形的dex、清单或资源表），"
                        "这些部分未被分析。",
                    ),
                    ev,
                )
            )
        elif suffix == "RULE-ERROR":
            out.append(
                _analysis(
                    rid,
                    ("Rules failed on this app", "规则执行失败"),
                    Severity.MEDIUM,
                    (
                        "Some rules raised an error on this app's facts, so what they check was not evaluated.",
                        "部分规则在本应用上执行出错，相应检查未完成。",
                    ),
                    ev,
                )
            )
        elif suffix == "TIMEOUT":
            out.append(
                _analysis(
                    rid,
                    ("Time limit reached: part of the app was not analysed", "超时，部分内容未分析"),
                    Severity.MEDIUM,
                    (
                        "A phase of the scan reached its time limit and stopped; the parts listed were not analysed.",
                        "扫描阶段达到时间上限后停止，所列部分未被分析。",
                    ),
                    ev,
                )
            )
        else:
            en, zh = LIMIT_NAMES.get(names.get(suffix, ""), ("safety", "安全"))
            limit = names.get(suffix) or "a reader's own size cap"
            out.append(
                _analysis(
                    rid,
                    (
                        f"Safety limit on {en} reached: part of the app was not analysed",
                        f"达到{zh}上限，部分内容未分析",
                    ),
                    Severity.MEDIUM,
                    (
                        f"The {en} limit ({limit}, changeable with --limit) stopped the parts listed from being "
                        "read; what they hold is unknown, so the app cannot pass on silence.",
                        f"{zh}上限（{limit}，可用 --limit 调整）使所列部分未被读取，其内容未知，结论至少为人工复核。",
                    ),
                    ev,
                )
            )
            if names.get(suffix) in lowered:  # set lower than its default for this scan
                out[-1] = replace(out[-1], tags=(*out[-1].tags, LOWERED_LIMIT_TAG))
    return out


def cap_findings(findings: list[Finding]) -> list[Finding]:
    """Findings with at most :data:`MAX_EVIDENCE` evidence items each (``evidence_total``
    set where more were found) and at most :data:`MAX_FINDINGS` findings, the most
    severe first; the rest are counted in one ``ANALYSIS-FINDINGS-CAP`` finding."""
    out = []
    for f in findings:
        if len(f.evidence) > MAX_EVIDENCE:
            total = max(f.evidence_total, len(f.evidence))
            f = replace(f, evidence=f.evidence[:MAX_EVIDENCE], evidence_total=total)
        out.append(f)
    if len(out) <= MAX_FINDINGS:
        return out
    ordered = sorted(out, key=lambda f: -f.severity)  # stable: the caller's order within a severity
    kept = ordered[: MAX_FINDINGS - 1]
    dropped = ordered[MAX_FINDINGS - 1 :]
    ev = [Evidence("rule", f.rule_id, detail=f.severity.label) for f in dropped]
    kept.append(
        _analysis(
            "ANALYSIS-FINDINGS-CAP",
            (f"Too many findings: {len(dropped)} more not listed", f"发现过多，另有 {len(dropped)} 项未列出"),
            Severity.MEDIUM,
            (
                f"This app produced {len(out)} findings; the report lists the {MAX_FINDINGS - 1} most severe and "
                "names the rules of the rest (a flood of findings is itself a reason for a person to look).",
                f"本应用产生 {len(out)} 项发现，报告列出最严重的 {MAX_FINDINGS - 1} 项，并列出其余发现的规则编号"
                "（发现数量过多本身就是需要人工查看的理由）。",
            ),
            ev,
        )
    )
    return kept
