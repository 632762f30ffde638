"""A fast reader for well-formed binary XML (the manifest), giving the tree androguard's
``AXMLPrinter`` gives.

androguard's printer costs ~0.08 s on a large manifest (400 components), and importing it
(with lxml and loguru) ~0.06 s more: about a tenth of the scan of a large app. This
reader takes the same decisions for the files aapt and aapt2 write, and gives up
(:func:`parse` returns None) at the first thing it does not handle exactly as androguard
does: a chunk laid out another way, a string pool with styles or odd offsets, a name
androguard would rewrite, a value it would clean, a comment, a namespaced element. The
caller then parses with androguard, so hostile files get the same treatment as before.
``tests/test_fast_paths.py`` compares both trees on every binary XML of the samples and
the corpus.
"""

from __future__ import annotations

import functools
import importlib.util
import re
import struct
from collections.abc import Iterator
from pathlib import Path

_NONE = 0xFFFFFFFF
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9._-]*\Z")
"""Names androguard's ``_fix_name`` leaves alone (and lxml accepts)."""
_URI = re.compile(r"http://schemas\.android\.com/(apk/res-auto|tools|apk/res/[A-Za-z0-9_.]+)\Z")
"""Namespace URIs that aapt writes (lxml refuses some odd ones, which androguard reads)."""
ANDROID_NS = "http://schemas.android.com/apk/res/android"


@functools.cache
def _bad_char() -> re.Pattern[str]:
    """Characters androguard's ``_fix_value`` replaces (NUL, which it cuts at, included).
    Compiled on first use (5 ms): ASCII values are checked without it."""
    return re.compile("[^\u0020-\ud7ff\u0009\u000a\u000d\ue000-\ufffd\U00010000-\U0010ffff]")


def _clean(value: str) -> bool:
    """Whether ``_fix_value`` leaves the value alone. Printable ASCII surely is; an ASCII
    tab, newline or DEL gives up for nothing, which is fine (androguard reads the file)."""
    return value.isprintable() if value.isascii() else not _bad_char().search(value)


_U32 = struct.Struct("<I")
_HEAD = struct.Struct("<HHI")
_POOL = struct.Struct("<IIIII")
_ELEMENT = struct.Struct("<IIIIHHII")  # line, comment, ns, name, attr start, attr size, count, class
_END = struct.Struct("<IIII")  # line, comment, ns, name


class _GiveUp(Exception):
    """Not a file this reader handles exactly as androguard; androguard reads it."""


class Element:
    """The part of lxml's element API the manifest reader uses: ``tag``, ``get``,
    iteration over the children and ``iter()`` (this element and all below it, in
    document order)."""

    __slots__ = ("_children", "_doc", "_first", "_last", "attrib", "tag")

    def __init__(self, tag: str, attrib: dict[str, str], doc: list[Element]) -> None:
        self.tag = tag
        self.attrib = attrib
        self._children: list[Element] = []
        self._doc = doc
        """Every element of the document, in document order."""
        self._first = len(doc)
        self._last = -1
        """This element and all below it are ``_doc[_first:_last]`` (-1: to the end)."""
        doc.append(self)

    def get(self, key: str, default: str | None = None) -> str | None:
        return self.attrib.get(key, default)

    def __iter__(self) -> Iterator[Element]:
        return iter(self._children)

    def __len__(self) -> int:
        return len(self._children)

    def iter(self) -> Iterator[Element]:
        return iter(self._doc[self._first : self._last] if self._last >= 0 else self._doc[self._first :])


@functools.lru_cache(maxsize=1)
def system_attributes() -> dict[int, str]:
    """Resource id -> name of the platform's public attributes, as androguard reads them
    from its ``public.xml`` (``SYSTEM_RESOURCES["attributes"]["inverse"]``): the last name
    given to a name wins, then the last name of an id. Read with one regex (ElementTree
    takes 4x longer); empty when androguard or the file is missing."""
    try:  # found, not imported (apkscan may have put its own module in place of androguard's)
        spec = importlib.util.find_spec("androguard")
    except (ImportError, ValueError):
        return {}
    if spec is None or spec.origin is None:
        return {}
    try:
        text = (Path(spec.origin).parent / "core" / "resources" / "public.xml").read_bytes()
    except OSError:
        return {}
    text = re.sub(rb"<!--.*?-->", b"", text, flags=re.S)
    forward: dict[str, int] = {}
    for tag in re.findall(rb"<public\s[^>]*>", text):
        attrs = dict(re.findall(rb'(\w+)="([^"]*)"', tag))
        if attrs.get(b"type") == b"attr":
            forward[attrs.get(b"name", b"").decode()] = int(attrs.get(b"id", b"0") or b"0", 16)
    return {v: k for k, v in forward.items()}


