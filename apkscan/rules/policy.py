"""Reads a privacy policy's text into what it declares: data types, SDKs, permissions,
purposes, and which self-assessment points the text meets.

A plain lexicon-and-pattern reader for Chinese and English (lexicon in
``rules/data/privacy.yaml``): every declaration keeps the sentence that makes it, so a
finding can quote the policy. No model, no network.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import re2

from apkscan.rules.data import builtin_dir, load_yaml, permission_table

QUOTE_CHARS = 240
"""Quoted sentences are cut to this many characters."""
SDK_BLOCK_CHARS = 800
"""After an SDK's name, this much text (up to the next SDK's name) is its list entry."""

_SPLIT = re.compile(r"(?<=[。！？；;!?\n])|(?<=[.])\s+(?=[A-Z])")


@functools.cache
def privacy_table() -> dict[str, Any]:
    path = builtin_dir() / "data" / "privacy.yaml"
    doc = load_yaml(path) if path.exists() else {}
    return doc if isinstance(doc, dict) else {}


@dataclass(frozen=True)
class Declaration:
    """One thing the policy declares, with the sentence that declares it."""

    key: str
    """A data type (``location``), an SDK id, a permission name or a check id."""
    sentence: str
    where: str = ""
    """The source of the policy text the sentence comes from."""


@dataclass(frozen=True)
class CheckResult:
    id: str
    passed: bool
    missing: tuple[str, ...] = ()
    """For a failed check: the pattern groups none of whose patterns were found."""
    quote: str = ""
    """For a passed check: the sentence that satisfied its first group."""
    requirement: str = ""
    """What the point asks for, in Chinese (``what_zh``)."""


@dataclass(frozen=True)
class PolicyReading:
    chars: int = 0
    data_types: tuple[Declaration, ...] = ()
    """The first sentence declaring each data type (pi_apis.yaml categories, device-info, network)."""
    sdks: tuple[Declaration, ...] = ()
    """SDKs the policy names (by name, brand, company or package), with the sentence."""
    sdk_data: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """(SDK id, data types named in its list entry)."""
    permissions: tuple[Declaration, ...] = ()
    purposes: tuple[Declaration, ...] = ()
    """(data type, sentence) stating what the type is for: the first sentence naming the type
    with a strong purpose marker (为了, 用于, 以便 ...), else one where it or the sentence
    before has any (功能, 场景 ...)."""
    vague: tuple[Declaration, ...] = ()
    """Sentences that declare data with an open enumeration (等, 例如, 包括但不限于)."""
    checks: tuple[CheckResult, ...] = ()

    def declared(self, data_type: str) -> bool:
        return any(d.key == data_type for d in self.data_types)

    def sentence_for(self, data_type: str) -> str:
        return next((d.sentence for d in self.data_types if d.key == data_type), "")

    def names_sdk(self, sdk_id: str) -> bool:
        return any(d.key == sdk_id for d in self.sdks)

    def sdk_types(self, sdk_id: str) -> tuple[str, ...]:
        return next((t for s, t in self.sdk_data if s == sdk_id), ())

    def check(self, check_id: str) -> CheckResult | None:
        return next((c for c in self.checks if c.id == check_id), None)


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SPLIT.split(text) if s and s.strip()]


def quote(sentence: str) -> str:
    s = " ".join(sentence.split())
    return s if len(s) <= QUOTE_CHARS else s[: QUOTE_CHARS - 1] + "…"


def term_pattern(terms: Iterable[str]) -> re.Pattern[str] | None:
    """One case-insensitive alternation; short ASCII words only as whole words."""
    return _term_pattern(tuple(sorted({t for t in terms if t}, key=lambda t: (-len(t), t))))


@functools.lru_cache(maxsize=4096)
def _term_pattern(terms: tuple[str, ...]) -> re.Pattern[str] | None:
    parts = []
    for t in terms:
        esc = re.escape(t)
        if t.isascii() and len(t) <= 4:
            esc = rf"(?<![A-Za-z]){esc}(?![A-Za-z])"
        parts.append(esc)
    return re.compile("|".join(parts), re.IGNORECASE) if parts else None


@functools.cache
def _type_patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    out = []
    for cat, spec in (privacy_table().get("data_types") or {}).items():
        pat = term_pattern([*(spec.get("zh") or []), *(spec.get("en") or [])])
        if pat is not None:
            out.append((str(cat), pat))
    return tuple(out)


@functools.cache
def _any_of(key: str) -> re.Pattern[str]:
    pats = [str(p) for p in privacy_table().get(key) or []]
    return re.compile("|".join(f"(?:{p})" for p in pats) or "(?!)", re.IGNORECASE)


@functools.cache
def _permission_patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    out = []
    for name, info in permission_table().items():
        if info.get("protection") not in ("dangerous", "special"):
            continue
        terms = [name, name.rsplit(".", 1)[-1]]
        zh = str(info.get("name_zh") or "")
        if len(zh) >= 3:
            terms.append(zh)
        pat = term_pattern(t for t in terms if len(t) >= 5)
        if pat is not None:
            out.append((name, pat))
    return tuple(out)


@functools.cache
def _any_permission() -> Any:
    terms = []
    for name, info in permission_table().items():
        if info.get("protection") in ("dangerous", "special"):
            terms += [name, name.rsplit(".", 1)[-1], str(info.get("name_zh") or "")]
    return fast_alternation(t for t in terms if len(t) >= 5)


@functools.cache
def _vague_markers() -> tuple[re.Pattern[str], re.Pattern[str]]:
    spec = privacy_table().get("vague") or {}
    after = "|".join(f"(?:{p})" for p in spec.get("after_type") or []) or "(?!)"
    before = "|".join(f"(?:{p})" for p in spec.get("before_type") or []) or "(?!)"
    return re.compile(after, re.IGNORECASE), re.compile(before, re.IGNORECASE)


def open_list(sentence: str) -> bool:
    """The sentence leaves a list of data types open: a data type right before 等/etc.
    (“位置信息、设备信息等”), or 例如/包括但不限于/such as right before one."""
    after, before = _vague_markers()
    any_type = _type_terms()[0]
    ends = {m.end() for m in any_type.finditer(sentence)}
    for m in after.finditer(sentence):
        if m.start() in ends or m.start() - 1 in ends:
            return True
    for m in before.finditer(sentence):
        t = any_type.search(sentence, m.end(), m.end() + 60)
        if t is not None and t.start() - m.end() <= 20:
            return True
    return False


def fast_alternation(terms: Iterable[str]) -> Any:
    """The terms as one case-insensitive RE2 alternation (longest first; short ASCII words
    only as whole words): RE2 runs a large alternation in one linear pass, where ``re``
    tries every branch at every position (four times slower on a policy). Same matches as
    :func:`term_pattern`."""
    alts = []
    for t in sorted({t for t in terms if t}, key=lambda t: (-len(t), t)):
        esc = re.escape(t)
        alts.append(rf"\b{esc}\b" if t.isascii() and len(t) <= 4 and t[:1].isalpha() and t[-1:].isalpha() else esc)
    return re2.compile("(?i)(?:" + ("|".join(alts) or "[^\\s\\S]") + ")")


@functools.cache
def _type_terms() -> tuple[Any, dict[str, str]]:
    """Every data-type term in one alternation and term (lower case) -> data type: one
    pass over a text finds them all."""
    terms: dict[str, str] = {}
    for cat, spec in (privacy_table().get("data_types") or {}).items():
        for t in [*(spec.get("zh") or []), *(spec.get("en") or [])]:
            terms.setdefault(str(t).lower(), str(cat))
    return fast_alternation(terms), terms


def type_matches(text: str) -> list[tuple[int, int, str]]:
    """(start, end, data type) of every data-type term in the text."""
    pat, terms = _type_terms()
    return [(m.start(), m.end(), terms.get(m.group(0).lower(), "")) for m in pat.finditer(text)]


def types_in(text: str) -> list[str]:
    """The data types named in the text, in the lexicon's order."""
    found = {cat for _, _, cat in type_matches(text) if cat}
    return [cat for cat, _ in _type_patterns() if cat in found]


