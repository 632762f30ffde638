"""Immutable facts read once from an APK.

Everything downstream (SDK matching, rules, reports, batch storage) works on these
dataclasses only; nothing after extraction touches androguard, a zip file or the disk.
Every collection is a tuple so that facts are hashable, frozen and cheap to share
between threads. ``to_dict``/``from_dict`` in :mod:`apkscan.serial` turn them into JSON.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import overload


class Pairs(Sequence[tuple[int, int]]):
    """An immutable sequence of (int, int) pairs kept flat in one unsigned 32-bit array.

    A large app has hundreds of thousands of call edges; as tuples of ints they cost
    over 100 bytes each, here 8."""

    __slots__ = ("_flat",)

    def __init__(self, flat: array[int] | None = None) -> None:
        self._flat: array[int] = flat if flat is not None else array("I")

    @classmethod
    def of(cls, pairs: Iterable[Iterable[int]]) -> Pairs:
        return cls(array("I", chain.from_iterable(pairs)))

    def to_bytes(self) -> bytes:
        """The flat array as little-endian unsigned 32-bit integers (how the batch store
        keeps it: decoded in one call instead of as one JSON list per pair)."""
        flat = self._flat
        if flat.itemsize != 4 or sys.byteorder != "little":
            return b"".join(v.to_bytes(4, "little") for v in flat)
        return flat.tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> Pairs:
        """The inverse of :meth:`to_bytes`; ValueError unless ``data`` is whole pairs."""
        if len(data) % 8:
            raise ValueError(f"Pairs: {len(data)} bytes is not a whole number of 32-bit pairs")
        flat = array("I")
        if flat.itemsize != 4 or sys.byteorder != "little":
            return cls(array("I", (int.from_bytes(data[i : i + 4], "little") for i in range(0, len(data), 4))))
        flat.frombytes(data)
        return cls(flat)

    @property
    def flat(self) -> array[int]:
        """first0, second0, first1, second1, ... (do not modify)."""
        return self._flat

    def __len__(self) -> int:
        return len(self._flat) // 2

    @overload
    def __getitem__(self, i: int) -> tuple[int, int]: ...
    @overload
    def __getitem__(self, i: slice) -> Pairs: ...
    def __getitem__(self, i: int | slice) -> tuple[int, int] | Pairs:
        if isinstance(i, slice):
            return Pairs.of(list(self)[i])
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("Pairs index out of range")
        return self._flat[2 * i], self._flat[2 * i + 1]

    def __iter__(self) -> Iterator[tuple[int, int]]:
        it = iter(self._flat)
        return zip(it, it, strict=True)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Pairs):
            return self._flat == other._flat
        if isinstance(other, (tuple, list)):
            return tuple(self) == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._flat.tobytes())

    def __repr__(self) -> str:
        return f"Pairs({len(self)} pairs)"


@dataclass(frozen=True)
class Problem:
    """Something that could not be read; the scan goes on without it."""

    where: str
    """Entry name or phase (``classes2.dex``, ``manifest``, ``signature``)."""
    kind: str
    """Short machine-readable kind (``dex-parse``, ``axml``, ``zip``, ``limit``, ``memory``)."""
    message: str
    """One line for a person."""
    limit: str = ""
    """For ``limit`` problems: the :class:`~apkscan.limits.Limits` field that was hit
    (``max_total_bytes``, ``phase_seconds`` ...); the part named by ``where`` was not analysed."""


@dataclass(frozen=True)
class Tamper:
    """A structural trick found in the archive, AXML or dex (reported as a finding)."""

    kind: str
    """``zip-unknown-method``, ``zip-fake-encryption``, ``zip-header-mismatch``,
    ``zip-duplicate-entry``, ``zip-eocd-offset``, ``zip-extra-garbage``, ``zip-path-traversal``,
    ``zip-overlapping-entries``, ``axml-*``, ``dex-header``, ``disguised-payload`` ..."""
    entry: str
    """The entry concerned, or ``""`` for the archive as a whole."""
    detail: str
    """What exactly was seen."""


@dataclass(frozen=True)
class ZipEntry:
    """One entry of the central directory, as Android would read it."""

    name: str
    size: int
    """Uncompressed size from the central directory."""
    compressed_size: int
    method: int
    """Compression method as declared (0 stored, 8 deflate; other values are tampering)."""
    offset: int
    """Offset of the local header."""
    crc: int
    kind: str
    """Content type sniffed from the first bytes: dex, zip, elf, axml, arsc, png, jpeg,
    text, other, unreadable."""


@dataclass(frozen=True)
class NativeLib:
    abi: str
    name: str
    path: str
    size: int


@dataclass(frozen=True)
class NestedPayload:
    """An APK, JAR, ZIP or DEX found inside the archive (read recursively)."""

    path: str
    """``assets/plugin.apk`` or ``assets/a.zip!inner/classes.dex`` for deeper levels."""
    kind: str
    """``apk``, ``jar``, ``zip`` or ``dex``."""
    size: int
    depth: int


@dataclass(frozen=True)
class Archive:
    entries: tuple[ZipEntry, ...] = ()
    native_libs: tuple[NativeLib, ...] = ()
    assets: tuple[str, ...] = ()
    nested: tuple[NestedPayload, ...] = ()
    mismatched: tuple[tuple[str, str], ...] = ()
    """(entry name, sniffed kind) where content does not match the name (a dex named .so)."""
    tampering: tuple[Tamper, ...] = ()


@dataclass(frozen=True)
class UsesPermission:
    name: str
    max_sdk: int | None = None
    sdk23: bool = False
    """Declared with ``uses-permission-sdk-23``."""


@dataclass(frozen=True)
class DefinedPermission:
    name: str
    protection_level: str


@dataclass(frozen=True)
class IntentFilter:
    actions: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    schemes: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()
    priority: int = 0


@dataclass(frozen=True)
class Component:
    kind: str
    """``activity``, ``activity-alias``, ``service``, ``receiver`` or ``provider``."""
    name: str
    """Fully qualified class name (dots)."""
    exported: bool
    """As Android computes it: explicit attribute, else implied by intent filters
    (and, for providers, by targetSdk < 17)."""
    exported_explicit: bool | None
    permission: str | None
    """The permission guarding the component (``android:permission``; for providers
    the read/write permission when no general one is set)."""
    enabled: bool = True
    intent_filters: tuple[IntentFilter, ...] = ()
    authorities: tuple[str, ...] = ()


@dataclass(frozen=True)
class Manifest:
    package: str = ""
    version_code: str = ""
    version_name: str = ""
    min_sdk: int | None = None
    target_sdk: int | None = None
    max_sdk: int | None = None
    labels: tuple[tuple[str, str], ...] = ()
    """(locale, label) pairs; locale ``""`` is the default."""
    permissions: tuple[UsesPermission, ...] = ()
    defined_permissions: tuple[DefinedPermission, ...] = ()
    components: tuple[Component, ...] = ()
    app_flags: tuple[tuple[str, str], ...] = ()
    """Application attributes as read: debuggable, allowBackup, usesCleartextTraffic,
    networkSecurityConfig, testOnly, name (the Application class), ..."""
    meta_data: tuple[tuple[str, str], ...] = ()
    queries: tuple[str, ...] = ()
    """Packages and intent actions named in ``<queries>``."""
    launcher: str | None = None

    @property
    def effective_target_sdk(self) -> int:
        """The target SDK Android applies: the declared one, else minSdk, else 1 (as the
        reader computes the exported default, :func:`apkscan.extract.manifest`)."""
        return self.target_sdk or self.min_sdk or 1

    @property
    def label(self) -> str:
        for locale, value in self.labels:
            if locale == "":
                return value
        return self.labels[0][1] if self.labels else ""

    def flag(self, name: str) -> str | None:
        for key, value in self.app_flags:
            if key == name:
                return value
        return None

    @property
    def permission_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.permissions)


@dataclass(frozen=True)
class Certificate:
    subject: str
    issuer: str
    serial: str
    not_before: str
    not_after: str
    sha256: str
    """Upper-case hex, no separators."""
    sha1: str
    key_algorithm: str
    key_size: int | None
    debug: bool = False
    """Android debug certificate (``CN=Android Debug``)."""
    test_key: bool = False
    """One of the public AOSP test keys (testkey, platform, shared, media)."""


@dataclass(frozen=True)
class Signing:
    schemes: tuple[str, ...] = ()
    """Any of ``v1``, ``v2``, ``v3``, ``v3.1``, ``v4`` present."""
    certificates: tuple[Certificate, ...] = ()


@dataclass(frozen=True)
class Dex:
    """One dex file; all names in smali form."""

    path: str
    """Archive path (``classes2.dex``, ``assets/a.zip!b.dex``)."""
    classes: tuple[str, ...] = ()
    """Defined classes: ``Lcom/foo/Bar;``."""
    methods: tuple[str, ...] = ()
    """Every method id of the dex (``method_ids`` table): ``Lpkg/Cls;->name(args)ret``."""
    fields: tuple[str, ...] = ()
    """Every field id: ``Lpkg/Cls;->name:Type``."""
    strings: tuple[str, ...] = ()
    """Every string of the string table."""
    calls: Pairs = field(default_factory=Pairs)
    """Call edges as (caller index, callee index) into :attr:`methods`, deduplicated."""
    const_strings: Pairs = field(default_factory=Pairs)
    """(method index, string index) for ``const-string`` uses: which method loads which
    string, so evidence can name the method holding a URL or a keyword."""
    field_reads: Pairs = field(default_factory=Pairs)
    """(method index, field index) for object-field reads: every static one
    (``sget-object``), and the instance ones (``iget-object``) of the platform's classes
    (:data:`FRAMEWORK_CLASSES`); primitive reads are not recorded.
    Which method reads ``ContactsContract...CONTENT_URI``, ``Build.SERIAL`` or
    ``ScanResult.BSSID``, so evidence from a field names its method as evidence from a
    call does."""


@dataclass(frozen=True)
class Strings:
    """Text found in the app, with where it came from."""

    resources: tuple[tuple[str, str, str], ...] = ()
    """(locale, name, value) of string resources."""
    assets: tuple[tuple[str, str], ...] = ()
    """(entry path, text) of text assets (js, html, json, xml, txt ...), size-limited."""
    urls: tuple[tuple[str, str], ...] = ()
    """(url, source) where source is an entry path (``classes.dex``, ``resources.arsc``,
    ``assets/www/index.html``)."""
    domains: tuple[str, ...] = ()
    ips: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()


@dataclass(frozen=True)
class YaraHit:
    """A YARA rule that matched an entry (YARA runs during extraction, where bytes are)."""

    rule: str
    """The YARA rule identifier."""
    entry: str
    """Archive path of the scanned entry (``assets/a.zip!classes.dex`` when nested)."""
    target: str
    """``dex``, ``native``, ``assets``, ``resources`` or ``nested``."""
    strings: tuple[tuple[str, int, str], ...]
    """(string identifier, offset, matched text, shortened) for the first matches."""


@dataclass(frozen=True)
class Fingerprint:
    """Similarity fingerprints of one APK (see docs/families.md and :mod:`apkscan.similarity`).

    The fuzzy hashes are taken from the bytes during extraction; the MinHash sketches of
    the app's own code are filled in by the engine, which knows which classes belong to
    catalogued SDKs."""

    fuzzy: tuple[tuple[str, str], ...] = ()
    """(component, TLSH digest): ``manifest``, ``resources``, ``web`` (the bundled H5 /
    uni-app / Cordova text assets together) and ``dex:<path>`` for each dex. Entries
    over 1 MiB are hashed from 16 evenly spaced windows (see :mod:`.extract.fingerprint`)."""
    code: tuple[int, ...] = ()
    """MinHash of the shapes of the app's own methods (the framework APIs each one calls,
    names of the app's classes and methods ignored: survives renaming and obfuscation)."""
    code_features: int = 0
    api: tuple[int, ...] = ()
    """MinHash of the framework APIs the app's own code calls."""
    api_features: int = 0
    text: tuple[int, ...] = ()
    """MinHash of the string constants the app's own methods load."""
    text_features: int = 0
    files: tuple[int, ...] = ()
    """MinHash of the content (CRC-32) of the app's assets, native libraries and own resources."""
    files_features: int = 0
    shape: tuple[int, ...] = ()
    """MinHash of the manifest's shape with the app's names left out: requested permissions,
    and per component its kind, exported flag and intent-filter actions, categories and schemes."""
    shape_features: int = 0


