"""``apkscan batch``: find APKs, decide what is already done, scan the rest in parallel
worker processes (or on a Dask cluster) and write the store, reports and exports.

Only this parent process writes: the SQLite store (one transaction per APK), the per-APK
reports and the batch exports. Workers return serialised results.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from pathlib import Path
from typing import IO, Any, BinaryIO

from rich.console import Console

from apkscan.batch.discover import find_inputs
from apkscan.batch.exports import write_exports, write_text_atomic
from apkscan.batch.sandbox import Sandbox, WorkerConfig, WorkerStartError
from apkscan.batch.store import Store
from apkscan.batch.worker import Payload, Task, failure
from apkscan.errors import ApkscanError, InputNotFound, OutputError, UsageError
from apkscan.rules.loader import RuleSet

DB_NAME = "apkscan.db"
REPORT_FORMATS = ("json", "html", "sarif")


class BatchError(ApkscanError):
    """The batch could not run (workers do not start, the scheduler is unreachable)."""


@dataclass
class BatchOptions:
    source: Path
    out: Path
    jobs: int = 0
    """Worker processes; 0 means one per CPU."""
    scheduler: str | None = None
    rule_dirs: list[Path] = field(default_factory=list)
    include_builtin: bool = True
    timeout_s: float = 300.0
    memory_mb: int = 2048
    formats: tuple[str, ...] = ("json", "html")
    rescan: bool = False
    retry_failed: bool = False
    quiet: bool = False
    limits: tuple[str, ...] = ()
    """``--limit NAME=VALUE`` items (as for ``apkscan scan``)."""
    no_cache: bool = False
    lang: str = "en"
    """``--lang``: the dashboard (index.html) and the per-APK reports in ``zh`` or ``en``."""


@dataclass
class Failure:
    path: str
    kind: str
    reason: str


@dataclass
class BatchSummary:
    files: int = 0
    unique: int = 0
    scanned: int = 0
    reevaluated: int = 0
    skipped: int = 0
    skipped_failed: int = 0
    failed: list[Failure] = field(default_factory=list)
    yara_stale: int = 0
    refreshed: int = 0
    """APKs scanned again because their stored facts came from an older reader."""
    carried: int = 0
    """Of ``reevaluated``: results carried over unchanged to new rules (apkscan.batch.incremental)."""
    checked: int = 0
    """Of ``reevaluated``: apps whose touched rules were evaluated over their stored facts
    (carried over when none matched, else their findings joined to the stored result or,
    where that cannot be told, the app re-evaluated in full)."""
    joined: int = 0
    """Of ``checked``: apps whose new findings joined their stored result."""
    wall_s: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)
    """Seconds per phase of the run: ``rules`` (loading them), ``inputs`` (finding and
    hashing), ``plan`` (what to scan, re-evaluate or carry over), ``work`` (scans and
    re-evaluations, their reports and store rows), ``families``, ``exports`` and ``close``."""
    rules_digest: str = ""
    outputs: list[str] = field(default_factory=list)
    verdicts: dict[str, int] = field(default_factory=dict)
    """Verdict -> APKs of this run with it (scanned or re-evaluated)."""

    @property
    def processed(self) -> int:
        return self.scanned + self.reevaluated + len(self.failed)

    @property
    def per_minute(self) -> float:
        return self.processed * 60.0 / self.wall_s if self.wall_s > 0 else 0.0


def yara_rules_digest(ruleset: RuleSet) -> str:
    """Digest of the YARA part of a rule set only: stored facts hold YARA hits, which are
    stale when this changes (re-evaluation cannot fix them; ``--rescan`` does)."""
    h = hashlib.sha256(b"apkscan-yara")
    for name in sorted(f for f in ruleset.files if f.endswith((".yar", ".yara"))):
        p = Path(name)
        h.update(p.name.encode() + b"\0" + hashlib.sha256(p.read_bytes()).digest())
    return "sha256:" + h.hexdigest()


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _validate(opts: BatchOptions) -> None:
    if opts.jobs < 0:
        raise UsageError("-j/--jobs: must be 1 or more (0 = one per CPU)")
    if not opts.timeout_s > 0:
        raise UsageError("--timeout: must be more than 0 seconds")
    if opts.memory_mb < 0 or 0 < opts.memory_mb < 256:
        raise UsageError("--memory-mb: must be at least 256 (or 0 for no limit)")
    bad = [f for f in opts.formats if f not in REPORT_FORMATS]
    if bad:
        raise UsageError(f"--format: unknown format {bad[0]!r} (use {', '.join(REPORT_FORMATS)}, comma-separated)")
    if not opts.source.exists():  # exit code 4, as a missing APK for apkscan scan
        raise InputNotFound(f"{opts.source}: no such folder or list file")
    from apkscan.cli import parse_limits

    parse_limits(list(opts.limits))  # a bad --limit is a usage error before any work
    if opts.out.exists() and not opts.out.is_dir():
        raise OutputError(f"{opts.out}: the output is a file, not a folder")
    for inside in (opts.out / "reports", *(opts.out / (DB_NAME + x) for x in ("", "-journal", "-wal", "-shm"))):
        if inside.is_symlink():  # a planted link would carry the batch's writes elsewhere
            raise OutputError(f"{inside}: is a symbolic link; refusing to write through it")
    try:
        (opts.out / "reports").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{opts.out}: cannot create the output folder ({exc.strerror})") from None
    if not os.access(opts.out, os.W_OK):
        raise OutputError(f"{opts.out}: the output folder is not writable")


def parse_formats(value: str) -> tuple[str, ...]:
    fmts = [f.strip().lower() for f in value.split(",") if f.strip()]
    if fmts == ["none"]:
        return ()
    bad = [f for f in fmts if f not in REPORT_FORMATS]
    if bad or not fmts:
        raise UsageError(f"--format: unknown format {bad[0] if bad else value!r} "
                         f"(use {', '.join(REPORT_FORMATS)}, comma-separated, or none)")
    return tuple(dict.fromkeys(fmts))


class _Progress:
    """A rich live bar on stderr with rate and ETA (nothing when quiet)."""

    def __init__(self, console: Console | None, total: int, lang: str = "en") -> None:
        self.t0 = time.monotonic()
        self.lang = lang
        self.done = 0
        self.failed = 0
        self.bar: Any = None
        if console is None or total == 0:
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.bar = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("剩余" if lang == "zh" else "ETA"),
            TimeRemainingColumn(), console=console, transient=False,
        )
        self.task = self.bar.add_task(self._label(), total=total, rate="")
        self.bar.start()

    def advance(self, failed: bool) -> None:
        self.done += 1
        self.failed += int(failed)
        if self.bar is None:
            return
        elapsed = max(time.monotonic() - self.t0, 1e-6)
        per_min = self.done * 60 / elapsed
        rate = f"每分钟 {per_min:.0f} 个" if self.lang == "zh" else f"{per_min:.0f} APK/min"
        self.bar.update(self.task, advance=1, description=self._label(), rate=rate)

    def _label(self) -> str:
        if self.lang == "zh":
            return f"检测中（失败 {self.failed} 个）" if self.failed else "检测中"
        return f"scanning ({self.failed} failed)" if self.failed else "scanning"

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def run_local(tasks: Iterable[Task], config: WorkerConfig, jobs: int, on_result: Callable[[Payload], None],
              stderr: IO[Any] | None = None) -> None:
    """``jobs`` long-lived worker processes; a worker that times out, runs out of memory or
    crashes is killed and replaced (only while work remains)."""
    queue = deque(tasks)
    sandboxes = [Sandbox(config, stderr) for _ in range(min(jobs, len(queue)))]
    try:
        for sb in sandboxes:
            sb.start()
        while True:
            for sb in sandboxes:
                if sb.state == "dead" and queue:
                    sb.start()
                if sb.state == "idle" and queue:
                    sb.send(queue.popleft())
            active = [sb for sb in sandboxes if sb.state in ("starting", "busy")]
            if not active:
                break
            by_fd = {sb.fileno(): sb for sb in active}
            left = min(sb.deadline for sb in active) - time.monotonic()
            for fd in wait(list(by_fd), max(left, 0.0)):
                assert isinstance(fd, int)
                payload = by_fd[fd].receive()
                if payload is not None:
                    on_result(payload)
            now = time.monotonic()
            for sb in active:
                if sb.state == "busy" and now >= sb.deadline:
                    on_result(sb.expire())
                elif sb.state == "starting" and now >= sb.deadline:
                    sb.kill()
                    raise WorkerStartError("a batch worker did not start in time")
    finally:
        for sb in sandboxes:
            sb.close()


def run_dask(tasks: list[Task], config: WorkerConfig, scheduler: str,
             on_result: Callable[[Payload], None]) -> None:
    """Submit one task per APK (by path: workers must see the same files) to a Dask
    scheduler, a bounded number at a time; results come back here to be written."""
    try:
        import distributed
    except ImportError:
        raise UsageError("--scheduler needs dask[distributed]: pip install 'apkscan[batch]'") from None
    from apkscan.batch.dask_backend import dask_task

    dist: Any = distributed
    try:
        client: Any = dist.Client(scheduler, timeout="20s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise UsageError(f"--scheduler: cannot connect to {scheduler} ({exc})") from None
    try:
        threads = sum(client.nthreads().values()) or 1
        window = max(4, 3 * threads)
        pending = deque(tasks)
        by_key: dict[Any, Task] = {}
        ac: Any = dist.as_completed()

        def submit() -> None:
            task = pending.popleft()
            fut = client.submit(dask_task, task, config, pure=False, retries=0)
            by_key[fut.key] = task
            ac.add(fut)

        for _ in range(min(window, len(pending))):
            submit()
        for fut in ac:
            task = by_key.pop(fut.key)
            try:
                payload = fut.result()
            except Exception as exc:
                payload = failure("dask", f"dask task failed: {type(exc).__name__}: {exc}"[:500],
                                  key=task["key"], kind=task["kind"], duration=0.0)
            fut.release()
            on_result(payload)
            if pending:
                submit()
    finally:
        client.close()


def run_batch(opts: BatchOptions, console: Console | None = None) -> BatchSummary:
    """Run a batch; ``console`` (stderr) gets the progress bar unless ``opts.quiet``.
    One run at a time per output folder: a second one stops with a one-line OutputError."""
    from apkscan.report.safe import OutputLock, OutputWriteError

    _validate(opts)
    try:
        with OutputLock(opts.out):
            return _run_batch(opts, console)
    except OutputWriteError as exc:
        raise OutputError(str(exc)) from None


def _open_log(path: Path) -> BinaryIO:
    """``workers.log`` for appending, never through a symlink."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        return os.fdopen(os.open(path, flags, 0o644), "ab")
    except OSError as exc:
        raise OutputError(f"{path}: cannot write the workers' log ({exc.strerror})") from None


