"""The batch worker: one long-lived process that loads the rule set once and scans APKs.

The parent (or a Dask task) starts it through :mod:`apkscan.batch.sandbox`, which runs
:func:`main` with the pipes' IN_FD and OUT_FD and importing apkscan from where the parent
did, and talks over two pipes with pickled messages. The worker never touches the
results store or the output folder: it returns everything (compressed facts, result
rows, rendered report texts) and the parent writes.

Protocol: parent -> ``WorkerConfig`` dict; worker -> ``("ready", digest)`` or
``("fatal", message)``; then, repeatedly, parent -> task dict, worker -> ``("done", payload)``.
The worker exits on end of file, and after a ``MemoryError`` (its heap is not trusted
any more) once it has answered.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import threading
import time
import traceback
import zlib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from apkscan.errors import ApkscanError, BrokenApk, InputNotFound, NotAnApk
from apkscan.facts import ApkFacts
from apkscan.model import ScanResult
from apkscan.rules.loader import RuleSet
from apkscan.serial import from_dict, to_jsonable

Payload = dict[str, Any]
Task = dict[str, Any]

TEST_HOOK_ENV = "APKSCAN_BATCH_TEST_HOOK"
"""Test-only fault injection: ``sleep:NAME:SECONDS``, ``alloc:NAME:MB`` or ``crash:NAME``
applies to APKs whose file name contains NAME (used by tests/test_batch.py)."""

_UNI = re.compile(r"__UNI__[0-9A-Za-z]{7}(?![0-9A-Za-z])")
_APICLOUD = re.compile(r"<widget\b[^>]*\bid\s*=\s*[\"'](A6[0-9]{10,14})[\"']")


def compress_facts(facts: ApkFacts) -> tuple[bytes, int]:
    # ASCII JSON (other characters as \u escapes): it decodes in about two thirds of the time
    # of UTF-8 text, which Python must first decode, into a string four bytes a character
    # wide when an app holds one emoji
    raw = json.dumps(to_jsonable(facts), separators=(",", ":")).encode("ascii")
    # level 4: a third of level 6's time (0.05 s instead of 0.14 s for a 2 MB app's 4.7 MB of
    # facts, 0.45 s instead of 1.06 s for the 44 MB workload) for a blob about 8% larger
    return zlib.compress(raw, 4), len(raw)


def decompress_facts(blob: bytes) -> ApkFacts:
    return from_dict(ApkFacts, json.loads(zlib.decompress(blob)))


def generator_ids(facts: ApkFacts) -> list[tuple[str, str, str]]:
    """(kind, id, where) of app-generator accounts: DCloud ``__UNI__XXXXXXX`` app ids
    (``assets/apps/__UNI__*`` entries, control files, strings) and APICloud widget ids
    (``A6…`` in ``assets/widget/config.xml``)."""
    found: dict[tuple[str, str], str] = {}

    def add(kind: str, ident: str, where: str) -> None:
        found.setdefault((kind, ident), where)

    for entry in facts.archive.entries:
        if entry.name.startswith("assets/apps/__UNI__"):
            m = _UNI.match(entry.name, len("assets/apps/"))
            if m:
                add("dcloud", m.group(0), entry.name)
    for path, text in facts.strings.assets:
        if "__UNI__" in text:
            for m in _UNI.finditer(text):
                add("dcloud", m.group(0), path)
        if path.endswith("widget/config.xml"):
            for m in _APICLOUD.finditer(text):
                add("apicloud", m.group(1), path)
    for _loc, _name, value in facts.strings.resources:
        if "__UNI__" in value:
            for m in _UNI.finditer(value):
                add("dcloud", m.group(0), "resources.arsc")
    for dex in facts.dex:
        for s in dex.strings:
            if "__UNI__" in s:
                for m in _UNI.finditer(s):
                    add("dcloud", m.group(0), dex.path)
    return [(k, i, w) for (k, i), w in sorted(found.items())]


def _strip_path(message: str, path: str) -> str:
    for prefix in (f"{path}: ", f"{Path(path).name}: "):
        if message.startswith(prefix):
            message = message[len(prefix):]
    return message.splitlines()[0] if message else message


def failure(error_kind: str, reason: str, **extra: Any) -> Payload:
    return {"status": "failed", "error_kind": error_kind, "error": reason[:1000], **extra}


def describe_error(exc: ApkscanError, path: str) -> Payload:
    detail = _strip_path(str(exc), path)
    if isinstance(exc, NotAnApk):
        if detail.startswith("not an APK (") and detail.endswith(")"):
            detail = detail[len("not an APK ("):-1]
        return failure("not-apk", f"not an APK: {detail}")
    from apkscan.runtime import ScanTimeout

    if isinstance(exc, ScanTimeout):  # the worker's own --timeout, as the parent would say it
        return failure("timeout", detail.replace("took longer than", "timeout after").split(";")[0])
    if isinstance(exc, BrokenApk):
        return failure("broken-apk", f"broken APK: {detail}")
    if isinstance(exc, InputNotFound):
        return failure("not-found", f"cannot open: {detail}")
    return failure("error", detail)


def _test_hook(path: str) -> None:
    spec = os.environ.get(TEST_HOOK_ENV, "")
    for part in filter(None, spec.split(";")):
        action, _, rest = part.partition(":")
        name, _, arg = rest.partition(":")
        if not name or name not in Path(path).name:
            continue
        if action == "sleep":
            time.sleep(float(arg or 3600))
        elif action == "alloc":
            hog = bytearray((int(arg or 0) + 64) << 20)  # more than the cap, in one block
            del hog
        elif action == "crash":
            os._exit(70)


REPORT_LANG = "en"
"""Language of the per-APK reports (``--lang`` of ``apkscan batch``); set from the worker's config."""


