"""A safe, tamper-aware reader of APK (ZIP) files, entirely in memory.

Nothing is ever written to disk and nothing is addressed by a path on disk: entry names
are only dictionary keys. Every size is bounded by :class:`~apkscan.limits.Limits`.

How Android reads an APK, and what this reader mirrors
------------------------------------------------------
Facts below are from AOSP ``system/libziparchive/zip_archive.cc`` (the native zip reader
used by the package manager, ART and the resource system) and
``frameworks/base/libs/androidfw/AssetsProvider.cpp`` (how the resource system, which
reads ``AndroidManifest.xml`` and ``resources.arsc``, maps an entry), plus public
write-ups of malware that abuses the differences from desktop zip tools (apkInspector,
Apktool and jadx issues on "bad compression method" / "encrypted entry" APKs).

* EOCD: the last 65,535 + 22 bytes are scanned *backwards* for ``PK\\x05\\x06``; the
  first hit wins with no further validation of the candidate. The central directory
  must end at or before the EOCD (``cd_offset + cd_size <= eocd_offset``, else
  ``kInvalidOffset``). Recent versions also reject bytes after EOCD + comment. Zip64
  EOCD records are honoured when a 32-bit field is ``0xFFFFFFFF``.
* Central directory: exactly ``num_records`` records are walked; each local header
  offset must lie before the central directory; names must be valid UTF-8 without NUL
  (else ``kInvalidEntryName``) -- the "language encoding" flag bit 11 is ignored, names
  are always UTF-8. A duplicate name makes the whole archive fail to open
  (``kDuplicateEntry``). The file must start with a local header signature.
* Entries: method, CRC and sizes come from the central directory. The local header
  must carry the same name; when bit 3 (data descriptor) is clear its CRC and sizes
  must equal the central directory's (``kInconsistentInformation``). The local
  header's *method* is never compared. Data starts at
  ``lfh_offset + 30 + lfh_name_len + lfh_extra_len`` (the *local* extra length).
* Compression method: the resource system maps every entry whose method is not 8
  (deflate) as *stored*, ``uncompressed_length`` bytes from the data offset -- so an
  unknown method (e.g. 0x7600) on ``AndroidManifest.xml`` installs fine while
  ``zipfile``, ``java.util.zip`` and most scanners give up. We do the same (and, when
  compressed and uncompressed sizes differ, try raw deflate first, as apkInspector does).
* General purpose bit 0 ("encrypted") is never looked at by Android: the data is read
  as plain. Desktop tools refuse such entries ("fake encryption").
* Inflation stops at the declared uncompressed size (more output is an error), and the
  CRC is checked after extraction by libziparchive; the resource system's mmap path for
  stored entries never checks it. We return the data and record a mismatch.

Where Android would refuse the APK or an entry we still read what we can and record a
:class:`~apkscan.facts.Tamper`: a scanner must see what the attacker hid.
"""

from __future__ import annotations

import re
import struct
import time
import zlib
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from pathlib import Path

from apkscan.facts import Archive, NativeLib, NestedPayload, Problem, Tamper, ZipEntry
from apkscan.limits import Limits, bomb_at
from apkscan.runtime import native_allowed

try:
    from apkscan.extract import _zipfast
except ImportError:  # the optional C extension was not built (no compiler or zlib headers)
    _zipfast = None  # type: ignore[assignment]

ZIP_NATIVE: bool = _zipfast is not None and native_allowed()
"""Whether the zip-bomb probe runs in C (``_zipfast``, without the GIL); else in Python."""

__all__ = ["ApkArchive", "ArchiveError", "EntryError", "LimitExceeded"]


class ArchiveError(Exception):
    """Not a zip at all: no end of central directory, or the central directory is unreadable."""


class EntryError(ArchiveError):
    """One entry cannot be read (no local header, corrupt deflate stream, truncated data)."""


class LimitExceeded(Exception):
    """A limit of :class:`Limits` was hit; the caller records it and goes on.
    ``limit`` names the :class:`Limits` field (``""`` for a caller's own cap)."""

    def __init__(self, where: str, message: str, limit: str = "") -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message
        self.limit = limit


# --- ZIP structures (APPNOTE.TXT 4.3) -------------------------------------------------
_EOCD_SIG = b"PK\x05\x06"
# after the signature: disk, cd disk, entries here, entries, cd size, cd offset, comment length
_EOCD = struct.Struct("<4H2LH")
_EOCD_LEN = 22
_MAX_COMMENT = 0xFFFF
_Z64_LOCATOR_SIG = 0x07064B50
_Z64_LOCATOR = struct.Struct("<LLQL")  # sig, disk, zip64 eocd offset, disks
_Z64_EOCD_SIG = 0x06064B50
_Z64_EOCD = struct.Struct("<LQ2H2L4Q")  # sig, size, made, need, disk, cd disk, n here, n, size, off
_CD_SIG = 0x02014B50
_CD = struct.Struct("<L6H3L5H2L")  # 46 bytes
_LFH_SIG = 0x04034B50
_LFH = struct.Struct("<L5H3L2H")  # 30 bytes
_DD_SIG = 0x08074B50
_U32 = 0xFFFFFFFF

_STORED = 0
_DEFLATED = 8
_FLAG_ENCRYPTED = 0x0001
_FLAG_DATA_DESCRIPTOR = 0x0008

_SNIFF_BYTES = 64
_SNIFF_MAX_INPUT = 64 << 10
_RATIO_FLOOR = 1 << 20  # the ratio limit applies from 1 MiB of output on
_PROBE_ENTRY_BYTES = 64 << 20
"""Output inflated (and dropped) per unread entry by ``probe_unread``: a bomb shows its
ratio within the first MiBs, and a size lie of an entry up to this size is seen in full."""
_FIRST_CHUNK = 1 << 20
_CHUNK = 8 << 20
_IN_CHUNK = 1 << 20
_MAX_EOCD_CANDIDATES = 256
_MAX_REPORTS_PER_KIND = 50

_DEX_TOP = re.compile(r"classes(\d*)\.dex")
_HIDDEN_SIGS = {
    b"PK\x03\x04": "a ZIP local header",
    b"PK\x01\x02": "a ZIP central directory record",
    b"\x03\x00\x08\x00": "binary XML (AXML)",
    b"dex\n0": "a dex header",
}
_DRIVE = re.compile(r"[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ZIP_EXTS = frozenset(
    [
        "apk",
        "jar",
        "zip",
        "aar",
        "apks",
        "xapk",
        "apkm",
        "apex",
        "obb",
        "ap_",
        "docx",
        "xlsx",
        "pptx",
        "odt",
        "ods",
        "odp",
        "epub",
        "kmz",
        "whl",
        "nupkg",
        "mtz",
        "crx",
        "zipx",
        "war",
        "ear",
    ]
)
_EXPECTED: dict[str, frozenset[str]] = {
    "dex": frozenset({"dex"}),
    "so": frozenset({"elf"}),
    "png": frozenset({"png"}),
    "jpg": frozenset({"jpeg"}),
    "jpeg": frozenset({"jpeg"}),
    "arsc": frozenset({"arsc"}),
    "xml": frozenset({"axml", "text"}),
}
_EXPECTED.update(
    dict.fromkeys(
        [
            "txt",
            "json",
            "js",
            "html",
            "htm",
            "css",
            "properties",
            "mf",
            "sf",
            "yml",
            "yaml",
            "csv",
            "md",
            "ini",
            "cfg",
            "conf",
            "svg",
        ],
        frozenset({"text"}),
    )
)
_EXPECTED.update(
    dict.fromkeys(
        [
            "gif",
            "webp",
            "bmp",
            "ico",
            "ttf",
            "otf",
            "woff",
            "woff2",
            "mp3",
            "mp4",
            "ogg",
            "wav",
            "m4a",
            "aac",
            "3gp",
            "webm",
        ],
        frozenset({"other"}),
    )
)
_PAYLOAD_KINDS = frozenset({"dex", "zip", "elf"})


