"""AndroidManifest.xml and resources.arsc: androguard's binary XML and resource parsers,
fed with bytes we read ourselves (androguard never sees the zip)."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

from androguard.core.axml import ARSCParser, AXMLPrinter

from apkscan.facts import (
    Component,
    DefinedPermission,
    IntentFilter,
    Manifest,
    Problem,
    Tamper,
    UsesPermission,
)

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


def check_axml_structure(data: bytes) -> list[Tamper]:
    """Structural tricks in binary XML that Android tolerates but analysers choke on."""
    out: list[Tamper] = []
    name = "AndroidManifest.xml"
    if len(data) < 8:
        return [Tamper("axml-truncated", name, f"only {len(data)} bytes")]
    ctype, hsize, size = struct.unpack_from("<HHI", data, 0)
    if ctype != 0x0003:
        out.append(Tamper("axml-header", name, f"first chunk type 0x{ctype:04x}, expected 0x0003"))
    if hsize != 8:
        out.append(Tamper("axml-header", name, f"header size {hsize}, expected 8"))
    if size != len(data):
        out.append(Tamper("axml-size", name, f"declared size {size}, file has {len(data)} bytes"))
    pos = hsize if 8 <= hsize < len(data) else 8
    steps = 0
    while pos + 8 <= len(data) and steps < 200_000:
        steps += 1
        ctype, hsize, csize = struct.unpack_from("<HHI", data, pos)
        if csize < 8 or pos + csize > len(data):
            out.append(Tamper("axml-chunk", name, f"chunk 0x{ctype:04x} at {pos} has size {csize}"))
            break
        if ctype == 0x0001 and csize >= 28:
            count, styles, flags, strings_start, styles_start = struct.unpack_from("<IIIII", data, pos + 8)
            if strings_start > csize or count * 4 > csize or (styles and styles_start > csize):
                out.append(
                    Tamper(
                        "axml-string-pool",
                        name,
                        f"string pool of {count} strings starting at {strings_start} "
                        f"does not fit its {csize}-byte chunk",
                    )
                )
            if flags & ~0x101:
                out.append(Tamper("axml-string-pool", name, f"unknown string pool flags 0x{flags:x}"))
        elif ctype in (0x0100, 0x0101) and hsize != 16:
            out.append(Tamper("axml-namespace", name, f"namespace chunk header size {hsize}"))
        elif ctype not in (0x0001, 0x0100, 0x0101, 0x0102, 0x0103, 0x0104, 0x0180):
            out.append(Tamper("axml-chunk", name, f"unknown chunk type 0x{ctype:04x} at {pos}"))
        pos += csize
    return out


def _resolve(value: str, arsc: ARSCParser | None) -> list[tuple[str, str]]:
    """Resolve ``@string/x`` or ``@7F0B0001`` into (locale, value) pairs."""
    if not value.startswith("@") or arsc is None:
        return [("", value)]
    try:
        res_id, package = ARSCParser.parse_id(value)
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
        res_id, _ = ARSCParser.parse_id(value)
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


def read_manifest(axml: bytes, arsc_bytes: bytes | None) -> ManifestResult:
    """Parse the manifest. Never raises: what cannot be read becomes a Problem."""
    problems: list[Problem] = []
    tampering = check_axml_structure(axml)
    arsc: ARSCParser | None = None
    strings: list[tuple[str, str, str]] = []
    if arsc_bytes:
        try:
            arsc = ARSCParser(arsc_bytes)
            strings = _resource_strings(arsc)
        except Exception as exc:
            arsc = None
            problems.append(Problem("resources.arsc", "arsc", f"cannot parse: {exc!r}"[:300]))
    try:
        printer = AXMLPrinter(axml)
        root = printer.get_xml_obj() if printer.is_valid() else None
        if printer.is_packed():
            tampering.append(Tamper("axml-packed", "AndroidManifest.xml", "XML looks packed"))
    except Exception as exc:
        root = None
        problems.append(Problem("AndroidManifest.xml", "axml", f"cannot parse: {exc!r}"[:300]))
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
        DefinedPermission(_attr(t, "name") or "", _attr(t, "protectionLevel") or "normal")
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
