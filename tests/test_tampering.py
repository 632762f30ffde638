"""Every tampering trick Android tolerates is reported as a TAMPER-* finding (category
"tampering") while the app is still read. Test APKs are built here from
``samples/clean.apk``: entries are rewritten with :mod:`struct` and re-zipped in memory."""

from __future__ import annotations

import struct
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from apkscan import api
from apkscan.errors import NotAnApk
from tests.conftest import SAMPLES, corpus_dir
from tests.fuzz.mutate import Entry, chunks, dex_fix, entries_of, write_zip

CLEAN = (SAMPLES / "clean.apk").read_bytes()
PACKAGE = "org.apkscan.sample.clean"


def clean_entries() -> list[Entry]:
    entries = entries_of(CLEAN)
    assert entries is not None
    return entries


def replace_entry(name: str, change: Callable[[bytearray], object]) -> list[Entry]:
    out = []
    for e in clean_entries():
        if e.name == name.encode():
            buf = bytearray(e.data)
            change(buf)
            e = Entry(e.name, bytes(buf), e.method)
        out.append(e)
    return out


def scan_bytes(tmp_path: Path, data: bytes, ruleset, name: str = "t.apk"):  # type: ignore[no-untyped-def]
    p = tmp_path / name
    p.write_bytes(data)
    return api.scan(p, ruleset, timeout=60)


def tamper_ids(result) -> set[str]:  # type: ignore[no-untyped-def]
    return {f.rule_id for f in result.findings if f.category == "tampering"}


def assert_tamper(result, rule_id: str, still_reads: bool = True) -> None:  # type: ignore[no-untyped-def]
    ids = tamper_ids(result)
    assert rule_id in ids, (rule_id, ids, result.facts.archive.tampering)
    finding = next(f for f in result.findings if f.rule_id == rule_id)
    assert finding.category == "tampering" and finding.evidence
    if still_reads:
        assert result.facts.manifest.package == PACKAGE, result.facts.problems


def test_clean_sample_has_no_tampering(tmp_path: Path, ruleset) -> None:  # type: ignore[no-untyped-def]
    assert tamper_ids(scan_bytes(tmp_path, CLEAN, ruleset)) == set()
    assert tamper_ids(scan_bytes(tmp_path, write_zip(clean_entries()), ruleset)) == set()


# --- the archive --------------------------------------------------------------------------------
def _index(name: str) -> int:
    return [e.name for e in clean_entries()].index(name.encode())


ZIP_CASES: dict[str, tuple[Callable[[], bytes], str]] = {
    "unknown-method": (lambda: write_zip(clean_entries(), cd_method={0: 0x7600}), "TAMPER-ZIP-UNKNOWN-METHOD"),
    "fake-encryption": (lambda: write_zip(clean_entries(), cd_flags={0: 1}), "TAMPER-ZIP-FAKE-ENCRYPTION"),
    "lfh-encryption-only": (lambda: write_zip(clean_entries(), lfh_flags={1: 1}), "TAMPER-ZIP-FAKE-ENCRYPTION"),
    "lfh-vs-cd-method": (lambda: write_zip(clean_entries(), lfh_method={1: 0}), "TAMPER-ZIP-HEADER-MISMATCH"),
    "lfh-vs-cd-name": (
        lambda: write_zip(clean_entries(), lfh_name={2: b"resources.arsX"}),
        "TAMPER-ZIP-HEADER-MISMATCH",
    ),
    "garbage-extra": (
        lambda: write_zip(clean_entries(), cd_extra={1: b"\xff\xff\x40\x00junk"}),
        "TAMPER-ZIP-EXTRA-GARBAGE",
    ),
    "eocd-comment": (lambda: write_zip(clean_entries(), comment=b"x" * 1026), "TAMPER-ZIP-EOCD-OFFSET"),
    "bytes-after-eocd": (lambda: write_zip(clean_entries(), trailer=b"\x00" * 64), "TAMPER-ZIP-EOCD-OFFSET"),
    "duplicate-name": (
        lambda: write_zip([*clean_entries(), Entry(b"classes.dex", b"dex\n035\x00" + b"\x00" * 200)]),
        "TAMPER-ZIP-DUPLICATE-ENTRY",
    ),
    "path-traversal": (
        lambda: write_zip([*clean_entries(), Entry(b"../../../data/local/evil/x.sh", b"#!/bin/sh\n")]),
        "TAMPER-ZIP-PATH-TRAVERSAL",
    ),
    "backslash-traversal": (
        lambda: write_zip([*clean_entries(), Entry(b"..\\..\\StaticAnalyzer\\__init__.py", b"x")]),
        "TAMPER-ZIP-PATH-TRAVERSAL",
    ),
    "control-char-name": (
        lambda: write_zip([*clean_entries(), Entry(b"assets/a\nb.txt", b"x")]),
        "TAMPER-ZIP-NAME-CONTROL-CHARS",
    ),
    "dex-disguised": (
        lambda: write_zip([*clean_entries(), Entry(b"assets/font.ttf", clean_entries()[_index("classes.dex")].data)]),
        "TAMPER-DISGUISED-PAYLOAD",
    ),
}