@dataclass(slots=True)
class _Rec:
    """One central directory record as read (internal)."""

    index: int
    name: str
    raw_name: bytes
    method: int
    flags: int
    crc: int
    csize: int
    usize: int
    lho: int
    """Actual offset of the local header in the buffer (declared offset + any prefix shift)."""
    data_start: int = -1
    """Offset of the entry data, -1 when the local header is unusable."""
    kind: str = "other"
    deflate: bool = False
    """Inflate (method 8, or an unknown method whose bytes inflate) rather than copy."""


@dataclass(frozen=True, slots=True)
class _Inflated:
    """One entry inflated off the record: what to record and raise comes with it."""

    start: int
    cap: int
    out: bytes
    crc: int
    notes: tuple[tuple[str, str, str, str], ...]
    """("tamper" or "problem", kind, entry name, detail), in the order they arose."""
    error: EntryError | LimitExceeded | None


@dataclass
class _Budget:
    """Shared by an archive and every archive nested in it."""

    total: int = 0
    entries: int = 0
    cap: int = -1
    """Inflated bytes allowed in all (-1: ``limits.max_total_bytes``); see :func:`inflate_cap`."""
    cap_limit: str = "max_total_bytes"
    """The limit that sets :attr:`cap`."""
    probed: int = 0
    """Bytes inflated (and dropped) by :meth:`ApkArchive.probe_unread`."""
    transient: int = 0
    """Bytes inflated for callers that drop them soon (YARA); at most four times :attr:`cap`."""


_DONE, _BOMB, _BROKEN = 0, 1, 2
"""How a probe ended (:func:`_probe_stream`): inflated up to its limit or the end of the
stream, stopped at the ratio limit, or at corrupt deflate data."""


@dataclass(frozen=True)
class _Probed:
    """What :meth:`ApkArchive.probe_batch` found, for :meth:`ApkArchive.apply_probe`."""

    recs: tuple[_Rec, ...]
    """The records it was to probe, in order."""
    results: tuple[tuple[int, int, int], ...]
    """(bytes out, how it ended, input used when the ratio stopped it) per record probed:
    the first ones, all unless a limit stopped the batch."""
    reason: int
    """0, or what stopped the batch before ``recs[len(results)]``: 1 the budget, 2 the time."""
    probed_before: int
    probed: int
    """The budget's probe counter before and after."""


def _probe_stream(
    view: memoryview, start: int, end: int, limit: int, max_ratio: int, keep: list[bytes] | None = None
) -> tuple[int, int, int]:
    """Inflate at most ``limit`` + 1 bytes of the raw deflate stream ``view[start:end]``
    (into ``keep`` or into nothing), checking the ratio after every piece: (bytes out, how
    it ended, input used when the ratio stopped it). On corrupt data, the bytes out before
    the failing step. ``_zipfast.probe`` does the same in C."""
    src = view[start:end]
    want = limit + 1
    d = zlib.decompressobj(-15)
    got = 0
    pos = 0
    tail: bytes = b""
    try:
        while got < want and not d.eof:
            if tail:
                piece = d.decompress(tail, min(_CHUNK, want - got))
            elif pos < len(src):
                piece = d.decompress(src[pos : pos + _IN_CHUNK], min(_CHUNK, want - got))
                pos = min(pos + _IN_CHUNK, len(src))
            else:
                break
            tail = d.unconsumed_tail
            got += len(piece)
            if keep is not None:
                keep.append(piece)
            used = pos - len(tail) - len(d.unused_data)
            if got >= _RATIO_FLOOR and got > max_ratio * max(used, 1):
                return got, _BOMB, used
    except zlib.error:
        return got, _BROKEN, 0
    return got, _DONE, 0


def _probe_jobs(
    view: memoryview, jobs: list[tuple[int, int, int]], max_ratio: int, cap: int, probed: int, deadline: float
) -> tuple[list[tuple[int, int, int]], int, int, int]:
    """``_zipfast.probe`` in Python: each (start, end, limit) job probed unless the budget
    (``probed`` + limit past ``cap``: reason 1) or the time (reason 2) stops the batch first."""
    results: list[tuple[int, int, int]] = []
    for start, end, limit in jobs:
        if probed + limit > cap:
            return results, len(results), 1, probed
        if deadline > 0 and time.monotonic() > deadline:
            return results, len(results), 2, probed
        result = _probe_stream(view, start, end, limit, max_ratio)
        results.append(result)
        probed += result[0]
    return results, len(results), 0, probed


def inflate_cap(limits: Limits, apk_bytes: int) -> tuple[int, str]:
    """The inflate budget of one APK of ``apk_bytes`` and the limit that sets it: the
    memory budget less the APK's own bytes, at most ``max_total_bytes``."""
    room = max(0, limits.max_memory_bytes - apk_bytes)
    if room < limits.max_total_bytes:
        return room, "max_memory_bytes"
    return limits.max_total_bytes, "max_total_bytes"


@dataclass
class _Walk:
    nested: list[NestedPayload] = field(default_factory=list)
    mismatched: list[tuple[str, str]] = field(default_factory=list)
    tampering: list[Tamper] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


