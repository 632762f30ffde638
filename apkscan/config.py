"""The config file: ``apkscan.toml``, or ``[tool.apkscan]`` in ``pyproject.toml``.

Found from the working directory upwards (the first folder holding either), or named with
``--config``. Command-line options win over the file. Every error is one line,
``file:line: key: problem`` (``tomllib`` gives no positions, so the line of a key is found
by a small scan of the text), and exits 2.

```toml
format = ["json", "sarif"]          # or "json,sarif"
output = "reports"
fail-on = "high"                    # a severity, or fix / review / reject
baseline = "apkscan-baseline.json"
min-severity = "low"                # findings below are left out of the reports
rules = ["compliance-rules"]        # extra rule folders (relative to this file)
disable = ["STORE-*", "SDK-TRACKER-001"]   # rule ids or globs

[thresholds]
reject-at = "critical"
review-at = "high"
fix-at = "medium"

[severity]                          # severity overrides, by rule id or glob
"PERM-DANGEROUS-*" = "low"

[[suppress]]                        # accept a finding, with a reason
rule = "PI-MAP-LOCATION"
package = "com.example.maps"        # optional; or fingerprint = "..."
reason = "location is the app's purpose; consent screen reviewed 2026-11"
expires = 2027-06-30                # optional
```
"""

from __future__ import annotations

import dataclasses
import fnmatch
import re
import sys
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from apkscan.errors import UsageError
from apkscan.model import Finding, ScanResult, Severity
from apkscan.verdict import Thresholds

CONFIG_NAME = "apkscan.toml"
PYPROJECT = "pyproject.toml"
FORMATS = ("json", "html", "sarif", "lists")  # as the CLI's --format
FAIL_LEVELS = ("fix", "review", "reject")


@dataclass(frozen=True)
class Suppress:
    """A ``[[suppress]]`` entry: accepts the findings of ``rule`` (an id or glob),
    narrowed by ``fingerprint`` and/or ``package`` when given."""

    rule: str
    reason: str
    fingerprint: str = ""
    package: str = ""
    expires: str = ""
    where: str = ""
    """``file:line`` of the entry, for messages."""

    def active(self, today: date | None = None) -> bool:
        return not self.expires or date.fromisoformat(self.expires) >= (today or date.today())

    def matches(self, finding: Finding, package: str) -> bool:
        return (
            fnmatch.fnmatchcase(finding.rule_id, self.rule)
            and (not self.fingerprint or self.fingerprint == finding.fingerprint)
            and (not self.package or self.package == package)
        )


@dataclass(frozen=True)
class Config:
    """Settings from a config file; ``None`` or empty where the file says nothing."""

    path: Path | None = None
    formats: tuple[str, ...] = ()
    output: Path | None = None
    fail_on: str | None = None
    baseline: Path | None = None
    reject_at: str | None = None
    review_at: str | None = None
    fix_at: str | None = None
    min_severity: str | None = None
    category: str | None = None
    lang: str | None = None
    rules: tuple[Path, ...] = ()
    disable: tuple[str, ...] = ()
    severity: dict[str, Severity] = field(default_factory=dict)
    suppress: tuple[Suppress, ...] = ()


# key -> table the key lives in ("" for the top level); kebab-case and snake_case both accepted
_TOP = {
    "format",
    "formats",
    "output",
    "fail-on",
    "baseline",
    "min-severity",
    "category",
    "lang",
    "rules",
    "disable",
    "reject-at",
    "review-at",
    "fix-at",
    "thresholds",
    "severity",
    "suppress",
}
_THRESHOLDS = {"reject-at", "review-at", "fix-at"}
_SUPPRESS = {"rule", "reason", "fingerprint", "package", "expires"}


def find_config(start: Path | None = None) -> Path | None:
    """The first ``apkscan.toml``, or ``pyproject.toml`` with a ``[tool.apkscan]`` table,
    from ``start`` (the working directory) upwards."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
        py = folder / PYPROJECT
        if py.is_file():
            try:
                text = py.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            if re.search(r"^\s*\[\s*tool\s*\.\s*apkscan\s*[\].]", text, re.M):
                return py
    return None


def load_config(path: Path | None = None, start: Path | None = None) -> Config:
    """The named config file, else the one found from ``start`` upwards, else defaults."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib

    if path is None:
        path = find_config(start)
        if path is None:
            return Config()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read the config file ({exc})") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = re.search(r"\(at line (\d+), column \d+\)", msg)
        # "at end of document": the last line that holds anything
        lines = [n for n, raw in enumerate(text.splitlines(), 1) if raw.strip()]
        line = m.group(1) if m else str(lines[-1] if lines else 1)
        raise UsageError(f"{path}:{line}: not valid TOML: {re.sub(r' ?[(]at line.*', '', msg)}") from None
    prefix: tuple[str, ...] = ()
    if path.name == PYPROJECT:
        prefix = ("tool", "apkscan")
        tool = doc.get("tool", {})
        doc = tool.get("apkscan", {}) if isinstance(tool, dict) else {}
    return _Parser(path, text, prefix).parse(doc)


