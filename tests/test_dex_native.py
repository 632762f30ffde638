"""The C dex reader (``apkscan.extract._dexfast``) gives exactly what the Python one gives.

``read_dex(data, path, native=True)`` and ``native=False`` must return the same
:class:`~apkscan.facts.Dex` (tables, and call / const-string pairs in the same order), the
same tamper notes in the same order, or raise the same :class:`DexError`, for any bytes:

* every dex of the committed samples, and of every corpus APK (``-m corpus``);
* thousands of mutants of real dex files from the project's own mutation engines
  (``tests/fuzz/mutate.py`` and the one of ``tests/test_dex.py``);
* hypothesis-generated headers over random bytes, and random edits of a small dex;
* hand-made edge cases: truncated code, payloads at the end, misaligned and shared code,
  huge fill-array sizes, ids out of range, MUTF-8, empty tables, the string, class data,
  code and proto budgets.

Skipped as a whole when the extension is not built (an install without a C compiler).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import random
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apkscan.extract import dex as dexmod
from apkscan.extract.archive import ApkArchive, ArchiveError, LimitExceeded
from apkscan.extract.dex import DexError, read_dex
from apkscan.facts import Dex, Tamper
from apkscan.limits import Limits
from tests.conftest import corpus_dir
from tests.fuzz.mutate import dex_fix, inner_mutation
from tests.test_dex import (
    CODE_BAR,
    CODE_BAZ,
    FIELDS,
    METHODS,
    PROTOS,
    STRINGS,
    TYPES,
    build_dex,
    fix_header,
    mutate,
    sample_dex,
    uleb,
)

pytestmark = pytest.mark.skipif(
    not dexmod.NATIVE_AVAILABLE, reason="the C extension apkscan.extract._dexfast is not built (no compiler?)"
)

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
LIMITS = Limits()

Outcome = tuple[Dex, list[Tamper]] | tuple[str, str]


def outcome(data: bytes, native: bool) -> Outcome:
    try:
        return read_dex(data, "classes.dex", native=native)
    except DexError as exc:
        return ("DexError", str(exc))


def assert_same(data: bytes, label: str = "") -> Outcome:
    """Both readers on ``data``: the same result, compared field by field for a clear
    message, then as a whole (Dex equality compares the pairs in order)."""
    py = outcome(data, native=False)
    c = outcome(data, native=True)
    if isinstance(py[0], Dex) and isinstance(c[0], Dex):
        for f in dataclasses.fields(Dex):
            a, b = getattr(py[0], f.name), getattr(c[0], f.name)
            if a != b:
                pytest.fail(f"{label}: {f.name} differs ({len(a)} vs {len(b)} items)\nnotes: {py[1]}")
        assert py[1] == c[1], f"{label}: notes differ"
        for s in c[0].strings + c[0].methods + c[0].fields + c[0].classes:
            assert type(s) is str
    assert py == c, label
    return py


def dex_of_apk(data: bytes, name: str) -> list[tuple[str, bytes]]:
    try:
        return ApkArchive.from_bytes(data, name, LIMITS).nested_dex()
    except (ArchiveError, LimitExceeded):
        return []


def sample_dexes() -> list[tuple[str, bytes]]:
    out: list[tuple[str, bytes]] = []
    for apk in sorted(SAMPLES.glob("*.apk")):
        out += [(f"{apk.name}!{name}", data) for name, data in dex_of_apk(apk.read_bytes(), apk.name)]
    return out


# --------------------------------------------------------------------------- real files


def test_samples_agree() -> None:
    found = sample_dexes()
    assert len(found) >= 6
    for label, data in found:
        result = assert_same(data, label)
        assert isinstance(result[0], Dex)


@pytest.mark.corpus
def test_corpus_agrees() -> None:
    root = corpus_dir()
    if root is None:
        pytest.skip("real-world corpus absent: set APKSCAN_CORPUS or place it at ../shared/corpus")
    apks = sorted(p for p in root.rglob("*.apk") if p.is_file())
    count = 0
    for apk in apks:
        try:
            archive = ApkArchive.open(apk, LIMITS)
            found = archive.nested_dex()
        except (ArchiveError, LimitExceeded, OSError):
            continue
        for name, data in found:
            assert_same(data, f"{apk.relative_to(root)}!{name}")
            count += 1
    assert count > 100


# --------------------------------------------------------------------------- mutants


def mutants(seeds: list[bytes], rounds: int, seed: int) -> Iterator[tuple[str, bytes]]:
    """Mutants from the fuzz engine (dex fields, id tables, data bytes, byte ops) and
    from test_dex's own mutator, alternately."""
    rng = random.Random(seed)
    for i in range(rounds):
        base = seeds[rng.randrange(len(seeds))]
        if i % 2:
            data, desc = inner_mutation("classes.dex", base, rng)
        else:
            data = mutate(rng, base)
            desc = "test_dex.mutate"
            if rng.random() < 0.5 and len(data) >= 0x70:
                data = fix_header(data)
        yield f"mutant {i} (seed {seed}): {desc}", data