class _Strings:
    """The string pool, decoded on demand as androguard's ``StringBlock`` decodes it."""

    def __init__(self, data: bytes, pos: int) -> None:
        ctype, hsize, size = _HEAD.unpack_from(data, pos)
        if ctype != 0x0001 or hsize != 28 or size < 28 or pos + size > len(data):
            raise _GiveUp
        count, styles, flags, strings_at, styles_at = _POOL.unpack_from(data, pos + 8)
        if styles or styles_at or strings_at != 28 + 4 * count or strings_at > size:
            raise _GiveUp
        self.offsets = struct.unpack_from(f"<{count}I", data, pos + 28)
        self.chars = data[pos + strings_at : pos + size]
        self.utf8 = bool(flags & 0x100)
        self.size = size
        self._cache: dict[int, str] = {}

    def __getitem__(self, idx: int) -> str:
        hit = self._cache.get(idx)
        if hit is None:
            if idx < 0 or idx >= len(self.offsets):
                return ""
            hit = self._cache[idx] = self._decode(self.offsets[idx])
        return hit

    def _decode(self, offset: int) -> str:
        chars = self.chars
        if self.utf8:
            if offset + 4 > len(chars):
                raise _GiveUp
            n_chars = chars[offset]
            if n_chars & 0x80:
                n_chars = ((n_chars & 0x7F) << 8) | chars[offset + 1]
                offset += 1
            offset += 1
            n_bytes = chars[offset]
            if n_bytes & 0x80:
                n_bytes = ((n_bytes & 0x7F) << 8) | chars[offset + 1]
                offset += 1
            offset += 1
            end = offset + n_bytes
            if end >= len(chars) or chars[end] != 0:
                raise _GiveUp  # androguard: "" with a warning, or an IndexError
            return chars[offset:end].decode("utf-8", "replace")
        if offset + 4 > len(chars):
            raise _GiveUp
        n_units = chars[offset] | chars[offset + 1] << 8
        if n_units & 0x8000:
            n_units = ((n_units & 0x7FFF) << 16) | chars[offset + 2] | chars[offset + 3] << 8
            offset += 4
        else:
            offset += 2
        end = offset + 2 * n_units
        if end + 2 > len(chars) or chars[end : end + 2] != b"\x00\x00":
            raise _GiveUp
        return chars[offset:end].decode("utf-16", "replace")


def _fmt_int(x: int) -> int:
    return (0x7FFFFFFF & x) - 0x80000000 if x > 0x7FFFFFFF else x


_RADIX = (0.00390625, 3.051758e-005, 1.192093e-007, 4.656613e-010)
_DIMENSION_UNITS = ("px", "dip", "sp", "pt", "in", "mm")
_FRACTION_UNITS = ("%", "%p")


def format_value(kind: int, data: int, string: str) -> str:
    """androguard's ``format_value`` for one attribute value (``string``: the value's
    string, used for strings)."""
    if kind == 0x03:
        return string
    if kind in (0x01, 0x02):
        return ("@" if kind == 0x01 else "?") + ("android:" if data >> 24 == 1 else "") + f"{data:08X}"
    if kind == 0x04:
        return f"{struct.unpack('=f', struct.pack('=L', data))[0]:f}"
    if kind == 0x11:
        return f"0x{data:08X}"
    if kind == 0x12:
        return "false" if data == 0 else "true"
    if kind in (0x05, 0x06):
        unit = data & 0x0F
        value = float(data & 0xFFFFFF00) * _RADIX[(data >> 4) & 3]
        if kind == 0x05:
            if unit >= len(_DIMENSION_UNITS):
                raise _GiveUp  # androguard: IndexError
            return f"{value:f}{_DIMENSION_UNITS[unit]}"
        if unit >= len(_FRACTION_UNITS):
            raise _GiveUp
        return f"{value * 100:f}{_FRACTION_UNITS[unit]}"
    if 0x1C <= kind <= 0x1F:
        return f"#{data:08X}"
    if 0x10 <= kind <= 0x1F:
        return str(_fmt_int(data))
    return f"<0x{data:X}, type 0x{kind:02X}>"