@pytest.mark.parametrize("case", sorted(ZIP_CASES))
def test_zip_tampering(case: str, tmp_path: Path, ruleset) -> None:  # type: ignore[no-untyped-def]
    build, rule_id = ZIP_CASES[case]
    assert_tamper(scan_bytes(tmp_path, build(), ruleset), rule_id)


def test_disguised_dex_is_also_parsed(tmp_path: Path, ruleset) -> None:  # type: ignore[no-untyped-def]
    build, _ = ZIP_CASES["dex-disguised"]
    r = scan_bytes(tmp_path, build(), ruleset)
    assert "assets/font.ttf" in [d.path for d in r.facts.dex]


def test_second_dex_of_the_same_name_is_analysed_too(tmp_path: Path, ruleset) -> None:  # type: ignore[no-untyped-def]
    """A second ``classes.dex`` entry holding the collecting code: its calls are found like
    those of any dex (indexes were once keyed by path, so the first dex's tables hid it)."""
    pii = entries_of((SAMPLES / "pii_collector.apk").read_bytes())
    assert pii is not None
    second = next(e for e in pii if e.name == b"classes.dex")
    r = scan_bytes(tmp_path, write_zip([*clean_entries(), Entry(b"classes.dex", second.data)]), ruleset)
    assert [d.path for d in r.facts.dex] == ["classes.dex", "classes.dex"]
    assert "TAMPER-ZIP-DUPLICATE-ENTRY" in tamper_ids(r)
    alone = api.scan(SAMPLES / "pii_collector.apk", ruleset)
    assert {a.category for a in r.data_access} == {a.category for a in alone.data_access}
    assert {a.category for a in r.data_access} >= {"device-id", "sms", "contacts", "location"}


def test_eocd_at_odd_offset_after_prefix(tmp_path: Path, ruleset) -> None:  # type: ignore[no-untyped-def]
    r = scan_bytes(tmp_path, write_zip(clean_entries(), prefix=b"\x00" * 1026), ruleset)
    assert_tamper(r, "TAMPER-ZIP-EOCD-OFFSET")


# --- binary XML ---------------------------------------------------------------------------------
def _manifest_chunks(buf: bytes | bytearray) -> list[tuple[int, int, int, int]]:
    return chunks(buf)


def _first(buf: bytearray, ctype: int) -> tuple[int, int, int]:
    pos, _, hsize, size = next(c for c in _manifest_chunks(buf) if c[1] == ctype)
    return pos, hsize, size


def axml_file_size(buf: bytearray) -> None:
    buf += b"\xde\xad" * 32  # bytes after the document; Android reads only the declared size


def axml_zero_type(buf: bytearray) -> None:
    struct.pack_into("<H", buf, 0, 0)


def axml_unknown_chunk(buf: bytearray) -> None:
    pos, _, _ = _first(buf, 0x0180)  # before the resource map: a dummy chunk Android skips
    buf[pos:pos] = struct.pack("<HHI", 0x0777, 8, 16) + b"\x00" * 8
    struct.pack_into("<I", buf, 4, len(buf))


def axml_bad_chunk_size(buf: bytearray) -> None:
    pos, _, _ = _first(buf, 0x0101)  # end namespace with size 0 (apkInspector's sample)
    struct.pack_into("<I", buf, pos + 4, 0)


def axml_pool_header_size(buf: bytearray) -> None:
    pos, hsize, size = _first(buf, 0x0001)  # 4 bytes of padding after a 32-byte header
    buf[pos + hsize : pos + hsize] = b"\x00" * 4
    struct.pack_into("<H", buf, pos + 2, hsize + 4)
    struct.pack_into("<I", buf, pos + 4, size + 4)
    (start,) = struct.unpack_from("<I", buf, pos + 20)
    struct.pack_into("<I", buf, pos + 20, start + 4)
    struct.pack_into("<I", buf, 4, len(buf))