def test_mutants_of_sample_dex_agree() -> None:
    seeds = [data for _, data in sample_dexes()] + [sample_dex()]
    for label, data in mutants(seeds, 3000, seed=11):
        assert_same(data, label)


@pytest.mark.corpus
def test_mutants_of_corpus_dex_agree() -> None:
    root = corpus_dir()
    if root is None:
        pytest.skip("real-world corpus absent")
    seeds: list[bytes] = []
    for apk in sorted(root.glob("*.apk")):
        if apk.stat().st_size > 200_000:
            continue
        seeds += [data for _, data in dex_of_apk(apk.read_bytes(), apk.name) if len(data) < 100_000]
        if len(seeds) >= 12:
            break
    if not seeds:
        pytest.skip("no small dex in the corpus")
    for label, data in mutants(seeds, 1500, seed=12):
        assert_same(data, label)


# --------------------------------------------------------------------------- hypothesis

SPECIAL = [0, 1, 0x6F, 0x70, 0x7F, 0x80, 0xFFFF, 0x10000, 0x7FFFFFFF, 0xFFFFFFFF]


@st.composite
def random_dex(draw: st.DrawFn) -> bytes:
    """A header whose table sizes and offsets mostly point into random bytes."""
    body = draw(st.binary(max_size=1200))
    n = 0x70 + len(body)
    anywhere = st.one_of(st.integers(0x70, max(0x70, n - 1)), st.sampled_from([*SPECIAL, n, n - 1, n + 1]))
    small = st.one_of(st.integers(0, 40), st.sampled_from(SPECIAL))
    tables: list[int] = []
    for _ in range(6):
        tables += [draw(small), draw(anywhere)]
    header = struct.pack(
        "<8sI20s20I",
        b"dex\n" + draw(st.sampled_from([b"035\0", b"039\0", b"999\0"])),
        0,
        bytes(20),
        n,
        0x70,
        0x12345678,
        0,
        0,
        0,
        *tables,
        len(body),
        0x70,
    )
    raw = header + body
    return fix_header(raw) if draw(st.booleans()) else raw


@settings(max_examples=400, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_dex())
def test_hypothesis_random_tables_agree(data: bytes) -> None:
    assert_same(data, "hypothesis random tables")


BASE = sample_dex()


@settings(max_examples=400, deadline=None, database=None)
@given(
    st.lists(st.tuples(st.integers(0, len(BASE) - 1), st.integers(0, 255)), max_size=12),
    st.integers(0, len(BASE)),
    st.booleans(),
)
def test_hypothesis_edits_agree(edits: list[tuple[int, int]], cut: int, fix: bool) -> None:
    buf = bytearray(BASE)
    for pos, value in edits:
        buf[pos] = value
    data = bytes(buf[:cut])
    if fix and len(data) >= 0x70:
        data = fix_header(data)
    assert_same(data, f"edits {edits} cut {cut}")


@settings(max_examples=200, deadline=None, database=None)
@given(st.binary(max_size=300))
def test_hypothesis_any_bytes_agree(data: bytes) -> None:
    assert_same(b"dex\n035\0" + data, "any bytes")
    assert_same(data, "any bytes, no magic")


# --------------------------------------------------------------------------- hand-made


def uleb5(value: int) -> bytes:
    """A ULEB128 padded to five bytes (the longest the reader accepts)."""
    return bytes([(value >> s) & 0x7F | 0x80 for s in (0, 7, 14, 21)] + [(value >> 28) & 0x7F])


def code_item(units: list[int], insns_size: int | None = None) -> bytes:
    size = len(units) if insns_size is None else insns_size
    return struct.pack("<4HII", 4, 1, 2, 0, 0, size) + struct.pack(f"<{len(units)}H", *units)