def parse(data: bytes) -> tuple[Element, bool] | None:
    """(root element, looks packed) as androguard's ``AXMLPrinter`` would give them
    (``get_xml_obj()``, ``is_packed()``), or None when this reader leaves the file to
    androguard."""
    try:
        return _parse(data)
    except (_GiveUp, struct.error, IndexError, UnicodeError, OverflowError):
        return None


def _parse(data: bytes) -> tuple[Element, bool] | None:
    n = len(data)
    if n < 36:
        return None
    ctype, hsize, size = _HEAD.unpack_from(data, 0)
    if ctype != 0x0003 or hsize != 8 or size != n:
        return None
    sb = _Strings(data, 8)
    pos = 8 + sb.size
    res_ids: list[int] = []
    namespaces: list[tuple[int, int]] = []
    system = None
    packed = False
    root: Element | None = None
    stack: list[Element] = []
    names: dict[int, tuple[str, bool]] = {}  # attribute name index -> (key, renamed)
    doc: list[Element] = []
    while pos != n:
        if pos + 8 > n:
            return None
        ctype, hsize, size = _HEAD.unpack_from(data, pos)
        if hsize < 8 or size < hsize or pos + size > n:
            return None
        end = pos + size
        if ctype == 0x0180:  # resource map
            if hsize != 8 or size % 4:
                return None
            res_ids.extend(struct.unpack_from(f"<{(size - 8) // 4}I", data, pos + 8))
            names.clear()
            pos = end
            continue
        if hsize != 16 or ctype < 0x0100 or ctype > 0x0104:
            return None
        if ctype in (0x0100, 0x0101):  # namespace start / end
            _, comment, prefix, uri = _END.unpack_from(data, pos + 8)
            if size != 24 or comment != _NONE:
                return None
            if ctype == 0x0100:
                p, u = sb[prefix], sb[uri]
                if p and u and (not _NAME.match(p) or p.lower().startswith("xml") or not _URI.match(u.strip())):
                    return None  # a mapping lxml might refuse or androguard would rename
                namespaces.append((prefix, uri))
            elif (prefix, uri) in namespaces:
                namespaces.remove((prefix, uri))
            pos = end
            continue
        if ctype == 0x0102:  # element start
            if size < 36:
                return None
            _, comment, ns, name_idx, a_start, a_size, count, _ = _ELEMENT.unpack_from(data, pos + 8)
            count &= 0xFFFF
            if comment != _NONE or ns != _NONE or a_start != 20 or a_size != 20 or 36 + 20 * count > size:
                return None
            tag = sb[name_idx]
            if not _NAME.match(tag):
                return None
            attrib: dict[str, str] = {}
            at = pos + 36
            for _ in range(count):
                a_ns, a_name, a_string, a_type, a_data = struct.unpack_from("<IIIII", data, at)
                at += 20
                named = names.get(a_name)
                if named is None:
                    name = sb[a_name]
                    renamed = False
                    if a_name < len(res_ids):
                        if system is None:
                            system = system_attributes()
                            if not system:
                                return None
                        known = system.get(res_ids[a_name])
                        if known is not None:
                            known = known.replace("_", ":")
                            renamed = known != name
                            name = known
                    if not _NAME.match(name):
                        return None
                    named = names[a_name] = (name, renamed)
                name, renamed = named
                packed = packed or renamed
                uri = "" if a_ns == _NONE else sb[a_ns]
                if uri and uri != ANDROID_NS and not _URI.match(uri):
                    return None
                kind = a_type >> 24
                value = format_value(kind, a_data, sb[a_string] if kind == 0x03 else "")
                if not _clean(value):
                    return None
                attrib[f"{{{uri}}}{name}" if uri else name] = value
            el = Element(tag, attrib, doc)
            if root is None:
                root = el
            elif not stack:
                return None
            else:
                stack[-1]._children.append(el)
            stack.append(el)
        elif ctype == 0x0103:  # element end
            if size < 24:
                return None
            _, _, ns, name_idx = _END.unpack_from(data, pos + 8)
            if not stack or ns != _NONE or stack[-1].tag != sb[name_idx]:
                return None
            stack.pop()._last = len(doc)
        elif ctype == 0x0104:  # text
            if size < 28 or not stack:
                return None
            (text_idx,) = _U32.unpack_from(data, pos + 16)
            if not _clean(sb[text_idx]):
                return None
        else:
            return None
        pos = end
    if root is None:
        return None
    return root, packed
