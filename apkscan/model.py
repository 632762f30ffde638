"""Results: severities, categories, evidence, findings and the scan result.

A :class:`ScanResult` is what every report renders and what the batch store keeps;
it holds the facts it was computed from so that a report never needs the APK again.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from apkscan.facts import ApkFacts

if TYPE_CHECKING:
    from apkscan.rules.privacy import PrivacyReport


class Severity(enum.IntEnum):
    """Ordered: ``Severity.HIGH > Severity.LOW``."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(s.label for s in cls)
            raise ValueError(f"unknown severity {text!r} (expected one of {names})") from None

    @property
    def label(self) -> str:
        return self.name.lower()


CATEGORIES: tuple[str, ...] = (
    "fraud",
    "gambling",
    "malware",
    "personal-data",
    "permissions",
    "sdk",
    "security",
    "store-policy",
    "tampering",
    "analysis",
)
"""The closed set of finding categories. ``fraud``, ``gambling`` and ``malware`` (and
impersonation, a fraud) make an app illegal; ``analysis`` says that part of the app could
not be analysed (a limit, a packer, an error), which keeps the verdict at human review."""

CONFIDENCES: tuple[str, ...] = ("low", "medium", "high")


@dataclass(frozen=True)
class Reference:
    """A regulation, standard or policy clause a rule rests on."""

    id: str
    url: str = ""
    title: str = ""


@dataclass(frozen=True)
class Evidence:
    """One thing that was seen, and where."""

    kind: str
    """``permission``, ``api-call``, ``api-ref``, ``string``, ``url``, ``component``,
    ``manifest``, ``sdk``, ``certificate``, ``entry``, ``native-lib``, ``yara``,
    ``tampering``, ``class`` ..."""
    value: str
    """What was found: a permission name, an API, a keyword, a URL ..."""
    file: str = ""
    """Archive entry: ``AndroidManifest.xml``, ``classes2.dex``, ``assets/www/index.html``."""
    class_name: str = ""
    """Dotted class name holding the evidence (``com.umeng.x.Y``)."""
    method: str = ""
    """Method name with descriptor (``z()V``)."""
    offset: int | None = None
    """Byte offset in ``file`` (YARA matches)."""
    sdk: str = ""
    """SDK id whose package holds the evidence; ``""`` for the app itself."""
    detail: str = ""


