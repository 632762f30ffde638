"""URLs, domains, IP addresses and e-mail addresses in the app's text.

Each pattern runs once over the joined text of a source (a dex string table, the
resource strings, one asset), which is far faster than one regex call per string.
"""

from __future__ import annotations

import ipaddress
import re
from array import array
from collections.abc import Iterable, Iterator, Sequence

from apkscan.facts import Strings
from apkscan.runtime import native_allowed

try:
    from apkscan.extract import _textfast
except ImportError:  # built without a compiler: the same passes run in Python
    _textfast = None  # type: ignore[assignment]

NATIVE_TEXT: bool = _textfast is not None and array("I").itemsize == 4 and native_allowed()
"""Whether passes over large string lists (the harvest's filters here, the text blobs of
:mod:`apkscan.rules.context`) run in the C extension ``apkscan.extract._textfast``:
it is built, and ``APKSCAN_PURE_PYTHON`` was not set."""

URL_RE = re.compile(r"""\b(?:https?|wss?|ftp)://[^\s"'<>\\^`{|}\x00-\x1f]{1,2000}""", re.I)
IP_RE = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
EMAIL_RE = re.compile(r"\b[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24}\b")
HOST_RE = re.compile(r"^[a-z0-9.-]+$")
IP_ALONE = re.compile(r"^(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?$")
# Cheap tests that a text can hold a match at all: each pattern above scans every
# position of the text, and a large app has megabytes of assets without one address.
IP_HINT = re.compile(r"\d\.\d")
EMAIL_HINT = re.compile(r"@[A-Za-z0-9-]")
_SCHEME_MAX = 5  # "https"

TEXT_SUFFIXES = (
    ".js",
    ".html",
    ".htm",
    ".json",
    ".xml",
    ".txt",
    ".css",
    ".properties",
    ".conf",
    ".cfg",
    ".ini",
    ".yml",
    ".yaml",
    ".csv",
    ".vue",
    ".ts",
    ".mjs",
    ".plist",
    ".md",
)

# Hosts that appear in nearly every app as XML namespaces or specs; not servers it talks to.
NOISE_HOSTS = frozenset(
    {
        "schemas.android.com",
        "www.w3.org",
        "ns.adobe.com",
        "xml.org",
        "xmlpull.org",
        "www.apache.org",
        "apache.org",
        "json-schema.org",
        "purl.org",
        "www.xmlpull.org",
        "localhost",
        "127.0.0.1",
        "0.0.0.0",
        "example.com",
        "www.example.com",
    }
)


def is_text_asset(name: str) -> bool:
    return name.lower().endswith(TEXT_SUFFIXES)


