"""Fuzzy hashes (TLSH) of an APK's parts, taken from bytes already in memory during the one read.

TLSH (Trend Micro Locality Sensitive Hash, ``py-tlsh``) summarises the distribution of
byte trigrams; two digests are compared by a distance (0 identical, under ~50 close, over
~150 unrelated). It costs about 7 ms per MiB, so entries over :data:`SAMPLE_THRESHOLD`
are hashed from :data:`WINDOWS` evenly spaced windows that together make
:data:`SAMPLE_BYTES`: the trigram distribution of evenly spaced samples estimates that of
the whole entry, and the cost per entry stays bounded (a 13-dex, 44 MB app hashes 4 MB,
about 35 ms). py-tlsh holds the GIL while it hashes; the C extension ``_tlshfast``
computes the same digests without it, on the extractor's helper threads (:class:`FuzzyHashes`
with a pool), so the main thread only cuts the samples. Without ``py-tlsh`` installed
nothing is hashed (the MinHash sketches of :mod:`apkscan.similarity` still work).
"""

from __future__ import annotations

import importlib
import re
from concurrent.futures import Executor, Future
from typing import Any

from apkscan.runtime import native_allowed

tlsh: Any
try:
    tlsh = importlib.import_module("tlsh")  # py-tlsh ships no type information
except ImportError:  # pragma: no cover - py-tlsh is a declared dependency
    tlsh = None
try:
    from apkscan.extract import _tlshfast as _native  # the same digests, without the GIL
except ImportError:  # pragma: no cover - the optional C extension was not built
    _native = None  # type: ignore[assignment]
if not native_allowed():
    _native = None  # type: ignore[assignment]

SAMPLE_THRESHOLD = 1 << 20
SAMPLE_BYTES = 256 << 10
WINDOWS = 16
WEB_SUFFIXES = (".js", ".html", ".htm", ".css", ".json", ".vue", ".nvue")
"""Text assets that make up a bundled web app (H5, uni-app, Cordova, React Native)."""


def available() -> bool:
    return tlsh is not None


def sample(data: bytes | memoryview) -> bytes:
    """The bytes TLSH is computed over: everything when small, else evenly spaced windows."""
    n = len(data)
    if n <= SAMPLE_THRESHOLD:
        return bytes(data)
    width = SAMPLE_BYTES // WINDOWS
    step = (n - width) // (WINDOWS - 1)
    return b"".join(bytes(data[i * step : i * step + width]) for i in range(WINDOWS))


def digest(data: bytes) -> str:
    """The TLSH digest (``T1`` + 70 hex digits) of all of ``data``, ``""`` when TLSH is not
    installed or the data is too short or too uniform to hash (under 50 bytes). By the C
    extension when it is built (without the GIL), else by py-tlsh: the same digest."""
    if tlsh is None or len(data) < 50:
        return ""
    if _native is not None:
        return str(_native.tlsh(data))
    out = str(tlsh.hash(data))
    return "" if out.startswith("TNULL") else out


def fuzzy_hash(data: bytes | memoryview) -> str:
    """The digest of ``data`` (of its :func:`sample` when large)."""
    if tlsh is None or len(data) < 50:
        return ""
    return digest(sample(data))


def distance(a: str, b: str) -> int:
    """TLSH distance of two digests (0 identical; 300 when either is missing)."""
    if tlsh is None or not a or not b:
        return 300
    try:
        return int(tlsh.diff(a, b))
    except ValueError:
        return 300


BINARY_SHARE = 0.01
"""Share of control characters above which a "web" asset is not text."""
_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f]")


def looks_like_text(text: str, probe: int = 4096) -> bool:
    """Whether the first ``probe`` characters are text: at most :data:`BINARY_SHARE` of
    them control characters other than whitespace (text in any ASCII-based encoding, GBK
    included, has next to none; random bytes have one in nine). A packed payload saved as
    ``.json`` is random bytes, and TLSH finds all random bytes alike (every byte trigram
    about equally frequent): it would make unrelated apps "similar"."""
    head = text[:probe]
    return bool(head) and len(_CONTROL.findall(head)) <= BINARY_SHARE * len(head)


def is_web_asset(name: str) -> bool:
    return name.startswith("assets/") and name.lower().endswith(WEB_SUFFIXES)


class FuzzyHashes:
    """Collects (component, digest) pairs while the extractor holds each part's bytes.

    With a ``pool`` (and the C extension) the digests are computed on its threads: the
    caller cuts the :func:`sample` (at most :data:`SAMPLE_THRESHOLD` bytes, so a queued
    job never holds a whole dex) and :meth:`result` takes the digests in the order the
    parts were added."""

    def __init__(self, enabled: bool = True, pool: Executor | None = None) -> None:
        """``enabled=False``: collect nothing (a scan with no use for similarity)."""
        self.enabled = enabled
        self._pool = pool if _native is not None else None
        self._jobs: list[tuple[str, Future[str] | str]] = []
        self._web: list[bytes] = []
        self._web_bytes = 0

    def add(self, component: str, data: bytes | memoryview) -> None:
        if not self.enabled or tlsh is None or len(data) < 50:
            return
        part = sample(data)
        job = self._pool.submit(digest, part) if self._pool is not None else digest(part)
        self._jobs.append((component, job))

    def add_web(self, name: str, text: str) -> None:
        """One web asset's text; all of them are hashed together by :meth:`result`.
        Only :data:`SAMPLE_BYTES` per asset are kept (a bundle is many files)."""
        if not self.enabled or self._web_bytes >= 4 * SAMPLE_THRESHOLD or not looks_like_text(text):
            return
        blob = text[: SAMPLE_BYTES].encode("utf-8", "replace")
        self._web.append(blob)
        self._web_bytes += len(blob)

    def result(self) -> tuple[tuple[str, str], ...]:
        if self._web:
            self.add("web", b"\n".join(self._web))
            self._web = []
        out = []
        for component, job in self._jobs:
            value = job if isinstance(job, str) else job.result()
            if value:
                out.append((component, value))
        return tuple(out)