FRAMEWORK_CLASSES = ("Landroid/", "Ljava/", "Ljavax/", "Lcom/android/", "Lorg/apache/http/")
"""The platform's classes (smali form): reads of their instance object fields
(``ScanResult.BSSID``, ``ApplicationInfo.packageName``) are recorded with the reading
method, as every static object-field read is; reads of the app's own instance fields
(most of its code) are not (:attr:`Dex.field_reads`)."""


FACTS_READER = 3
"""What the extraction records, as a number that grows when it records more (2: static
field reads per method; 3: reads of the platform's instance object fields too). Facts
stored by an older reader lack those parts, so a batch store reads such an APK again
rather than judge it on less than a fresh scan would see."""


@dataclass(frozen=True)
class ApkFacts:
    """Everything apkscan knows about one APK."""

    file_name: str
    size: int
    sha256: str
    manifest: Manifest = field(default_factory=Manifest)
    signing: Signing = field(default_factory=Signing)
    archive: Archive = field(default_factory=Archive)
    dex: tuple[Dex, ...] = ()
    strings: Strings = field(default_factory=Strings)
    yara: tuple[YaraHit, ...] = ()
    yara_digest: str = ""
    """Digest of the rule set whose YARA rules produced :attr:`yara`."""
    icon_png: bytes | None = None
    """The launcher icon if it is a PNG/WebP/JPEG image (for the HTML report)."""
    problems: tuple[Problem, ...] = ()
    fingerprint: Fingerprint = field(default_factory=Fingerprint)
    """Similarity fingerprints (families and the known-sample library)."""
