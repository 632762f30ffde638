"""The service's work: content-addressed uploads and one thread that keeps warm worker
sandboxes busy (or sends the work to a Dask cluster) and alone writes the results store.

The worker processes are the batch ones (:mod:`apkscan.batch.sandbox`): the rules are
loaded once per process, each APK has the same time limit (the worker is killed and
replaced) and memory cap (``RLIMIT_AS``), a crash fails only its own job, and results
are written to the same SQLite store in the same way as ``apkscan batch`` does.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from pathlib import Path
from typing import IO, Any

from apkscan.batch.exports import write_text_atomic
from apkscan.batch.sandbox import Sandbox, WorkerConfig, WorkerStartError
from apkscan.batch.store import Store
from apkscan.batch.worker import Payload, Task, failure
from apkscan.serve.db import ServeDB

EXTENSIONS = ("apk", "apks", "xapk")
"""The only suffixes an upload is stored under (taken from a fixed list, never from the upload)."""


class UploadTooLarge(Exception):
    pass


def upload_path(data: Path, sha256: str, ext: str) -> Path:
    return data / "uploads" / sha256[:2] / f"{sha256}.{ext}"


def suffix_for(filename: str) -> str:
    """``apks`` or ``xapk`` when the client's file name says so, else ``apk``."""
    low = filename.lower()
    for ext in ("apks", "xapk"):
        if low.endswith("." + ext):
            return ext
    return "apk"


class UploadSink:
    """Receives an upload in chunks into a fresh temporary file (``O_EXCL``, never through a
    symlink), hashing as it goes, and moves it to ``uploads/ab/<sha256>.<ext>``."""

    def __init__(self, data: Path, max_bytes: int) -> None:
        tmp = data / "uploads" / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        self.data = data
        self.max_bytes = max_bytes
        self.path = tmp / f"{secrets.token_hex(16)}.part"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        self.fh: IO[bytes] | None = os.fdopen(os.open(self.path, flags, 0o600), "wb")
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.max_bytes:
            raise UploadTooLarge(f"upload larger than the limit of {self.max_bytes} bytes")
        assert self.fh is not None
        self.fh.write(chunk)
        self.hash.update(chunk)

    def finish(self, ext: str) -> tuple[str, Path]:
        assert self.fh is not None
        self.fh.close()
        self.fh = None
        sha = self.hash.hexdigest()
        dest = upload_path(self.data, sha, ext)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.exists() and not dest.is_symlink():
            self.path.unlink()
        else:
            os.replace(self.path, dest)
        return sha, dest

    def discard(self) -> None:
        if self.fh is not None:
            self.fh.close()
            self.fh = None
        with contextlib.suppress(OSError):
            self.path.unlink()


@dataclass
class Queued:
    task: Task
    queued_at: float = field(default_factory=time.monotonic)
    sent_at: float = 0.0


