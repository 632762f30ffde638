"""Indexes over one app's facts, built lazily and shared by every rule of a scan."""

from __future__ import annotations

import bisect
import functools
import re
import unicodedata
from array import array
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from functools import cached_property
from itertools import accumulate, compress, repeat
from operator import not_
from typing import Any, TypeVar, cast

import re2
import yara

from apkscan.extract import text as text_passes
from apkscan.extract.dex import pairs_where
from apkscan.facts import FRAMEWORK_CLASSES, ApkFacts, Dex
from apkscan.model import Evidence
from apkscan.runtime import expired, yara_timeout
from apkscan.sdk import UNIDENTIFIED_PREFIX, SdkMatcher, dotted_classes, smali_to_dotted

T = TypeVar("T")

ANDROID_PERMISSION = "android.permission."


def full_permission(name: str) -> str:
    return name if "." in name else ANDROID_PERMISSION + name


def normalise(text: str) -> str:
    """Full-width to half-width, compatibility forms folded, case-folded."""
    if text.isascii():
        return text.lower()
    return unicodedata.normalize("NFKC", text).casefold()


OWNER_TRIES = 8
"""Strings no method loads whose class :meth:`Context.find_text_outside_sdks` looks up."""

_MEMBER_NAME = re.compile(r"[A-Za-z_$][\w$]*")
"""A Java identifier (ASCII start): what can be a method, field or source-file name."""


def api_prefix(api: str) -> str:
    """``Lcls;`` -> any method of the class; ``Lcls;->name`` -> any overload of name."""
    api = api.strip()
    if "->" not in api:
        return api if api.endswith(";->") else api.rstrip(";") + ";->"
    if "(" not in api and ":" not in api:
        return api + "("
    return api


def split_ref(ref: str) -> tuple[str, str]:
    """``Lcom/a/B;->m(I)V`` -> (``com.a.B``, ``m(I)V``)."""
    cls, _, member = ref.partition("->")
    return smali_to_dotted(cls), member


