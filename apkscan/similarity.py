"""Similarity of apps: MinHash sketches of the app's own code, comparison, and an LSH index.

See docs/families.md. These sketches are made from the facts (no second read of the APK):

``code``
    one feature per method of the app's own classes (classes of catalogued SDKs and of
    the Android/Java platform are left out): the set of framework APIs (``Landroid/``,
    ``Ljava/`` ...) the method calls. Names of the app's packages, classes and methods
    play no part, so a kit rebuilt under a new package, or renamed by an obfuscator,
    keeps its sketch.
``text``
    the string constants the app's own methods load.
``files``
    the CRC-32 of every asset, native library and resource that is not a known library
    resource (the central directory's CRC: nothing is inflated for it).
``api`` and ``shape``
    the framework APIs the app's own code calls; the manifest without the app's names
    (permissions, and per component its kind, exported flag and intent filters).
``keys``
    the names of the app's string resources (kept in ``Fingerprint.fuzzy``, see :data:`KEYS`).

Each is a one-permutation MinHash of :data:`K` slots (empty slots filled from the next
non-empty one, "densification"), so the share of equal slots estimates the Jaccard
similarity of the feature sets. The fuzzy hashes (TLSH) of the manifest, resources, each
dex and the web bundle come from :mod:`apkscan.extract.fingerprint`.

:class:`LshIndex` bands the sketches (:data:`BANDS` bands of :data:`ROWS` slots): two apps
become candidates when one band of one sketch is equal, which happens with probability
``1 - (1 - J**ROWS)**BANDS`` (0.64 at J = 0.5, 0.99 from J = 0.7, under 0.07 below
J = 0.25); only candidates are scored, so a look-up costs about the same for 1,000 or
100,000 apps. :func:`score` combines the components (docs/families.md: what a match means).
"""

from __future__ import annotations

import bisect
import heapq
import operator
import sys
import zlib
from array import array
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from apkscan.extract.fingerprint import distance
from apkscan.facts import ApkFacts, Fingerprint
from apkscan.model import SdkHit
from apkscan.runtime import native_allowed
from apkscan.sdk import UNIDENTIFIED_PREFIX, SdkMatcher

K = 64
BANDS = 16
ROWS = 4
MASK = (1 << 64) - 1
_LITTLE_ENDIAN = sys.byteorder == "little"
MIN_FEATURES = 20
"""A sketch of fewer features than this is not compared (a handful of trivial methods)."""

PLATFORM = frozenset((
    "Landroid/", "Ljava/", "Ljavax/", "Ldalvik/", "Lorg/json/", "Lorg/w3c/", "Lorg/xml/",
    "Lorg/apache/http/", "Lkotlin/",
))
"""Classes whose calls make the shape of a method (never renamed by an obfuscator)."""
LIBRARY_CLASSES = (
    "androidx/", "android/", "kotlin/", "kotlinx/", "java/", "javax/", "dalvik/",
    "com/android/tools/",  # Android Studio build tooling in debug builds (Instant Run server)
)
LIBRARY_RESOURCES = (
    "abc_", "mtrl_", "design_", "material_", "m3_", "notification_", "common_google_", "googleg_",
    "btn_checkbox_", "btn_radio_", "test_", "tooltip_", "select_dialog_", "support_", "exo_",
)
"""Resource file names of AndroidX, Material and Play services (same bytes in every app)."""
LIBRARY_STRINGS = (
    "abc_", "mtrl_", "material_", "m3_", "design_", "exo_", "common_", "status_bar_notification_info_",
    "search_menu_title", "appbar_scrolling_view_behavior", "bottom_sheet_behavior", "character_counter_",
    "password_toggle_", "path_password_", "fab_transformation_", "hide_bottom_view_on_scroll_behavior",
    "fingerprint_", "accessibility_fingerprint_", "clear_text_end_icon_", "error_icon_content_description",
    "exposed_dropdown_menu_", "icon_content_description", "item_view_role_description", "chip_text",
    "default_web_client_id", "firebase_", "gcm_", "google_", "ga_trackingId", "project_id", "fcm_",
    "com_facebook_", "androidx_", "preference_", "v7_preference_", "expand_button_title",
    "summary_collapsed_preference_list", "app_name",
)
"""String resource names that AndroidX, Material, Play services, Firebase and Facebook
define in every app that uses them (and ``app_name``, which every app has)."""


def _mix(x: int) -> int:
    """splitmix64's finaliser: spreads any 64-bit value over all bits."""
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9 & MASK
    x = (x ^ (x >> 27)) * 0x94D049BB133111EB & MASK
    return x ^ (x >> 31)


def _text_hash(text: str) -> int:
    data = text.encode("utf-8", "surrogatepass")
    return _mix(zlib.crc32(data) << 32 | zlib.adler32(data))


def minhash(features: Iterable[int]) -> tuple[int, ...]:
    """One-permutation MinHash of well-mixed 64-bit feature hashes; ``()`` for no features."""
    if _native is not None:
        return tuple(_native.minhash(features, K))
    return _minhash_py(features)