def craft(
    code: list[bytes],
    owners: list[list[int]],
    *,
    n_methods: int = 8,
    odd: frozenset[int] = frozenset(),
    strings: list[bytes] | None = None,
    tail: bytes = b"",
    fields: list[tuple[int, int, int]] | None = None,
) -> bytes:
    """The sample tables with ``n_methods`` method ids and one class whose direct methods
    own ``code[i]`` for each method index in ``owners[i]`` (repeats allowed). Class data
    comes first, with five-byte ULEB128s, then the code items (4-aligned, or at an odd
    offset for the indices in ``odd``), then ``tail``: the last code item ends the file
    when ``tail`` is empty."""
    methods = [METHODS[i % len(METHODS)] for i in range(n_methods)]
    base = bytearray(build_dex(strings or STRINGS, TYPES, PROTOS, fields or FIELDS, methods, [(0, 1, 0, [], [])]))
    entries = sorted((m, i) for i, ms in enumerate(owners) for m in ms)
    head = uleb(0) + uleb(0) + uleb5(len(entries)) + uleb(0)
    cd_off = len(base)
    pos = cd_off + len(head) + 15 * len(entries)
    blob = bytearray()
    offsets = []
    for i, item in enumerate(code):
        while (pos + len(blob)) % 4:
            blob.append(0)
        if i in odd:
            blob += b"\0"
        offsets.append(pos + len(blob))
        blob += item
    cd = bytearray(head)
    prev = 0
    for m, i in entries:
        cd += uleb5(m - prev) + uleb5(1) + uleb5(offsets[i])
        prev = m
    base += cd + blob + tail
    (class_defs_off,) = struct.unpack_from("<I", base, 0x64)
    struct.pack_into("<I", base, class_defs_off + 24, cd_off)
    return fix_header(bytes(base))


def dex_notes(data: bytes) -> tuple[Dex, list[str]]:
    result = assert_same(data)
    assert isinstance(result[0], Dex)
    return result[0], [t.detail for t in result[1]]  # type: ignore[union-attr]


INVOKE_1 = [0x106E, 0x0001, 0x0000]  # invoke-virtual {v0}, method 1
INVOKE_2 = [0x1070, 0x0002, 0x0000]  # invoke-direct {v0}, method 2
CONST_5 = [0x001A, 0x0005]  # const-string v0, string 5
JUMBO_9 = [0x001B, 0x0009, 0x0000]  # const-string/jumbo v0, string 9
RETURN = [0x000E]


def test_craft_baseline() -> None:
    dex, notes = dex_notes(craft([code_item(INVOKE_1 + CONST_5 + JUMBO_9 + RETURN)], [[0]]))
    assert notes == []
    assert list(dex.calls) == [(0, 1)]
    assert list(dex.const_strings) == [(0, 5), (0, 9)]


SGET_0 = [0x0062, 0x0000]  # sget-object v0, field 0
SGET_1 = [0x0062, 0x0001]  # sget-object v0, field 1 (out of range: the crafted file has one field)
SGET_INT = [0x0060, 0x0000]  # sget v0, field 0: a primitive, not recorded


def test_static_field_reads() -> None:
    """sget-object instructions record (reader, field), as const-string records (loader,
    string): the method that reads ContactsContract...CONTENT_URI is evidence's place."""
    dex, notes = dex_notes(craft([code_item(SGET_INT + SGET_0 + INVOKE_1 + SGET_0 + SGET_1 + RETURN)], [[0]]))
    assert list(dex.field_reads) == [(0, 0)] and list(dex.calls) == [(0, 1)]
    assert notes == ["1 instructions refer to methods, strings or fields out of range"]
    dex, _ = dex_notes(craft([code_item(SGET_0 + RETURN)], [[3]], odd=frozenset({0})))  # misaligned
    assert list(dex.field_reads) == [(3, 0)]


IGET_0 = [0x1054, 0x0000]  # iget-object v0, v1, field 0 (LFoo;->x: the app's own class)
IGET_1 = [0x1054, 0x0001]  # iget-object v0, v1, field 1 (Ljava/lang/Object;->x: a platform class)
IGET_9 = [0x1054, 0x0009]  # iget-object, field 9: out of range
IGET_INT_1 = [0x1052, 0x0001]  # iget v0, v1, field 1: a primitive, not recorded
PLATFORM_FIELD = [(0, 4, 9), (1, 3, 9)]  # LFoo;->x:I, Ljava/lang/Object;->x:Ljava/lang/String;


