"""Seeds and a deterministic, structure-aware mutation engine for APK inputs.

Input ``i`` of a campaign with seed ``s`` is a pure function of ``(s, i)`` and the seed
list, so any input is reproduced with ``python -m tests.fuzz.run --seed s --only i``.

Mutations, each described in one line (``Mutant.desc``):

* whole-file: bit flips, random bytes, truncation, duplication of a region, insertion of
  garbage, splicing two seeds;
* ZIP fields: a field of a local header, central directory record or EOCD set to an
  interesting value (0, 1, 0xffff, 0xffffffff, off by one, the file size ...);
* ZIP tricks, re-zipped in memory: unknown compression method, fake encryption flag,
  local header vs central directory disagreement, garbage extra fields, comment or bytes
  after the EOCD, prepended bytes, duplicate names, path traversal and control-character
  names, a dex under another name, the APK nested in itself;
* inner entries (``AndroidManifest.xml``, ``classes.dex``, ``resources.arsc``): chunk
  headers, string pools, element and attribute records (AXML/ARSC), dex header fields and
  id tables, byte flips -- then the APK is re-zipped in memory with the mutated entry.

Nothing here touches the disk except reading seed files.
"""

from __future__ import annotations

import io
import os
import random
import struct
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
INNER = ("AndroidManifest.xml", "classes.dex", "resources.arsc")
MAX_CORPUS_SEED_BYTES = 64 << 10
MAX_CORPUS_SEEDS = 60


@dataclass(frozen=True)
class Seed:
    name: str
    data: bytes


@dataclass(frozen=True)
class Mutant:
    data: bytes
    desc: str
    seed: str


def corpus_dir() -> Path | None:
    env = os.environ.get("APKSCAN_CORPUS")
    path = Path(env) if env else ROOT.parent / "shared" / "corpus"
    return path if path.is_dir() else None


def load_seeds(corpus: bool = True, max_corpus: int = MAX_CORPUS_SEEDS) -> list[Seed]:
    """The committed samples, then small corpus APKs (when the corpus is present)."""
    seeds = [Seed(p.name, p.read_bytes()) for p in sorted(SAMPLES.glob("*.apk"))]
    root = corpus_dir() if corpus else None
    if root is not None:
        small = sorted(
            p for p in root.rglob("*.apk") if p.is_file() and p.stat().st_size <= MAX_CORPUS_SEED_BYTES
        )
        seeds += [Seed(str(p.relative_to(root)), p.read_bytes()) for p in small[:max_corpus]]
    return seeds


# --- a tolerant view of the entries of a (well-formed enough) zip ---------------------------
@dataclass
class Entry:
    name: bytes
    data: bytes
    method: int = zipfile.ZIP_DEFLATED


