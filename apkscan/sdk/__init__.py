"""SDK catalogue and matching: which third-party SDKs an app contains, and which SDK a
given class belongs to (so that a call site is attributed to the SDK or to the app)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
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


def smali_to_dotted(name: str) -> str:
    """``Lcom/foo/Bar$1;`` -> ``com.foo.Bar$1``."""
    if name.startswith("L") and name.endswith(";"):
        name = name[1:-1]
    return name.replace("/", ".")


def dotted_classes(facts: ApkFacts) -> list[tuple[str, str]]:
    """(dotted class name, dex path) for every class each dex defines, in dex order."""
    return [(smali_to_dotted(c), dex.path) for dex in facts.dex for c in dex.classes]


class SdkMatcher:
    """Class-prefix lookup on dotted package boundaries (longest prefix wins)."""

    def __init__(self, sdks: list[Sdk]) -> None:
        self.sdks = {s.id: s for s in sdks}
        self.platform_ids = frozenset(s.id for s in sdks if s.platform)
        self.prefix: dict[str, str] = {}
        for s in sdks:
            for p in s.classes:
                self.prefix.setdefault(p, s.id)
        self._cache: dict[str, tuple[str, str]] = {}

    def sdk_of(self, dotted_class: str) -> str:
        """SDK id whose package holds the class, ``""`` when none does."""
        return self.match(dotted_class)[0]

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
        counts: Counter[str] = Counter()
        by_prefix: Counter[tuple[str, str]] = Counter()
        for dotted, _ in dotted_classes(facts) if classes is None else classes:
            sid, prefix = self.match(dotted)
            if sid:
                counts[sid] += 1
                by_prefix[(sid, prefix)] += 1
        matched: dict[str, set[str]] = {}
        for (sid, prefix), n in by_prefix.items():
            matched.setdefault(sid, set()).add(f"classes {prefix}.* ({n})")
        entry_names = sorted(e.name for e in facts.archive.entries)
        native_names = sorted(lib.name for lib in facts.archive.native_libs)
        meta_keys = [k for k, _ in facts.manifest.meta_data]
        for sdk in self.sdks.values():
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
        hits_out.sort(key=lambda h: (h.category, h.id))
        return hits_out