def build_payload(result: ScanResult, formats: tuple[str, ...], with_facts: bool,
                  early: Callable[[Payload], None] | None = None) -> Payload:
    """Everything the parent stores for one result. ``early`` (``apkscan serve``) gets the
    verdict, its reason and the counts before the reports are rendered and the facts
    serialised (together more than half of a warm scan's time), so a waiting client is
    answered sooner; the reports and facts follow in the final payload."""
    from apkscan.cli import report_stem
    from apkscan.report import render

    facts = result.facts
    m = facts.manifest
    payload: Payload = {
        "status": "ok",
        "verdict": result.verdict,
        "counts": result.counts(),
        "findings": to_jsonable(result.findings),
        "sdks": to_jsonable(result.sdks),
        "data_access": to_jsonable(result.data_access),
        "rule_errors": to_jsonable(result.rule_errors),
        "rules_digest": result.rules_digest,
        "finding_rows": [
            (f.rule_id, f.severity.label, f.category, f.title, f.confidence) for f in result.findings
        ],
        "sdk_rows": [(s.id, s.name, s.category) for s in result.sdks],
        "stem": report_stem(result),
        "reports": {},
        "scanned_at": result.scanned_at,
        "tool_version": result.tool_version,
        "timings": dict(result.timings),
        "verdict_reason": result.verdict_reason,
        "verdict_reason_zh": result.verdict_reason_zh,
        "fingerprint": to_jsonable(facts.fingerprint),
        "fp_package": m.package,
        "fp_version_code": m.version_code,
        "fp_permissions": sorted(set(m.permission_names)),
    }
    if early is not None and with_facts:
        early({**{k: payload[k] for k in ("verdict", "counts", "stem", "verdict_reason", "verdict_reason_zh",
                                           "timings")},
               "apk": {"package": m.package, "label": m.label, "version_name": m.version_name,
                       "version_code": m.version_code}})
    payload["reports"] = {fmt: render(result, fmt, lang=REPORT_LANG) for fmt in formats}
    if with_facts:
        certs = facts.signing.certificates
        blob, raw_size = compress_facts(facts)
        payload.update(
            facts_z=blob,
            facts_raw_size=raw_size,
            yara_digest=facts.yara_digest,
            apk={
                "package": m.package,
                "label": m.label,
                "version_name": m.version_name,
                "version_code": m.version_code,
                "signer_sha256": certs[0].sha256 if certs else "",
                "inner_sha256": facts.sha256,
            },
            domains=sorted(set(facts.strings.domains)),
            certs=[(c.sha256, c.subject, int(c.debug), int(c.test_key)) for c in certs],
            generator_ids=generator_ids(facts),
        )
    return payload


