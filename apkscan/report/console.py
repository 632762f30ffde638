"""Console summaries (rich). Every APK-derived string is stripped of control characters
and rich markup before it reaches the terminal."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from apkscan.model import ScanResult, Severity
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


def clean(text: str, limit: int = 120) -> str:
    """Safe for a terminal: no escapes, no bidi overrides, no rich markup, bounded."""
    text = neutralise(text)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return escape(text)


def summary(console: Console, result: ScanResult, paths: list[str], top: int = 8) -> None:
    f = result.facts
    m = f.manifest
    verdict = result.verdict or "pass"
    counts = result.counts()
    title = (
        f"[{VERDICT_STYLE.get(verdict, 'bold')}]{verdict.upper()}[/] "
        f"{clean(m.label or f.file_name, 60)}  [dim]{clean(m.package, 80)} {clean(m.version_name, 30)}[/]"
    )
    table = Table(title=title, title_justify="left", show_header=True, header_style="bold", expand=False)
    table.add_column("severity", no_wrap=True)
    table.add_column("rule", no_wrap=True)
    table.add_column("finding")
    table.add_column("where", overflow="fold")
    for finding in result.findings[:top]:
        where = ""
        if finding.evidence:
            e = finding.evidence[0]
            where = e.class_name or e.file or e.value
            if e.sdk:
                where += f" [{e.sdk}]"
        accepted = result.acceptance.of(finding.fingerprint)
        table.add_row(
            f"[{SEVERITY_STYLE[finding.severity]}]{finding.severity.label}[/]",
            clean(finding.rule_id, 40),
            clean(finding.title, 90) + (f" [dim](accepted: {accepted.kind})[/]" if accepted else ""),
            clean(where, 70),
        )
    console.print(table)
    if result.verdict_reason:
        console.print(f"  [bold]{verdict}[/]: {clean(result.verdict_reason, 200)}")
    parts = [f"{n} {name}" for name, n in counts.items() if n]
    more = len(result.findings) - top
    console.print(
        f"  {len(result.findings)} findings ({', '.join(reversed(parts)) or 'none'})"
        + (f"; {more} more in the report" if more > 0 else "")
        + f"; {len(result.sdks)} SDKs{_unidentified(result)}; {len(result.facts.problems)} problems"
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


def _acceptance_line(result: ScanResult) -> str:
    """``12 accepted (10 by the baseline, 2 by the config), 21 open; 3 in the baseline no
    longer found; 4 below medium not shown``; ``""`` when nothing was accepted or hidden."""
    a = result.acceptance
    parts = []
    if a.accepted or a.baseline:
        by = {k: sum(1 for s in a.accepted if s.kind == k) for k in ("baseline", "config")}
        detail = ", ".join(f"{n} by the {k}" for k, n in by.items() if n)
        parts.append(
            f"{len(a.accepted)} accepted" + (f" ({detail})" if detail else "")
            + f", {sum(1 for f in result.findings if a.of(f.fingerprint) is None)} open"
        )
    if a.absent:
        parts.append(f"{len(a.absent)} in the baseline no longer found")
    if a.hidden:
        parts.append(f"{a.hidden} below {a.min_severity} not shown")
    return "; ".join(parts)
