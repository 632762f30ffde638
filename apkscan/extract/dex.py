"""A fast dex reader that survives hostile input, using only the standard library.

:func:`read_dex` turns the bytes of one ``.dex`` file into a :class:`~apkscan.facts.Dex`:
the string table, every type/field/method reference in smali form, the defined classes,
the call edges (which defined method invokes which method) and the ``const-string`` uses.

Everything comes from the public Dalvik documentation (AOSP "Dalvik Executable format"
and "Dalvik bytecode"). The layout in brief:

* a 0x70-byte header with the sizes and offsets of the id tables;
* ``string_ids`` (u4 offsets to MUTF-8 string data), ``type_ids`` (u4 string index),
  ``proto_ids`` (shorty, return type, parameter ``type_list`` offset), ``field_ids`` and
  ``method_ids`` (u2 class, u2 type/proto, u4 name) and ``class_defs`` (8 x u4);
* per class a ``class_data_item`` of ULEB128 numbers listing the methods and the offsets
  of their ``code_item``; the bytecode is an array of 16-bit code units, each instruction
  being 1 to 5 units wide depending only on its opcode, except the three payload
  pseudo-instructions (``0x0100`` packed-switch, ``0x0200`` sparse-switch, ``0x0300``
  fill-array-data) whose length is stored inside them.

Hostile input: every offset and size is checked against the file, counts are capped by
what can fit, every loop advances by at least one byte or unit, and code items or class
data shared by several owners are walked once. Anything odd becomes a
:class:`~apkscan.facts.Tamper` note; only a file without a usable header raises
:class:`DexError`.

Speed: the bytecode walk is the hot loop. It indexes the ``bytes`` object directly (the
opcode is the low byte of a code unit, so ``data[pos]`` is the opcode and small ints are
cached), looks the width up in a 256-entry table in bytes, and only leaves the fast path
for invokes, ``const-string`` and the nop/payload opcode. Call edges are collected as
``caller << 32 | callee`` ints in a set, which costs less than tuples.

Native path: when the optional C extension :mod:`apkscan.extract._dexfast` was built at
install time, the hot parts (string table, composed names, class data and the bytecode
walk) run there, five to seven times faster, with exactly the same results; the Python code
below stays the reference implementation and the fallback. :data:`NATIVE` tells which path
:func:`read_dex` takes. Setting the environment variable ``APKSCAN_PURE_PYTHON=1`` before
this module is imported (it is read once, at import time) forces the pure-Python path.
"""

from __future__ import annotations

import codecs
import contextlib
import re
import struct
import sys
import zlib
from array import array
from collections.abc import Callable, Iterable
from itertools import chain, compress, repeat

from apkscan.facts import FRAMEWORK_CLASSES, Dex, Pairs, Tamper
from apkscan.runtime import gc_paused, native_allowed

try:
    from apkscan.extract import _dexfast
except ImportError:  # built without a compiler: the pure-Python reader does everything
    _dexfast = None  # type: ignore[assignment]

__all__ = ["NATIVE", "NATIVE_AVAILABLE", "DexError", "read_dex"]

NATIVE_AVAILABLE: bool = _dexfast is not None and array("I").itemsize == 4
"""Whether the C extension ``apkscan.extract._dexfast`` is importable (and usable here)."""
NATIVE: bool = NATIVE_AVAILABLE and native_allowed()
"""Whether :func:`read_dex` uses the C extension by default: it is available and
``APKSCAN_PURE_PYTHON`` was not set (to anything but ``0``) when this module was imported."""

HEADER_SIZE = 0x70
ENDIAN_CONSTANT = 0x12345678
KNOWN_VERSIONS = frozenset({b"035", b"036", b"037", b"038", b"039", b"040", b"041"})
MAX_NOTES = 40
"""Tamper notes kept per dex; more are summarised in one last note."""

_HEADER = struct.Struct("<8sI20s20I")
_LITTLE = sys.byteorder == "little"


class DexError(Exception):
    """The data has no usable dex header: not a dex at all, or truncated beyond use."""


# --------------------------------------------------------------------------- widths

# Width of each opcode in code units (Dalvik bytecode, "Summary of bytecode set").
_UNIT_WIDTH: list[int] = [1] * 256


def _set(first: int, last: int, width: int) -> None:
    for op in range(first, last + 1):
        _UNIT_WIDTH[op] = width


