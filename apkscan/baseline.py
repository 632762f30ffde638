"""Baselines: findings a team has accepted (with a reason and an optional expiry), so that
CI fails only on new ones. Matching is by finding fingerprint and package."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from apkscan.errors import UsageError
from apkscan.model import Acceptance, Finding, ScanResult, Severity, Suppression

if TYPE_CHECKING:
    from apkscan.config import Suppress

BASELINE_VERSION = 1


@dataclass(frozen=True)
class Accepted:
    fingerprint: str
    rule_id: str
    package: str
    reason: str
    expires: str | None
    title: str = ""

    def active(self, today: date | None = None) -> bool:
        if not self.expires:
            return True
        return date.fromisoformat(self.expires) >= (today or date.today())


@dataclass(frozen=True)
class Baseline:
    entries: tuple[Accepted, ...]

    @classmethod
    def load(cls, path: Path) -> Baseline:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UsageError(f"{path}: baseline file not found") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise UsageError(f"{path}: not a baseline file ({exc})") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("accepted"), list):
            raise UsageError(f"{path}: not a baseline file (no 'accepted' list)")
        out = []
        for i, e in enumerate(doc["accepted"]):
            if not isinstance(e, dict) or not e.get("fingerprint") or not e.get("reason"):
                raise UsageError(f"{path}: accepted[{i}] needs 'fingerprint' and 'reason'")
            expires = e.get("expires")
            if expires:
                try:
                    date.fromisoformat(str(expires))
                except ValueError:
                    raise UsageError(f"{path}: accepted[{i}]: expires {expires!r} is not an ISO date") from None
            out.append(
                Accepted(
                    str(e["fingerprint"]),
                    str(e.get("rule_id", "")),
                    str(e.get("package", "")),
                    str(e["reason"]),
                    str(expires) if expires else None,
                    str(e.get("title", "")),
                )
            )
        return cls(tuple(out))

    def accepts(self, finding: Finding, package: str, today: date | None = None) -> bool:
        return any(
            a.fingerprint == finding.fingerprint and (not a.package or a.package == package) and a.active(today)
            for a in self.entries
        )

    def new_findings(self, result: ScanResult, today: date | None = None) -> list[Finding]:
        pkg = result.facts.manifest.package
        return [f for f in result.findings if not self.accepts(f, pkg, today)]


def accept(
    result: ScanResult,
    baseline: Baseline | None = None,
    suppress: tuple[Suppress, ...] | list[Suppress] = (),
    today: date | None = None,
) -> ScanResult:
    """The result with its :class:`~apkscan.model.Acceptance`: which findings the baseline
    or a config suppression accepts (and why), and which baseline entries of this package
    are absent now. Findings and verdict are unchanged."""
    import dataclasses

    pkg = result.facts.manifest.package
    accepted: list[Suppression] = []
    matched: set[str] = set()
    for f in result.findings:
        hit: Suppression | None = None
        if baseline is not None:
            entry = next(
                (
                    a
                    for a in baseline.entries
                    if a.fingerprint == f.fingerprint and (not a.package or a.package == pkg) and a.active(today)
                ),
                None,
            )
            if entry is not None:
                matched.add(entry.fingerprint)
                hit = Suppression(f.fingerprint, f.rule_id, "baseline", entry.reason, entry.expires or "", f.title)
        if hit is None:
            rule = next((s for s in suppress if s.active(today) and s.matches(f, pkg)), None)
            if rule is not None:
                hit = Suppression(f.fingerprint, f.rule_id, "config", rule.reason, rule.expires, f.title)
        if hit is not None:
            accepted.append(hit)
    absent: list[Suppression] = []
    if baseline is not None:
        present = {f.fingerprint for f in result.findings}
        for a in baseline.entries:
            if (a.package and a.package != pkg) or a.fingerprint in present or not a.active(today):
                continue
            absent.append(Suppression(a.fingerprint, a.rule_id, "baseline", a.reason, a.expires or "", a.title))
    acceptance = Acceptance(baseline=baseline is not None, accepted=tuple(accepted), absent=tuple(absent))
    return dataclasses.replace(result, acceptance=acceptance)


def hide_below(result: ScanResult, min_severity: Severity | None) -> ScanResult:
    """The result for the reports with the findings below ``min_severity`` left out and
    counted (``--min-severity``); the verdict, decided on every finding, is unchanged.
    Call after the ``--fail-on`` gate, which counts every finding."""
    import dataclasses

    if min_severity is None:
        return result
    findings = tuple(f for f in result.findings if f.severity >= min_severity)
    acceptance = dataclasses.replace(
        result.acceptance, hidden=len(result.findings) - len(findings), min_severity=min_severity.label
    )
    return dataclasses.replace(result, findings=findings, acceptance=acceptance)


def open_findings(result: ScanResult) -> list[Finding]:
    """The findings no baseline entry or suppression accepts (what ``--fail-on`` counts)."""
    accepted = {s.fingerprint for s in result.acceptance.accepted}
    return [f for f in result.findings if f.fingerprint not in accepted]


def create_baseline(reports: list[Path], output: Path, reason: str, expires: str | None) -> int:
    if expires:
        try:
            date.fromisoformat(expires)
        except ValueError:
            raise UsageError(f"--expires: {expires!r} is not an ISO date (YYYY-MM-DD)") from None
    accepted: list[dict[str, Any]] = []
    for path in reports:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            pkg = doc["app"]["package"]
            findings = doc["findings"]
        except FileNotFoundError:
            raise UsageError(f"{path}: no such report") from None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise UsageError(f"{path}: not an apkscan JSON report ({exc})") from None
        for f in findings:
            accepted.append(
                {
                    "fingerprint": f["fingerprint"],
                    "rule_id": f["rule_id"],
                    "package": pkg,
                    "title": f["title"],
                    "reason": reason,
                    "expires": expires,
                }
            )
    unique = list({(a["fingerprint"], a["package"]): a for a in accepted}.values())
    output.write_text(
        json.dumps({"version": BASELINE_VERSION, "accepted": unique}, ensure_ascii=False, indent=2) + "\n",
        encoding="utf-8",
    )
    return len(unique)
