"""Command line: arguments, exit codes, one-line errors, logging. No scanning logic here."""

from __future__ import annotations

import contextlib
import copy
import gc
import logging
import os
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from apkscan import __version__
from apkscan.errors import ApkscanError, ExitCode, OutputError, UsageError
from apkscan.model import Severity
from apkscan.runtime import gc_paused

if TYPE_CHECKING:
    from rich.console import Console

    from apkscan.baseline import Baseline
    from apkscan.config import Suppress
    from apkscan.engine import Options
    from apkscan.extract.policy import PolicyDocument
    from apkscan.limits import Limits
    from apkscan.model import ScanResult
    from apkscan.rules.loader import RuleSet

app = typer.Typer(
    name="apkscan",
    help="Static security and compliance scanner for Android apps: fraud, gambling and "
    "personal-data collection. Runs offline.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
rules_app = typer.Typer(help="Validate, list and test rule sets.", no_args_is_help=True)
baseline_app = typer.Typer(help="Accept known findings so that only new ones fail CI.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")
app.add_typer(baseline_app, name="baseline")

class _LazyConsole:
    """rich's Console for stdout or stderr, made on first use: importing rich costs
    0.02-0.03 s, and a quiet scan prints nothing."""

    def __init__(self, stderr: bool = False) -> None:
        self._stderr = stderr
        self._console: Console | None = None

    @property
    def real(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=self._stderr, highlight=False)
        return self._console

    def print(self, *objects: Any, **kwargs: Any) -> None:
        self.real.print(*objects, **kwargs)


out = _LazyConsole()
err = _LazyConsole(stderr=True)
log = logging.getLogger("apkscan")
FORMATS = ("json", "html", "sarif", "lists")
"""``lists``: the two draft privacy lists (STEM-collected.csv, STEM-sharing.csv, STEM-lists.json)."""


class State:
    debug = False
    quick_exit = False
    """Set when ``scan`` is done: the process then ends without freeing what it holds
    (the last app's facts and result, a million objects: ~0.05 s) or tearing down the
    interpreter; output is flushed first (see :func:`_exit`)."""


_held: list[object] = []
"""The last scanned app's result, left for the process's end to drop (``State.quick_exit``)."""


def _setup_logging(verbose: bool, debug: bool) -> None:
    State.debug = debug
    level = logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    if debug:
        from loguru import logger as loguru_logger

        from apkscan.extract import manifest

        manifest.ANDROGUARD_LOG = True
        loguru_logger.enable("androguard")
        loguru_logger.remove()
        loguru_logger.add(sys.stderr, level="DEBUG")
    elif "loguru" in sys.modules:
        # androguard's log is disabled when it is imported (apkscan.extract.manifest);
        # loguru is not imported for that alone (~0.04 s)
        sys.modules["loguru"].logger.disable("androguard")


def _fail(exc: ApkscanError) -> typer.Exit:
    err.print(f"[red]error:[/] {_plain(str(exc))}", soft_wrap=True)
    return typer.Exit(int(exc.exit_code))


def _plain(text: str) -> str:
    from apkscan.report.console import clean

    return clean(text.splitlines()[0] if text else text, 400)


def _version(value: bool) -> None:
    if value:
        from apkscan.extract import dex, text

        reader = "native" if dex.NATIVE else "pure Python" + (" (forced)" if dex.NATIVE_AVAILABLE else "")
        texts = "native" if text.NATIVE_TEXT else "pure Python"
        out.print(f"apkscan {__version__} (dex reader: {reader}; string passes: {texts})")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        Optional[bool],  # noqa: UP045 - typer needs Optional here
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = None,
) -> None:
    """apkscan: scan APKs for fraud, gambling and personal-data compliance."""


_SIZE_SUFFIX = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


def parse_limits(items: list[str]) -> Limits:
    """``["max_apk_bytes=2G", "max_depth=5"]`` -> Limits with those fields changed."""
    import dataclasses

    from apkscan.limits import Limits

    fields = {f.name: f for f in dataclasses.fields(Limits)}
    changes: dict[str, int | float] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in fields:
            raise UsageError(f"--limit {item!r}: expected NAME=VALUE with NAME one of {', '.join(fields)}")
        text = raw.strip().lower()
        scale = _SIZE_SUFFIX.get(text[-1:], 1) if text else 1
        number = text[:-1] if scale != 1 else text
        try:
            whole = float(number) * scale
            value = float(number) if fields[key].type in (float, "float") else int(whole)
        except (ValueError, OverflowError):
            raise UsageError(f"--limit {item!r}: {raw!r} is not a number") from None
        if value != whole and not isinstance(value, float):
            raise UsageError(f"--limit {item!r}: {key} takes a whole number")
        if value <= 0:
            raise UsageError(f"--limit {item!r}: must be positive")
        changes[key] = value
    return dataclasses.replace(Limits(), **changes)  # type: ignore[arg-type]