class ApkArchive:
    """Central directory and data of one ZIP held in memory."""

    def __init__(
        self,
        data: bytes,
        name: str,
        limits: Limits,
        depth: int,
        prefix: str,
        budget: _Budget,
    ) -> None:
        self.data = data
        self.name = name
        self.limits = limits
        self.depth = depth
        self.prefix = prefix
        self.tampering: list[Tamper] = []
        self.problems: list[Problem] = []
        self.cd_offset = 0
        self.cd_size = 0
        self.eocd_offset = 0
        self._view = memoryview(data)
        self._budget = budget
        self._recs: list[_Rec] = []
        self._by_name: dict[str, _Rec] = {}
        self._reported: set[tuple[str, str]] = set()
        self._kind_counts: dict[str, int] = {}
        self._children: dict[int, ApkArchive | None] = {}
        self._entries: tuple[ZipEntry, ...] | None = None
        self._prefetched: dict[int, Future[_Inflated]] = {}
        self._heads_future: tuple[list[_Rec], Future[list[bytes | None]]] | None = None
        self._tried: set[int] = set()
        """Records read in full, or refused by a limit (not probed again)."""
        if budget.cap < 0:
            budget.cap, budget.cap_limit = inflate_cap(limits, len(data))
        self._parse()

    @property
    def entries(self) -> tuple[ZipEntry, ...]:
        """Central directory records in order, with the content kind sniffed from the first
        bytes (done on first use: reading every entry does not need it)."""
        if self._entries is None:
            self._sniff_all()
            self._entries = tuple(
                ZipEntry(
                    name=r.name,
                    size=r.usize,
                    compressed_size=r.csize,
                    method=r.method,
                    offset=r.lho,
                    crc=r.crc,
                    kind=r.kind,
                )
                for r in self._recs
            )
        return self._entries

    def _sniff_all(self) -> None:
        if self._entries is not None:
            return
        if not ZIP_NATIVE:
            for rec in self._recs:
                rec.kind = self._sniff_rec(rec, {})
            return
        # The heads of deflated entries in one C pass, the stored ones sliced here, and
        # all of them judged in one C pass; Python's sniff reads the few it leaves (heads
        # with non-ASCII bytes and no magic number).
        heads = self._deflated_heads()
        sniffed: list[_Rec] = []
        batch: list[bytes] = []
        data = self.data
        for rec in self._recs:
            if rec.data_start < 0:
                rec.kind = "unreadable"
            elif rec.usize == 0 or rec.name.endswith("/"):
                rec.kind = "other"
            elif rec.index in heads:
                head = heads[rec.index]
                if head is None:
                    rec.kind = "unreadable"
                else:
                    sniffed.append(rec)
                    batch.append(head)
            elif rec.deflate:
                rec.kind = self._sniff_rec(rec, heads)  # not in the C pass: read as before
            else:
                sniffed.append(rec)
                batch.append(data[rec.data_start : rec.data_start + min(_SNIFF_BYTES, rec.usize)])
        for rec, head, kind in zip(sniffed, batch, _zipfast.sniff(batch), strict=True):
            rec.kind = kind if kind is not None else sniff(head)

    def _deflated_heads(self) -> dict[int, bytes | None]:
        """Record index -> the first bytes ``_head`` gives of each deflated entry to sniff
        (None: corrupt), from one C pass (``_zipfast.heads``) over thousands of entries
        (started on a helper thread by :meth:`prefetch_heads`, or run here)."""
        pending, self._heads_future = self._heads_future, None
        if pending is not None:
            recs, future = pending
            heads = future.result()
        else:
            recs, jobs = self._head_jobs()
            heads = _zipfast.heads(self.data, jobs)
        return {r.index: head for r, head in zip(recs, heads, strict=True)}

    def _head_jobs(self) -> tuple[list[_Rec], list[tuple[int, int, int]]]:
        recs = [r for r in self._recs if r.data_start >= 0 and r.usize and not r.name.endswith("/") and r.deflate]
        n = len(self.data)
        jobs = [
            (r.data_start, min(r.data_start + r.csize, r.data_start + _SNIFF_MAX_INPUT, n), _SNIFF_BYTES) for r in recs
        ]
        return recs, jobs

    def prefetch_heads(self, pool: Executor) -> None:
        """Inflate the heads the content sniff reads on ``pool`` (C without the GIL, about
        2 us an entry: thousands in a large app) while the caller reads the manifest and
        signatures. The same jobs as :meth:`_deflated_heads` builds, so the same heads."""
        if ZIP_NATIVE and self._entries is None and self._heads_future is None:
            recs, jobs = self._head_jobs()
            self._heads_future = (recs, pool.submit(_zipfast.heads, self.data, jobs))

    # --- construction -------------------------------------------------------------
    @classmethod
    def from_bytes(
        cls,
        data: bytes,
        name: str,
        limits: Limits,
        depth: int = 0,
        *,
        prefix: str = "",
        budget: _Budget | None = None,
    ) -> ApkArchive:
        """Parse ``data``; raises :class:`ArchiveError` when it is not a zip at all and
        :class:`LimitExceeded` when it is larger than ``limits.max_apk_bytes``."""
        if len(data) > limits.max_apk_bytes:
            raise LimitExceeded(name, f"{len(data)} bytes exceeds max_apk_bytes")
        return cls(bytes(data), name, limits, depth, prefix, budget or _Budget())

    @classmethod
    def open(cls, path: Path, limits: Limits) -> ApkArchive:
        """Read ``path`` into memory once (after checking its size) and parse it."""
        size = path.stat().st_size
        if size > limits.max_apk_bytes:
            raise LimitExceeded(path.name, f"{size} bytes exceeds max_apk_bytes")
        with path.open("rb") as fh:
            # Read what the size check allowed, not the limit: a 1 GiB read buffer would
            # need that much address space, which a batch worker's memory cap forbids.
            data = fh.read(size + 1)
        return cls.from_bytes(data, path.name, limits)

    # --- recording --------------------------------------------------------------------
    def _tamper(self, kind: str, entry: str, detail: str) -> None:
        key = (kind, entry)
        if key in self._reported:
            return
        self._reported.add(key)
        count = self._kind_counts.get(kind, 0) + 1
        self._kind_counts[kind] = count
        if count == _MAX_REPORTS_PER_KIND + 1:
            self.tampering.append(Tamper(kind, "", "further occurrences not listed"))
        if count > _MAX_REPORTS_PER_KIND:
            return
        self.tampering.append(Tamper(kind, self.prefix + entry if entry else self.prefix, detail))

    def _problem(self, where: str, kind: str, message: str, limit: str = "") -> None:
        problem = Problem(self.prefix + where, kind, message, limit)
        if problem not in self.problems and len(self.problems) < 500:
            self.problems.append(problem)

    # --- parsing ------------------------------------------------------------------------
    def _parse(self) -> None:
        data = self.data
        n = len(data)
        if n < _EOCD_LEN:
            raise ArchiveError(f"{n} bytes: too small to be a zip")
        eocd, num, cd_size, cd_off, comment_len, z64_at = self._find_eocd()
        self.eocd_offset = eocd
        # Where a plain zip writer puts things: EOCD last, comment-free, CD right before it.
        end_of_eocd = eocd + _EOCD_LEN + comment_len
        if end_of_eocd != n:
            self._tamper(
                "zip-eocd-offset",
                "",
                f"EOCD at {eocd}: {n - end_of_eocd:+d} bytes after EOCD and its "
                f"{comment_len}-byte comment (recent Android rejects trailing bytes)",
            )
        elif comment_len:
            self._tamper(
                "zip-eocd-offset",
                "",
                f"EOCD at {eocd}, {n - eocd} bytes before the end of the file "
                f"(archive comment of {comment_len} bytes; APK tools never write one)",
            )
        cd_limit = z64_at if z64_at >= 0 else eocd
        shift = 0
        if cd_off + cd_size > cd_limit or not self._cd_sig_at(cd_off):
            # Offsets may be relative to a zip that had bytes prepended (self-extractor
            # style); find the CD where the EOCD says it ends.
            guess = cd_limit - cd_size
            if cd_size and guess >= 0 and self._cd_sig_at(guess) and guess != cd_off:
                shift = guess - cd_off
                self._tamper(
                    "zip-eocd-offset",
                    "",
                    f"central directory declared at {cd_off} is at {guess}: {shift} bytes "
                    "prepended to the archive (Android rejects this file)",
                )
                cd_off = guess
            elif cd_off + cd_size > cd_limit:
                self._tamper(
                    "zip-eocd-offset",
                    "",
                    f"central directory {cd_off}+{cd_size} runs past the EOCD at {eocd} "
                    "(Android: bad offsets, not installable)",
                )
                cd_size = max(0, cd_limit - cd_off)
        elif cd_off + cd_size != cd_limit:
            self._tamper(
                "zip-eocd-offset",
                "",
                f"{cd_limit - cd_off - cd_size} bytes between the central directory and the EOCD",
            )
        self.cd_offset, self.cd_size = cd_off, cd_size
        self._parse_cd(cd_off, cd_size, num, shift)
        if self._recs and not data.startswith(b"PK\x03\x04"):
            first = min((r.lho for r in self._recs), default=0)
            self._tamper(
                "zip-eocd-offset",
                "",
                f"file does not start with a local header (first at {first}); "
                "Android rejects this file",
            )
        for rec in self._recs:
            if rec.data_start >= 0:
                rec.deflate = self._effective_deflate(rec)
        self._check_overlaps()

    def _cd_sig_at(self, off: int) -> bool:
        return off >= 0 and off + 4 <= len(self.data) and self.data[off : off + 4] == b"PK\x01\x02"

    def _find_eocd(self) -> tuple[int, int, int, int, int, int]:
        """(eocd offset, entries, cd size, cd offset, comment length, zip64 record offset)."""
        data = self.data
        n = len(data)
        lo = max(0, n - (_MAX_COMMENT + _EOCD_LEN))
        candidates: list[int] = []
        end = n - _EOCD_LEN + 4
        while len(candidates) < _MAX_EOCD_CANDIDATES:
            pos = data.rfind(_EOCD_SIG, lo, end)
            if pos < 0:
                break
            candidates.append(pos)
            end = pos + 3
        if not candidates:
            raise ArchiveError("no end of central directory record: not a zip")
        for i, pos in enumerate(candidates):
            _d, _cdd, _nh, num, cd_size, cd_off, clen = _EOCD.unpack_from(data, pos + 4)
            z64_at = -1
            if _U32 in (cd_size, cd_off) or num == 0xFFFF:
                z64 = self._zip64_eocd(pos)
                if z64 is not None:
                    num, cd_size, cd_off, z64_at = z64
            limit = z64_at if z64_at >= 0 else pos
            found = (
                self._cd_sig_at(cd_off)
                or (cd_size > 0 and self._cd_sig_at(limit - cd_size))
                or (num == 0 and cd_size == 0)
            )
            result = (pos, num, cd_size, cd_off, clen, z64_at)
            if found:
                if i > 0:
                    self._tamper(
                        "zip-eocd-offset",
                        "",
                        f"{i} later EOCD signature(s) (first at {candidates[0]}) do not lead to "
                        f"a central directory; the real EOCD is at {pos} (Android reads the last)",
                    )
                return result
        raise ArchiveError("EOCD found but no central directory where it points")

    def _zip64_eocd(self, eocd: int) -> tuple[int, int, int, int] | None:
        loc = eocd - _Z64_LOCATOR.size
        if loc < 0:
            return None
        sig, _disk, rec_off, _disks = _Z64_LOCATOR.unpack_from(self.data, loc)
        if sig != _Z64_LOCATOR_SIG or rec_off + _Z64_EOCD.size > loc:
            return None
        fields = _Z64_EOCD.unpack_from(self.data, rec_off)
        if fields[0] != _Z64_EOCD_SIG:
            return None
        num, cd_size, cd_off = fields[7], fields[8], fields[9]
        return num, cd_size, cd_off, rec_off

    def _parse_cd(self, cd_off: int, cd_size: int, declared: int, shift: int) -> None:
        data = self.data
        cd_end = min(cd_off + cd_size, len(data))
        p = cd_off
        recs = self._recs
        max_entries = self.limits.max_entries
        if ZIP_NATIVE:
            # One C pass reads the records; those with nothing unusual in them or their
            # local header (nearly all) need only what follows here, and any other is
            # read by _cd_record, which records what is wrong with it.
            room = max_entries - max(len(recs), self._budget.entries)
            rows, stop = _zipfast.records(data, p, cd_end, shift, room, self.cd_offset)
            for at, plain, name, raw, method, flags, crc, csize, usize, lho, start in rows:
                if not plain or name is None:
                    self._cd_record(at, cd_end, shift)
                    continue
                rec = _Rec(len(recs), name, raw, method, flags, crc, csize, usize, lho, start)
                recs.append(rec)
                self._declared_bomb(rec)
                self._budget.entries += 1
                self._add_name(rec)
            p = stop
        while p + 46 <= cd_end:
            next_p = self._cd_record(p, cd_end, shift)
            if next_p < 0:
                break
            p = next_p
        if not recs and declared:
            raise ArchiveError(f"central directory at {cd_off} unreadable")
        declared_mod = declared if declared > 0xFFFF else declared & 0xFFFF
        if declared != 0xFFFF and len(recs) != declared_mod and len(recs) < max_entries:
            self._tamper(
                "zip-header-mismatch",
                "",
                f"EOCD declares {declared} entries, central directory holds {len(recs)}"
                + (" (Android reads only the declared count)" if len(recs) > declared else ""),
            )
        if not recs:
            self._problem("", "zip", "archive has no entries (Android refuses an empty archive)")

    def _cd_record(self, p: int, cd_end: int, shift: int) -> int:
        """Read the central directory record at ``p`` and its local header, recording all
        that is wrong with them: where the next record starts, or -1 to stop."""
        data = self.data
        recs = self._recs
        max_entries = self.limits.max_entries
        unpack = _CD.unpack_from
        (
            sig,
            _made,
            _need,
            flags,
            method,
            _t,
            _d,
            crc,
            csize,
            usize,
            nlen,
            elen,
            clen,
            _disk,
            _ia,
            _ea,
            lho,
        ) = unpack(data, p)
        if sig != _CD_SIG:
            self._problem(
                "", "zip", f"central directory record {len(recs)} at {p}: bad signature"[:200]
            )
            return -1
        if len(recs) >= max_entries or self._budget.entries >= max_entries:
            self._problem(
                "", "limit", f"more than {max_entries} entries; the rest ignored", "max_entries"
            )
            if max_entries >= bomb_at(self.limits, "max_entries"):
                self._tamper("zip-bomb", "", f"more than {max_entries} central directory records")
            return -1
        name_at = p + 46
        if name_at + nlen + elen + clen > cd_end:
            self._problem("", "zip", f"central directory record {len(recs)} runs past its end")
            return -1
        raw = data[name_at : name_at + nlen]
        extra = data[name_at + nlen : name_at + nlen + elen]
        next_p: int = name_at + nlen + elen + clen
        try:
            name = raw.decode("utf-8")
            bad_utf8 = False
        except UnicodeDecodeError:
            name = raw.decode("utf-8", "backslashreplace")
            bad_utf8 = True
        if _U32 in (csize, usize, lho):
            usize, csize, lho = self._zip64_extra(extra, usize, csize, lho)
        rec = _Rec(len(recs), name, raw, method, flags, crc, csize, usize, lho + shift)
        recs.append(rec)
        self._declared_bomb(rec)
        self._budget.entries += 1
        self._check_name(rec, bad_utf8)
        if not self._extra_ok(extra):
            self._tamper(
                "zip-extra-garbage", name, f"malformed central directory extra ({elen} bytes)"
            )
        if method not in (_STORED, _DEFLATED):
            how = "stored" if csize == usize else "deflate if it inflates, else stored"
            self._tamper(
                "zip-unknown-method",
                name,
                f"compression method {method} (Android reads it as {how}; zip tools fail)",
            )
        if flags & _FLAG_ENCRYPTED:
            self._tamper(
                "zip-fake-encryption",
                name,
                "encryption flag set in the central directory "
                "(Android ignores it; zip tools refuse)",
            )
        self._add_name(rec)
        self._read_local_header(rec)
        return next_p

    def _declared_bomb(self, rec: _Rec) -> None:
        """A record that declares more than the ratio limit allows is a zip bomb whatever
        its bytes hold."""
        usize, csize = rec.usize, rec.csize
        if (
            rec.method != _STORED
            and usize >= _RATIO_FLOOR
            and usize > bomb_at(self.limits, "max_ratio") * max(csize, 1)
        ):
            self._tamper(
                "zip-bomb",
                rec.name,
                f"declares {usize} bytes from {csize} compressed "
                f"(ratio above {bomb_at(self.limits, 'max_ratio')}); not inflated",
            )

    def _add_name(self, rec: _Rec) -> None:
        first = self._by_name.get(rec.name)
        if first is None:
            self._by_name[rec.name] = rec
        else:
            self._tamper(
                "zip-duplicate-entry",
                rec.name,
                f"name appears again as record {rec.index} (first is record {first.index}); "
                "Android refuses the archive, other tools may read either copy",
            )

    @staticmethod
    def _zip64_extra(extra: bytes, usize: int, csize: int, lho: int) -> tuple[int, int, int]:
        p = 0
        while p + 4 <= len(extra):
            hid, size = struct.unpack_from("<HH", extra, p)
            body = extra[p + 4 : p + 4 + size]
            p += 4 + size
            if hid != 1:
                continue
            q = 0
            vals: list[int] = []
            while q + 8 <= len(body):
                vals.append(struct.unpack_from("<Q", body, q)[0])
                q += 8
            it = iter(vals)
            if usize == _U32:
                usize = next(it, usize)
            if csize == _U32:
                csize = next(it, csize)
            if lho == _U32:
                lho = next(it, lho)
            break
        return usize, csize, lho

    @staticmethod
    def _extra_ok(extra: bytes) -> bool:
        """Extra fields are (id, size, data) blocks. Old zipalign padded with raw zero
        bytes, which is not well-formed but harmless: zero padding is accepted."""
        p = 0
        n = len(extra)
        while p + 4 <= n:
            size = extra[p + 2] | (extra[p + 3] << 8)
            if p + 4 + size > n:
                return not any(extra[p:])
            p += 4 + size
        return p == n or not any(extra[p:])

    def _check_name(self, rec: _Rec, bad_utf8: bool) -> None:
        name = rec.name
        if bad_utf8:
            self._tamper(
                "zip-name-control-chars",
                name,
                "name is not valid UTF-8 (Android refuses the archive: invalid entry name)",
            )
        if _CONTROL.search(name):
            shown = "".join(c if 0x20 <= ord(c) != 0x7F else f"\\x{ord(c):02x}" for c in name)
            self._tamper("zip-name-control-chars", name, f"control character in name {shown!r}")
        if not name:
            self._problem(f"#{rec.index}", "zip", "entry with an empty name")
            return
        slashed = name.replace("\\", "/")
        if slashed.startswith("/") or _DRIVE.match(slashed) or ".." in slashed.split("/"):
            self._tamper(
                "zip-path-traversal",
                name,
                f"name {name!r} escapes the extraction folder (absolute, drive letter or '..')",
            )

    def _read_local_header(self, rec: _Rec) -> None:
        data = self.data
        off = rec.lho
        if off < 0 or off + 30 > len(data):
            self._tamper("zip-header-mismatch", rec.name, f"local header offset {off} outside file")
            return
        fields = _LFH.unpack_from(data, off)
        (sig, _need, flags, method, _t, _d, crc, csize, usize, nlen, elen) = fields
        if sig != _LFH_SIG:
            self._tamper("zip-header-mismatch", rec.name, f"no local header signature at {off}")
            return
        if off >= self.cd_offset:
            self._tamper(
                "zip-header-mismatch",
                rec.name,
                f"local header at {off} is not before the central directory "
                "(Android: bad LFH offset)",
            )
        start = off + 30 + nlen + elen
        if start > len(data):
            self._tamper("zip-header-mismatch", rec.name, "local header past end of file")
            return
        rec.data_start = start
        diffs: list[str] = []
        lname = data[off + 30 : off + 30 + nlen]
        if lname != rec.raw_name:
            shown = lname[:80].decode("utf-8", "backslashreplace")
            diffs.append(f"name {shown!r}")
        if method != rec.method:
            diffs.append(f"method {method} (central directory {rec.method})")
        if not flags & _FLAG_DATA_DESCRIPTOR:
            same = (crc, csize, usize) == (rec.crc, rec.csize, rec.usize)
            if not same and _U32 not in (csize, usize):
                diffs.append(
                    f"crc/sizes {crc:08x}/{csize}/{usize} "
                    f"(central directory {rec.crc:08x}/{rec.csize}/{rec.usize})"
                )
        else:
            dd_at = start + (rec.usize if rec.method == _STORED else rec.csize)
            if dd_at + 12 <= len(data):
                (first,) = struct.unpack_from("<L", data, dd_at)
                at = dd_at + 4 if first == _DD_SIG else dd_at
                if at + 12 <= len(data):
                    dcrc, dcs, dus = struct.unpack_from("<3L", data, at)
                    if (dcrc, dcs, dus) != (rec.crc, rec.csize & _U32, rec.usize & _U32):
                        diffs.append(
                            f"data descriptor crc/sizes {dcrc:08x}/{dcs}/{dus} "
                            f"(central directory {rec.crc:08x}/{rec.csize}/{rec.usize})"
                        )
        if (flags ^ rec.flags) & _FLAG_ENCRYPTED:
            diffs.append("encryption flag")
        if flags & _FLAG_ENCRYPTED and not rec.flags & _FLAG_ENCRYPTED:
            self._tamper(
                "zip-fake-encryption",
                rec.name,
                "encryption flag set in the local header (Android ignores it; zip tools refuse)",
            )
        if diffs:
            self._tamper(
                "zip-header-mismatch",
                rec.name,
                "local header differs from the central directory: " + "; ".join(diffs),
            )
        if method not in (_STORED, _DEFLATED) and rec.method in (_STORED, _DEFLATED):
            self._tamper("zip-unknown-method", rec.name, f"local header declares method {method}")
        local_extra = data[off + 30 + nlen : start]
        if not self._extra_ok(local_extra):
            self._tamper(
                "zip-extra-garbage", rec.name, f"malformed local header extra ({elen} bytes)"
            )
        if elen >= 32 and any(sig in local_extra for sig in _HIDDEN_SIGS):
            found = ", ".join(label for sig, label in _HIDDEN_SIGS.items() if sig in local_extra)
            self._tamper(
                "zip-extra-hidden-data",
                rec.name,
                f"local header extra field of {elen} bytes holds {found} "
                "(a second copy that tools reading the extra field see instead)",
            )

    @staticmethod
    def _span(rec: _Rec) -> int:
        return rec.csize if rec.deflate else rec.usize

    def _check_overlaps(self) -> None:
        """Entries whose header+data ranges overlap share bytes: the "overlapping files"
        zip bomb (one deflate stream referenced by thousands of entries) or two names for
        one content that tools resolve differently."""
        spans = sorted(
            ((r.lho, r.data_start + self._span(r), r) for r in self._recs if r.data_start >= 0),
            key=lambda t: (t[0], t[1], t[2].index),
        )
        max_end = -1
        owner: _Rec | None = None
        overlaps = 0
        for start, end, rec in spans:
            if owner is not None and start < max_end:
                overlaps += 1
                self._tamper(
                    "zip-overlapping-entries",
                    rec.name,
                    f"bytes {start}..{end} overlap {owner.name!r} ({owner.lho}..{max_end})",
                )
            if end > max_end:
                max_end, owner = end, rec
            if end > self.cd_offset and rec.data_start >= 0:
                self._tamper(
                    "zip-overlapping-entries",
                    rec.name,
                    f"data {rec.data_start}..{end} runs into the central directory "
                    f"at {self.cd_offset}",
                )
        if overlaps > _MAX_REPORTS_PER_KIND:
            self._problem("", "zip", f"{overlaps} overlapping entries")

    # --- sniffing ---------------------------------------------------------------------
    def _head(self, rec: _Rec, n: int) -> bytes:
        """First ``n`` bytes of an entry, inflating only as much as needed."""
        if rec.data_start < 0:
            raise EntryError(f"{rec.name}: no usable local header")
        start = rec.data_start
        if rec.deflate:
            d = zlib.decompressobj(-15)
            out = b""
            pos = start
            stop = min(start + rec.csize, start + _SNIFF_MAX_INPUT, len(self.data))
            try:
                while len(out) < n and pos < stop and not d.eof:
                    step = min(stop, pos + max(256, 4 * n)) - pos
                    out += d.decompress(self._view[pos : pos + step], n - len(out))
                    pos += step
                    while d.unconsumed_tail and len(out) < n:
                        out += d.decompress(d.unconsumed_tail, n - len(out))
            except zlib.error as exc:
                raise EntryError(f"{rec.name}: corrupt deflate data ({exc})") from None
            return out[:n]
        return self.data[start : start + min(n, rec.usize)]

    def _effective_deflate(self, rec: _Rec) -> bool:
        if rec.method == _DEFLATED:
            return True
        if rec.method == _STORED or rec.csize == rec.usize:
            return False
        # Unknown method with differing sizes: apkInspector's heuristic -- inflate if the
        # bytes are a valid deflate stream, else fall back to Android's "stored".
        try:
            d = zlib.decompressobj(-15)
            start = rec.data_start
            d.decompress(self._view[start : start + min(rec.csize, 4096)], 64)
            return True
        except zlib.error:
            return False

    def _sniff_rec(self, rec: _Rec, heads: dict[int, bytes | None]) -> str:
        if rec.data_start < 0:
            return "unreadable"
        if rec.usize == 0 or rec.name.endswith("/"):
            return "other"
        if rec.index in heads:
            head = heads[rec.index]
            return "unreadable" if head is None else sniff(head)
        try:
            head = self._head(rec, _SNIFF_BYTES)
        except EntryError:
            return "unreadable"
        return sniff(head)

    # --- reading ------------------------------------------------------------------------
    def names(self) -> list[str]:
        """Entry names in central directory order, each once."""
        return list(self._by_name)

    def _lookup(self, name: str) -> _Rec:
        rec = self._by_name.get(name)
        if rec is None:
            raise KeyError(name)
        return rec

    def read_head(self, name: str, n: int) -> bytes:
        """The first ``n`` bytes of an entry (never more, no limit error for big entries)."""
        return self._head(self._lookup(name), n)

    def read(self, name: str, max_bytes: int | None = None, *, transient: bool = False) -> bytes:
        """The whole entry as Android would extract it (first entry of that name).

        Raises :class:`LimitExceeded` past ``max_bytes`` (default and cap:
        ``limits.max_entry_bytes``), the ratio limit or the total budget; :class:`EntryError`
        when the data cannot be read; ``KeyError`` for an unknown name.

        ``transient``: the caller drops the bytes soon (a YARA scan): they count against a
        budget of their own (four times the inflate budget) instead of the memory budget."""
        return self._read_rec(self._lookup(name), max_bytes, transient)

    def charge(self, nbytes: int, where: str) -> None:
        """Count ``nbytes`` that the caller keeps (text read with :meth:`read_head`)
        against the inflate budget; :class:`LimitExceeded` when it is used up."""
        budget = self._budget
        if budget.total + nbytes > budget.cap:
            raise LimitExceeded(
                self.prefix + where,
                f"inflate budget of {budget.cap} bytes for the whole scan used up ({budget.cap_limit})",
                budget.cap_limit,
            )
        budget.total += nbytes

    def _read_rec(self, rec: _Rec, max_bytes: int | None = None, transient: bool = False) -> bytes:
        lim = self.limits
        where = self.prefix + rec.name
        cap = lim.max_entry_bytes if max_bytes is None else min(max_bytes, lim.max_entry_bytes)
        if rec.data_start < 0:
            raise EntryError(f"{where}: no usable local header")
        if max_bytes is None or max_bytes >= lim.max_entry_bytes:
            self._tried.add(rec.index)
        if rec.usize > bomb_at(lim, "max_entry_bytes"):  # not a lowered --limit
            self._tamper("zip-bomb", rec.name, f"declares {rec.usize} bytes uncompressed")
        if rec.usize > cap:
            name = "max_entry_bytes" if cap == lim.max_entry_bytes else ""
            raise LimitExceeded(where, f"declares {rec.usize} bytes, limit {cap}", name)
        deflate = rec.deflate
        if deflate and rec.usize >= _RATIO_FLOOR and rec.usize > lim.max_ratio * max(rec.csize, 1):
            if rec.usize > bomb_at(lim, "max_ratio") * max(rec.csize, 1):
                self._tamper(
                    "zip-bomb",
                    rec.name,
                    f"declared ratio {rec.usize}/{rec.csize} exceeds {bomb_at(lim, 'max_ratio')}",
                )
            raise LimitExceeded(where, f"compression ratio above {lim.max_ratio}", "max_ratio")
        budget = self._budget
        budget_left = (4 * budget.cap - budget.transient) if transient else (budget.cap - budget.total)
        if rec.usize > budget_left:
            raise LimitExceeded(
                where,
                f"inflate budget of {budget.cap} bytes for the whole scan used up ({budget.cap_limit})",
                budget.cap_limit,
            )
        start = rec.data_start
        if deflate:
            out, crc = self._inflate(rec, start, min(cap, budget_left), budget_left < cap)
        else:
            end = start + rec.usize
            if end > len(self.data):
                raise EntryError(f"{where}: stored data runs past the end of the file")
            out = self.data[start:end]
            crc = zlib.crc32(out)
        # The whole stream came out within the cap (past it, LimitExceeded was raised): the
        # entry has been checked as probe_unread would check it, so it is not inflated again
        # (YARA reads most entries of a large app with a smaller cap).
        self._tried.add(rec.index)
        if transient:
            budget.transient += len(out)
        else:
            budget.total += len(out)
        if crc != rec.crc:
            self._tamper(
                "zip-crc-mismatch",
                rec.name,
                f"CRC-32 of the data {crc:08x} differs from the declared {rec.crc:08x}",
            )
        return out

    def _inflate(self, rec: _Rec, start: int, cap: int, by_budget: bool = False) -> tuple[bytes, int]:
        """The entry's data inflated (at most ``cap`` bytes) and its CRC-32: taken from a
        prefetch when one was made with the same cap, else inflated here. Either way the
        notes are recorded and errors raised here, in the caller's order."""
        pending = self._prefetched.pop(rec.index, None)
        done = pending.result() if pending is not None else None
        # A prefetch made with another cap is as good when it ended without error within
        # this one: inflation stopped at the end of the stream either way.
        if done is None or done.start != start or (done.cap != cap and (done.error is not None or len(done.out) > cap)):
            done = self._inflate_quietly(rec, start, cap)
        for note_kind, kind, entry, detail in done.notes:
            if note_kind == "tamper":
                self._tamper(kind, entry, detail)
            else:
                self._problem(entry, kind, detail)
        if done.error is not None:
            error = done.error
            if isinstance(error, LimitExceeded) and not error.limit:
                budget = self._budget
                error.limit = budget.cap_limit if by_budget else "max_entry_bytes"
            raise error
        return done.out, done.crc

    def prefetch_top_dex(self, pool: Executor) -> None:
        """Inflate the top-level ``classes*.dex`` entries on ``pool`` (zlib works without
        the GIL) while the caller reads the manifest, resources and assets. Nothing is
        recorded until :meth:`read` asks for an entry; results are identical to inflating
        then, and are dropped (the entry inflated again) if the limits differ by then."""
        lim = self.limits
        # Only what the inflate budget allows in all: inflated entries wait in memory until
        # they are read, so prefetching past the budget would hold more than a scan may.
        room = self._budget.cap - self._budget.total
        planned = 0
        for name, rec in self._by_name.items():
            if not _DEX_TOP.fullmatch(name) or not rec.deflate or rec.data_start < 0:
                continue
            if rec.usize > lim.max_entry_bytes or rec.index in self._prefetched:
                continue
            planned += rec.usize
            if planned > room:
                break
            cap = min(lim.max_entry_bytes, room)
            self._prefetched[rec.index] = pool.submit(self._inflate_quietly, rec, rec.data_start, cap)

    def _inflate_quietly(self, rec: _Rec, start: int, cap: int) -> _Inflated:
        """Inflate without touching any shared state: notes and the error are returned.
        Safe to run on another thread (it reads only the immutable data and limits)."""
        notes: list[tuple[str, str, str, str]] = []
        try:
            out = self._inflate_into(rec, start, cap, notes)
        except (EntryError, LimitExceeded) as exc:
            return _Inflated(start, cap, b"", 0, tuple(notes), exc)
        return _Inflated(start, cap, out, zlib.crc32(out), tuple(notes), None)

    def _inflate_into(self, rec: _Rec, start: int, cap: int, notes: list[tuple[str, str, str, str]]) -> bytes:
        where = self.prefix + rec.name
        lim = self.limits
        src_end = start + rec.csize
        if src_end > len(self.data):
            notes.append(("problem", "zip", rec.name, "compressed data runs past the end of the file"))
            src_end = len(self.data)
        src = self._view[start:src_end]
        want = min(rec.usize, cap) + 1  # one more byte than allowed reveals a lie or a limit
        d = zlib.decompressobj(-15)
        try:
            if want <= _FIRST_CHUNK + 1 and len(src) <= _IN_CHUNK:
                out = d.decompress(src, want)
            else:
                # Feed bounded input slices (``unconsumed_tail`` is a copy) and take bounded
                # output pieces, checking the ratio as we go: a bomb is stopped after ~1 MiB.
                parts: list[bytes] = []
                got = 0
                pos = 0
                chunk = _FIRST_CHUNK
                tail = b""
                while got < want and not d.eof:
                    if tail:
                        piece = d.decompress(tail, min(chunk, want - got))
                    elif pos < len(src):
                        piece = d.decompress(src[pos : pos + _IN_CHUNK], min(chunk, want - got))
                        pos = min(pos + _IN_CHUNK, len(src))
                    else:
                        break
                    tail = d.unconsumed_tail
                    parts.append(piece)
                    got += len(piece)
                    used = pos - len(tail) - len(d.unused_data)
                    if got >= _RATIO_FLOOR and got > lim.max_ratio * max(used, 1):
                        if got > bomb_at(lim, "max_ratio") * max(used, 1):
                            detail = f"inflates {got} bytes from {used} ({got // max(used, 1)}:1)"
                            notes.append(("tamper", "zip-bomb", rec.name, detail))
                        raise LimitExceeded(where, f"compression ratio above {lim.max_ratio}", "max_ratio")
                    if got >= _FIRST_CHUNK:
                        chunk = _CHUNK
                out = b"".join(parts)
        except zlib.error as exc:
            raise EntryError(f"{where}: corrupt deflate data ({exc})") from None
        if len(out) > rec.usize:
            if len(out) > cap:
                if rec.usize > cap or len(out) > lim.max_entry_bytes:
                    notes.append(("tamper", "zip-bomb", rec.name, f"inflates past {cap} bytes"))
                raise LimitExceeded(where, f"inflates past {cap} bytes")
            detail = f"inflates to more than the declared {rec.usize} bytes (Android stops with an error)"
            notes.append(("tamper", "zip-header-mismatch", rec.name, detail))
            return out[: rec.usize]
        if not d.eof:
            raise EntryError(f"{where}: truncated deflate stream ({len(out)} of {rec.usize} bytes)")
        if len(out) != rec.usize:
            detail = f"inflates to {len(out)} bytes, central directory declares {rec.usize}"
            notes.append(("tamper", "zip-header-mismatch", rec.name, detail))
        return out

    # --- nested archives --------------------------------------------------------------------
    def _child(self, rec: _Rec) -> ApkArchive | None:
        if rec.index in self._children:
            return self._children[rec.index]
        child: ApkArchive | None = None
        try:
            blob = self._read_rec(rec)
            child = ApkArchive(
                blob,
                rec.name,
                self.limits,
                self.depth + 1,
                f"{self.prefix}{rec.name}!",
                self._budget,
            )
        except LimitExceeded as exc:
            self._problem(rec.name, "limit", f"nested archive not opened: {exc}"[:300], exc.limit)
        except ArchiveError as exc:
            self._problem(rec.name, "zip", f"nested archive unreadable: {exc}"[:300])
        self._children[rec.index] = child
        return child

    def _deadline_passed(self, deadline: float, where: str) -> bool:
        if time.monotonic() > deadline:
            limit = self.limits.phase_seconds
            self._problem(where, "limit", f"time limit of {limit:.0f} s reached", "phase_seconds")
            return True
        return False

    def facts(self) -> Archive:
        """Everything the rest of apkscan needs to know about the archive structure."""
        deadline = time.monotonic() + self.limits.phase_seconds
        walk = _Walk()
        self._walk(walk, deadline)
        native: list[NativeLib] = []
        assets: list[str] = []
        for rec in self._recs:
            parts = rec.name.split("/")
            if len(parts) == 3 and parts[0] == "lib" and parts[1] and parts[2].endswith(".so"):
                native.append(NativeLib(parts[1], parts[2], rec.name, rec.usize))
            if rec.name.startswith("assets/") and not rec.name.endswith("/"):
                assets.append(rec.name)
        return Archive(
            entries=self.entries,
            native_libs=tuple(native),
            assets=tuple(dict.fromkeys(assets)),
            nested=tuple(walk.nested),
            mismatched=tuple(walk.mismatched),
            tampering=tuple(dict.fromkeys(self.tampering + walk.tampering)),
        )

    def _walk(self, walk: _Walk, deadline: float) -> None:
        _ = self.entries
        for rec in self._recs:
            path = self.prefix + rec.name
            if rec.kind in _PAYLOAD_KINDS and _mismatched(rec.name, rec.kind):
                walk.mismatched.append((path, rec.kind))
            if rec.kind == "dex":
                if self.depth == 0 and _DEX_TOP.fullmatch(rec.name):
                    continue
                walk.nested.append(NestedPayload(path, "dex", rec.usize, self.depth + 1))
            elif rec.kind == "zip":
                if self._deadline_passed(deadline, rec.name):
                    return
                if self.depth + 1 > self.limits.max_depth:
                    kind = _ext_kind(rec.name)
                    walk.nested.append(NestedPayload(path, kind, rec.usize, self.depth + 1))
                    deep = f"nested deeper than {self.limits.max_depth}; not opened"
                    self._problem(rec.name, "limit", deep, "max_depth")
                    self._tamper(
                        "zip-bomb",
                        rec.name,
                        f"archives nested deeper than {self.limits.max_depth} levels",
                    )
                    continue
                child = self._child(rec)
                kind = child._payload_kind(rec.name) if child else _ext_kind(rec.name)
                walk.nested.append(NestedPayload(path, kind, rec.usize, self.depth + 1))
                if child is not None:
                    child._walk(walk, deadline)
                    walk.tampering.extend(child.tampering)
                    for p in child.problems:
                        self._problem_raw(p)

    def _problem_raw(self, problem: Problem) -> None:
        if problem not in self.problems and len(self.problems) < 500:
            self.problems.append(problem)

    def _payload_kind(self, name: str) -> str:
        names = self._by_name
        if "AndroidManifest.xml" in names or "classes.dex" in names:
            return "apk"
        if (
            "META-INF/MANIFEST.MF" in names
            or name.lower().endswith(".jar")
            or any(n.endswith(".class") for n in names)
        ):
            return "jar"
        return "zip"

    def nested_dex(self) -> list[tuple[str, bytes]]:
        """Every dex: top-level ``classes*.dex`` in numeric order, then other dex entries
        (by content), then dex inside nested archives, depth first. Entries that cannot be
        read are recorded in :attr:`problems` and skipped."""
        deadline = time.monotonic() + self.limits.phase_seconds
        out: list[tuple[str, bytes]] = []
        self._collect_dex(out, deadline)
        return out

    def _collect_dex(self, out: list[tuple[str, bytes]], deadline: float) -> None:
        _ = self.entries
        seen: set[int] = set()
        top: list[tuple[int, _Rec]] = []
        for name, rec in self._by_name.items():
            m = _DEX_TOP.fullmatch(name)
            if m and (m.group(1) == "" or not m.group(1).startswith("0")):
                top.append((int(m.group(1) or "1"), rec))
        ordered = [rec for _, rec in sorted(top, key=lambda t: t[0])]
        ordered += [r for r in self._recs if r.kind == "dex" and r not in ordered]
        for rec in ordered:
            if rec.index in seen:
                continue
            seen.add(rec.index)
            if self._deadline_passed(deadline, rec.name):
                return
            try:
                out.append((self.prefix + rec.name, self._read_rec(rec)))
            except LimitExceeded as exc:
                self._problem(rec.name, "limit", str(exc)[:300], exc.limit)
            except ArchiveError as exc:
                self._problem(rec.name, "zip", str(exc)[:300])
        for rec in self._recs:
            if rec.kind != "zip" or self.depth + 1 > self.limits.max_depth:
                continue
            if self._deadline_passed(deadline, rec.name):
                return
            child = self._child(rec)
            if child is not None:
                child._collect_dex(out, deadline)
                for p in child.problems:
                    self._problem_raw(p)

    # --- after the walk: bombs in entries nobody read, tampering of nested archives ----
    def probe_unread(self, deadline: float | None = None, only: Callable[[str], bool] | None = None) -> None:
        """Inflate, and drop, every compressed entry that was not read in full (assets,
        libraries, media ...; nested archives that were opened too), so that a zip bomb or
        a size lie is reported whichever entry carries it. Output is never kept; each entry
        stops at its declared size plus one byte, at the ratio limit, and all probes
        together at the inflate budget (a ``limit`` problem names what was left unchecked).

        ``only``: probe just the top-level entries whose names it accepts, and no nested
        archive. A later call without ``only`` checks the rest."""
        if deadline is None:
            deadline = time.monotonic() + self.limits.phase_seconds
        if not self.apply_probe(self.probe_batch(only, deadline)) or only is not None:
            return
        for child in self._children.values():
            if child is not None:
                child.probe_unread(deadline)
                for p in child.problems:
                    self._problem_raw(p)

    def probe_batch(self, only: Callable[[str], bool] | None = None, deadline: float | None = None) -> _Probed:
        """The probes of :meth:`probe_unread` for the top-level entries not read so far
        (those ``only`` accepts), without recording anything: :meth:`apply_probe` records
        the outcome. It reads the immutable data, the records and the budget only, so it
        may run on a helper thread, where the C pass (``_zipfast``) runs without the GIL."""
        if deadline is None:
            deadline = time.monotonic() + self.limits.phase_seconds
        recs = [
            rec
            for rec in self._recs
            if rec.index not in self._tried
            and rec.data_start >= 0
            and rec.deflate
            and (only is None or only(rec.name))
        ]
        n = len(self.data)
        jobs = [(r.data_start, min(r.data_start + r.csize, n), min(r.usize, _PROBE_ENTRY_BYTES)) for r in recs]
        cap, before = self._budget.cap, self._budget.probed
        # the probe looks for bombs in entries nobody reads: the ratio of a bomb, not the
        # (possibly lowered) ratio the analysis stops at
        ratio = bomb_at(self.limits, "max_ratio")
        if ZIP_NATIVE:
            args = (ratio, _RATIO_FLOOR, _CHUNK, _IN_CHUNK, cap, before, deadline)
            results, _, reason, probed = _zipfast.probe(self.data, jobs, *args)
        else:
            results, _, reason, probed = _probe_jobs(self._view, jobs, ratio, cap, before, deadline)
        return _Probed(tuple(recs), tuple(results), reason, before, probed)

    def apply_probe(self, outcome: _Probed) -> bool:
        """Record what :meth:`probe_batch` found, in record order, as the probes would have
        recorded it one by one; False when a limit stopped it (the problem names where)."""
        for rec, (got, status, used) in zip(outcome.recs, outcome.results, strict=False):
            self._tried.add(rec.index)
            self._probe_notes(rec, got, status, used)
        budget = self._budget
        budget.probed += outcome.probed - outcome.probed_before
        if outcome.reason == 0:
            return True
        rec = outcome.recs[len(outcome.results)]
        if outcome.reason == 1:
            what = f"not checked for a zip bomb: inflate budget of {budget.cap} bytes used up"
            self._problem(rec.name, "limit", what, budget.cap_limit)
        else:
            self._problem(rec.name, "limit", "not checked for a zip bomb: time limit reached", "phase_seconds")
        return False

    def read_prefix(self, name: str, n: int) -> bytes:
        """The first ``n`` bytes of an entry (all of it when shorter), inflated with the
        ratio check; a bomb raises :class:`LimitExceeded` (and is recorded as ``zip-bomb``)."""
        rec = self._lookup(name)
        if rec.data_start < 0:
            raise EntryError(f"{self.prefix}{rec.name}: no usable local header")
        if not rec.deflate:
            start = rec.data_start
            out = self.data[start : start + min(n, rec.usize, max(0, len(self.data) - start))]
        else:
            parts: list[bytes] = []
            self._probe(rec, n - 1, parts)  # at most n bytes
            out = b"".join(parts)[:n]
        if rec.usize <= n and len(out) == rec.usize:
            # read in full: checked as a full read checks it, and not probed again
            self._tried.add(rec.index)
            crc = zlib.crc32(out)
            if crc != rec.crc:
                self._tamper(
                    "zip-crc-mismatch",
                    rec.name,
                    f"CRC-32 of the data {crc:08x} differs from the declared {rec.crc:08x}",
                )
        return out

    def _probe(self, rec: _Rec, limit: int, keep: list[bytes] | None = None) -> int:
        """Inflate at most ``limit`` + 1 bytes of ``rec``, into ``keep`` or into nothing;
        the bytes produced. Records ``zip-bomb`` (ratio) and ``zip-header-mismatch`` (more
        than declared) like a full read would; with ``keep``, a bomb raises
        :class:`LimitExceeded`."""
        start = rec.data_start
        end = min(start + rec.csize, len(self.data))
        got, status, used = _probe_stream(self._view, start, end, limit, self.limits.max_ratio, keep)
        self._probe_notes(rec, got, status, used)
        if status == _BOMB and keep is not None:
            where = self.prefix + rec.name
            raise LimitExceeded(where, f"compression ratio above {self.limits.max_ratio}", "max_ratio")
        return got

    def _probe_notes(self, rec: _Rec, got: int, status: int, used: int) -> None:
        """The notes of one probe (see :func:`_probe_stream`)."""
        if status == _BOMB:
            if got > bomb_at(self.limits, "max_ratio") * max(used, 1):  # not only past a lowered --limit
                detail = f"inflates {got} bytes from {used} ({got // max(used, 1)}:1); not analysed"
                self._tamper("zip-bomb", rec.name, detail)
        elif status == _DONE and got > rec.usize:
            self._tamper(
                "zip-header-mismatch",
                rec.name,
                f"inflates to more than the declared {rec.usize} bytes (Android stops with an error)",
            )

    def all_tampering(self) -> list[Tamper]:
        """Tampering of this archive and of every nested archive opened so far (also those
        opened after :meth:`facts`, while the dex files were collected)."""
        out = list(self.tampering)
        for child in self._children.values():
            if child is not None:
                out += child.all_tampering()
        return out