class Runner(threading.Thread):
    """Owns the sandboxes (or the Dask client) and the results store's write connection."""

    def __init__(self, data: Path, config: WorkerConfig, jobs: int, digest: str, yara_digest: str,
                 sdb: ServeDB, notify: Callable[[str], None], scheduler: str | None = None,
                 log: IO[Any] | None = None) -> None:
        super().__init__(name="apkscan-serve-runner", daemon=True)
        self.data = data
        self.config = config
        self.jobs = max(1, jobs)
        self.digest = digest
        self.yara_digest = yara_digest
        self.sdb = sdb
        self.notify = notify
        self.scheduler = scheduler
        self.log = log
        self.queue: deque[Queued] = deque()
        self.lock = threading.Lock()
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_w, False)
        self.stopping = False
        self.running: dict[str, Queued] = {}
        self.ready = threading.Event()
        self.fatal = ""
        self.replaced = 0
        self.restarts = 0
        self.warning = ""
        self._dask_done: queue.SimpleQueue[tuple[str, Payload]] = queue.SimpleQueue()
        self.early_done: set[str] = set()
        """Jobs answered (verdict and reports) whose facts are not stored yet."""
        self.store: Store | None = None

    # --- called from the request thread ------------------------------------------------
    def submit(self, task: Task) -> None:
        with self.lock:
            self.queue.append(Queued(task))
        self._wake()

    def queued(self) -> int:
        with self.lock:
            return len(self.queue)

    def position(self, sha256: str) -> int | None:
        with self.lock:
            for i, q in enumerate(self.queue):
                if q.task["key"] == sha256:
                    return i + 1
        return None

    def stop(self) -> None:
        self.stopping = True
        self._wake()

    def _wake(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self.wake_w, b"x")

    # --- the thread ----------------------------------------------------------------------
    def run(self) -> None:
        store = Store(self.data / "apkscan.db")
        self.store = store
        try:
            while not self.stopping:
                try:
                    if self.scheduler:
                        self._run_dask(store)
                    else:
                        self._run_local(store)
                    return
                except WorkerStartError as exc:  # the same on every start (the rules): give up
                    self._log(f"workers cannot start: {exc}")
                    self.fatal = str(exc)
                    self.ready.set()
                    return
                except Exception as exc:  # a bug must not stop the service: log, requeue, go on
                    import traceback

                    self._log("runner error: " + "".join(traceback.format_exception(exc)))
                    self.restarts += 1
                    with self.lock:
                        self.queue.extendleft(reversed(list(self.running.values())))
                    self.running.clear()
                    self.early_done.clear()
                    time.sleep(1.0)
        finally:
            store.close()
            self.sdb.close()

    def _log(self, text: str) -> None:
        if self.log is not None:
            with contextlib.suppress(Exception):
                self.log.write(f"apkscan serve: {text.rstrip()}\n".encode())

    def _take(self) -> Queued | None:
        with self.lock:
            return self.queue.popleft() if self.queue else None

    def _drain_wake(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            os.set_blocking(self.wake_r, False)
            os.read(self.wake_r, 4096)

    def _run_local(self, store: Store) -> None:
        sandboxes = [Sandbox(self.config, self.log, on_early=lambda body: self._early(store, body))
                     for _ in range(self.jobs)]
        not_before: dict[int, float] = {}  # a worker that failed to start waits before the next try
        try:
            for sb in sandboxes:
                sb.start()
            while not self.stopping:
                for sb in sandboxes:
                    if sb.state == "dead" and time.monotonic() >= not_before.get(id(sb), 0.0):
                        sb.start()
                        self.replaced += 1
                    if sb.state == "idle":
                        item = self._take()
                        if item is not None:
                            self._send(sb, item)
                if not self.ready.is_set() and all(sb.state in ("idle", "busy") for sb in sandboxes):
                    self.ready.set()
                if self.warning and all(sb.state in ("idle", "busy") for sb in sandboxes):
                    self.warning = ""
                active = [sb for sb in sandboxes if sb.state in ("starting", "busy")]
                by_fd: dict[int, Sandbox] = {sb.fileno(): sb for sb in active}
                left = min((sb.deadline for sb in active), default=time.monotonic() + 5) - time.monotonic()
                for fd in wait([*by_fd, self.wake_r], max(min(left, 5.0), 0.0)):
                    assert isinstance(fd, int)
                    if fd == self.wake_r:
                        self._drain_wake()
                        continue
                    sb = by_fd[fd]
                    task = sb.task
                    try:
                        payload = sb.receive()
                    except WorkerStartError as exc:
                        self._start_failed(str(exc))
                        not_before[id(sb)] = time.monotonic() + 10.0
                        continue
                    if payload is not None and task is not None:
                        self._finish(store, task, payload)
                now = time.monotonic()
                for sb in active:
                    if sb.state == "busy" and now >= sb.deadline and sb.task is not None:
                        task = sb.task
                        self._finish(store, task, sb.expire())
                    elif sb.state == "starting" and now >= sb.deadline:
                        sb.kill()
                        self._start_failed("a worker did not start in time")
                        not_before[id(sb)] = time.monotonic() + 10.0
        finally:
            for sb in sandboxes:
                sb.close()

    def _start_failed(self, message: str) -> None:
        """A worker could not start: the others go on, this one is tried again later. The
        usual cause is rule files changed on disk since the service started (a worker's
        rules must be the service's): ``/api/v1/health`` shows the message."""
        self.warning = f"a worker could not start: {message}"
        self._log(self.warning)

    def _send(self, sb: Sandbox, item: Queued) -> None:
        key = item.task["key"]
        self.running[key] = item
        self.sdb.start_job(key)
        item.sent_at = time.monotonic()
        sb.send(item.task)

    def _run_dask(self, store: Store) -> None:
        try:
            import distributed
        except ImportError:
            raise WorkerStartError("--scheduler needs dask[distributed]: pip install 'apkscan[batch]'") from None
        from apkscan.batch.dask_backend import dask_task

        dist: Any = distributed
        client: Any = dist.Client(self.scheduler, timeout="20s")
        self.ready.set()
        tasks: dict[str, Task] = {}
        try:
            while not self.stopping:
                while len(self.running) < max(4, 3 * self.jobs) and (item := self._take()) is not None:
                    key = item.task["key"]
                    tasks[key] = item.task
                    self.running[key] = item
                    self.sdb.start_job(key)
                    fut = client.submit(dask_task, item.task, self.config, pure=False, retries=0)
                    fut.add_done_callback(lambda f, k=key: self._dask_callback(k, f))
                wait([self.wake_r], 5.0)
                self._drain_wake()
                while True:
                    try:
                        key, payload = self._dask_done.get_nowait()
                    except queue.Empty:
                        break
                    self._finish(store, tasks.pop(key), payload)
        finally:
            client.close()

    def _dask_callback(self, key: str, fut: Any) -> None:
        try:
            payload: Payload = fut.result()
        except Exception as exc:
            payload = failure("dask", f"dask task failed: {type(exc).__name__}: {exc}"[:500],
                              key=key, kind="scan", duration=0.0)
        self._dask_done.put((key, payload))
        self._wake()

    # --- results -------------------------------------------------------------------------
    def _early(self, store: Store, body: Payload) -> None:
        """The verdict of a scan whose reports and facts are still being made: answer the
        waiting requests now; the reports and the store follow in :meth:`_finish` (report
        requests wait for them, see :meth:`apkscan.serve.app.Service.wait_stored`)."""
        sha = str(body["key"])
        item = self.running.get(sha)
        stem = store.report_stem(sha, body["stem"])
        now = time.monotonic()
        timings: dict[str, Any] = {}
        if item is not None:
            timings["queue_s"] = round(max(0.0, item.sent_at - item.queued_at), 4)
            timings["scan_s"] = round(now - item.sent_at, 4)
            timings["total_s"] = round(now - item.queued_at + float(item.task.get("upload_s") or 0.0), 4)
        if body.get("timings"):
            timings["phases"] = body["timings"]
        apk = body.get("apk") or {}
        summary = {**{k: apk.get(k) for k in ("package", "label", "version_name", "version_code")},
                   "counts": body.get("counts") or {}, "stem": stem}
        self.early_done.add(sha)
        self.sdb.finish_job(sha, "done", str(body.get("verdict") or ""), None, None, timings,
                            (str(body.get("verdict_reason") or ""), str(body.get("verdict_reason_zh") or "")),
                            summary)
        self.notify(sha)

    def _finish(self, store: Store, task: Task, payload: Payload) -> None:
        """Write one result as ``apkscan batch`` does, then tell the waiting requests."""
        sha = task["key"]
        item = self.running.pop(sha, None)
        t0 = time.perf_counter()
        queue_s = 0.0
        if item is not None:
            queue_s = max(0.0, time.monotonic() - item.queued_at - float(payload.get("duration") or 0.0))
        path = task["path"]
        size = int(task.get("size") or 0)
        verdict: str | None = None
        try:
            if payload.get("status") == "ok":
                verdict = str(payload.get("verdict") or "")
                stem = store.report_stem(sha, payload["stem"])
                for fmt, text in payload["reports"].items():
                    write_text_atomic(self.data / "reports" / f"{stem}.{fmt}", text)
                if task["kind"] == "scan":
                    store.write_scan(sha, path, size, payload, self.digest, self.yara_digest, stem)
                else:
                    store.write_reeval(sha, payload, self.digest, stem, bool(task.get("yara_stale")))
                status, kind, error = "done", None, None
            else:
                kind, error = str(payload.get("error_kind", "error")), str(payload.get("error", ""))
                if task["kind"] == "scan":
                    store.write_failure(sha, path, size, payload, self.digest)
                else:
                    error = f"re-evaluation failed: {error}"
                status = "failed"
        except Exception as exc:  # a store or report write failed: the job fails, the service goes on
            status, kind, error = "failed", "internal", f"result not stored: {type(exc).__name__}: {exc}"[:500]
        if sha in self.early_done:  # answered already: the time reports, facts and store took
            timings: dict[str, Any] = {"write_s": round(time.perf_counter() - t0, 4)}
            if item is not None:
                timings["done_s"] = round(time.monotonic() - item.queued_at, 4)
            self.sdb.finish_job(sha, status, verdict, kind, error, timings)
            self.early_done.discard(sha)
            self.notify(sha)  # requests waiting for the reports
            return
        timings = {
            "queue_s": round(queue_s, 4),
            "scan_s": round(float(payload.get("duration") or 0.0), 4),
            "write_s": round(time.perf_counter() - t0, 4),
        }
        if payload.get("timings"):
            timings["phases"] = payload["timings"]
        if item is not None:
            timings["total_s"] = round(time.monotonic() - item.queued_at + float(task.get("upload_s") or 0.0), 4)
        reason = (str(payload.get("verdict_reason") or ""), str(payload.get("verdict_reason_zh") or ""))
        self.sdb.finish_job(sha, status, verdict, kind, error, timings, reason)
        self.notify(sha)
