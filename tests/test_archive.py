"""ApkArchive against hostile zips built here byte by byte, and against the real corpus."""

from __future__ import annotations

import contextlib
import io
import os
import random
import struct
import time
import tracemalloc
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest

from apkscan.extract.archive import ApkArchive, ArchiveError, LimitExceeded, sniff
from apkscan.limits import Limits

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("APKSCAN_CORPUS", ROOT.parent / "shared" / "corpus"))
needs_corpus = pytest.mark.skipif(
    not CORPUS.is_dir(), reason=f"corpus not found at {CORPUS} (set APKSCAN_CORPUS)"
)

DEX = b"dex\n035\x00" + bytes(range(256)) * 4
ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 200
AXML = b"\x03\x00\x08\x00" + b"\x00" * 100
LIMITS = Limits()


# --- a zip writer that can lie ------------------------------------------------------------
@dataclass
class E:
    name: str | bytes
    data: bytes = b""
    method: int = 0
    """0 stored, 8 deflate; any other value: data written as stored, method declared."""
    flags: int = 0
    lfh_name: bytes | None = None
    lfh_method: int | None = None
    lfh_flags: int | None = None
    lfh_sizes: tuple[int, int, int] | None = None
    cd_sizes: tuple[int, int, int] | None = None
    extra: bytes = b""
    lfh_extra: bytes | None = None
    same_as: int | None = None
    """Write no local header; point the central directory at entry ``same_as``'s."""
    raw: bytes | None = None
    """Compressed bytes to write as they are (with ``method``)."""


def build(
    entries: list[E],
    *,
    prefix: bytes = b"",
    comment: bytes = b"",
    trailer: bytes = b"",
    adjust_offsets: bool = True,
    count: int | None = None,
) -> bytes:
    out = bytearray(prefix)
    base = len(prefix) if adjust_offsets else 0
    cd = bytearray()
    offsets: list[int] = []
    for e in entries:
        name = e.name.encode() if isinstance(e.name, str) else e.name
        crc = zlib.crc32(e.data)
        if e.raw is not None:
            body = e.raw
        elif e.method == 8:
            c = zlib.compressobj(6, zlib.DEFLATED, -15)
            body = c.compress(e.data) + c.flush()
        else:
            body = e.data
        sizes = (crc, len(body), len(e.data))
        if e.same_as is not None:
            off = offsets[e.same_as]
        else:
            off = len(out)
            lfh_name = e.lfh_name if e.lfh_name is not None else name
            lfh_extra = e.lfh_extra if e.lfh_extra is not None else e.extra
            lcrc, lcs, lus = e.lfh_sizes or sizes
            out += struct.pack(
                "<L5H3L2H",
                0x04034B50,
                20,
                e.flags if e.lfh_flags is None else e.lfh_flags,
                e.method if e.lfh_method is None else e.lfh_method,
                0,
                0,
                lcrc,
                lcs,
                lus,
                len(lfh_name),
                len(lfh_extra),
            )
            out += lfh_name + lfh_extra + body
            if e.flags & 8:
                out += struct.pack("<4L", 0x08074B50, *(e.cd_sizes or sizes))
        offsets.append(off)
        ccrc, ccs, cus = e.cd_sizes or sizes
        cd += struct.pack(
            "<L6H3L5H2L",
            0x02014B50,
            20,
            20,
            e.flags,
            e.method,
            0,
            0,
            ccrc,
            ccs,
            cus,
            len(name),
            len(e.extra),
            0,
            0,
            0,
            0,
            off - base,
        )
        cd += name + e.extra
    cd_off = len(out)
    out += cd
    n = len(entries) if count is None else count
    out += struct.pack("<L4H2LH", 0x06054B50, 0, 0, n, n, len(cd), cd_off - base, len(comment))
    out += comment + trailer
    return bytes(out)


def kinds(archive: ApkArchive) -> set[str]:
    return {t.kind for t in archive.facts().tampering}


def tampered(archive: ApkArchive, kind: str) -> list[str]:
    return [t.entry for t in archive.facts().tampering if t.kind == kind]