def _safe_name(text: str) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._")
    return name[:100] or "app"


def report_stem(result: ScanResult) -> str:
    """Report file name (without extension) from package and version, safe on any OS."""
    m = result.facts.manifest
    if m.package:
        version = m.version_name or m.version_code or "0"
        return _safe_name(f"{m.package}-{version}")
    return _safe_name(Path(result.facts.file_name).stem) + "-" + result.facts.sha256[:8]


def _formats(values: list[str] | str | None, allowed: tuple[str, ...] = FORMATS, flag: str = "--format") -> list[str]:
    """Formats from one or more ``-f`` values, each comma-separated: ``-f json -f sarif``
    and ``-f json,sarif`` mean the same. Unknown or empty is a UsageError (exit 2)."""
    items = [values] if isinstance(values, str) else list(values or [])
    fmts = [f.strip().lower() for v in items for f in v.split(",") if f.strip()]
    bad = [f for f in fmts if f not in allowed]
    if bad or not fmts:
        shown = bad[0] if bad else ",".join(items)
        raise UsageError(
            f"{flag}: unknown format {shown!r} (use {', '.join(allowed)}; repeat -f or separate by commas)"
        )
    return list(dict.fromkeys(fmts))


def _load_ruleset(rules: list[Path] | None, rules_only: list[Path] | None) -> RuleSet:
    """Built-in rules plus ``rules``; or only ``rules_only``, with the built-in SDK
    catalogue unless one of those folders brings its own."""
    from apkscan.rules.loader import load_rules

    if rules_only:
        return load_rules(list(rules_only), include_builtin=False)
    return load_rules(list(rules or []))


def _fail_on(value: str | None) -> tuple[Severity | None, str]:
    """``--fail-on``: a severity, or a verdict level (fix, review, reject)."""
    from apkscan.verdict import LEVELS

    if value is None:
        return None, ""
    text = value.strip().lower()
    if text in LEVELS[1:]:
        return None, text
    try:
        return Severity.parse(text), ""
    except ValueError:
        names = ", ".join([s.label for s in Severity] + list(LEVELS[1:]))
        raise UsageError(f"--fail-on: unknown severity or verdict {value!r} (expected one of {names})") from None


def _severity(value: str | None, flag: str) -> Severity | None:
    if value is None:
        return None
    try:
        return Severity.parse(value)
    except ValueError as exc:
        raise UsageError(f"{flag}: {exc}") from None


RulesOpt = Annotated[
    Optional[list[Path]],  # noqa: UP045
    typer.Option("--rules", help="Add a folder (or file) of rules to the built-in ones; repeatable."),
]
RulesOnlyOpt = Annotated[
    Optional[list[Path]],  # noqa: UP045
    typer.Option(
        "--rules-only",
        help="Use only these rule folders: no built-in rules or checks (PI-MAP-*, necessity); the fail-closed "
        "ANALYSIS-* and TAMPER-* checks stay, and so does the built-in SDK catalogue unless a folder has one. "
        "Repeatable.",
    ),
]
ConfigOpt = Annotated[
    Optional[Path],  # noqa: UP045
    typer.Option(
        "--config",
        help="Config file (TOML). Default: apkscan.toml, or \\[tool.apkscan] in pyproject.toml, in the working "
        "folder or above. Options on the command line win.",
    ),
]
LangOpt = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option(
        "--lang",
        help="Language of the console, HTML and SARIF texts: zh or en \\[default: from the locale, LC_ALL / LANG; "
        "zh_* means zh]. JSON carries both.",
        show_default=False,
    ),
]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Say more about what is happening.")]
NoCacheOpt = Annotated[
    bool,
    typer.Option(
        "--no-cache",
        help="Neither read nor write the rule cache ($APKSCAN_CACHE_DIR, else $XDG_CACHE_HOME/apkscan "
        "or ~/.cache/apkscan): rules are parsed and compiled from their sources.",
    ),
]


def _no_cache(flag: bool) -> None:
    if flag:
        from apkscan.rules.data import set_cache_enabled

        set_cache_enabled(False)
DebugOpt = Annotated[bool, typer.Option("--debug", help="Debug logging (androguard's too) and tracebacks.")]


