"""SDK catalogue and matching: which third-party SDKs an app contains, and which SDK a
given class belongs to (so that a call site is attributed to the SDK or to the app).

Besides the catalogue, :meth:`SdkMatcher.detect` discovers **unidentified SDKs**: a package
tree outside the app's own namespace that holds at least :data:`DISCOVERY_MIN_CLASSES`
classes no catalogue entry claims (see :func:`tree_key` for what a tree is and
:data:`DISCOVERY_EXCLUDED_ROOTS` for what is never one). Each becomes an :class:`SdkHit` of
category :data:`UNIDENTIFIED_CATEGORY` with id ``unidentified:<tree>``, and call sites in
the tree are attributed to it, never to the app's own code.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from itertools import repeat
from operator import itemgetter
from typing import Any

from apkscan.facts import ApkFacts
from apkscan.globs import glob_filter
from apkscan.model import SdkHit


@dataclass(frozen=True)
class Sdk:
    id: str
    name: str
    name_zh: str
    vendor: str
    category: str
    country: str
    tracker: bool
    classes: tuple[str, ...]
    files: tuple[str, ...]
    native: tuple[str, ...]
    meta_data: tuple[str, ...]
    data_collected: tuple[str, ...]
    source: str
    platform: bool = False
    """A library that wraps platform APIs (AndroidX, Play services base): a call site inside
    it shows a capability the app may use, not collection by a third party."""


def parse_catalogue(doc: Any, where: str) -> list[Sdk]:
    from apkscan.errors import RuleLoadError

    if not isinstance(doc, dict) or not isinstance(doc.get("sdks"), list):
        raise RuleLoadError(f"{where}: expected a mapping with a list 'sdks'")
    out: list[Sdk] = []
    for i, raw in enumerate(doc["sdks"]):
        if not isinstance(raw, dict) or "id" not in raw:
            raise RuleLoadError(f"{where}: sdks[{i}] has no id")
        sig = raw.get("signatures") or {}
        out.append(
            Sdk(
                id=str(raw["id"]),
                name=str(raw.get("name", raw["id"])),
                name_zh=str(raw.get("name_zh", "") or ""),
                vendor=str(raw.get("vendor", "")),
                category=str(raw.get("category", "")),
                country=str(raw.get("country", "")),
                tracker=bool(raw.get("tracker", False)),
                classes=tuple(str(c).rstrip(".") for c in sig.get("classes") or ()),
                files=tuple(str(c) for c in sig.get("files") or ()),
                native=tuple(str(c) for c in sig.get("native") or ()),
                meta_data=tuple(str(c) for c in sig.get("meta_data") or ()),
                data_collected=tuple(str(c) for c in raw.get("data_collected") or ()),
                source=str(raw.get("source", "")),
                platform=bool(raw.get("platform", False)),
            )
        )
    return out


UNIDENTIFIED_CATEGORY = "unidentified"
UNIDENTIFIED_PREFIX = "unidentified:"
DISCOVERY_MIN_CLASSES = 20
"""A package tree needs at least this many classes (inner classes included, R and
BuildConfig classes not) that no catalogue entry claims to be reported as an unidentified SDK."""
DISCOVERY_EXCLUDED_ROOTS: tuple[str, ...] = (
    "android.",
    "androidx.",
    "dalvik.",
    "java.",
    "javax.",
    "kotlin.",
    "kotlinx.",
    "sun.",
    "com.android.",  # the platform's namespace: code an app ships there (a spyware payload) is its own
    "org.intellij.",
    "org.jetbrains.",
    "org.json.",
    "org.w3c.",
    "org.xml.",
    "org.xmlpull.",
)
"""Platform and language packages: never an SDK of their own."""
_NO_DEEPER_THIRD = frozenset({"android"})
"""``com.google.android.x``: a third segment that names a platform, not a product, makes
the tree one segment deeper (``com.google.android.datatransport``)."""
_GENERIC_ORGS = frozenset(
    {
        "example",
        "examples",
        "app",
        "apps",
        "android",
        "mobile",
        "my",
        "test",
        "demo",
        "com",
        "net",
        "org",
        "gov",
        "edu",
        "co",
        "ac",
        "github",
        "gitee",
        "google",
        "company",
    }
)
"""Second segments shared by unrelated developers (``com.example``, ``cn.com``): an app
package under one of them claims only its own three-segment tree."""
_GENERATED = frozenset({"R", "BuildConfig", "Manifest"})
_GENERATED_AT = re.compile(r"\.(?:R|BuildConfig|Manifest)(?:\$[^\n.]*)?$", re.M)
"""Where a dotted class name's last segment may be a generated class (``a.b.R$string``):
the candidates :meth:`SdkMatcher._count` checks one by one."""


def tree_key(dotted_class: str) -> str:
    """The package tree a class belongs to for discovery: the first three segments of its
    package (``com.vendor.sdk``), four when the third is ``android``; ``""`` for a class in
    a package of fewer than two segments, or whose tree has an obfuscated (one-letter)
    segment."""
    name = dotted_class.split("$", 1)[0]
    parts = name.split(".")[:-1]
    if len(parts) < 2:
        return ""
    depth = 4 if len(parts) >= 4 and parts[2] in _NO_DEEPER_THIRD else 3
    tree = parts[:depth]
    if any(len(seg) < 2 for seg in tree):
        return ""
    return ".".join(tree)


_TLDS = frozenset(
    {
        "com",
        "org",
        "net",
        "cn",
        "io",
        "edu",
        "gov",
        "me",
        "co",
        "de",
        "uk",
        "jp",
        "kr",
        "ru",
        "fr",
        "tv",
        "us",
        "info",
        "biz",
        "mobi",
        "cc",
        "xyz",
        "top",
        "app",
        "dev",
        "ai",
        "hk",
        "tw",
    }
)
"""First segments of reverse-domain package names (the organisation is the second segment)."""
_GENERIC_WORDS = _GENERIC_ORGS | _TLDS | {"client", "sdk", "lite", "pro", "free", "hd", "main", "home", "official"}


def _own_packages(facts: ApkFacts) -> list[str]:
    """The manifest package and the packages of its Application class and launcher
    activity (not every activity: SDKs declare theirs)."""
    m = facts.manifest
    names = [m.package]
    app_class = m.flag("name") or ""
    for cls in (app_class, m.launcher or ""):
        if cls.startswith("."):
            cls = m.package + cls
        if "." in cls:
            names.append(cls.rpartition(".")[0])
    return names


def _own_words(facts: ApkFacts) -> frozenset[str]:
    """Distinctive words of the app's own package names (``km.home`` -> ``km``): a tree whose
    organisation is one of them (``com.km``) is the developer's own code under another
    root, not a third party's."""
    return frozenset(
        w for n in _own_packages(facts) for w in n.lower().split(".") if len(w) >= 2 and w not in _GENERIC_WORDS
    )


