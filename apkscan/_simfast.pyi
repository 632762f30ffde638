"""Type stub of the optional C extension ``apkscan._simfast`` (see ``_simfast.c``).

Each function computes what the pure-Python function of :mod:`apkscan.similarity` named
in its docstring computes."""

from array import array
from collections.abc import Iterable

Buffer = bytes | memoryview | array[int]

def method_flags(
    methods: tuple[str, ...], exclude: frozenset[str], platform: frozenset[str], /
) -> tuple[bytes, list[int]]:
    """``similarity._method_flags_py``."""

def shape_sums(calls: Buffer, flags: bytes, api_hash: Buffer, /) -> tuple[list[int], list[int]]:
    """``similarity._shape_sums_py``."""

def own_loads(loads: Buffer, flags: bytes, /) -> list[int]:
    """``similarity._own_loads_py``."""

def str_hashes(texts: Iterable[str], /) -> list[int]:
    """``similarity._str_hashes_py``."""