_set(0x02, 0x02, 2)  # move/from16 22x
_set(0x03, 0x03, 3)  # move/16 32x
_set(0x05, 0x05, 2)  # move-wide/from16
_set(0x06, 0x06, 3)  # move-wide/16
_set(0x08, 0x08, 2)  # move-object/from16
_set(0x09, 0x09, 3)  # move-object/16
_set(0x13, 0x13, 2)  # const/16 21s
_set(0x14, 0x14, 3)  # const 31i
_set(0x15, 0x16, 2)  # const/high16, const-wide/16
_set(0x17, 0x17, 3)  # const-wide/32 31i
_set(0x18, 0x18, 5)  # const-wide 51l
_set(0x19, 0x1A, 2)  # const-wide/high16, const-string 21c
_set(0x1B, 0x1B, 3)  # const-string/jumbo 31c
_set(0x1C, 0x1C, 2)  # const-class 21c
_set(0x1F, 0x20, 2)  # check-cast 21c, instance-of 22c
_set(0x22, 0x23, 2)  # new-instance 21c, new-array 22c
_set(0x24, 0x26, 3)  # filled-new-array(/range) 35c/3rc, fill-array-data 31t
_set(0x29, 0x29, 2)  # goto/16 20t
_set(0x2A, 0x2C, 3)  # goto/32 30t, packed-switch, sparse-switch 31t
_set(0x2D, 0x3D, 2)  # cmpkind 23x, if-test 22t, if-testz 21t
_set(0x44, 0x6D, 2)  # aget/aput 23x, iget/iput 22c, sget/sput 21c
_set(0x6E, 0x72, 3)  # invoke-kind 35c
_set(0x74, 0x78, 3)  # invoke-kind/range 3rc
_set(0x90, 0xAF, 2)  # binop 23x
_set(0xD0, 0xE2, 2)  # binop/lit16 22s, binop/lit8 22b
_set(0xFA, 0xFB, 4)  # invoke-polymorphic(/range) 45cc/4rcc
_set(0xFC, 0xFD, 3)  # invoke-custom(/range) 35c/3rc (call site index, not a method)
_set(0xFE, 0xFF, 2)  # const-method-handle, const-method-type 21c

# The walker's table: width in *bytes* for ordinary instructions, or a code <= 0.
_K_NOP = 0  # nop, or a payload pseudo-instruction (high byte 1, 2 or 3)
_K_INVOKE = -1  # method index in unit 1, 3 units
_K_STRING = -2  # const-string: string index in unit 1, 2 units
_K_STRING_JUMBO = -3  # const-string/jumbo: u4 string index in units 1-2, 3 units
_K_POLY = -4  # invoke-polymorphic: method index in unit 1, 4 units
_K_FIELD = -5  # sget-object / iget-object: field index in unit 1, 2 units (primitives are not recorded)

_WALK: list[int] = [2 * w for w in _UNIT_WIDTH]
_WALK[0x00] = _K_NOP
for _op in (*range(0x6E, 0x73), *range(0x74, 0x79)):
    _WALK[_op] = _K_INVOKE
_WALK[0x1A] = _K_STRING
_WALK[0x62] = _K_FIELD
_WALK[0x54] = _K_FIELD  # iget-object 22c: field index in unit 1, kept for the platform's classes
_WALK[0x1B] = _K_STRING_JUMBO
_WALK[0xFA] = _K_POLY
_WALK[0xFB] = _K_POLY
WALK_TABLE: tuple[int, ...] = tuple(_WALK)
"""Per opcode: width in bytes (> 0) or one of the ``_K_*`` codes (<= 0)."""


# --------------------------------------------------------------------------- strings


def _mutf8_errors(exc: UnicodeError) -> tuple[str, int]:
    """Codec error handler for the MUTF-8 forms plain UTF-8 rejects.

    ``C0 80`` is NUL; a 3-byte encoded surrogate (``ED A0..BF xx``) becomes that
    surrogate (pairs are joined afterwards); any other bad byte becomes U+FFFD."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    raw = exc.object
    s = exc.start
    if raw[s : s + 2] == b"\xc0\x80":
        return "\0", s + 2
    if s + 2 < len(raw) and raw[s] == 0xED and 0xA0 <= raw[s + 1] <= 0xBF and 0x80 <= raw[s + 2] <= 0xBF:
        return chr(0xD000 | ((raw[s + 1] & 0x3F) << 6) | (raw[s + 2] & 0x3F)), s + 3
    return "\ufffd", s + 1


codecs.register_error("apkscan-mutf8", _mutf8_errors)
_SURROGATE = re.compile("[\ud800-\udfff]")


def decode_mutf8(raw: bytes) -> str:
    """MUTF-8 to ``str``; plain UTF-8 (the usual case) takes the C fast path.

    Surrogate pairs written as two 3-byte sequences are joined, ``C0 80`` is NUL, lone
    surrogates and malformed bytes become U+FFFD. Never raises."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("utf-8", "apkscan-mutf8")
    if _SURROGATE.search(text):
        # utf-16 joins valid pairs; lone surrogates become U+FFFD.
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


LEAN_STRING = 256
"""Once a file has made the string reader scan more than its budget, strings are read
from a window of this many bytes only (a hostile file can point thousands of ids into
one huge unterminated run)."""


