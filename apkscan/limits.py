"""Resource limits applied while reading one (possibly hostile) APK.

Every limit is checked *before* the memory or time is spent where that is possible
(declared sizes, ratios) and again while inflating (a header may lie). A limit that stops
part of the analysis is recorded as a ``limit`` problem naming it (:attr:`Problem.limit
<apkscan.facts.Problem.limit>`), which the engine turns into an ``ANALYSIS-LIMIT-*``
finding: what was not analysed is never treated as clean (docs/security.md).
"""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class Limits:
    max_apk_bytes: int = 768 << 20
    """Largest APK accepted at all (768 MiB, the memory budget: the file is held in memory;
    raise both for larger trusted inputs)."""
    max_entries: int = 100_000
    """Central directory records read; the rest are ignored (with a problem recorded)."""
    max_entry_bytes: int = 256 << 20
    """Uncompressed bytes produced for one entry."""
    max_total_bytes: int = 512 << 20
    """Uncompressed bytes produced for all entries read from one APK, nested archives
    included (the inflate budget of one scan)."""
    max_memory_bytes: int = 768 << 20
    """Memory budget of one scan: the APK's own bytes plus every byte inflated from it
    (all entries, all nesting levels). With the interpreter, the rule set and the facts
    this keeps one scan under about 1 GB peak RSS; the inflate budget of an APK is
    ``min(max_total_bytes, max_memory_bytes - APK size)``."""
    max_ratio: int = 1000
    """Uncompressed/compressed ratio allowed for one entry; ignored for entries under 1 MiB
    (tiny files of zeros legitimately compress that well)."""
    max_depth: int = 3
    """Archives inside archives opened: ``a.apk!b.zip!c.jar!d.zip`` is depth 3."""
    max_text_asset_bytes: int = 16 << 20
    """Text read per asset for string extraction and the keyword rules (a larger text asset
    is an ``ANALYSIS-LIMIT-TEXT-ASSET`` finding: what follows was not searched)."""
    max_manifest_bytes: int = 8 << 20
    """Largest ``AndroidManifest.xml`` parsed (real manifests stay under 1 MiB; androguard
    needs minutes for a 100 MB one)."""
    phase_seconds: float = 120.0
    """Wall time allowed for one phase (``facts()``, ``nested_dex()``) before it stops early."""


def lowered(limits: Limits) -> frozenset[str]:
    """Names of the size and count limits set below their defaults (``--limit``); the
    time per phase follows ``--timeout`` and is not one of them."""
    default = Limits()
    sizes = [f.name for f in fields(Limits) if f.name != "phase_seconds"]
    return frozenset(name for name in sizes if getattr(limits, name) < getattr(default, name))


def bomb_at(limits: Limits, name: str) -> int:
    """The value of limit ``name`` (``max_ratio``, ``max_entries``, ``max_entry_bytes``)
    from which an archive is reported as a zip bomb (tampering): the limit, or its default
    when ``--limit`` set it lower. A value a user chose to stop at is a limit of the
    analysis (an ANALYSIS-LIMIT finding), not evidence that the archive is hostile: an
    ordinary dex inflates about 2.5:1."""
    return max(int(getattr(limits, name)), int(getattr(Limits, name)))


LIMIT_NAMES: dict[str, tuple[str, str]] = {
    "max_entries": ("entry count", "条目数量"),
    "max_entry_bytes": ("entry size", "单个条目大小"),
    "max_total_bytes": ("total inflated bytes", "解压总字节数"),
    "max_memory_bytes": ("memory budget", "内存预算"),
    "max_ratio": ("compression ratio", "压缩比"),
    "max_depth": ("nesting depth", "嵌套深度"),
    "max_manifest_bytes": ("manifest size", "清单文件大小"),
    "max_text_asset_bytes": ("text asset size", "文本资源大小"),
    "phase_seconds": ("time", "时间"),
}
"""Limit field -> (English, Chinese) name, for the findings that say a limit was hit."""