def _options() -> Any:
    """Engine options of a batch worker: the defaults, with the known-sample library
    (:func:`apkscan.known.open_default`) when one exists."""
    from apkscan.engine import Options
    from apkscan.known import open_default

    return Options(known=open_default())


def _scan(task: Task, ruleset: RuleSet, formats: tuple[str, ...],
          early: Callable[[Payload], None] | None = None) -> Payload:
    from apkscan import api
    from apkscan.batch.bundle import find_base, is_bundle
    from apkscan.cli import parse_limits

    path = Path(task["path"])
    _test_hook(str(path))
    limits = parse_limits(list(task.get("limits") or []))
    # the same time limit as ``apkscan scan --timeout``: the same phases, the same verdict;
    # the parent still kills the worker if it overruns
    timeout = float(task.get("timeout_s") or 0) or None
    bundle: dict[str, Any] = {"kind": "apk", "base_entry": "", "splits": []}
    if is_bundle(path):
        base = find_base(path, limits)
        bundle["kind"] = path.suffix.lower().lstrip(".")
        if base is not None:
            bundle.update(base_entry=base.entry, splits=list(base.splits))
            # scanned from memory: nothing of a bundle is ever written to disk
            result = api.scan(Path(base.entry), ruleset, _options(), limits=limits, timeout=timeout, data=base.data)
            result = replace(result, facts=replace(result.facts, file_name=path.name))
        else:
            result = api.scan(path, ruleset, _options(), limits=limits, timeout=timeout)
    else:
        result = api.scan(path, ruleset, _options(), limits=limits, timeout=timeout)
    short = [p for p in result.facts.problems if p.kind == "memory"]
    if short:
        # a partial result is never stored as ok: the APK fails and the worker is replaced
        raise MemoryError(short[0].message)
    payload = build_payload(result, formats, with_facts=True, early=early)
    payload["apk"].update(bundle)
    return payload


def _reevaluate(task: Task, ruleset: RuleSet, formats: tuple[str, ...]) -> Payload:
    from apkscan.runtime import gc_paused

    # as a scan: the decoded facts are a few hundred thousand objects without cycles, which
    # the collector would walk again and again for nothing
    with gc_paused():
        return _reevaluate_facts(task, ruleset, formats)


def _reevaluate_facts(task: Task, ruleset: RuleSet, formats: tuple[str, ...]) -> Payload:
    from apkscan.engine import evaluate_facts  # not apkscan.api: the APK readers are not needed

    facts = decompress_facts(task["facts_z"])
    if task.get("file_name"):
        facts = replace(facts, file_name=task["file_name"])
    check = task.get("check")
    if check:
        # a rule change (apkscan.batch.incremental): only the touched rules are evaluated
        from apkscan.batch.incremental import evaluate_touched
        from apkscan.engine import stamped, with_new_findings

        t0 = time.perf_counter()
        touched = evaluate_touched(facts, ruleset, check)
        if touched is not None:
            ctx, matched = touched
            if not matched:  # the stored result holds as it is: the parent carries it over
                return {"status": "ok", "unchanged": True}
            prior = _prior_result(task.get("prior"), facts)
            result = None if prior is None else with_new_findings(prior, ctx, ruleset, _options(), matched)
            if result is not None:
                payload = build_payload(stamped(result, time.perf_counter() - t0), formats, with_facts=False)
                payload["joined"] = True
                return payload
    return build_payload(evaluate_facts(facts, ruleset, _options()), formats, with_facts=False)


def _prior_result(stored: dict[str, str] | None, facts: ApkFacts) -> ScanResult | None:
    """The stored result a rule change builds on (its findings, SDKs, data access and rule
    errors as the store keeps them), over ``facts``; None when there is none or it does not
    read back (then the app is evaluated in full)."""
    if not stored:
        return None
    from apkscan.model import DataAccess, Finding, RuleError, SdkHit

    try:
        return ScanResult(
            facts=facts,
            findings=tuple(from_dict(Finding, f) for f in json.loads(stored["findings"])),
            sdks=tuple(from_dict(SdkHit, s) for s in json.loads(stored["sdks"])),
            data_access=tuple(from_dict(DataAccess, a) for a in json.loads(stored["data_access"])),
            rule_errors=tuple(from_dict(RuleError, e) for e in json.loads(stored["rule_errors"])),
        )
    except Exception:  # not what this version writes
        return None