class Context:
    """What rules ask about an app, answered from indexes built on first use."""

    def __init__(
        self,
        facts: ApkFacts,
        matcher: SdkMatcher,
        watched_apis: Iterable[str] = (),
        keyword_forms: Iterable[str] = (),
        blob_patterns: Iterable[bytes] = (),
        pool: Executor | None = None,
    ) -> None:
        """``pool``: a helper thread for the keyword and regex-set passes over the text
        blobs (YARA and RE2 release the GIL), started here and run while this thread
        builds the code indexes; without one they run when first needed."""
        self.facts = facts
        self.matcher = matcher
        self.keyword_forms = frozenset(keyword_forms)
        self.blob_patterns = tuple(blob_patterns)
        self._text_scans: Future[_TextScans] | None = None
        if pool is not None:
            blobs = self.blobs
            self._text_scans = pool.submit(_text_scans, blobs, self.keyword_forms, self.blob_patterns)
        self.class_refs = dotted_classes(facts)
        self.sdk_hits = matcher.detect(facts, self.class_refs)
        self.sdks = {s.id: s for s in self.sdk_hits}
        self.watched = tuple(sorted({api_prefix(a) for a in watched_apis}))
        self.rule_hits: dict[str, bool] = {}
        self.lowered_limits: frozenset[str] = frozenset()
        """Limits set below their defaults for this scan (engine.Options.lowered_limits)."""
        self._keyword_at: dict[tuple[str, str], int] = {}  # (where, form) -> string index
        self._per_dex: dict[tuple[int, str], Any] = {}  # (id of a dex, what) -> an index of it
        self._owners: dict[tuple[int, str], str] = {}

    # -- manifest -------------------------------------------------------------
    @cached_property
    def permissions(self) -> set[str]:
        return set(self.facts.manifest.permission_names)

    @cached_property
    def app_flags(self) -> dict[str, str]:
        return dict(self.facts.manifest.app_flags)

    # -- code -----------------------------------------------------------------
    @cached_property
    def classes(self) -> dict[str, str]:
        """Dotted defined class -> dex path."""
        out: dict[str, str] = {}
        for dotted, path in self.class_refs:
            out.setdefault(dotted, path)
        return out

    @cached_property
    def entry_names(self) -> list[str]:
        """Archive entry names, sorted (for glob lookups)."""
        return sorted(e.name for e in self.facts.archive.entries)

    @cached_property
    def sorted_classes(self) -> list[str]:
        return sorted(self.classes)

    def refs_matching(self, prefixes: tuple[str, ...]) -> list[tuple[str, str]]:
        """(method ref, first dex referencing it) for refs starting with any prefix, found
        by bisection in each dex's sorted method table."""
        out: dict[str, str] = {}
        for dex in self.facts.dex:
            for name in self._sorted(dex, "methods").matching(prefixes):
                out.setdefault(name, dex.path)
        return list(out.items())

    @cached_property
    def call_sites(self) -> dict[str, list[tuple[str, str]]]:
        """Callee (matching a watched API) -> [(caller, dex path)], in one C-level pass
        over each dex's edges."""
        out: dict[str, list[tuple[str, str]]] = defaultdict(list)
        if not self.watched:
            return out
        for dex in self.facts.dex:
            methods = dex.methods
            wanted = self._sorted(dex, "methods").indices(self.watched)
            if not wanted:
                continue
            for caller, callee in pairs_where(dex.calls, wanted, len(methods)):
                out[methods[callee]].append((methods[caller], dex.path))
        return out

    def _of_dex(self, dex: Dex, what: str, make: Callable[[], T]) -> T:
        """``make()``, an index of one dex, built on first use. Keyed by the dex itself,
        not its path: a hostile archive can hold two entries of one name."""
        key = (id(dex), what)
        hit = self._per_dex.get(key)
        if hit is None:
            hit = self._per_dex[key] = make()
        return cast(T, hit)

    def _sorted(self, dex: Dex, table: str) -> SortedNames:
        """The sorted ``table`` ("methods", "fields" or "strings") of one dex."""
        return self._of_dex(dex, "sorted " + table, lambda: SortedNames(getattr(dex, table)))

    def _edges(self, dex: Dex) -> tuple[dict[int, list[int]], dict[int, list[int]], dict[str, int]]:
        """(callees by caller, callers by callee, method index by name) of one dex, built
        on first use. Only rules that first bound the app's size ask for them."""

        def build() -> tuple[dict[int, list[int]], dict[int, list[int]], dict[str, int]]:
            down: dict[int, list[int]] = defaultdict(list)
            up: dict[int, list[int]] = defaultdict(list)
            flat = dex.calls.flat
            for caller, callee in zip(flat[0::2], flat[1::2], strict=True):
                down[caller].append(callee)
                up[callee].append(caller)
            return down, up, {m: i for i, m in enumerate(dex.methods)}

        return self._of_dex(dex, "edges", build)

    def near(self, dex_path: str, method: str, wanted: Callable[[str], bool]) -> str | None:
        """A method next to ``method`` in the call graph of its dex for which ``wanted`` is
        true: the method itself, a method that calls it, or a method that either of those
        calls (a helper such as ``Util.post``). The first found, or None."""
        if wanted(method):
            return method
        for dex in self.facts.dex:
            if dex.path != dex_path:
                continue
            down, up, index = self._edges(dex)
            idx = index.get(method)
            if idx is None:
                continue
            names: tuple[str, ...] = dex.methods
            around: list[int] = [idx, *up.get(idx, [])]
            for m in around[1:]:
                if wanted(names[m]):
                    return names[m]
            for m in around:
                for c in down.get(m, ()):
                    if wanted(names[c]):
                        return names[c]
        return None

    @cached_property
    def field_sites(self) -> dict[str, list[tuple[str, str]]]:
        """Framework field (``Landroid/...``, ``Ljava/...``) -> [(reading method, dex
        path)], from each dex's static-field reads, in one C-level pass per dex."""
        out: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for dex in self.facts.dex:
            flat = dex.field_reads.flat
            if not flat:
                continue
            fields, methods = dex.fields, dex.methods
            read = flat[1::2]
            # the few thousand fields read, not the whole field table, are tested by name
            wanted = {f for f in set(read) if f < len(fields) and fields[f].startswith(FRAMEWORK_CLASSES)}
            if not wanted:
                continue
            for m, f in pairs_where(dex.field_reads, wanted, len(fields)):
                out[fields[f]].append((methods[m], dex.path))
        return out

    def excluded(self, sdk: str, app_only: bool = True) -> bool:
        """Code a rule does not count: a platform library's (AndroidX wrappers show a
        capability, not a use) and, with ``app_only``, a catalogued SDK's."""
        return sdk in self.platform_sdks or (app_only and self.is_known_sdk(sdk))

    def field_hits(self, prefix: str) -> list[Evidence]:
        """Evidence of the fields starting with ``prefix``: each read, naming its method and
        SDK; a field only referenced (a primitive field, or stored facts from before reads
        were recorded) by its dex alone (``field-ref``)."""
        reads = self.field_reads(prefix)
        read = {f for f, _, _ in reads}
        out = [self.field_evidence(f, reader, dex) for f, reader, dex in reads]
        return out + [self.ref_evidence(f, d, "field-ref") for f, d in self.fields_matching(prefix) if f not in read]

    def field_reads(self, prefix: str) -> list[tuple[str, str, str]]:
        """(field, reading method, dex path) for framework fields starting with ``prefix``."""
        return [(f, m, d) for f, sites in self.field_sites.items() if f.startswith(prefix) for m, d in sites]

    def field_evidence(self, field: str, reader: str, dex: str, detail: str = "") -> Evidence:
        cls, method = split_ref(reader)
        return Evidence("field-read", field, dex, cls, method, sdk=self.matcher.sdk_of(cls), detail=detail)

    def fields_matching(self, prefix: str) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for dex in self.facts.dex:
            names = self._sorted(dex, "fields")
            out.extend((name, dex.path) for name in names.matching((prefix,)))
        return out

    def calls_to(self, prefixes: tuple[str, ...]) -> list[tuple[str, str, str]]:
        """(callee, caller, dex) for callees matching prefixes (which must be watched)."""
        out: list[tuple[str, str, str]] = []
        for callee, sites in self.call_sites.items():
            if callee.startswith(prefixes):
                out.extend((callee, caller, dex) for caller, dex in sites)
        return out

    def site_evidence(self, callee: str, caller: str, dex: str) -> Evidence:
        cls, method = split_ref(caller)
        return Evidence(
            kind="api-call",
            value=callee,
            file=dex,
            class_name=cls,
            method=method,
            sdk=self.matcher.sdk_of(cls),
        )

    def ref_evidence(self, ref: str, dex: str, kind: str = "api-ref") -> Evidence:
        """A method (or field) in a dex's table that no call (or read) the reader saw uses.
        When its class is defined in the APK (often a bundled library), the evidence names
        that class, the member and its SDK: the code is there, though nothing was seen
        calling it. Else (a reference from an annotation, a method handle or code not
        walked) only the dex."""
        cls, member = split_ref(ref)
        where = self.classes.get(cls)
        if where is None:
            return Evidence(kind, ref, file=dex)
        sdk = self.matcher.sdk_of(cls)
        seen = "no read of it seen" if kind == "field-ref" else "no call to it seen"
        detail = f"defined in the APK; {seen}"
        return Evidence(kind, ref, where, cls, member, sdk=sdk, detail=detail)

    # -- strings --------------------------------------------------------------
    @cached_property
    def _string_loaders(self) -> list[dict[str, int]]:
        """Per dex (in facts order): {string: index of the first method that loads it}."""
        out: list[dict[str, int]] = []
        for dex in self.facts.dex:
            # Built back to front, so that the first loader of each string is what remains.
            flat = dex.const_strings.flat
            out.append(dict(zip(map(dex.strings.__getitem__, flat[-1::-2]), flat[-2::-2], strict=True)))
        return out

    def string_user(self, dex_path: str, text: str) -> tuple[str, str]:
        """(class, method) of the first method loading ``text`` in the dex of that path
        (the first such dex that loads it, when a hostile archive repeats a name); when
        no method loads it, (class, "") of the class the string names itself in
        (:meth:`string_owner`); else ("", "")."""
        loaded = self.string_loader(dex_path, text)
        return loaded if loaded[0] else (self.owner_in(dex_path, text), "")

    def owner_in(self, dex_path: str, text: str) -> str:
        """:meth:`string_owner` in the first dex of that path that names one, or ""."""
        for dex in self.facts.dex:
            if dex.path == dex_path:
                owner = self.string_owner(dex, text)
                if owner:
                    return owner
        return ""

    def string_loader(self, dex_path: str, text: str) -> tuple[str, str]:
        """(class, method) of the first method loading ``text`` in the dex of that path,
        or ("", "")."""
        for dex, loaders in zip(self.facts.dex, self._string_loaders, strict=True):
            if dex.path == dex_path:
                m_idx = loaders.get(text)
                if m_idx is not None:
                    return split_ref(dex.methods[m_idx])
        return ("", "")

    def string_owner(self, dex: Dex, text: str) -> str:
        """The class of ``dex`` a string no method loads belongs to, dotted, or "": the
        class it is the type name of (``Lcom/x/Y;``), the class declaring a method or
        field of that name, or the class of that name whose source file it names
        (``AccountWithdrawActivity.java``). Only classes the dex defines count."""
        key = (id(dex), text)
        hit = self._owners.get(key)
        if hit is not None:
            return hit
        defined = self._defined(dex)
        found: list[str] = []
        if text.startswith("L") and text.endswith(";") and text in defined:
            found = [text]
        elif _MEMBER_NAME.fullmatch(text):
            for table, mark in (("methods", "->" + text + "("), ("fields", "->" + text + ":")):
                joined = self._joined(dex, table)
                pos = joined.find(mark)
                while pos >= 0 and len(found) < 16:
                    cls = joined[joined.rfind("\n", 0, pos) + 1 : pos]
                    if cls in defined:
                        found.append(cls)
                    pos = joined.find(mark, pos + len(mark))
        else:
            stem, dot, ext = text.rpartition(".")
            if dot and ext in ("java", "kt") and _MEMBER_NAME.fullmatch(stem):
                ending = "/" + stem + ";"
                found = [c for c in dex.classes if c.endswith(ending)]
        # Several classes may use the name: the app's own first (a string the app shares
        # with an SDK is the app's too, so SDK-only rules do not lose it), then the first.
        dotted = [smali_to_dotted(c) for c in dict.fromkeys(found)]
        hit = next((c for c in dotted if not self.matcher.sdk_of(c)), dotted[0] if dotted else "")
        self._owners[key] = hit
        return hit

    def _joined(self, dex: Dex, table: str) -> str:
        """A dex's method or field table as one string, a ref a line: a member's name is
        found in it by one C-level search, not a Python loop over every ref."""
        return self._of_dex(dex, "joined " + table, lambda: "\n".join(getattr(dex, table)))

    def _defined(self, dex: Dex) -> frozenset[str]:
        return self._of_dex(dex, "defined", lambda: frozenset(dex.classes))

    @cached_property
    def text_sources(self) -> dict[str, TextList]:
        """Where (``dex``, ``resources``, ``assets``, ``label``) -> its strings and the file
        each comes from, for keyword and regex search."""
        dex = TextList.concat([(d.path, d.strings) for d in self.facts.dex])
        res = TextList.concat([("resources.arsc", tuple(v for _, _, v in self.facts.strings.resources))])
        assets = TextList(
            [t for _, t in self.facts.strings.assets],
            [(i + 1, p) for i, (p, _) in enumerate(self.facts.strings.assets)],
        )
        label = TextList.concat([("AndroidManifest.xml", tuple(v for _, v in self.facts.manifest.labels))])
        return {"dex": dex, "resources": res, "assets": assets, "label": label}

    @cached_property
    def blobs(self) -> dict[str, tuple[TextBlob, ...]]:
        """Where -> the place's strings, normalised and joined (one multi-pattern pass then
        finds every keyword at once)."""
        return {where: TextBlob.split(items, True) for where, items in self.text_sources.items()}

    @cached_property
    def keyword_hits(self) -> dict[str, set[str]]:
        """Where -> the keyword forms (normalised) that occur there.

        All forms of all rules are found in one YARA pass per text blob (UTF-8 literals;
        far faster than a Python-level automaton over a large app's 10 MB of strings).
        ASCII forms must stand as whole words; the first valid match of each form is
        remembered for the evidence."""
        out: dict[str, set[str]] = {w: set() for w in self.text_sources}
        for (where, form), (blob_no, start) in self._text_scan_results[0].items():
            out[where].add(form)
            self._keyword_at[(where, form)] = self.blobs[where][blob_no].item_at(start)
        return out

    @cached_property
    def regex_candidates(self) -> dict[str, list[set[int] | None]]:
        """Where -> per blob, the slots (indices in ``blob_patterns``) of the regexes that
        match somewhere in it, found in one RE2 set pass per blob instead of one pass per
        regex; None means unknown (every regex must look)."""
        return self._text_scan_results[1]

    @cached_property
    def _text_scan_results(self) -> _TextScans:
        """The keyword and regex-set passes: from the helper thread when one was given,
        else made here."""
        if self._text_scans is not None:
            return self._text_scans.result()
        return _text_scans(self.blobs, self.keyword_forms, self.blob_patterns)

    def find_text(self, where: str, needle: str) -> tuple[str, str, str] | None:
        """(file, original string, "class|method") holding a normalised needle: the string
        where the keyword search found it, else the first that contains it."""
        idx = self._keyword_at.get((where, needle))
        if idx is None:
            raw = needle.encode("utf-8", errors="replace")
            for blob in self.blobs[where]:
                pos = blob.data.find(raw)
                if pos >= 0:
                    idx = blob.item_at(pos)
                    break
            else:
                return None
        source, text = self.text_sources[where].item(idx)
        cls_method = ("", "")
        if where == "dex":
            cls_method = self.string_user(source, text)
        return source, text, f"{cls_method[0]}|{cls_method[1]}"

    def find_text_outside_sdks(self, where: str, needle: str, tries: int = 64) -> tuple[str, str, str] | None:
        """Like :meth:`find_text`, but the first string holding the needle that is not
        loaded only by a known third-party SDK's code; None when every occurrence (of the
        first ``tries``) is an SDK's. A string a method of the app loads comes before one
        that is only a name in the app's class (a field, a source file), which comes
        before one no class can be named for."""
        raw = needle.encode("utf-8", errors="replace")
        sources = self.text_sources[where]
        n = 0
        unloaded: list[tuple[str, str]] = []  # strings no method loads, in order
        for blob in self.blobs[where]:
            pos = blob.data.find(raw)
            while pos >= 0 and n < tries:
                n += 1
                source, text = sources.item(blob.item_at(pos))
                cls, method = self.string_loader(source, text) if where == "dex" else ("", "")
                if cls and not self.is_known_sdk(self.matcher.sdk_of(cls)):
                    return source, text, f"{cls}|{method}"
                if not cls:
                    unloaded.append((source, text))
                pos = blob.data.find(raw, pos + len(raw))
        # No method of the app loads it: the first string that is a name in an app class,
        # else the first no class can be named for (the first few are looked up; the app's
        # own until shown otherwise).
        unplaced: tuple[str, str, str] | None = None
        for k, (source, text) in enumerate(unloaded):
            owner = self.owner_in(source, text) if where == "dex" and k < OWNER_TRIES else ""
            if owner and not self.is_known_sdk(self.matcher.sdk_of(owner)):
                return source, text, f"{owner}|"
            if not owner and unplaced is None:
                unplaced = (source, text, "|")
        return unplaced

    @cached_property
    def code_cut_by_lowered_limit(self) -> bool:
        """A dex, or the entries after a count limit, was left unread by a limit the user
        set below its default (:attr:`lowered_limits`). Left unread at the default limits,
        a hostile archive's gap still counts against it: fail closed."""
        low = self.lowered_limits
        return bool(low) and any(
            p.kind == "limit" and p.limit in low and (".dex" in p.where or p.where in ("", "dex"))
            for p in self.facts.problems
        )

    @cached_property
    def _resource_names(self) -> dict[str, str]:
        """Resource string value -> ``string/NAME`` of the first resource holding it (with
        its locale in brackets when not the default)."""
        out: dict[str, str] = {}
        for locale, name, value in self.facts.strings.resources:
            out.setdefault(value, f"string/{name}" + (f" [{locale}]" if locale else ""))
        return out

    def resource_name(self, text: str) -> str:
        """Where in resources.arsc a string comes from (``string/app_secret``), or ""."""
        return self._resource_names.get(text, "")

    def resource_holding(self, needle: str) -> str:
        """``string/NAME`` of the first string resource that contains ``needle`` (a URL the
        text harvest found in resources.arsc), or ""."""
        where = self.find_text("resources", normalise(needle))
        return self.resource_name(where[1]) if where is not None else ""

    @cached_property
    def own_class_count(self) -> int:
        """Defined classes that are the app's own code: not a catalogued SDK's, not a
        platform library's (unidentified package trees count as the app's)."""
        # detect() counted each catalogued SDK's classes already (platform ones included)
        claimed = sum(h.class_count for h in self.sdk_hits if self.is_known_sdk(h.id))
        return max(len(self.class_refs) - claimed, 0)

    @cached_property
    def platform_sdks(self) -> frozenset[str]:
        return frozenset(self.matcher.platform_ids)

    def is_known_sdk(self, sdk_id: str) -> bool:
        """A catalogued SDK (not the app, not an unidentified package tree)."""
        return bool(sdk_id) and not sdk_id.startswith(UNIDENTIFIED_PREFIX)

    def has_dex_string(self, text: str) -> bool:
        """By bisection in each dex's sorted string table (built once, shared with the
        content-URI index), not a scan of every string."""
        for dex in self.facts.dex:
            keys = self._sorted(dex, "strings").keys
            i = bisect.bisect_left(keys, text)
            if i < len(keys) and keys[i] == text:
                return True
        return False

    @cached_property
    def content_uri_users(self) -> list[tuple[str, str, str]]:
        """(uri string, dex path, caller method) for every const-string starting content:."""
        out: list[tuple[str, str, str]] = []
        for dex in self.facts.dex:
            wanted = self._sorted(dex, "strings").indices(("content:",))
            if not wanted:
                continue
            for m_idx, s_idx in pairs_where(dex.const_strings, wanted, len(dex.strings)):
                out.append((dex.strings[s_idx], dex.path, dex.methods[m_idx]))
        return out

    # -- urls -----------------------------------------------------------------
    @cached_property
    def urls(self) -> list[tuple[str, str]]:
        return list(self.facts.strings.urls)


