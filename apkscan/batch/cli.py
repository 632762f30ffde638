"""The ``batch`` and ``query`` commands (registered on the main typer app by apkscan.cli).

Exit codes: 0 when every APK was processed (APKs that failed to scan are data, recorded
in the store); 2 (usage) for a bad input, output, flag or query; 3 for bad rules;
7 when the batch could not run (workers fail to start).
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from apkscan.errors import ApkscanError


class QueryFormat(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


class Shared(str, Enum):
    cert = "cert"
    domain = "domain"
    generator = "generator"
    package = "package"


def _fail(exc: ApkscanError) -> typer.Exit:
    from apkscan.cli import _fail as cli_fail

    return cli_fail(exc)


# Options of the commands that drive worker processes (batch and serve).
JobsOpt = Annotated[int, typer.Option("--jobs", "-j", help="Worker processes (0 = one per CPU).")]
WorkerRulesOpt = Annotated[Optional[list[Path]], typer.Option(  # noqa: UP045
    "--rules", help="Add a folder (or file) of rules to the built-in ones; repeatable.")]
WorkerRulesOnlyOpt = Annotated[Optional[list[Path]], typer.Option(  # noqa: UP045
    "--rules-only", help="Use only these rule folders; repeatable.")]
WorkerTimeoutOpt = Annotated[float, typer.Option(
    "--timeout", min=1, help="Seconds allowed per APK; the worker is killed and replaced after that.")]
WorkerMemoryOpt = Annotated[int, typer.Option(
    "--memory-mb", help="Address-space cap per worker process in MB (0 = none).")]


def batch(
    source: Annotated[Path, typer.Argument(
        help="Folder searched recursively for .apk/.apks/.xapk, a text file listing paths, or one APK.",
        show_default=False)],
    jobs: JobsOpt = 0,
    output: Annotated[Path, typer.Option(
        "--output", "-o",
        help="Output folder: apkscan.db, reports/, index.html, apps.csv, findings.jsonl.")] = Path("batch-out"),
    scheduler: Annotated[Optional[str], typer.Option(  # noqa: UP045
        "--scheduler", help="Dask scheduler address (tcp://HOST:8786); workers must see the same files.")] = None,
    rules: WorkerRulesOpt = None,
    rules_only: WorkerRulesOnlyOpt = None,
    timeout: WorkerTimeoutOpt = 300.0,
    memory_mb: WorkerMemoryOpt = 2048,
    format: Annotated[Optional[list[str]], typer.Option(  # noqa: UP045
        "--format", "-f", help="Per-APK report formats: json, html, sarif (comma-separated or repeated) or none "
        "\\[default: json,html].", show_default=False)] = None,
    rescan: Annotated[bool, typer.Option(
        "--rescan", help="Read every APK again even if its facts are stored.")] = False,
    retry_failed: Annotated[bool, typer.Option(
        "--retry-failed", help="Try again APKs that failed in an earlier run.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar and no summary.")] = False,
    limit: Annotated[Optional[list[str]], typer.Option(  # noqa: UP045
        "--limit", help="Change a safety limit, as for apkscan scan (repeatable; docs/security.md).")] = None,
    no_cache: Annotated[bool, typer.Option(
        "--no-cache", help="Neither read nor write the rule cache (see docs/security.md).")] = False,
    lang: Annotated[Optional[str], typer.Option(  # noqa: UP045
        "--lang", help="Language of the dashboard (index.html) and the per-APK reports: zh or en "
        "\\[default: from the locale, LC_ALL / LANG].", show_default=False)] = None,
) -> None:
    """Scan every APK of a folder in parallel into a resumable results store, with a batch dashboard."""
    from apkscan.batch.runner import BatchOptions, parse_formats, print_summary, run_batch
    from apkscan.cli import _lang, _setup_logging

    _setup_logging(False, False)
    from rich.console import Console

    err = Console(stderr=True, highlight=False)
    out = Console(highlight=False)
    try:
        report_lang = _lang(lang)
        opts = BatchOptions(
            source=source, out=output, jobs=jobs, scheduler=scheduler,
            rule_dirs=list(rules_only or rules or []), include_builtin=not rules_only,
            timeout_s=timeout, memory_mb=memory_mb, formats=parse_formats(",".join(format or ["json,html"])),
            rescan=rescan, retry_failed=retry_failed, quiet=quiet,
            limits=tuple(limit or ()), no_cache=no_cache, lang=report_lang,
        )
        summary = run_batch(opts, err)
    except ApkscanError as exc:
        raise _fail(exc) from None
    if not quiet:
        print_summary(out, summary, opts.lang)


def query(
    output: Annotated[Path, typer.Argument(help="A batch output folder (or its apkscan.db).", show_default=False)],
    finding: Annotated[Optional[str], typer.Option(  # noqa: UP045
        "--finding", help="Apps with this finding (rule id, * wildcards; 'all' = counts per rule).")] = None,
    sdk: Annotated[Optional[str], typer.Option(  # noqa: UP045
        "--sdk", help="Apps with this SDK id ('all' = apps per SDK).")] = None,
    shared: Annotated[Optional[Shared], typer.Option(  # noqa: UP045
        "--shared", help="Apps sharing a signing cert, a domain or an app-generator id.")] = None,
    sql: Annotated[Optional[str], typer.Option(  # noqa: UP045
        "--sql", help="Any read-only SQL over the store (see docs/batch.md).")] = None,
    family: Annotated[Optional[str], typer.Option(  # noqa: UP045
        "--family", help="Families of similar or linked apps: 'all', a family number, or a member's "
        "package or SHA-256 (docs/families.md).")] = None,
    versions: Annotated[bool, typer.Option(
        "--versions", help="Builds of a package seen before: how far code, assets, servers, SDKs and signer moved.")
    ] = False,
    format: Annotated[QueryFormat, typer.Option("--format", "-f", help="table, csv or json.")] = QueryFormat.table,
) -> None:
    """Ask the results store: apps with a finding, apps per SDK, shared certificates, domains, generator ids,
    families."""
    from rich.console import Console

    from apkscan.batch.query import open_store, render_rows, run_query

    out = Console(highlight=False)
    try:
        store = open_store(output)
        try:
            cols, rows = run_query(store, finding, sdk, shared.value if shared else None, sql, family, versions)
        finally:
            store.close()
    except ApkscanError as exc:
        raise _fail(exc) from None
    text = render_rows(out, cols, rows, format.value)
    if text is not None:
        sys.stdout.write(text)
    if not rows:
        from apkscan.batch.query import unknown_id

        note = unknown_id(finding, sdk)
        if note:
            Console(stderr=True, highlight=False).print(f"note: {note}", soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add ``batch`` and ``query`` to the main command line."""
    app.command("batch")(batch)
    app.command("query")(query)