@app.command()
def scan(
    paths: Annotated[list[Path], typer.Argument(help="APK files to scan.", show_default=False)],
    output: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option("--output", "-o", help="Folder for the reports \\[default: reports].", show_default=False),
    ] = None,
    format: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option(
            "--format",
            "-f",
            help="Report formats: json, html, sarif, lists (the two draft privacy lists as CSV and JSON); "
            "comma-separated or repeated (-f json -f sarif) \\[default: json,html].",
            show_default=False,
        ),
    ] = None,
    rules: RulesOpt = None,
    rules_only: RulesOnlyOpt = None,
    exclude_rule: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option("--exclude-rule", help="Leave out a rule's findings: an id or a glob (STORE-*); repeatable."),
    ] = None,
    min_severity: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--min-severity",
            help="Show only findings at or above this severity in the reports and on the console (the verdict "
            "and --fail-on still see every finding; the reports count the hidden ones).",
        ),
    ] = None,
    category: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--category",
            help="App type (English id or Chinese name of the 39 types) for necessity checks; "
            "see `apkscan rules types`.",
        ),
    ] = None,
    fail_on: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--fail-on",
            help="Exit 1 when a finding at or above this severity exists (info, low, medium, high, critical), "
            "or when the verdict is this level or worse (fix, review, reject). Findings the baseline or a "
            "config suppression accepts do not count.",
        ),
    ] = None,
    baseline: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            "--baseline",
            help="Baseline file: accepted findings are marked in every report and do not count for --fail-on.",
        ),
    ] = None,
    reject_at: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--reject-at",
            help="Verdict 'reject' from an illegal-app finding of this severity \\[default: critical].",
            show_default=False,
        ),
    ] = None,
    review_at: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--review-at",
            help="Verdict 'review' from one illegal-app finding of this severity ('reject' from two of "
            "different rules) \\[default: high].",
            show_default=False,
        ),
    ] = None,
    fix_at: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--fix-at",
            help="Verdict 'fix' from a compliance finding of this severity \\[default: medium].",
            show_default=False,
        ),
    ] = None,
    config: ConfigOpt = None,
    lang: LangOpt = None,
    policy: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            "--policy",
            help="The app's privacy policy (text, Markdown or HTML) to check against the code, instead of "
            "the one the APK bundles (used for every APK of the run). Offline: a URL is not fetched.",
        ),
    ] = None,
    full_facts: Annotated[
        bool,
        typer.Option(
            "--full-facts", help="Put every dex table (classes, methods, strings, call edges) into the JSON report."
        ),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors.")] = False,
    timeout: Annotated[
        float,
        typer.Option("--timeout", min=0,
                     help="Stop scanning one APK after this many seconds (exit code 6); 0 for no limit."),
    ] = 300.0,
    limit: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option(
            "--limit",
            help="Change a safety limit, e.g. --limit max_apk_bytes=2G --limit max_depth=5 (repeatable; "
            "names and defaults in docs/security.md).",
        ),
    ] = None,
    verbose: VerboseOpt = False,
    debug: DebugOpt = False,
    no_cache: NoCacheOpt = False,
) -> None:
    """Scan APKs and write one report per APK and format into the output folder."""
    _setup_logging(verbose, debug)
    _no_cache(no_cache)
    try:
        code = _scan(
            paths,
            output,
            format,
            rules,
            rules_only,
            category,
            fail_on,
            baseline,
            reject_at,
            review_at,
            full_facts,
            quiet,
            timeout,
            limit,
            fix_at,
            config=config,
            policy=policy,
            exclude_rule=exclude_rule,
            min_severity=min_severity,
            lang=lang,
        )
    except ApkscanError as exc:
        raise _fail(exc) from None
    State.quick_exit = True
    raise typer.Exit(code)


@dataclass(frozen=True)
class _Post:
    """What the CLI does to each result after the engine: rule selection, acceptance,
    the output severity filter."""

    disable: tuple[str, ...] = ()
    severity: dict[str, Severity] = field(default_factory=dict)
    builtin: bool = True
    suppress: tuple[Suppress, ...] = ()
    min_severity: Severity | None = None