class TextList:
    """Strings of one place, with the file each came from (as ranges, not one tuple per
    string: a large app has hundreds of thousands)."""

    def __init__(self, texts: list[str], ends: list[tuple[int, str]]) -> None:
        self.texts = texts
        self._ends = [e for e, _ in ends]
        self._files = [f for _, f in ends]

    @classmethod
    def concat(cls, parts: list[tuple[str, tuple[str, ...]]]) -> TextList:
        texts: list[str] = []
        ends: list[tuple[int, str]] = []
        for path, strings in parts:
            texts.extend(strings)
            ends.append((len(texts), path))
        return cls(texts, ends)

    def __len__(self) -> int:
        return len(self.texts)

    @cached_property
    def ascii_split(self) -> tuple[array[int], array[int]]:
        """Indices of the ASCII strings and of the others (C-level passes: a large app has
        hundreds of thousands of strings)."""
        flags = list(map(str.isascii, self.texts))
        every = range(len(flags))
        return array("I", compress(every, flags)), array("I", compress(every, map(not_, flags)))

    def item(self, idx: int) -> tuple[str, str]:
        """(file, text) of string ``idx``."""
        return self._files[bisect.bisect_right(self._ends, idx)], self.texts[idx]


SEP = "\x00"
SEP_BYTE = b"\x00"