def _run_batch(opts: BatchOptions, console: Console | None = None) -> BatchSummary:
    from apkscan.rules.data import set_cache_enabled
    from apkscan.rules.loader import load_rules

    t0 = time.monotonic()
    phases: dict[str, float] = {}
    last = t0

    def phase(name: str) -> None:
        nonlocal last
        now_ = time.monotonic()
        phases[name] = phases.get(name, 0.0) + now_ - last
        last = now_

    if opts.no_cache:
        set_cache_enabled(False)
    ruleset = load_rules(list(opts.rule_dirs), include_builtin=opts.include_builtin)
    digest = ruleset.digest
    yara_digest = yara_rules_digest(ruleset)
    phase("rules")
    inputs = find_inputs(opts.source, exclude=opts.out)
    store = Store(opts.out / DB_NAME)
    summary = BatchSummary(files=len(inputs), rules_digest=digest, phases=phases)
    try:
        store.set_meta("rules_digest", digest)
        store.set_meta("yara_rules_digest", yara_digest)
        # hash every input (cached by path, size and mtime)
        keyed: dict[str, list[Path]] = {}
        sizes: dict[str, int] = {}
        fresh: list[tuple[str, int, int, str]] = []
        known = store.cached_hashes()
        for p in inputs:
            try:
                st = p.stat()
                size, mtime_ns, sha = known.get(str(p)) or (-1, -1, "")
                if (size, mtime_ns) != (st.st_size, st.st_mtime_ns) or not sha:
                    sha = file_sha256(p)
                    fresh.append((str(p), st.st_size, st.st_mtime_ns, sha))
            except OSError as exc:
                summary.failed.append(Failure(str(p), "not-found", f"cannot open: {exc.strerror}"))
                continue
            keyed.setdefault(sha, []).append(p)
            sizes[sha] = st.st_size
        store.remember_files(fresh)
        summary.unique = len(keyed)
        phase("inputs")

        tasks: list[Task] = []
        from apkscan.batch.incremental import IN_PROCESS_MAX, Carry, run_in_process

        carry = Carry(store, ruleset, digest, yara_digest)  # issue 16: results a rule change cannot alter
        checks: dict[str, tuple[str, str]] = {}
        """Apps whose touched rules are evaluated over their stored facts: sha -> (old rules
        digest, old verdict), carried over from that digest when none of the rules matches."""
        states = {} if opts.rescan else store.states(digest)
        for sha, paths in keyed.items():
            state = states.get(sha, "new")
            if state == "result":
                summary.skipped += 1
            elif state == "failed" and not opts.retry_failed:
                summary.skipped += 1
                summary.skipped_failed += 1
            elif state == "facts":
                what, old, check, old_verdict = carry.decide(sha)
                if what == "carry":
                    summary.reevaluated += 1
                    summary.carried += 1
                    summary.verdicts[old_verdict] = summary.verdicts.get(old_verdict, 0) + 1
                    continue
                blob = store.facts_blob(sha)
                assert blob is not None
                task: Task = {"kind": "reeval", "key": sha, "path": str(paths[0]), "facts_z": blob[0],
                              "yara_stale": blob[1] != yara_digest}
                if what == "check":
                    task["check"] = list(check)
                    task["prior"] = carry.stored(sha, old)
                    checks[sha] = (old, old_verdict)
                    summary.checked += 1
                tasks.append(task)
            else:  # new, or facts from an older reader ("stale"): read the APK again
                summary.refreshed += int(state == "stale")
                tasks.append({"kind": "scan", "key": sha, "path": str(paths[0])})
        carry.flush()
        phase("plan")
        # largest first: the long APKs do not end up alone at the end
        tasks.sort(key=lambda t: (t["kind"] == "scan", sizes[t["key"]]), reverse=True)

        if console is not None and not opts.quiet:
            n_scan = sum(t["kind"] == "scan" for t in tasks)
            if opts.lang == "zh":
                plan = (f"共 {summary.files} 个文件（{summary.unique} 个不同的安装包），"
                        f"{summary.skipped} 个已在结果库中，待检测 {n_scan} 个，"
                        f"待按规则 {digest[7:19]} 重新评估 {len(tasks) - n_scan} 个")
            else:
                plan = (f"{summary.files} files ({summary.unique} distinct), {summary.skipped} already in the store, "
                        f"{n_scan} to scan, {len(tasks) - n_scan} to re-evaluate with rules {digest[7:19]}")
            console.print(plan, highlight=False)
        progress = _Progress(None if opts.quiet else console, len(tasks), opts.lang)
        reports = opts.out / "reports"
        tasks_by_key = {t["key"]: t for t in tasks}
        new_scans: list[str] = []

        def on_result(payload: Payload) -> None:
            task = tasks_by_key[payload["key"]]
            path, sha = task["path"], task["key"]
            ok = payload.get("status") == "ok"
            if ok and payload.get("unchanged") and sha in checks:
                # none of the touched rules matches: the stored result holds (reports too)
                old, verdict = checks[sha]
                carry.carry(sha, old)
                summary.reevaluated += 1
                summary.carried += 1
                summary.verdicts[verdict] = summary.verdicts.get(verdict, 0) + 1
                progress.advance(False)
                return
            if ok:
                verdict = str(payload.get("verdict") or "")
                summary.verdicts[verdict] = summary.verdicts.get(verdict, 0) + 1
                stem = store.report_stem(sha, payload["stem"])
                for fmt, text in payload["reports"].items():
                    write_text_atomic(reports / f"{stem}.{fmt}", text)
                if task["kind"] == "scan":
                    store.write_scan(sha, path, sizes[sha], payload, digest, yara_digest, stem)
                    summary.scanned += 1
                    new_scans.append(sha)
                else:
                    store.write_reeval(sha, payload, digest, stem, bool(task.get("yara_stale")))
                    summary.reevaluated += 1
                    summary.joined += int(bool(payload.get("joined")))
                    summary.yara_stale += int(bool(task.get("yara_stale")))
            else:
                kind, reason = str(payload.get("error_kind", "error")), str(payload.get("error", ""))
                if task["kind"] == "scan":
                    store.write_failure(sha, path, sizes[sha], payload, digest)
                else:
                    reason = f"re-evaluation failed: {reason}"
                summary.failed.append(Failure(path, kind, reason))
            progress.advance(not ok)

        config = WorkerConfig(
            rule_dirs=tuple(str(Path(d).resolve()) for d in opts.rule_dirs),
            include_builtin=opts.include_builtin, digest=digest, formats=tuple(opts.formats),
            memory_mb=opts.memory_mb, timeout_s=float(opts.timeout_s),
            limits=tuple(opts.limits), no_cache=opts.no_cache, lang=opts.lang,
        )
        try:
            if not tasks:
                pass
            elif opts.scheduler:
                run_dask(tasks, config, opts.scheduler, on_result)
            elif len(tasks) <= IN_PROCESS_MAX and all(t["kind"] == "reeval" for t in tasks):
                run_in_process(tasks, ruleset, tuple(opts.formats), float(opts.timeout_s), opts.lang, on_result)
            else:
                with _open_log(opts.out / "workers.log") as log:
                    run_local(tasks, config, opts.jobs or os.cpu_count() or 1, on_result, log)
        except WorkerStartError as exc:
            raise BatchError(f"batch workers cannot start: {exc}") from None
        finally:
            progress.stop()
            carry.flush()
            phase("work")
        # families and the version check of apps seen before (issue 16, docs/families.md)
        from apkscan.batch import families

        families.record_versions(store, new_scans)
        if summary.scanned or store.meta("families") != "1":
            families.update(store, scheduler=opts.scheduler)  # else nothing they rest on changed
            store.set_meta("families", "1")
        phase("families")
        summary.outputs = write_exports(store, opts.out, opts.lang)
        phase("exports")
    finally:
        store.close()
    phase("close")
    summary.wall_s = time.monotonic() - t0
    return summary