def _scan(
    paths: list[Path],
    output: Path | None,
    format: list[str] | str | None,
    rules: list[Path] | None,
    rules_only: list[Path] | None,
    category: str | None,
    fail_on: str | None,
    baseline: Path | None,
    reject_at: str | None,
    review_at: str | None,
    full_facts: bool,
    quiet: bool,
    timeout: float = 300.0,
    limit: list[str] | None = None,
    fix_at: str | None = None,
    *,
    config: Path | None = None,
    policy: Path | None = None,
    exclude_rule: list[str] | None = None,
    min_severity: str | None = None,
    lang: str | None = None,
) -> int:
    # Imports and the rule set make long-lived objects and no garbage cycles: made with the
    # collector paused, then frozen (gc.freeze) so that no later pass walks them again.
    # Passes over them found nothing and cost 0.03 s of a large app's scan.
    with gc_paused():
        from apkscan import api  # noqa: F401 - imported with the collector paused, used per APK
        from apkscan.baseline import Baseline
        from apkscan.config import load_config
        from apkscan.engine import Options
        from apkscan.rules.data import app_types
        from apkscan.verdict import check_thresholds

        cfg = load_config(config)  # the command line wins over the file
        lang = _lang(lang or cfg.lang)  # the command line, the config file, then the locale
        fmts = _formats(format or (list(cfg.formats) or ["json,html"]))
        output = output or cfg.output or Path("reports")
        limits = parse_limits(limit or [])
        fail_sev, fail_level = _fail_on(fail_on if fail_on is not None else cfg.fail_on)
        category = category or cfg.category
        options = Options(
            app_category=category or "",
            reject_at=_severity(reject_at or cfg.reject_at, "--reject-at") or Severity.CRITICAL,
            review_at=_severity(review_at or cfg.review_at, "--review-at") or Severity.HIGH,
            fix_at=_severity(fix_at or cfg.fix_at, "--fix-at") or Severity.MEDIUM,
            policy=_policy(policy),
            known=_known_library(),
            # a scan's reports carry no fingerprints: computed only to match a known-sample library
            fingerprints=False,
        )
        inverted = check_thresholds(options.thresholds)
        if inverted:
            raise UsageError(inverted)
        if category and not any(category in (t.get("id"), t.get("name_zh")) for t in app_types()):
            known = ", ".join(str(t.get("id")) for t in app_types())
            raise UsageError(f"--category: unknown app type {category!r} (known: {known})")
        post = _Post(
            disable=(*cfg.disable, *(exclude_rule or [])),
            severity=dict(cfg.severity),
            builtin=not rules_only,
            suppress=cfg.suppress,
            min_severity=_severity(min_severity or cfg.min_severity, "--min-severity"),
        )
        baseline = baseline or cfg.baseline
        base = Baseline.load(baseline) if baseline else None
        ruleset = _load_ruleset([*cfg.rules, *(rules or [])], rules_only)
        gc.freeze()
    log.info(
        "rules: %d YAML, %d YARA, %d SDKs in the catalogue (%s)",
        len(ruleset.rules),
        len(ruleset.yara_meta),
        len(ruleset.sdks),
        ruleset.digest,
    )
    if cfg.path is not None:
        log.info("config: %s", cfg.path)
    _make_output(output)
    from apkscan.report.safe import OutputLock, OutputWriteError

    try:
        with OutputLock(output):
            return _scan_all(
                paths,
                output,
                fmts,
                full_facts,
                quiet,
                timeout,
                limits,
                (fail_sev, fail_level),
                options,
                base,
                ruleset,
                post,
                lang=lang,
            )
    except OutputWriteError as exc:
        raise OutputError(str(exc)) from None


def _make_output(output: Path) -> None:
    """The output folder, made if missing; a one-line OutputError when it cannot be."""
    if output.exists() and not output.is_dir():
        raise OutputError(f"{output}: exists and is not a folder")
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{output}: cannot create the output folder ({exc.strerror})") from None
    if not os.access(output, os.W_OK | os.X_OK):
        raise OutputError(f"{output}: the output folder is not writable")


def _rules_ran(ruleset: RuleSet, post: _Post) -> list[Any]:
    """The YAML and YARA rules that ran (not the disabled ones), severities as overridden:
    SARIF's ``tool.driver.rules``."""
    import dataclasses
    import fnmatch

    out: list[Any] = []
    every: list[Any] = [*ruleset.rules, *ruleset.yara_meta.values()]
    for r in every:
        if any(fnmatch.fnmatchcase(r.id, pat) for pat in post.disable):
            continue
        sev = next((s for pat, s in post.severity.items() if fnmatch.fnmatchcase(r.id, pat)), None)
        out.append(dataclasses.replace(r, severity=sev) if sev is not None else r)
    return out


def _postprocess(result: ScanResult, post: _Post, options: Options, base: Baseline | None) -> ScanResult:
    """Rule selection (--rules-only, --exclude-rule, config severities; the verdict is
    decided again on what is left) and acceptance (baseline, config suppressions)."""
    from apkscan.baseline import accept
    from apkscan.config import select

    result = select(result, post.disable, post.severity, options.thresholds, builtin=post.builtin)
    if base is not None or post.suppress:
        result = accept(result, base, post.suppress)
    return result