@dataclass(frozen=True)
class TextBlob:
    """Strings joined by NUL, as UTF-8 bytes; a match offset maps back to its string by
    the separators before it (NUL inside a string is replaced first, so they stay exact).

    Bytes, not ``str``: YARA and RE2 both search UTF-8, and RE2 would otherwise encode
    the whole blob again on every search. ASCII and non-ASCII strings go to separate
    blobs, so only the (usually small) non-ASCII part needs Unicode normalisation."""

    data: bytes
    index: array[int]
    """Blob item number -> index of the string in the place's list."""

    starts: array[int] | None = field(default=None, compare=False, repr=False)
    """Byte offset of each string after the first, when the builder knew them (else
    computed on first use)."""

    @classmethod
    def split(cls, items: TextList, normalised: bool, native: bool | None = None) -> tuple[TextBlob, TextBlob]:
        """The place's ASCII strings and its other strings, as two blobs. ``native``
        (default :data:`apkscan.extract.text.NATIVE_TEXT`) builds the ASCII blob in one
        C pass."""
        if native if native is not None else text_passes.NATIVE_TEXT:
            data, asc_raw, starts_raw, uni_raw = text_passes.ascii_blob(items.texts, normalised)
            asc, uni, starts = array("I"), array("I"), array("q")
            asc.frombytes(asc_raw)
            uni.frombytes(uni_raw)
            starts.frombytes(starts_raw)
            return cls(data, asc, starts), cls.build(items.texts, uni, normalised)
        asc, uni = items.ascii_split
        return cls.build(items.texts, asc, normalised), cls.build(items.texts, uni, normalised)

    @classmethod
    def build(cls, texts: list[str], index: array[int], normalised: bool) -> TextBlob:
        joined = SEP.join(map(texts.__getitem__, index))
        if joined.count(SEP) != max(len(index) - 1, 0):
            joined = SEP.join(map(str.replace, map(texts.__getitem__, index), repeat(SEP), repeat(" ")))
        if normalised:
            # NFKC folds full-width forms; casefold lowers. Neither creates or removes NUL.
            if joined.isascii():
                joined = joined.lower()
            else:
                if not unicodedata.is_normalized("NFKC", joined):
                    # String by string, and only those that need it: NUL never combines,
                    # so this equals normalising the whole, and most strings (often all
                    # but a few full-width commas) are in NFKC already.
                    joined = SEP.join(map(_nfkc, joined.split(SEP)))
                joined = joined.casefold()
        return cls(joined.encode("utf-8", errors="replace"), index)

    def item_at(self, pos: int) -> int:
        """Index (in the place's list) of the string holding byte offset ``pos``."""
        return self.index[bisect.bisect_right(self._starts, pos)]

    @cached_property
    def _starts(self) -> array[int]:
        """Byte offset where each string after the first starts (one past its separator).
        Bisecting it costs less than counting separators from the start of the blob for
        every hit, a scan of up to megabytes each."""
        if self.starts is not None:
            return self.starts
        return array("q", accumulate(map((1).__add__, map(len, self.data.split(SEP_BYTE)[:-1]))))