def _read_strings(data: bytes, offsets: array[int]) -> tuple[list[str], int, bool]:
    """The strings at ``offsets``; also how many offsets were outside the file or
    unterminated, and whether the reader had to fall back to :data:`LEAN_STRING` windows
    (then strings that are not valid UTF-8 are decoded with U+FFFD replacement only)."""
    n = len(data)
    out: list[str] = []
    append = out.append
    find = data.find
    bad = 0
    allowance = 8 * n + (1 << 24)
    budget = allowance
    window = n + 1
    lean = False
    for off in offsets:
        if off >= n:
            bad += 1
            append("")
            continue
        # Skip the ULEB128 utf16_size (1 to 5 bytes).
        p = off + 1
        if data[off] > 0x7F:
            stop = min(off + 5, n)
            while p < stop and data[p - 1] > 0x7F:
                p += 1
        end = find(b"\0", p, p + window)
        if end < 0:
            bad += 1
            end = min(n, p + window)
        budget -= end - p
        if budget < 0 and not lean:
            lean = True
            window = LEAN_STRING
            end = min(end, p + window)
        elif lean and window and budget < -allowance:
            # Twice the allowance read: the rest of the table stays empty, so that a file
            # of string ids alone cannot make 64 characters of output per byte.
            window = 0
        raw = data[p:end]
        try:
            append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            append(raw.decode("utf-8", "replace") if lean else decode_mutf8(raw))
    return out, bad, lean


# --------------------------------------------------------------------------- helpers


def _u4_array(data: bytes, off: int, count: int) -> array[int]:
    arr = array("I", data[off : off + 4 * count])
    if not _LITTLE:
        arr.byteswap()
    return arr


def _u2_array(data: bytes, off: int, count: int) -> array[int]:
    arr = array("H", data[off : off + 2 * count])
    if not _LITTLE:
        arr.byteswap()
    return arr


def _pick(table: list[str], idx: int, what: str) -> str:
    if 0 <= idx < len(table):
        return table[idx]
    return f"<bad-{what}-{idx}>"


MAX_PARAMS = 256
"""More parameters than Dalvik allows (255 argument words): the list is not read."""
SHORT_NAME = 64


def _param_types(data: bytes, off: int) -> array[int] | None:
    """The type indices of the ``type_list`` at ``off`` (None when it is unusable)."""
    n = len(data)
    count = int.from_bytes(data[off : off + 4], "little") if off + 4 <= n else -1
    if 0 <= count <= MAX_PARAMS and off + 4 + 2 * count <= n:
        return _u2_array(data, off + 4, count)
    return None


def _short_join(parts: list[str]) -> str:
    """``_shorten(["".join(parts)])[0]`` without building the whole join."""
    out: list[str] = []
    size = 0
    for part in parts:
        piece = part[: SHORT_NAME + 1 - size]
        out.append(piece)
        size += len(piece)
        if size > SHORT_NAME:
            return "".join(out)[:SHORT_NAME] + "\u2026"
    return "".join(out)


def _protos(data: bytes, rows: list[tuple[int, int, int]], types: list[str]) -> tuple[list[str], int, bool]:
    """``(params)ret`` for every proto_id row (shorty, return type, parameters offset).

    Also returns how many distinct parameter lists were unusable and whether the names
    had to be shortened: a hostile file can name thousands of protos after one huge type,
    which would make the composed names quadratic in the file size. The exact composed
    size is computed first (from the lengths, without building anything) and compared
    with a bound linear in the size of the proto table."""
    nt = len(types)
    type_len = list(map(len, types))
    # Parameter lists: offset -> their size in characters, or -1 when unusable.
    param_len: dict[int, int] = {0: 0}
    bad_lists = 0
    for _shorty, _ret, off in rows:
        if off in param_len:
            continue
        idx = _param_types(data, off)
        if idx is None:
            bad_lists += 1
            param_len[off] = -1
            continue
        try:
            param_len[off] = sum([type_len[t] for t in idx])
        except IndexError:
            param_len[off] = sum([len(_pick(types, t, "type")) for t in idx])
    size = 2 * len(rows)
    for _shorty, ret, off in rows:
        size += max(param_len[off], 0) + (type_len[ret] if ret < nt else len(_pick(types, ret, "type")))
    limit = 64 * 12 * len(rows) + (1 << 24)

    def params_of(off: int, join: Callable[[list[str]], str]) -> str:
        idx = _param_types(data, off) if param_len[off] > 0 else None
        if idx is None:
            return ""
        return join([types[t] if t < nt else _pick(types, t, "type") for t in idx])

    if size <= limit:
        joined = {off: params_of(off, "".join) for off in param_len}
        protos = [f"({joined[off]}){types[r] if r < nt else _pick(types, r, 'type')}" for _s, r, off in rows]
        return protos, bad_lists, False
    short = {off: params_of(off, _short_join) for off in param_len}
    rets = _shorten(types)
    protos = [f"({short[off]}){rets[r] if r < nt else _pick(rets, r, 'type')}" for _s, r, off in rows]
    return protos, bad_lists, True


def _names_too_large(types: list[str], strings: list[str], protos: list[str], fields: bytes, methods: bytes) -> bool:
    """Whether composing field and method names could exceed a size linear in the file.

    ``fields``/``methods`` are the raw id tables (8 bytes per id, name index in the
    second u4). A cheap bound first (longest part times the number of ids), then one with
    the longest string actually used as a name: real files often hold one long string
    constant, hostile ones can reuse one huge string as the name of every id."""
    nf = len(fields) // 8
    nm = len(methods) // 8
    limit = 64 * (len(fields) + len(methods)) + (1 << 24)
    lt = max(map(len, types), default=0)
    lp = max(map(len, protos), default=0)
    ls = max(map(len, strings), default=0)

    def bound() -> int:
        return nf * (2 * lt + ls + 3) + nm * (lt + ls + lp + 2)

    if bound() <= limit:
        return False
    names = array("I", fields + methods)[1::2]
    if not _LITTLE:
        names.byteswap()
    with contextlib.suppress(IndexError):
        ls = max(map(len, map(strings.__getitem__, names)), default=0)
    return bound() > limit