def _scan_all(
    paths: list[Path],
    output: Path,
    fmts: list[str],
    full_facts: bool,
    quiet: bool,
    timeout: float,
    limits: Limits,
    fail_gate: tuple[Severity | None, str],
    options: Options,
    base: Baseline | None,
    ruleset: RuleSet,
    post: _Post | None = None,
    *,
    lang: str = "en",
) -> int:
    from apkscan import api
    from apkscan.baseline import hide_below, open_findings
    from apkscan.report.i18n import error_text
    from apkscan.verdict import decide
    from apkscan.verdict import rank as verdict_rank

    fail_sev, fail_level = fail_gate
    post = post or _Post()
    ran = _rules_ran(ruleset, post) if "sarif" in fmts else []

    error_codes: list[int] = []
    verdicts: Counter[str] = Counter()
    used_stems: set[str] = set()
    failing = 0
    progress = None
    if len(paths) > 1 and not quiet:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=err.real,
            transient=True,
        )
        progress.start()
        task = progress.add_task("scanning", total=len(paths))
    try:
        for path in paths:
            # The facts of a large app are a million objects with almost no cycles: the
            # collector stays off while one APK is scanned and reported, and its result
            # is dropped before the collector runs again.
            with gc_paused():
                if progress is not None:
                    progress.update(task, description=f"scanning {_plain(path.name)[:40]}")
                try:
                    result = api.scan(path, ruleset, options, limits, timeout=timeout or None)
                except ApkscanError as exc:
                    error_codes.append(int(exc.exit_code))
                    err.print(f"[red]{'错误：' if lang == 'zh' else 'error:'}[/] "
                              f"{_plain(error_text(str(exc), lang))}", soft_wrap=True)
                    continue
                except Exception as exc:  # never a traceback for one bad APK
                    if State.debug:
                        raise
                    error_codes.append(int(ExitCode.SCAN_ERROR))
                    err.print(
                        f"[red]error:[/] {_plain(str(path))}: internal error {type(exc).__name__}: "
                        f"{_plain(str(exc))} (run with --debug)"
                    )
                    continue
                finally:
                    if progress is not None:
                        progress.advance(task)
                _log_result(path, result)
                result = _postprocess(result, post, options, base)
                considered = open_findings(result)
                by_severity = fail_sev is not None and any(f.severity >= fail_sev for f in considered)
                by_verdict = bool(fail_level) and verdict_rank(
                    decide(considered, options.thresholds).level
                ) >= verdict_rank(fail_level)
                if by_severity or by_verdict:
                    failing += 1
                result = hide_below(result, post.min_severity)  # for the reports only
                written = _write_reports(result, output, fmts, full_facts, used_stems, ran, lang=lang)
                if not quiet:
                    from apkscan.report import console as console_report

                    if progress is not None:
                        reason = result.verdict_reason_zh if lang == "zh" else result.verdict_reason
                        progress.console.print(
                            f"[{console_report.VERDICT_STYLE.get(result.verdict, 'bold')}]"
                            f"{console_report.verdict_name(result.verdict, lang)}[/] "
                            f"{_plain(path.name)}: {console_report.clean(reason, 160)} -> {', '.join(written)}"
                        )
                    else:
                        console_report.summary(out.real, result, written, lang=lang)
                verdicts[result.verdict] += 1
                # freed before the next APK; the last one by the end of the process
                _held[:] = [result] if path is paths[-1] else []
                del result
    finally:
        if progress is not None:
            progress.stop()
    if progress is not None:  # several APKs: one line for all of them
        from apkscan.report import console as console_report

        parts = [f"{console_report.verdict_name(v, lang)} {verdicts[v]}"
                 for v in ("reject", "review", "fix", "pass") if verdicts[v]]
        if error_codes:
            parts.append(f"出错 {len(error_codes)}" if lang == "zh" else f"error {len(error_codes)}")
        if lang == "zh":
            err.print(f"共 {len(paths)} 个APK：" + "，".join(parts))
        else:
            err.print(f"{len(paths)} APKs: " + ", ".join(parts))
    if error_codes:
        codes = set(error_codes)
        return codes.pop() if len(codes) == 1 else int(ExitCode.SCAN_ERROR)
    if failing:
        if not quiet:
            err.print(
                f"[red]fail:[/] {failing} APK(s) have findings at or above "
                f"{fail_sev.label if fail_sev else ''} not accepted by the baseline or the config"
                if fail_sev
                else f"[red]fail:[/] {failing} APK(s) have the verdict {fail_level} or worse without the accepted "
                "findings"
            )
        return int(ExitCode.FINDINGS)
    return int(ExitCode.OK)


def _lang(value: str | None) -> str:
    """``zh`` or ``en`` from ``--lang``, else from the locale (LC_ALL, LC_MESSAGES, LANG)."""
    from apkscan.report.i18n import resolve_lang

    try:
        return resolve_lang(value)
    except ValueError as exc:
        raise UsageError(f"--lang: {exc}") from None


def _log_result(path: Path, result: ScanResult) -> None:
    """What ``--verbose`` tells about one scanned APK."""
    log.info(
        "%s: %d findings, %d SDKs, %d dex, %.2fs (%s)",
        path.name,
        len(result.findings),
        len(result.sdks),
        len(result.facts.dex),
        result.duration_s,
        ", ".join(f"{k} {v:.2f}s" for k, v in result.timings.items()),
    )
    for problem in result.facts.problems:
        log.info("%s: could not read %s: %s", path.name, problem.where, problem.message)
    for rule_error in result.rule_errors:
        log.warning("%s: rule %s failed: %s", path.name, rule_error.rule_id, rule_error.message)