def entries_of(data: bytes) -> list[Entry] | None:
    """Entries read with :mod:`zipfile` (None when it cannot read them all)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            out = []
            for info in zf.infolist():
                raw = info.orig_filename.encode("utf-8", "surrogateescape")
                out.append(Entry(raw, zf.read(info), info.compress_type))
            return out
    except Exception:
        return None


def write_zip(
    entries: Iterable[Entry],
    *,
    cd_method: dict[int, int] | None = None,
    cd_flags: dict[int, int] | None = None,
    lfh_flags: dict[int, int] | None = None,
    lfh_method: dict[int, int] | None = None,
    cd_extra: dict[int, bytes] | None = None,
    lfh_extra: dict[int, bytes] | None = None,
    lfh_name: dict[int, bytes] | None = None,
    comment: bytes = b"",
    prefix: bytes = b"",
    trailer: bytes = b"",
) -> bytes:
    """A minimal zip writer whose headers can lie, entry by entry (index -> value)."""
    out = bytearray(prefix)
    cd = bytearray()
    n = 0
    for i, e in enumerate(entries):
        n += 1
        crc = zlib.crc32(e.data)
        if e.method == zipfile.ZIP_DEFLATED:
            c = zlib.compressobj(6, zlib.DEFLATED, -15)
            body = c.compress(e.data) + c.flush()
            method = 8
        else:
            body, method = e.data, 0
        cm = (cd_method or {}).get(i, method)
        lm = (lfh_method or {}).get(i, cm)
        cf = (cd_flags or {}).get(i, 0)
        lf = (lfh_flags or {}).get(i, cf)
        ce = (cd_extra or {}).get(i, b"")
        le = (lfh_extra or {}).get(i, ce)
        ln = (lfh_name or {}).get(i, e.name)
        off = len(out)
        out += struct.pack("<L5H3L2H", 0x04034B50, 20, lf, lm, 0, 0x21, crc, len(body), len(e.data), len(ln), len(le))
        out += ln + le + body
        cd += struct.pack(
            "<L6H3L5H2L", 0x02014B50, 20, 20, cf, cm, 0, 0x21, crc, len(body), len(e.data),
            len(e.name), len(ce), 0, 0, 0, 0, off,
        )  # fmt: skip
        cd += e.name + ce
    cd_off = len(out)
    out += cd
    n = min(n, 0xFFFF)  # more entries: the count wraps, as some writers do
    out += struct.pack("<L4H2LH", 0x06054B50, 0, 0, n, n, len(cd), cd_off, len(comment))
    return bytes(out + comment + trailer)


# --- interesting values ------------------------------------------------------------------------
def interesting(rng: random.Random, orig: int, width: int, total: int) -> int:
    top = (1 << (8 * width)) - 1
    choices = [
        0, 1, 2, 7, 8, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000,
        0x7FFFFFFF, 0x80000000, 0xFFFFFFFE, 0xFFFFFFFF,
        orig + 1, orig - 1, orig * 2, orig // 2, orig + 8, orig - 8, orig ^ 0x80,
        total, total + 1, total - 1, total // 2, rng.randrange(top + 1),
    ]  # fmt: skip
    return rng.choice(choices) & top


def set_field(buf: bytearray, at: int, width: int, rng: random.Random, total: int) -> str:
    if at < 0 or at + width > len(buf):
        return "field outside data"
    fmt = {1: "<B", 2: "<H", 4: "<I", 8: "<Q"}[width]
    (orig,) = struct.unpack_from(fmt, buf, at)
    new = interesting(rng, orig, width, total)
    struct.pack_into(fmt, buf, at, new)
    return f"@{at}:u{8 * width} {orig:#x}->{new:#x}"


# --- generic byte-level mutations -------------------------------------------------------------
def bitflips(buf: bytearray, rng: random.Random) -> str:
    k = rng.choice((1, 1, 2, 4, 8, 32))
    at = []
    for _ in range(k):
        if not buf:
            break
        i = rng.randrange(len(buf))
        buf[i] ^= 1 << rng.randrange(8)
        at.append(i)
    return f"bitflip x{k} at {at[:4]}"


def random_bytes(buf: bytearray, rng: random.Random) -> str:
    if not buf:
        return "random bytes: empty"
    i = rng.randrange(len(buf))
    k = rng.randint(1, 64)
    buf[i : i + k] = rng.randbytes(min(k, len(buf) - i))
    return f"random bytes {k}@{i}"


def truncate(buf: bytearray, rng: random.Random) -> str:
    keep = rng.choice((rng.randrange(len(buf) + 1), len(buf) - rng.randint(1, 64), rng.randint(0, 200)))
    keep = max(0, min(len(buf), keep))
    del buf[keep:]
    return f"truncate to {keep}"


def duplicate(buf: bytearray, rng: random.Random) -> str:
    if len(buf) < 2:
        return "duplicate: too short"
    a = rng.randrange(len(buf))
    b = min(len(buf), a + rng.choice((4, 16, 64, 512, 4096)))
    c = rng.randrange(len(buf) + 1)
    buf[c:c] = buf[a:b]
    return f"duplicate [{a}:{b}] at {c}"


def insert_garbage(buf: bytearray, rng: random.Random) -> str:
    c = rng.randrange(len(buf) + 1)
    blob = rng.choice((rng.randbytes(rng.randint(1, 64)), b"\x00" * rng.randint(1, 300), b"PK\x01\x02", b"PK\x05\x06"))
    buf[c:c] = blob
    return f"insert {len(blob)} bytes at {c}"


def delete_range(buf: bytearray, rng: random.Random) -> str:
    if not buf:
        return "delete: empty"
    a = rng.randrange(len(buf))
    b = min(len(buf), a + rng.choice((1, 4, 30, 46, 200)))
    del buf[a:b]
    return f"delete [{a}:{b}]"


BYTE_OPS: list[Callable[[bytearray, random.Random], str]] = [
    bitflips, bitflips, random_bytes, truncate, duplicate, insert_garbage, delete_range,
]  # fmt: skip


# --- zip fields -----------------------------------------------------------------------------------
LFH_FIELDS = [(4, 2), (6, 2), (8, 2), (14, 4), (18, 4), (22, 4), (26, 2), (28, 2)]
CD_FIELDS = [(6, 2), (8, 2), (10, 2), (16, 4), (20, 4), (24, 4), (28, 2), (30, 2), (32, 2), (34, 2), (42, 4)]
EOCD_FIELDS = [(4, 2), (6, 2), (8, 2), (10, 2), (12, 4), (16, 4), (20, 2)]


def _all(buf: bytes | bytearray, sig: bytes) -> list[int]:
    out, i = [], buf.find(sig)
    while i >= 0 and len(out) < 4000:
        out.append(i)
        i = buf.find(sig, i + 1)
    return out


def zip_field(buf: bytearray, rng: random.Random) -> str:
    kinds = [
        ("lfh", _all(buf, b"PK\x03\x04"), LFH_FIELDS),
        ("cd", _all(buf, b"PK\x01\x02"), CD_FIELDS),
        ("eocd", _all(buf, b"PK\x05\x06"), EOCD_FIELDS),
    ]
    kinds = [k for k in kinds if k[1]]
    if not kinds:
        return bitflips(buf, rng)
    label, where, fields = rng.choice(kinds)
    at = rng.choice(where)
    off, width = rng.choice(fields)
    return f"zip {label} field +{off}: " + set_field(buf, at + off, width, rng, len(buf))


# --- chunked binary XML / resource tables --------------------------------------------------------
def chunks(
    data: bytes | bytearray, start: int = 0, end: int | None = None, depth: int = 0
) -> list[tuple[int, int, int, int]]:
    """(offset, type, header size, size) of every chunk reachable by walking sizes."""
    end = len(data) if end is None else end
    out: list[tuple[int, int, int, int]] = []
    pos = start
    while pos + 8 <= end and len(out) < 2000:
        ctype, hsize, size = struct.unpack_from("<HHI", data, pos)
        if size < 8 or pos + size > end:
            break
        out.append((pos, ctype, hsize, size))
        # containers: XML (3), table (2), package (0x200)
        if ctype in (0x0002, 0x0003, 0x0200) and 8 <= hsize < size and depth < 3:
            out += chunks(data, pos + hsize, pos + size, depth + 1)
        pos += size
    return out


def chunk_field(buf: bytearray, rng: random.Random) -> str:
    found = chunks(buf)
    if not found:
        return bitflips(buf, rng)
    pos, ctype, hsize, size = rng.choice(found)
    r = rng.random()
    total = len(buf)
    if r < 0.3:  # chunk header: type, header size, size
        off, width = rng.choice(((0, 2), (2, 2), (4, 4)))
        return f"chunk 0x{ctype:04x}@{pos} header +{off}: " + set_field(buf, pos + off, width, rng, total)
    if ctype == 0x0001 and r < 0.75:  # string pool
        count = struct.unpack_from("<I", buf, pos + 8)[0] if pos + 12 <= total else 0
        strings_start = struct.unpack_from("<I", buf, pos + 20)[0] if pos + 24 <= total else 0
        what = rng.random()
        if what < 0.4:
            off = rng.choice((8, 12, 16, 20, 24))
            return f"string pool@{pos} field +{off}: " + set_field(buf, pos + off, 4, rng, total)
        if what < 0.7 and count:
            i = rng.randrange(min(count, 5000))
            return f"string pool@{pos} offset[{i}]: " + set_field(buf, pos + hsize + 4 * i, 4, rng, total)
        if count:  # a string's length prefix
            i = rng.randrange(min(count, 5000))
            at = pos + hsize + 4 * i
            if at + 4 <= total:
                s = pos + strings_start + struct.unpack_from("<I", buf, at)[0]
                return f"string pool@{pos} length of [{i}]: " + set_field(buf, s, rng.choice((1, 2)), rng, total)
    if ctype == 0x0102 and r < 0.75:  # start element, attributes
        if rng.random() < 0.5:
            off, width = rng.choice(((16, 4), (20, 4), (24, 2), (26, 2), (28, 2), (30, 2), (32, 2), (34, 2)))
            return f"start-element@{pos} +{off}: " + set_field(buf, pos + off, width, rng, total)
        nattr = struct.unpack_from("<H", buf, pos + 28)[0] if pos + 30 <= total else 0
        if nattr:
            a = rng.randrange(min(nattr, 64))
            off, width = rng.choice(((0, 4), (4, 4), (8, 4), (12, 2), (15, 1), (16, 4)))
            at = pos + 36 + 20 * a + off
            return f"attribute {a} of element@{pos} +{off}: " + set_field(buf, at, width, rng, total)
    if ctype in (0x0100, 0x0101) and r < 0.75:  # namespace prefix / uri
        off = rng.choice((8, 12, 16, 20))
        return f"namespace@{pos} +{off}: " + set_field(buf, pos + off, 4, rng, total)
    if r < 0.85:  # drop, duplicate or swap whole chunks
        if rng.random() < 0.5:
            del buf[pos : pos + size]
            return f"drop chunk 0x{ctype:04x}@{pos}"
        buf[pos:pos] = buf[pos : pos + size]
        return f"duplicate chunk 0x{ctype:04x}@{pos}"
    at = pos + rng.randrange(max(1, min(size, 256)) // 4 + 1) * 4
    return f"chunk 0x{ctype:04x}@{pos} body: " + set_field(buf, at, rng.choice((2, 4)), rng, total)


# --- dex ------------------------------------------------------------------------------------------
DEX_HEADER_FIELDS = [8, 32, 36, 40, 44, 48, 52, 56, 60, 64, 68, 72, 76, 80, 84, 88, 92, 96, 100, 104, 108]
DEX_TABLES = [(56, 4), (64, 4), (72, 12), (80, 8), (88, 8), (96, 32)]  # (size field, item size)


def dex_fix(buf: bytearray) -> None:
    """Recompute file_size and the adler32 checksum (so other checks are reached)."""
    if len(buf) >= 0x70:
        struct.pack_into("<I", buf, 32, len(buf))
        struct.pack_into("<I", buf, 8, zlib.adler32(bytes(buf[12:])))


def dex_field(buf: bytearray, rng: random.Random) -> str:
    if len(buf) < 0x70:
        return bitflips(buf, rng)
    r = rng.random()
    total = len(buf)
    if r < 0.45:
        off = rng.choice(DEX_HEADER_FIELDS)
        desc = f"dex header +{off}: " + set_field(buf, off, 4, rng, total)
    elif r < 0.8:
        size_at, item = rng.choice(DEX_TABLES)
        count, table_off = struct.unpack_from("<II", buf, size_at)
        if not count or table_off >= total:
            return bitflips(buf, rng)
        i = rng.randrange(min(count, 100000))
        field = rng.randrange(item // 4) * 4
        width = 4 if item in (4, 12, 32) or field == 4 else rng.choice((2, 4))
        at = table_off + item * i + field
        desc = f"dex table@{size_at} item {i} +{field}: " + set_field(buf, at, width, rng, total)
    elif r < 0.9 and total > 0x70:  # bytes in the data section (code, class data, strings)
        at = rng.randrange(0x70, total)
        buf[at : at + 4] = rng.randbytes(4)
        desc = f"dex data bytes @{at}"
    else:
        desc = "dex " + rng.choice(BYTE_OPS)(buf, rng)
    if rng.random() < 0.6:
        dex_fix(buf)
        desc += " (checksum fixed)"
    return desc


def inner_mutation(name: str, blob: bytes, rng: random.Random) -> tuple[bytes, str]:
    buf = bytearray(blob)
    steps = []
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        r = rng.random()
        if name.endswith(".dex") and r < 0.75:
            steps.append(dex_field(buf, rng))
        elif not name.endswith(".dex") and r < 0.75:
            steps.append(chunk_field(buf, rng))
        else:
            steps.append(rng.choice(BYTE_OPS)(buf, rng))
    return bytes(buf), "; ".join(steps)


# --- zip tricks (re-zipped) ---------------------------------------------------------------------
TRAVERSAL = [b"../../evil.sh", b"..\\..\\StaticAnalyzer\\__init__.py", b"/etc/passwd", b"C:/x.dex",
             b"assets/../../x", b"a\nb.txt", b"res/\x1b[31mred.xml", b"\xff\xfe.txt", b"assets/\xe2\x80\xaefdp.exe",
             b"", b"a\x00b"]  # fmt: skip


def zip_trick(entries: list[Entry], rng: random.Random) -> tuple[bytes, str]:
    n = len(entries)
    pick = rng.randrange(n)
    name = entries[pick].name.decode("utf-8", "replace")
    trick = rng.randrange(14)
    if trick == 0:
        method = rng.choice((1, 6, 12, 14, 93, 99, 0x7600, 0xFFFF))
        return write_zip(entries, cd_method={pick: method}), f"unknown method {method} on {name!r}"
    if trick == 1:
        return write_zip(entries, cd_flags={pick: 1}), f"fake encryption (cd+lfh) on {name!r}"
    if trick == 2:
        return write_zip(entries, lfh_flags={pick: 1}, cd_flags={pick: 0}), f"encryption flag in lfh only on {name!r}"
    if trick == 3:
        m = rng.choice((0, 8, 12))
        return write_zip(entries, lfh_method={pick: m}), f"lfh method {m} on {name!r}"
    if trick == 4:
        other = rng.choice([*TRAVERSAL[:3], b"classes.dex", b"AndroidManifest.xml"])
        return write_zip(entries, lfh_name={pick: other}), f"lfh name {other!r} for {name!r}"
    if trick == 5:
        extra = rng.choice(
            (b"\x01", b"\xff\xff\x10\x00abc", rng.randbytes(rng.randint(1, 40)), b"\x01\x00\x08\x00" + b"\xff" * 8)
        )
        where = rng.choice(("cd", "lfh", "both"))
        kw = {"cd_extra": {pick: extra}} if where != "lfh" else {}
        if where != "cd":
            kw["lfh_extra"] = {pick: extra}
        return write_zip(entries, **kw), f"garbage extra ({where}) {extra[:8]!r} on {name!r}"
    if trick == 6:
        comment = rng.choice((b"hello", b"PK\x05\x06" + b"\x00" * 18, rng.randbytes(100)))
        trailer = rng.choice((b"", b"trailing", b"\x00" * 1024))
        desc = f"EOCD comment {len(comment)} + trailer {len(trailer)}"
        return write_zip(entries, comment=comment, trailer=trailer), desc
    if trick == 7:
        prefix = rng.choice((b"MZ" + b"\x00" * 1024, rng.randbytes(rng.randint(1, 4000)), b"PK\x03\x04"))
        return write_zip(entries, prefix=prefix), f"{len(prefix)} bytes prepended"
    if trick == 8:
        dup = Entry(entries[pick].name, rng.choice((b"", entries[rng.randrange(n)].data)), entries[pick].method)
        at = rng.randrange(n + 1)
        new = [*entries[:at], dup, *entries[at:]]
        return write_zip(new), f"duplicate name {name!r} inserted at {at}"
    if trick == 9:
        bad = rng.choice(TRAVERSAL)
        new = list(entries)
        new[pick] = Entry(bad, entries[pick].data, entries[pick].method)
        return write_zip(new), f"rename {name!r} to {bad!r}"
    if trick == 10:
        dex = next((e for e in entries if e.name.endswith(b".dex")), None)
        if dex is None:
            return write_zip(entries), "no dex to disguise"
        alias = rng.choice(
            (b"assets/font.ttf", b"res/raw/a.png", b"lib/arm64-v8a/libx.so", b"classes.dex.bak", b"assets/x")
        )
        return write_zip([*entries, Entry(alias, dex.data, rng.choice((0, 8)))]), f"dex disguised as {alias!r}"
    if trick == 11:
        inner = write_zip(entries)
        depth = rng.randint(1, 5)
        blob = inner
        for d in range(depth):
            blob = write_zip([Entry(b"AndroidManifest.xml", entries[0].data), Entry(f"assets/n{d}.zip".encode(), blob)])
        return blob, f"APK nested {depth} deep"
    if trick == 12:
        size = rng.choice((1 << 20, 8 << 20, 40 << 20))
        bomb = Entry(b"assets/zeros.bin", b"\x00" * size, 8)
        return write_zip([*entries, bomb]), f"{size >> 20} MiB of zeros added"
    # shuffle entries (manifest no longer first) and drop one
    new = list(entries)
    rng.shuffle(new)
    if n > 1 and rng.random() < 0.5:
        del new[rng.randrange(n)]
    return write_zip(new), "entries shuffled / one dropped"


# --- campaign -----------------------------------------------------------------------------------------
class Mutator:
    """Generates input ``i`` of campaign ``seed`` from a fixed seed list."""

    def __init__(self, seeds: list[Seed]) -> None:
        if not seeds:
            raise ValueError("no seeds")
        self.seeds = seeds
        self._entries: dict[str, list[Entry] | None] = {}

    def entries(self, seed: Seed) -> list[Entry] | None:
        if seed.name not in self._entries:
            self._entries[seed.name] = entries_of(seed.data)
        return self._entries[seed.name]

    def generate(self, campaign: int, index: int) -> Mutant:
        rng = random.Random(campaign * 1_000_003 + index)
        seed = self.seeds[rng.randrange(len(self.seeds))]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # zipfile's "Duplicate name"
            data, desc = self._mutate(seed, rng)
        if rng.random() < 0.15:  # stack a byte-level mutation on top
            buf = bytearray(data)
            desc += " + " + rng.choice(BYTE_OPS)(buf, rng)
            data = bytes(buf)
        return Mutant(data, desc, seed.name)

    def _mutate(self, seed: Seed, rng: random.Random) -> tuple[bytes, str]:
        entries = self.entries(seed)
        r = rng.random()
        if entries and r < 0.45:
            names = [e.name.decode("utf-8", "replace") for e in entries]
            targets = [i for i, nm in enumerate(names) if nm in INNER or nm.endswith(".dex")]
            if targets:
                i = rng.choice(targets)
                blob, desc = inner_mutation(names[i], entries[i].data, rng)
                new = list(entries)
                new[i] = Entry(entries[i].name, blob, entries[i].method)
                return write_zip(new), f"inner {names[i]}: {desc}"
        if entries and r < 0.65:
            return zip_trick(entries, rng)
        buf = bytearray(seed.data)
        if r < 0.85:
            desc = zip_field(buf, rng)
            if rng.random() < 0.5:  # a second field
                desc += "; " + zip_field(buf, rng)
            return bytes(buf), desc
        if r < 0.92:
            other = self.seeds[rng.randrange(len(self.seeds))].data
            a, b = rng.randrange(len(buf) + 1), rng.randrange(len(other) + 1)
            return bytes(buf[:a]) + other[b:], f"splice [:{a}] + other[{b}:]"
        desc = rng.choice(BYTE_OPS)(buf, rng)
        return bytes(buf), desc
