"""Hostile archives built at test time (tests/test_hostile_failclosed.py).

Nothing here is a real sample: every archive is made from the project's own
``samples/*.apk`` plus generated entries (zip bombs, padding, nests, lying headers)."""

from __future__ import annotations

import functools
import io
import os
import random
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
MiB = 1 << 20


@dataclass(frozen=True)
class Raw:
    """One entry as bytes on disk: name, compressed data, method, CRC, sizes as declared."""

    name: str
    data: bytes
    method: int
    crc: int
    csize: int
    usize: int
    local_extra: bytes = b""


def _deflate(data: bytes) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def entry(name: str, data: bytes, *, stored: bool = False, declared: int | None = None) -> Raw:
    body = data if stored else _deflate(data)
    return Raw(name, body, 0 if stored else 8, zlib.crc32(data), len(body), len(data) if declared is None else declared)


@functools.cache
def repeated_stream(chunk_seed: int, chunk_mib: float, count: int, noise: int) -> tuple[bytes, int, int]:
    """A deflate stream of ``count`` copies of one pseudo-random chunk (zeros with
    ``noise`` random bytes per MiB), built from one full-flushed block repeated: cheap to
    make at any size. Returns (stream, uncompressed size, CRC-32)."""
    rng = random.Random(chunk_seed)
    size = int(chunk_mib * MiB)
    chunk = bytearray(size)
    for _ in range(int(noise * chunk_mib)):
        chunk[rng.randrange(size)] = rng.randrange(1, 256)
    chunk_b = bytes(chunk)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    unit = c.compress(chunk_b) + c.flush(zlib.Z_FULL_FLUSH)
    fin = c.flush(zlib.Z_FINISH)
    crc = 0
    for _ in range(count):
        crc = zlib.crc32(chunk_b, crc)
    return unit * count + fin, size * count, crc


def bomb(name: str, mib: int, *, declared: int | None = None) -> Raw:
    """``mib`` MiB of zeros (ratio about 1:1030, over the 1:1000 limit)."""
    stream, usize, crc = repeated_stream(0, 4, max(1, mib // 4), 0)
    return Raw(name, stream, 8, crc, len(stream), usize if declared is None else declared)


def padding(name: str, mib: int, head: bytes = b"") -> Raw:
    """``mib`` MiB that deflate at about 1:900: under the ratio limit, heavy in memory.
    ``head`` (a dex, say) is put in front, in its own deflate block."""
    stream, usize, crc = repeated_stream(1, 1, mib, 40)
    if head:
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        first = c.compress(head) + c.flush(zlib.Z_FULL_FLUSH)
        stream = first + stream
        crc = zlib.crc32(head)
        _, _, body_crc = repeated_stream(1, 1, mib, 40)
        crc = _crc_concat(crc, body_crc, usize)
        usize += len(head)
    return Raw(name, stream, 8, crc, len(stream), usize)


def _crc_concat(crc1: int, crc2: int, len2: int) -> int:
    """crc32(a + b) from crc32(a), crc32(b) and len(b) (zlib's crc32_combine)."""
    # GF(2) matrix method, as in zlib's crc32_combine
    def gf2_times(mat: list[int], vec: int) -> int:
        s = 0
        i = 0
        while vec:
            if vec & 1:
                s ^= mat[i]
            vec >>= 1
            i += 1
        return s

    def gf2_square(mat: list[int]) -> list[int]:
        return [gf2_times(mat, mat[n]) for n in range(32)]

    if len2 == 0:
        return crc1
    odd = [0xEDB88320] + [1 << n for n in range(31)]
    even = gf2_square(odd)
    odd = gf2_square(even)
    while True:
        even = gf2_square(odd)
        if len2 & 1:
            crc1 = gf2_times(even, crc1)
        len2 >>= 1
        if not len2:
            break
        odd = gf2_square(even)
        if len2 & 1:
            crc1 = gf2_times(odd, crc1)
        len2 >>= 1
        if not len2:
            break
    return crc1 ^ crc2


def sample_entries(sample: str = "fraud_loan") -> list[Raw]:
    """Every entry of ``samples/<sample>.apk``, re-deflated (signature blocks dropped)."""
    out = []
    with zipfile.ZipFile(SAMPLES / f"{sample}.apk") as z:
        for info in z.infolist():
            out.append(entry(info.filename, z.read(info), stored=info.compress_type == 0))
    return out


def build(entries: list[Raw]) -> bytes:
    """A ZIP of ``entries`` exactly as declared (sizes may lie)."""
    buf = io.BytesIO()
    central = []
    for e in entries:
        off = buf.tell()
        name = e.name.encode()
        buf.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, e.method, 0, 0x21, e.crc,
                              e.csize, e.usize & 0xFFFFFFFF, len(name), len(e.local_extra)))
        buf.write(name + e.local_extra + e.data)
        central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, e.method, 0, 0x21,
                                   e.crc, e.csize, e.usize & 0xFFFFFFFF, len(name), 0, 0, 0, 0, 0, off) + name)
    cd_off = buf.tell()
    for c in central:
        buf.write(c)
    cd_size = buf.tell() - cd_off
    buf.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), cd_size, cd_off, 0))
    return buf.getvalue()


def with_entries(extra: list[Raw], sample: str = "fraud_loan", drop: tuple[str, ...] = ()) -> bytes:
    base = [e for e in sample_entries(sample) if e.name not in drop and e.name not in {x.name for x in extra}]
    return build(base + extra)


def nest(width: int, depth: int, leaf: bytes) -> bytes:
    """An APK holding ``width`` APKs, each holding ``width`` ..., ``depth`` levels deep."""
    blob = leaf
    for level in range(depth):
        entries = [entry(f"assets/n{level}_{i}.apk", blob, stored=True) for i in range(width)]
        blob = build(entries if level < depth - 1 else sample_entries("clean") + entries)
    return blob


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    os.chmod(path, 0o644)
    return path
