#!/usr/bin/env python3
"""Write the tiny launcher icons (res/mipmap/ic_launcher.png) of every sample.

Run by hand only when an icon should change; build.sh never runs it. Each icon is a
16x16 RGBA PNG: a coloured rounded square with a light 'page' in the middle, made with
the standard library only so that the bytes are the same on every machine.
"""

from __future__ import annotations

import struct
import sys
import zlib
from pathlib import Path

COLOURS = {
    "clean": (0x2E, 0x7D, 0x32),
    "pii_collector": (0x15, 0x65, 0xC0),
    "fraud_loan": (0xE6, 0x51, 0x00),
    "gambling": (0xB7, 0x1C, 0x1C),
    "multidex": (0x6A, 0x1B, 0x9A),
    "hostile": (0x21, 0x21, 0x21),
}
SIZE = 16


def png(rgb: tuple[int, int, int]) -> bytes:
    rows = []
    for y in range(SIZE):
        row = bytearray([0])  # filter: none
        for x in range(SIZE):
            corner = (x in (0, SIZE - 1)) and (y in (0, SIZE - 1))
            page = 4 <= x <= 11 and 3 <= y <= 12
            if corner:
                row += bytes((0, 0, 0, 0))
            elif page:
                row += bytes((0xFA, 0xFA, 0xFA, 0xFF))
            else:
                row += bytes((*rgb, 0xFF))
        rows.append(bytes(row))
    raw = b"".join(rows)

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", SIZE, SIZE, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def main() -> int:
    src = Path(__file__).resolve().parent.parent / "src"
    for name, rgb in COLOURS.items():
        target = src / name / "res" / "mipmap" / "ic_launcher.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(png(rgb))
        print(target, target.stat().st_size)
    return 0


if __name__ == "__main__":
    sys.exit(main())