def plain_zip(files: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


# --- well-formed archives -----------------------------------------------------------------
def test_plain_zip_reads_like_zipfile() -> None:
    files = {
        "AndroidManifest.xml": AXML,
        "classes.dex": DEX,
        "lib/arm64-v8a/libfoo.so": ELF,
        "assets/www/index.html": b"<html>hello</html>\n" * 50,
        "res/drawable/icon.png": b"\x89PNG\r\n\x1a\n" + os.urandom(300),
        "empty.txt": b"",
    }
    data = plain_zip(files)
    a = ApkArchive.from_bytes(data, "t.apk", LIMITS)
    assert a.names() == list(files)
    for name, content in files.items():
        assert a.read(name) == content
    assert a.tampering == []
    by_name = {e.name: e.kind for e in a.entries}
    assert by_name == {
        "AndroidManifest.xml": "axml",
        "classes.dex": "dex",
        "lib/arm64-v8a/libfoo.so": "elf",
        "assets/www/index.html": "text",
        "res/drawable/icon.png": "png",
        "empty.txt": "other",
    }
    facts = a.facts()
    assert [(n.abi, n.name, n.size) for n in facts.native_libs] == [
        ("arm64-v8a", "libfoo.so", len(ELF))
    ]
    assert facts.assets == ("assets/www/index.html",)
    assert facts.nested == () and facts.mismatched == () and facts.tampering == ()
    assert a.read_head("assets/www/index.html", 6) == b"<html>"
    with pytest.raises(KeyError):
        a.read("nope")


def test_stored_zip_and_cd_offset() -> None:
    data = plain_zip({"a.txt": b"abc", "classes.dex": DEX}, zipfile.ZIP_STORED)
    a = ApkArchive.from_bytes(data, "t.apk", LIMITS)
    assert a.read("classes.dex") == DEX
    assert data[a.cd_offset : a.cd_offset + 4] == b"PK\x01\x02"
    assert a.data == data


@pytest.mark.parametrize(
    "blob",
    [
        b"",
        b"PK",
        b"not a zip at all" * 100,
        struct.pack("<L4H2LH", 0x06054B50, 0, 0, 3, 3, 46 * 3, 999_999, 0),
        b"PK\x03\x04" + b"\x00" * 100 + struct.pack("<L4H2LH", 0x06054B50, 0, 0, 1, 1, 46, 4, 0),
    ],
)
def test_not_a_zip(blob: bytes) -> None:
    with pytest.raises(ArchiveError):
        ApkArchive.from_bytes(blob, "x.apk", LIMITS)


def test_size_limit_checked_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "big.apk"
    blob = os.urandom(5000)
    path.write_bytes(plain_zip({"a": blob}, zipfile.ZIP_STORED))
    with pytest.raises(LimitExceeded):
        ApkArchive.open(path, Limits(max_apk_bytes=1000))
    assert ApkArchive.open(path, LIMITS).read("a") == blob


# --- tampering ----------------------------------------------------------------------------
def test_path_traversal() -> None:
    names = [
        "..\\..\\StaticAnalyzer\\__init__.py",
        "/etc/passwd",
        "C:\\x.ini",
        "a/../../b",
        "a..b/c",
    ]
    a = ApkArchive.from_bytes(build([E(n, b"x") for n in names]), "t", LIMITS)
    assert set(tampered(a, "zip-path-traversal")) == set(names[:4])
    assert a.read("..\\..\\StaticAnalyzer\\__init__.py") == b"x"


def test_duplicate_entries_first_wins() -> None:
    a = ApkArchive.from_bytes(
        build([E("classes.dex", DEX), E("classes.dex", b"evil")]), "t", LIMITS
    )
    assert tampered(a, "zip-duplicate-entry") == ["classes.dex"]
    assert a.names() == ["classes.dex"]
    assert len(a.entries) == 2
    assert a.read("classes.dex") == DEX


def test_overlapping_entries() -> None:
    data = b"A" * 5000
    entries = [E("a.bin", data, method=8)] + [
        E(f"copy{i}.bin", data, method=8, same_as=0) for i in range(3)
    ]
    a = ApkArchive.from_bytes(build(entries), "t", LIMITS)
    assert set(tampered(a, "zip-overlapping-entries")) == {"copy0.bin", "copy1.bin", "copy2.bin"}
    assert a.read("copy2.bin") == data


def test_fake_encryption_is_ignored_like_android() -> None:
    a = ApkArchive.from_bytes(build([E("classes.dex", DEX, method=8, flags=1)]), "t", LIMITS)
    assert tampered(a, "zip-fake-encryption") == ["classes.dex"]
    assert a.read("classes.dex") == DEX
    with pytest.raises(RuntimeError):  # what desktop tools do
        zipfile.ZipFile(io.BytesIO(build([E("classes.dex", DEX, method=8, flags=1)]))).read(
            "classes.dex"
        )


def test_unknown_method_is_read_as_stored() -> None:
    blob = build([E("AndroidManifest.xml", AXML, method=0x7600), E("classes.dex", DEX)])
    a = ApkArchive.from_bytes(blob, "t", LIMITS)
    assert tampered(a, "zip-unknown-method") == ["AndroidManifest.xml"]
    assert a.read("AndroidManifest.xml") == AXML
    assert a.entries[0].kind == "axml" and a.entries[0].method == 0x7600
    with pytest.raises(NotImplementedError):
        zipfile.ZipFile(io.BytesIO(blob)).read("AndroidManifest.xml")


def test_unknown_method_with_deflated_bytes_is_inflated() -> None:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    raw = c.compress(DEX) + c.flush()
    a = ApkArchive.from_bytes(build([E("classes.dex", DEX, method=21, raw=raw)]), "t", LIMITS)
    assert "zip-unknown-method" in kinds(a)
    assert a.read("classes.dex") == DEX


def test_malformed_extra_field() -> None:
    entries = [
        E("bad.txt", b"x", extra=b"\x01\x02\xff\xff"),  # block longer than the field
        E("badlocal.txt", b"x", lfh_extra=b"\xaa\xbb\xcc"),  # 3 stray bytes
        E("zipalign.txt", b"x", lfh_extra=b"\x00\x00\x00"),  # old zipalign zero padding
        E("good.txt", b"x", extra=struct.pack("<HH", 0xD935, 2) + b"\x04\x00"),
    ]
    a = ApkArchive.from_bytes(build(entries), "t", LIMITS)
    assert set(tampered(a, "zip-extra-garbage")) == {"bad.txt", "badlocal.txt"}
    assert all(a.read(n) == b"x" for n in a.names())


def test_local_header_mismatch() -> None:
    entries = [
        E("AndroidManifest.xml", AXML, lfh_name=b"AndroidManifest.xmm"),
        E("classes.dex", DEX, method=8, lfh_method=0),
        E("a.txt", b"hello", lfh_sizes=(0, 1, 1)),
        E("dd.txt", b"streamed", flags=8, lfh_sizes=(0, 0, 0)),  # data descriptor: fine
    ]
    a = ApkArchive.from_bytes(build(entries), "t", LIMITS)
    assert set(tampered(a, "zip-header-mismatch")) == {
        "AndroidManifest.xml",
        "classes.dex",
        "a.txt",
    }
    # sizes and method come from the central directory, as on Android
    assert a.read("classes.dex") == DEX
    assert a.read("a.txt") == b"hello"


def test_eocd_with_comment_and_trailing_bytes() -> None:
    a = ApkArchive.from_bytes(build([E("a", b"x")], comment=b"c" * 1004), "t", LIMITS)
    assert "zip-eocd-offset" in kinds(a)
    b = ApkArchive.from_bytes(build([E("a", b"x")], trailer=b"\x00" * 10), "t", LIMITS)
    assert "zip-eocd-offset" in kinds(b)
    assert b.read("a") == b"x"


def test_fake_eocd_in_comment() -> None:
    fake = struct.pack("<L4H2LH", 0x06054B50, 0, 0, 1, 1, 46, 999_999, 0)
    a = ApkArchive.from_bytes(build([E("a", b"x")], comment=fake), "t", LIMITS)
    assert "zip-eocd-offset" in kinds(a)
    assert a.read("a") == b"x"


@pytest.mark.parametrize("adjust", [True, False])
def test_garbage_prefix(adjust: bool) -> None:
    data = build(
        [E("classes.dex", DEX, method=8)], prefix=b"MZ garbage" * 100, adjust_offsets=adjust
    )
    a = ApkArchive.from_bytes(data, "t", LIMITS)
    assert "zip-eocd-offset" in kinds(a)
    assert a.read("classes.dex") == DEX


def test_entry_count_mismatch() -> None:
    a = ApkArchive.from_bytes(build([E("a", b"1"), E("hidden", b"2")], count=1), "t", LIMITS)
    assert "zip-header-mismatch" in kinds(a)
    assert a.read("hidden") == b"2"


def test_control_chars_and_bad_utf8_in_names() -> None:
    a = ApkArchive.from_bytes(build([E("a\nb.txt", b"x"), E(b"bad\xff.txt", b"y")]), "t", LIMITS)
    assert set(tampered(a, "zip-name-control-chars")) == {"a\nb.txt", "bad\\xff.txt"}
    assert a.read("bad\\xff.txt") == b"y"


def test_crc_mismatch_returns_data() -> None:
    blob = bytearray(build([E("a.txt", b"hello world")]))
    blob[blob.index(b"hello")] = ord("j")
    a = ApkArchive.from_bytes(bytes(blob), "t", LIMITS)
    assert a.read("a.txt") == b"jello world"
    assert tampered(a, "zip-crc-mismatch") == ["a.txt"]


@pytest.mark.parametrize("method", [8, 0])
def test_crc_mismatch_of_an_entry_read_whole_by_its_prefix(method: int) -> None:
    """A text asset read in full by read_prefix is checked as a full read checks it (a
    scan does not inflate it again for YARA)."""
    data = b"hello world" * 10
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    size = len(c.compress(data) + c.flush()) if method == 8 else len(data)
    wrong = (zlib.crc32(data) ^ 0xFFFF, size, len(data))
    blob = build([E("assets/a.txt", data, method=method, cd_sizes=wrong, lfh_sizes=wrong)])
    a = ApkArchive.from_bytes(blob, "t", LIMITS)
    a.read_prefix("assets/a.txt", 1 << 20)
    assert tampered(a, "zip-crc-mismatch") == ["assets/a.txt"]


def test_mismatched_content_and_nested_dex_order() -> None:
    inner = plain_zip({"classes.dex": DEX + b"inner", "AndroidManifest.xml": AXML})
    entries = [
        E("classes10.dex", DEX + b"10"),
        E("classes2.dex", DEX + b"2", method=8),
        E("classes.dex", DEX + b"1"),
        E("assets/icon.png", DEX + b"hidden"),
        E("lib/armeabi-v7a/libx.so", DEX + b"so"),
        E("assets/payload.dat", inner),
        E("assets/plugin.apk", inner),
        E("res/raw/logo.png", ELF),
    ]
    a = ApkArchive.from_bytes(build(entries), "t", LIMITS)
    assert [p for p, _ in a.nested_dex()] == [
        "classes.dex",
        "classes2.dex",
        "classes10.dex",
        "assets/icon.png",
        "lib/armeabi-v7a/libx.so",
        "assets/payload.dat!classes.dex",
        "assets/plugin.apk!classes.dex",
    ]
    assert a.nested_dex()[-1][1] == DEX + b"inner"
    facts = a.facts()
    assert set(facts.mismatched) == {
        ("assets/icon.png", "dex"),
        ("lib/armeabi-v7a/libx.so", "dex"),
        ("assets/payload.dat", "zip"),
        ("res/raw/logo.png", "elf"),
    }
    nested = {(n.path, n.kind, n.depth) for n in facts.nested}
    assert nested == {
        ("assets/icon.png", "dex", 1),
        ("lib/armeabi-v7a/libx.so", "dex", 1),
        ("assets/payload.dat", "apk", 1),
        ("assets/payload.dat!classes.dex", "dex", 2),
        ("assets/plugin.apk", "apk", 1),
        ("assets/plugin.apk!classes.dex", "dex", 2),
    }


def test_nested_tampering_is_prefixed() -> None:
    inner = build([E("../../evil.sh", b"#!/bin/sh\n")])
    a = ApkArchive.from_bytes(build([E("assets/x.zip", inner)]), "t", LIMITS)
    assert tampered(a, "zip-path-traversal") == ["assets/x.zip!../../evil.sh"]


# --- bombs ---------------------------------------------------------------------------------
def zero_stream(gib: int) -> bytes:
    """A raw deflate stream of ``gib`` GiB of zeros, built from one independent segment
    (a full flush resets the compressor, so the segment can be repeated) -- about 1 MB of
    stream per GiB."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    seg = c.compress(b"\x00" * (1 << 20)) + c.flush(zlib.Z_FULL_FLUSH)
    return seg * (1024 * gib) + c.flush(zlib.Z_FINISH)


def zip64_entry(name: bytes, raw: bytes, usize: int) -> bytes:
    """One deflated entry whose sizes are in zip64 extra fields (for > 4 GiB)."""
    z64 = struct.pack("<HHQQ", 1, 16, usize, len(raw))
    lfh = struct.pack(
        "<L5H3L2H", 0x04034B50, 45, 0, 8, 0, 0, 0, 0xFFFFFFFF, 0xFFFFFFFF, len(name), len(z64)
    )
    cd_off = len(lfh) + len(name) + len(z64) + len(raw)
    cd = struct.pack(
        "<L6H3L5H2L",
        0x02014B50,
        45,
        45,
        0,
        8,
        0,
        0,
        0,
        0xFFFFFFFF,
        0xFFFFFFFF,
        len(name),
        len(z64),
        0,
        0,
        0,
        0,
        0,
    )
    cd += name + z64
    eocd = struct.pack("<L4H2LH", 0x06054B50, 0, 0, 1, 1, len(cd), cd_off, 0)
    return lfh + name + z64 + raw + cd + eocd


@pytest.fixture(scope="module")
def ten_gib_zeros() -> bytes:
    return zero_stream(10)


def test_bomb_declared_10gib_rejected_without_inflating(ten_gib_zeros: bytes) -> None:
    assert len(ten_gib_zeros) < 12 << 20
    a = ApkArchive.from_bytes(zip64_entry(b"bomb.bin", ten_gib_zeros, 10 << 30), "t", LIMITS)
    assert a.entries[0].size == 10 << 30
    t0 = time.perf_counter()
    with pytest.raises(LimitExceeded):
        a.read("bomb.bin")
    assert time.perf_counter() - t0 < 0.5
    assert "zip-bomb" in kinds(a)


def test_bomb_lying_header_stops_at_ratio_in_bounded_memory(ten_gib_zeros: bytes) -> None:
    # declares 400 MiB (ratio 40:1, plausible) but is 10 GiB of zeros
    entry = E("bomb.bin", method=8, raw=ten_gib_zeros, cd_sizes=(0, len(ten_gib_zeros), 400 << 20))
    entry.lfh_sizes = entry.cd_sizes
    a = ApkArchive.from_bytes(build([entry]), "t", LIMITS)
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        with pytest.raises(LimitExceeded):
            a.read("bomb.bin")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - t0 < 2
    assert peak < 32 << 20
    assert "zip-bomb" in kinds(a)


def test_bomb_stops_at_entry_limit_when_ratio_is_allowed(ten_gib_zeros: bytes) -> None:
    limits = Limits(max_ratio=10**9, max_entry_bytes=64 << 20)
    entry = E("bomb.bin", method=8, raw=ten_gib_zeros, cd_sizes=(0, len(ten_gib_zeros), 64 << 20))
    entry.lfh_sizes = entry.cd_sizes
    a = ApkArchive.from_bytes(build([entry]), "t", limits)
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        with pytest.raises(LimitExceeded):
            a.read("bomb.bin")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - t0 < 5
    assert peak < 3 * (64 << 20)
    with pytest.raises(LimitExceeded):
        a.read("bomb.bin", max_bytes=1 << 20)


def test_total_budget() -> None:
    files = {f"f{i}.bin": b"\x00" * 100_000 for i in range(10)}
    a = ApkArchive.from_bytes(plain_zip(files), "t", Limits(max_total_bytes=350_000))
    got = 0
    with pytest.raises(LimitExceeded):
        for name in a.names():
            got += len(a.read(name))
    assert got <= 350_000


def test_nested_zip_bomb_42_style() -> None:
    level = plain_zip({"zeros.bin": b"\x00" * (1 << 20)})
    for _ in range(6):
        level = plain_zip({f"{i}.zip": level for i in range(4)}, zipfile.ZIP_STORED)
    a = ApkArchive.from_bytes(level, "42.zip", LIMITS)
    t0 = time.perf_counter()
    facts = a.facts()
    dexes = a.nested_dex()
    assert time.perf_counter() - t0 < 10
    assert dexes == []
    assert max(n.depth for n in facts.nested) == LIMITS.max_depth + 1
    assert len(facts.nested) == 4 + 16 + 64 + 256
    assert "zip-bomb" in {t.kind for t in facts.tampering}


def test_too_many_entries() -> None:
    a = ApkArchive.from_bytes(
        build([E(f"f{i}", b"") for i in range(50)]), "t", Limits(max_entries=10)
    )
    assert len(a.entries) == 10
    assert any(p.kind == "limit" for p in a.problems)


# --- robustness --------------------------------------------------------------------------------
def exercise(blob: bytes, limits: Limits = LIMITS) -> ApkArchive | None:
    """Open and use an archive; only ArchiveError / LimitExceeded may escape open, and
    reads may raise only ArchiveError or LimitExceeded."""
    try:
        a = ApkArchive.from_bytes(blob, "m.apk", limits)
    except ArchiveError:
        return None
    a.facts()
    a.nested_dex()
    for name in a.names():
        with contextlib.suppress(ArchiveError, LimitExceeded):
            a.read(name)
    return a


def test_random_mutations() -> None:
    inner = plain_zip({"classes.dex": DEX, "x.txt": b"hello" * 20})
    bases = [
        plain_zip({"AndroidManifest.xml": AXML, "classes.dex": DEX, "assets/in.zip": inner}),
        plain_zip({"a.txt": b"abc" * 30, "lib/x86/libz.so": ELF}, zipfile.ZIP_STORED),
        build([E("a", b"x" * 40, method=8), E("b", DEX, same_as=0), E("c", b"y", flags=1)]),
    ]
    rng = random.Random(1234)
    limits = Limits(max_entry_bytes=4 << 20, max_total_bytes=64 << 20)
    opened = 0
    for i in range(3000):
        blob = bytearray(bases[i % len(bases)])
        op = rng.random()
        if op < 0.6:
            for _ in range(rng.randint(1, 8)):
                blob[rng.randrange(len(blob))] = rng.randrange(256)
        elif op < 0.75:
            del blob[rng.randrange(len(blob)) :]
        elif op < 0.9:
            at = rng.randrange(len(blob))
            blob[at:at] = os.urandom(rng.randint(1, 40))
        else:  # clobber a 4-byte field with an extreme value
            at = rng.randrange(len(blob) - 4)
            blob[at : at + 4] = rng.choice(
                [b"\xff\xff\xff\xff", b"\x00\x00\x00\x00", b"\xff\xff\xff\x7f"]
            )
        if exercise(bytes(blob), limits) is not None:
            opened += 1
    assert opened > 500


def test_sniff() -> None:
    assert sniff(b"dex\n039\x00") == "dex"
    assert sniff(b"PK\x03\x04rest") == "zip"
    assert sniff(b"\x00\x00\x08\x00\x10\x00") == "axml"
    assert sniff(b"\x02\x00\x0c\x00") == "arsc"
    assert sniff(b"\xff\xd8\xff\xe0") == "jpeg"
    assert sniff("héllo wörld {}\n".encode()) == "text"
    assert sniff(b"\x01\x02\x03\x04\x05") == "other"
    assert sniff(b"") == "other"


# --- corpus ------------------------------------------------------------------------------------
EXPECTED_TAMPER = {
    "tamper_apkInspector_eocd_at_offset_1026.apk": "zip-eocd-offset",
    "tamper_apkInspector_minimal_def_mod.apk": "zip-unknown-method",
    "agtest_apksig_invalid-zip.apk": "zip-eocd-offset",
    "agtest_apksig_lf-in-entry-name.apk": "zip-name-control-chars",
    "tamper_mobsf_zipslip_evil.apk": "zip-path-traversal",
    "apksig/weird-compression-method.apk": "zip-unknown-method",
    "apksig/mismatched-compression-method.apk": "zip-header-mismatch",
    "apksig/v1-only-with-nul-in-entry-name.apk": "zip-name-control-chars",
    "apksig/v2-only-garbage-between-cd-and-eocd.apk": "zip-eocd-offset",
}


@pytest.mark.corpus
@needs_corpus
@pytest.mark.parametrize("rel,kind", sorted(EXPECTED_TAMPER.items()))
def test_corpus_tamper_files(rel: str, kind: str) -> None:
    path = CORPUS / rel
    if not path.is_file():
        pytest.skip(f"{rel} not in this corpus")
    a = ApkArchive.open(path, LIMITS)
    assert kind in kinds(a), a.facts().tampering


@pytest.mark.corpus
@needs_corpus
def test_corpus_tamper_files_stay_readable() -> None:
    a = ApkArchive.open(CORPUS / "agtest_apksig_invalid-zip.apk", LIMITS)
    with pytest.raises(zipfile.BadZipFile):
        zipfile.ZipFile(CORPUS / "agtest_apksig_invalid-zip.apk")
    assert a.read("AndroidManifest.xml")[:4] == b"\x03\x00\x08\x00"
    assert a.read("classes.dex").startswith(b"dex\n")
    m = ApkArchive.open(CORPUS / "tamper_apkInspector_minimal_def_mod.apk", LIMITS)
    manifest = m.read("AndroidManifest.xml")
    assert len(manifest) == 2084 and manifest[2:4] == b"\x08\x00"
    base = ApkArchive.open(CORPUS / "tamper_apkInspector_minimal_orig_baseline.apk", LIMITS)
    assert base.facts().tampering == ()
    # Apktool's "unknown_compression" sample is about unknown *file types*: every method is 0/8
    u = ApkArchive.open(CORPUS / "tamper_apktool_unknown_compression.apk", LIMITS)
    assert {e.method for e in u.entries} <= {0, 8}
    assert all(u.read(n) is not None for n in u.names())


@pytest.mark.corpus
@needs_corpus
def test_every_corpus_file_opens_or_raises_archive_error() -> None:
    files = sorted(p for p in CORPUS.rglob("*") if p.is_file())
    assert len(files) > 300
    opened = 0
    for path in files:
        try:
            a = ApkArchive.open(path, LIMITS)
        except ArchiveError:
            continue
        opened += 1
        a.facts()
        a.nested_dex()
        if path.stat().st_size < 5 << 20:
            for name in a.names():
                with contextlib.suppress(ArchiveError, LimitExceeded):
                    a.read(name)
    assert opened > 300


@pytest.mark.corpus
@needs_corpus
def test_large_apk_matches_zipfile() -> None:
    path = CORPUS / "large" / "cmp_mixed_13dex.apk"
    if not path.is_file():
        pytest.skip("large APK absent")
    a = ApkArchive.open(path, LIMITS)
    with zipfile.ZipFile(path) as zf:
        assert a.names() == zf.namelist()
        for info in zf.infolist()[:300]:
            assert a.read(info.filename) == zf.read(info)
    dex = a.nested_dex()
    assert [p for p, _ in dex][:2] == ["classes.dex", "classes2.dex"]
    assert len([p for p, _ in dex if "!" not in p]) >= 13
