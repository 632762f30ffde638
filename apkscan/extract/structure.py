"""Cheap sanity checks of declared counts that hostile files set absurdly high to make
parsers loop, allocate or give up: the dex map list and the ``resources.arsc`` table and
string-pool headers. Each returns :class:`~apkscan.facts.Tamper` entries (reported as
``TAMPER-*`` findings); ``arsc_counts`` also says whether the table is safe to hand to
androguard's parser."""

from __future__ import annotations

import struct

from apkscan.facts import Tamper

DEX_MAP_MAX_ITEMS = 1024
"""A dex map list has one item per section type (about 20 kinds exist)."""
ARSC_MAX_PACKAGES = 256
"""Package ids are one byte: a resource table cannot hold more packages."""


def dex_map_count(blob: bytes, path: str) -> list[Tamper]:
    """The dex header's map list: its item count must fit in the file and be sane."""
    if len(blob) < 0x70 or not blob.startswith(b"dex\n"):
        return []
    (map_off,) = struct.unpack_from("<I", blob, 0x34)
    if map_off == 0 or map_off + 4 > len(blob):
        return []
    (count,) = struct.unpack_from("<I", blob, map_off)
    room = (len(blob) - map_off - 4) // 12
    if count > room or count > DEX_MAP_MAX_ITEMS:
        return [
            Tamper(
                "dex-map-count",
                path,
                f"map list at {map_off} declares {count:#x} items; room for {room} "
                f"(a dex holds about 20 section kinds)",
            )
        ]
    return []


def arsc_counts(arsc: bytes) -> tuple[list[Tamper], bool]:
    """Tampering in the resource table's header and global string pool header, and
    whether androguard may parse the table (False when a count is absurd: it would try to
    read billions of offsets)."""
    found: list[Tamper] = []
    if len(arsc) < 12:
        return found, True
    rtype, hsize, size, packages = struct.unpack_from("<HHII", arsc, 0)
    if rtype != 0x0002:
        return found, True  # not a table: androguard reports it
    if packages > ARSC_MAX_PACKAGES:
        found.append(
            Tamper("arsc-count", "resources.arsc", f"table header declares {packages:#x} packages (at most 256 exist)")
        )
    if size > len(arsc):
        found.append(
            Tamper("arsc-count", "resources.arsc", f"table declares {size} bytes, the entry has {len(arsc)}")
        )
    pool = hsize if 8 <= hsize <= len(arsc) else 12
    if pool + 28 <= len(arsc):
        ptype, phsize, psize, strings, styles = struct.unpack_from("<HHIII", arsc, pool)
        if ptype == 0x0001:
            room = max(0, min(psize, len(arsc) - pool) - phsize) // 4
            if strings + styles > room:
                found.append(
                    Tamper(
                        "arsc-count",
                        "resources.arsc",
                        f"string pool declares {strings:#x} strings and {styles:#x} styles; "
                        f"its {psize} bytes hold at most {room} offsets",
                    )
                )
    return found, not found