def _nfkc(text: str) -> str:
    return text if unicodedata.is_normalized("NFKC", text) else unicodedata.normalize("NFKC", text)


_KeywordScan = dict[tuple[str, str], tuple[int, int]]
"""(where, form) -> (blob number, byte offset) of the form's first valid match."""


_TextScans = tuple[_KeywordScan, dict[str, list[set[int] | None]]]


def _text_scans(
    blobs: dict[str, tuple[TextBlob, ...]], forms: frozenset[str], patterns: tuple[bytes, ...]
) -> _TextScans:
    """Both passes over the blobs; pure, so that it can run on a helper thread."""
    return _keyword_scan(blobs, forms), _regex_candidates(blobs, patterns)


def _keyword_scan(blobs: dict[str, tuple[TextBlob, ...]], forms: frozenset[str]) -> _KeywordScan:
    """Where each keyword form first occurs validly, per place (see Context.keyword_hits)."""
    first: _KeywordScan = {}
    if not forms:
        return first
    scanner, by_id = _keyword_scanner(forms)
    for where, place_blobs in blobs.items():
        for blob_no, blob in enumerate(place_blobs):
            data = blob.data
            if not data:
                continue
            if expired():  # the scan's time is up: this helper does not outlive it
                return first
            for match in scanner.match(data=data, timeout=yara_timeout(120), warnings_callback=_no_warning):
                for string in match.strings:
                    form = by_id[string.identifier]
                    if (where, form) in first:
                        continue
                    for inst in string.instances:
                        start = inst.offset
                        end = start + inst.matched_length
                        before = data[start - 1] if start > 0 else 0
                        after = data[end] if end < len(data) else 0
                        if form.isascii() and (_word_byte(before) or _word_byte(after)):
                            continue
                        first[(where, form)] = (blob_no, start)
                        break
    return first