def print_summary(console: Console, s: BatchSummary, lang: str = "en") -> None:
    from apkscan.report.console import clean

    if lang == "zh":
        _print_summary_zh(console, s)
        return
    console.print(
        f"[bold]batch done[/]: {s.files} files ({s.unique} distinct); {s.scanned} scanned, "
        f"{s.reevaluated} re-evaluated, {s.skipped} skipped (already in the store"
        f"{f', {s.skipped_failed} of them failed before' if s.skipped_failed else ''}), "
        f"[{'red' if s.failed else 'green'}]{len(s.failed)} failed[/]"
    )
    if s.verdicts:
        from apkscan.verdict import LEVELS

        order = [v for v in reversed(LEVELS) if v in s.verdicts] + sorted(set(s.verdicts) - set(LEVELS))
        console.print("verdicts: " + ", ".join(f"{v or 'none'} {s.verdicts[v]}" for v in order))
    if s.failed:
        groups: dict[str, list[Failure]] = {}
        for f in s.failed:
            head = f.reason if f.kind in ("timeout", "memory") else ": ".join(f.reason.split(": ")[:2])
            groups.setdefault(head, []).append(f)
        for head, items in sorted(groups.items(), key=lambda kv: -len(kv[1])):
            examples = ", ".join(clean(Path(f.path).name, 60) for f in items[:3])
            more = f" (+{len(items) - 3} more)" if len(items) > 3 else ""
            console.print(f"  {len(items):>5}  {clean(head, 110)}  [dim]{examples}{more}[/]")
    if s.refreshed:
        console.print(f"[yellow]note:[/] {s.refreshed} APK(s) were read again: their stored facts came from an "
                      "older version that recorded less")
    if s.yara_stale:
        console.print(f"[yellow]note:[/] {s.yara_stale} APK(s) were re-evaluated with YARA hits from an older "
                      "YARA rule set; run with --rescan to refresh them")
    console.print(f"wall time {s.wall_s:.1f} s, {s.per_minute:.1f} APKs per minute "
                  f"(rules {s.rules_digest[7:19]})")
    if s.outputs:
        console.print("outputs: " + ", ".join(clean(o, 200) for o in s.outputs))


