"""Resource limits applied while reading one (possibly hostile) APK.

Every limit is checked *before* the memory or time is spent where that is possible
(declared sizes, ratios) and again while inflating (a header may lie).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    max_apk_bytes: int = 1 << 30
    """Largest APK accepted at all (1 GiB)."""
    max_entries: int = 100_000
    """Central directory records read; the rest are ignored (with a problem recorded)."""
    max_entry_bytes: int = 512 << 20
    """Uncompressed bytes produced for one entry."""
    max_total_bytes: int = 4 << 30
    """Uncompressed bytes produced for all entries read from one APK, nested archives included."""
    max_ratio: int = 1000
    """Uncompressed/compressed ratio allowed for one entry; ignored for entries under 1 MiB
    (tiny files of zeros legitimately compress that well)."""
    max_depth: int = 3
    """Archives inside archives opened: ``a.apk!b.zip!c.jar!d.zip`` is depth 3."""
    max_text_asset_bytes: int = 2 << 20
    """Text read per asset for string extraction."""
    phase_seconds: float = 120.0
    """Wall time allowed for one phase (``facts()``, ``nested_dex()``) before it stops early."""