def _regex_candidates(
    blobs: dict[str, tuple[TextBlob, ...]], patterns: tuple[bytes, ...]
) -> dict[str, list[set[int] | None]]:
    """See Context.regex_candidates."""
    out: dict[str, list[set[int] | None]] = {}
    matcher = _pattern_set(patterns) if patterns else None
    for where, place_blobs in blobs.items():
        row: list[set[int] | None] = []
        for blob in place_blobs:
            if matcher is None or expired():  # None: each regex runs on its own (in the main thread)
                row.append(None)
                continue
            try:
                row.append(set(matcher.Match(blob.data) or ()))
            except re2.error:
                row.append(None)
        out[where] = row
    return out


def _no_warning(kind: int, message: Any) -> int:
    """YARA's "too many matches" warnings: the first matches are all a keyword needs, so
    they are dropped instead of printed on stderr."""
    return 0  # yara.CALLBACK_CONTINUE


def _word_byte(b: int) -> bool:
    """ASCII letters and digits: an English keyword beside Chinese text still stands alone."""
    return 48 <= b <= 57 or 65 <= b <= 90 or 97 <= b <= 122


class SortedNames:
    """Names (method or field refs, or strings, of one dex) in sorted order, for prefix
    lookups by bisection. Dex tables are nearly sorted already, so the sort is cheap."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names
        self.keys = sorted(names)

    def matching(self, prefixes: tuple[str, ...]) -> list[str]:
        """Names starting with any prefix (sorted within each prefix)."""
        keys = self.keys
        out: list[str] = []
        for p in prefixes:
            i = bisect.bisect_left(keys, p)
            while i < len(keys) and keys[i].startswith(p):
                out.append(keys[i])
                i += 1
        return out

    def indices(self, prefixes: tuple[str, ...]) -> list[int]:
        """Positions (in the dex table) of the names starting with any prefix."""
        wanted = set(self.matching(prefixes))
        if not wanted:
            return []
        return list(compress(range(len(self.names)), map(wanted.__contains__, self.names)))


@functools.lru_cache(maxsize=8)
def _pattern_set(patterns: tuple[bytes, ...]) -> Any:
    """An RE2 set of the blob patterns (slot i = ``patterns[i]``), or None if RE2 cannot
    build one (each regex then runs on its own)."""
    try:
        options = re2.Options()
        options.log_errors = False  # no RE2 log lines on stderr
        pattern_set = re2.Set.SearchSet(options)
        for p in patterns:
            pattern_set.Add(p)
        pattern_set.Compile()
    except re2.error:
        return None
    return pattern_set


@functools.lru_cache(maxsize=8)
def _keyword_scanner(forms: frozenset[str]) -> tuple[Any, dict[str, str]]:
    """One YARA rule whose strings are every keyword form, as UTF-8 hex literals (no
    escaping questions); returns the compiled rules and string id -> form."""
    by_id: dict[str, str] = {}
    parts: list[str] = []
    for i, form in enumerate(sorted(f for f in forms if f)):
        ident = f"$k{i}"
        by_id[ident] = form
        parts.append(f"{ident} = {{ {form.encode('utf-8').hex(' ')} }}")
    source = "rule keywords {\n strings:\n  " + "\n  ".join(parts) + "\n condition:\n  any of them\n}\n"
    return yara.compile(source=source), by_id