def read(
    text: str,
    where: str = "",
    sdk_names: Mapping[str, Iterable[str]] | None = None,
    where_of: list[tuple[int, str]] | None = None,
) -> PolicyReading:
    """Read a policy. ``sdk_names``: SDK id -> the names to look for (name, Chinese name,
    brand and company aliases, package prefixes). ``where_of``: (character offset, source)
    where each source of a combined text starts."""
    sents = sentences(text)
    starts: list[int] = []
    pos = 0
    for s in sents:
        pos = text.find(s, pos)
        starts.append(max(pos, 0))

    def source_at(i: int) -> str:
        if not where_of:
            return where
        off = starts[i] if i < len(starts) else 0
        best = where
        for start, w in where_of:
            if start <= off:
                best = w
        return best

    purpose = _any_of("purpose")
    strong = _any_of("purpose_strong")
    weak: dict[str, Declaration] = {}
    data: dict[str, Declaration] = {}
    purposes: dict[str, Declaration] = {}
    vague_out: list[Declaration] = []
    # One pass of all the types' terms over the whole text, then sentence by sentence (a
    # search per sentence and type costs ten times more on a long policy).
    cats_at: dict[int, list[str]] = {}
    for start, _, cat in type_matches(text):
        k = _index_at(starts, start)
        if k >= 0 and cat:
            found = cats_at.setdefault(k, [])
            if cat not in found:
                found.append(cat)
    order = {cat: n for n, (cat, _) in enumerate(_type_patterns())}
    for i in sorted(cats_at):
        s = sents[i]
        cats = sorted(cats_at[i], key=order.__getitem__)
        for cat in cats:
            if cat not in data:
                data[cat] = Declaration(cat, quote(s), source_at(i))
            if "是指" in s or " means " in s:  # a definition (名词解释), not a declaration of use
                continue
            if cat not in purposes and strong.search(s):
                purposes[cat] = Declaration(cat, quote(s), source_at(i))
            elif cat not in weak and (purpose.search(s) or (i and purpose.search(sents[i - 1]))):
                weak[cat] = Declaration(cat, quote(s), source_at(i))
        if len(vague_out) < 20 and open_list(s):
            vague_out.append(Declaration(",".join(cats), quote(s), source_at(i)))

    sdks: list[Declaration] = []
    sdk_data: list[tuple[str, tuple[str, ...]]] = []
    mentions: list[tuple[int, int, str]] = []
    owners: dict[str, list[str]] = {}  # name (lower case) -> the SDKs listed under it
    for sdk_id, names in (sdk_names or {}).items():
        for n in names:
            if len(n) >= 2 and sdk_id not in owners.setdefault(n.lower(), []):
                owners[n.lower()].append(sdk_id)
    if owners:
        for m in fast_alternation(owners).finditer(text):  # one pass for every SDK
            for sdk_id in owners.get(m.group(0).lower(), ()):
                mentions.append((m.start(), m.end(), sdk_id))
    mentions.sort()
    # Where the next mention of another SDK starts, for each mention (one pass from the end).
    next_other = [len(text)] * len(mentions)
    for k in range(len(mentions) - 2, -1, -1):
        after = mentions[k + 1]
        next_other[k] = after[0] if after[2] != mentions[k][2] else next_other[k + 1]
    named_ids: set[str] = set()
    for k, (start, end, sdk_id) in enumerate(mentions):
        if sdk_id not in named_ids:
            named_ids.add(sdk_id)
            i = max(0, _index_at(starts, start))
            sdks.append(Declaration(sdk_id, quote(sents[i]) if sents else "", source_at(i)))
        stop = next_other[k]
        block = text[end : min(stop, end + SDK_BLOCK_CHARS)]
        sdk_data.append((sdk_id, tuple(types_in(block))))
    merged: dict[str, set[str]] = {}
    for sdk_id, named in sdk_data:
        merged.setdefault(sdk_id, set()).update(named)

    perms = []
    named_perms: set[str] = set()
    for pm in _any_permission().finditer(text):  # one pass; then which permission it names
        for name, pat in _permission_patterns():
            if name not in named_perms and pat.fullmatch(pm.group(0)):
                named_perms.add(name)
                i = max(0, _index_at(starts, pm.start()))
                perms.append(Declaration(name, quote(sents[i]) if sents else "", source_at(i)))
                break

    return PolicyReading(
        chars=len(text),
        data_types=tuple(data.values()),
        sdks=tuple(sdks),
        sdk_data=tuple((k, tuple(sorted(v))) for k, v in sorted(merged.items())),
        permissions=tuple(perms),
        purposes=tuple(purposes.values()) + tuple(d for c, d in weak.items() if c not in purposes),
        vague=tuple(vague_out),
        checks=tuple(run_checks(text, sents, starts)),
    )