def _organisation(tree: str) -> str:
    parts = tree.lower().split(".")
    return parts[1] if parts[0] in _TLDS and len(parts) > 1 else parts[0]


def _own_roots(facts: ApkFacts) -> list[str]:
    """Package prefixes of the app's own code (:func:`_own_packages`) cut to their
    organisation (two segments), or to three segments when the organisation is a generic
    one like ``com.example``."""
    roots: list[str] = []
    for n in _own_packages(facts):
        parts = [p for p in n.split(".") if p]
        if len(parts) < 2:
            if parts:
                roots.append(parts[0])
            continue
        depth = 3 if parts[1] in _GENERIC_ORGS and len(parts) >= 3 else 2
        roots.append(".".join(parts[:depth]))
    return list(dict.fromkeys(roots))


def _under(name: str, roots: list[str]) -> bool:
    return any(name == r or name.startswith(r + ".") for r in roots)


def unidentified_hit(tree: str, count: int) -> SdkHit:
    return SdkHit(
        id=UNIDENTIFIED_PREFIX + tree,
        name=f"Unidentified SDK {tree}",
        name_zh="未识别SDK",
        vendor="",
        category=UNIDENTIFIED_CATEGORY,
        country="",
        tracker=False,
        data_collected=(),
        source="discovery",
        matched=(f"classes {tree}.* ({count}), in no catalogue entry",),
        class_count=count,
    )


def smali_to_dotted(name: str) -> str:
    """``Lcom/foo/Bar$1;`` -> ``com.foo.Bar$1``."""
    if name.startswith("L") and name.endswith(";"):
        name = name[1:-1]
    return name.replace("/", ".")


