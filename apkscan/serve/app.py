"""The ASGI application (Starlette): REST API under ``/api/v1``, web pages under ``/ui``.

Imported only by ``apkscan serve`` (Starlette and uvicorn are the optional ``[serve]``
extra). Every request needs a valid token (``Authorization: Bearer``, or the cookie the
login page sets), except the login page itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from apkscan import __version__
from apkscan.facts import FACTS_READER
from apkscan.serve import pages
from apkscan.serve.db import ServeDB, Token
from apkscan.serve.jobs import Runner, UploadSink, UploadTooLarge, suffix_for
from apkscan.serve.openapi import openapi

API = "/api/v1"
COOKIE = "apkscan_token"
SHA_RE = re.compile(r"^[0-9a-f]{64}$")
DRAIN_BYTES = 64 << 20
"""After the size limit is passed, this much more of the body is read and thrown away so
that an ordinary client sees the 413 instead of a reset connection."""


@dataclass
class ServeSettings:
    data: Path
    max_upload_bytes: int = 768 << 20
    queue_max: int = 1000
    rate_per_minute: float = 120.0
    """Uploads per token per minute (a bucket that holds one minute's worth); 0 = none."""
    max_wait_s: float = 300.0
    cookie_secure: bool = False
    digest: str = ""


@dataclass
class _Bucket:
    level: float
    at: float = field(default_factory=time.monotonic)


class Service:
    """State shared by the request handlers: settings, databases, runner, waiters."""

    def __init__(self, settings: ServeSettings, sdb: ServeDB, runner: Runner) -> None:
        self.s = settings
        self.sdb = sdb
        self.runner = runner
        self.loop: asyncio.AbstractEventLoop | None = None
        self.waiters: dict[str, list[asyncio.Future[None]]] = {}
        self.buckets: dict[str, _Bucket] = {}
        self._local = threading.local()
        self.started = time.time()

    # --- the results store, read-only ---------------------------------------------------
    @property
    def store(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "store", None)
        if conn is None:
            path = (self.s.data / "apkscan.db").resolve()
            conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=30)
            conn.execute("PRAGMA query_only = ON")
            conn.row_factory = sqlite3.Row
            self._local.store = conn
        return conn

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        return [dict(r) for r in self.store.execute(sql, params)]

    # --- waking requests that wait for a job ------------------------------------------------
    def notify(self, sha256: str) -> None:
        """Called from the runner thread when a job ends."""
        if self.loop is not None:
            self.loop.call_soon_threadsafe(self._wake, sha256)

    def _wake(self, sha256: str) -> None:
        for fut in self.waiters.pop(sha256, []):
            if not fut.done():
                fut.set_result(None)

    async def wait_for(self, sha256: str, seconds: float) -> None:
        job = self.sdb.job(sha256)
        if job is None or job["status"] not in ("queued", "running") or seconds <= 0:
            return
        assert self.loop is not None
        fut: asyncio.Future[None] = self.loop.create_future()
        self.waiters.setdefault(sha256, []).append(fut)
        job = self.sdb.job(sha256)  # it may have ended between the first look and now
        if job is not None and job["status"] in ("queued", "running"):
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(fut, timeout=min(seconds, self.s.max_wait_s))
        lst = self.waiters.get(sha256, [])
        if fut in lst:
            lst.remove(fut)

    async def wait_stored(self, sha256: str, seconds: float = 120.0) -> None:
        """Wait while a scan is answered but its reports and facts are still being made."""
        assert self.loop is not None
        deadline = self.loop.time() + min(seconds, self.s.max_wait_s)
        while sha256 in self.runner.early_done:
            left = deadline - self.loop.time()
            if left <= 0:
                return
            fut: asyncio.Future[None] = self.loop.create_future()
            self.waiters.setdefault(sha256, []).append(fut)
            if sha256 in self.runner.early_done:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(fut, timeout=min(left, 1.0))
            lst = self.waiters.get(sha256, [])
            if fut in lst:
                lst.remove(fut)

    # --- rate limit ---------------------------------------------------------------------
    def take_rate(self, token: Token) -> float:
        """0 when the token may upload now, else the seconds to wait."""
        rate = self.s.rate_per_minute
        if rate <= 0:
            return 0.0
        now = time.monotonic()
        b = self.buckets.setdefault(token.id, _Bucket(level=rate, at=now))
        b.level = min(rate, b.level + (now - b.at) * rate / 60.0)
        b.at = now
        if b.level >= 1.0:
            b.level -= 1.0
            return 0.0
        return (1.0 - b.level) * 60.0 / rate

    # --- one scan's status ----------------------------------------------------------------
    def status(self, sha256: str) -> dict[str, Any] | None:
        # read before the store: the runner leaves this set only after the store is written
        in_flight = sha256 in self.runner.early_done
        job = self.sdb.job(sha256)
        rows = self.rows(
            "SELECT a.sha256, a.package, a.label, a.version_name, a.version_code, a.status AS apk_status, "
            "a.error_kind, a.error, a.scanned_at, a.size, r.verdict, r.critical, r.high, r.medium, r.low, r.info, "
            "r.report_stem FROM apks a LEFT JOIN results r ON r.sha256 = a.sha256 AND r.rules_digest = ? "
            "WHERE a.sha256 = ?", (self.s.digest, sha256))
        row = rows[0] if rows else None
        if job is None and row is None:
            return None
        out: dict[str, Any] = {"id": sha256, "sha256": sha256}
        status = job["status"] if job is not None else ""
        # a job answered before its facts reached the store: its summary stands in for the row
        early = (job is not None and job["status"] == "done" and job.get("summary") is not None
                 and in_flight)
        if early:
            assert job is not None
            summary = job["summary"]
            row = {**{k: summary.get(k) for k in ("package", "label", "version_name", "version_code")},
                   "size": job["size"], "scanned_at": job["finished_at"], "apk_status": "ok",
                   "verdict": job["verdict"], **(summary.get("counts") or {})}
        elif status not in ("queued", "running"):
            if row is None:
                status = status or "failed"
            elif row["apk_status"] == "failed":
                status = "failed"
            elif row["verdict"] is not None:
                status = "done"
            else:
                status = "stale"  # facts stored under other rules: POST .../reevaluate
        out["status"] = status
        if status == "queued":
            out["queue_position"] = self.runner.position(sha256)
        if row is not None:
            for k in ("package", "label", "version_name", "version_code", "size", "scanned_at"):
                out[k] = row.get(k) if isinstance(row, dict) else row[k]
        if status == "done" and row is not None:
            out["verdict"] = row["verdict"]
            en, zh = (job or {}).get("reason") or "", (job or {}).get("reason_zh") or ""
            if not en and row.get("report_stem"):
                en, zh = self._reason_from_report(str(row["report_stem"]))
            out["verdict_reason"] = {"en": en, "zh": zh}
            out["counts"] = {k: row.get(k, 0) for k in ("critical", "high", "medium", "low", "info")}
            out["reports"] = {fmt: f"{API}/scans/{sha256}/report.{fmt}" for fmt in ("json", "html", "sarif")}
        if status == "failed":
            out["error_kind"] = (row or {}).get("error_kind") or (job or {}).get("error_kind")
            out["error"] = (row or {}).get("error") or (job or {}).get("error")
        if job is not None:
            out["submitted_at"] = job["submitted_at"]
            out["finished_at"] = job["finished_at"]
            out["timings"] = job["timings"]
        out["ui"] = f"/ui/scans/{sha256}"
        return out

    def _reason_from_report(self, stem: str) -> tuple[str, str]:
        path = self.s.data / "reports" / f"{stem}.json"
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            reason = doc.get("verdict_reason") or {}
            return str(reason.get("en") or ""), str(reason.get("zh") or "")
        except (OSError, ValueError, AttributeError):
            return "", ""

    def report_file(self, sha256: str, fmt: str) -> Path | None:
        rows = self.rows("SELECT report_stem FROM results WHERE sha256 = ? AND rules_digest = ?",
                         (sha256, self.s.digest))
        stem = rows[0]["report_stem"] if rows else None
        if not stem and sha256 in self.runner.early_done:  # answered, not stored yet
            job = self.sdb.job(sha256)
            stem = ((job or {}).get("summary") or {}).get("stem")
        if not stem:
            return None
        path = self.s.data / "reports" / f"{stem}.{fmt}"
        return path if path.is_file() and not path.is_symlink() else None


