"""Start the service: lock the data folder, load the rules, start the workers, resume the
jobs a previous run left, listen. Only ``apkscan serve`` calls :func:`run`."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from apkscan.errors import OutputError, UsageError


@dataclass
class ServeOptions:
    data: Path
    host: str = "127.0.0.1"
    port: int = 8000
    jobs: int = 0
    scheduler: str | None = None
    rule_dirs: list[Path] = field(default_factory=list)
    include_builtin: bool = True
    timeout_s: float = 300.0
    memory_mb: int = 2048
    limits: tuple[str, ...] = ()
    no_cache: bool = False
    max_upload_mb: float = 768.0
    queue_max: int = 1000
    rate_per_minute: float = 120.0
    max_wait_s: float = 300.0
    cookie_secure: bool = False
    proxy_headers: bool = False
    """Trust X-Forwarded-For/-Proto from the address in ``forwarded_allow_ips``."""
    forwarded_allow_ips: str = "127.0.0.1"


def _validate(opts: ServeOptions) -> None:
    if opts.jobs < 0:
        raise UsageError("-j/--jobs: must be 1 or more (0 = one per CPU)")
    if not opts.timeout_s > 0:
        raise UsageError("--timeout: must be more than 0 seconds")
    if opts.memory_mb < 0 or 0 < opts.memory_mb < 256:
        raise UsageError("--memory-mb: must be at least 256 (or 0 for no limit)")
    if not opts.max_upload_mb > 0:
        raise UsageError("--max-upload-mb: must be more than 0")
    if opts.queue_max < 1:
        raise UsageError("--queue-max: must be 1 or more")
    if not 0 <= opts.port <= 65535:
        raise UsageError("--port: must be 0-65535")
    from apkscan.cli import parse_limits

    parse_limits(list(opts.limits))
    if opts.data.exists() and not opts.data.is_dir():
        raise OutputError(f"{opts.data}: the data folder is a file")
    for name in ("reports", "uploads", "apkscan.db", "serve.db"):
        if (opts.data / name).is_symlink():
            raise OutputError(f"{opts.data / name}: is a symbolic link; refusing to write through it")
    try:
        (opts.data / "reports").mkdir(parents=True, exist_ok=True)
        (opts.data / "uploads").mkdir(exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{opts.data}: cannot create the data folder ({exc.strerror})") from None


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise UsageError(f"--host/--port: cannot listen on {host}:{port} ({exc.strerror})") from None
    sock.listen(512)
    sock.set_inheritable(False)
    return sock


def run(opts: ServeOptions, out: Any = None) -> None:
    """Serve until SIGINT or SIGTERM. ``out`` gets the address and the first token."""
    try:
        import uvicorn
    except ImportError:
        raise UsageError("apkscan serve needs Starlette and uvicorn: pip install 'apkscan[serve]'") from None
    from apkscan.batch.runner import yara_rules_digest
    from apkscan.batch.sandbox import WorkerConfig
    from apkscan.batch.store import Store
    from apkscan.report.safe import OutputLock, OutputWriteError
    from apkscan.rules.data import set_cache_enabled
    from apkscan.rules.loader import load_rules
    from apkscan.serve.app import ServeSettings, Service, build_app
    from apkscan.serve.db import ServeDB
    from apkscan.serve.jobs import Runner

    write = out or (lambda text: print(text, flush=True))
    _validate(opts)
    if opts.no_cache:
        set_cache_enabled(False)
    ruleset = load_rules(list(opts.rule_dirs), include_builtin=opts.include_builtin)
    digest, yara_digest = ruleset.digest, yara_rules_digest(ruleset)
    del ruleset
    try:
        lock = OutputLock(opts.data)
        lock.__enter__()
    except OutputWriteError as exc:
        raise OutputError(str(exc)) from None
    try:
        store = Store(opts.data / "apkscan.db")
        store.set_meta("rules_digest", digest)
        store.set_meta("yara_rules_digest", yara_digest)
        store.close()
        for part in (opts.data / "uploads" / "tmp").glob("*.part"):  # uploads cut off by a stop
            with contextlib.suppress(OSError):
                part.unlink()
        sock = _listen(opts.host, opts.port)  # before the first token: a busy port must not eat it
        sdb = ServeDB(opts.data)
        first = ""
        if sdb.active_tokens() == 0:
            _tok, first = sdb.create_token("admin", "first admin (apkscan serve)")
        host, port = sock.getsockname()[:2]
        config = WorkerConfig(
            rule_dirs=tuple(str(Path(d).resolve()) for d in opts.rule_dirs), include_builtin=opts.include_builtin,
            digest=digest, formats=("json", "html", "sarif"), memory_mb=opts.memory_mb,
            timeout_s=float(opts.timeout_s), limits=tuple(opts.limits), no_cache=opts.no_cache,
            early=not opts.scheduler)  # a Dask task answers once, with everything
        settings = ServeSettings(
            data=opts.data, max_upload_bytes=int(opts.max_upload_mb * (1 << 20)), queue_max=opts.queue_max,
            rate_per_minute=opts.rate_per_minute, max_wait_s=opts.max_wait_s, cookie_secure=opts.cookie_secure,
            digest=digest)
        log_flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | os.O_CLOEXEC
        log = os.fdopen(os.open(opts.data / "workers.log", log_flags, 0o644), "ab", buffering=0)
        holder: dict[str, Service] = {}
        runner = Runner(opts.data, config, opts.jobs or os.cpu_count() or 1, digest, yara_digest,
                        ServeDB(opts.data), lambda sha: holder["svc"].notify(sha), opts.scheduler, log)
        svc = Service(settings, sdb, runner)
        holder["svc"] = svc
        resumed = _resume(sdb, runner, opts.data)
        runner.start()
        app = build_app(svc)
        shown = f"[{host}]" if ":" in host else host
        write(f"apkscan serve: listening on http://{shown}:{port}/ (data {opts.data}, rules {digest[7:19]}, "
              f"{runner.jobs if not opts.scheduler else 'dask'} workers)")
        if resumed:
            write(f"resumed {resumed} job(s) left queued by the previous run")
        if first:
            write(f"first admin token (shown once; make others with `apkscan token create`): {first}")
        else:
            write(f"{sdb.active_tokens()} active token(s); `apkscan token list --data {opts.data}`")
        cfg = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on",
                             proxy_headers=opts.proxy_headers, forwarded_allow_ips=opts.forwarded_allow_ips,
                             timeout_keep_alive=30, limit_concurrency=512)
        server = uvicorn.Server(cfg)

        def _term(signum: int, frame: Any) -> None:
            server.should_exit = True

        # uvicorn raises the signal it stopped on again once it is done: with this handler
        # SIGTERM ends here, so the workers are stopped and the folder unlocked (exit 0)
        signal.signal(signal.SIGTERM, _term)
        with contextlib.suppress(KeyboardInterrupt):
            server.run(sockets=[sock])
        runner.stop()
        runner.join(timeout=15)
        log.close()
    finally:
        lock.__exit__(None, None, None)


def _resume(sdb: Any, runner: Any, data: Path) -> int:
    """Queue again every job that was queued or running when the service last stopped."""
    from apkscan.serve.jobs import upload_path

    n = 0
    for job in sdb.pending():
        sha = job["sha256"]
        path = upload_path(data, sha, job["ext"])
        if not path.is_file():
            sdb.finish_job(sha, "failed", None, "not-found", "the upload was lost before it was scanned", {})
            continue
        task: dict[str, Any] = {"key": sha, "kind": "scan", "path": str(path), "size": job["size"]}
        sdb.add_job(sha, "scan", job["ext"], job["size"], job["filename"] or "", job["token_id"] or "",
                    job["timings"] or {})
        runner.submit(task)
        n += 1
    return n