def decode_text(data: bytes) -> str:
    """UTF-8, else UTF-16 (with BOM), else latin-1: never raises."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    return data.decode("utf-8", errors="replace")


def host_of(url: str) -> str:
    rest = url.split("://", 1)[-1]
    host = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    host = host.rsplit("@", 1)[-1]
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else ""
    return host.split(":", 1)[0].lower().rstrip(".")


def valid_ip(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


def find_urls(text: str) -> Iterator[str]:
    """What ``URL_RE.finditer(text)`` finds, found from each "://" instead of trying the
    pattern at every position of the text (several times faster on large assets).

    A match holds its own "://" within the scheme's length of its start, so the leftmost
    match at or after ``pos`` starts in the few positions before the next "://"."""
    pos = 0
    find = text.find
    match = URL_RE.match
    while True:
        k = find("://", pos)
        if k < 0:
            return
        for start in range(max(k - _SCHEME_MAX, pos), k):
            m = match(text, start)
            if m is not None:
                yield m.group(0)
                pos = m.end()
                break
        else:
            pos = k + 1


class TextHarvest:
    """Accumulates URLs, domains, IPs and e-mails over several sources."""

    def __init__(self) -> None:
        self.urls: dict[str, str] = {}
        self.domains: set[str] = set()
        self.ips: set[str] = set()
        self.emails: set[str] = set()

    def add(self, source: str, texts: Iterable[str]) -> None:
        """Harvest from many short strings (a dex string table, resource strings): each
        pattern runs only over the strings that can hold a match."""
        items = texts if isinstance(texts, (list, tuple)) else list(texts)
        with_scheme, maybe_ips, with_at = pick(items)
        self._urls(source, "\n".join(with_scheme))
        for t in maybe_ips:
            # An address alone in a string (with an optional port); addresses inside
            # longer text come from URLs. "1.0.0.1"-like version strings are common too,
            # which is why an address must stand alone.
            if 7 <= len(t) <= 21 and t[0].isdigit() and IP_ALONE.match(t):
                ip = t.split(":", 1)[0]
                if _public_ip(ip):
                    self.ips.add(ip)
        self._emails("\n".join(with_at))

    def strings(self, resources: Iterable[tuple[str, str, str]], assets: Iterable[tuple[str, str]]) -> Strings:
        """The harvest as facts, beside the resource strings and text assets it came from."""
        return Strings(
            resources=tuple(resources),
            assets=tuple(assets),
            urls=tuple(sorted(self.urls.items())),
            domains=tuple(sorted(self.domains)),
            ips=tuple(sorted(self.ips)),
            emails=tuple(sorted(self.emails)),
        )

    def update(self, other: TextHarvest) -> None:
        """Add what ``other`` found; URLs already seen keep their first source."""
        for url, source in other.urls.items():
            self.urls.setdefault(url, source)
        self.domains |= other.domains
        self.ips |= other.ips
        self.emails |= other.emails

    def add_text(self, source: str, text: str) -> None:
        """Harvest from one document (an asset): addresses may stand anywhere in it."""
        self._urls(source, text)
        for m in ip_matches(text):
            ip = m.group(0)
            if _public_ip(ip) and _standalone(text, m.start(), m.end()):
                self.ips.add(ip)
        self._emails(text)

    def _urls(self, source: str, blob: str) -> None:
        for url in find_urls(blob):
            url = url.rstrip(".,;:)]'\"")
            host = host_of(url)
            if not host or host in NOISE_HOSTS or not HOST_RE.match(host):
                continue
            self.urls.setdefault(url, source)
            if valid_ip(host):
                self.ips.add(host)
            elif "." in host and not host.replace(".", "").isdigit():
                self.domains.add(host)

    def _emails(self, blob: str) -> None:
        if not EMAIL_HINT.search(blob):
            return
        for m in EMAIL_RE.finditer(blob):
            email = m.group(0)
            if not email.lower().endswith((".png", ".jpg", ".xml", ".so", ".9")):
                self.emails.add(email)


Picks = tuple[Sequence[str], Sequence[str], Sequence[str]]


def pick(texts: list[str] | tuple[str, ...], native: bool | None = None) -> Picks:
    """The strings that hold "://", those that may be an address alone (a superset: the
    caller checks each), and those that hold "@". ``native`` (default
    :data:`NATIVE_TEXT`) makes the pass in C; a dex has hundreds of thousands of strings."""
    if native if native is not None else NATIVE_TEXT:
        return _textfast.pick(texts)
    return [t for t in texts if "://" in t], texts, [t for t in texts if "@" in t]


def ip_matches(text: str, native: bool | None = None) -> Iterator[re.Match[str]]:
    """Matches of ``IP_RE`` in ``text``: all of them, or (``native``, default
    :data:`NATIVE_TEXT`) at least all those made of ASCII characters, the only ones that
    can name a valid address, tried only where C found an address-shaped run. ``IP_RE``
    tried at every position of a megabyte of minified JavaScript costs ~0.05 s."""
    if native if native is not None else NATIVE_TEXT:
        match = IP_RE.match
        for start in _textfast.ip_runs(text):
            m = match(text, start)
            if m is not None:
                yield m
    elif IP_HINT.search(text):
        yield from IP_RE.finditer(text)


def ascii_blob(texts: list[str], lower: bool) -> tuple[bytes, bytes, bytes, bytes]:
    """The C pass behind :meth:`apkscan.rules.context.TextBlob.split` (only when
    :data:`NATIVE_TEXT`): see ``_textfast.pyi``."""
    return _textfast.ascii_blob(texts, lower)


def _public_ip(ip: str) -> bool:
    return valid_ip(ip) and not ip.startswith(("0.", "127.", "255."))


def _standalone(blob: str, start: int, end: int) -> bool:
    before = blob[start - 1] if start > 0 else "\n"
    after = blob[end] if end < len(blob) else "\n"
    return before in "\n/@ \"'=:" and after in "\n/: \"',;"
