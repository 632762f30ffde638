"""Text from an APK made harmless for people's screens, and report files written safely.

* :func:`neutralise`: control characters (ESC, BEL ...) and bidi overrides out of text
  shown on a console, in the HTML report or in a CSV cell.
* :func:`write_atomic`: a report written to a unique temporary file in the output folder
  and renamed over the target, never through a symlink.
* :class:`OutputLock`: one run at a time per output folder (``fcntl.flock``).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import tempfile
from pathlib import Path
from types import TracebackType

from markupsafe import Markup

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def neutralise(text: str) -> str:
    """``text`` with C0/C1 control characters (ESC, BEL, CR ...) and the bidi overrides
    and isolates (U+202A-202E, U+2066-2069) replaced by ``?``; tab and line feed are kept.
    Used for the console, the HTML report's text and CSV cells."""
    if text.isprintable():  # no control, format (bidi) or separator characters at all
        return text
    return CONTROL.sub("?", text) if CONTROL.search(text) else text


def _refuse_symlink(target: Path) -> None:
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise OutputWriteError(f"{target}: cannot check the report file ({exc.strerror})") from None
    if stat.S_ISLNK(st.st_mode):
        raise OutputWriteError(f"{target}: is a symbolic link; refusing to write a report through it")
    if not stat.S_ISREG(st.st_mode):
        raise OutputWriteError(f"{target}: exists and is not a regular file; refusing to replace it")


def html_finalize(value: object) -> object:
    """Jinja ``finalize`` for HTML built from APK data: every ``{{ ... }}`` output has its
    control characters and bidi overrides neutralised before autoescaping; markup made by
    the template's own filters keeps its (already escaped) form."""
    if isinstance(value, Markup):
        return Markup(neutralise(str(value)))
    if isinstance(value, str):
        return neutralise(value)
    return value


class OutputWriteError(Exception):
    """A report could not be written; ``str()`` is one line naming the file."""


def write_atomic(target: Path, text: str | bytes, *, overwrite: bool = True) -> None:
    """Write ``text`` to ``target``: a unique temporary file in the same folder (created
    with ``O_EXCL|O_NOFOLLOW``), flushed, then renamed over ``target``. An existing
    symlink (or anything but a regular file) at ``target`` is refused, never followed;
    ``overwrite=False`` refuses an existing file. Raises :class:`OutputWriteError` with a
    one-line message."""
    target = Path(target)
    if not overwrite and os.path.lexists(target):
        raise OutputWriteError(f"{target}: already exists; refusing to overwrite it")
    _refuse_symlink(target)
    data = text.encode("utf-8") if isinstance(text, str) else text
    folder = target.parent if str(target.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name[:60]}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise OutputWriteError(f"{folder}: cannot write a report here ({exc.strerror})") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o666 & ~_umask())
        _refuse_symlink(target)
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise OutputWriteError(f"{target}: cannot write ({exc.strerror or exc})") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


_UMASK: int | None = None


def _umask() -> int:
    global _UMASK
    if _UMASK is None:
        current = os.umask(0o022)
        os.umask(current)
        _UMASK = current
    return _UMASK


LOCK_NAME = ".apkscan.lock"


class OutputLock:
    """An exclusive, non-blocking ``flock`` on ``<folder>/.apkscan.lock`` for the life of a
    run: a second run on the same output folder stops at once with a one-line
    :class:`OutputWriteError` instead of racing the first for the same files."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._fd = -1

    def __enter__(self) -> OutputLock:
        import fcntl

        path = self.folder / LOCK_NAME
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(path, flags, 0o644)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise OutputWriteError(f"{path}: is a symbolic link; refusing to use it as a lock") from None
            raise OutputWriteError(f"{self.folder}: cannot write to the output folder ({exc.strerror})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise self._busy() from None
        try:
            current = os.stat(path, follow_symlinks=False)
        except OSError:
            current = None
        held = os.fstat(fd)
        if current is None or (current.st_dev, current.st_ino) != (held.st_dev, held.st_ino):
            os.close(fd)  # the lock file was removed by the run that just ended, or replaced
            raise self._busy()
        self._fd = fd
        return self

    def _busy(self) -> OutputWriteError:
        return OutputWriteError(
            f"{self.folder}: another apkscan run is writing to this output folder; "
            "wait for it or use another --output"
        )

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._fd >= 0:
            # removed while still held, so that the folder holds only reports afterwards; a
            # run that locks the removed file sees that it is no longer the one at the path
            with contextlib.suppress(OSError):
                os.unlink(self.folder / LOCK_NAME)
            os.close(self._fd)  # closing releases the lock
            self._fd = -1
