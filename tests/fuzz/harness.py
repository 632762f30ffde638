"""Run one input through ``apkscan.api.scan`` in-process and classify what happened.

Outcomes:

* ``report`` -- a :class:`~apkscan.model.ScanResult`; its JSON, SARIF and HTML reports
  are rendered and written into the output folder (as the CLI does), and the console
  summary is rendered to memory and checked for raw escape characters;
* ``error`` -- an :class:`~apkscan.errors.ApkscanError` whose message is one line (kind:
  the exit code name and a message class);
* ``crash`` -- any other exception, a multi-line or traceback-bearing error message, a
  report that does not render, raw control characters in console output;
* ``timeout`` -- the per-input time limit passed (:class:`apkscan.api.ScanTimeout`);
* ``print`` -- the library wrote to stdout or stderr (``api.scan`` promises not to);
* ``write`` -- the process opened a file for writing, created, renamed or removed a path
  outside the output folder, started a process or opened a socket while scanning
  (seen by an audit hook, :func:`sys.addaudithook`).

``crash``, ``timeout``, ``print`` and ``write`` are failures.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loguru import logger

logger.disable("androguard")

FAILURES = frozenset({"crash", "timeout", "print", "write"})
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_PATH_EVENTS = {
    "os.mkdir", "os.rename", "os.replace", "os.remove", "os.rmdir", "os.unlink", "os.symlink", "os.link",
    "os.truncate", "os.chmod", "os.chown", "os.utime", "shutil.copyfile", "shutil.move", "shutil.rmtree",
    "shutil.copytree", "shutil.unpack_archive", "tempfile.mkstemp", "tempfile.mkdtemp",
}  # fmt: skip
_PROC_EVENTS = {"subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "socket.connect"}
_RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]")


@dataclass
class Outcome:
    kind: str
    """report, error, crash, timeout or write."""
    detail: str = ""
    """error: exit code name and message class; crash: exception and where."""
    seconds: float = 0.0
    tamper: tuple[str, ...] = ()
    """TAMPER-* rule ids of a report."""
    message: str = ""

    @property
    def failed(self) -> bool:
        return self.kind in FAILURES


class _Guard:
    """Audit hook recording writes outside ``allowed`` while armed (hooks cannot be removed,
    so one instance is installed per process and re-armed per input)."""

    installed: _Guard | None = None

    def __init__(self) -> None:
        self.armed = False
        self.allowed: tuple[str, ...] = ()
        self.violations: list[str] = []

    @classmethod
    def get(cls) -> _Guard:
        if cls.installed is None:
            cls.installed = cls()
            sys.addaudithook(cls.installed._hook)
        return cls.installed

    def _ok_path(self, path: Any) -> bool:
        if isinstance(path, int):  # an fd: opened before, already checked
            return True
        try:
            p = os.path.abspath(os.fsdecode(path))
        except Exception:
            return False
        if "/__pycache__/" in p:  # the import system caching bytecode, not apkscan
            return True
        return any(p == a or p.startswith(a + os.sep) for a in self.allowed)

    def _hook(self, event: str, args: tuple[Any, ...]) -> None:
        if not self.armed:
            return
        if event == "open":
            path, mode, flags = ((*tuple(args), None, None, None))[:3]
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & _WRITE_FLAGS
            )
            if writing and not self._ok_path(path):
                self.violations.append(f"open {path!r} mode={mode!r} flags={flags!r}")
        elif event in _PATH_EVENTS:
            paths = [a for a in args[:2] if isinstance(a, str | bytes | os.PathLike)]
            if not paths or not all(self._ok_path(p) for p in paths):
                self.violations.append(f"{event} {args[:2]!r}")
        elif event in _PROC_EVENTS:
            self.violations.append(f"{event} {str(args)[:120]}")


def message_class(msg: str, path: str) -> str:
    """Error message without the path and numbers: 'not an APK (not a ZIP archive: ...)'."""
    text = msg.replace(path, "").lstrip(": ")
    text = re.sub(r"0x[0-9a-f]+|\d+", "N", text)
    text = re.split(r"[(:]", text, maxsplit=1)[0].strip()
    return text[:60] or "?"


def _where(exc: BaseException) -> str:
    tb = traceback.extract_tb(exc.__traceback__)
    frames = [f for f in tb if "apkscan" in f.filename] or list(tb)
    if not frames:
        return "?"
    f = frames[-1]
    return f"{Path(f.filename).name}:{f.lineno} {f.name}"


def _cache_html_env() -> None:
    """The HTML report compiles its Jinja template on every call (~0.2 s); the harness
    renders thousands of reports, so it reuses one environment (same settings)."""
    import functools

    from apkscan.report import html

    if not hasattr(html._env, "cache_info"):
        html._env = functools.lru_cache(maxsize=1)(html._env)  # type: ignore[method-assign]


class Harness:
    """Scans inputs one by one; every file it writes goes under ``root`` (a temp dir)."""

    def __init__(self, time_limit: float = 10.0, render: bool = True, root: Path | None = None) -> None:
        from apkscan.rules.loader import load_rules

        self.time_limit = time_limit
        self.render = render
        self._tmp = tempfile.TemporaryDirectory(prefix="apkscan-fuzz-") if root is None else None
        self.root = Path(self._tmp.name if self._tmp else root).resolve()  # type: ignore[arg-type]
        self.inputs = self.root / "in"
        self.output = self.root / "out"
        self.work = self.root / "cwd"
        for d in (self.inputs, self.output, self.work):
            d.mkdir(parents=True, exist_ok=True)
        self.ruleset = load_rules()
        self.guard = _Guard.get()
        _cache_html_env()
        self._warm()

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> Harness:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _warm(self) -> None:
        """Scan each sample once unguarded so that lazy imports happen before arming."""
        from tests.fuzz.mutate import SAMPLES

        for p in sorted(SAMPLES.glob("*.apk"))[:2]:
            self.run_bytes(p.read_bytes(), "warm.apk")

    def run_bytes(self, data: bytes, name: str = "input.apk") -> Outcome:
        path = self.inputs / name
        path.write_bytes(data)
        try:
            return self.run_path(path)
        finally:
            path.unlink()

    def run_path(self, path: Path) -> Outcome:
        from apkscan import api
        from apkscan.errors import ApkscanError

        before = set(os.listdir(self.work))
        cwd = os.getcwd()
        os.chdir(self.work)
        guard = self.guard
        guard.violations.clear()
        guard.allowed = (str(self.output),)
        guard.armed = True
        t0 = time.perf_counter()
        outcome: Outcome
        printed = io.StringIO()
        try:
            with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
                result = api.scan(path, self.ruleset, timeout=self.time_limit)
            outcome = Outcome("report", seconds=time.perf_counter() - t0)
            outcome.tamper = tuple(sorted({f.rule_id for f in result.findings if f.category == "tampering"}))
            if self.render:
                problem = self._render(result)
                if problem:
                    outcome = Outcome("crash", problem, outcome.seconds, outcome.tamper)
        except api.ScanTimeout as exc:
            outcome = Outcome("timeout", f"over {self.time_limit:g} s", time.perf_counter() - t0, message=str(exc))
        except ApkscanError as exc:
            msg = str(exc)
            seconds = time.perf_counter() - t0
            if "\n" in msg or "Traceback" in msg:
                outcome = Outcome("crash", f"multi-line error message {type(exc).__name__}", seconds, message=msg)
            else:
                kind = f"{exc.exit_code.name}: {message_class(msg, str(path))}"
                outcome = Outcome("error", kind, seconds, message=msg)
        except Exception as exc:
            outcome = Outcome(
                "crash", f"{type(exc).__name__} at {_where(exc)}", time.perf_counter() - t0, message=repr(exc)[:500]
            )
        finally:
            guard.armed = False
            os.chdir(cwd)
        if printed.getvalue() and not outcome.failed:
            outcome = Outcome("print", repr(printed.getvalue()[:120]), outcome.seconds, outcome.tamper)
        if guard.violations:
            outcome = Outcome("write", "; ".join(guard.violations[:3]), outcome.seconds, outcome.tamper)
        after = set(os.listdir(self.work))
        if after != before:
            outcome = Outcome("write", f"new in cwd: {sorted(after - before)[:3]}", outcome.seconds, outcome.tamper)
        for p in self.output.iterdir():  # keep the output folder from growing
            p.unlink()
        return outcome

    def _render(self, result: Any) -> str:
        """Render and write every report as the CLI does; '' when all is well."""
        from rich.console import Console

        from apkscan.cli import report_stem
        from apkscan.report import console as console_report
        from apkscan.report import render

        try:
            stem = report_stem(result)
            if "/" in stem or stem in ("", ".", ".."):
                return f"unsafe report name {stem!r}"
            for fmt in ("json", "sarif", "html"):
                text = render(result, fmt)
                if fmt != "html":
                    json.loads(text)
                (self.output / f"{stem}.{fmt}").write_text(text, encoding="utf-8")
            buf = io.StringIO()
            console_report.summary(Console(file=buf, width=120, force_terminal=False, color_system=None), result, [])
            bad = _RAW_CONTROL.search(buf.getvalue())
            if bad:
                return f"console output carries raw {bad.group(0)!r}"
        except Exception as exc:
            return f"report rendering {type(exc).__name__} at {_where(exc)}: {exc!r}"[:300]
        return ""


@dataclass
class Tally:
    """Counts over a run, for the driver and the census."""

    outcomes: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    tamper: dict[str, int] = field(default_factory=dict)
    times: list[float] = field(default_factory=list)
    failures: list[tuple[str, Outcome]] = field(default_factory=list)

    def add(self, label: str, o: Outcome) -> None:
        self.outcomes[o.kind] = self.outcomes.get(o.kind, 0) + 1
        self.times.append(o.seconds)
        if o.kind == "error":
            self.errors[o.detail] = self.errors.get(o.detail, 0) + 1
        for t in o.tamper:
            self.tamper[t] = self.tamper.get(t, 0) + 1
        if o.failed:
            self.failures.append((label, o))

    def percentile(self, q: float) -> float:
        if not self.times:
            return 0.0
        s = sorted(self.times)
        return s[min(len(s) - 1, int(q * len(s)))]

    def lines(self) -> list[str]:
        n = len(self.times)
        out = [f"inputs: {n}"]
        out.append("outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items())))
        out.append(f"time per input: max {max(self.times, default=0):.3f} s, p99 {self.percentile(0.99):.3f} s, "
                   f"median {self.percentile(0.5):.3f} s")  # fmt: skip
        if self.errors:
            out.append("errors by kind:")
            out += [f"  {v:6d}  {k}" for k, v in sorted(self.errors.items(), key=lambda kv: (-kv[1], kv[0]))]
        if self.tamper:
            out.append("tampering findings by rule (inputs with it):")
            out += [f"  {v:6d}  {k}" for k, v in sorted(self.tamper.items(), key=lambda kv: (-kv[1], kv[0]))]
        out.append(f"failures (crash/timeout/print/write): {len(self.failures)}")
        for label, o in self.failures[:50]:
            out.append(f"  {o.kind}: {label}: {o.detail} {o.message[:200]}")
        return out
