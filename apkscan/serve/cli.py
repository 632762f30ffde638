"""The ``serve`` and ``token`` commands (registered on the main typer app by apkscan.cli).

Exit codes: 0 after a clean stop; 2 (usage) for a bad flag, a port in use or a missing
``[serve]`` extra; 3 for bad rules; 8 when the data folder cannot be written or another
run holds it.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from apkscan.batch.cli import (
    JobsOpt,
    WorkerMemoryOpt,
    WorkerRulesOnlyOpt,
    WorkerRulesOpt,
    WorkerTimeoutOpt,
    _fail,
)
from apkscan.errors import ApkscanError

if TYPE_CHECKING:
    from apkscan.serve.db import ServeDB

token_app = typer.Typer(help="Create, list and revoke the API tokens of `apkscan serve`.", no_args_is_help=True)

DataOpt = Annotated[Path, typer.Option("--data", "-d", help="The service's data folder.")]


class Role(str, Enum):
    submit = "submit"
    read = "read"
    admin = "admin"




def serve(
    data: DataOpt = Path("apkscan-data"),
    host: Annotated[str, typer.Option("--host", help="Address to listen on (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", "-p", help="TCP port (0 = any free port).")] = 8000,
    jobs: JobsOpt = 0,
    scheduler: Annotated[Optional[str], typer.Option(  # noqa: UP045
        "--scheduler", help="Dask scheduler address (tcp://HOST:8786); its workers must see --data.")] = None,
    rules: WorkerRulesOpt = None,
    rules_only: WorkerRulesOnlyOpt = None,
    timeout: WorkerTimeoutOpt = 300.0,
    memory_mb: WorkerMemoryOpt = 2048,
    limit: Annotated[Optional[list[str]], typer.Option(  # noqa: UP045
        "--limit", help="Change a safety limit, as for apkscan scan (repeatable; docs/security.md).")] = None,
    max_upload_mb: Annotated[float, typer.Option(
        "--max-upload-mb", help="Largest request body accepted (413 above).")] = 768.0,
    queue_max: Annotated[int, typer.Option(
        "--queue-max", help="Jobs waiting at most; more uploads get 503 with Retry-After.")] = 1000,
    rate: Annotated[float, typer.Option(
        "--rate", help="Uploads per token per minute (429 above; 0 = no limit).")] = 120.0,
    max_wait: Annotated[float, typer.Option(
        "--max-wait", help="Longest ?wait= a request may hold, in seconds.")] = 300.0,
    cookie_secure: Annotated[bool, typer.Option(
        "--cookie-secure", help="Mark the sign-in cookie Secure (set this behind an HTTPS proxy).")] = False,
    proxy_headers: Annotated[bool, typer.Option(
        "--proxy-headers", help="Trust X-Forwarded-For/-Proto from --forwarded-allow-ips.")] = False,
    forwarded_allow_ips: Annotated[str, typer.Option(
        "--forwarded-allow-ips", help="The reverse proxy's address(es), comma-separated.")] = "127.0.0.1",
    no_cache: Annotated[bool, typer.Option(
        "--no-cache", help="Neither read nor write the rule cache (see docs/security.md).")] = False,
) -> None:
    """Run the upload service and REST API (web pages at /ui/, API at /api/v1/)."""
    from apkscan.cli import _setup_logging
    from apkscan.serve.server import ServeOptions, run

    _setup_logging(False, False)
    try:
        run(ServeOptions(
            data=data, host=host, port=port, jobs=jobs, scheduler=scheduler,
            rule_dirs=list(rules_only or rules or []), include_builtin=not rules_only,
            timeout_s=timeout, memory_mb=memory_mb, limits=tuple(limit or ()), no_cache=no_cache,
            max_upload_mb=max_upload_mb, queue_max=queue_max, rate_per_minute=rate, max_wait_s=max_wait,
            cookie_secure=cookie_secure, proxy_headers=proxy_headers, forwarded_allow_ips=forwarded_allow_ips,
        ))
    except ApkscanError as exc:
        raise _fail(exc) from None


def _db(data: Path) -> ServeDB:
    from apkscan.errors import UsageError
    from apkscan.serve.db import ServeDB

    if not data.is_dir():
        raise _fail(UsageError(f"{data}: no such data folder (start `apkscan serve --data {data}` once, "
                               "or create the folder)"))
    return ServeDB(data)


@token_app.command("create")
def token_create(
    data: DataOpt = Path("apkscan-data"),
    role: Annotated[Role, typer.Option("--role", help="submit, read or admin.")] = Role.submit,
    name: Annotated[str, typer.Option("--name", help="Who or what uses it (shown by list).")] = "",
) -> None:
    """Make a token; it is printed once (only its SHA-256 is stored)."""
    db = _db(data)
    tok, secret = db.create_token(role.value, name)
    typer.echo(secret)
    typer.echo(f"token {tok.id} ({tok.role}, {tok.name}) created; it is shown only now", err=True)


@token_app.command("list")
def token_list(data: DataOpt = Path("apkscan-data")) -> None:
    """The tokens: id, role, name, created, revoked."""
    for t in _db(data).tokens():
        state = f"revoked {t.revoked_at}" if t.revoked_at else "active"
        typer.echo(f"{t.id}  {t.role:<6}  {state:<32}  created {t.created_at}  {t.name}")


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[str, typer.Argument(help="The token's id (from list).", show_default=False)],
    data: DataOpt = Path("apkscan-data"),
) -> None:
    """Revoke a token at once (a running service refuses it from the next request on)."""
    from apkscan.errors import UsageError

    if not _db(data).revoke(token_id):
        raise _fail(UsageError(f"{token_id}: no such active token"))
    typer.echo(f"token {token_id} revoked")


def register(app: typer.Typer) -> None:
    """Add ``serve`` and ``token`` to the main command line."""
    app.command("serve")(serve)
    app.add_typer(token_app, name="token")
