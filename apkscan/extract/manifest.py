"""AndroidManifest.xml and resources.arsc: androguard's binary XML and resource parsers,
fed with bytes we read ourselves (androguard never sees the zip). A well-formed manifest
is read by :mod:`apkscan.extract.binxml` into the tree androguard would give, and
androguard (with lxml and loguru) is imported only for what that reader leaves to it:
resources.arsc, odd or hostile binary XML, and ``--debug``."""

from __future__ import annotations

import contextlib
import io
import re
import struct
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from apkscan.extract import binxml
from apkscan.facts import (
    Component,
    DefinedPermission,
    IntentFilter,
    Manifest,
    Problem,
    Tamper,
    UsesPermission,
)

if TYPE_CHECKING:
    from androguard.core.axml import ARSCParser


def _androguard() -> Any:
    """androguard's AXML module (``androguard.core.axml``), imported on first use: with
    lxml and loguru it costs ~0.06 s, which a scan whose manifest :mod:`binxml` reads and
    that has no resources.arsc does not pay. Its loguru logger is disabled on import
    unless :data:`ANDROGUARD_LOG` (``--debug``) is set."""
    loaded = sys.modules.get("androguard.core.axml")
    if loaded is not None:
        return loaded
    from apkscan.extract import _androguard_public

    _androguard_public.preload()  # before androguard's AXML module imports its slow one
    from loguru import logger

    if not ANDROGUARD_LOG:
        logger.disable("androguard")
    import androguard.core.axml

    return androguard.core.axml

NS = "{http://schemas.android.com/apk/res/android}"
COMPONENT_TAGS = ("activity", "activity-alias", "service", "receiver", "provider")
APP_FLAGS = (
    "debuggable",
    "allowBackup",
    "usesCleartextTraffic",
    "networkSecurityConfig",
    "testOnly",
    "name",
    "extractNativeLibs",
    "requestLegacyExternalStorage",
    "fullBackupContent",
    "dataExtractionRules",
    "hasFragileUserData",
    "sharedUserId",
)


@dataclass
class ManifestResult:
    manifest: Manifest
    resource_strings: list[tuple[str, str, str]] = field(default_factory=list)
    icon_refs: list[str] = field(default_factory=list)
    """Candidate archive paths of the launcher icon, best first."""
    tampering: list[Tamper] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value, 0) if value.lower().startswith("0x") else int(value)
    except ValueError:
        return None


PROTECTION_BASE = ("normal", "dangerous", "signature", "signatureOrSystem")
PROTECTION_FLAGS = (
    (0x10, "privileged"),
    (0x20, "development"),
    (0x40, "appop"),
    (0x80, "pre23"),
    (0x100, "installer"),
    (0x200, "verifier"),
    (0x400, "preinstalled"),
    (0x800, "setup"),
    (0x1000, "instant"),
    (0x2000, "runtime"),
    (0x4000, "oem"),
    (0x8000, "vendorPrivileged"),
)


def protection_name(value: str | None) -> str:
    """``0x00000012`` (as binary XML stores it) -> ``signature|privileged``."""
    if not value:
        return "normal"
    try:
        level = int(value, 0)
    except ValueError:
        return value  # already a name (or garbage, kept as written)
    names = [PROTECTION_BASE[level & 0xF] if (level & 0xF) < len(PROTECTION_BASE) else hex(level & 0xF)]
    names += [name for bit, name in PROTECTION_FLAGS if level & bit]
    return "|".join(names)


def _local(tag: Any) -> str:
    """Element name without namespace: Android's parser ignores element namespaces, so
    ``<android:uses-permission>`` counts as ``<uses-permission>``."""
    t = tag.tag if isinstance(tag.tag, str) else ""
    return t.rsplit("}", 1)[-1]


def _iter(node: Any, *names: str) -> list[Any]:
    return [el for el in node.iter() if _local(el) in names]


def _find(node: Any, name: str) -> Any:
    return next((el for el in node if _local(el) == name), None)


def _attr(tag: Any, name: str) -> str | None:
    value = tag.get(NS + name)
    if value is None:
        value = tag.get(name)
    return None if value is None else str(value)


_NO_INDEX = 0xFFFFFFFF
_MAX_CHECKED = 100_000
"""String offsets and attributes checked per manifest (the rest are not looked at)."""