def test_instance_field_reads_of_platform_classes() -> None:
    """iget-object is recorded, with its method, for a field of a platform class
    (ScanResult.BSSID), not for the app's own fields (most of its code) nor out of range;
    the native walker and the pure-Python one agree (dex_notes), aligned or not."""
    code = IGET_0 + IGET_INT_1 + IGET_1 + IGET_9 + SGET_0 + IGET_1 + RETURN
    dex, notes = dex_notes(craft([code_item(code)], [[0]], fields=PLATFORM_FIELD))
    assert dex.fields[1] == "Ljava/lang/Object;->x:Ljava/lang/String;"
    assert list(dex.field_reads) == [(0, 1), (0, 0)]
    assert notes == []
    dex, _ = dex_notes(craft([code_item(IGET_1 + IGET_0 + RETURN)], [[3]], odd=frozenset({0}), fields=PLATFORM_FIELD))
    assert list(dex.field_reads) == [(3, 1)]
    dex, _ = dex_notes(craft([code_item(IGET_0 + RETURN)], [[0]], fields=PLATFORM_FIELD))
    assert list(dex.field_reads) == []


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40)), max_size=60),
    st.binary(max_size=45),
    st.booleans(),
)
def test_select_pairs_agrees(pairs: list[tuple[int, int]], mask: bytes, second: bool) -> None:
    """The pairs into a mask (call edges into the watched APIs): C and Python agree, values
    past the mask are never selected."""
    from array import array

    from apkscan.extract import _dexfast
    from apkscan.extract.dex import _select_pairs

    flat = array("I", [v for p in pairs for v in p])
    native = array("I")
    native.frombytes(_dexfast.select_pairs(flat, mask, second))
    assert native == _select_pairs(flat, mask, second)
    side = 1 if second else 0
    expected = [p for p in pairs if p[side] < len(mask) and mask[p[side]]]
    assert expected == list(zip(native[0::2], native[1::2], strict=True))


@pytest.mark.parametrize(
    "units",
    [
        INVOKE_1 + INVOKE_2[:2],  # invoke cut after two units: popped
        INVOKE_1 + CONST_5[:1],  # const-string cut: popped
        INVOKE_1 + JUMBO_9[:2],  # jumbo cut: not recorded
        CONST_5 + [0xFA, 0x0002, 0, 0][:3],  # invoke-polymorphic cut: stops
        [*CONST_5, 0x0018, 1, 2],  # const-wide cut
        [*INVOKE_1, 0x0100, 0x0002, 0x0000],  # packed-switch payload header cut
        [*INVOKE_1, 0x0300, 0x0002],  # fill-array-data payload header cut
    ],
)
def test_truncated_code_at_end_of_file(units: list[int]) -> None:
    for claimed in (len(units), len(units) + 1, len(units) + 1000, 0xFFFFFFFF):
        data = craft([code_item(units, claimed)], [[0]])
        if claimed == len(units):
            data = data[:-1]  # an odd number of bytes left for the last unit
            data = fix_header(data)
        dex_notes(data)


@pytest.mark.parametrize(
    "payload",
    [
        [0x0100, 0x0002, 0, 0, 0x006E, 0x0001, 0x006E, 0x0000],  # packed-switch, 2 targets
        [0x0200, 0x0001, 0x1A1A, 0x1A1A, 0x7474, 0x0000],  # sparse-switch
        [0x0300, 0x0001, 0x0003, 0x0000, 0x016E, 0x006E],  # fill-array-data, 3 bytes
        [0x0300, 0xFFFF, 0xFFFF, 0xFFFF],  # fill-array-data 65535 x 2^32-1: past everything
        [0x0300, 0x0002, 0x0000, 0x8000, 0x006E],  # 2 x 2^31 bytes
        [0x0100, 0xFFFF, 0, 0],  # packed-switch claiming 65535 targets
        [0x0200, 0xFFFF, 0, 0],
        [0x0400, 0x006E, 0x0001],  # high byte 4: a plain nop
    ],
)
def test_payloads(payload: list[int]) -> None:
    units = CONST_5 + INVOKE_1 + payload + INVOKE_2 + RETURN
    dex_notes(craft([code_item(units)], [[0]], tail=b"\0" * 8))
    dex_notes(craft([code_item(units)], [[0]]))  # the payload near the end of the file
    dex_notes(craft([code_item(CONST_5 + payload)], [[0]]))


