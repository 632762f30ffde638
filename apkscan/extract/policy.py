"""Finds the privacy policy an app bundles, or reads one the user gives (``--policy``).

Works on facts already read (text assets and ``res/raw`` files in ``Strings.assets``,
string resources, harvested URLs), so locating a policy costs no second pass over the
archive. HTML is turned into plain text with the standard library's parser. Offline:
a policy URL is reported, never fetched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar

from apkscan.facts import ApkFacts

POLICY_FILE_MAX_BYTES = 16 * 1024 * 1024
"""A ``--policy`` file larger than this is refused."""

NAME_HINTS = ("privacy", "policy", "yinsi", "隐私", "protocol", "xieyi", "agreement", "sdk_list", "sdklist", "personal")
"""Words in an asset's file name that make it a candidate."""
TEXT_SUFFIXES = (".html", ".htm", ".txt", ".md", ".xhtml")
"""Asset kinds read as policy candidates (scripts and JSON are left out: their text is code)."""
MARKERS = (
    "隐私政策",
    "隐私权政策",
    "个人信息保护政策",
    "个人信息",
    "收集",
    "第三方",
    "SDK",
    "权限",
    "注销",
    "privacy policy",
    "personal information",
    "personal data",
    "collect",
    "third part",
    "permission",
)
TITLE_MARKERS = ("隐私政策", "隐私权政策", "个人信息保护政策", "隐私保护指引", "privacy policy", "privacy notice")
AGREEMENT_TITLES = (
    "用户协议",
    "服务协议",
    "许可协议",
    "使用协议",
    "注册协议",
    "terms of service",
    "terms of use",
    "license agreement",
)
"""A text titled as one of these (in its first line, with no policy title there)
is a user agreement, not the privacy policy, even when it mentions the policy."""
MAX_CHARS = 2_000_000
"""A candidate text is read up to this many characters (the HTML parser is pure Python)."""
HEAD_CHARS = 60_000
"""An asset not named like a policy is parsed only when a policy title occurs this early."""
MIN_CHARS = 400
"""A text shorter than this is a consent dialog or a link, not a policy."""
MIN_MARKERS = 4
URL_HINT = re.compile(r"privacy|policy|yinsi|xieyi|agreement|隐私|protocol[^/]*$", re.IGNORECASE)
"""A URL that may be the app's privacy policy or user agreement. "protocol" (协议, as
Chinese apps name their agreements) only in the last part of the URL: ``/user_protocol.html``,
not an XML namespace such as ``http://jabber.org/protocol/compress``."""


@dataclass(frozen=True)
class PolicySource:
    """One text taken as (part of) the privacy policy."""

    where: str
    """``assets/privacy.html``, ``res/raw/policy.txt``, ``res/values-zh/strings.xml:privacy_text``
    or the path given with ``--policy``."""
    kind: str
    """``asset``, ``raw``, ``string`` or ``file``."""
    text: str
    """Plain text (HTML tags removed)."""
    score: int = 0
    """How many policy markers it holds (the best source is listed first)."""


@dataclass(frozen=True)
class PolicyDocument:
    """What was found: the policy texts, or none, and the policy URLs the app carries."""

    sources: tuple[PolicySource, ...] = ()
    urls: tuple[tuple[str, str], ...] = ()
    """(url, where) of URLs that look like a privacy policy or user agreement."""
    given: bool = False
    """True when the text came from ``--policy`` rather than from the APK."""

    @property
    def found(self) -> bool:
        return bool(self.sources)

    @property
    def text(self) -> str:
        return "\n\n".join(s.text for s in self.sources)


