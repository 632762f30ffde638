"""Type stub of the optional C extension ``apkscan._simfast`` (see ``_simfast.c``).

Each function computes what the pure-Python function of :mod:`apkscan.similarity` named
in its docstring computes."""

from array import array
from collections.abc import Iterable, Sequence

from apkscan.facts import ZipEntry

Buffer = bytes | memoryview | array[int]

def method_flags(
    methods: tuple[str, ...], exclude: frozenset[str], platform: frozenset[str], /
) -> tuple[bytes, list[int]]:
    """``similarity._method_flags_py``."""

def shape_sums(calls: Buffer, flags: bytes, api_hash: Buffer, /) -> tuple[list[int], list[int]]:
    """``similarity._shape_sums_py``."""

def api_hashes(methods: tuple[str, ...], api: list[int], cache: dict[str, int], /) -> bytes:
    """``similarity._api_hashes_py``."""

def own_strings(loads: Buffer, flags: bytes, strings: tuple[str, ...], out: set[str], /) -> None:
    """``similarity._own_strings_py``."""

def str_hashes(texts: Iterable[str], /) -> list[int]:
    """``similarity._str_hashes_py``."""

def minhash(features: Iterable[int], k: int, /) -> tuple[int, ...]:
    """``similarity._minhash_py`` with ``k`` slots."""

def file_keys(
    entries: Sequence[ZipEntry], skip_kinds: frozenset[str], library_resources: tuple[str, ...], /
) -> list[int]:
    """``similarity._file_features_py`` (in ascending order of the unmixed key)."""