def test_misaligned_code() -> None:
    units = INVOKE_1 + CONST_5 + JUMBO_9 + [0x00FA, 0x0002, 0, 0] + RETURN
    dex, _ = dex_notes(craft([code_item(units)], [[3]], odd=frozenset({0})))
    assert (3, 1) in dex.calls and (3, 2) in dex.calls
    assert set(dex.const_strings) == {(3, 5), (3, 9)}
    dex_notes(craft([code_item(units), code_item(units)], [[1], [2, 4]], odd=frozenset({0})))
    dex_notes(craft([code_item(units, 100)], [[0]], odd=frozenset({0})))  # odd and truncated


def test_shared_code_gives_every_owner_its_uses() -> None:
    """Including const-string/jumbo (the reader used to give those to the first owner
    only) and misaligned code items."""
    units = INVOKE_1 + CONST_5 + JUMBO_9 + RETURN
    for odd in (frozenset(), frozenset({0})):
        dex, notes = dex_notes(craft([code_item(units)], [[0, 2, 5]], odd=odd))
        assert sorted(dex.const_strings) == [(o, s) for o in (0, 2, 5) for s in (5, 9)]
        assert sorted(dex.calls) == [(0, 1), (2, 1), (5, 1)]
        assert "2 methods share a code item with another method" in notes
    dex, _ = dex_notes(craft([code_item(JUMBO_9 + RETURN)], [[1, 3]]))  # jumbo only
    assert sorted(dex.const_strings) == [(1, 9), (3, 9)]


def test_shared_misaligned_code_is_charged_to_the_budget() -> None:
    """Misaligned code shared by many owners: the copies used to be unbounded
    (owners x uses, quadratic in the file size)."""
    n_owners = 3000
    units = (INVOKE_1 + CONST_5) * 2000 + RETURN
    for odd in (frozenset(), frozenset({0})):
        data = craft([code_item(units)], [list(range(n_owners))], n_methods=n_owners, odd=odd)
        start = time.perf_counter()
        dex, notes = dex_notes(data)
        assert time.perf_counter() - start < 10
        assert "shared code items: too many call edges, the rest were dropped" in notes
        assert len(dex.calls) == 1 and len(dex.const_strings) == 1  # the first owner only


def test_out_of_range_references() -> None:
    # invoke method 255, const-string 255, jumbo 0xffffffff, jumbo 3 (fine), invoke method 1
    units = [0x106E, 0x00FF, 0, 0x001A, 0x00FF, 0x001B, 0xFFFF, 0xFFFF, 0x001B, 0x0003, 0, *INVOKE_1, *RETURN]
    for odd in (frozenset(), frozenset({0})):
        dex, notes = dex_notes(craft([code_item(units)], [[0]], odd=odd))
        assert "3 instructions refer to methods, strings or fields out of range" in notes
        assert list(dex.calls) == [(0, 1)]
        assert list(dex.const_strings) == [(0, 3)]


def test_bad_ids_become_placeholders() -> None:
    raw = build_dex(
        STRINGS,
        [*TYPES, 200],  # a type named by a string that does not exist
        [*PROTOS, (2, 77, []), (8, 2, [1, 99])],  # bad return type, bad parameter type
        [*FIELDS, (0, 66, 9), (55, 0, 500)],
        [*METHODS, (0, 88, 3), (0, 0, 1000), (44, 1, 3)],
        [(0, 1, 0, [], []), (77, 1, 0, [], [])],
    )
    dex, notes = dex_notes(raw)
    assert notes == [
        "type_ids name strings outside the string table",
        "field_ids refer outside the type or string tables",
        "method_ids refer outside the type, proto or string tables",
    ]
    assert dex.classes == ("LFoo;", "<bad-type-77>")
    assert dex.fields[1:] == ("LFoo;->x:<bad-type-66>", "<bad-type-55>-><bad-string-500>:LFoo;")
    assert dex.methods[3:] == (
        "LFoo;->bar<bad-proto-88>",
        "LFoo;-><bad-string-1000>()V",
        "<bad-type-44>->bar(Ljava/lang/String;I)V",
    )


