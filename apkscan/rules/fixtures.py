"""Facts written in a short YAML form (rule test cases), turned into real :class:`ApkFacts`.

See docs/rules.md ("Test cases") for the keys. Rule tests never open an APK.
"""

from __future__ import annotations

from typing import Any

from apkscan.facts import (
    ApkFacts,
    Archive,
    Certificate,
    Component,
    DefinedPermission,
    Dex,
    IntentFilter,
    Manifest,
    NativeLib,
    NestedPayload,
    Pairs,
    Signing,
    Tamper,
    UsesPermission,
    ZipEntry,
)
from apkscan.rules.context import full_permission

CASE_KEYS = {
    "package",
    "min_sdk",
    "target_sdk",
    "label",
    "labels",
    "permissions",
    "defined_permissions",
    "app_flags",
    "meta_data",
    "components",
    "queries",
    "classes",
    "apis",
    "fields",
    "calls",
    "strings",
    "const_strings",
    "field_reads",
    "resources",
    "assets",
    "certificates",
    "signing_schemes",
    "entries",
    "native_libs",
    "nested",
    "tampering",
    "rules",
    "urls",
    "mismatched",
}


class CaseError(ValueError):
    pass


def _smali_class(name: str) -> str:
    if name.startswith("L") and name.endswith(";"):
        return name
    return "L" + name.replace(".", "/") + ";"