# --- helpers ---------------------------------------------------------------------------------


def error(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": message, "status": status}, status_code=status, headers=headers or None)


def service(request: Request) -> Service:
    svc: Service = request.app.state.service
    return svc


def auth(request: Request, role: str, *others: str) -> Token | Response:
    """The request's token if it allows ``role`` or any of ``others``; else the refusal to
    send (the token is looked up once)."""
    svc = service(request)
    secret = ""
    via_cookie = False
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        secret = header[7:].strip()
    elif request.headers.get("x-apkscan-token"):
        secret = request.headers["x-apkscan-token"].strip()
    elif request.cookies.get(COOKIE):
        secret = request.cookies[COOKIE]
        via_cookie = True
    is_page = request.url.path.startswith("/ui")
    if not secret:
        if is_page:
            return RedirectResponse("/ui/login", status_code=303)
        return error(401, "a token is required (Authorization: Bearer TOKEN)", **{"WWW-Authenticate": "Bearer"})
    token = svc.sdb.check(secret)
    if token is None:
        if is_page:
            return RedirectResponse("/ui/login?bad=1", status_code=303)
        return error(401, "invalid or revoked token", **{"WWW-Authenticate": "Bearer"})
    if via_cookie and request.method not in ("GET", "HEAD") and request.headers.get("x-apkscan-ui") != "1":
        return error(403, "a browser request needs the X-Apkscan-UI header (cross-site requests are refused)")
    roles = (role, *others)
    if not any(token.allows(r) for r in roles):
        return error(403, f"this token's role ({token.role}) does not allow {roles[-1]}")
    return token


def _float(value: str | None, default: float) -> float:
    try:
        return float(value) if value is not None else default
    except ValueError:
        return default


def _display_name(name: str) -> str:
    """The client's file name, only ever shown (escaped), never used as a path."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(ch for ch in name if ch.isprintable())[:200]


# --- API: submit -------------------------------------------------------------------------------


class _Multipart:
    """Feeds the first file part of a multipart body into an :class:`UploadSink`."""

    def __init__(self, boundary: bytes, sink: UploadSink) -> None:
        from python_multipart.multipart import MultipartParser

        self.sink = sink
        self.filename = ""
        self.found = False
        self._in_file = False
        self._field = b""
        self._value = b""
        self._disposition = b""
        callbacks: Any = {
            "on_part_begin": self._begin,
            "on_header_field": self._hfield,
            "on_header_value": self._hvalue,
            "on_header_end": self._hend,
            "on_headers_finished": self._hdone,
            "on_part_data": self._data,
            "on_part_end": self._end,
        }
        self.parser = MultipartParser(boundary, callbacks, max_header_count=16)

    def _begin(self) -> None:
        self._disposition = b""
        self._field = self._value = b""

    def _hfield(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _hvalue(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _hend(self) -> None:
        if self._field.lower() == b"content-disposition":
            self._disposition = self._value
        self._field = self._value = b""

    def _hdone(self) -> None:
        from python_multipart.multipart import parse_options_header

        _, params = parse_options_header(self._disposition)
        is_file = b"filename" in params or params.get(b"name") == b"file"
        self._in_file = is_file and not self.found
        if self._in_file:
            self.found = True
            self.filename = params.get(b"filename", b"").decode("utf-8", "replace")

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file:
            self.sink.write(data[start:end])

    def _end(self) -> None:
        self._in_file = False

    def write(self, chunk: bytes) -> None:
        self.parser.write(chunk)

    def finalize(self) -> None:
        self.parser.finalize()


async def _drain(request: Request, budget: int) -> None:
    try:
        async for chunk in request.stream():
            budget -= len(chunk)
            if budget < 0:
                return
    except Exception:
        return


async def submit(request: Request) -> Response:
    token = auth(request, "submit")
    if isinstance(token, Response):
        return token
    svc = service(request)
    if svc.runner.fatal:
        return error(503, f"the scanner is not running: {svc.runner.fatal}")
    wait_s = svc.take_rate(token)
    if wait_s > 0:
        return error(429, f"rate limit: {svc.s.rate_per_minute:g} uploads per minute for this token",
                     **{"Retry-After": str(int(wait_s) + 1)})
    if svc.runner.queued() >= svc.s.queue_max:
        return error(503, f"the queue is full ({svc.s.queue_max} jobs waiting); try again later",
                     **{"Retry-After": "10"})
    limit = svc.s.max_upload_bytes
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit + (64 << 10):
        if int(length) <= limit + DRAIN_BYTES:  # read and drop it, so the client sees the answer
            await _drain(request, DRAIN_BYTES)
        return error(413, f"upload larger than the limit of {limit} bytes", Connection="close")
    t0 = time.perf_counter()
    try:
        sink = UploadSink(svc.s.data, limit)
    except OSError as exc:
        return error(507, f"the upload could not be stored ({exc.strerror or type(exc).__name__})")
    ctype = request.headers.get("content-type", "")
    filename = request.query_params.get("filename") or request.headers.get("x-filename") or ""
    try:
        if ctype.lower().startswith("multipart/form-data"):
            from python_multipart.multipart import parse_options_header

            _, params = parse_options_header(ctype)
            boundary = params.get(b"boundary")
            if not boundary:
                sink.discard()
                return error(400, "multipart body without a boundary")
            mp = _Multipart(boundary, sink)
            total = 0
            async for chunk in request.stream():
                total += len(chunk)
                if total > limit + (1 << 20):  # the other parts count too
                    raise UploadTooLarge(f"upload larger than the limit of {limit} bytes")
                mp.write(chunk)
            mp.finalize()
            if not mp.found:
                sink.discard()
                return error(400, "no file part in the multipart body (send the APK as field 'file')")
            filename = mp.filename or filename
        else:
            async for chunk in request.stream():
                sink.write(chunk)
    except UploadTooLarge as exc:
        sink.discard()
        await _drain(request, DRAIN_BYTES)
        return error(413, str(exc), Connection="close")
    except OSError as exc:  # our side: the data folder is full or unwritable
        sink.discard()
        return error(507, f"the upload could not be stored ({exc.strerror or type(exc).__name__})")
    except Exception as exc:  # the client's side: a cut connection, a malformed multipart body
        sink.discard()
        return error(400, f"the upload could not be read: {type(exc).__name__}")
    if sink.size == 0:
        sink.discard()
        return error(400, "empty upload")
    ext = suffix_for(filename)
    sha, path = sink.finish(ext)
    receive_s = time.perf_counter() - t0
    shown = _display_name(filename)
    retry = request.query_params.get("retry") in ("1", "true") and token.allows("admin")
    code, duplicate = _queue(svc, sha, ext, path, sink.size, shown, token, receive_s, retry)
    wait = _float(request.query_params.get("wait"), 0.0)
    if wait > 0:
        await svc.wait_for(sha, wait)
    body = svc.status(sha) or {"id": sha, "sha256": sha, "status": "queued"}
    body["duplicate"] = duplicate
    body.setdefault("timings", {})
    body["timings"]["receive_s"] = round(receive_s, 4)
    if body["status"] in ("done", "failed") and not duplicate:
        code = 200
    return JSONResponse(body, status_code=code, headers={"Location": f"{API}/scans/{sha}"})


def _queue(svc: Service, sha: str, ext: str, path: Path, size: int, filename: str, token: Token,
           receive_s: float, retry: bool = False) -> tuple[int, bool]:
    """Queue a new upload, or answer a known one from the store. Returns (HTTP code, duplicate).
    ``retry`` (admin, ``?retry=1``): scan again a file whose scan failed (after raising a limit)."""
    job = svc.sdb.job(sha)
    if job is not None and job["status"] in ("queued", "running"):
        return 202, True
    if job is not None and job["status"] == "done" and sha in svc.runner.early_done:
        return 200, True  # answered a moment ago; its facts are on their way to the store
    rows = svc.rows("SELECT status, error_kind, error FROM apks WHERE sha256 = ?", (sha,))
    current = svc.rows("SELECT verdict FROM results WHERE sha256 = ? AND rules_digest = ?", (sha, svc.s.digest))
    if current or (rows and rows[0]["status"] == "failed" and not retry):
        if job is None:
            failed = not current
            svc.sdb.add_done(sha, ext, size, filename, token.id, "failed" if failed else "done",
                             None if failed else current[0]["verdict"],
                             rows[0]["error_kind"] if failed else None, rows[0]["error"] if failed else None)
        return 200, True
    facts = svc.rows("SELECT yara_rules_digest, tool_version FROM facts WHERE sha256 = ?", (sha,))
    task: dict[str, Any] = {"key": sha, "path": str(path), "size": size, "upload_s": round(receive_s, 4)}
    if facts and _current_reader(facts[0]["tool_version"]):
        task["kind"] = "reeval"
        task["facts_z"] = _facts_blob(svc, sha)
        task["yara_stale"] = False
    else:
        task["kind"] = "scan"
    svc.sdb.add_job(sha, task["kind"], ext, size, filename, token.id, {"receive_s": round(receive_s, 4)})
    svc.runner.submit(task)
    return 202, False  # new work: a scan, a re-evaluation or a retry


def _current_reader(tool_version: str | None) -> bool:
    """Facts stored by the current extraction (``... facts/N``, :data:`FACTS_READER`).
    Older facts lack what the reader now records (the dex field reads of facts/2), so rules
    over them could miss what a fresh scan sees: such an APK is read again, never judged on
    less (as ``apkscan batch`` does, :meth:`apkscan.batch.store.Store.state`)."""
    return str(tool_version or "").endswith(f" facts/{FACTS_READER}")


def _facts_blob(svc: Service, sha: str) -> bytes:
    rows = svc.store.execute("SELECT data FROM facts WHERE sha256 = ?", (sha,)).fetchall()
    return bytes(rows[0][0]) if rows else b""


# --- API: read ----------------------------------------------------------------------------------


def _sha(request: Request) -> str | None:
    sha = str(request.path_params.get("sha", "")).lower()
    return sha if SHA_RE.match(sha) else None


async def get_scan(request: Request) -> Response:
    token = auth(request, "submit", "read")
    if isinstance(token, Response):
        return token
    sha = _sha(request)
    if sha is None:
        return error(400, "a scan id is the APK's SHA-256 (64 hex digits)")
    svc = service(request)
    await svc.wait_for(sha, _float(request.query_params.get("wait"), 0.0))
    body = svc.status(sha)
    if body is None:
        return error(404, "no such scan")
    return JSONResponse(body)


MEDIA = {"json": "application/json", "html": "text/html; charset=utf-8", "sarif": "application/sarif+json"}
_META_CSP = re.compile(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">')


async def get_report(request: Request) -> Response:
    token = auth(request, "submit", "read")
    if isinstance(token, Response):
        return token
    sha = _sha(request)
    fmt = str(request.path_params.get("fmt", ""))
    if sha is None or fmt not in MEDIA:
        return error(404, "no such report (formats: json, html, sarif)")
    await service(request).wait_stored(sha)
    return _report_response(service(request), sha, fmt)


def _report_response(svc: Service, sha: str, fmt: str) -> Response:
    path = svc.report_file(sha, fmt)
    if path is None:
        return error(404, "no report for this scan under the current rules")
    data = path.read_bytes()
    headers = {"X-Content-Type-Options": "nosniff"}
    if fmt == "html":
        m = _META_CSP.search(data[:4096].decode("utf-8", "replace"))
        headers["Content-Security-Policy"] = (m.group(1) if m else "default-src 'none'") + "; frame-ancestors 'none'"
    else:
        headers["Content-Security-Policy"] = "default-src 'none'; frame-ancestors 'none'"
    return Response(data, media_type=MEDIA[fmt], headers=headers)


def search_scans(svc: Service, params: dict[str, str]) -> list[dict[str, Any]]:
    """Scans in the store matching every given filter, newest first."""
    where = ["1 = 1"]
    args: list[Any] = [svc.s.digest]
    if params.get("package"):
        where.append("a.package LIKE ? ESCAPE '\\'")
        args.append(_like(params["package"]))
    if params.get("sha256"):
        where.append("(a.sha256 LIKE ? OR a.inner_sha256 LIKE ?)")
        args += [params["sha256"].lower() + "%"] * 2
    if params.get("verdict"):
        if params["verdict"] == "failed":
            where.append("a.status = 'failed'")
        else:
            where.append("r.verdict = ?")
            args.append(params["verdict"])
    if params.get("finding"):
        where.append("EXISTS (SELECT 1 FROM findings f WHERE f.sha256 = a.sha256 AND f.rules_digest = ? "
                     "AND f.rule_id LIKE ? ESCAPE '\\')")
        args += [svc.s.digest, _like(params["finding"], exact=True)]
    if params.get("sdk"):
        where.append("EXISTS (SELECT 1 FROM sdks s WHERE s.sha256 = a.sha256 AND s.rules_digest = ? "
                     "AND (s.sdk_id LIKE ? ESCAPE '\\' OR s.name LIKE ? ESCAPE '\\'))")
        args += [svc.s.digest, _like(params["sdk"]), _like(params["sdk"])]
    if params.get("since"):
        where.append("a.scanned_at >= ?")
        args.append(params["since"])
    if params.get("until"):
        where.append("a.scanned_at <= ?")
        args.append(params["until"] + ("T23:59:59" if len(params["until"]) == 10 else ""))
    limit = max(1, min(int(_float(params.get("limit"), 50)), 500))
    offset = max(0, int(_float(params.get("offset"), 0)))
    sql = ("SELECT a.sha256, a.package, a.label, a.version_name, a.version_code, a.status AS apk_status, "
           "a.error_kind, a.scanned_at, a.size, r.verdict, r.critical, r.high, r.medium, r.low, r.info "
           "FROM apks a LEFT JOIN results r ON r.sha256 = a.sha256 AND r.rules_digest = ? "
           f"WHERE {' AND '.join(where)} ORDER BY a.scanned_at DESC, a.sha256 LIMIT ? OFFSET ?")
    return svc.rows(sql, (*args, limit, offset))


def _like(value: str, exact: bool = False) -> str:
    v = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_").replace("*", "%")
    return v if exact or "%" in v else f"%{v}%"


SEARCH_KEYS = ("package", "sha256", "verdict", "finding", "sdk", "since", "until", "limit", "offset")


async def list_scans(request: Request) -> Response:
    token = auth(request, "read")
    if isinstance(token, Response):
        return token
    params = {k: request.query_params[k] for k in SEARCH_KEYS if request.query_params.get(k)}
    return JSONResponse({"scans": search_scans(service(request), params), "query": params})


async def list_jobs(request: Request) -> Response:
    token = auth(request, "read")
    if isinstance(token, Response):
        return token
    svc = service(request)
    status = request.query_params.get("status") or None
    jobs = svc.sdb.recent(int(max(1, min(_float(request.query_params.get("limit"), 100), 1000))), status)
    for j in jobs:
        j.pop("token_id", None)
        if j["status"] == "queued":
            j["queue_position"] = svc.runner.position(j["sha256"])
    return JSONResponse({"queued": svc.runner.queued(), "running": len(svc.runner.running), "jobs": jobs})


def _report_json(svc: Service, sha: str) -> dict[str, Any] | None:
    path = svc.report_file(sha, "json")
    if path is None:
        return None
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return doc


async def diff(request: Request) -> Response:
    token = auth(request, "read")
    if isinstance(token, Response):
        return token
    from apkscan.diff import diff_dict, diff_reports

    svc = service(request)
    old, new = (request.query_params.get(k, "").lower() for k in ("old", "new"))
    if not (SHA_RE.match(old) and SHA_RE.match(new)):
        return error(400, "old and new must be scan ids (SHA-256)")
    await svc.wait_stored(old)
    await svc.wait_stored(new)
    a, b = _report_json(svc, old), _report_json(svc, new)
    if a is None or b is None:
        return error(404, "both scans must be done under the current rules")
    return JSONResponse(diff_dict(diff_reports(a, b)))


async def reevaluate(request: Request) -> Response:
    """Re-evaluate stored facts under the rules this service runs (one scan, or with no id,
    every stored scan without a result under them). Facts from an older reader are not
    re-evaluated: the kept upload is scanned again, or (upload gone) the scan is refused
    with 409, or listed under ``skipped``."""
    token = auth(request, "admin")
    if isinstance(token, Response):
        return token
    svc = service(request)
    sha = _sha(request)
    if sha is not None:
        shas = [sha]
    elif "sha" in request.path_params:
        return error(400, "a scan id is the APK's SHA-256 (64 hex digits)")
    else:
        shas = [r["sha256"] for r in svc.rows(
            "SELECT f.sha256 FROM facts f WHERE NOT EXISTS (SELECT 1 FROM results r WHERE r.sha256 = f.sha256 "
            "AND r.rules_digest = ?)", (svc.s.digest,))]
    queued: list[str] = []
    skipped: list[str] = []  # facts from an older reader, upload gone: upload again
    current_yara = svc.rows("SELECT value FROM meta WHERE key = 'yara_rules_digest'")
    yara_digest = current_yara[0]["value"] if current_yara else ""
    for s in shas:
        facts = svc.rows("SELECT yara_rules_digest, tool_version FROM facts WHERE sha256 = ?", (s,))
        if not facts:
            if sha is not None:
                return error(404, "no stored facts for this scan")
            continue
        job = svc.sdb.job(s)
        if job is not None and job["status"] in ("queued", "running"):
            continue
        apk = svc.rows("SELECT path, size FROM apks WHERE sha256 = ?", (s,))
        path = apk[0]["path"] if apk else ""
        task = {"key": s, "kind": "reeval", "path": path, "size": apk[0]["size"] if apk else 0}
        if _current_reader(facts[0]["tool_version"]):
            task["facts_z"] = _facts_blob(svc, s)
            task["yara_stale"] = facts[0]["yara_rules_digest"] != yara_digest
        elif path and Path(path).is_file():
            task["kind"] = "scan"  # facts from an older reader: the kept upload is read again
        else:  # never judged on less than a scan sees: the APK has to come again
            if sha is not None:
                return error(409, "the stored facts come from an older version of the reader and the upload is "
                                  "no longer kept: upload the APK again")
            skipped.append(s)
            continue
        ext = (job or {}).get("ext") or "apk"
        svc.sdb.add_job(s, str(task["kind"]), ext, int(task["size"] or 0), (job or {}).get("filename") or "",
                        token.id, {})
        svc.runner.submit(task)
        queued.append(s)
    return JSONResponse({"queued": queued, "skipped": skipped, "rules_digest": svc.s.digest}, status_code=202)


async def health(request: Request) -> Response:
    token = auth(request, "submit", "read")
    if isinstance(token, Response):
        return token
    svc = service(request)
    return JSONResponse({
        "status": "error" if svc.runner.fatal else ("ready" if svc.runner.ready.is_set() else "starting"),
        "error": svc.runner.fatal or None, "warning": svc.runner.warning or None,
        "version": __version__, "rules_digest": svc.s.digest,
        "queued": svc.runner.queued(), "running": len(svc.runner.running),
        "workers_replaced": svc.runner.replaced, "token": {"id": token.id, "role": token.role},
    })


async def openapi_doc(request: Request) -> Response:
    token = auth(request, "submit", "read")
    if isinstance(token, Response):
        return token
    return JSONResponse(openapi(__version__))


# --- pages -----------------------------------------------------------------------------------


async def login_page(request: Request) -> Response:
    if request.method == "POST":
        body = await request.body()
        if len(body) > 4096:
            return error(413, "too long")
        secret = urllib.parse.parse_qs(body.decode("utf-8", "replace")).get("token", [""])[0].strip()
        if service(request).sdb.check(secret) is None:
            return RedirectResponse("/ui/login?bad=1", status_code=303)
        resp = RedirectResponse("/ui/", status_code=303)
        resp.set_cookie(COOKIE, secret, httponly=True, samesite="strict", secure=service(request).s.cookie_secure,
                        path="/", max_age=12 * 3600)
        return resp
    return pages.page("login", {"bad": request.query_params.get("bad") == "1"})


async def logout(request: Request) -> Response:
    resp = RedirectResponse("/ui/login", status_code=303)
    resp.delete_cookie(COOKIE, path="/")
    return resp


async def ui_page(request: Request) -> Response:
    name = str(request.path_params.get("page") or "upload")
    if name not in ("upload", "queue", "history"):
        return error(404, "no such page")
    token = auth(request, "submit" if name == "upload" else "read")
    if isinstance(token, Response):
        if name == "upload" and not isinstance(auth(request, "read"), Response):
            return RedirectResponse("/ui/history", status_code=303)  # a read token cannot upload
        return token
    ctx: dict[str, Any] = {"token": token}
    if name == "history":
        svc = service(request)
        params = {k: request.query_params[k] for k in SEARCH_KEYS if request.query_params.get(k)}
        ctx["params"] = params
        ctx["scans"] = search_scans(svc, params)
    return pages.page(name, ctx)


async def ui_scan(request: Request) -> Response:
    token = auth(request, "submit", "read")
    if isinstance(token, Response):
        return token
    sha = _sha(request)
    svc = service(request)
    info = svc.status(sha) if sha else None
    if sha is None or info is None:
        return error(404, "no such scan")
    others: list[dict[str, Any]] = []
    if info.get("package") and token.allows("read"):
        others = svc.rows(
            "SELECT a.sha256, a.version_name, a.version_code, a.scanned_at, r.verdict FROM apks a JOIN results r "
            "ON r.sha256 = a.sha256 AND r.rules_digest = ? WHERE a.package = ? AND a.sha256 <> ? "
            "ORDER BY a.scanned_at DESC LIMIT 20", (svc.s.digest, info["package"], sha))
    return pages.page("scan", {"s": info, "others": others, "token": token})


async def ui_report(request: Request) -> Response:
    token = auth(request, "submit", "read")
    if isinstance(token, Response):
        return token
    sha = _sha(request)
    fmt = str(request.path_params.get("fmt", ""))
    if sha is None or fmt not in MEDIA:
        return error(404, "no such report")
    await service(request).wait_stored(sha)
    return _report_response(service(request), sha, fmt)


async def ui_diff(request: Request) -> Response:
    token = auth(request, "read")
    if isinstance(token, Response):
        return token
    from apkscan.diff import diff_reports, render_diff_html

    svc = service(request)
    old, new = (request.query_params.get(k, "").lower() for k in ("old", "new"))
    await svc.wait_stored(old)
    await svc.wait_stored(new)
    a = _report_json(svc, old) if SHA_RE.match(old) else None
    b = _report_json(svc, new) if SHA_RE.match(new) else None
    if a is None or b is None:
        return error(404, "both scans must be done under the current rules")
    html = render_diff_html(diff_reports(a, b))
    m = _META_CSP.search(html[:4096])
    csp = (m.group(1) if m else "default-src 'none'; style-src 'unsafe-inline'") + "; frame-ancestors 'none'"
    return HTMLResponse(html, headers={"Content-Security-Policy": csp})


async def ui_dashboard(request: Request) -> Response:
    token = auth(request, "read")
    if isinstance(token, Response):
        return token
    from apkscan.batch.exports import load_apps, render_index
    from apkscan.batch.store import Store

    svc = service(request)
    store = Store(svc.s.data / "apkscan.db", readonly=True)
    try:
        html = render_index(store, load_apps(store, svc.s.data))
    finally:
        store.close()
    m = _META_CSP.search(html[:4096])
    csp = (m.group(1) if m else "default-src 'none'; style-src 'unsafe-inline'") + "; frame-ancestors 'none'"
    return HTMLResponse(html, headers={"Content-Security-Policy": csp})


_STEM = re.compile(r"^[A-Za-z0-9._-]{1,120}\.(html|json|sarif)$")


async def ui_dashboard_report(request: Request) -> Response:
    """``reports/NAME`` links of the dashboard: only names the store knows are served."""
    token = auth(request, "read")
    if isinstance(token, Response):
        return token
    svc = service(request)
    name = str(request.path_params.get("name", ""))
    if not _STEM.match(name) or name.startswith("."):
        return error(404, "no such report")
    stem, fmt = name.rsplit(".", 1)
    rows = svc.rows("SELECT sha256 FROM results WHERE report_stem = ? AND rules_digest = ?", (stem, svc.s.digest))
    if not rows:
        return error(404, "no such report")
    return _report_response(svc, rows[0]["sha256"], fmt)


async def root(request: Request) -> Response:
    return RedirectResponse("/ui/", status_code=303)


class _SecurityHeaders:
    """Plain ASGI middleware: headers every response gets (it never buffers a body)."""

    EXTRA: ClassVar[list[tuple[bytes, bytes]]] = [
        (b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
        (b"x-frame-options", b"DENY"), (b"cache-control", b"no-store")]

    def __init__(self, app: Starlette) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                have = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (k, v) for k, v in self.EXTRA if k not in have]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def build_app(svc: Service) -> Any:
    routes = [
        Route("/", root),
        Route(f"{API}/openapi.json", openapi_doc),
        Route(f"{API}/health", health),
        Route(f"{API}/scans", submit, methods=["POST"]),
        Route(f"{API}/scans", list_scans, methods=["GET"]),
        Route(f"{API}/scans/{{sha}}", get_scan),
        Route(f"{API}/scans/{{sha}}/report.{{fmt}}", get_report),
        Route(f"{API}/scans/{{sha}}/reevaluate", reevaluate, methods=["POST"]),
        Route(f"{API}/reevaluate", reevaluate, methods=["POST"]),
        Route(f"{API}/jobs", list_jobs),
        Route(f"{API}/diff", diff),
        Route("/ui/login", login_page, methods=["GET", "POST"]),
        Route("/ui/logout", logout, methods=["POST"]),
        Route("/ui/", ui_page),
        Route("/ui/dashboard/", ui_dashboard),
        Route("/ui/dashboard/reports/{name}", ui_dashboard_report),
        Route("/ui/diff", ui_diff),
        Route("/ui/scans/{sha}", ui_scan),
        Route("/ui/scans/{sha}/report.{fmt}", ui_report),
        Route("/ui/{page}", ui_page),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        svc.loop = asyncio.get_running_loop()
        yield

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.service = svc
    return _SecurityHeaders(app)