def test_proto_parameter_lists() -> None:
    raw = bytearray(build_dex(STRINGS, TYPES, [*PROTOS, (8, 2, [3, 4, 1])], FIELDS, METHODS, []))
    (proto_off,) = struct.unpack_from("<I", raw, 0x4C)
    base = bytes(raw)
    for params_off in (1, 0x70, len(raw) - 4, len(raw) - 2, len(raw), 0xFFFFFFFF):
        buf = bytearray(base)
        struct.pack_into("<I", buf, proto_off + 12 * 2 + 8, params_off)
        dex_notes(fix_header(bytes(buf)))
    # a list claiming 257 entries, and one claiming more than the file holds
    for count in (MAX := dexmod.MAX_PARAMS, MAX + 1, 0xFFFF):
        buf = bytearray(base)
        (params_off,) = struct.unpack_from("<I", buf, proto_off + 12 * 1 + 8)
        struct.pack_into("<I", buf, params_off, count)
        dex_notes(fix_header(bytes(buf)))


def test_proto_names_are_bounded() -> None:
    """Thousands of protos returning (or taking) one huge type: the composed names used
    to be quadratic in the file size (2000 protos x 100 kB here = 200 MB)."""
    big = b"L" + b"a" * 100_000 + b";"
    rows = [(1, 0, [])] * 1000 + [(1, 1, [0, 0, 0])] * 1000
    raw = build_dex([big, b"V"], [0, 1], rows, [], [(1, 1500, 1), (1, 0, 1)], [])
    start = time.perf_counter()
    dex, notes = dex_notes(raw)
    assert time.perf_counter() - start < 5
    assert "proto names too large for the file; names shortened" in notes
    assert dex.methods == ("V->V(" + "L" + "a" * 63 + "\u2026)V", "V->V()L" + "a" * 63 + "\u2026")
    # Real-sized names are left alone.
    small = build_dex([b"L" + b"a" * 300 + b";", b"V"], [0, 1], [(1, 0, [0] * 5)] * 50, [], [(0, 0, 1)], [])
    dex, notes = dex_notes(small)
    assert notes == [] and len(dex.methods[0]) > 1500


def test_names_too_large() -> None:
    big = b"x" * 50_000
    fields = [(0, 0, 1)] * 3000
    raw = build_dex([b"LFoo;", big], [0], [], fields, [(0, 0, 1)] * 10, [])  # no protos: placeholders
    _, notes = dex_notes(raw)
    assert "field and method names too large for the file; names shortened" in notes


MUTF8 = [
    b"plain",
    b"caf\xc3\xa9",
    b"\xed\xa0\xbd\xed\xb8\x80",  # a surrogate pair as two 3-byte sequences
    b"a\xed\xa0\xbdb",  # lone high surrogate
    b"\xed\xb8\x80x",  # lone low surrogate
    b"\xc0\x80",  # NUL
    b"\xff\xfe",
    b"\xe6\x97\xa5\xe6\x9c\xac",
    b"\xf0\x9f\x98\x80",  # 4-byte UTF-8 (not MUTF-8, but valid UTF-8)
    b"\xe6\x97",  # truncated sequence
    b"\xc1\xbf",  # overlong
    b"\x80abc",
    b"\xed\xa0\x80\xed\xa0\x80",  # two high surrogates
    "日本語".encode("utf-16-le"),
    b"",
]


def test_mutf8_strings() -> None:
    dex, _ = dex_notes(build_dex(MUTF8, [], [], [], [], []))
    assert dex.strings[2] == "\U0001f600"
    assert dex.strings[5] == "\0"


def test_tiny_file_decodes_mutf8() -> None:
    """A dex under 256 bytes used to decode MUTF-8 with U+FFFD replacement only."""
    raw = build_dex([b"\xc0\x80x"], [], [], [], [], [])
    assert len(raw) < 256
    dex, _ = dex_notes(raw)
    assert dex.strings == ("\0x",)


def test_string_budget_goes_lean() -> None:
    """Thousands of ids into one huge unterminated run: the reader switches to short
    windows, where invalid UTF-8 is decoded with replacement."""
    run = b"\xc0\x80" + b"ab" * 60_000 + b"\xff"
    raw = bytearray(build_dex([b"x"], [], [], [], [], []))
    start = len(raw)
    raw += run
    ids = [start + 1 + 2 * k for k in range(0, 3000)] + [start, len(raw) - 3, len(raw) - 1, len(raw) + 5]
    # a new string_ids table at the end
    table_off = len(raw)
    raw += struct.pack(f"<{len(ids)}I", *ids)
    struct.pack_into("<II", raw, 0x38, len(ids), table_off)
    _, notes = dex_notes(fix_header(bytes(raw)))
    assert "string data larger than the file could hold; reading the rest shortened" in notes
    assert any("unterminated" in t for t in notes)


