"""The function a Dask worker runs for one APK.

Each Dask worker thread keeps one long-lived :class:`~apkscan.batch.sandbox.Sandbox`
(a subprocess that loaded the rules once), so the time limit (kill and replace) and the
memory cap (``RLIMIT_AS`` in that subprocess) are the same as with local workers, and a
crash or a runaway APK never takes the Dask worker down.
"""

from __future__ import annotations

import atexit
import threading

from apkscan.batch.sandbox import Sandbox, WorkerConfig
from apkscan.batch.worker import Payload, Task

_local = threading.local()
_all: list[Sandbox] = []
_lock = threading.Lock()


def _sandbox(config: WorkerConfig) -> Sandbox:
    sb: Sandbox | None = getattr(_local, "sandbox", None)
    if sb is not None and sb.config != config:
        sb.close()
        sb = None
    if sb is None:
        sb = Sandbox(config)
        _local.sandbox = sb
        with _lock:
            _all.append(sb)
    return sb


def dask_task(task: Task, config: WorkerConfig) -> Payload:
    """Scan (or re-evaluate) one APK in this worker's sandbox; returns the payload the
    batch parent writes to the store."""
    return _sandbox(config).run(task)


@atexit.register
def _close_all() -> None:
    with _lock:
        for sb in _all:
            sb.close()
        _all.clear()