def _known_library() -> Any:
    """The known-sample library when one exists (``apkscan known``, docs/families.md).
    Without one, the similarity code is not even imported."""
    from apkscan.runtime import known_db_path

    if not known_db_path().exists():
        return None
    from apkscan.known import open_default

    return open_default()


def _policy(path: Path | None) -> PolicyDocument | None:
    """The ``--policy`` file read, or None; a missing or unreadable file is exit code 4."""
    if path is None:
        return None
    from apkscan.extract.policy import PolicyFileError, read_policy_file

    try:
        return read_policy_file(path)
    except PolicyFileError as exc:
        from apkscan.errors import InputNotFound

        raise InputNotFound(str(exc)) from None


def _ext(fmt: str) -> str:
    return "sarif" if fmt == "sarif" else fmt


def _other_apk(path: Path, sha256: str) -> bool:
    """``path`` is a report of a different APK: it exists and does not name ``sha256``
    (every format writes the APK's hash). Unreadable counts as another APK's. A symlink
    is not a report: the name is kept, and writing refuses it (exit 8)."""
    try:
        if path.is_symlink() or not path.is_file():
            return False
        with path.open("rb") as fh:
            return sha256.encode() not in fh.read(64 << 20)
    except OSError:
        return True


def _write_reports(
    result: ScanResult,
    output: Path,
    fmts: list[str],
    full_facts: bool,
    used_stems: set[str],
    ran: list[Any] | None = None,
    lang: str = "en",
) -> list[str]:
    """Write one report per format into ``output``; the paths written. A package and
    version seen before in this run, or whose report in the folder is of a different APK
    (an earlier run), gets the file's hash in its name, so both are kept; the same APK
    scanned again replaces its own reports."""
    from apkscan.report import render
    from apkscan.report.safe import write_atomic

    stem = report_stem(result)
    sha = result.facts.sha256
    if stem in used_stems or any(_other_apk(output / f"{stem}.{_ext(fmt)}", sha) for fmt in fmts):
        stem = f"{stem}-{sha[:8]}"
    used_stems.add(stem)
    written = []
    for fmt in fmts:
        target = output / f"{stem}.{_ext(fmt)}"
        if fmt == "lists":
            from apkscan.report.privacy_lists import write_lists

            written += [str(p) for p in write_lists(result, output, stem)]
            continue
        if fmt == "sarif":
            from apkscan.report import sarif

            text = sarif.render([result], ran=ran or (), lang=lang)
        else:
            text = render(result, fmt, full_facts=full_facts, lang=lang)
        # a unique temporary file in the folder, renamed over the target; never through a symlink
        write_atomic(target, text)
        written.append(str(target))
    return written


@rules_app.command("validate")
def rules_validate(
    dirs: Annotated[Optional[list[Path]], typer.Argument(help="Rule folders; default: the built-in rules.")] = None,  # noqa: UP045
    verbose: VerboseOpt = False,
    debug: DebugOpt = False,
    no_cache: NoCacheOpt = False,
) -> None:
    """Check rule files (keys, types, predicates, ids, YARA syntax) without scanning."""
    _setup_logging(verbose, debug)
    _no_cache(no_cache)
    from apkscan.rules.loader import load_rules, require_zh

    try:
        rs = load_rules(list(dirs), include_builtin=False) if dirs else load_rules()
        require_zh(rs)  # every rule in both languages (title, description, remediation)
    except ApkscanError as exc:
        raise _fail(exc) from None
    out.print(
        f"ok: {len(rs.rules)} YAML rules, {len(rs.yara_meta)} YARA rules, {len(rs.keyword_sets)} keyword sets, "
        f"{len(rs.sdks)} SDKs ({rs.digest[:19]})"
    )


class ListFormat(str, Enum):
    table = "table"
    md = "md"
    json = "json"


@rules_app.command("list")
def rules_list(
    format: Annotated[
        ListFormat, typer.Option("--format", "-f", help="table, md (the docs catalogue) or json.")
    ] = ListFormat.table,
    rules: RulesOpt = None,
    rules_only: RulesOnlyOpt = None,
    no_cache: NoCacheOpt = False,
) -> None:
    """List every rule (the rule catalogue in docs/ is generated with --format md)."""
    _no_cache(no_cache)
    from apkscan.rules.catalogue import render_catalogue

    try:
        rs = _load_ruleset(rules, rules_only)
    except ApkscanError as exc:
        raise _fail(exc) from None
    text = render_catalogue(rs, format.value)
    if text is not None:
        sys.stdout.write(text)
    else:
        from apkscan.rules.catalogue import print_table

        print_table(out.real, rs)