def _norm(key: str) -> str:
    return key.replace("_", "-")


class _Parser:
    def __init__(self, path: Path, text: str, prefix: tuple[str, ...]) -> None:
        self.path = path
        self.lines = text.splitlines()
        self.prefix = prefix
        self.base = path.parent

    # -- positions -----------------------------------------------------------------
    def line(self, table: tuple[str, ...] = (), key: str | None = None, index: int | None = None) -> int:
        """The line of ``key`` in ``table`` (the ``index``-th of an array of tables), else
        of the table's header, else 1."""
        return self.find(table, key, index) or 1

    def find(self, table: tuple[str, ...] = (), key: str | None = None, index: int | None = None) -> int:
        """Like :meth:`line`, 0 where neither the key nor the table is in the text."""
        want = self.prefix + table
        current: tuple[str, ...] = ()
        counts: dict[tuple[str, ...], int] = {}
        header_line = 0
        header_re = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?")
        key_re = re.compile(r"^\s*[\"']?([A-Za-z0-9_.*?\[\]-]+?)[\"']?\s*=")
        for no, raw in enumerate(self.lines, 1):
            m = header_re.match(raw)
            if m:
                name = tuple(_norm(p.strip().strip("\"'")) for p in m.group(2).split("."))
                current = name
                if m.group(1) == "[[":
                    counts[name] = counts.get(name, -1) + 1
                if name == want and (index is None or counts.get(name) == index):
                    header_line = no
                    if key is None:
                        return no
                continue
            if key is None:
                continue
            k = key_re.match(raw)
            if not k:
                continue
            in_table = current == want and (index is None or counts.get(current) == index)
            dotted = current + tuple(_norm(p) for p in k.group(1).split("."))
            if (in_table and _norm(k.group(1)) == _norm(key)) or dotted == (*want, _norm(key)):
                return no
        return header_line

    def fail(
        self, problem: str, table: tuple[str, ...] = (), key: str | None = None, index: int | None = None
    ) -> UsageError:
        where = ".".join([*table, key] if key else table) or "config"
        return UsageError(f"{self.path}:{self.line(table, key, index)}: {where}: {problem}")

    # -- values ------------------------------------------------------------------------
    def _str(self, value: Any, table: tuple[str, ...], key: str, index: int | None = None) -> str:
        if isinstance(value, date):
            return value.isoformat()
        if not isinstance(value, str) or not value.strip():
            raise self.fail("expected a non-empty string", table, key, index)
        return value.strip()

    def _strs(self, value: Any, table: tuple[str, ...], key: str) -> list[str]:
        if isinstance(value, str):
            value = [v for v in value.split(",") if v.strip()]
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.fail("expected a list of strings", table, key)
        return [v.strip() for v in value]

    def _severity(self, value: Any, table: tuple[str, ...], key: str) -> Severity:
        text = self._str(value, table, key)
        try:
            return Severity.parse(text)
        except ValueError as exc:
            raise self.fail(str(exc), table, key) from None

    def _path(self, value: Any, table: tuple[str, ...], key: str) -> Path:
        p = Path(self._str(value, table, key)).expanduser()
        return p if p.is_absolute() else self.base / p

    def parse(self, doc: dict[str, Any]) -> Config:
        out: dict[str, Any] = {"path": self.path}
        raw = {_norm(k): (k, v) for k, v in doc.items()}
        for key, (orig, _value) in raw.items():
            if key not in _TOP:
                raise self.fail(f"unknown key (known: {', '.join(sorted(_TOP))})", (), orig)
        for key, (orig, value) in raw.items():
            if key in ("format", "formats"):
                fmts = [f.lower() for f in self._strs(value, (), orig)]
                bad = [f for f in fmts if f not in FORMATS]
                if bad or not fmts:
                    raise self.fail(f"unknown format {bad[0] if bad else ''!r} (use {', '.join(FORMATS)})", (), orig)
                out["formats"] = tuple(dict.fromkeys(fmts))
            elif key == "output":
                out["output"] = self._path(value, (), orig)
            elif key == "baseline":
                out["baseline"] = self._path(value, (), orig)
            elif key == "fail-on":
                text = self._str(value, (), orig).lower()
                if text not in FAIL_LEVELS:
                    self._severity(text, (), orig)
                out["fail_on"] = text
            elif key in ("min-severity", *_THRESHOLDS):
                out[key.replace("-", "_")] = self._severity(value, (), orig).label
            elif key == "category":
                out["category"] = self._str(value, (), orig)
            elif key == "lang":
                lang = self._str(value, (), orig).lower()
                if lang not in ("zh", "en"):
                    raise self.fail(f"expected 'zh' or 'en', not {lang!r}", (), orig)
                out["lang"] = lang
            elif key == "rules":
                out["rules"] = tuple(self._path(v, (), orig) for v in self._strs(value, (), orig))
            elif key == "disable":
                out["disable"] = tuple(self._strs(value, (), orig))
            elif key == "thresholds":
                if not isinstance(value, dict):
                    raise self.fail("expected a table", (), orig)
                for k, v in value.items():
                    if _norm(k) not in _THRESHOLDS:
                        raise self.fail(f"unknown key (known: {', '.join(sorted(_THRESHOLDS))})", (orig,), k)
                    out[_norm(k).replace("-", "_")] = self._severity(v, (orig,), k).label
            elif key == "severity":
                if not isinstance(value, dict):
                    raise self.fail("expected a table of rule id (or glob) = severity", (), orig)
                out["severity"] = {str(k): self._severity(v, (orig,), k) for k, v in value.items()}
            elif key == "suppress":
                out["suppress"] = self._suppress(value, orig)
        config = Config(**out)
        self._check_thresholds(config)
        return config

    def _suppress(self, value: Any, orig: str) -> tuple[Suppress, ...]:
        if isinstance(value, dict):
            value = [value]
        if not isinstance(value, list):
            raise self.fail("expected [[suppress]] tables", (), orig)
        items: list[Suppress] = []
        for i, entry in enumerate(value):
            table = (orig,)
            if not isinstance(entry, dict):
                raise self.fail("expected a table", table, None, i)
            for k in entry:
                if _norm(k) not in _SUPPRESS:
                    raise self.fail(f"unknown key (known: {', '.join(sorted(_SUPPRESS))})", table, k, i)
            fields = {_norm(k): v for k, v in entry.items()}
            if "rule" not in fields:
                raise self.fail("'rule' is missing (a rule id or glob)", table, None, i)
            if "reason" not in fields:
                raise self.fail("'reason' is missing: say why the finding is accepted", table, None, i)
            expires = ""
            if "expires" in fields:
                expires = self._str(fields["expires"], table, "expires", i)
                try:
                    date.fromisoformat(expires)
                except ValueError:
                    raise self.fail(f"{expires!r} is not a date (YYYY-MM-DD)", table, "expires", i) from None
            items.append(
                Suppress(
                    rule=self._str(fields["rule"], table, "rule", i),
                    reason=self._str(fields["reason"], table, "reason", i),
                    fingerprint=self._str(fields["fingerprint"], table, "fingerprint", i)
                    if "fingerprint" in fields
                    else "",
                    package=self._str(fields["package"], table, "package", i) if "package" in fields else "",
                    expires=expires,
                    where=f"{self.path}:{self.line(table, None, i)}",
                )
            )
        return tuple(items)

    def _check_thresholds(self, c: Config) -> None:
        sev = {k: Severity.parse(v) for k, v in (("reject-at", c.reject_at), ("review-at", c.review_at)) if v}
        if len(sev) == 2 and sev["review-at"] > sev["reject-at"]:
            table: tuple[str, ...] = () if self.find((), "review-at") else ("thresholds",)
            raise self.fail(
                f"{c.review_at} is above reject-at {c.reject_at} (inverted thresholds)", table, "review-at"
            )


