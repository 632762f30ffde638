"""The verdict: what a store should do with an app, and the findings that decided it.

Four levels, from best to worst:

``pass``
    Nothing that needs action.
``fix``
    A lawful app that breaks personal-data, store or security rules: send it back to the
    developer to fix. Only compliance findings (``personal-data``, ``permissions``,
    ``security``, ``store-policy``, ``sdk``) at or above ``fix_at`` lead here.
``review``
    Genuinely uncertain: a human must look. A strong signal of an illegal app that is not
    corroborated (one finding of ``fraud``, ``gambling`` or ``malware`` at ``review_at``),
    or an app that could not be fully analysed (any ``analysis`` or ``tampering`` finding at
    medium or above: a limit, a packer, a time-out, a tampered archive). An app that hides
    part of itself never passes on silence.
``reject``
    An illegal app (fraud, gambling, malware, impersonation): refuse and report it. A
    finding of an illegal category at ``reject_at`` (by default ``critical``: the composite
    profiles), or a strong (``review_at``) illegal finding corroborated by a second
    independent one (another strong one, or a medium illegal, tampering or analysis
    finding) whose evidence is mostly its own.

The levels are ordered; :func:`worse` picks the worse of two. Nothing that removes
findings can improve a verdict: each rule only ever raises it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from apkscan.model import Finding, Severity

LOWERED_LIMIT_TAG = "lowered-limit"
"""Tag of an ANALYSIS-LIMIT finding of a limit the user set below its default
(``--limit``): it keeps the verdict at review or worse, but corroborates no illegal-app
signal, since it shows where the analysis stopped, not what the app hides."""

LEVELS: tuple[str, ...] = ("pass", "fix", "review", "reject")
"""Best to worst."""

ILLEGAL: frozenset[str] = frozenset({"fraud", "gambling", "malware"})
INCOMPLETE: frozenset[str] = frozenset({"analysis", "tampering"})
COMPLIANCE: frozenset[str] = frozenset({"personal-data", "permissions", "security", "store-policy", "sdk"})

INCOMPLETE_AT = Severity.MEDIUM
"""An ``analysis`` or ``tampering`` finding from this severity keeps the verdict at review."""

TEXT: dict[str, tuple[str, str]] = {
    "pass": ("PASS", "通过"),
    "fix": ("FIX", "需整改"),
    "review": ("REVIEW", "需人工复核"),
    "reject": ("REJECT", "建议驳回"),
}
"""Level -> (English, Chinese) for reports."""

ZH: dict[Severity, str] = {
    Severity.CRITICAL: "严重",
    Severity.HIGH: "高危",
    Severity.MEDIUM: "中危",
    Severity.LOW: "低危",
    Severity.INFO: "提示",
}
"""Severity names in Chinese, for the reasons."""


@dataclass(frozen=True)
class Thresholds:
    reject_at: Severity = Severity.CRITICAL
    review_at: Severity = Severity.HIGH
    fix_at: Severity = Severity.MEDIUM


@dataclass(frozen=True)
class Verdict:
    level: str
    reason: str
    """One line: why, naming the deciding findings."""
    reason_zh: str
    deciding: tuple[str, ...] = ()
    """Rule ids of the findings that decided it, most severe first."""

    def result_fields(self) -> dict[str, Any]:
        """The :class:`~apkscan.model.ScanResult` fields that carry it (``replace(result,
        **v.result_fields())``)."""
        return {"verdict": self.level, "verdict_reason": self.reason, "verdict_reason_zh": self.reason_zh,
                "verdict_deciding": self.deciding}


PROFILE_TAG = "profile"
"""Composite rules (tag ``profile``) restate the findings they combine: they decide alone at
``reject_at`` but are not counted again as an independent signal."""
SUPPORT_AT = Severity.MEDIUM
SUPPORT_NEEDED = 1
"""One strong signal plus this many independent weaker ones (medium illegal-app findings,
or tampering and analysis findings: hiding corroborates) rejects: a strong signal that a
second, unrelated behaviour confirms is no longer uncertain."""
SHARED_EVIDENCE = frozenset({"permission", "rule", "sdk"})
"""Evidence kinds that many rules share as context; two findings are independent when the
rest of their evidence does not overlap."""


def _own_evidence(f: Finding) -> frozenset[tuple[str, str, str, str]]:
    return frozenset((e.kind, e.value, e.class_name, e.method) for e in f.evidence if e.kind not in SHARED_EVIDENCE)


def _overlaps(a: frozenset[tuple[str, str, str, str]], b: frozenset[tuple[str, str, str, str]]) -> bool:
    """Half or more of the smaller evidence set is in the other one."""
    if not a or not b:
        return False
    return len(a & b) * 2 >= min(len(a), len(b))


def independent(findings: Iterable[Finding]) -> list[Finding]:
    """The findings, most severe and most specific first, that rest mostly on evidence of
    their own: a finding half or more of whose evidence another kept finding already holds
    is the same signal told twice (a receiver reported by an SMS-theft rule and by a
    receiver-priority rule), not a second one."""
    kept: list[tuple[Finding, frozenset[tuple[str, str, str, str]]]] = []
    for f in sorted(findings, key=lambda f: (-int(f.severity), len(_own_evidence(f)), f.rule_id)):
        own = _own_evidence(f)
        if any(f.rule_id == g.rule_id or _overlaps(own, g_own) for g, g_own in kept):
            continue
        kept.append((f, own))
    return [f for f, _ in kept]


def rank(level: str) -> int:
    return LEVELS.index(level) if level in LEVELS else 0


def worse(a: str, b: str) -> str:
    return a if rank(a) >= rank(b) else b


def check_thresholds(t: Thresholds) -> str:
    """An error message when the thresholds are inverted, else ``""``."""
    if t.review_at > t.reject_at:
        return f"--review-at {t.review_at.label} is above --reject-at {t.reject_at.label}"
    return ""


def _ids(findings: Iterable[Finding], limit: int = 3) -> tuple[str, ...]:
    ordered = sorted(findings, key=lambda f: (-int(f.severity), f.rule_id))
    return tuple(dict.fromkeys(f.rule_id for f in ordered))[:limit]


def decide(findings: Iterable[Finding], t: Thresholds | None = None) -> Verdict:
    t = t or Thresholds()
    fs = list(findings)
    titles: dict[str, tuple[str, str]] = {}
    for f in sorted(fs, key=lambda f: -int(f.severity)):
        titles.setdefault(f.rule_id, (f.title, f.title_zh or f.title))

    def _list(ids: tuple[str, ...]) -> str:
        """The deciding rules with what they found: ``FR-X (Label names a bank ...), FR-Y (...)``."""
        return ", ".join(f"{i} ({titles[i][0]})" if titles.get(i, ("", ""))[0] else i for i in ids)

    def _list_zh(ids: tuple[str, ...]) -> str:
        return "、".join(f"{i}（{titles[i][1]}）" if titles.get(i, ("", ""))[1] else i for i in ids)

    illegal = [f for f in fs if f.category in ILLEGAL]
    decisive = [f for f in illegal if f.severity >= t.reject_at]
    if decisive:
        ids = _ids(decisive)
        return Verdict(
            "reject",
            f"illegal-app finding at {t.reject_at.label} or above: {_list(ids)}",
            f"存在违法违规应用特征（{ZH[t.reject_at]}及以上）：{_list_zh(ids)}",
            ids,
        )
    strong = [f for f in illegal if f.severity >= t.review_at]
    incomplete = [f for f in fs if f.category in INCOMPLETE and f.severity >= INCOMPLETE_AT]
    signals = independent([f for f in strong if PROFILE_TAG not in f.tags])
    if len(signals) >= 2:
        ids = _ids(signals)
        return Verdict(
            "reject",
            f"{len(signals)} independent strong illegal-app signals: {_list(ids)}",
            f"{len(signals)} 项相互独立的违法应用强特征：{_list_zh(ids)}",
            ids,
        )
    if signals:
        # a limit the user lowered shows where the analysis stopped, not what the app hides
        hiding = [f for f in incomplete if LOWERED_LIMIT_TAG not in f.tags]
        weaker = [f for f in illegal if f.severity < t.review_at and f.severity >= SUPPORT_AT] + hiding
        support = independent(signals + weaker)[1:]
        if len(support) >= SUPPORT_NEEDED:
            ids = _ids(signals) + _ids(support)
            return Verdict(
                "reject",
                f"a strong illegal-app signal, {_list((signals[0].rule_id,))}, corroborated by {len(support)} "
                f"independent weaker ones: {_list(_ids(support))}",
                f"违法应用强特征{_list_zh((signals[0].rule_id,))}得到 {len(support)} 项独立佐证："
                f"{_list_zh(_ids(support))}",
                ids,
            )
    if strong or incomplete:
        ids = _ids(strong) + _ids(incomplete)
        parts_en, parts_zh = [], []
        if strong:
            parts_en.append(f"one strong illegal-app signal needs a human: {_list(_ids(strong))}")
            parts_zh.append(f"单项违法应用强特征需人工确认：{_list_zh(_ids(strong))}")
        if incomplete:
            parts_en.append(f"not fully analysable or tampered: {_list(_ids(incomplete))}")
            parts_zh.append(f"无法完整分析或存在篡改：{_list_zh(_ids(incomplete))}")
        return Verdict("review", "; ".join(parts_en), "；".join(parts_zh), ids)
    compliance = [f for f in fs if f.category in COMPLIANCE and f.severity >= t.fix_at]
    if compliance:
        ids = _ids(compliance)
        n = len({f.rule_id for f in compliance})
        return Verdict(
            "fix",
            f"{n} compliance finding{'' if n == 1 else 's'} at {t.fix_at.label} or above to fix: {_list(ids)}"
            + (" ..." if n > len(ids) else ""),
            f"{n} 项合规问题需整改（{ZH[t.fix_at]}及以上）：{_list_zh(ids)}" + (" 等" if n > len(ids) else ""),
            ids,
        )
    return Verdict(
        "pass",
        f"no finding at {t.fix_at.label} or above",
        f"未发现{ZH[t.fix_at]}及以上问题",
    )