def axml_pool_offset_outside(buf: bytearray) -> None:
    pos, hsize, _ = _first(buf, 0x0001)
    (count,) = struct.unpack_from("<I", buf, pos + 8)
    struct.pack_into("<I", buf, pos + hsize + 4 * (count - 1), 0x00FFFFF0)  # last string: unused by Android here


def axml_pool_flags(buf: bytearray) -> None:
    pos, _, _ = _first(buf, 0x0001)
    (flags,) = struct.unpack_from("<I", buf, pos + 16)
    struct.pack_into("<I", buf, pos + 16, flags | 0x8000_0000)


def axml_namespace_index(buf: bytearray) -> None:
    pos, _, _ = _first(buf, 0x0100)  # the start namespace's prefix index outside the pool
    struct.pack_into("<I", buf, pos + 16, 0x7FFF0000)


def axml_namespace_header(buf: bytearray) -> None:
    pos, _, _ = _first(buf, 0x0101)
    struct.pack_into("<H", buf, pos + 2, 0x0E)


def axml_attribute_namespace(buf: bytearray) -> None:
    for pos, ctype, _, _ in _manifest_chunks(buf):
        if ctype == 0x0102 and struct.unpack_from("<H", buf, pos + 28)[0]:
            struct.pack_into("<I", buf, pos + 36, 0x7FFF0001)  # first attribute's namespace
            return
    raise AssertionError("no attribute")


AXML_CASES: dict[str, tuple[Callable[[bytearray], None], str, bool]] = {
    # name: (change, rule id, manifest still read: androguard, or a normalised copy)
    "file-size": (axml_file_size, "TAMPER-AXML-SIZE", True),
    "zero-chunk-type": (axml_zero_type, "TAMPER-AXML-HEADER", True),
    "unknown-chunk": (axml_unknown_chunk, "TAMPER-AXML-CHUNK", True),
    "zero-sized-chunk": (axml_bad_chunk_size, "TAMPER-AXML-CHUNK", True),
    "pool-header-size": (axml_pool_header_size, "TAMPER-AXML-STRING-POOL", True),
    "pool-offset-outside": (axml_pool_offset_outside, "TAMPER-AXML-STRING-POOL", True),
    "pool-flags": (axml_pool_flags, "TAMPER-AXML-STRING-POOL", True),
    "namespace-index": (axml_namespace_index, "TAMPER-AXML-NAMESPACE", True),
    "namespace-header": (axml_namespace_header, "TAMPER-AXML-NAMESPACE", True),
    "attribute-namespace": (axml_attribute_namespace, "TAMPER-AXML-NAMESPACE", True),
}


@pytest.mark.parametrize("case", sorted(AXML_CASES))
def test_axml_tampering(case: str, tmp_path: Path, ruleset) -> None:  # type: ignore[no-untyped-def]
    change, rule_id, reads = AXML_CASES[case]
    r = scan_bytes(tmp_path, write_zip(replace_entry("AndroidManifest.xml", change)), ruleset)
    assert_tamper(r, rule_id, still_reads=reads)
    assert r.verdict in ("review", "reject")


def test_axml_tampering_combined_with_unknown_method(tmp_path: Path, ruleset) -> None:  # type: ignore[no-untyped-def]
    """apkInspector's 'def_mod': zeroed chunk type and an unknown method on the manifest."""
    entries = replace_entry("AndroidManifest.xml", axml_zero_type)
    r = scan_bytes(tmp_path, write_zip(entries, cd_method={0: 0x7600}), ruleset)
    assert {"TAMPER-AXML-HEADER", "TAMPER-ZIP-UNKNOWN-METHOD"} <= tamper_ids(r)
    assert r.facts.manifest.package == PACKAGE


# --- dex ------------------------------------------------------------------------------------------
def dex_set(off: int, value: int, fix: bool = True) -> Callable[[bytearray], None]:
    def change(buf: bytearray) -> None:
        struct.pack_into("<I", buf, off, value)
        if fix:
            dex_fix(buf)

    return change


def dex_version(buf: bytearray) -> None:
    buf[4:8] = b"099\x00"
    dex_fix(buf)


DEX_CASES: dict[str, Callable[[bytearray], None]] = {
    "checksum": dex_set(8, 0xDEADBEEF, fix=False),
    "file-size": lambda b: struct.pack_into("<I", b, 32, len(b) + 4096),
    "header-size": dex_set(36, 0x78),
    "endian-tag": dex_set(40, 0x78563412),
    "version": dex_version,
    "string-ids-overrun": dex_set(56, 0x00FFFFFF),
    "class-defs-outside": dex_set(100, 0x7FFFFFF0),
    "method-ids-outside": dex_set(92, 0xFFFFFFF0),
}