def select(
    result: ScanResult,
    disable: tuple[str, ...] | list[str],
    severity: dict[str, Severity],
    thresholds: Thresholds,
    builtin: bool = True,
) -> ScanResult:
    """The result without the findings of disabled rules (ids or globs), without the
    built-in checks when ``builtin`` is false (``--rules-only``: PI-MAP-*, necessity;
    the fail-closed ``analysis`` and ``tampering`` checks stay) and with severities
    overridden; the verdict is decided again on what is left."""
    from apkscan.verdict import INCOMPLETE, decide

    if not disable and not severity and builtin:
        return result
    findings: list[Finding] = []
    for f in result.findings:
        if not builtin and f.source == "builtin" and f.category not in INCOMPLETE:
            continue
        if any(fnmatch.fnmatchcase(f.rule_id, pat) for pat in disable):
            continue
        new_sev = next((s for pat, s in severity.items() if fnmatch.fnmatchcase(f.rule_id, pat)), None)
        findings.append(replace(f, severity=new_sev) if new_sev is not None and new_sev != f.severity else f)
    findings.sort(key=lambda f: (-f.severity, f.category, f.rule_id))
    if findings == list(result.findings):
        return result
    v = decide(findings, thresholds)
    return dataclasses.replace(
        result,
        findings=tuple(findings),
        **v.result_fields(),
    )