@rules_app.command("test")
def rules_test(
    rules: RulesOpt = None,
    rules_only: RulesOnlyOpt = None,
    verbose: VerboseOpt = False,
    no_cache: NoCacheOpt = False,
) -> None:
    """Run every rule's positive and negative test cases."""
    _no_cache(no_cache)
    from apkscan.rules.selftest import run_rule_tests

    try:
        rs = _load_ruleset(rules, rules_only)
    except ApkscanError as exc:
        raise _fail(exc) from None
    failures, passed = run_rule_tests(rs)
    for line in failures:
        err.print(f"[red]FAIL[/] {_plain(line)}", soft_wrap=True)
    out.print(f"{passed} passed, {len(failures)} failed")
    raise typer.Exit(1 if failures else 0)


@rules_app.command("types")
def rules_types() -> None:
    """List the 39 app types usable with --category."""
    from apkscan.rules.data import app_types

    for t in app_types():
        out.print(
            f"{t.get('number'):>2}  {t.get('id'):<28} {t.get('name_zh')}  "
            f"necessary: {', '.join(t.get('necessary') or []) or '-'}"
        )


@baseline_app.command("create")
def baseline_create(
    reports: Annotated[list[Path], typer.Argument(help="JSON reports (from apkscan scan) whose findings to accept.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Baseline file to write.")] = Path(
        "apkscan-baseline.json"
    ),
    reason: Annotated[
        str, typer.Option("--reason", help="Why these findings are accepted.")
    ] = "accepted when the baseline was created",
    expires: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--expires", help="ISO date after which the acceptance lapses (e.g. 2027-06-30)."),
    ] = None,
) -> None:
    """Create a baseline from scan reports."""
    from apkscan.baseline import create_baseline

    try:
        n = create_baseline(reports, output, reason, expires)
    except ApkscanError as exc:
        raise _fail(exc) from None
    out.print(f"baseline: {n} findings accepted -> {output}")


@app.command()
def diff(
    old: Annotated[Path, typer.Argument(help="The older APK (or its JSON report).")],
    new: Annotated[Path, typer.Argument(help="The newer APK (or its JSON report).")],
    output: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option("--output", "-o", help="Folder for diff.json and diff.html."),
    ] = None,
    format: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option(
            "--format",
            "-f",
            help="Files to write into --output: json, html; comma-separated or repeated \\[default: json,html].",
            show_default=False,
        ),
    ] = None,
    rules: RulesOpt = None,
    rules_only: RulesOnlyOpt = None,
    exclude_rule: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option("--exclude-rule", help="Leave out a rule's findings: an id or a glob; repeatable."),
    ] = None,
    fail_on_new: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--fail-on-new",
            help="Exit 1 when a new finding at or above this severity appears (a finding present in both "
            "versions, even with moved evidence, is not new).",
        ),
    ] = None,
    config: ConfigOpt = None,
    verbose: VerboseOpt = False,
    debug: DebugOpt = False,
    no_cache: NoCacheOpt = False,
) -> None:
    """What changed between two versions: verdict, permissions, SDKs, personal data, findings, signer, domains."""
    _setup_logging(verbose, debug)
    _no_cache(no_cache)
    from apkscan.diff import DIFF_FORMATS, diff_paths, print_diff, render_diff_html, render_diff_json

    try:
        from apkscan.config import load_config

        cfg = load_config(config)
        sev = _severity(fail_on_new, "--fail-on-new")
        fmts = _formats(format or ["json,html"], DIFF_FORMATS)
        if format and output is None:
            raise UsageError("--format: needs --output (the folder for diff.json and diff.html)")
        if output is not None:
            _make_output(output)  # before the work: -o naming an existing file is a one-line error
        from apkscan.engine import Options

        post = _Post(
            disable=(*cfg.disable, *(exclude_rule or [])), severity=dict(cfg.severity), builtin=not rules_only
        )
        thresholds = Options().thresholds

        def transform(result: ScanResult) -> ScanResult:
            from apkscan.config import select

            return select(result, post.disable, post.severity, thresholds, builtin=post.builtin)

        d = diff_paths(old, new, _load_ruleset([*cfg.rules, *(rules or [])], rules_only), transform)
    except ApkscanError as exc:
        raise _fail(exc) from None
    print_diff(out.real, d)
    if output is not None:
        from apkscan.report.safe import OutputLock, OutputWriteError, write_atomic

        written = []
        try:
            with OutputLock(output):
                for fmt in fmts:
                    target = output / f"diff.{fmt}"
                    write_atomic(target, render_diff_json(d) if fmt == "json" else render_diff_html(d))
                    written.append(str(target))
        except OutputWriteError as exc:
            raise _fail(OutputError(str(exc))) from None
        out.print(f"  written: {', '.join(written)}")
    if sev is not None and any(f.severity >= sev for f in d.new_findings):
        raise typer.Exit(int(ExitCode.FINDINGS))