def _shorten(names: list[str]) -> list[str]:
    return [s if len(s) <= SHORT_NAME else s[:SHORT_NAME] + "\u2026" for s in names]


class _Notes:
    """Collects tamper notes, at most :data:`MAX_NOTES` per dex."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.items: list[Tamper] = []
        self.dropped = 0

    def header(self, detail: str) -> None:
        self._add("dex-header", detail)

    def structure(self, detail: str) -> None:
        self._add("dex-structure", detail)

    def _add(self, kind: str, detail: str) -> None:
        if len(self.items) < MAX_NOTES:
            self.items.append(Tamper(kind, self.path, detail))
        else:
            self.dropped += 1

    def result(self) -> list[Tamper]:
        if self.dropped:
            return [
                *self.items,
                Tamper("dex-structure", self.path, f"{self.dropped} more anomalies not listed"),
            ]
        return self.items


# --------------------------------------------------------------------------- main


def read_dex(data: bytes, path: str, *, native: bool | None = None) -> tuple[Dex, list[Tamper]]:
    """Parse one dex file.

    Raises :class:`DexError` only when nothing can be read (no dex magic, or shorter than
    the header); otherwise returns every table that could be read and Tamper notes for
    structural tricks (header fields that disagree with the file, tables or items that
    point outside it, class data or code shared between owners ...).

    ``native`` chooses the implementation: None (the default) follows :data:`NATIVE`,
    True requires the C extension (RuntimeError when it is not built), False runs the
    pure-Python reference. Both return exactly the same result for any input.

    The cyclic garbage collector is paused while the file is read: the reader creates
    hundreds of thousands of tuples (call edges) and no cycles, and generation scans over
    them cost about a tenth of the run. It is re-enabled on return if it was enabled.
    """
    if native is None:
        native = NATIVE
    elif native and not NATIVE_AVAILABLE:
        raise RuntimeError("the C extension apkscan.extract._dexfast is not built")
    with gc_paused():
        return _read_dex(data, path, native)


def _read_dex(data: bytes, path: str, native: bool) -> tuple[Dex, list[Tamper]]:
    if not isinstance(data, bytes):
        data = bytes(data)
    n = len(data)
    if n < HEADER_SIZE:
        raise DexError(f"{path}: {n} bytes, shorter than a dex header")
    if data[:4] != b"dex\n":
        raise DexError(f"{path}: no dex magic ({data[:8]!r})")
    notes = _Notes(path)
    (
        magic,
        checksum,
        _signature,
        file_size,
        header_size,
        endian_tag,
        _link_size,
        _link_off,
        _map_off,
        string_ids_size,
        string_ids_off,
        type_ids_size,
        type_ids_off,
        proto_ids_size,
        proto_ids_off,
        field_ids_size,
        field_ids_off,
        method_ids_size,
        method_ids_off,
        class_defs_size,
        class_defs_off,
        _data_size,
        _data_off,
    ) = _HEADER.unpack_from(data, 0)

    if magic[4:7] not in KNOWN_VERSIONS or magic[7] != 0:
        notes.header(f"unknown dex version {magic!r}")
    if file_size != n:
        notes.header(f"file_size field {file_size} but the data is {n} bytes")
    if header_size != HEADER_SIZE:
        notes.header(f"header_size {header_size:#x}, expected 0x70")
    if endian_tag != ENDIAN_CONSTANT:
        notes.header(f"endian_tag {endian_tag:#010x}, expected 0x12345678")
    actual = zlib.adler32(memoryview(data)[12:])
    if actual != checksum:
        notes.header(f"checksum {checksum:#010x} but adler32 of the data is {actual:#010x}")

    def table(name: str, size: int, off: int, item: int) -> int:
        """How many items of a table fit in the file (0 when it is unusable)."""
        if size == 0:
            return 0
        if off < HEADER_SIZE or off >= n:
            notes.header(f"{name}: offset {off:#x} outside the file ({size} items)")
            return 0
        fits = (n - off) // item
        if size > fits:
            notes.header(f"{name}: {size} items at {off:#x} overrun the file; {fits} read")
            return fits
        return size

    fast = _dexfast if native else None

    # ---- strings
    ns = table("string_ids", string_ids_size, string_ids_off, 4)
    if fast is not None:
        strings, bad_strings, lean = fast.read_strings(data, string_ids_off, ns, decode_mutf8)
    else:
        strings, bad_strings, lean = _read_strings(data, _u4_array(data, string_ids_off, ns))
    if lean:
        notes.structure("string data larger than the file could hold; reading the rest shortened")
    if bad_strings:
        notes.structure(f"{bad_strings} string data offsets outside the file or unterminated")

    # ---- types
    nt = table("type_ids", type_ids_size, type_ids_off, 4)
    if fast is not None:
        types, bad_types = fast.pick(data, type_ids_off, nt, 4, strings, "string")
    else:
        type_idx = _u4_array(data, type_ids_off, nt)
        try:
            types, bad_types = [strings[i] for i in type_idx], False
        except IndexError:
            types, bad_types = [_pick(strings, i, "string") for i in type_idx], True
    if bad_types:
        notes.structure("type_ids name strings outside the string table")

    # ---- protos -> "(args)ret"
    npr = table("proto_ids", proto_ids_size, proto_ids_off, 12)
    if fast is not None:
        protos, bad_lists, long_protos = fast.protos(data, proto_ids_off, npr, types)
    else:
        rows = list(struct.iter_unpack("<III", data[proto_ids_off : proto_ids_off + 12 * npr]))
        protos, bad_lists, long_protos = _protos(data, rows, types)
    if bad_lists:
        notes.structure(f"{bad_lists} proto parameter lists outside the file or too long")
    if long_protos:
        notes.structure("proto names too large for the file; names shortened")

    # ---- fields and methods: u2 class, u2 type/proto, u4 name
    nf = table("field_ids", field_ids_size, field_ids_off, 8)
    nm = table("method_ids", method_ids_size, method_ids_off, 8)
    field_raw = data[field_ids_off : field_ids_off + 8 * nf]
    method_raw = data[method_ids_off : method_ids_off + 8 * nm]
    t_names, s_names, p_names = types, strings, protos
    too_large = _names_too_large if fast is None else fast.names_too_large
    if too_large(types, strings, protos, field_raw, method_raw):
        # A few huge strings reused by thousands of ids would make the composed names
        # quadratic in the file size: compose them from shortened parts.
        notes.structure("field and method names too large for the file; names shortened")
        t_names, s_names, p_names = _shorten(types), _shorten(strings), _shorten(protos)
    if fast is not None:
        fields, bad_fields = fast.compose(field_raw, t_names, s_names, t_names, False)
    else:
        fields, bad_fields = _compose_fields(field_raw, t_names, s_names)
    if bad_fields:
        notes.structure("field_ids refer outside the type or string tables")
    if fast is not None:
        methods, bad_methods = fast.compose(method_raw, t_names, s_names, p_names, True)
    else:
        methods, bad_methods = _compose_methods(method_raw, t_names, s_names, p_names)
    if bad_methods:
        notes.structure("method_ids refer outside the type, proto or string tables")

    # ---- class defs, class data, code
    nc = table("class_defs", class_defs_size, class_defs_off, 32)
    if fast is not None:
        classes, _ = fast.pick(data, class_defs_off, nc, 32, types, "type")
        mask = fast.prefix_mask(types, FRAMEWORK_CLASSES)
        flat_calls, flat_strs, flat_flds, counts = fast.walk_code(
            data, class_defs_off, nc, nm, ns, nf, field_ids_off, mask
        )
        calls, const_strings, field_reads = Pairs(_u32(flat_calls)), Pairs(_u32(flat_strs)), Pairs(_u32(flat_flds))
    else:
        class_defs = list(struct.iter_unpack("<8I", data[class_defs_off : class_defs_off + 32 * nc]))
        classes = [_pick(types, d[0], "type") for d in class_defs]
        owners, owner_counts = _code_owners(data, [d[6] for d in class_defs], nm)
        mask = _prefix_mask(types, FRAMEWORK_CLASSES)
        calls, const_strings, field_reads, walk_counts = _walk_code(data, owners, nm, ns, nf, field_ids_off, mask)
        counts = owner_counts + walk_counts
    _code_notes(notes, counts)

    dex = Dex(
        path=path,
        classes=tuple(classes),
        methods=tuple(methods),
        fields=tuple(fields),
        strings=tuple(strings),
        calls=calls,
        const_strings=const_strings,
        field_reads=field_reads,
    )
    return dex, notes.result()


def _compose_fields(raw: bytes, t_names: list[str], s_names: list[str]) -> tuple[list[str], bool]:
    """``class->name:type`` per field_id row; True when some index was out of range."""
    try:
        return [f"{t_names[c]}->{s_names[s]}:{t_names[t]}" for c, t, s in struct.iter_unpack("<HHI", raw)], False
    except IndexError:
        fields = [
            f"{_pick(t_names, c, 'type')}->{_pick(s_names, s, 'string')}:{_pick(t_names, t, 'type')}"
            for c, t, s in struct.iter_unpack("<HHI", raw)
        ]
        return fields, True


def _compose_methods(raw: bytes, t_names: list[str], s_names: list[str], p_names: list[str]) -> tuple[list[str], bool]:
    """``class->name(params)ret`` per method_id row; True when some index was out of range."""
    try:
        return [f"{t_names[c]}->{s_names[s]}{p_names[p]}" for c, p, s in struct.iter_unpack("<HHI", raw)], False
    except IndexError:
        methods = [
            f"{_pick(t_names, c, 'type')}->{_pick(s_names, s, 'string')}{_pick(p_names, p, 'proto')}"
            for c, p, s in struct.iter_unpack("<HHI", raw)
        ]
        return methods, True


def _u32(flat: bytes) -> array[int]:
    """A flat native-order uint32 buffer from the extension as ``array('I')``."""
    arr = array("I")
    arr.frombytes(flat)
    return arr


_Counts = tuple[int, ...]
"""Anomaly counters of the class data and code readers, in :func:`_code_notes` order."""


_CODE_NOTES = (
    "class_data items overlap; the rest were not read",
    "{} class_defs share class_data with another class",
    "{} class_data items unreadable or outside the file",
    "{} methods with code but a method index out of range or repeated",
    "code items overlap; the rest were not walked",
    "{} code items outside the file",
    "{} methods share a code item with another method",
    "shared code items: too many call edges, the rest were dropped",
    "{} instructions refer to methods, strings or fields out of range",
)
"""The note for each counter of :data:`_Counts` that is not zero ({} is the count)."""


def _code_notes(notes: _Notes, counts: _Counts) -> None:
    """The notes of :func:`_code_owners` then :func:`_walk_code` (same texts, same order,
    whichever implementation counted)."""
    for count, text in zip(counts, _CODE_NOTES, strict=True):
        if count:
            notes.structure(text.format(count))


def _uleb_tail(data: bytes, p: int, value: int) -> tuple[int, int]:
    """Finish a ULEB128 whose first byte ``value`` (> 0x7f) was at ``p - 1``.

    Raises IndexError at the end of the data, like the inline fast paths."""
    value &= 0x7F
    shift = 7
    while True:
        b = data[p]
        p += 1
        value |= (b & 0x7F) << shift
        if b < 0x80 or shift == 28:
            return value, p
        shift += 7


def _code_owners(data: bytes, class_data_offs: list[int], n_methods: int) -> tuple[dict[int, list[int]], _Counts]:
    """Read every class_data_item: code_item offset -> method indices that own it.

    Also returns the counters of the first four notes of :func:`_code_notes`."""
    n = len(data)
    seen: set[int] = set()
    with_code: set[int] = set()
    owners: dict[int, list[int]] = {}
    get_owners = owners.get
    tail = _uleb_tail
    high = bytes(range(0x80, 0x100))
    bad_class_data = 0
    bad_callers = 0
    shared_class_data = 0
    # Distinct class_defs may point into one another's class data; real ones never
    # overlap, so reading more than the file's size twice over means a crafted file.
    budget = 2 * n + (1 << 16)
    overlap = 0
    for cd_off in class_data_offs:
        if budget < 0:
            overlap = 1
            break
        if cd_off == 0:
            continue
        if cd_off in seen:
            shared_class_data += 1
            continue
        seen.add(cd_off)
        if cd_off < HEADER_SIZE or cd_off >= n:
            bad_class_data += 1
            continue
        p = cd_off
        try:
            # static_fields_size, instance_fields_size, direct_methods_size,
            # virtual_methods_size
            counts = []
            for _ in range(4):
                v = data[p]
                p += 1
                if v > 0x7F:
                    v, p = tail(data, p, v)
                counts.append(v)
            # Skip the encoded fields: 2 ULEB128s each, each ending with a byte < 0x80.
            need = 2 * (counts[0] + counts[1])
            if need > n - p:
                bad_class_data += 1
                continue
            while need:
                chunk = data[p : p + need]
                if len(chunk) < need:
                    raise IndexError
                p += need
                need = len(chunk) - len(chunk.translate(None, high))
            for size in (counts[2], counts[3]):
                if 3 * size > n - p:
                    raise IndexError
                midx = 0
                for _ in range(size):
                    v = data[p]  # method_idx_diff
                    p += 1
                    if v > 0x7F:
                        v, p = tail(data, p, v)
                    midx += v
                    v = data[p]  # access_flags
                    p += 1
                    if v > 0x7F:
                        v, p = tail(data, p, v)
                    code_off = data[p]
                    p += 1
                    if code_off > 0x7F:
                        code_off, p = tail(data, p, code_off)
                    if code_off:
                        if midx >= n_methods or midx in with_code:
                            bad_callers += 1
                            continue
                        with_code.add(midx)
                        same = get_owners(code_off)
                        if same is None:
                            owners[code_off] = [midx]
                        else:
                            same.append(midx)
        except IndexError:
            bad_class_data += 1
        budget -= p - cd_off
    return owners, (overlap, shared_class_data, bad_class_data, bad_callers)


def pairs_where(pairs: Pairs, wanted: Iterable[int], size: int, second: bool = True) -> Pairs:
    """The pairs whose second (else first) value is one of ``wanted`` (values from 0 to
    ``size``): the call edges into the watched APIs of a dex, say. One C pass over the
    pairs (``_dexfast.select_pairs``); a large app has hundreds of thousands of them."""
    mask = bytearray(size)
    for v in wanted:
        if 0 <= v < size:
            mask[v] = 1
    flat = pairs.flat
    if NATIVE and flat.itemsize == 4:
        out = array("I")
        out.frombytes(_dexfast.select_pairs(flat, mask, second))
        return Pairs(out)
    return Pairs(_select_pairs(flat, mask, second))


def _select_pairs(flat: array[int], mask: bytes | bytearray, second: bool) -> array[int]:
    """``_dexfast.select_pairs`` in Python."""
    side = flat[1::2] if second else flat[0::2]
    n = len(mask)
    keep = [v < n and mask[v] for v in side]
    return array("I", chain.from_iterable(compress(zip(flat[0::2], flat[1::2], strict=True), keep)))


def _prefix_mask(names: list[str], prefixes: tuple[str, ...]) -> bytes:
    """One byte per name: 1 when it starts with one of ``prefixes`` (``_dexfast.prefix_mask``)."""
    return bytes(name.startswith(prefixes) for name in names)


def _keep_field_reads(
    positions: list[int], mark: int, data: bytes, n_fields: int, field_ids_off: int, type_mask: bytes
) -> None:
    """Of one code item's recorded field reads (``positions[mark:]``), keep every sget-object
    and the iget-object (0x54) of fields whose class is set in ``type_mask``."""
    if 0x54 not in map(data.__getitem__, positions[mark:]):
        return
    n = len(data)
    kept: list[int] = []
    for p in positions[mark:]:
        if data[p] == 0x54:
            f = data[p + 2] | data[p + 3] << 8
            at = field_ids_off + 8 * f
            if f >= n_fields or at + 2 > n:
                continue
            c = data[at] | data[at + 1] << 8
            if c >= len(type_mask) or not type_mask[c]:
                continue
        kept.append(p)
    positions[mark:] = kept


def _walk_code(
    data: bytes,
    owners_by_code: dict[int, list[int]],
    n_methods: int,
    n_strings: int,
    n_fields: int = 0,
    field_ids_off: int = 0,
    type_mask: bytes = b"",
) -> tuple[Pairs, Pairs, Pairs, _Counts]:
    """Walk the instructions of every code item once.

    Invokes, const-strings and object-field reads (every sget-object; iget-object of a
    field whose class has its type id set in ``type_mask``, see :func:`_keep_field_reads`)
    are recorded as
    byte positions during the walk (one list append, no arithmetic), with their caller in
    a parallel list extended once per code item. The operands are read for all positions
    at the end in one C-level pass, and ``dict.fromkeys(zip(callers, callees))``
    deduplicates while keeping the edges grouped by caller in code-item order.

    Every owner of a shared code item gets its uses (invokes, const-strings and
    const-string/jumbo alike, misaligned or not), as long as the copies fit in a budget
    linear in the file size. Also returns the counters of the last five notes of
    :func:`_code_notes`."""
    n = len(data)
    walk = WALK_TABLE
    invokes: list[int] = []
    consts: list[int] = []
    sgets: list[int] = []
    jumbos: list[int] = []  # const-string/jumbo string indices of the current code item
    inv = invokes.append
    cst = consts.append
    fld = sgets.append
    inv_callers: list[int] = []
    cst_callers: list[int] = []
    fld_callers: list[int] = []
    more_inv_callers = inv_callers.extend
    more_cst_callers = cst_callers.extend
    more_fld_callers = fld_callers.extend
    direct_calls: list[tuple[int, int]] = []  # misaligned code (hostile)
    direct_strs: list[tuple[int, int]] = []  # const-string/jumbo, misaligned code
    direct_flds: list[tuple[int, int]] = []  # misaligned code
    bad_code = 0
    shared = 0
    share_budget = max(4 * n, 1 << 16)
    # Code items never overlap in a real file: walking more than twice its size means
    # thousands of methods point into one huge code item.
    walk_budget = 2 * n + (1 << 16)
    overlap = 0
    over_budget = 0
    unpack_u4 = struct.Struct("<I").unpack_from
    for code_off, owners in owners_by_code.items():
        if code_off < HEADER_SIZE or code_off + 16 > n:
            bad_code += 1
            continue
        (insns_size,) = unpack_u4(data, code_off + 12)
        j = code_off + 16
        e = j + 2 * insns_size
        if e > n:
            bad_code += 1
            e = n - ((n - j) & 1)
        walk_budget -= e - j
        if walk_budget < 0:
            overlap = 1
            break
        owner = owners[0]
        inv_mark = len(invokes)
        cst_mark = len(consts)
        fld_mark = len(sgets)
        # ---- the hot loop: one table lookup per instruction
        while j < e:
            w = walk[data[j]]
            if w > 0:
                j += w
            elif w == -1:  # invoke-kind(/range): method index in unit 1
                inv(j)
                j += 6
            elif w == -2:  # const-string: string index in unit 1
                cst(j)
                j += 4
            elif w == -5:  # sget-object: field index in unit 1
                fld(j)
                j += 4
            elif w == 0:  # nop, or a payload pseudo-instruction
                hi = data[j + 1]
                if hi == 0 or hi > 3:
                    j += 2
                elif j + 8 > e:
                    break
                elif hi == 1:  # packed-switch-payload: 4 + size * 2 units
                    j += (4 + (data[j + 2] | data[j + 3] << 8) * 2) * 2
                elif hi == 2:  # sparse-switch-payload: 2 + size * 4 units
                    j += (2 + (data[j + 2] | data[j + 3] << 8) * 4) * 2
                else:  # fill-array-data-payload: 4 + (width * size + 1) // 2 units
                    width = data[j + 2] | data[j + 3] << 8
                    size = int.from_bytes(data[j + 4 : j + 8], "little")
                    j += (4 + (width * size + 1) // 2) * 2
            elif w == -3:  # const-string/jumbo: u4 string index in units 1-2
                if j + 6 <= e:
                    jumbos.append(int.from_bytes(data[j + 2 : j + 6], "little"))
                j += 6
            else:  # invoke-polymorphic(/range): method index in unit 1, like invoke-kind
                if j + 8 > e:
                    break
                inv(j)
                j += 8
        if j > e:  # the last instruction runs past the end of the code
            if len(invokes) > inv_mark and invokes[-1] + 6 > e:
                invokes.pop()
            if len(consts) > cst_mark and consts[-1] + 4 > e:
                consts.pop()
            if len(sgets) > fld_mark and sgets[-1] + 4 > e:
                sgets.pop()
        if len(sgets) > fld_mark:
            _keep_field_reads(sgets, fld_mark, data, n_fields, field_ids_off, type_mask)
        n_inv = len(invokes) - inv_mark
        n_cst = len(consts) - cst_mark
        n_fld = len(sgets) - fld_mark
        n_jmb = len(jumbos)
        if not (n_inv or n_cst or n_jmb or n_fld):
            continue
        targets = owners
        if len(owners) > 1:
            # Several methods claim this code item; each gets its uses, within a budget
            # so that a crafted file cannot make the output quadratic in its size.
            shared += len(owners) - 1
            share_budget -= (len(owners) - 1) * (n_inv + n_cst + n_jmb + n_fld + 1)
            if share_budget < 0:
                over_budget = 1
                targets = owners[:1]
        if code_off & 1:  # misaligned (hostile): read the operands from the bytes here
            for o in targets:
                direct_strs += [(o, s) for s in jumbos]
                direct_calls += [(o, data[p + 2] | data[p + 3] << 8) for p in invokes[inv_mark:]]
                direct_strs += [(o, data[p + 2] | data[p + 3] << 8) for p in consts[cst_mark:]]
                direct_flds += [(o, data[p + 2] | data[p + 3] << 8) for p in sgets[fld_mark:]]
            del invokes[inv_mark:], consts[cst_mark:], sgets[fld_mark:], jumbos[:]
            continue
        if n_jmb:
            for o in targets:
                direct_strs += [(o, s) for s in jumbos]
            jumbos.clear()
        if n_inv:
            more_inv_callers(repeat(owner, n_inv))
        if n_cst:
            more_cst_callers(repeat(owner, n_cst))
        if n_fld:
            more_fld_callers(repeat(owner, n_fld))
        if len(targets) > 1:
            inv_slice = invokes[inv_mark:]
            cst_slice = consts[cst_mark:]
            fld_slice = sgets[fld_mark:]
            for o in targets[1:]:
                invokes += inv_slice
                consts += cst_slice
                sgets += fld_slice
                more_inv_callers(repeat(o, n_inv))
                more_cst_callers(repeat(o, n_cst))
                more_fld_callers(repeat(o, n_fld))

    # ---- operands: the u2 after each recorded opcode (all positions are even here)
    units: memoryview | array[int]
    if _LITTLE:
        units = memoryview(data)[: n & ~1].cast("H")
    else:
        units = array("H", data[: n & ~1])
        units.byteswap()
    operand = units.__getitem__
    half = (1).__rrshift__  # p -> p >> 1
    after = (2).__add__  # p -> p + 2
    callees = list(map(operand, map(half, map(after, invokes))))
    strings = list(map(operand, map(half, map(after, consts))))
    read_fields = list(map(operand, map(half, map(after, sgets))))
    if isinstance(units, memoryview):
        units.release()
    calls = dict.fromkeys(zip(inv_callers, callees, strict=True))
    calls.update(dict.fromkeys(direct_calls))
    const_strings = dict.fromkeys(zip(cst_callers, strings, strict=True))
    const_strings.update(dict.fromkeys(direct_strs))
    bad_refs = 0
    if (callees and max(callees) >= n_methods) or direct_calls:
        kept = {k: None for k in calls if k[1] < n_methods}
        bad_refs += len(calls) - len(kept)
        calls = kept
    if (strings and max(strings) >= n_strings) or direct_strs:
        kept = {k: None for k in const_strings if k[1] < n_strings}
        bad_refs += len(const_strings) - len(kept)
        const_strings = kept
    field_reads = dict.fromkeys(zip(fld_callers, read_fields, strict=True))
    field_reads.update(dict.fromkeys(direct_flds))
    if (read_fields and max(read_fields) >= n_fields) or direct_flds:
        kept = {k: None for k in field_reads if k[1] < n_fields}
        bad_refs += len(field_reads) - len(kept)
        field_reads = kept
    counts = (overlap, bad_code, shared, over_budget, bad_refs)
    return Pairs.of(calls), Pairs.of(const_strings), Pairs.of(field_reads), counts