def _ext(name: str) -> str:
    base = name.rsplit("/", 1)[-1]
    return base.rsplit(".", 1)[-1].lower() if "." in base else ""


def _ext_kind(name: str) -> str:
    ext = _ext(name)
    if ext in ("apk", "apks", "xapk"):
        return "apk"
    if ext in ("jar", "aar"):
        return "jar"
    return "zip"


def _mismatched(name: str, kind: str) -> bool:
    """True when an executable payload (dex, zip, ELF) hides behind another name."""
    ext = _ext(name)
    if kind == "zip":
        return ext not in _ZIP_EXTS
    if kind == "dex":
        return ext != "dex"
    if kind == "elf":
        expected = _EXPECTED.get(ext)
        return expected is not None and "elf" not in expected
    return False


def sniff(head: bytes) -> str:
    """Content kind from the first bytes of a file."""
    if not head:
        return "other"
    if head.startswith(b"dex\n"):
        return "dex"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if head.startswith(b"\x7fELF"):
        return "elf"
    if head[2:4] == b"\x08\x00" and head[:2] in (b"\x03\x00", b"\x00\x00"):
        # RES_XML_TYPE with an 8-byte header; Android's parser also accepts a zeroed type
        # (an anti-analysis trick seen in the wild), so sniff that as AXML too.
        return "axml"
    if head.startswith(b"\x02\x00\x0c\x00"):
        return "arsc"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if _looks_text(head):
        return "text"
    return "other"


def _looks_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    text = head.decode("utf-8", "ignore")
    if len(text.encode("utf-8")) < len(head) - 3:  # more than a cut multi-byte tail is invalid
        return False
    if not text:
        return False
    rest = text.translate(_TEXT_CONTROLS)  # tabs, line and page breaks count as printable
    if rest.isprintable():
        return True
    printable = len(text) - len(rest) + sum(map(str.isprintable, rest))
    return printable >= 0.95 * len(text)


_TEXT_CONTROLS = dict.fromkeys(map(ord, "\t\r\n\f"))