SHELLS = ("bash", "zsh", "fish", "powershell")
COMPLETE_VAR = "_APKSCAN_COMPLETE"


@app.command()
def completion(
    shell: Annotated[str, typer.Argument(help="bash, zsh, fish or powershell.", show_default=False)],
) -> None:
    """Print the shell completion script, e.g. `apkscan completion bash >
    ~/.local/share/bash-completion/completions/apkscan` (docs/ci.md)."""
    if shell not in SHELLS:
        raise _fail(UsageError(f"completion: unknown shell {shell!r} (use {', '.join(SHELLS)})"))
    from typer._completion_shared import get_completion_script

    sys.stdout.write(get_completion_script(prog_name="apkscan", complete_var=COMPLETE_VAR, shell=shell) + "\n")


def _only_command(first: list[str]) -> typer.Typer | None:
    """The app with only the command the command line names first (``apkscan scan ...``),
    or None (an option first, help, an unknown name: the whole app answers). Typer turns
    every command's signature into click options before it runs one, which cost 0.05 s
    of each start for the 20 others; the command itself, its options, help and errors
    are the same."""
    if not first or first[0].startswith("-"):
        return None
    name = first[0]
    commands = [c for c in app.registered_commands
                if (c.name or (c.callback.__name__ if c.callback else "").replace("_", "-")) == name]
    groups = [g for g in app.registered_groups if g.name == name]
    if len(commands) + len(groups) != 1:
        return None
    only = copy.copy(app)  # the same settings, callback (global options) and help
    only.registered_commands = commands
    only.registered_groups = groups
    return only


def main() -> None:
    code: int | str | None = 0
    stdout_was = _file_id(1)
    if os.environ.get(COMPLETE_VAR):
        # the shell asks for completions: register typer's completion classes only now, so
        # that an ordinary start (apkscan --version) pays nothing for them
        from typer._completion_classes import completion_init

        completion_init()
    from typer._click.exceptions import ClickException, NoArgsIsHelpError

    try:
        code = (_only_command(sys.argv[1:2]) or app)(standalone_mode=False)
    except NoArgsIsHelpError as exc:  # `apkscan` or `apkscan rules` alone: the help
        exc.show()
        code = exc.exit_code
    except ClickException as exc:
        # a wrong flag or value: one line, as every other error (not typer's framed box)
        ctx = getattr(exc, "ctx", None)  # a UsageError knows the command it was given to
        where = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        err.print(f"[red]error:[/] {_plain(exc.format_message())}{where}", soft_wrap=True)
        code = exc.exit_code
    except KeyboardInterrupt:
        err.print("interrupted")
        code = 130
    except SystemExit as exc:
        code = exc.code
        if code == 1 and _stdout_closed(stdout_was):
            code = EXIT_PIPE_CLOSED
    _exit(code if isinstance(code, (int, str)) or code is None else 0)


EXIT_PIPE_CLOSED = 141
"""Standard output was closed by its reader (``apkscan ... | head``): the command stopped
there, as a tool ended by SIGPIPE does (128 + 13), not exit code 1 (a finding at or above
``--fail-on``)."""


def _file_id(fd: int | str) -> tuple[int, int] | None:
    try:
        st = os.fstat(fd) if isinstance(fd, int) else os.stat(fd)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def _stdout_closed(stdout_was: tuple[int, int] | None) -> bool:
    """rich and typer end a command whose stdout pipe broke with exit code 1, after
    pointing stdout at the null device (rich) or wrapping it (typer) so that nothing more
    is written: that, not a finding, is what the 1 meant."""
    from typer._click.utils import PacifyFlushWrapper

    if isinstance(sys.stdout, PacifyFlushWrapper):
        return True
    now = _file_id(1)
    return now != stdout_was and now == _file_id(os.devnull)


def _exit(code: int | str | None) -> None:
    """Exit now. A helper thread still finishing a YARA or RE2 step of a timed-out scan
    (it stops at the scan's deadline, see :func:`apkscan.runtime.scan_deadline`) is not
    waited for: the process ends within the time-out plus the exit itself. After a scan
    (``State.quick_exit``) the process ends the same way, with its output flushed, without
    freeing the last app's objects one by one."""
    import threading

    helpers = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon and t.is_alive()]
    if not helpers and not State.quick_exit:
        sys.exit(code)
    if isinstance(code, str):
        err.print(code)
        code = 1
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    logging.shutdown()
    os._exit(int(code or 0))


from apkscan.batch.cli import register as _register_batch  # noqa: E402

_register_batch(app)

from apkscan.known_cli import register as _register_known  # noqa: E402

_register_known(app)

from apkscan.serve.cli import register as _register_serve  # noqa: E402

_register_serve(app)