@pytest.mark.parametrize("case", sorted(DEX_CASES))
def test_dex_header_tampering(case: str, tmp_path: Path, ruleset) -> None:  # type: ignore[no-untyped-def]
    r = scan_bytes(tmp_path, write_zip(replace_entry("classes.dex", DEX_CASES[case])), ruleset)
    assert_tamper(r, "TAMPER-DEX-HEADER")
    ev = next(f for f in r.findings if f.rule_id == "TAMPER-DEX-HEADER").evidence
    assert any(e.file == "classes.dex" for e in ev)


def test_dex_structure_tampering(tmp_path: Path, ruleset) -> None:  # type: ignore[no-untyped-def]
    def change(buf: bytearray) -> None:
        # every string id points at the same offset past the end: tables refer outside
        count, off = struct.unpack_from("<II", buf, 56)
        for i in range(count):
            struct.pack_into("<I", buf, off + 4 * i, len(buf) + 16)
        dex_fix(buf)

    r = scan_bytes(tmp_path, write_zip(replace_entry("classes.dex", change)), ruleset)
    assert_tamper(r, "TAMPER-DEX-STRUCTURE")


def test_dex_read_as_android_does_when_tampered(tmp_path: Path, ruleset) -> None:  # type: ignore[no-untyped-def]
    """A wrong checksum does not stop the reader: classes still come out."""
    r = scan_bytes(tmp_path, write_zip(replace_entry("classes.dex", DEX_CASES["checksum"])), ruleset)
    assert r.facts.dex and r.facts.dex[0].classes


# --- resources ------------------------------------------------------------------------------------
def test_resource_name_path_traversal(tmp_path: Path, ruleset) -> None:  # type: ignore[no-untyped-def]
    """apktool's GHSA-2hqv-2xv4-5h5w: a resource *name* that is a path."""

    def change(buf: bytearray) -> None:
        # rewrite one key string of the package's key pool ("app_name") in place
        at = buf.find(b"app_name")
        assert at > 0
        buf[at : at + 8] = b"../../px"

    r = scan_bytes(tmp_path, write_zip(replace_entry("resources.arsc", change)), ruleset)
    assert_tamper(r, "TAMPER-ARSC-RESOURCE-NAME")


# --- the real corpus --------------------------------------------------------------------------------
CORPUS_EXPECTED = {
    "tamper_apkInspector_eocd_at_offset_1026.apk": "TAMPER-ZIP-EOCD-OFFSET",
    "tamper_apkInspector_minimal_def_mod.apk": "TAMPER-ZIP-UNKNOWN-METHOD",
    "tamper_apkInspector_minimal_zero_sized_end_ns.apk": "TAMPER-AXML-CHUNK",
    "tamper_apktool_GHSA-2hqv-2xv4-5h5w_arbitrary_write.apk": "TAMPER-ARSC-RESOURCE-NAME",
    "agtest_apksig_invalid-zip.apk": "TAMPER-ZIP-EOCD-OFFSET",
    "agtest_apksig_lf-in-entry-name.apk": "TAMPER-ZIP-NAME-CONTROL-CHARS",
    "agtest_apksig_sig-block-size-mismatch.apk": "TAMPER-SIGNING-BLOCK",
}


@pytest.mark.corpus
@pytest.mark.parametrize("rel", sorted(CORPUS_EXPECTED))
def test_corpus_tampering_findings(rel: str, ruleset) -> None:  # type: ignore[no-untyped-def]
    root = corpus_dir()
    if root is None or not (root / rel).is_file():
        pytest.skip("real-world corpus absent: set APKSCAN_CORPUS or place it at ../shared/corpus")
    r = api.scan(root / rel, ruleset, timeout=60)
    assert CORPUS_EXPECTED[rel] in tamper_ids(r)
    assert r.facts.manifest.package


@pytest.mark.corpus
def test_corpus_zipslip_without_manifest_is_an_error(ruleset) -> None:  # type: ignore[no-untyped-def]
    root = corpus_dir()
    if root is None:
        pytest.skip("real-world corpus absent")
    with pytest.raises(NotAnApk):
        api.scan(root / "tamper_mobsf_zipslip_evil.apk", ruleset)


def test_writer_round_trip() -> None:
    """The in-memory writer produces what zipfile reads back (guards the builders above)."""
    import io

    with zipfile.ZipFile(io.BytesIO(write_zip(clean_entries()))) as zf:
        assert zf.testzip() is None
        assert zlib.crc32(zf.read("classes.dex")) == zlib.crc32(clean_entries()[_index("classes.dex")].data)
