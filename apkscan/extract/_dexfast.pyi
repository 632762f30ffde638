"""Type stub of the optional C extension ``apkscan.extract._dexfast`` (see ``_dexfast.c``).

Each function computes exactly what the pure-Python code of :mod:`apkscan.extract.dex`
named in its docstring computes; ``dex.py`` writes the tamper notes from the counters."""

from array import array
from collections.abc import Callable

def read_strings(
    data: bytes, off: int, count: int, decode_mutf8: Callable[[bytes], str], /
) -> tuple[list[str], int, bool]:
    """``dex._read_strings`` over the u4 string_ids at ``data[off:off + 4 * count]``:
    (strings, offsets outside the file or unterminated, switched to lean windows)."""

def pick(data: bytes, off: int, count: int, stride: int, table: list[str], what: str, /) -> tuple[list[str], bool]:
    """``table[u4]`` for the u4 at the start of each of ``count`` items of ``stride``
    bytes at ``off``, or ``f"<bad-{what}-{idx}>"`` (and True) when out of range."""

def protos(data: bytes, off: int, count: int, types: list[str], /) -> tuple[list[str], int, bool]:
    """``dex._protos`` over the proto_ids at ``data[off:off + 12 * count]``:
    (names, unusable parameter lists, names shortened)."""

def names_too_large(types: list[str], strings: list[str], protos: list[str], fields: bytes, methods: bytes, /) -> bool:
    """``dex._names_too_large``."""

def compose(
    raw: bytes, types: list[str], strings: list[str], third: list[str], method: bool, /
) -> tuple[list[str], bool]:
    """Field (``types[c]->strings[s]:third[t]``) or method (``types[c]->strings[s]third[p]``)
    names of the 8-byte id rows of ``raw``; True when some index was out of range."""

def walk_code(
    data: bytes,
    class_defs_off: int,
    class_defs_count: int,
    n_methods: int,
    n_strings: int,
    n_fields: int,
    field_ids_off: int = 0,
    type_mask: bytes = b"",
    /,
) -> tuple[bytes, bytes, bytes, tuple[int, int, int, int, int, int, int, int, int]]:
    """``dex._code_owners`` then ``dex._walk_code``: (calls, const_strings, field_reads)
    as native uint32 pairs and the counters of ``dex._code_notes``. ``field_reads``: every
    sget-object, and the iget-object of fields whose class has its type id set in
    ``type_mask`` (the field's class read from the field_ids table at ``field_ids_off``)."""

def prefix_mask(names: list[str], prefixes: tuple[str, ...], /) -> bytes:
    """One byte per name: 1 when it starts with one of ``prefixes``."""

def select_pairs(flat: bytes | array[int], mask: bytes | bytearray, second: bool, /) -> bytes:
    """Of the native uint32 pairs in ``flat``, those whose second (else first) value ``v``
    has ``mask[v]`` set (values past the mask are not), as native uint32 pairs."""
