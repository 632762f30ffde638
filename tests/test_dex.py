"""Tests for :mod:`apkscan.extract.dex`.

Three layers:

* a tiny dex assembled here byte by byte (no corpus needed) with payload
  pseudo-instructions full of bytes that look like invokes, to prove the walker follows
  instruction widths instead of matching bytes;
* random mutation of a small dex, thousands of times: ``read_dex`` may only return or
  raise :class:`DexError`, each within a time bound;
* agreement with androguard on real APKs from the corpus (``-m corpus``; skipped when
  ``../shared/corpus`` or ``$APKSCAN_CORPUS`` is absent).
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import struct
import time
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from apkscan.extract.dex import DexError, decode_mutf8, read_dex
from apkscan.facts import Dex

# --------------------------------------------------------------------------- corpus

REPO = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("APKSCAN_CORPUS") or REPO.parent / "shared" / "corpus")


def corpus_apk(name: str) -> Path:
    path = CORPUS / name
    if not path.is_file():
        pytest.skip(f"corpus APK {name} not found under {CORPUS} (set APKSCAN_CORPUS)")
    return path


def dex_entries(path: Path) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(path) as zf:
        return [
            (info.filename, zf.read(info)) for info in zf.infolist() if re.fullmatch(r"classes\d*\.dex", info.filename)
        ]


# --------------------------------------------------------------------------- builder


def uleb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def align4(buf: bytearray) -> None:
    while len(buf) % 4:
        buf.append(0)


def build_dex(
    strings: list[bytes],
    types: list[int],
    protos: list[tuple[int, int, list[int]]],
    fields: list[tuple[int, int, int]],
    methods: list[tuple[int, int, int]],
    classes: list[tuple[int, int, int, list[tuple[int, list[int]]], list[tuple[int, list[int]]]]],
) -> bytes:
    """Assemble a dex file.

    ``strings`` are MUTF-8 bytes; ``types`` string indices; ``protos`` (shorty string,
    return type, parameter types); ``fields`` (class type, type, name string);
    ``methods`` (class type, proto, name string); ``classes`` (class type, superclass
    type, number of instance fields, direct methods, virtual methods) where methods are
    (method index, code units) and an empty unit list means no code.
    """
    off = 0x70
    layout = {}
    for name, count, size in (
        ("string_ids", len(strings), 4),
        ("type_ids", len(types), 4),
        ("proto_ids", len(protos), 12),
        ("field_ids", len(fields), 8),
        ("method_ids", len(methods), 8),
        ("class_defs", len(classes), 32),
    ):
        layout[name] = (count, off if count else 0)
        off += count * size
    data_off = off
    data = bytearray()

    def here() -> int:
        return data_off + len(data)

    string_offs = []
    for raw in strings:
        string_offs.append(here())
        data += uleb(len(decode_mutf8(raw).encode("utf-16-le")) // 2) + raw + b"\0"
    param_offs = []
    for _shorty, _ret, params in protos:
        if not params:
            param_offs.append(0)
            continue
        align4(data)
        param_offs.append(here())
        data += struct.pack(f"<I{len(params)}H", len(params), *params)
    code_offs: dict[tuple[int, int], int] = {}
    for ci, (_c, _s, _nf, direct, virtual) in enumerate(classes):
        for mi, (_midx, units) in enumerate(direct + virtual):
            if units:
                align4(data)
                code_offs[ci, mi] = here()
                data += struct.pack("<4HII", 4, 1, 2, 0, 0, len(units))
                data += struct.pack(f"<{len(units)}H", *units)
    class_data_offs = []
    for ci, (_c, _s, n_fields, direct, virtual) in enumerate(classes):
        class_data_offs.append(here())
        data += uleb(0) + uleb(n_fields) + uleb(len(direct)) + uleb(len(virtual))
        for k in range(n_fields):
            data += uleb(1 if k else 0) + uleb(0x1002)  # two-byte access flags
        mi = 0
        for group in (direct, virtual):
            prev = 0
            for k, (midx, _units) in enumerate(group):
                data += uleb(midx - prev if k else midx) + uleb(0x10001)
                data += uleb(code_offs.get((ci, mi), 0))
                prev = midx
                mi += 1

    out = bytearray(data_off)
    out[0:8] = b"dex\n035\0"
    header = [
        0,  # file_size, set below
        0x70,
        0x12345678,
        0,
        0,
        0,  # link, map
    ]
    for name in ("string_ids", "type_ids", "proto_ids", "field_ids", "method_ids", "class_defs"):
        header += list(layout[name])
    header += [len(data), data_off]
    struct.pack_into("<20I", out, 32, *header)
    pos = layout["string_ids"][1]
    for so in string_offs:
        struct.pack_into("<I", out, pos, so)
        pos += 4
    pos = layout["type_ids"][1]
    for t in types:
        struct.pack_into("<I", out, pos, t)
        pos += 4
    pos = layout["proto_ids"][1]
    for (shorty, ret, _params), po in zip(protos, param_offs, strict=True):
        struct.pack_into("<3I", out, pos, shorty, ret, po)
        pos += 12
    pos = layout["field_ids"][1]
    for c, t, s in fields:
        struct.pack_into("<HHI", out, pos, c, t, s)
        pos += 8
    pos = layout["method_ids"][1]
    for c, p, s in methods:
        struct.pack_into("<HHI", out, pos, c, p, s)
        pos += 8
    pos = layout["class_defs"][1]
    for (c, sup, _nf, _d, _v), cdo in zip(classes, class_data_offs, strict=True):
        struct.pack_into("<8I", out, pos, c, 1, sup, 0, 0xFFFFFFFF, 0, cdo, 0)
        pos += 32
    out += data
    return fix_header(bytes(out))


def fix_header(raw: bytes) -> bytes:
    """Set file_size and the adler32 checksum (the SHA-1 signature is not checked)."""
    buf = bytearray(raw)
    struct.pack_into("<I", buf, 32, len(buf))
    struct.pack_into("<I", buf, 8, zlib.adler32(bytes(buf[12:])))
    return bytes(buf)


STRINGS = [
    b"LFoo;",  # 0
    b"Ljava/lang/Object;",  # 1
    b"V",  # 2
    b"bar",  # 3
    b"baz",  # 4
    b"hello",  # 5
    b"Ljava/lang/String;",  # 6
    b"I",  # 7
    b"VLI",  # 8
    b"x",  # 9
    b"caf\xc3\xa9 \xed\xa0\xbd\xed\xb8\x80 \xc0\x80!",  # 10: é, U+1F600 as MUTF-8, NUL
]
TYPES = [0, 1, 2, 6, 7]  # LFoo; Object V String I
PROTOS = [(2, 2, []), (8, 2, [3, 4])]  # ()V, (Ljava/lang/String;I)V
FIELDS = [(0, 4, 9)]  # LFoo;->x:I
METHODS = [(0, 0, 3), (0, 1, 4), (1, 0, 9)]  # LFoo;->bar()V, LFoo;->baz(..)V, Object->x()V

# fmt: off
CODE_BAR = [
    0x001A, 0x0005,  # const-string v0, "hello"
    0x106E, 0x0002, 0x0000,  # invoke-virtual {v0}, Object->x()V
    0x002B, 0x0008, 0x0000,  # packed-switch v0, +8 (payload)
    0x0000,  # nop
    0x000E,  # return-void
    0x0000,  # nop (alignment)
    0x0100, 0x0002, 0x0000, 0x0000, 0x006E, 0x0001, 0x006E, 0x0000,  # packed payload
    0x0300, 0x0001, 0x0003, 0x0000, 0x016E, 0x006E,  # fill-array-data payload (3 bytes)
    0x0200, 0x0001, 0x1A1A, 0x1A1A, 0x7474, 0x0000,  # sparse-switch payload
    0x0277, 0x0001, 0x0000,  # invoke-static/range {v0..v1}, LFoo;->baz
    0x001B, 0x000A, 0x0000,  # const-string/jumbo v0, string 10
    0x000E,  # return-void
]
CODE_BAZ = [
    0x1070, 0x0000, 0x0000,  # invoke-direct {v0}, LFoo;->bar()V
    0x1070, 0x0000, 0x0000,  # the same again (deduplicated)
    0x0012,  # const/4 v0, 0
    0x000E,
]
# fmt: on


def sample_dex() -> bytes:
    return build_dex(
        STRINGS,
        TYPES,
        PROTOS,
        FIELDS,
        METHODS,
        [(0, 1, 1, [(0, CODE_BAR), (1, CODE_BAZ)], [])],
    )


# --------------------------------------------------------------------------- synthetic


def test_sample_tables() -> None:
    dex, notes = read_dex(sample_dex(), "classes.dex")
    assert notes == []
    assert dex.path == "classes.dex"
    assert dex.classes == ("LFoo;",)
    assert dex.methods == (
        "LFoo;->bar()V",
        "LFoo;->baz(Ljava/lang/String;I)V",
        "Ljava/lang/Object;->x()V",
    )
    assert dex.fields == ("LFoo;->x:I",)
    assert dex.strings[:10] == tuple(s.decode() for s in STRINGS[:10])
    assert dex.strings[10] == "café \U0001f600 \0!"


def test_sample_calls_follow_instruction_widths() -> None:
    dex, _ = read_dex(sample_dex(), "classes.dex")
    # The payloads hold 0x6e/0x74/0x1a bytes at code-unit boundaries; a byte scan would
    # report them as invokes and const-strings.
    assert sorted(dex.calls) == [(0, 1), (0, 2), (1, 0)]
    assert sorted(dex.const_strings) == [(0, 5), (0, 10)]


def test_mutf8_decoding() -> None:
    assert decode_mutf8(b"plain") == "plain"
    assert decode_mutf8(b"\xc0\x80") == "\0"
    assert decode_mutf8(b"\xed\xa0\xbd\xed\xb8\x80") == "\U0001f600"
    assert decode_mutf8(b"a\xed\xa0\xbdb") == "a\ufffdb"  # lone high surrogate
    assert decode_mutf8(b"\xff\xfe") == "\ufffd\ufffd"
    assert decode_mutf8("日本".encode()) == "日本"


@pytest.mark.parametrize(
    ("offset", "value", "expect"),
    [
        (4, b"999", "unknown dex version"),
        (32, struct.pack("<I", 12345), "file_size"),
        (36, struct.pack("<I", 0x78), "header_size"),
        (40, struct.pack("<I", 0x78563412), "endian_tag"),
        (60, struct.pack("<I", 0x7FFFFFF0), "string_ids"),
        (88, struct.pack("<I", 0x10000), "method_ids"),
    ],
)
def test_header_tamper(offset: int, value: bytes, expect: str) -> None:
    raw = bytearray(sample_dex())
    raw[offset : offset + len(value)] = value
    checksum_kept = bytes(raw)
    if offset != 32:
        checksum_kept = fix_header(bytes(raw))
    _, notes = read_dex(checksum_kept, "classes.dex")
    assert any(t.kind == "dex-header" and expect in t.detail for t in notes), notes


def test_checksum_mismatch() -> None:
    raw = bytearray(sample_dex())
    raw[raw.index(b"hello") + 4] = ord("p")
    _, notes = read_dex(bytes(raw), "x.dex")
    assert [t.kind for t in notes] == ["dex-header"]
    assert "checksum" in notes[0].detail


def test_not_a_dex() -> None:
    with pytest.raises(DexError):
        read_dex(b"PK\x03\x04" + bytes(200), "classes.dex")
    with pytest.raises(DexError):
        read_dex(b"dex\n035\0", "classes.dex")
    with pytest.raises(DexError):
        read_dex(b"", "classes.dex")


def test_truncated_keeps_what_fits() -> None:
    raw = sample_dex()
    dex, notes = read_dex(raw[: len(raw) - 40], "classes.dex")
    assert notes
    assert dex.methods  # tables before the cut are still read


def test_shared_code_and_overlap_are_bounded() -> None:
    # Many methods pointing at one code item: walked once, uses copied, noted.
    methods = [(0, 0, 3)] * 200
    direct = [(i, CODE_BAZ) for i in range(200)]
    raw = build_dex(STRINGS, TYPES, PROTOS, FIELDS, methods, [(0, 1, 0, direct, [])])
    dex, _ = read_dex(raw, "classes.dex")
    assert len(dex.calls) == 200


# --------------------------------------------------------------------------- fuzzing


def mutate(rng: random.Random, raw: bytes) -> bytes:
    buf = bytearray(raw)
    kind = rng.random()
    if kind < 0.45:
        for _ in range(rng.randint(1, 8)):
            buf[rng.randrange(len(buf))] = rng.randrange(256)
    elif kind < 0.8:
        # An interesting u4 over a header field, a table entry or anywhere.
        pos = rng.choice([rng.randrange(8, 0x70, 4), rng.randrange(0, len(buf) - 4)])
        value = rng.choice([0, 1, 0x7F, 0x80, 0xFFFF, 0x10000, 0x7FFFFFFF, 0xFFFFFFFF, len(buf), len(buf) - 1])
        struct.pack_into("<I", buf, pos, value)
    elif kind < 0.9:
        del buf[rng.randrange(len(buf)) :]
    else:
        start = rng.randrange(len(buf))
        chunk = buf[start : start + rng.randint(1, 64)]
        pos = rng.randrange(len(buf))
        buf[pos : pos + len(chunk)] = chunk
    return bytes(buf)


def fuzz(raw: bytes, rounds: int, seed: int, per_input: float) -> dict[str, int]:
    rng = random.Random(seed)
    outcome = {"ok": 0, "DexError": 0}
    for _ in range(rounds):
        sample = mutate(rng, raw)
        if rng.random() < 0.5:
            sample = fix_header(sample) if len(sample) >= 0x70 else sample
        start = time.perf_counter()
        try:
            dex, notes = read_dex(sample, "fuzz.dex")
        except DexError:
            outcome["DexError"] += 1
        else:
            assert isinstance(dex, Dex)
            assert all(0 <= c < len(dex.methods) and 0 <= m < len(dex.methods) for c, m in dex.calls)
            assert all(0 <= m < len(dex.methods) and 0 <= s < len(dex.strings) for m, s in dex.const_strings)
            assert all(0 <= m < len(dex.methods) and 0 <= f < len(dex.fields) for m, f in dex.field_reads)
            assert len(notes) <= 41
            outcome["ok"] += 1
        elapsed = time.perf_counter() - start
        assert elapsed < per_input, f"{elapsed:.2f}s for one mutated input"
    return outcome


def test_fuzz_synthetic() -> None:
    outcome = fuzz(sample_dex(), 3000, seed=1, per_input=1.0)
    assert outcome["ok"] > 1000


@pytest.mark.corpus
@pytest.mark.parametrize(
    ("apk", "rounds"),
    [("agtest_urzip_unicode_filename.apk", 3000), ("droidbench_DirectLeak1.apk", 150)],
)
def test_fuzz_real_dex(apk: str, rounds: int) -> None:
    entries = dex_entries(corpus_apk(apk))
    raw = min((data for _, data in entries), key=len)
    outcome = fuzz(raw, rounds, seed=2, per_input=5.0)
    assert outcome["ok"] > rounds // 3


def test_fuzz_hypothesis() -> None:
    hypothesis = pytest.importorskip("hypothesis")
    st = pytest.importorskip("hypothesis.strategies")
    base = sample_dex()

    @hypothesis.settings(max_examples=300, deadline=None, database=None)
    @hypothesis.given(
        st.lists(st.tuples(st.integers(0, len(base) - 1), st.integers(0, 255)), max_size=12),
        st.integers(0x70, len(base)),
        st.booleans(),
    )
    def check(edits: list[tuple[int, int]], cut: int, fix: bool) -> None:
        buf = bytearray(base)
        for pos, value in edits:
            buf[pos] = value
        sample = bytes(buf[:cut])
        if fix:
            sample = fix_header(sample)
        with contextlib.suppress(DexError):
            read_dex(sample, "h.dex")

    check()


# --------------------------------------------------------------------------- androguard


@pytest.fixture(scope="module")
def androguard() -> Iterator[Any]:
    pytest.importorskip("androguard")
    from loguru import logger

    logger.disable("androguard")
    from androguard.core import dex as agdex

    yield agdex


def norm(class_name: str, name: str, descriptor: str) -> str:
    return f"{class_name}->{name}{descriptor.replace(' ', '')}"


TABLE_APKS = [
    "droidbench_DirectLeak1.apk",
    "droidbench_PrivateDataLeak3.apk",
    "droidbench_EmulatorDetection_ContentProvider1.apk",
    "mobsf_test_helloworld.apk",
    "agtest_fdroid_a2dp.Vol_137.apk",
    "agtest_fdroid_com.teleca.jamendo_35.apk",
    "large/cmp_whatsapp_2dex.apk",
]


@pytest.mark.corpus
@pytest.mark.parametrize("apk", TABLE_APKS)
def test_tables_match_androguard(apk: str, androguard: Any) -> None:
    entries = dex_entries(corpus_apk(apk))
    assert entries
    for name, data in entries:
        dex, _ = read_dex(data, name)
        ag = androguard.DEX(data)
        expected = {norm(m.get_class_name(), m.get_name(), m.get_descriptor()) for m in ag.get_methods()}
        assert set(dex.methods) == expected, name
        assert len(dex.methods) == len(ag.get_methods())
        assert set(dex.classes) == {c.get_name() for c in ag.get_classes()}
        assert len(dex.strings) == len(ag.get_strings())
        fields = {f"{f.get_class_name()}->{f.get_name()}:{f.get_type()}" for f in ag.get_fields()}
        assert set(dex.fields) == fields


SENSITIVE = [
    "Landroid/telephony/TelephonyManager;",
    "Landroid/content/ContentResolver;",
    "Landroid/content/pm/PackageManager;",
    "Landroid/location/LocationManager;",
]


@pytest.mark.corpus
@pytest.mark.parametrize(
    "apk",
    [
        "droidbench_DirectLeak1.apk",
        "droidbench_PrivateDataLeak3.apk",
        "droidbench_EmulatorDetection_ContentProvider1.apk",
    ],
)
def test_callers_match_androguard_xrefs(apk: str, androguard: Any) -> None:
    path = corpus_apk(apk)
    from androguard.misc import AnalyzeAPK

    ours: set[tuple[str, str]] = set()
    for name, data in dex_entries(path):
        dex, _ = read_dex(data, name)
        for caller, callee in dex.calls:
            target = dex.methods[callee]
            if target.split("->", 1)[0] in SENSITIVE:
                ours.add((dex.methods[caller], target))

    _, _, dx = AnalyzeAPK(str(path))
    theirs: set[tuple[str, str]] = set()
    for cls in SENSITIVE:
        for meth in dx.find_methods(classname=re.escape(cls)):
            callee = norm(meth.class_name, meth.name, meth.descriptor)
            for _, caller, _ in meth.get_xref_from():
                theirs.add((norm(caller.class_name, caller.name, caller.descriptor), callee))
    assert theirs, f"{apk}: androguard found no call to the sensitive classes"
    assert ours == theirs


@pytest.mark.corpus
def test_large_apk_reads_every_dex() -> None:
    path = corpus_apk("large/cmp_mixed_13dex.apk")
    total_calls = 0
    for name, data in dex_entries(path):
        dex, notes = read_dex(data, name)
        assert not [t for t in notes if t.kind == "dex-header"], notes
        assert dex.calls and dex.const_strings
        total_calls += len(dex.calls)
    assert total_calls > 100_000