def check_axml_structure(data: bytes) -> list[Tamper]:
    """Structural tricks in binary XML that Android tolerates but analysers choke on.

    Chunk headers and sizes, the string pool (header size, offsets outside the pool,
    unknown flags), namespace chunks and attribute records whose string indexes point
    outside the pool, and element records with non-standard attribute layout. Reads at
    most :data:`_MAX_CHECKED` offsets and attributes; never raises."""
    out: list[Tamper] = []
    name = "AndroidManifest.xml"
    n = len(data)
    if n < 8:
        return [Tamper("axml-truncated", name, f"only {n} bytes")]
    ctype, hsize, size = struct.unpack_from("<HHI", data, 0)
    if ctype != 0x0003:
        out.append(Tamper("axml-header", name, f"first chunk type 0x{ctype:04x}, expected 0x0003"))
    if hsize != 8:
        out.append(Tamper("axml-header", name, f"header size {hsize}, expected 8"))
    if size != n:
        out.append(Tamper("axml-size", name, f"declared size {size}, file has {n} bytes"))
    pos = hsize if 8 <= hsize < n else 8
    steps = 0
    n_strings = -1  # unknown until the (first) string pool is read
    checked = 0
    seen: set[tuple[str, str]] = set()

    def note(kind: str, detail: str, key: str = "") -> None:
        # one note per kind and key, so a crafted file cannot flood the report
        if (kind, key or detail) not in seen and len(out) < 50:
            seen.add((kind, key or detail))
            out.append(Tamper(kind, name, detail))

    def bad_index(idx: int) -> bool:
        return idx != _NO_INDEX and n_strings >= 0 and idx >= n_strings

    depth = max_depth = 0
    while pos + 8 <= n and steps < 200_000:
        steps += 1
        ctype, hsize, csize = struct.unpack_from("<HHI", data, pos)
        if csize < 8 or pos + csize > n:
            note("axml-chunk", f"chunk 0x{ctype:04x} at {pos} has size {csize}")
            break
        if ctype == 0x0102:
            depth += 1
            max_depth = max(max_depth, depth)
        elif ctype == 0x0103:
            depth -= 1
        if hsize < 8 or hsize > csize:
            note("axml-chunk", f"chunk 0x{ctype:04x} at {pos}: header size {hsize} outside its {csize} bytes")
        if ctype == 0x0001 and csize >= 28:
            count, styles, flags, strings_start, styles_start = struct.unpack_from("<IIIII", data, pos + 8)
            if n_strings < 0:
                n_strings = count
            if hsize != 28:
                note("axml-string-pool", f"string pool header size {hsize}, expected 28", "hsize")
            if strings_start > csize or hsize + count * 4 > csize or (styles and styles_start > csize):
                note(
                    "axml-string-pool",
                    f"string pool of {count} strings starting at {strings_start} does not fit its {csize}-byte chunk",
                    "fit",
                )
            elif count:
                k = min(count, _MAX_CHECKED - checked, (csize - hsize) // 4)
                checked += max(k, 0)
                offs = struct.unpack_from(f"<{max(k, 0)}I", data, pos + hsize) if k > 0 else ()
                room = csize - strings_start
                outside = sum(1 for o in offs if o >= room)
                if outside:
                    note("axml-string-pool", f"{outside} string offsets point outside the string data", "offsets")
            if flags & ~0x101:
                note("axml-string-pool", f"unknown string pool flags 0x{flags:x}", "flags")
        elif ctype in (0x0100, 0x0101):
            if hsize != 16:
                note("axml-namespace", f"namespace chunk header size {hsize}")
            if csize >= 24:
                prefix, uri = struct.unpack_from("<II", data, pos + 16)
                if bad_index(prefix) or bad_index(uri) or uri == _NO_INDEX:
                    note(
                        "axml-namespace",
                        f"namespace chunk at {pos}: prefix/uri string {prefix:#x}/{uri:#x} "
                        f"outside the {n_strings}-string pool",
                        "ns-index",
                    )
        elif ctype == 0x0102 and csize >= 36:
            ns, el_name, a_start, a_size, a_count = struct.unpack_from("<IIHHH", data, pos + 16)
            if bad_index(ns) or bad_index(el_name) or el_name == _NO_INDEX:
                note("axml-string-pool", f"element at {pos} names string {el_name:#x} outside the pool", "el-name")
            if a_start != 20 or a_size != 20:
                note("axml-chunk", f"element at {pos}: attribute start/size {a_start}/{a_size}, expected 20/20", "attr")
            if a_size >= 20 and checked < _MAX_CHECKED:
                first = pos + 16 + a_start
                fits = max(0, (pos + csize - first) // a_size)
                if a_count > fits:
                    note("axml-chunk", f"element at {pos}: {a_count} attributes, room for {fits}", "attr-count")
                for i in range(min(a_count, fits, _MAX_CHECKED - checked)):
                    a_ns, a_name = struct.unpack_from("<II", data, first + i * a_size)
                    if bad_index(a_ns):
                        note("axml-namespace", f"attribute namespace string {a_ns:#x} outside the pool", "attr-ns")
                    if bad_index(a_name) or a_name == _NO_INDEX:
                        note("axml-string-pool", f"attribute name string {a_name:#x} outside the pool", "attr-name")
                checked += a_count
        elif ctype not in (0x0001, 0x0100, 0x0101, 0x0102, 0x0103, 0x0104, 0x0180):
            note("axml-chunk", f"unknown chunk type 0x{ctype:04x} at {pos}")
        pos += csize
    if max_depth > MAX_ELEMENT_DEPTH:
        note(
            "axml-nesting",
            f"elements nested {max_depth} deep (real manifests: under 10); Android skips unknown "
            f"tags, analysers slow down quadratically. Elements below depth {MAX_ELEMENT_DEPTH} are not read",
        )
    return out


MAX_ELEMENT_DEPTH = 64
"""Elements nested deeper than this are dropped before androguard parses the manifest:
its parser is quadratic in the depth (50,000 levels in a 19 KB APK took 98 s), and no
element Android reads from a manifest is deeper than 6."""


def prune_deep_elements(data: bytes, max_depth: int = MAX_ELEMENT_DEPTH) -> bytes:
    """A copy of the binary XML without the element, end-element and text chunks that
    sit deeper than ``max_depth`` (the file size field is updated)."""
    n = len(data)
    pos = struct.unpack_from("<H", data, 2)[0] if n >= 8 else 8
    pos = pos if 8 <= pos < n else 8
    out = bytearray(data[:pos])
    depth = 0
    while pos + 8 <= n:
        ctype, _, csize = struct.unpack_from("<HHI", data, pos)
        if csize < 8 or pos + csize > n:
            out += data[pos:]
            break
        keep = True
        if ctype == 0x0102:
            depth += 1
            keep = depth <= max_depth
        elif ctype == 0x0103:
            keep = depth <= max_depth
            depth -= 1
        elif ctype == 0x0104:
            keep = depth <= max_depth
        if keep:
            out += data[pos : pos + csize]
        pos += csize
    if len(out) >= 8:
        struct.pack_into("<I", out, 4, len(out))
    return bytes(out)


_BAD_RES_NAME = re.compile(r"[/\\\x00-\x1f]|^\.\.?$")


def check_arsc_names(arsc: ARSCParser) -> list[Tamper]:
    """Resource entry names that are paths (``../../poc``): aapt never writes them, Android
    looks resources up by id and ignores them, decompilers (apktool CVE-2024-21633,
    GHSA-2hqv-2xv4-5h5w) write files by them."""
    out: list[Tamper] = []
    for pkg, parts in list(arsc.packages.items())[:16]:
        for block in parts:
            if not hasattr(block, "getString") or not hasattr(block, "stringCount"):
                continue
            bad: list[str] = []
            for i in range(min(int(block.stringCount), _MAX_CHECKED)):
                try:
                    text = block.getString(i)
                except Exception:
                    continue
                if isinstance(text, str) and _BAD_RES_NAME.search(text):
                    bad.append(text)
            if bad:
                shown = ", ".join(repr(b[:60]) for b in bad[:3])
                out.append(
                    Tamper(
                        "arsc-resource-name",
                        "resources.arsc",
                        f"package {str(pkg)[:80]!r}: {len(bad)} resource or type names are paths ({shown})",
                    )
                )
                break
    return out


def _resolve(value: str, arsc: ARSCParser | None) -> list[tuple[str, str]]:
    """Resolve ``@string/x`` or ``@7F0B0001`` into (locale, value) pairs."""
    if not value.startswith("@") or arsc is None:
        return [("", value)]
    try:
        res_id, package = _androguard().ARSCParser.parse_id(value)
        if res_id is None or (package and package == "android"):
            return [("", value)]
        pairs = arsc.get_resolved_res_configs(res_id)
    except Exception:  # androguard raises many kinds on odd tables
        return [("", value)]
    out: list[tuple[str, str]] = []
    for config, resolved in pairs:
        try:
            locale = config.get_language_and_region()
        except Exception:
            locale = ""
        locale = "" if locale in ("\x00\x00", "") else locale
        if isinstance(resolved, str) and (locale, resolved) not in out:
            out.append((locale, resolved))
    out.sort(key=lambda p: (p[0] != "", p[0]))
    return out or [("", value)]


def _resource_strings(arsc: ARSCParser) -> list[tuple[str, str, str]]:
    out: list[tuple[str, str, str]] = []
    for pkg in arsc.get_packages_names():
        for locale in arsc.get_locales(pkg):
            for item in arsc.values.get(pkg, {}).get(locale, {}).get("string", []):
                name, value = item[0], item[1]
                if isinstance(value, str) and value:
                    loc = "" if locale in ("\x00\x00", "") else str(locale)
                    out.append((loc, str(name), value))
    return out


def _icon_paths(value: str | None, arsc: ARSCParser | None) -> list[str]:
    """Archive paths the icon resource resolves to, highest density first."""
    if not value or arsc is None or not value.startswith("@"):
        return []
    try:
        res_id, _ = _androguard().ARSCParser.parse_id(value)
        if res_id is None:
            return []
        pairs = arsc.get_resolved_res_configs(res_id)
    except Exception:
        return []
    paths: list[tuple[int, str]] = []
    for config, path in pairs:
        if isinstance(path, str) and path.startswith("res/"):
            try:
                density = int(config.get_density())
            except Exception:
                density = 0
            if path.endswith(".xml"):
                density = -1  # adaptive icon: use only if nothing else
            paths.append((density, path))
    return [p for _, p in sorted(paths, key=lambda x: -x[0])]


def _parse_axml(axml: bytes) -> tuple[Any, bool, Exception | None]:
    """(root element or None, looks packed, androguard's exception): from
    :func:`apkscan.extract.binxml.parse` when it reads the file, else from androguard
    (always under ``--debug``, whose log shows androguard's)."""
    if not ANDROGUARD_LOG:
        fast = binxml.parse(axml)
        if fast is not None:
            return fast[0], fast[1], None
    try:
        with _quiet():
            printer = _androguard().AXMLPrinter(axml)
            root = printer.get_xml_obj() if printer.is_valid() else None
            return root, bool(printer.is_packed()), None
    except Exception as exc:
        return None, False, exc


ANDROGUARD_LOG = False
"""Whether androguard's binary XML parser may log through loguru (``--debug`` sets it).
When not, its logger is swapped for a no-op while apkscan parses: androguard makes ~20,000
debug calls on a large manifest, 0.02 s even with its loguru log disabled."""


class _NoLog:
    """Takes any loguru-style call and does nothing."""

    def _skip(self, *args: object, **kwargs: object) -> None:
        return None

    trace = debug = info = success = warning = error = critical = exception = log = _skip


_NO_LOG = _NoLog()


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """androguard ``print``s some parse warnings (with counts read from the file) to
    stdout; a library call must not print, and a CLI's stdout may carry a report."""
    # Set, not restored, so that parses in several threads cannot leave it wrong.
    axml = _androguard()
    if ANDROGUARD_LOG:
        from loguru import logger

        axml.logger = logger
        logger.enable("androguard")  # disabled when androguard was imported
    else:
        axml.logger = _NO_LOG
    with contextlib.redirect_stdout(io.StringIO()):
        yield


def repair_string_pool(data: bytes) -> bytes | None:
    """A copy of the binary XML whose first string pool has the standard 28-byte header
    and no string offset outside the string data (those point to an added empty string,
    which is what Android's parser yields for them). None when there is nothing to fix
    or the pool is too broken to lay out again."""
    if len(data) < 16:
        return None
    pos = struct.unpack_from("<H", data, 2)[0]
    pos = pos if 8 <= pos < len(data) else 8
    if pos + 36 > len(data):
        return None
    ctype, hsize, csize = struct.unpack_from("<HHI", data, pos)
    count, styles, flags, strings_start, _styles_start = struct.unpack_from("<IIIII", data, pos + 8)
    end = pos + csize
    if ctype != 0x0001 or hsize < 28 or csize < hsize or end > len(data) or styles:
        return None
    if count > (csize - hsize) // 4 or not hsize <= strings_start <= csize:
        return None
    offsets = list(struct.unpack_from(f"<{count}I", data, pos + hsize))
    string_data = bytearray(data[pos + strings_start : end])
    room = len(string_data)
    bad = [i for i, o in enumerate(offsets) if o + (2 if flags & 0x100 else 4) > room]
    if hsize == 28 and not bad:
        return None
    if bad:
        while len(string_data) % 4:
            string_data += b"\x00"
        empty_at = len(string_data)
        string_data += b"\x00\x00\x00\x00"  # an empty string in either encoding
        for i in bad:
            offsets[i] = empty_at
    new_start = 28 + 4 * count
    pool = struct.pack("<HHI", 0x0001, 28, new_start + len(string_data))
    pool += struct.pack("<IIIII", count, 0, flags, new_start, 0)
    pool += struct.pack(f"<{count}I", *offsets) + bytes(string_data)
    out = bytearray(data[:pos] + pool + data[end:])
    struct.pack_into("<I", out, 4, len(out))
    return bytes(out)


def read_manifest(axml: bytes, arsc_bytes: bytes | None) -> ManifestResult:
    """Parse the manifest. Never raises: what cannot be read becomes a Problem."""
    # androguard's resource table is read (and asked about labels and icons) only when
    # there is one; the binary XML parse quiets androguard itself where it needs it.
    with _quiet() if arsc_bytes else contextlib.nullcontext():
        return _read_manifest(axml, arsc_bytes)


def _read_manifest(axml: bytes, arsc_bytes: bytes | None) -> ManifestResult:
    problems: list[Problem] = []
    tampering = check_axml_structure(axml)
    arsc: ARSCParser | None = None
    strings: list[tuple[str, str, str]] = []
    if arsc_bytes:
        try:
            with _quiet():
                arsc = _androguard().ARSCParser(arsc_bytes)
                strings = _resource_strings(arsc)
            tampering += check_arsc_names(arsc)
        except Exception as exc:
            arsc = None
            problems.append(Problem("resources.arsc", "arsc", f"cannot parse: {exc!r}"[:300]))
    if any(t.kind == "axml-nesting" for t in tampering):
        axml = prune_deep_elements(axml)
    root, packed, error = _parse_axml(axml)
    if (root is None or _local(root) != "manifest") and any(t.kind == "axml-string-pool" for t in tampering):
        # androguard assumes a 28-byte string pool header and offsets inside the pool;
        # Android does not. Read a copy with the pool laid out the standard way.
        repaired = repair_string_pool(axml)
        if repaired is not None:
            root2, packed2, _ = _parse_axml(repaired)
            if root2 is not None and _local(root2) == "manifest":
                root, packed, error = root2, packed2, None
                note = "read after normalising a tampered string pool"
                problems.append(Problem("AndroidManifest.xml", "axml-normalised", note))
    if packed:
        tampering.append(Tamper("axml-packed", "AndroidManifest.xml", "XML looks packed"))
    if error is not None:
        problems.append(Problem("AndroidManifest.xml", "axml", f"cannot parse: {error!r}"[:300]))
    if root is None or _local(root) != "manifest":
        if not any(p.where == "AndroidManifest.xml" for p in problems):
            problems.append(Problem("AndroidManifest.xml", "axml", "not a valid binary manifest"))
        return ManifestResult(Manifest(), strings, [], tampering, problems)

    package = _attr(root, "package") or ""

    def fmt(name: str | None) -> str:
        if not name:
            return ""
        if package:
            if name.startswith("."):
                return package + name
            if "." not in name:
                return package + "." + name
        return name

    uses_sdk = _find(root, "uses-sdk")
    min_sdk = _int(_attr(uses_sdk, "minSdkVersion")) if uses_sdk is not None else None
    target_sdk = _int(_attr(uses_sdk, "targetSdkVersion")) if uses_sdk is not None else None
    max_sdk = _int(_attr(uses_sdk, "maxSdkVersion")) if uses_sdk is not None else None
    effective_target = target_sdk or min_sdk or 1

    perms: list[UsesPermission] = []
    namespaced = [el for el in root.iter() if isinstance(el.tag, str) and el.tag.startswith("{")]
    if namespaced:
        tampering.append(
            Tamper(
                "axml-namespace",
                "AndroidManifest.xml",
                f"element <{namespaced[0].tag}> carries a namespace; Android ignores it",
            )
        )
    for tag_name in ("uses-permission", "uses-permission-sdk-23", "uses-permission-sdk-m"):
        for tag in _iter(root, tag_name):
            name = _attr(tag, "name")
            if name:
                perms.append(UsesPermission(name, _int(_attr(tag, "maxSdkVersion")), tag_name != "uses-permission"))
    defined = [
        DefinedPermission(_attr(t, "name") or "", protection_name(_attr(t, "protectionLevel")))
        for t in _iter(root, "permission")
        if _attr(t, "name")
    ]

    app = _find(root, "application")
    flags: list[tuple[str, str]] = []
    meta: list[tuple[str, str]] = []
    components: list[Component] = []
    launcher: str | None = None
    labels: list[tuple[str, str]] = []
    icon_value: str | None = None
    if app is not None:
        for flag in APP_FLAGS:
            value = _attr(app, flag)
            if value is not None:
                flags.append((flag, fmt(value) if flag == "name" else value))
        label = _attr(app, "label")
        if label:
            labels = _resolve(label, arsc)
        icon_value = _attr(app, "icon") or _attr(app, "roundIcon")
        for tag in _iter(app, "meta-data"):
            name = _attr(tag, "name")
            if name:
                meta.append((name, _attr(tag, "value") or _attr(tag, "resource") or ""))
        for kind in COMPONENT_TAGS:
            for tag in _iter(app, kind):
                comp = _component(kind, tag, fmt, effective_target)
                components.append(comp)
                if (
                    launcher is None
                    and kind in ("activity", "activity-alias")
                    and any(
                        "android.intent.action.MAIN" in f.actions and "android.intent.category.LAUNCHER" in f.categories
                        for f in comp.intent_filters
                    )
                ):
                    launcher = comp.name
                    if not labels:
                        own = _attr(tag, "label")
                        if own:
                            labels = _resolve(own, arsc)
    queries: list[str] = []
    for q in _iter(root, "queries"):
        for child in q:
            if _local(child) == "package" and _attr(child, "name"):
                queries.append(_attr(child, "name") or "")
            elif _local(child) == "intent":
                for action in _iter(child, "action"):
                    if _attr(action, "name"):
                        queries.append(_attr(action, "name") or "")
            elif _local(child) == "provider" and _attr(child, "authorities"):
                queries.append(_attr(child, "authorities") or "")

    manifest = Manifest(
        package=package,
        version_code=_attr(root, "versionCode") or "",
        version_name=_attr(root, "versionName") or "",
        min_sdk=min_sdk,
        target_sdk=target_sdk,
        max_sdk=max_sdk,
        labels=tuple(labels),
        permissions=tuple(perms),
        defined_permissions=tuple(defined),
        components=tuple(components),
        app_flags=tuple(flags),
        meta_data=tuple(meta),
        queries=tuple(queries),
        launcher=launcher,
    )
    return ManifestResult(manifest, strings, _icon_paths(icon_value, arsc), tampering, problems)


def _component(kind: str, tag: Any, fmt: Any, target_sdk: int) -> Component:
    filters: list[IntentFilter] = []
    for f in _iter(tag, "intent-filter"):
        schemes: list[str] = []
        hosts: list[str] = []
        for d in _iter(f, "data"):
            if _attr(d, "scheme"):
                schemes.append(_attr(d, "scheme") or "")
            if _attr(d, "host"):
                hosts.append(_attr(d, "host") or "")
        filters.append(
            IntentFilter(
                actions=tuple(_attr(a, "name") or "" for a in _iter(f, "action")),
                categories=tuple(_attr(c, "name") or "" for c in _iter(f, "category")),
                schemes=tuple(schemes),
                hosts=tuple(hosts),
                priority=_int(_attr(f, "priority")) or 0,
            )
        )
    explicit = _attr(tag, "exported")
    exported_explicit = None if explicit is None else explicit.lower() == "true"
    if exported_explicit is not None:
        exported = exported_explicit
    elif kind == "provider":
        # Before API 17 providers were exported by default.
        exported = target_sdk < 17
    else:
        exported = bool(filters)
    permission = _attr(tag, "permission")
    if kind == "provider" and not permission:
        permission = _attr(tag, "readPermission") or _attr(tag, "writePermission")
    name = _attr(tag, "targetActivity") if kind == "activity-alias" else None
    authorities = tuple(a for a in (_attr(tag, "authorities") or "").split(";") if a)
    return Component(
        kind=kind,
        name=fmt(_attr(tag, "name")) or fmt(name),
        exported=exported,
        exported_explicit=exported_explicit,
        permission=permission,
        enabled=(_attr(tag, "enabled") or "true").lower() != "false",
        intent_filters=tuple(filters),
        authorities=authorities,
    )
