"""Console summaries (rich). Every APK-derived string is stripped of control characters
and rich markup before it reaches the terminal."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from apkscan.model import ScanResult, Severity
from apkscan.report.i18n import SEVERITY_ZH, VERDICT_ZH
from apkscan.report.safe import neutralise
from apkscan.sdk import UNIDENTIFIED_CATEGORY

SEVERITY_STYLE = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}
VERDICT_STYLE = {"pass": "bold green", "fix": "bold cyan", "review": "bold yellow", "reject": "bold red"}


def verdict_name(verdict: str, lang: str) -> str:
    """``reject`` or ``建议驳回``."""
    return VERDICT_ZH.get(verdict, verdict) if lang == "zh" else verdict


def clean(text: str, limit: int = 120) -> str:
    """Safe for a terminal: no escapes, no bidi overrides, no rich markup, bounded."""
    text = neutralise(text)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return escape(text)


def summary(console: Console, result: ScanResult, paths: list[str], top: int = 8, lang: str = "en") -> None:
    """The verdict, the ``top`` findings and the counts, in ``lang`` (``zh`` or ``en``)."""
    zh = lang == "zh"
    f = result.facts
    m = f.manifest
    verdict = result.verdict or "pass"
    counts = result.counts()
    title = (
        f"[{VERDICT_STYLE.get(verdict, 'bold')}]{VERDICT_ZH.get(verdict, verdict) if zh else verdict.upper()}[/] "
        f"{clean(m.label or f.file_name, 60)}  [dim]{clean(m.package, 80)} {clean(m.version_name, 30)}[/]"
    )
    table = Table(title=title, title_justify="left", show_header=True, header_style="bold", expand=False)
    heads = ("级别", "规则", "发现", "位置") if zh else ("severity", "rule", "finding", "where")
    table.add_column(heads[0], no_wrap=True)
    table.add_column(heads[1], no_wrap=True)
    table.add_column(heads[2])
    table.add_column(heads[3], overflow="fold")
    by_rule = {f.rule_id: f for f in result.findings}
    for finding in result.findings[:top]:
        where = ""
        e = finding.place
        for _ in range(5):  # a composite of other findings (of composites): where the first of them is
            if e is None or e.kind != "rule" or e.value not in by_rule:
                break
            e = by_rule[e.value].place or e
        if e is not None:
            where = e.class_name or e.file or ((f"见 {e.value}" if zh else f"see {e.value}") if e.kind == "rule"
                                               else e.value)
            if e.sdk:
                where += f" [{e.sdk}]"
        accepted = result.acceptance.of(finding.fingerprint)
        table.add_row(
            f"[{SEVERITY_STYLE[finding.severity]}]"
            f"{SEVERITY_ZH[finding.severity.label] if zh else finding.severity.label}[/]",
            clean(finding.rule_id, 40),
            clean(finding.text(lang)[0], 90)
            + (
                (f" [dim](已接受：{accepted.kind})[/]" if zh else f" [dim](accepted: {accepted.kind})[/]")
                if accepted
                else ""
            ),
            clean(where, 70),
        )
    console.print(table)
    if zh and result.verdict_reason_zh:
        console.print(f"  [bold]判定依据[/]：{clean(result.verdict_reason_zh, 400)}")
    elif result.verdict_reason:
        console.print(f"  [bold]{verdict}[/]: {clean(result.verdict_reason, 400)}")
    more = len(result.findings) - top
    if zh:
        zparts = [f"{SEVERITY_ZH[name]} {n}" for name, n in counts.items() if n]
        n_unid = sum(1 for s in result.sdks if s.category == UNIDENTIFIED_CATEGORY)
        console.print(
            f"  共 {len(result.findings)} 项发现（{'，'.join(reversed(zparts)) or '无'}）"
            + (f"；另有 {more} 项见报告" if more > 0 else "")
            + f"；SDK {len(result.sdks)} 个"
            + (f"（未识别 {n_unid} 个）" if n_unid else "")
            + (f"；{len(result.facts.problems)} 处未完整读取" if result.facts.problems else "；全部内容已读取")
            + f"；耗时 {result.duration_s:.2f} 秒"
        )
        line = _acceptance_line(result, lang)
        if line:
            console.print(f"  {line}")
        for p in paths:
            console.print(f"  报告：{escape(p)}")
        return
    parts = [f"{n} {name}" for name, n in counts.items() if n]
    console.print(
        f"  {len(result.findings)} findings ({', '.join(reversed(parts)) or 'none'})"
        + (f"; {more} more in the report" if more > 0 else "")
        + f"; {len(result.sdks)} SDKs{_unidentified(result)}"
        + (f"; {len(result.facts.problems)} parts not fully read" if result.facts.problems else "; every part read")
        + f"; {result.duration_s:.2f}s"
    )
    line = _acceptance_line(result)
    if line:
        console.print(f"  {line}")
    for p in paths:
        console.print(f"  report: {escape(p)}")


def _unidentified(result: ScanResult) -> str:
    """`` (2 unidentified)`` when discovery found package trees in no catalogue entry."""
    n = sum(1 for s in result.sdks if s.category == UNIDENTIFIED_CATEGORY)
    return f" ({n} unidentified)" if n else ""


def _acceptance_line(result: ScanResult, lang: str = "en") -> str:
    """``12 accepted (10 by the baseline, 2 by the config), 21 open; 3 in the baseline no
    longer found; 4 below medium not shown``; ``""`` when nothing was accepted or hidden."""
    a = result.acceptance
    if lang == "zh":
        zparts = []
        if a.accepted or a.baseline:
            by = {k: sum(1 for s in a.accepted if s.kind == k) for k in ("baseline", "config")}
            names = {"baseline": "基线", "config": "配置"}
            detail = "，".join(f"{names[k]} {n} 项" for k, n in by.items() if n)
            open_n = sum(1 for f in result.findings if a.of(f.fingerprint) is None)
            zparts.append(
                f"已接受 {len(a.accepted)} 项" + (f"（{detail}）" if detail else "") + f"，待处理 {open_n} 项"
            )
        if a.absent:
            zparts.append(f"基线中 {len(a.absent)} 项本次未再发现")
        if a.hidden:
            zparts.append(f"低于{SEVERITY_ZH.get(str(a.min_severity), a.min_severity)}的 {a.hidden} 项未显示")
        return "；".join(zparts)
    parts = []
    if a.accepted or a.baseline:
        by = {k: sum(1 for s in a.accepted if s.kind == k) for k in ("baseline", "config")}
        detail = ", ".join(f"{n} by the {k}" for k, n in by.items() if n)
        parts.append(
            f"{len(a.accepted)} accepted"
            + (f" ({detail})" if detail else "")
            + f", {sum(1 for f in result.findings if a.of(f.fingerprint) is None)} open"
        )
    if a.absent:
        parts.append(f"{len(a.absent)} in the baseline no longer found")
    if a.hidden:
        parts.append(f"{a.hidden} below {a.min_severity} not shown")
    return "; ".join(parts)
