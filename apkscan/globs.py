"""Glob matching over many archive entry names, fast: the literal prefix of a pattern
narrows the candidates by bisection in the sorted names before fnmatch runs."""

from __future__ import annotations

import bisect
import fnmatch

_WILD = "*?["


def literal_prefix(pattern: str) -> str:
    cut = min((i for i in (pattern.find(c) for c in _WILD) if i >= 0), default=len(pattern))
    return pattern[:cut]


def glob_filter(sorted_names: list[str], pattern: str) -> list[str]:
    """Names (from a sorted list) matching a shell-style pattern, case-sensitive."""
    prefix = literal_prefix(pattern)
    lo = bisect.bisect_left(sorted_names, prefix)
    hi = lo
    while hi < len(sorted_names) and sorted_names[hi].startswith(prefix):
        hi += 1
    if prefix == pattern:
        return [n for n in sorted_names[lo:hi] if n == pattern]
    return [n for n in sorted_names[lo:hi] if fnmatch.fnmatchcase(n, pattern)]