def test_string_output_stays_linear() -> None:
    """Past twice its allowance the reader stops reading strings: a file of string ids
    alone cannot make 256 characters of output per 4-byte id (64 per byte)."""
    run = b"ab" * 60_000
    raw = bytearray(build_dex([b"x"], [], [], [], [], []))
    start = len(raw)
    raw += run
    ids = [start + 2 * (k % 50_000) for k in range(600_000)]
    table_off = len(raw)
    raw += struct.pack(f"<{len(ids)}I", *ids)
    struct.pack_into("<II", raw, 0x38, len(ids), table_off)
    data = fix_header(bytes(raw))
    dex, notes = dex_notes(data)
    allowance = 8 * len(data) + (1 << 24)
    total = sum(map(len, dex.strings))
    assert total <= 2 * allowance + len(run) + 2 * dexmod.LEAN_STRING, (total, allowance)
    assert dex.strings[-1] == ""
    assert "string data larger than the file could hold; reading the rest shortened" in notes


def test_string_uleb_prefixes() -> None:
    raw = bytearray(build_dex([b"abc", b"def"], [], [], [], [], []))
    (ids_off,) = struct.unpack_from("<I", raw, 0x3C)
    (first,) = struct.unpack_from("<I", raw, ids_off)
    for prefix in (b"\x80", b"\xff\xff", b"\xff\xff\xff\xff\xff\xff", b"\x81\x01"):
        buf = bytearray(raw)
        buf[first : first + len(prefix)] = prefix
        dex_notes(fix_header(bytes(buf)))
    for cut in range(len(raw) - 8, len(raw) + 1):
        dex_notes(fix_header(bytes(raw[:cut])))


def test_empty_tables_and_header_only() -> None:
    dex_notes(build_dex([], [], [], [], [], []))
    header = bytearray(build_dex([], [], [], [], [], []))[:0x70]
    dex_notes(fix_header(bytes(header)))
    for n in (0, 4, 0x6F):
        assert assert_same(bytes(header[:n]))[0] == "DexError"
    assert assert_same(b"PK\x03\x04" + bytes(200))[0] == "DexError"


def test_class_data_anomalies() -> None:
    sample = bytearray(sample_dex())
    (class_defs_off,) = struct.unpack_from("<I", sample, 0x64)
    # class_data offsets: shared, outside, in the header, at the last byte
    for cd_off in (0, 1, 0x6F, len(sample) - 1, len(sample), 0xFFFFFFFF):
        buf = bytearray(sample)
        struct.pack_into("<I", buf, class_defs_off + 24, cd_off)
        dex_notes(fix_header(bytes(buf)))
    # method indices out of range or repeated, code offsets outside the file
    units = INVOKE_1 + RETURN
    _, notes = dex_notes(craft([code_item(units), code_item(units)], [[0, 0, 1], [1, 7, 9]], n_methods=8))
    assert "3 methods with code but a method index out of range or repeated" in notes


def test_class_data_overlap_budget() -> None:
    """Many class_defs whose class_data items overlap: each declares 30000 methods and
    reads through the same 90 kB (the other headers, then zeros)."""
    n_classes = 50
    head = uleb(0) + uleb(0) + uleb(30_000) + uleb(0)
    base = bytearray(build_dex(STRINGS, TYPES, PROTOS, FIELDS, METHODS, [(0, 1, 0, [], [])] * n_classes))
    cd_off = len(base)
    base += head * n_classes + bytes(90_000)
    (class_defs_off,) = struct.unpack_from("<I", base, 0x64)
    for k in range(n_classes):
        struct.pack_into("<I", base, class_defs_off + 32 * k + 24, cd_off + len(head) * k)
    _, notes = dex_notes(fix_header(bytes(base)))
    assert "class_data items overlap; the rest were not read" in notes


def test_code_walk_budget() -> None:
    """Hundreds of methods pointing at distinct offsets inside one huge code item."""
    units = [0x0001] * 40_000 + RETURN  # 'move' instructions
    n = 600
    data = bytearray(craft([code_item(units)], [[0]], n_methods=n))
    item = bytes(data).index(code_item(units)[:16])
    cd = uleb(0) + uleb(0) + uleb(n) + uleb(0)
    for k in range(n):
        cd += uleb(1 if k else 0) + uleb(1) + uleb(item + 2 * k)
    (class_defs_off,) = struct.unpack_from("<I", data, 0x64)
    struct.pack_into("<I", data, class_defs_off + 24, len(data))
    data += cd
    _, notes = dex_notes(fix_header(bytes(data)))
    assert "code items overlap; the rest were not walked" in notes