@dataclass(frozen=True)
class Finding:
    rule_id: str
    title: str
    severity: Severity
    confidence: str
    category: str
    description: str
    """Why it matters."""
    remediation: str = ""
    tags: tuple[str, ...] = ()
    references: tuple[Reference, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    source: str = "yaml"
    """``yaml``, ``yara`` or ``builtin`` (the personal-data map, SDK and tampering checks)."""
    fingerprint: str = ""
    """Stable identity across rebuilds (rule id + SDK + API + caller; never offsets):
    used for baselines, SARIF partialFingerprints and diffs."""
    evidence_total: int = 0
    """How many evidence items the check found when :attr:`evidence` holds only the first
    of them (capped, see :mod:`apkscan.caps`); 0 when nothing was left out."""
    title_zh: str = ""
    """Chinese title, description and remediation (the rule file's ``*_zh`` fields; built-in
    checks write both languages). Reports choose by ``--lang``; JSON carries both."""
    description_zh: str = ""
    remediation_zh: str = ""

    def text(self, lang: str) -> tuple[str, str, str]:
        """(title, description, remediation) in ``lang`` (``zh`` or ``en``), falling back
        to English where a Chinese text is missing."""
        if lang == "zh":
            return (
                self.title_zh or self.title,
                self.description_zh or self.description,
                self.remediation_zh or self.remediation,
            )
        return self.title, self.description, self.remediation

    @property
    def place(self) -> Evidence | None:
        """The evidence that says best where the finding is: the first item that names a
        class or a file and is not context shared with other rules (the rule a composite
        builds on, a permission); else the first item."""
        for e in self.evidence:
            if e.kind not in CONTEXT_EVIDENCE and (e.class_name or e.file):
                return e
        return self.evidence[0] if self.evidence else None


CONTEXT_EVIDENCE = frozenset({"rule", "permission"})
"""Evidence kinds that give a finding's context rather than its place."""


@dataclass(frozen=True)
class SdkHit:
    """An SDK found in the app."""

    id: str
    name: str
    name_zh: str
    vendor: str
    category: str
    country: str
    tracker: bool
    data_collected: tuple[str, ...]
    source: str
    matched: tuple[str, ...]
    """What matched: class prefixes (with class counts), files, native libs, meta-data."""
    class_count: int = 0


@dataclass(frozen=True)
class DataAccess:
    """One personal-data category the code reaches, with every call site."""

    category: str
    permission: str
    """The permission gating it (``""`` where none)."""
    permission_requested: bool
    sites: tuple[Evidence, ...]
    """One ``api-call`` evidence per (API, caller), attributed to an SDK or the app."""


@dataclass(frozen=True)
class RuleError:
    """A rule that raised while evaluating: reported, never a crash."""

    rule_id: str
    message: str


@dataclass(frozen=True)
class Suppression:
    """A finding a team accepted: by a baseline entry or a config-file suppression."""

    fingerprint: str
    rule_id: str
    kind: str
    """``baseline`` (the ``--baseline`` file) or ``config`` (a ``[[suppress]]`` entry)."""
    reason: str
    expires: str = ""
    """ISO date after which the acceptance lapses; ``""`` for never."""
    title: str = ""


@dataclass(frozen=True)
class Acceptance:
    """What the baseline and the config's suppressions accepted in one result, and what
    ``--min-severity`` hid. Reports mark accepted findings; ``--fail-on`` ignores them."""

    baseline: bool = False
    """A baseline was compared: SARIF results carry ``baselineState``."""
    accepted: tuple[Suppression, ...] = ()
    """One per accepted finding present in the result (matched by fingerprint)."""
    absent: tuple[Suppression, ...] = ()
    """Baseline entries for this package that no finding matches any more."""
    hidden: int = 0
    """Findings below ``min_severity`` left out of the report (the verdict still saw them)."""
    min_severity: str = ""

    def of(self, fingerprint: str) -> Suppression | None:
        return next((s for s in self.accepted if s.fingerprint == fingerprint), None)


@dataclass(frozen=True)
class ScanResult:
    facts: ApkFacts
    findings: tuple[Finding, ...] = ()
    sdks: tuple[SdkHit, ...] = ()
    data_access: tuple[DataAccess, ...] = ()
    rule_errors: tuple[RuleError, ...] = ()
    rules_digest: str = ""
    tool_version: str = ""
    scanned_at: str = ""
    """ISO 8601 UTC."""
    duration_s: float = 0.0
    app_category: str = ""
    """The ``--category`` app type the necessity checks used, if any."""
    verdict: str = ""
    """``pass``, ``fix``, ``review`` or ``reject`` (see :mod:`apkscan.verdict`)."""
    verdict_reason: str = ""
    """One line: the findings that decided the verdict."""
    verdict_reason_zh: str = ""
    verdict_deciding: tuple[str, ...] = ()
    """Rule ids of the deciding findings."""
    timings: dict[str, float] = field(default_factory=dict, compare=False, hash=False)
    acceptance: Acceptance = field(default_factory=Acceptance)
    """Accepted (baseline, config) and hidden findings; set by the CLI, empty otherwise."""
    privacy: PrivacyReport | None = field(default=None, compare=False, hash=False)
    """Personal-data compliance against the privacy policy: the policy found and read, the
    two draft lists and the pre-consent candidates (:mod:`apkscan.rules.privacy`)."""

    def counts(self) -> dict[str, int]:
        out = {s.label: 0 for s in Severity}
        for f in self.findings:
            out[f.severity.label] += 1
        return out