def _minhash_py(features: Iterable[int]) -> tuple[int, ...]:
    slots: list[int] = [MASK] * K
    seen = False
    for h in features:
        slot = h % K
        if h < slots[slot]:
            slots[slot] = h
        seen = True
    if not seen:
        return ()
    # densification: an empty slot takes the next filled one's value, re-mixed by distance
    filled = [i for i in range(K) if slots[i] != MASK]
    if not filled:  # every feature was 2**64 - 1, the empty slot's own value
        return tuple(slots)
    out = list(slots)
    for i in range(K):
        if slots[i] == MASK:
            j = next((f for f in filled if f > i), filled[0])
            out[i] = _mix(slots[j] ^ ((j - i) % K))
    return tuple(out)


def jaccard(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    if not a or not b:
        return 0.0
    if len(a) != len(b):
        raise ValueError("sketches of different sizes")
    equal: int = sum(map(operator.eq, a, b))
    return equal / K


def _excluded_prefixes(
    facts: ApkFacts, matcher: SdkMatcher | None, hits: Sequence[SdkHit] | None = None
) -> frozenset[str]:
    """Smali prefixes of code that is not the app's own: the platform libraries and the
    catalogued SDKs found in this app (unidentified trees stay: a kit's own code is
    often one). With the SDK hits of :meth:`SdkMatcher.detect` their ``classes PREFIX.*``
    entries are used; else every package of the app is looked up."""
    out = {"L" + p for p in LIBRARY_CLASSES}
    if hits is not None:
        for hit in hits:
            if hit.id.startswith(UNIDENTIFIED_PREFIX):
                continue
            class_names: dict[str, int] = defaultdict(int)
            for what in hit.matched:
                if what.startswith("classes ") and ".* (" in what:
                    dotted = what[len("classes ") : what.index(".* (")]
                    base = "L" + dotted.replace(".", "/")
                    out.update((base + "/", base + ";", base + "$"))
                    package, _, name = dotted.rpartition(".")
                    if package and name[:1].isupper():
                        class_names[package] += 1
            # a catalogue entry that names classes (okhttp3.Request, okio.Buffer) owns
            # their package once two of them are found there: its other classes
            # (okio.Sink, okhttp3.Cookie$Builder ...) are the SDK's too
            out.update("L" + p.replace(".", "/") + "/" for p, n in class_names.items() if n >= 2)
    elif matcher is not None:
        packages = {c[1:].rpartition("/")[0] for dex in facts.dex for c in dex.classes}
        for pkg in packages:
            if not pkg:
                continue
            sid, prefix = matcher.match(pkg.replace("/", "."))
            if sid and prefix:
                base = "L" + prefix.replace(".", "/")
                out.update((base + "/", base + ";", base + "$"))
    return frozenset(out)


def _method_flags_py(
    methods: tuple[str, ...], exclude: frozenset[str], platform: frozenset[str]
) -> tuple[bytes, list[int]]:
    flags = bytearray(len(methods))
    api: list[int] = []
    ex, pl = tuple(exclude), tuple(platform)
    for i, m in enumerate(methods):
        if m.startswith(pl):
            flags[i] = 2
            api.append(i)
        elif not m.startswith(ex):
            flags[i] = 1
    return bytes(flags), api


def _shape_sums_py(calls: array[int], flags: bytes, api_hash: array[int]) -> tuple[list[int], list[int]]:
    n = len(flags)
    sums: dict[int, int] = {}
    called: set[int] = set()
    for k in range(0, len(calls) - 1, 2):
        caller, callee = calls[k], calls[k + 1]
        if caller >= n or callee >= n or flags[caller] != 1:
            continue
        h = api_hash[callee]
        if h:
            sums[caller] = (sums.get(caller, 0) + h) & MASK
            called.add(callee)
    return [_mix(sums[i]) for i in sorted(sums)], sorted(called)


_native: Any
try:
    from apkscan import _simfast as _native
except ImportError:  # pragma: no cover - the extension is optional
    _native = None
NATIVE_PASSES = ("method_flags", "shape_sums", "str_hashes", "api_hashes", "own_strings", "minhash", "file_keys")
"""What this module calls in ``_simfast``. An editable install updated without a rebuild
keeps an older extension that lacks some: then the Python passes run (same results)."""
if not native_allowed() or not all(hasattr(_native, name) for name in NATIVE_PASSES):
    _native = None  # APKSCAN_PURE_PYTHON (read as the other C extensions read it), or a stale build


def _api_hashes_py(methods: tuple[str, ...], api: list[int], cache: dict[str, int]) -> bytes:
    hashes = array("Q", bytes(8 * len(methods)))
    names = [methods[i] for i in api]
    new = [m for m in dict.fromkeys(names) if m not in cache]
    cache.update(zip(new, _str_hashes_py(new), strict=True))
    for i, m in zip(api, names, strict=True):
        hashes[i] = cache[m]
    return hashes.tobytes()


def _own_strings_py(loads: array[int], flags: bytes, strings: tuple[str, ...], out: set[str]) -> None:
    n, ns = len(flags), len(strings)
    out.update(strings[loads[k + 1]] for k in range(0, len(loads) - 1, 2)
               if loads[k] < n and flags[loads[k]] == 1 and loads[k + 1] < ns)


def _crc_hash(text: str) -> int:
    """A cheap 64-bit hash of a string: CRC-32 spread by a Fibonacci multiplier (never 0)."""
    return (zlib.crc32(text.encode("utf-8", "surrogatepass")) * 0x9E3779B97F4A7C15 & MASK) or 1


def _str_hashes_py(texts: Iterable[str]) -> list[int]:
    return [_crc_hash(t) for t in texts]


def core_prefixes(facts: ApkFacts, exclude: frozenset[str]) -> frozenset[str]:
    """The app's *core*: the packages its manifest's components live in (the first two
    levels of each component's package, ``Lcom/km/``), unless the component is a
    catalogued SDK's or a platform library's. Android starts code only through the
    components it declares, so an app's own code (and a kit carried inside a larger app)
    sits under them; the uncatalogued libraries an app bundles mostly do not."""
    ex = tuple(exclude)
    out: set[str] = set()
    package = facts.manifest.package
    for c in facts.manifest.components:
        name = package + c.name if c.name.startswith(".") else c.name
        cls = "L" + name.replace(".", "/") + ";"
        parts = name.split(".")[:-1]
        if not parts or cls.startswith(ex):
            continue
        root = "L" + "/".join(parts[:2]) + "/"
        if not root.startswith(ex) and not root.startswith(tuple(PLATFORM)):
            out.add(root)
    return frozenset(out)


_OWN = bytes(1 if i == 1 else 0 for i in range(256))


def _core_flags(methods: tuple[str, ...], flags: bytes, cores: frozenset[str]) -> bytes:
    """Flags 1 for the app's own methods (``flags`` 1) under a core prefix, else 0.

    A dex's method ids are sorted by class, and classes by descriptor (the format
    requires both), so the methods under a prefix are one run of the table, found by
    bisection: no second pass over the methods (an unsorted table, which the platform's
    verifier refuses, gives a partial core)."""
    out = bytearray(len(flags))
    for prefix in cores:
        lo = bisect.bisect_left(methods, prefix)
        hi = bisect.bisect_left(methods, prefix[:-1] + chr(ord(prefix[-1]) + 1), lo)
        out[lo:hi] = flags[lo:hi].translate(_OWN)
    return bytes(out)


def code_features(
    facts: ApkFacts, matcher: SdkMatcher | None = None, hits: Sequence[SdkHit] | None = None,
    core: list[int] | None = None,
) -> tuple[list[int], list[int], list[int]]:
    """(method-shape hashes, framework-API hashes, string-constant hashes) of the app's own
    code. With a ``core`` list, the method shapes and string-constant hashes (salted) of
    the :func:`core_prefixes` part of the own code are appended to it."""
    exclude = _excluded_prefixes(facts, matcher, hits)
    cores = core_prefixes(facts, exclude) if core is not None else frozenset()
    core_texts: set[str] = set()
    flags_of = _native.method_flags if _native is not None else _method_flags_py
    sums_of = _native.shape_sums if _native is not None else _shape_sums_py
    strings_of = _native.own_strings if _native is not None else _own_strings_py
    api_hashes_of = _native.api_hashes if _native is not None else _api_hashes_py
    hashes_of = _native.str_hashes if _native is not None else _str_hashes_py
    shapes: set[int] = set()
    apis: set[int] = set()
    texts: set[str] = set()
    api_hash_of: dict[str, int] = {}
    for dex in facts.dex:
        methods = dex.methods
        flags, api = flags_of(methods, exclude, PLATFORM)
        hashes = array("Q")
        hashes.frombytes(api_hashes_of(methods, api, api_hash_of))
        dex_shapes, called = sums_of(dex.calls.flat, flags, hashes)
        shapes.update(dex_shapes)
        apis.update(map(hashes.__getitem__, called))  # C-level passes: tens of thousands each
        strings_of(dex.const_strings.flat, flags, dex.strings, texts)
        if cores and core is not None:
            in_core = _core_flags(methods, flags, cores)
            if in_core.count(1):
                core.extend(sums_of(dex.calls.flat, in_core, hashes)[0])
                strings_of(dex.const_strings.flat, in_core, dex.strings, core_texts)
    if core is not None:
        core.extend(_mix(h ^ _TEXT_SALT) for h in hashes_of(core_texts))
    return list(shapes), list(apis), hashes_of(texts)


_TEXT_SALT = 0x5A17C0DE5A17C0DE
"""Keeps a string's hash apart from a method shape's in the ``core`` sketch."""


def shape_features(facts: ApkFacts) -> list[int]:
    """The manifest without the app's own names (obfuscators and kits rename those)."""
    m = facts.manifest
    out: set[str] = {"perm:" + p for p in m.permission_names}
    for c in m.components:
        base = f"{c.kind}:{int(c.exported)}"
        if not c.intent_filters:
            out.add(base)
        for f in c.intent_filters:
            out.add(f"{base}:{','.join(sorted(f.actions))}:{','.join(sorted(f.categories))}:{','.join(sorted(f.schemes))}")
    return [_crc_hash(x) for x in out]


_NOT_FILES = frozenset(("dex", "axml", "arsc"))


def file_features(facts: ApkFacts) -> list[int]:
    if _native is not None:
        return list(_native.file_keys(facts.archive.entries, _NOT_FILES, LIBRARY_RESOURCES))
    return _file_features_py(facts)


def _file_features_py(facts: ApkFacts) -> list[int]:
    out: set[int] = set()
    for e in facts.archive.entries:
        name = e.name
        if not name.startswith(("assets/", "lib/", "res/")) or e.size == 0 or e.kind in _NOT_FILES:
            continue  # binary XML and dex change with every build's resource ids
        if name[0] == "r" and name[name.rfind("/") + 1 :].startswith(LIBRARY_RESOURCES):
            continue
        out.add(e.crc << 32 | (e.size & 0xFFFFFFFF))
    return [_mix(v) for v in out]


def key_features(facts: ApkFacts) -> list[int]:
    """The names of the app's string resources (``R.string.NAME``; library ones left out).
    Code obfuscators rename classes, methods and packages, encrypt string constants and
    insert junk code; none of them touch resource names, and a kit rebranded for a new
    operator changes the strings' values (name, servers), not the names its layouts use."""
    names = {name for _, name, _ in facts.strings.resources if not name.startswith(LIBRARY_STRINGS)}
    hashes_of = _native.str_hashes if _native is not None else _str_hashes_py
    return [_mix(h) for h in hashes_of(names)]


KEYS = "keys"
"""The resource-name sketch is carried in :attr:`Fingerprint.fuzzy` as ``("keys",
"MH<features>:<64 slots x 8 hex digits>")`` (each slot folded to 32 bits), so that
fingerprints stored before it existed still load and compare (without it)."""


def pack_sketch(sketch: tuple[int, ...], features: int) -> str:
    """The text form of a sketch; each slot is folded to 32 bits (two equal 32-bit values
    from different features: about 1 in 4 billion), and folding a folded slot keeps it."""
    return f"MH{features}:" + "".join(f"{(v ^ v >> 32) & 0xFFFFFFFF:08x}" for v in sketch)


def unpack_sketch(text: str) -> tuple[tuple[int, ...], int]:
    """``(sketch, features)`` of :func:`pack_sketch`'s text; ``((), 0)`` when it is not one.
    (Done for every comparison, so in C: ``bytes.fromhex`` into a 32-bit array.)"""
    return _unpack_hex(text, "MH", lambda n: n == 8 * K)


def _unpack_hex(text: str, tag: str, length_ok: Callable[[int], bool]) -> tuple[tuple[int, ...], int]:
    """``(32-bit values, features)`` of ``<tag><features>:<8 hex digits per value>``;
    ``((), 0)`` when ``text`` is not that or its hex part's length is refused."""
    head, _, body = text.partition(":")
    if not head.startswith(tag) or not length_ok(len(body)):
        return (), 0
    try:
        slots = array("I", bytes.fromhex(body))
        features = int(head[len(tag):])
    except ValueError:
        return (), 0
    if _LITTLE_ENDIAN:
        slots.byteswap()  # the hex digits are big-endian
    return tuple(slots), features


CORE = "core"
"""The bottom-k sketch of the app's core code (:func:`core_prefixes`: method shapes and
string constants), carried in :attr:`Fingerprint.fuzzy` like :data:`KEYS` as ``("core",
"BK<features>:<up to 256 x 8 hex digits>")``: the :data:`CORE_K` smallest 32-bit folded
feature hashes, ascending. Unlike a MinHash it estimates *containment* (how much of one
app's core is in another's, :func:`containment`), which the known-sample look-up asks."""
CORE_K = 256
MIN_CORE = 100
"""A core of fewer features than this is not looked for inside other apps (a small set
is found inside many: generic helpers, a template's few methods)."""
MIN_SHARED_RANGE = 32
"""Containment needs this many of the sample's hashes in the range both sketches cover."""
CORE_INDEXED = 16
"""An indexed app is found by a look-up through this many of its smallest core hashes."""


def pack_bottom(features: Iterable[int]) -> str:
    """The text form of a bottom-k sketch: features folded to 32 bits, the :data:`CORE_K`
    smallest distinct values ascending, after ``BK<number of distinct values>:``."""
    folded = {(v ^ v >> 32) & 0xFFFFFFFF for v in features}
    return f"BK{len(folded)}:" + "".join(f"{v:08x}" for v in heapq.nsmallest(CORE_K, folded))


def unpack_bottom(text: str) -> tuple[tuple[int, ...], int]:
    """``(ascending values, distinct features)`` of :func:`pack_bottom`'s text; ``((), 0)``
    when it is not one."""
    return _unpack_hex(text, "BK", lambda n: n % 8 == 0 and n <= 8 * CORE_K)


def core_sketch(fp: Fingerprint) -> tuple[tuple[int, ...], int]:
    """:func:`unpack_bottom` of ``fp``'s core sketch; ``((), 0)`` when it has none."""
    text = next((t for comp, t in fp.fuzzy if comp == CORE), "")
    return unpack_bottom(text) if text else ((), 0)


def containment(sample: Fingerprint, app: Fingerprint) -> float | None:
    """How much of ``sample``'s core code ``app``'s core holds (0..1), or None when it
    cannot be told: either has no ``core`` sketch (stored before it existed, or no code
    under its components), the sample's core has fewer than :data:`MIN_CORE` features,
    or the hash range both sketches cover holds fewer than :data:`MIN_SHARED_RANGE` of
    the sample's values (a small kit inside a very large app).

    Both sketches hold every feature hash up to their largest kept value (all of them
    when the set is smaller than :data:`CORE_K`), so below the smaller of the two limits
    the share of the sample's hashes found in the app's is an unbiased estimate of the
    share of the sample's features the app has."""
    sa, sb = core_sketch(sample), core_sketch(app)
    if not sa[0] or sa[1] < MIN_CORE or not sb[0]:
        return None
    (a, na), (b, nb) = sa, sb
    limit = min(a[-1] if na > len(a) else 0xFFFFFFFF, b[-1] if nb > len(b) else 0xFFFFFFFF)
    mine = [v for v in a if v <= limit]
    if len(mine) < MIN_SHARED_RANGE:
        return None
    theirs = set(b)
    return sum(1 for v in mine if v in theirs) / len(mine)


def fingerprint(
    facts: ApkFacts, matcher: SdkMatcher | None = None, hits: Sequence[SdkHit] | None = None
) -> Fingerprint:
    """The facts' fingerprint with the MinHash sketches filled in (fuzzy hashes kept).
    ``matcher`` (after :meth:`~SdkMatcher.detect`) or its ``hits`` say which code is a
    catalogued SDK's."""
    core: list[int] = []
    shapes, apis, texts = code_features(facts, matcher, hits, core)
    files = file_features(facts)
    shape = shape_features(facts)
    keys = key_features(facts)
    fuzzy = tuple(x for x in facts.fingerprint.fuzzy if x[0] not in (KEYS, CORE))
    if keys:
        fuzzy += ((KEYS, pack_sketch(minhash(keys), len(keys))),)
    if core:
        fuzzy += ((CORE, pack_bottom(core)),)
    return replace(
        facts.fingerprint,
        fuzzy=fuzzy,
        code=minhash(shapes),
        code_features=len(shapes),
        api=minhash(apis),
        api_features=len(apis),
        text=minhash(texts),
        text_features=len(texts),
        files=minhash(files),
        files_features=len(files),
        shape=minhash(shape),
        shape_features=len(shape),
    )


def with_fingerprint(
    facts: ApkFacts, matcher: SdkMatcher | None = None, hits: Sequence[SdkHit] | None = None
) -> ApkFacts:
    return replace(facts, fingerprint=fingerprint(facts, matcher, hits))


# --- comparing two fingerprints ---------------------------------------------------------

SKETCHES = ("code", "api", "text", "files", "shape")
_SKETCH_NUMBER = {name: i for i, name in enumerate((*SKETCHES, KEYS))}
FUZZY = ("manifest", "resources", "web", "dex")
TLSH_SCALE = 150
"""A TLSH distance ``d`` counts as similarity ``1 - d / TLSH_SCALE``: 0 from 150 on, where
TLSH calls two files unrelated (1 - d / 200 gave two unrelated files 0.25)."""
THRESHOLD = 0.5
"""Two apps are the same family when :func:`score` reaches this (measured: docs/families.md)."""
MIN_COMPONENTS = 3
"""A score needs at least this many components both apps have."""
RESISTANT = ("keys", "shape", "resources")
"""The components that code obfuscation leaves alone: the names of the string resources,
the manifest's shape and the resource table. Renaming, string encryption, junk code and
packing rewrite the dex (``code``, ``api``, ``text``, ``dex``) and the manifest's names
(``manifest``); a kit rebuilt for a new brand swaps its files and web bundle."""
MIN_RESISTANT = 2
"""The resistant components count on their own only when the two apps share this many."""


def _fuzzy(fp: Fingerprint) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for comp, digest in fp.fuzzy:
        out["dex" if comp.startswith("dex:") else comp].append(digest)
    return out


def _key_slots(texts: list[str] | None) -> array[int] | None:
    """The 32-bit slots of a packed resource-name sketch with enough features, for
    comparing (equality only: no byte-order fix), else None."""
    if not texts:
        return None
    head, _, body = texts[0].partition(":")
    if not head.startswith("MH") or len(body) != 8 * K:
        return None
    try:
        return array("I", bytes.fromhex(body)) if int(head[2:]) >= MIN_FEATURES else None
    except ValueError:
        return None


def sketches(fp: Fingerprint) -> Iterator[tuple[str, tuple[int, ...]]]:
    """(name, sketch) of every MinHash sketch of ``fp`` that is compared (enough features)."""
    for name in SKETCHES:
        sketch: tuple[int, ...] = getattr(fp, name)
        if sketch and getattr(fp, name + "_features") >= MIN_FEATURES:
            yield name, sketch
    for comp, text in fp.fuzzy:
        if comp == KEYS:
            sketch, n = unpack_sketch(text)
            if sketch and n >= MIN_FEATURES:
                yield KEYS, sketch


def components(a: Fingerprint, b: Fingerprint) -> dict[str, float]:
    """Similarity per component present in both (0..1): the sketches' Jaccard estimates and
    ``1 - TLSH distance / 150`` of the fuzzy hashes (for the dex files: each dex of either
    app against its closest in the other, averaged, so that the score does not depend on
    which app comes first)."""
    out: dict[str, float] = {}
    for name in SKETCHES:
        sa, sb = getattr(a, name), getattr(b, name)
        if sa and sb and min(getattr(a, name + "_features"), getattr(b, name + "_features")) >= MIN_FEATURES:
            out[name] = jaccard(sa, sb)
    fa, fb = _fuzzy(a), _fuzzy(b)
    ka, kb = _key_slots(fa.get(KEYS)), _key_slots(fb.get(KEYS))
    if ka is not None and kb is not None:
        out[KEYS] = sum(map(operator.eq, ka, kb)) / K
    for name in FUZZY:
        da, db = fa.get(name), fb.get(name)
        if not da or not db:
            continue
        best = [min(distance(x, y) for y in db) for x in da[:16]]
        if len(da) > 1 or len(db) > 1:
            best += [min(distance(y, x) for x in da) for y in db[:16]]
        d = sum(best) / len(best)
        out[name] = max(0.0, 1.0 - d / TLSH_SCALE)
    return {k: round(v, 3) for k, v in out.items()}


def score(comps: dict[str, float]) -> float:
    """One number for a pair, the larger of two means (0 when the apps share fewer than
    :data:`MIN_COMPONENTS` components):

    * every component both apps have (sketches and fuzzy hashes alike): how much of the
      two apps is the same;
    * the :data:`RESISTANT` components, when they share at least :data:`MIN_RESISTANT`:
      how much of what obfuscation leaves alone is the same. Differently obfuscated or
      packed builds of one kit differ in all their code and agree here, so disagreeing
      code is no evidence against them; agreeing code still counts in the first mean.

    A single component is never enough (unrelated apps share one generic part: the
    AppCompat resource table of a template app, a common permission set)."""
    if len(comps) < MIN_COMPONENTS:
        return 0.0
    best = sum(comps.values()) / len(comps)
    resistant = [comps[k] for k in RESISTANT if k in comps]
    if len(resistant) >= MIN_RESISTANT:
        best = max(best, sum(resistant) / len(resistant))
    return round(best, 3)


def similarity(a: Fingerprint, b: Fingerprint) -> tuple[float, dict[str, float]]:
    comps = components(a, b)
    return score(comps), comps


CONTAINS = "contains"
"""The component name of :func:`containment` in a known-sample look-up's components."""

PACKAGE = "package"
"""The component a known-sample look-up adds (1.0) when the app declares the sample's
package name (:func:`same_app`), whatever its score."""
SIGNER = "signer"
"""The component a known-sample look-up adds (1.0) when the app carries one of the
sample's signing certificates (neither a debug certificate nor a public test key: the
caller leaves those out), whatever its score. Only the key's holder signs with it, so
the two come from one developer or operator; a build that a packer or a rewrite moved
far from the sample keeps its key unless it is re-signed."""

PLACEHOLDER_PACKAGES = ("com.example.", "com.mycompany.", "com.company.", "org.example.", "com.test.", "com.demo.")
"""Prefixes of the package names IDEs and tutorials give by default: unrelated apps share them."""
PLACEHOLDER_NAMES = frozenset(
    ("io.cordova.hellocordova", "com.example", "com.test", "com.demo", "com.app", "com.myapp", "com.company")
)


def app_package(name: str) -> bool:
    """Whether a package name can name one app: it has a dot and is not a placeholder
    that unrelated apps share (:data:`PLACEHOLDER_PACKAGES`, :data:`PLACEHOLDER_NAMES`)."""
    return "." in name and name not in PLACEHOLDER_NAMES and not name.startswith(PLACEHOLDER_PACKAGES)


def same_app(a: str, b: str) -> bool:
    """Whether two package names name one app: equal, and not a placeholder
    (:func:`app_package`). A package name is unique in a store, so an app that declares a
    known sample's is another build of it, or an app that took its name (as an
    impersonating app takes a bank's): either way the reviewer should know."""
    return a == b and app_package(a)


def lookup(app: Fingerprint, sample: Fingerprint) -> tuple[float, dict[str, float]]:
    """The known-sample look-up's score: does ``app`` resemble the known ``sample``, or
    hold its core code? The larger of :func:`score` and :func:`containment` (as the
    component ``contains``, when it can be told). Directional, unlike :func:`similarity`:
    a kit carried inside a larger app (beside hundreds of other classes) has a low
    Jaccard similarity to the kit alone but is contained in the app."""
    comps = components(app, sample)
    best = score(comps)
    held = containment(sample, app)
    if held is not None:
        comps[CONTAINS] = round(held, 3)
        best = max(best, round(held, 3))
    return best, comps


# --- the index ------------------------------------------------------------------------


_EMPTY: Any = object()
FUZZY_BANDED = ("manifest", "resources", "web")
FUZZY_BAND = 6
"""The TLSH digests of these parts are banded too (10 bands of 6 hex digits, 24 bits of
bucket quartiles each), so that apps with no usable sketch (small apps, heavy
obfuscation) still find their near neighbours; a random collision is about 1 in 16 million."""


class LshIndex:
    """Banded LSH over the MinHash sketches: ``add`` keys, ``candidates`` of a fingerprint.

    Buckets are one dict from an int band key to the app's key (a list only where several
    apps share the band): about ``4 * BANDS`` dict entries per app, ~0.5 GB per 100,000."""

    def __init__(self) -> None:
        self.buckets: dict[int, Any] = {}
        """Band key -> the key of the one app in that bucket, or a list when several are."""
        self.items: dict[Any, Fingerprint] = {}
        self.links: dict[tuple[str, str], set[Any]] = {}
        """(:data:`PACKAGE` or :data:`SIGNER`, value) -> the keys of the apps added with
        that package name or signing certificate (see :meth:`query`)."""
        self._links_of: dict[Any, tuple[tuple[str, str], ...]] = {}

    def __len__(self) -> int:
        return len(self.items)

    @staticmethod
    def keys_of(fp: Fingerprint) -> Iterator[int]:
        """One int per (sketch, band): the hash of the sketch number, band number and the
        band's slot values. Only ints are hashed (a TLSH band as the int of its hex
        digits), and ints and tuples of them hash the same in every process, so the keys
        can be stored (:data:`KEY_SCHEME`, the known-sample library's ``bands``)."""
        for name, sketch in sketches(fp):
            s = _SKETCH_NUMBER[name]
            for band in range(BANDS):
                yield hash((s, band, *sketch[band * ROWS : (band + 1) * ROWS]))
        for comp, digest in fp.fuzzy:
            if comp in FUZZY_BANDED and len(digest) >= 8 + FUZZY_BAND:
                body = digest[8:]  # "T1", the 3-byte header, then 32 bytes of bucket quartiles
                number = _FUZZY_NUMBER[comp]
                for band in range(0, len(body) - FUZZY_BAND + 1, FUZZY_BAND):
                    try:
                        value = int(body[band : band + FUZZY_BAND], 16)
                    except ValueError:  # not a digest this version wrote
                        continue
                    yield hash((number, band, value))

    @staticmethod
    def core_keys(fp: Fingerprint, n: int = CORE_K) -> Iterator[int]:
        """One int per value of the first ``n`` of the core sketch (a core of at least
        :data:`MIN_CORE` features): an app is indexed under its :data:`CORE_INDEXED`
        smallest, and looks up all of its own, so that an app holding a sample's core
        finds it (each of the sample's smallest hashes the app has is a hit)."""
        values, features = core_sketch(fp)
        if features >= MIN_CORE:
            for v in values[:n]:
                yield hash((_CORE_NUMBER, v))

    @classmethod
    def indexed_keys(cls, fp: Fingerprint) -> set[int]:
        """The keys an app is indexed under (its bands and its smallest core hashes)."""
        return {*cls.keys_of(fp), *cls.core_keys(fp, CORE_INDEXED)}

    @classmethod
    def looked_up_keys(cls, fp: Fingerprint, contained: bool = False) -> set[int]:
        """The keys a look-up asks for: its bands, and with ``contained`` its whole core."""
        return {*cls.keys_of(fp), *cls.core_keys(fp)} if contained else set(cls.keys_of(fp))

    def add(self, key: Any, fp: Fingerprint, package: str = "", signers: Iterable[str] = ()) -> None:
        """Index ``fp`` under ``key``; ``package`` and ``signers`` (SHA-256 of the signing
        certificates, debug and public test keys left out) are what :meth:`query` links
        by. A key added again replaces its earlier entry."""
        self.remove(key)
        self.items[key] = fp
        links = link_keys(package, signers)
        for link in links:
            self.links.setdefault(link, set()).add(key)
        if links:
            self._links_of[key] = links
        buckets = self.buckets
        for k in self.indexed_keys(fp):
            held = buckets.get(k, _EMPTY)
            if held is _EMPTY:
                buckets[k] = key
            elif type(held) is list:
                held.append(key)
            else:
                buckets[k] = [held, key]

    def remove(self, key: Any) -> None:
        fp = self.items.pop(key, None)
        if fp is None:
            return
        for link in self._links_of.pop(key, ()):
            keys = self.links.get(link)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self.links[link]
        for k in self.indexed_keys(fp):
            held = self.buckets.get(k, _EMPTY)
            if type(held) is list:
                if key in held:
                    held.remove(key)
            elif held == key:
                del self.buckets[k]

    def candidates(self, fp: Fingerprint, contained: bool = False) -> set[Any]:
        """The indexed apps that share a band with ``fp``; with ``contained``, also those
        whose core shares a hash with ``fp``'s (for :func:`lookup`)."""
        out: set[Any] = set()
        buckets = self.buckets
        for k in self.looked_up_keys(fp, contained):
            held = buckets.get(k, _EMPTY)
            if held is _EMPTY:
                continue
            if type(held) is list:
                out.update(held)
            else:
                out.add(held)
        return out

    def query(
        self, fp: Fingerprint, threshold: float = THRESHOLD, contained: bool = False, package: str = "",
        signers: Iterable[str] = (),
    ) -> list[tuple[Any, float, dict[str, float]]]:
        """(key, score, components) of the indexed apps at or above ``threshold``, best
        first: by :func:`similarity`, or with ``contained`` by :func:`lookup` (the
        known-sample look-up: ``fp`` resembles the indexed app or holds its core).

        ``package``: the app's package name; ``signers``: its signing certificates (debug
        and public test keys left out). Indexed apps added with the same package name
        (:func:`same_app`) or one of the same certificates are returned too, at their own
        score even below ``threshold``, with the component :data:`PACKAGE` or
        :data:`SIGNER`: a build that moved far from the sample (a rewrite, a new
        obfuscator) still declares its name and is still signed with its key."""
        linked: dict[Any, set[str]] = {}
        for link in link_keys(package, signers):
            for key in self.links.get(link, ()):
                linked.setdefault(key, set()).add(link[0])
        keys = self.candidates(fp, contained) | linked.keys()
        return rank(fp, {k: self.items[k] for k in keys}, linked, threshold, contained)


def link_keys(package: str, signers: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """What an app is linked by, besides similarity: ``(PACKAGE, name)`` for a package name
    that can name one app (:func:`app_package`), ``(SIGNER, sha256)`` per certificate."""
    out = [(PACKAGE, package)] if app_package(package) else []
    out += [(SIGNER, x) for x in signers if x]
    return tuple(dict.fromkeys(out))


def rank(
    fp: Fingerprint, found: dict[Any, Fingerprint], linked: dict[Any, set[str]],
    threshold: float = THRESHOLD, contained: bool = False,
) -> list[tuple[Any, float, dict[str, float]]]:
    """The look-up's answer over its candidates ``found``: (key, score, components) of
    those at or above ``threshold`` (:func:`similarity`, or :func:`lookup` with
    ``contained``) and of every ``linked`` one at its own score, with the component of
    each link (:data:`PACKAGE`, :data:`SIGNER`) at 1.0; best first."""
    measure = lookup if contained else similarity
    out = []
    for key, other in found.items():
        s, comps = measure(fp, other)
        links = linked.get(key, ())
        if s < threshold and not links:
            continue
        for kind in (PACKAGE, SIGNER):
            if kind in links:
                comps[kind] = 1.0
        out.append((key, s, comps))
    return sorted(out, key=lambda h: (-h[1], str(h[0])))


KEY_VERSION = 1
"""Bumped when :meth:`LshIndex.keys_of` or :meth:`LshIndex.core_keys` change."""
KEY_SCHEME = f"{KEY_VERSION}:{BANDS}x{ROWS}:{FUZZY_BAND}:{CORE_INDEXED}:{hash((1, 2, 3))}"
"""Keys stored under another scheme (another version, banding, or Python's int-tuple hash)
are computed again (:class:`apkscan.known.KnownLibrary`)."""
_FUZZY_NUMBER = {name: 16 + i for i, name in enumerate(FUZZY_BANDED)}
_CORE_NUMBER = 32
"""Numbers of the TLSH parts and the core in the band keys (the sketches are 0 to 5)."""


@dataclass(frozen=True)
class Pair:
    a: Any
    b: Any
    score: float
    components: dict[str, float]


def similar_pairs(items: dict[Any, Fingerprint], threshold: float = THRESHOLD) -> list[Pair]:
    """Every pair of ``items`` at or above ``threshold``, found through the LSH index
    (each candidate pair scored once)."""
    index = LshIndex()
    pairs: list[Pair] = []
    for key, fp in items.items():
        for other in index.candidates(fp):
            s, comps = similarity(fp, index.items[other])
            if s >= threshold:
                pairs.append(Pair(other, key, s, comps))
        index.add(key, fp)
    return pairs