def test_many_notes_are_summarised() -> None:
    raw = bytearray(sample_dex())
    for off in range(0x38, 0x70, 4):
        struct.pack_into("<I", raw, off, 0xFFFFFFF0)
    dex_notes(bytes(raw))
    dex_notes(fix_header(bytes(raw)))


def test_fuzz_mutators_on_crafted_code() -> None:
    """Mutants of the crafted files (shared, misaligned, payloads) through both readers."""
    units = INVOKE_1 + CONST_5 + JUMBO_9 + [0x0300, 0x0001, 0x0003, 0x0000, 0x016E, 0x006E] + CODE_BAR + RETURN
    seeds = [
        craft([code_item(units), code_item(CODE_BAZ)], [[0, 1, 2], [3]], odd=frozenset({1})),
        craft([code_item(units, 1000)], [[0, 4]], odd=frozenset({0})),
    ]
    rng = random.Random(5)
    for i in range(600):
        buf = bytearray(seeds[i % 2])
        for _ in range(rng.randint(1, 6)):
            buf[rng.randrange(0x70, len(buf))] = rng.randrange(256)
        if rng.random() < 0.5:
            dex_fix(buf)
        assert_same(bytes(buf), f"crafted mutant {i}")


# --------------------------------------------------------------------------- switch


def test_pure_python_switch() -> None:
    """APKSCAN_PURE_PYTHON=1 at import time turns the extension off; it is on otherwise."""
    code = "import apkscan.extract.dex as d; print(d.NATIVE, d.NATIVE_AVAILABLE)"
    env = {k: v for k, v in os.environ.items() if k != "APKSCAN_PURE_PYTHON"}
    on = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=ROOT, check=True)
    off = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "APKSCAN_PURE_PYTHON": "1"},
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    assert on.stdout.split() == ["True", "True"]
    assert off.stdout.split() == ["False", "True"]


def test_no_leaks() -> None:
    """Memory traced by tracemalloc (Python objects and the extension's raw buffers) does
    not grow over many native reads, hostile ones and failing ones included."""
    import gc
    import tracemalloc

    inputs = [sample_dex(), *[data for _, data in sample_dexes()[:3]]]
    units = INVOKE_1 + CONST_5 + JUMBO_9 + RETURN
    inputs.append(craft([code_item(units), code_item(units, 99)], [[0, 1, 2], [3]], odd=frozenset({1})))
    inputs.append(build_dex(MUTF8, [], [], [], [], []))
    inputs += [data for _, data in mutants(inputs[:1], 50, seed=3)]

    def run() -> None:
        for data in inputs:
            with contextlib.suppress(DexError):
                read_dex(data, "a.dex", native=True)

    run()
    gc.collect()
    tracemalloc.start()
    try:
        run()
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(20):
            run()
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert after - before < 64 * 1024, f"{after - before} bytes more after 20 rounds"


def test_extension_rejects_bad_arguments() -> None:
    """The extension checks its own arguments (dex.py never passes these)."""
    from apkscan.extract import _dexfast

    data = sample_dex()
    with pytest.raises(ValueError):
        _dexfast.read_strings(data, len(data) - 2, 5, dexmod.decode_mutf8)
    with pytest.raises(ValueError):
        _dexfast.pick(data, 0x70, 10**6, 4, [], "type")
    with pytest.raises(ValueError):
        _dexfast.walk_code(data, 0x70, 10**6, 1, 1, 1)
    with pytest.raises(ValueError):
        _dexfast.compose(b"1234567", [], [], [], False)
    with pytest.raises(TypeError):
        _dexfast.compose(b"", ["a", 1], [], [], False)  # type: ignore[list-item]
    with pytest.raises(TypeError):
        _dexfast.protos(data, 0x70, 0, [None])  # type: ignore[list-item]
    with pytest.raises(ZeroDivisionError):
        bad = build_dex([b"\xff"], [], [], [], [], [])
        _dexfast.read_strings(bad, 0x70, 1, lambda raw: 1 // 0)
