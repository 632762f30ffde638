"""One worker subprocess with a time limit per task: start, send, wait, kill, replace.

Used twice: the local pool keeps ``-j N`` sandboxes and multiplexes them; under Dask each
worker thread keeps one and runs it synchronously (:meth:`Sandbox.run`). A subprocess
started with :mod:`subprocess` (not :mod:`multiprocessing`) also works inside Dask's
daemonic worker processes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import IO, Any

import apkscan
from apkscan.batch.worker import Payload, Task, failure

_PACKAGE_ROOT = str(Path(apkscan.__file__).resolve().parent.parent)
_WORKER = (
    "import sys; sys.path[0] = sys.argv.pop(1); "
    "from apkscan.batch.worker import main; sys.exit(main(sys.argv[1:]))"
)
"""How a worker starts: importing apkscan from where this process did. Not ``python -m``,
which puts the working folder first on ``sys.path``: run from the folder a clone of the
project sits in, its ``apkscan/`` (the repository, whose ``rules/`` folder holds the rule
files) was imported as the package and every worker failed to start."""


STARTUP_SECONDS = 300.0


@dataclass(frozen=True)
class WorkerConfig:
    rule_dirs: tuple[str, ...]
    include_builtin: bool
    digest: str
    formats: tuple[str, ...]
    memory_mb: int
    timeout_s: float
    limits: tuple[str, ...] = ()
    """``--limit NAME=VALUE`` items, applied by every worker as by ``apkscan scan``."""
    no_cache: bool = False
    """``--no-cache``: workers neither read nor write the rule cache."""
    early: bool = False
    """Send the verdict and reports (an ``early`` message) before the facts (``apkscan serve``)."""
    lang: str = "en"
    """``--lang``: language of the per-APK HTML and SARIF reports."""


class WorkerStartError(Exception):
    """The worker could not load the rules (or died while starting)."""


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


class Sandbox:
    def __init__(self, config: WorkerConfig, stderr: IO[Any] | int | None = None,
                 on_early: Callable[[Payload], None] | None = None) -> None:
        self.config = config
        self.on_early = on_early
        self.stderr = stderr
        self.proc: subprocess.Popen[bytes] | None = None
        self.conn_in: Connection | None = None
        self.conn_out: Connection | None = None
        self.state = "dead"
        self.task: Task | None = None
        self.deadline = 0.0
        self.started = 0.0
        self.killed_for = ""

    # --- lifecycle -------------------------------------------------------------------
    def start(self) -> None:
        r_task, w_task = os.pipe()
        r_res, w_res = os.pipe()
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", _WORKER, _PACKAGE_ROOT, str(r_task), str(w_res)],
                pass_fds=(r_task, w_res),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=self.stderr,
                close_fds=True,
            )
        finally:
            os.close(r_task)
            os.close(w_res)
        self.conn_out = Connection(w_task, readable=False)
        self.conn_in = Connection(r_res, writable=False)
        cfg = asdict(self.config)
        cfg["rule_dirs"] = list(self.config.rule_dirs)
        cfg["formats"] = list(self.config.formats)
        self.conn_out.send(cfg)
        self.state = "starting"
        self.started = time.monotonic()
        self.deadline = self.started + STARTUP_SECONDS
        self.task = None

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
        self._close()

    def _close(self) -> None:
        for conn in (self.conn_in, self.conn_out):
            if conn is not None:
                with contextlib.suppress(OSError):
                    conn.close()
        self.conn_in = self.conn_out = None
        if self.proc is not None:
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.state = "dead"

    def close(self) -> None:
        """Polite stop: end of file on the task pipe, then kill if it lingers."""
        if self.conn_out is not None:
            with contextlib.suppress(OSError):
                self.conn_out.close()
            self.conn_out = None
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self._close()

    # --- tasks -----------------------------------------------------------------------
    def send(self, task: Task) -> None:
        assert self.state == "idle" and self.conn_out is not None
        self.task = task
        self.state = "busy"
        self.started = time.monotonic()
        self.deadline = self.started + self.config.timeout_s
        self.conn_out.send(task)

    def fileno(self) -> int:
        assert self.conn_in is not None
        return self.conn_in.fileno()

    def receive(self) -> Payload | None:
        """Read one message after :func:`wait` said it is readable. Returns the payload
        of a finished task, or ``None`` (the worker became ready). A dead worker yields
        a failure for its task (or raises :class:`WorkerStartError` while starting)."""
        assert self.conn_in is not None
        try:
            kind, body = self.conn_in.recv()
        except (EOFError, OSError):
            return self._died()
        if kind == "ready":
            self.state = "idle"
            return None
        if kind == "early":  # the task goes on (its facts follow)
            if self.on_early is not None:
                self.on_early(body)
            return None
        if kind == "fatal":
            self.kill()
            raise WorkerStartError(str(body))
        assert kind == "done"
        payload: Payload = body
        self.task = None
        if payload.get("restart"):
            self.kill()
        else:
            self.state = "idle"
        return payload

    def _died(self) -> Payload | None:
        code = None
        if self.proc is not None:
            try:
                code = self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        task, state = self.task, self.state
        self._close()
        if state == "starting" or task is None:
            raise WorkerStartError(f"the batch worker exited while starting (exit code {code})")
        if code is not None and code < 0:
            how = f"killed by {_signal_name(code)}"
            if code == -signal.SIGKILL:
                how += " (out of memory?)"
        else:
            how = f"exit code {code}"
        reason = f"worker crashed ({how})"
        if self.config.memory_mb and code is not None and code < 0 and code != -signal.SIGKILL:
            reason += f"; memory limit {self.config.memory_mb} MB may have been exceeded"
        return failure("crash", reason, key=task["key"], kind=task["kind"],
                       duration=round(time.monotonic() - self.started, 3))

    def expire(self) -> Payload:
        """The task ran past its deadline: kill the worker and report the timeout."""
        task = self.task
        assert task is not None
        self.kill()
        timeout = self.config.timeout_s
        shown = f"{timeout:g}"
        return failure("timeout", f"timeout after {shown} s", key=task["key"], kind=task["kind"],
                       duration=round(time.monotonic() - self.started, 3))

    # --- synchronous use (Dask) ---------------------------------------------------------
    def ensure_ready(self) -> None:
        if self.state == "dead":
            self.start()
        while self.state == "starting":
            left = self.deadline - time.monotonic()
            if left <= 0:
                self.kill()
                raise WorkerStartError("the batch worker did not start in time")
            if wait([self.fileno()], left):
                self.receive()

    def run(self, task: Task) -> Payload:
        self.ensure_ready()
        self.send(task)
        while True:
            left = self.deadline - time.monotonic()
            if left <= 0 or not wait([self.fileno()], max(left, 0)):
                return self.expire()
            payload = self.receive()
            if payload is not None:
                return payload