def _labels(case: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """``label: X`` (the default locale) and/or ``labels: {zh-rCN: X, en: Y}``."""
    out: list[tuple[str, str]] = []
    if "label" in case:
        out.append(("", str(case["label"])))
    labels = case.get("labels") or {}
    if not isinstance(labels, dict):
        raise CaseError("'labels' is a mapping of locale -> label")
    out.extend((str(k), str(v)) for k, v in labels.items())
    return tuple(out) or (("", "Example"),)


def _entry(e: Any) -> ZipEntry:
    """An entry name, or ``{name, size, compressed_size, method, kind}`` (size 1, deflated,
    kind ``other`` unless given)."""
    if isinstance(e, str):
        return ZipEntry(e, 1, 1, 8, 0, 0, "other")
    if not isinstance(e, dict) or "name" not in e:
        raise CaseError("an entry is a name or a mapping with 'name'")
    unknown = set(e) - {"name", "size", "compressed_size", "method", "kind"}
    if unknown:
        raise CaseError(f"unknown key {sorted(unknown)[0]!r} in an entry")
    size = int(e.get("size", 1))
    return ZipEntry(
        str(e["name"]),
        size,
        int(e.get("compressed_size", size)),
        int(e.get("method", 8)),
        0,
        0,
        str(e.get("kind", "other")),
    )


def facts_from_case(case: dict[str, Any]) -> ApkFacts:
    unknown = set(case) - CASE_KEYS
    if unknown:
        raise CaseError(f"unknown key {sorted(unknown)[0]!r} in a test case (allowed: {', '.join(sorted(CASE_KEYS))})")
    comps = []
    for c in case.get("components") or []:
        filt = IntentFilter(
            actions=tuple(c.get("actions") or ()),
            categories=tuple(c.get("categories") or ()),
            schemes=tuple(c.get("schemes") or ()),
            hosts=tuple(c.get("hosts") or ()),
            priority=int(c.get("priority", 0)),
        )
        has_filter = bool(filt.actions or filt.categories or filt.schemes)
        comps.append(
            Component(
                kind=str(c.get("type", "activity")),
                name=str(c.get("name", "org.example.Component")),
                exported=bool(c.get("exported", has_filter)),
                exported_explicit=c.get("exported"),
                permission=c.get("permission"),
                intent_filters=(filt,) if has_filter or filt.priority else (),
            )
        )
    manifest = Manifest(
        package=str(case.get("package", "org.example.app")),
        version_code="1",
        version_name="1.0",
        min_sdk=case.get("min_sdk", 21),
        target_sdk=case.get("target_sdk", 33),
        labels=_labels(case),
        permissions=tuple(UsesPermission(full_permission(p)) for p in case.get("permissions") or ()),
        defined_permissions=tuple(DefinedPermission(p, "signature") for p in case.get("defined_permissions") or ()),
        components=tuple(comps),
        app_flags=tuple(
            (k, str(v).lower() if isinstance(v, bool) else str(v)) for k, v in (case.get("app_flags") or {}).items()
        ),
        meta_data=tuple((k, str(v)) for k, v in (case.get("meta_data") or {}).items()),
        queries=tuple(case.get("queries") or ()),
    )
    classes = [_smali_class(c) for c in case.get("classes") or ()]
    methods: list[str] = list(case.get("apis") or ())
    calls: list[tuple[int, int]] = []
    for pair in case.get("calls") or ():
        if not isinstance(pair, list) or len(pair) != 2:
            raise CaseError("a call is a [caller, callee] pair")
        caller, callee = (str(p) for p in pair)
        for m in (caller, callee):
            if m not in methods:
                methods.append(m)
        cls = caller.split("->", 1)[0]
        if cls not in classes:
            classes.append(cls)
        calls.append((methods.index(caller), methods.index(callee)))
    dex_strings = tuple(str(s) for s in case.get("strings") or ())
    loads: list[tuple[int, int]] = []
    for pair in case.get("const_strings") or ():  # [method, string]: the method loads the string
        if not isinstance(pair, list) or len(pair) != 2:
            raise CaseError("a const_strings entry is a [method, string] pair")
        method, text = (str(p) for p in pair)
        if method not in methods:
            methods.append(method)
        if text not in dex_strings:
            dex_strings += (text,)
        loads.append((methods.index(method), dex_strings.index(text)))
    fields: list[str] = list(case.get("fields") or ())
    reads: list[tuple[int, int]] = []
    for pair in case.get("field_reads") or ():  # [method, field]: the method reads the static field
        if not isinstance(pair, list) or len(pair) != 2:
            raise CaseError("a field_reads entry is a [method, field] pair")
        method, fname = (str(p) for p in pair)
        if method not in methods:
            methods.append(method)
        if fname not in fields:
            fields.append(fname)
        reads.append((methods.index(method), fields.index(fname)))
    dex = Dex(
        path="classes.dex",
        classes=tuple(classes),
        methods=tuple(methods),
        fields=tuple(fields),
        strings=dex_strings,
        calls=Pairs.of(calls),
        const_strings=Pairs.of(loads),
        field_reads=Pairs.of(reads),
    )
    from apkscan.extract.text import TextHarvest

    harvest = TextHarvest()
    harvest.add("classes.dex", dex_strings)
    res = [("", f"s{i}", str(v)) for i, v in enumerate(case.get("resources") or ())]
    harvest.add("resources.arsc", (v for _, _, v in res))
    assets = [(str(k), str(v)) for k, v in (case.get("assets") or {}).items()]
    for name, text in assets:
        harvest.add_text(name, text)
    for url in case.get("urls") or ():
        harvest.add("classes.dex", (str(url),))
    certs = tuple(
        Certificate(
            subject=str(c.get("subject", "CN=Example")),
            issuer=str(c.get("issuer", c.get("subject", "CN=Example"))),
            serial="1",
            not_before="",
            not_after="",
            sha256=str(c.get("sha256", "00" * 32)).replace(":", "").upper(),
            sha1=str(c.get("sha1", "00" * 20)).replace(":", "").upper(),
            key_algorithm="RSA",
            key_size=2048,
            debug=bool(c.get("debug", False)),
            test_key=bool(c.get("test_key", False)),
        )
        for c in case.get("certificates") or ()
    )
    zip_entries = [_entry(e) for e in case.get("entries") or ()]
    entries = [e.name for e in zip_entries]
    libs = [str(n) for n in case.get("native_libs") or ()]
    archive = Archive(
        entries=tuple(zip_entries) + tuple(ZipEntry(n, 1, 1, 8, 0, 0, "other") for n in libs),
        native_libs=tuple(
            NativeLib(abi=p.split("/")[1] if p.count("/") >= 2 else "", name=p.rsplit("/", 1)[-1], path=p, size=1)
            for p in libs
        ),
        assets=tuple(e for e in entries if e.startswith("assets/")),
        nested=tuple(NestedPayload(str(n["path"]), str(n.get("kind", "zip")), 1, 1) for n in case.get("nested") or ()),
        mismatched=tuple((str(m["path"]), str(m["kind"])) for m in case.get("mismatched") or ()),
        tampering=tuple(Tamper(str(t), "", "test case") for t in case.get("tampering") or ()),
    )
    return ApkFacts(
        file_name="case.apk",
        size=0,
        sha256="0" * 64,
        manifest=manifest,
        signing=Signing(schemes=tuple(case.get("signing_schemes", ["v2"])), certificates=certs),
        archive=archive,
        dex=(dex,),
        strings=harvest.strings(res, assets),
    )