class _TextOf(HTMLParser):
    BLOCK: ClassVar[frozenset[str]] = frozenset({
        "p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6",
        "section", "article", "table", "ul", "ol", "dt", "dd", "header", "footer", "title",
    })  # fmt: skip

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "noscript"):
            self._skip += 1
        elif tag in self.BLOCK:
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append("\t")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "noscript"):
            self._skip = max(0, self._skip - 1)
        elif tag in self.BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Visible text of an HTML document, one block per line; never raises."""
    parser = _TextOf()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # a hostile document: keep what was read
        pass
    text = "".join(parser.parts)
    text = re.sub(r"[ \t\u3000\xa0]+", " ", text)
    return re.sub(r"\s*\n\s*", "\n", text).strip()


def looks_html(text: str) -> bool:
    head = text[:2000].lower()
    return "<html" in head or "<body" in head or "<p" in head or "<div" in head or "<!doctype" in head


def plain(text: str) -> str:
    if looks_html(text):
        return html_to_text(text)
    # String resources escape newlines and quotes; a few apps store HTML markup in them.
    text = text.replace("\\n", "\n").replace("\\'", "'").replace('\\"', '"')
    if re.search(r"</?(?:p|b|br|strong|font|a)\b", text, re.IGNORECASE):
        return html_to_text(text)
    return text.strip()


def score(text: str) -> int:
    low = text.lower()
    return sum(1 for m in MARKERS if m.lower() in low)


def _is_policy(text: str, named: bool) -> int:
    """The text's marker score when it reads as a privacy policy, else 0."""
    if len(text) < MIN_CHARS:
        return 0
    s = score(text)
    low = text[:4000].lower()
    head = low.lstrip().split("\n", 1)[0][:80]  # the title line
    if any(a in head for a in AGREEMENT_TITLES) and not any(t.lower() in head for t in TITLE_MARKERS):
        return 0
    titled = any(t.lower() in low for t in TITLE_MARKERS)
    if s >= MIN_MARKERS and (titled or named):
        return s
    return 0


def find_policy(facts: ApkFacts) -> PolicyDocument:
    """The bundled privacy-policy texts of an app (best first) and its policy URLs."""
    found: list[PolicySource] = []
    for where, raw in facts.strings.assets:
        low = where.lower()
        if not low.endswith(TEXT_SUFFIXES):
            continue
        named = any(h in low.rsplit("/", 1)[-1] for h in NAME_HINTS)
        if not named:
            head = raw[:HEAD_CHARS].lower()
            if not any(t.lower() in head for t in TITLE_MARKERS):
                continue  # cheap: most HTML of a hybrid app is not a policy
        text = plain(raw[:MAX_CHARS])
        s = _is_policy(text, named)
        if s:
            found.append(PolicySource(where, "raw" if low.startswith("res/raw/") else "asset", text, s))
    seen: set[str] = set()
    for locale, name, value in facts.strings.resources:
        if len(value) < MIN_CHARS or locale not in ("", "zh", "zh-rCN", "zh-CN", "zh-Hans", "b+zh+Hans", "en"):
            continue
        text = plain(value[:MAX_CHARS])
        if text in seen:
            continue
        named = any(h in name.lower() for h in NAME_HINTS)
        s = _is_policy(text, named)
        if s:
            seen.add(text)
            folder = f"values-{locale}" if locale else "values"
            found.append(PolicySource(f"res/{folder}/strings.xml:{name}", "string", text, s))
    found.sort(key=lambda s: (-s.score, s.where))
    urls = tuple(dict.fromkeys((u, src) for u, src in facts.strings.urls if URL_HINT.search(u)))
    return PolicyDocument(tuple(found[:8]), urls[:50])


class PolicyFileError(Exception):
    """A ``--policy`` file that cannot be read (usage error, exit code 2 or 4)."""


def read_policy_file(path: Path) -> PolicyDocument:
    """A policy the user gives: plain text, Markdown or HTML (UTF-8, UTF-16 with a BOM, or
    GB18030). PDF is not read: convert it first (``pdftotext file.pdf``)."""
    try:
        data = path.read_bytes()[: POLICY_FILE_MAX_BYTES + 1]
    except OSError as exc:
        raise PolicyFileError(f"{path}: cannot read the policy ({exc.strerror})") from None
    if len(data) > POLICY_FILE_MAX_BYTES:
        raise PolicyFileError(f"{path}: the policy is larger than {POLICY_FILE_MAX_BYTES} bytes")
    if data.startswith(b"%PDF"):
        raise PolicyFileError(f"{path}: a PDF; give its text instead (pdftotext {path.name} policy.txt)")
    text = decode(data)
    return PolicyDocument((PolicySource(str(path), "file", plain(text), score(text)),), given=True)


def decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("gb18030", errors="replace")