def _print_summary_zh(console: Console, s: BatchSummary) -> None:
    """The summary in Chinese (``--lang zh``); failure reasons are the readers' own messages."""
    from apkscan.report.console import clean
    from apkscan.report.i18n import VERDICT_ZH
    from apkscan.verdict import LEVELS

    console.print(
        f"[bold]批量检测完成[/]：共 {s.files} 个文件（{s.unique} 个不同的安装包）；检测 {s.scanned} 个，"
        f"重新评估 {s.reevaluated} 个，跳过 {s.skipped} 个（已在结果库中"
        f"{f'，其中 {s.skipped_failed} 个此前失败' if s.skipped_failed else ''}），"
        f"[{'red' if s.failed else 'green'}]失败 {len(s.failed)} 个[/]"
    )
    if s.verdicts:
        order = [v for v in reversed(LEVELS) if v in s.verdicts] + sorted(set(s.verdicts) - set(LEVELS))
        console.print("检测结论：" + "，".join(f"{VERDICT_ZH.get(v, v or '无')} {s.verdicts[v]}" for v in order))
    from apkscan.report.i18n import batch_error_text

    for f in s.failed[:20]:
        console.print(f"  {clean(Path(f.path).name, 60)}  [dim]{clean(batch_error_text(f.reason, 'zh'), 110)}[/]")
    if len(s.failed) > 20:
        console.print(f"  另有 {len(s.failed) - 20} 个失败，见 apps.csv")
    if s.refreshed:
        console.print(f"[yellow]注意：[/]{s.refreshed} 个安装包已重新读取：其已存事实来自记录内容较少的旧版本")
    if s.yara_stale:
        console.print(f"[yellow]注意：[/]{s.yara_stale} 个安装包按旧版YARA规则的匹配结果重新评估；使用 --rescan 可刷新")
    console.print(f"耗时 {s.wall_s:.1f} 秒，每分钟 {s.per_minute:.1f} 个安装包（规则 {s.rules_digest[7:19]}）")
    if s.outputs:
        console.print("输出：" + "，".join(clean(o, 200) for o in s.outputs))