def dotted_classes(facts: ApkFacts) -> list[tuple[str, str]]:
    """(dotted class name, dex path) for every class each dex defines, in dex order
    (:func:`smali_to_dotted` of each: a large app defines tens of thousands, so a dex
    whose names are all well-formed is converted in a few string operations on the
    whole list)."""
    out: list[tuple[str, str]] = []
    for dex in facts.dex:
        out += zip(_dotted(dex.classes), repeat(dex.path))
    return out


def _dotted(classes: tuple[str, ...]) -> list[str]:
    n = len(classes)
    if not n:
        return []
    joined = "\n".join(classes)
    # every name "L...;" and none holding a line break: strip and convert all at once
    if joined[:1] == "L" and joined[-1:] == ";" and joined.count("\n") == n - 1 and joined.count(";\nL") == n - 1:
        return joined[1:-1].replace(";\nL", "\n").replace("/", ".").split("\n")
    return [(c[1:-1] if c[:1] == "L" and c[-1:] == ";" else c).replace("/", ".") for c in classes]


class SdkMatcher:
    """Class-prefix lookup on dotted package boundaries (longest prefix wins).

    After :meth:`detect`, :meth:`sdk_of` also answers with the unidentified SDKs discovered
    in that app (``unidentified:<tree>``); each ``detect`` replaces them, so a matcher
    serves one app at a time (the engine makes one per scan)."""

    def __init__(self, sdks: list[Sdk]) -> None:
        self.sdks = {s.id: s for s in sdks}
        self.platform_ids = frozenset(s.id for s in sdks if s.platform)
        self.prefix: dict[str, str] = {}
        for s in sdks:
            for p in s.classes:
                self.prefix.setdefault(p, s.id)
        self._by_files = [s for s in sdks if s.files or s.native or s.meta_data]  # the few with such signatures
        self._cache: dict[str, tuple[str, str]] = {}
        self.discovered: dict[str, str] = {}
        """Tree -> unidentified SDK id, for the app last passed to :meth:`detect`."""

    def sdk_of(self, dotted_class: str) -> str:
        """SDK id whose package holds the class (a catalogue entry, else an unidentified
        SDK discovered by :meth:`detect`), ``""`` when none does."""
        sid = self.match(dotted_class)[0]
        if sid or not self.discovered:
            return sid
        return self.discovered.get(tree_key(dotted_class), "")

    def match(self, dotted_class: str) -> tuple[str, str]:
        """(SDK id, matching prefix) for a class; ("", "") when no SDK holds it."""
        name = dotted_class.split("$", 1)[0]
        hit = self._cache.get(name)
        if hit is not None:
            return hit
        # The longest prefix of the package (cached: classes share packages), unless the
        # class name itself is a listed prefix.
        package = name.rpartition(".")[0]
        best = self.match(package) if package else ("", "")
        found = self.prefix.get(name)
        if found:
            best = (found, name)
        self._cache[name] = best
        return best

    def detect(self, facts: ApkFacts, classes: list[tuple[str, str]] | None = None) -> list[SdkHit]:
        """SDKs present in the app, with what matched. ``classes``: the app's
        :func:`dotted_classes`, when the caller has them already."""
        dotted = [d for d, _ in (dotted_classes(facts) if classes is None else classes)]
        counts, by_prefix, unclaimed = self._count(dotted)
        matched: dict[str, set[str]] = {}
        for (sid, prefix), n in by_prefix.items():
            matched.setdefault(sid, set()).add(f"classes {prefix}.* ({n})")
        entry_names = sorted(e.name for e in facts.archive.entries)
        native_names = sorted(lib.name for lib in facts.archive.native_libs)
        meta_keys = {k for k, _ in facts.manifest.meta_data}
        for sdk in self._by_files:
            for pattern in sdk.files:
                hits = glob_filter(entry_names, pattern)
                if hits:
                    matched.setdefault(sdk.id, set()).add(f"file {hits[0]}")
            for pattern in sdk.native:
                hits = glob_filter(native_names, pattern)
                if hits:
                    matched.setdefault(sdk.id, set()).add(f"native {hits[0]}")
            for key in sdk.meta_data:
                if key in meta_keys:
                    matched.setdefault(sdk.id, set()).add(f"meta-data {key}")
        hits_out: list[SdkHit] = []
        for sid, what in matched.items():
            s = self.sdks[sid]
            hits_out.append(
                SdkHit(
                    id=s.id,
                    name=s.name,
                    name_zh=s.name_zh,
                    vendor=s.vendor,
                    category=s.category,
                    country=s.country,
                    tracker=s.tracker,
                    data_collected=s.data_collected,
                    source=s.source,
                    matched=tuple(sorted(what)),
                    class_count=counts.get(sid, 0),
                )
            )
        hits_out += self._discover(facts, unclaimed)
        hits_out.sort(key=lambda h: (h.category == UNIDENTIFIED_CATEGORY, h.category, h.id))  # unidentified last
        return hits_out

    def _count(self, dotted: list[str]) -> tuple[Counter[str], Counter[tuple[str, str]], Counter[str]]:
        """(classes per SDK, classes per (SDK, matching prefix), classes no catalogue entry
        claims per package tree, R/BuildConfig/Manifest left out) of the app's classes.

        Counted per package, not per class: a class belongs to the SDK of its package
        (:meth:`match`), unless its own name is listed; only those classes, and the few
        generated ones, are looked at one by one. Equal to :meth:`_count_each`."""
        joined = "\n".join(dotted)
        if joined.count("\n") != len(dotted) - 1:  # a name with a line break: one by one
            return self._count_each(dotted)
        counts: Counter[str] = Counter()
        by_prefix: Counter[tuple[str, str]] = Counter()
        unclaimed: Counter[str] = Counter()
        names = list(map(itemgetter(0), map(str.split, dotted, repeat("$"), repeat(1))))
        per_name = Counter(names)
        listed = self.prefix
        per_package = Counter(map(itemgetter(0), map(str.rpartition, names, repeat("."))))
        for name in per_name.keys() & listed.keys():  # classes listed by their own name
            sid, k = listed[name], per_name[name]
            counts[sid] += k
            by_prefix[(sid, name)] += k
            per_package[name.rpartition(".")[0]] -= k
        generated: Counter[str] = Counter()  # package -> its R, BuildConfig, Manifest classes
        for m in _GENERATED_AT.finditer(joined):
            start = joined.rfind("\n", 0, m.start()) + 1
            d = joined[start : m.end()]
            name = d.split("$", 1)[0]
            if name not in listed and d.rpartition(".")[2].split("$", 1)[0] in _GENERATED:
                generated[name.rpartition(".")[0]] += 1
        cache = self._cache
        for package, k in per_package.items():
            if k <= 0:
                continue
            if package:
                hit = cache.get(package)
                sid, prefix = hit if hit is not None else self.match(package)
            else:
                sid, prefix = "", ""
            if sid:
                counts[sid] += k
                by_prefix[(sid, prefix)] += k
            else:
                tree = tree_key(package + ".C")
                if tree and k > generated[package]:
                    unclaimed[tree] += k - generated[package]
        return counts, by_prefix, unclaimed

    def _count_each(self, dotted: list[str]) -> tuple[Counter[str], Counter[tuple[str, str]], Counter[str]]:
        """:meth:`_count` class by class (the reference the tests hold it equal to)."""
        counts: Counter[str] = Counter()
        by_prefix: Counter[tuple[str, str]] = Counter()
        unclaimed: Counter[str] = Counter()
        for d in dotted:
            name = d.split("$", 1)[0]
            package = name.rpartition(".")[0]
            found = self.prefix.get(name)
            if found:
                sid, prefix = found, name
            elif package:
                sid, prefix = self.match(package)
            else:
                sid, prefix = "", ""
            if sid:
                counts[sid] += 1
                by_prefix[(sid, prefix)] += 1
            else:
                tree = tree_key(d)
                if tree and d.rpartition(".")[2].split("$", 1)[0] not in _GENERATED:
                    unclaimed[tree] += 1
        return counts, by_prefix, unclaimed

    def _discover(self, facts: ApkFacts, unclaimed: Counter[str]) -> list[SdkHit]:
        """Unidentified SDKs among the trees of unclaimed classes; remembered for sdk_of."""
        self.discovered = {}
        own = _own_roots(facts)
        words = _own_words(facts)
        out: list[SdkHit] = []
        for tree, n in sorted(unclaimed.items()):
            if n < DISCOVERY_MIN_CLASSES or (tree + ".").startswith(DISCOVERY_EXCLUDED_ROOTS):
                continue
            if _under(tree, own) or any(r.startswith(tree + ".") for r in own) or _organisation(tree) in words:
                continue
            hit = unidentified_hit(tree, n)
            self.discovered[tree] = hit.id
            out.append(hit)
        return out
