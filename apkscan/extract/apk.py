"""APK bytes in, :class:`ApkFacts` out.

Order of work: the archive is read once into memory (:mod:`.archive`); the manifest and
resources go to androguard's parsers as bytes; signing is read from the APK Signing Block
and META-INF; every dex (top level and nested) goes to our own table reader (:mod:`.dex`);
text assets and resource strings are harvested for URLs and domains.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from apkscan.errors import BrokenApk, InputNotFound, NotAnApk
from apkscan.extract.archive import ApkArchive, ArchiveError, LimitExceeded
from apkscan.extract.dex import DexError, read_dex
from apkscan.extract.fingerprint import FuzzyHashes, is_web_asset
from apkscan.extract.manifest import read_manifest
from apkscan.extract.signing import read_signing
from apkscan.extract.structure import arsc_counts, dex_map_count
from apkscan.extract.text import TextHarvest, decode_text, is_text_asset
from apkscan.facts import (
    ApkFacts,
    Archive,
    Dex,
    Fingerprint,
    Manifest,
    Problem,
    Signing,
    Tamper,
    YaraHit,
    ZipEntry,
)
from apkscan.limits import Limits
from apkscan.runtime import expired, quick_gil_handoff, yara_timeout

T = TypeVar("T")
CONTINUE = 0  # yara.CALLBACK_CONTINUE, without importing yara where no rule needs it

YARA_MAX_ENTRY_BYTES = 32 << 20
"""Entries larger than this are not YARA-scanned (a problem is not recorded: it is a policy)."""
ICON_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"RIFF")


@dataclass(frozen=True)
class YaraSpec:
    """Compiled YARA rules and, per rule identifier, the entry kinds it targets."""

    rules: Any
    targets: dict[str, frozenset[str]]
    digest: str


def problem_for(where: str, kind: str, exc: BaseException, what: str = "cannot read") -> Problem:
    """The problem recorded when reading ``where`` raised ``exc``: a ``limit`` problem
    naming the limit, a ``memory`` problem for a MemoryError (the part was not analysed;
    never a silent gap), else ``kind``."""
    if isinstance(exc, LimitExceeded):
        return Problem(where, "limit", f"not analysed: {exc}"[:300], exc.limit)
    if isinstance(exc, MemoryError):
        return Problem(where, "memory", f"not analysed: out of memory ({what})"[:300])
    return Problem(where, kind, f"{what}: {exc!r}"[:300])


EXTRACT_HELPERS = 2 if (os.cpu_count() or 1) > 1 else 1
"""Helper threads of one extraction. With one, the 13-dex workload's main thread waited
0.1 to 0.16 s at the end for the queue (dex inflation, the SHA-256, the zip-bomb probe of
the other entries and YARA: about 0.6 s of C work) to drain; a second helper takes the
queue in parallel while this thread waits (issue 11)."""


def extract(
    path: Path,
    limits: Limits | None = None,
    timings: dict[str, float] | None = None,
    yara_spec: YaraSpec | None = None,
    background: bool = True,
    data: bytes | None = None,
    fingerprints: bool = True,
) -> ApkFacts:
    """Read one APK. Raises InputNotFound, NotAnApk or BrokenApk; anything else that goes
    wrong inside a readable APK is recorded in ``facts.problems``.

    ``background=False`` does all the work on the calling thread (same facts, slower).
    ``data``: the APK's bytes, already in memory (a bundle's base APK); ``path`` then only
    names it. ``fingerprints=False`` skips the fuzzy hashes of similarity matching (a scan
    with no known-sample library and no store to keep them in)."""
    limits = limits or Limits()
    t = timings if timings is not None else {}
    # Helper threads for work done in C without the GIL (inflating the dex files, YARA,
    # SHA-256, the zip-bomb probe) while this thread parses the manifest and text in
    # Python. Results are taken in a fixed order, so facts are the same as when
    # everything runs here.
    if not background:
        return _extract(path, limits, t, yara_spec, _Inline(), data, fingerprints)
    pool = ThreadPoolExecutor(max_workers=EXTRACT_HELPERS, thread_name_prefix="apkscan-extract")
    try:
        with quick_gil_handoff():
            return _extract(path, limits, t, yara_spec, pool, data, fingerprints)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _open(path: Path, limits: Limits, data: bytes | None = None) -> tuple[ApkArchive, int]:
    """The archive and the file size, or the error that says why there is none."""
    if data is not None:
        if len(data) > limits.max_apk_bytes:
            raise BrokenApk(f"{path}: {len(data)} bytes exceeds the APK size limit of {limits.max_apk_bytes}")
        try:
            return ApkArchive.from_bytes(data, path.name, limits), len(data)
        except ArchiveError as exc:
            if not data.startswith(b"PK"):
                raise NotAnApk(f"{path}: not an APK (not a ZIP archive: {_describe_head(data[:64])})") from None
            raise BrokenApk(f"{path}: cannot read the ZIP structure: {exc}") from None
        except LimitExceeded as exc:
            raise BrokenApk(f"{path}: {exc}") from None
    if not path.exists():
        raise InputNotFound(f"{path}: no such file")
    if path.is_dir():
        raise InputNotFound(f"{path}: is a directory, not an APK (use apkscan batch for folders)")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputNotFound(f"{path}: cannot open ({exc.strerror})") from None
    if size > limits.max_apk_bytes:
        raise BrokenApk(
            f"{path}: {size} bytes exceeds the APK size limit of {limits.max_apk_bytes} "
            "(--limit max_apk_bytes=... --limit max_memory_bytes=... for a trusted input)"
        )
    try:
        return ApkArchive.open(path, limits), size
    except ArchiveError as exc:
        head = _head(path)
        if not head.startswith(b"PK"):
            raise NotAnApk(f"{path}: not an APK (not a ZIP archive: {_describe_head(head)})") from None
        raise BrokenApk(f"{path}: cannot read the ZIP structure: {exc}") from None
    except LimitExceeded as exc:
        raise BrokenApk(f"{path}: {exc}") from None
    except OSError as exc:
        raise InputNotFound(f"{path}: cannot open ({exc.strerror})") from None


def _extract(
    path: Path,
    limits: Limits,
    t: dict[str, float],
    yara_spec: YaraSpec | None,
    pool: Executor,
    data: bytes | None = None,
    fingerprints: bool = True,
) -> ApkFacts:
    t0 = time.perf_counter()
    archive, size = _open(path, limits, data)
    del data  # the only reference: freed before the dex facts are built
    t["archive"] = time.perf_counter() - t0
    names = set(archive.names())
    if "AndroidManifest.xml" not in names:
        if any(p.limit == "max_entries" for p in archive.problems):
            # the entries read stop at the limit: whether a manifest follows is unknown
            raise BrokenApk(
                f"{path}: AndroidManifest.xml is not among the first {limits.max_entries} entries "
                "(limit max_entries; --limit max_entries=... for a trusted input)"
            )
        if "base/manifest/AndroidManifest.xml" in names or "BundleConfig.pb" in names:
            raise NotAnApk(f"{path}: an Android App Bundle (.aab), not an APK; build APKs with bundletool first")
        if any(n.lower().endswith(".apk") for n in names):
            raise NotAnApk(f"{path}: split APKs in one archive (.apks/.xapk); apkscan batch scans the base APK")
        raise NotAnApk(f"{path}: not an APK (ZIP archive without AndroidManifest.xml)")

    problems: list[Problem] = list(archive.problems)
    tampering: list[Tamper] = list(archive.tampering)
    archive.prefetch_heads(pool)
    archive.prefetch_top_dex(pool)
    sha256 = pool.submit(_sha256, archive.data)

    t1 = time.perf_counter()
    manifest = Manifest()
    fuzzy = FuzzyHashes(enabled=fingerprints, pool=pool)
    resource_strings: list[tuple[str, str, str]] = []
    icon: bytes | None = None
    try:
        try:
            axml = archive.read("AndroidManifest.xml", max_bytes=limits.max_manifest_bytes)
        except LimitExceeded as exc:
            if not exc.limit:
                exc.limit = "max_manifest_bytes"
            raise
        fuzzy.add("manifest", axml)
        arsc: bytes | None = None
        if "resources.arsc" in names:
            try:
                arsc = archive.read("resources.arsc")
            except (ArchiveError, LimitExceeded, MemoryError) as exc:
                problems.append(problem_for("resources.arsc", "arsc", exc))
        if arsc is not None:
            fuzzy.add("resources", arsc)
            arsc_tamper, arsc_ok = arsc_counts(arsc)
            tampering += arsc_tamper
            if not arsc_ok:
                problems.append(
                    Problem("resources.arsc", "limit", "not parsed: declared counts are absurd", "arsc_counts")
                )
                arsc = None
        res = read_manifest(axml, arsc)
        manifest, resource_strings = res.manifest, res.resource_strings
        problems += res.problems
        tampering += res.tampering
        for candidate in res.icon_refs:
            if candidate in names:
                try:
                    blob = archive.read(candidate, max_bytes=512 * 1024)
                except (ArchiveError, LimitExceeded):
                    continue  # only the report's picture: a big icon is not a gap in the analysis
                if blob.startswith(ICON_MAGIC):
                    icon = blob
                    break
    except Exception as exc:  # a hostile manifest must not stop the scan
        problems.append(problem_for("AndroidManifest.xml", "axml", exc))
    t["manifest"] = time.perf_counter() - t1

    t2 = time.perf_counter()
    v1_blocks: list[tuple[str, bytes]] = []
    for name in sorted(names):
        upper = name.upper()
        if upper.startswith("META-INF/") and upper.endswith((".RSA", ".DSA", ".EC")):
            try:
                v1_blocks.append((name, archive.read(name, max_bytes=1 << 20)))
            except Exception as exc:
                problems.append(problem_for(name, "signature", exc))
    try:
        signing, sig_tamper, sig_problems = read_signing(
            archive.data, archive.cd_offset, v1_blocks, "META-INF/MANIFEST.MF" in names
        )
        tampering += sig_tamper
        problems += sig_problems
    except Exception as exc:
        signing = Signing()
        problems.append(Problem("signature", "signature", f"cannot read: {exc!r}"[:200]))
    t["signing"] = time.perf_counter() - t2

    # Everything that needs the archive bytes comes first, so that the 40 MB of a large
    # APK can be freed before its dex tables are turned into facts (peak memory).
    t4 = time.perf_counter()
    scanner = _YaraScanner(yara_spec, pool)
    arch_facts = archive.facts()
    # The entries this thread will not read (media, compiled resources YARA does not
    # want, libraries ...; thousands in a large app) are probed for bombs on the helper
    # thread, in C without the GIL where it is built, while this thread reads the text,
    # YARA targets and dex. What they show is recorded after the dex are listed, with
    # what is left to probe then, in the same order whichever thread probed.
    read_later = _read_later(arch_facts.entries, scanner)
    early_probe = pool.submit(archive.probe_batch, lambda name: name not in read_later)
    text_harvest = TextHarvest()
    text_harvest.add_text("resources.arsc", "\n".join(v for _, _, v in resource_strings))
    assets: list[tuple[str, str]] = []
    whole: dict[str, bytes] = {}  # text assets read in full (read_prefix checked their CRC)
    for entry in arch_facts.entries:
        if entry.name.startswith(("assets/", "res/raw/")) and is_text_asset(entry.name):
            try:
                head = archive.read_prefix(entry.name, limits.max_text_asset_bytes)
                archive.charge(len(head), entry.name)  # the text is kept: it counts against the budget
                text = decode_text(head)
            except Exception as exc:
                problems.append(problem_for(entry.name, "asset", exc))
                continue
            if entry.size > limits.max_text_asset_bytes:
                problems.append(
                    Problem(
                        entry.name,
                        "limit",
                        f"only the first {limits.max_text_asset_bytes} of {entry.size} bytes searched for text",
                        "max_text_asset_bytes",
                    )
                )
            if len(head) == entry.size <= YARA_MAX_ENTRY_BYTES:
                whole[entry.name] = head  # YARA scans these bytes: not inflated a second time
            assets.append((entry.name, text))
            text_harvest.add_text(entry.name, text)
            if is_web_asset(entry.name):
                fuzzy.add_web(entry.name, text)
    t["strings"] = time.perf_counter() - t4

    t5 = time.perf_counter()
    if scanner.active:
        for entry in arch_facts.entries:
            target = _yara_target(entry.name, entry.kind)
            if target and scanner.wants(target) and entry.size <= YARA_MAX_ENTRY_BYTES:
                try:
                    data = whole.pop(entry.name, None)
                    if data is None:
                        data = archive.read(entry.name, max_bytes=YARA_MAX_ENTRY_BYTES, transient=True)
                    scanner.scan(entry.name, target, data)
                except Exception as exc:
                    problems.append(problem_for(entry.name, "yara", exc, "not scanned"))
    whole.clear()
    t["yara"] = time.perf_counter() - t5

    t3 = time.perf_counter()
    try:
        dex_blobs = archive.nested_dex()
    except Exception as exc:  # MemoryError included: recorded as "memory", never a quiet gap
        dex_blobs = []
        problems.append(problem_for("dex", "dex-parse", exc, "cannot list dex files"))
    try:
        if archive.apply_probe(early_probe.result()):
            archive.probe_unread()  # a bomb is reported whichever entry carries it
    except Exception as exc:
        problems.append(problem_for("archive", "zip", exc, "entries not checked for zip bombs"))
    problems += archive.problems
    tampering += archive.all_tampering()
    del archive  # the raw APK is not needed any more

    harvest = TextHarvest()
    dexes: list[Dex] = []
    dex_blobs.reverse()
    while dex_blobs:  # popping lets each inflated dex be freed once it is parsed
        dex_path, blob = dex_blobs.pop()
        scanner.scan(dex_path, "dex", blob)
        tampering += dex_map_count(blob, dex_path)
        fuzzy.add("dex:" + dex_path, blob)
        try:
            dex, dex_tamper = read_dex(blob, dex_path)
        except DexError as exc:
            problems.append(Problem(dex_path, "dex-parse", str(exc)))
            continue
        except MemoryError as exc:
            del blob
            problems.append(problem_for(dex_path, "dex-parse", exc, "dex not parsed"))
            continue
        except Exception as exc:  # the reader promises DexError only; keep the promise here
            problems.append(Problem(dex_path, "dex-parse", f"unexpected: {exc!r}"[:200]))
            continue
        dexes.append(dex)
        tampering += dex_tamper
        harvest.add(dex_path, dex.strings)
    harvest.update(text_harvest)  # dex sources first, as a reviewer looks for the code
    strings = harvest.strings(resource_strings, assets)
    t["dex"] = time.perf_counter() - t3
    t5 = time.perf_counter()
    yara_hits = scanner.results()
    problems += scanner.problems
    t["yara_wait"] = time.perf_counter() - t5

    all_tamper = tuple(dict.fromkeys(tampering + list(arch_facts.tampering)))
    return ApkFacts(
        file_name=path.name,
        size=size,
        sha256=sha256.result(),
        manifest=manifest,
        signing=signing,
        archive=_with_tampering(arch_facts, all_tamper),
        dex=tuple(dexes),
        strings=strings,
        yara=yara_hits,
        yara_digest=yara_spec.digest if yara_spec else "",
        icon_png=icon,
        problems=tuple(dict.fromkeys(problems)),
        fingerprint=Fingerprint(fuzzy=fuzzy.result()),
    )


def _with_tampering(arch: Archive, tampering: tuple[Tamper, ...]) -> Archive:
    return replace(arch, tampering=tampering)


MEDIA_SUFFIXES = (
    ".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".mp3", ".ogg", ".wav", ".m4a", ".mp4",
    ".ttf", ".otf", ".woff", ".woff2", ".9.png",
)
"""Images, sound and fonts are not YARA-scanned: thousands of them in a large app cost
more than all the rest, and no rule pack targets media."""


def _read_later(entries: tuple[ZipEntry, ...], scanner: _YaraScanner) -> frozenset[str]:
    """Names of the entries :func:`_extract` reads after the archive facts: text assets,
    the YARA targets, and dex files and archives (a superset: any name ending in .dex)."""
    out: set[str] = set()
    for e in entries:
        text = e.name.startswith(("assets/", "res/raw/")) and is_text_asset(e.name)
        if text or e.kind in ("dex", "zip") or e.name.endswith(".dex"):
            out.add(e.name)
        elif scanner.active and e.size <= YARA_MAX_ENTRY_BYTES:
            target = _yara_target(e.name, e.kind)
            if target and scanner.wants(target):
                out.add(e.name)
    return frozenset(out)


def _yara_target(name: str, kind: str) -> str:
    if kind in ("png", "jpeg") or name.lower().endswith(MEDIA_SUFFIXES):
        return ""
    if name.startswith("lib/") and name.endswith(".so"):
        return "native"
    if kind == "dex" or name.endswith(".dex"):
        return ""  # dex files were scanned while being parsed
    if kind in ("zip",) or name.endswith((".apk", ".jar", ".zip")):
        return "nested"
    if name.startswith("assets/"):
        return "assets"
    if name == "resources.arsc" or name.startswith("res/"):
        return "resources"
    return ""


class _YaraScanner:
    """Runs compiled YARA rules over entries on the helper thread (yara-python releases
    the GIL while it scans), keeping hits of rules that target them, in submission order.

    Small entries are sent in batches (a large app has thousands of them, and a job per
    entry costs more than scanning it)."""

    MAX_PENDING_BYTES = 64 << 20
    """Entries queued for scanning hold their bytes; past this the reader waits."""
    BATCH_BYTES = 4 << 20
    BATCH_ENTRIES = 256

    def __init__(self, spec: YaraSpec | None, pool: Executor) -> None:
        self.spec = spec
        self.pool = pool
        self._batch: list[tuple[str, str, bytes]] = []
        self._batch_bytes = 0
        self._pending: deque[tuple[Future[tuple[list[YaraHit], list[Problem]]], int]] = deque()
        self._pending_bytes = 0
        self._done: list[YaraHit] = []
        self.problems: list[Problem] = []
        """Entries YARA did not finish (time-out, match flood), as ``limit`` problems."""
        wanted: set[str] = set()
        if spec is not None:
            for targets in spec.targets.values():
                wanted |= set(targets)
        self._wanted = wanted
        self.active = spec is not None and bool(wanted)

    def wants(self, target: str) -> bool:
        return "all" in self._wanted or target in self._wanted

    def scan(self, entry: str, target: str, data: bytes) -> None:
        if self.spec is None or not self.wants(target):
            return
        self._batch.append((entry, target, data))
        self._batch_bytes += len(data)
        if self._batch_bytes >= self.BATCH_BYTES or len(self._batch) >= self.BATCH_ENTRIES:
            self._submit()

    def results(self) -> tuple[YaraHit, ...]:
        self._submit()
        while self._pending:
            self._collect_one()
        return tuple(self._done)

    def _submit(self) -> None:
        if not self._batch or self.spec is None:
            return
        size = self._batch_bytes
        while self._pending and self._pending_bytes + size > self.MAX_PENDING_BYTES:
            self._collect_one()
        self._pending.append((self.pool.submit(self._match_all, self.spec, self._batch), size))
        self._pending_bytes += size
        self._batch = []
        self._batch_bytes = 0

    def _collect_one(self) -> None:
        future, size = self._pending.popleft()
        self._pending_bytes -= size
        hits, problems = future.result()
        self._done += hits
        self.problems += problems

    @staticmethod
    def _match_all(
        spec: YaraSpec, batch: list[tuple[str, str, bytes]]
    ) -> tuple[list[YaraHit], list[Problem]]:
        hits: list[YaraHit] = []
        problems: list[Problem] = []
        for entry, target, data in batch:
            if expired():  # the scan's time is up: no helper work outlives it
                problems.append(Problem(entry, "limit", "not YARA-scanned: time limit reached", "timeout"))
                continue
            hits += _YaraScanner._match(spec, entry, target, data, problems)
        return hits, problems

    @staticmethod
    def _match(
        spec: YaraSpec, entry: str, target: str, data: bytes, problems: list[Problem]
    ) -> list[YaraHit]:
        warnings: list[str] = []

        def on_warning(kind: int, message: Any) -> int:
            # "too many matches" and slow-rule warnings: captured, never printed by yara
            warnings.append(str(getattr(message, "string", "") or message))
            return CONTINUE

        try:
            matches = spec.rules.match(
                data=data, timeout=yara_timeout(30), warnings_callback=on_warning
            )
        except Exception as exc:
            message = str(exc)
            if "time" in message.lower():
                problems.append(Problem(entry, "limit", "not YARA-scanned in full: YARA timed out", "timeout"))
            else:
                problems.append(Problem(entry, "yara", f"not YARA-scanned: {message}"[:200]))
            return []
        if warnings:
            problems.append(
                Problem(
                    entry,
                    "yara",
                    f"YARA stopped counting matches of {len(warnings)} string(s) (too many matches); "
                    "the rules' results stand",
                )
            )
        hits: list[YaraHit] = []
        for m in matches:
            targets = spec.targets.get(m.rule, frozenset({"all"}))
            if "all" not in targets and target not in targets:
                continue
            strings: list[tuple[str, int, str]] = []
            for s in m.strings:
                for inst in s.instances[:3]:
                    text = bytes(inst.matched_data[:80]).decode("utf-8", errors="replace")
                    strings.append((s.identifier, int(inst.offset), text))
                if len(strings) >= 10:
                    break
            hits.append(YaraHit(m.rule, entry, target, tuple(strings)))
        return hits


class _Inline(Executor):
    """An executor that runs each job at once on the calling thread."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:  # what a pool would hand back; interrupts go through
            future.set_exception(exc)
        return future


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _head(path: Path) -> bytes:
    try:
        with path.open("rb") as fh:
            return fh.read(64)
    except OSError:
        return b""


def _describe_head(head: bytes) -> str:
    if not head:
        return "empty file"
    if head.startswith(b"version https://git-lfs"):
        return "a Git LFS pointer file"
    if head.startswith(b"dex\n"):
        return "a bare dex file"
    if head.startswith(b"\x7fELF"):
        return "an ELF binary"
    if all(32 <= b < 127 or b in (9, 10, 13) for b in head):
        return "a text file"
    return f"starts with bytes {head[:4].hex()}"
