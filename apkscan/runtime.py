"""Interpreter settings around heavy work: the cyclic garbage collector paused, a short
GIL switch interval while a helper thread does C work beside Python code, and the switch
that turns the optional C extensions off."""

from __future__ import annotations

import gc
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from apkscan.errors import BrokenApk


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for the body (restored after, if it was on;
    nesting is fine).

    A scan creates a million or so objects (the facts of a large app) and almost no
    reference cycles; the collector's generation scans over them, a full one included,
    cost a tenth of a second on the 13-dex workload and free nothing. Cycles made
    meanwhile are collected when it runs again."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


HANDOFF_INTERVAL = 1e-4
"""GIL switch interval (seconds) while a helper thread runs. The helper needs the GIL
back after every piece of C work (each zlib output block, each YARA scan); with Python's
default of 5 ms it waited that long each time the main thread was busy in Python, and on
the 13-dex workload the last YARA results of extraction came 0.05 to 0.1 s late."""
_handoff_lock = threading.Lock()
_handoff_depth = 0
_handoff_saved = 0.0


@contextmanager
def quick_gil_handoff() -> Iterator[None]:
    """A short GIL switch interval for the body; the previous one after (nesting and
    bodies running at once in threads are fine: the last to leave restores it)."""
    global _handoff_depth, _handoff_saved
    with _handoff_lock:
        if _handoff_depth == 0:
            _handoff_saved = sys.getswitchinterval()
            sys.setswitchinterval(min(_handoff_saved, HANDOFF_INTERVAL))
        _handoff_depth += 1
    try:
        yield
    finally:
        with _handoff_lock:
            _handoff_depth -= 1
            if _handoff_depth == 0:
                sys.setswitchinterval(_handoff_saved)


PURE_PYTHON_ENV = "APKSCAN_PURE_PYTHON"
"""Set to anything but ``0`` (before apkscan is imported) to run the pure-Python code
instead of the optional C extensions (``_dexfast``, ``_textfast``)."""


def native_allowed() -> bool:
    """Whether the C extensions may be used: :data:`PURE_PYTHON_ENV` is unset or ``0``."""
    return os.environ.get(PURE_PYTHON_ENV, "").strip() in ("", "0")


_deadline = 0.0
"""``time.monotonic()`` at which the current scan must end (0: no time limit)."""


@contextmanager
def scan_deadline(seconds: float | None) -> Iterator[None]:
    """Publish the end of the current scan to helper threads for the body (nesting keeps
    the earlier end). Helpers cannot be interrupted by the main thread's timer signal, so
    they read :func:`remaining` and give YARA's ``match`` at most that long, and skip work
    once it is past: no helper outlives the scan's timeout by more than a YARA step."""
    global _deadline
    saved = _deadline
    if seconds is not None and seconds > 0:
        end = time.monotonic() + seconds
        _deadline = min(end, saved) if saved else end
    try:
        yield
    finally:
        _deadline = saved


def remaining(default: float) -> float:
    """Seconds left before the current scan's deadline, at most ``default`` (``default``
    when there is none; 0 once it has passed)."""
    if not _deadline:
        return default
    return max(0.0, min(default, _deadline - time.monotonic()))


def expired() -> bool:
    """True once the current scan's deadline has passed."""
    return bool(_deadline) and time.monotonic() >= _deadline


def yara_timeout(default: int) -> int:
    """The ``timeout=`` (whole seconds, at least 1) for one YARA ``match`` call."""
    return max(1, int(remaining(float(default)) + 0.999))


class ScanTimeout(BrokenApk):
    """The scan of one APK took longer than its time limit (exit code 6, like a broken APK)."""


class _Deadline(BaseException):
    """Raised by the timer signal. A BaseException, so that the ``except Exception`` which
    keep one unreadable part from stopping a scan cannot swallow it."""


@contextmanager
def time_limit(seconds: float | None, what: str) -> Iterator[None]:
    """Raise :class:`ScanTimeout` when the body runs longer than ``seconds`` of wall time.

    Uses ``signal.setitimer(ITIMER_REAL)``, so it only works in the main thread of a
    process with SIGALRM (POSIX); elsewhere, and for ``None`` or ``<= 0``, it does nothing.
    A timer already armed by the caller is restored (minus the time spent) afterwards.
    Python delivers the signal between bytecodes: a single long C call (one inflate step,
    one regex) finishes first, and each of those is bounded by :class:`Limits`."""
    usable = (
        seconds is not None
        and seconds > 0
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    )
    if not usable:
        yield
        return
    assert seconds is not None

    def _alarm(signum: int, frame: object) -> None:
        raise _Deadline

    previous = signal.signal(signal.SIGALRM, _alarm)
    t0 = time.monotonic()
    outer, _ = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except _Deadline:
        raise ScanTimeout(f"{what}: took longer than {seconds:g} s; scan stopped") from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer > 0:  # give the caller's timer back what is left of it
            signal.setitimer(signal.ITIMER_REAL, max(outer - (time.monotonic() - t0), 0.001))


KNOWN_DB_NAME = "known.sqlite"
"""The known-sample library's file in :func:`data_dir` (:mod:`apkscan.known`)."""


def data_dir() -> Path:
    """``$APKSCAN_DATA_DIR``, else ``$XDG_DATA_HOME/apkscan``, else ``~/.local/share/apkscan``."""
    env = os.environ.get("APKSCAN_DATA_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_DATA_HOME")
    return (Path(xdg) if xdg else Path.home() / ".local" / "share") / "apkscan"


def known_db_path() -> Path:
    """The known-sample library's default file (``apkscan known``, docs/families.md)."""
    return data_dir() / KNOWN_DB_NAME