def process(task: Task, ruleset: RuleSet, formats: tuple[str, ...],
            early: Callable[[Payload], None] | None = None) -> Payload:
    """Run one task; never raises (except for a process-wide problem in the caller)."""
    t0 = time.perf_counter()
    try:
        if task["kind"] == "reeval":
            payload = _reevaluate(task, ruleset, formats)
        else:
            payload = _scan(task, ruleset, formats, early)
    except ApkscanError as exc:
        payload = describe_error(exc, str(task.get("path", "")))
    except MemoryError:
        payload = failure("memory", f"memory limit {task.get('memory_mb', 0)} MB exceeded", restart=True)
    except RecursionError as exc:
        payload = failure("internal", f"internal error RecursionError: {exc}"[:300])
    except Exception as exc:
        last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
        where = f" at {Path(last[0].filename).name}:{last[0].lineno}" if last else ""
        payload = failure("internal", f"internal error {type(exc).__name__}: {str(exc)[:300]}{where}")
    payload["key"] = task["key"]
    payload["kind"] = task["kind"]
    payload["duration"] = round(time.perf_counter() - t0, 3)
    return payload


def load_ruleset(config: dict[str, Any]) -> RuleSet:
    from apkscan.rules.data import set_cache_enabled
    from apkscan.rules.loader import load_rules

    if config.get("no_cache"):
        set_cache_enabled(False)

    return load_rules([Path(d) for d in config["rule_dirs"]], include_builtin=config["include_builtin"])


def set_memory_limit(memory_mb: int) -> None:
    if memory_mb <= 0:
        return
    import resource

    soft = memory_mb << 20
    _cur, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _orphan_watch(parent: int) -> None:
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os._exit(0)


def main(argv: list[str]) -> int:
    from multiprocessing.connection import Connection

    from loguru import logger

    logger.disable("androguard")
    conn_in = Connection(int(argv[0]), writable=False)
    conn_out = Connection(int(argv[1]), readable=False)
    threading.Thread(target=_orphan_watch, args=(os.getppid(),), daemon=True).start()
    try:
        config = conn_in.recv()
    except EOFError:
        return 0
    try:
        ruleset = load_ruleset(config)
    except ApkscanError as exc:
        conn_out.send(("fatal", str(exc)))
        return 3
    if config.get("digest") and ruleset.digest != config["digest"]:
        conn_out.send(("fatal", f"the rules on this worker differ from the parent's ({ruleset.digest[:19]} "
                                f"!= {config['digest'][:19]}); workers must see the same rule folders"))
        return 3
    formats = tuple(config["formats"])
    global REPORT_LANG
    REPORT_LANG = "zh" if config.get("lang") == "zh" else "en"
    set_memory_limit(int(config.get("memory_mb", 0)))
    conn_out.send(("ready", ruleset.digest))
    while True:
        try:
            task = conn_in.recv()
        except (EOFError, OSError):
            return 0
        task["memory_mb"] = config.get("memory_mb", 0)
        task["limits"] = config.get("limits") or ()
        task["timeout_s"] = config.get("timeout_s", 0)
        try:
            early = None
            if config.get("early"):
                key = task["key"]

                def early(p: Payload, key: str = key) -> None:
                    conn_out.send(("early", {**p, "key": key}))

            payload = process(task, ruleset, formats, early)
            conn_out.send(("done", payload))
        except MemoryError:
            with contextlib.suppress(Exception):
                conn_out.send(("done", failure("memory", f"memory limit {config.get('memory_mb')} MB exceeded",
                                               key=task["key"], kind=task["kind"], restart=True)))
            return 75
        except (BrokenPipeError, OSError):
            return 0
        if payload.get("restart"):
            return 75


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
