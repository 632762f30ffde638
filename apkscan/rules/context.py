"""Indexes over one app's facts, built lazily and shared by every rule of a scan."""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from functools import cached_property

from apkscan.facts import ApkFacts
from apkscan.model import Evidence, SdkHit
from apkscan.sdk import SdkMatcher, smali_to_dotted

ANDROID_PERMISSION = "android.permission."


def full_permission(name: str) -> str:
    return name if "." in name else ANDROID_PERMISSION + name


def normalise(text: str) -> str:
    """Full-width to half-width, compatibility forms folded, case-folded."""
    if text.isascii():
        return text.lower()
    return unicodedata.normalize("NFKC", text).casefold()


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
        sdks: Iterable[SdkHit],
        watched_apis: Iterable[str] = (),
    ) -> None:
        self.facts = facts
        self.matcher = matcher
        self.sdks = {s.id: s for s in sdks}
        self.watched = tuple(sorted({api_prefix(a) for a in watched_apis}))
        self.rule_hits: dict[str, bool] = {}

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
        for dex in self.facts.dex:
            for c in dex.classes:
                out.setdefault(smali_to_dotted(c), dex.path)
        return out

    @cached_property
    def sorted_classes(self) -> list[str]:
        return sorted(self.classes)

    @cached_property
    def method_refs(self) -> dict[str, str]:
        """Method ref -> first dex path referencing it."""
        out: dict[str, str] = {}
        for dex in self.facts.dex:
            for m in dex.methods:
                out.setdefault(m, dex.path)
        return out

    @cached_property
    def field_refs(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for dex in self.facts.dex:
            for f in dex.fields:
                out.setdefault(f, dex.path)
        return out

    def refs_matching(self, prefixes: tuple[str, ...]) -> list[tuple[str, str]]:
        return [(m, d) for m, d in self.method_refs.items() if m.startswith(prefixes)]

    @cached_property
    def call_sites(self) -> dict[str, list[tuple[str, str]]]:
        """Callee (matching a watched API) -> [(caller, dex path)], in one pass over edges."""
        out: dict[str, list[tuple[str, str]]] = defaultdict(list)
        if not self.watched:
            return out
        for dex in self.facts.dex:
            methods = dex.methods
            wanted = {i for i, m in enumerate(methods) if m.startswith(self.watched)}
            if not wanted:
                continue
            for caller, callee in dex.calls:
                if callee in wanted:
                    out[methods[callee]].append((methods[caller], dex.path))
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

    # -- strings --------------------------------------------------------------
    @cached_property
    def string_users(self) -> dict[tuple[str, str], tuple[str, str]]:
        """(dex path, string) -> (class, method) of the first method loading it."""
        out: dict[tuple[str, str], tuple[str, str]] = {}
        for dex in self.facts.dex:
            for m_idx, s_idx in dex.const_strings:
                key = (dex.path, dex.strings[s_idx])
                if key not in out:
                    out[key] = split_ref(dex.methods[m_idx])
        return out

    @cached_property
    def text_sources(self) -> dict[str, list[tuple[str, str]]]:
        """Where -> [(source file, normalised text)] for keyword and regex search.

        ``dex``: one entry per string (non-trivial only); ``resources``; ``assets``; ``label``.
        """
        dex_texts: list[tuple[str, str]] = []
        for dex in self.facts.dex:
            for s in dex.strings:
                if len(s) >= 2:
                    dex_texts.append((dex.path, s))
        res = [("resources.arsc", v) for _, _, v in self.facts.strings.resources]
        assets = list(self.facts.strings.assets)
        label = [("AndroidManifest.xml", v) for _, v in self.facts.manifest.labels]
        return {"dex": dex_texts, "resources": res, "assets": assets, "label": label}

    @cached_property
    def normalised_blobs(self) -> dict[str, tuple[str, str]]:
        """Where -> (normalised non-ASCII text, lower-cased ASCII text), joined by newlines.

        Chinese keywords only need the non-ASCII strings, which are a small part of a
        large app's string table."""
        out: dict[str, tuple[str, str]] = {}
        for where, items in self.text_sources.items():
            uni = "\n".join(normalise(t) for _, t in items if not t.isascii())
            asc = "\n".join(t for _, t in items if t.isascii()).lower()
            out[where] = (uni, asc)
        return out

    def find_text(self, where: str, needle: str) -> tuple[str, str, str] | None:
        """First (file, original string, method) holding a normalised needle."""
        for source, text in self.text_sources.get(where, []):
            if needle in normalise(text):
                cls_method = ("", "")
                if where == "dex":
                    cls_method = self.string_users.get((source, text), ("", ""))
                return source, text, f"{cls_method[0]}|{cls_method[1]}"
        return None

    # -- urls -----------------------------------------------------------------
    @cached_property
    def urls(self) -> list[tuple[str, str]]:
        return list(self.facts.strings.urls)


WORD_CHARS = re.compile(r"^[a-z0-9 ]+$")