def _index_at(starts: list[int], offset: int) -> int:
    """The sentence holding character ``offset``."""
    lo, hi = 0, len(starts)
    while lo < hi:
        mid = (lo + hi) // 2
        if starts[mid] <= offset:
            lo = mid + 1
        else:
            hi = mid
    return lo - 1


def run_checks(text: str, sents: list[str] | None = None, starts: list[int] | None = None) -> list[CheckResult]:
    """Each self-assessment point of ``privacy.yaml`` against the text; ``starts``: where
    each of ``sents`` starts in ``text``."""
    if sents is None or starts is None:
        sents = sentences(text)
        starts = []
        pos = 0
        for sent in sents:
            pos = text.find(sent, pos)
            starts.append(max(pos, 0))
    out = []
    for check in privacy_table().get("checks") or []:
        missing = []
        first = ""
        for group in check.get("all") or []:
            pat = re.compile("|".join(f"(?:{p})" for p in group), re.IGNORECASE)
            m = pat.search(text)
            if m is None:
                missing.append(" / ".join(str(p) for p in group[:4]))
            elif not first and sents:
                first = sents[max(0, _index_at(starts, m.start()))]
        out.append(
            CheckResult(
                str(check["id"]),
                not missing,
                tuple(missing),
                quote(first) if first else "",
                str(check.get("what_zh") or ""),
            )
        )
    return out
