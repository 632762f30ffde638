"""Collection before consent, as candidates: reachability over the call graph from the
app's start-up entry points to personal-data APIs and SDK initialisation calls.

Entry points are what Android runs before any screen can ask for consent: the
Application's constructor, ``attachBaseContext`` and ``onCreate``; every ContentProvider's
``onCreate``; boot receivers' ``onReceive``; and the launcher activity's ``onCreate``
(the screen that usually shows the consent dialog). The walk follows the call edges of
the dex files (by method reference, across dex files) through the app's own code; it
stops at framework classes and at catalogued SDKs, where a call is recorded as an SDK
start-up call. Static analysis gives candidates: virtual dispatch to overriding methods,
reflection, threads and the conditions around a call are not seen, so every chain
"needs dynamic confirmation". A chain is marked gated when a method on it calls the SDK's
documented consent switch, or loads a string that names the app's own consent flag.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from itertools import compress, islice
from operator import ne
from typing import Any

from apkscan.facts import Dex
from apkscan.rules.context import Context, api_prefix, split_ref
from apkscan.rules.data import pi_table
from apkscan.rules.policy import privacy_table

MAX_DEPTH = 8
"""Calls followed from an entry point."""
MAX_NODES = 20_000
"""Methods visited per scan (all entry points together)."""
FRAMEWORK = (
    "Landroid/",
    "Ljava/",
    "Ljavax/",
    "Lkotlin/",
    "Lkotlinx/",
    "Ldalvik/",
    "Lorg/json/",
    "Lorg/w3c/",
    "Lorg/xml/",
)
PLATFORM_WRAPPERS = ("Landroidx/", "Lcom/google/android/material/")
APP_START = {
    "<init>()V": "Application.<init>",
    "attachBaseContext(Landroid/content/Context;)V": "Application.attachBaseContext",
    "onCreate()V": "Application.onCreate",
}


@dataclass(frozen=True)
class ConsentChain:
    """One start-up path to a personal-data API or an SDK's start."""

    kind: str
    """``sdk-init`` (a documented SDK start call), ``sdk-call`` (another init-like call
    into a catalogued tracker SDK), ``sdk-provider`` (a tracker SDK's own ContentProvider,
    which Android starts with the app), ``sdk-application`` (the manifest's Application
    class is a tracker SDK's), ``pi-api`` (a personal-data API in the app's code) or
    ``pre-init`` (the SDK's documented pre-consent call: allowed)."""
    target: str
    """The API called (smali method reference)."""
    sdk: str
    """The SDK id (``sdk-*``, ``pre-init``), else ``""``."""
    category: str
    """The personal-data category (``pi-api``), else ``""``."""
    entry: str
    """``Application.onCreate``, ``ContentProvider.onCreate``, ``BootReceiver.onReceive``,
    ``LauncherActivity.onCreate`` ..."""
    chain: tuple[str, ...]
    """Methods from the entry point to the caller (smali references), then the target."""
    gated: str = ""
    """Why the chain is taken as behind consent (``SDK switch ...``, ``app flag "..."``), or ``""``."""


@dataclass(frozen=True)
class ConsentScan:
    chains: tuple[ConsentChain, ...] = ()
    entries: tuple[str, ...] = ()
    """Entry methods the walk started from."""
    visited: int = 0
    truncated: bool = False
    """True when MAX_NODES stopped the walk."""
    seconds: float = 0.0


def smali(dotted: str) -> str:
    return "L" + dotted.replace(".", "/") + ";"


class _Graph:
    """Callees of a method by reference, across dex files; each dex's edges are grouped
    by caller on first use (edges are stored caller by caller, so one C-level pass finds
    the runs)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.classes = ctx.classes  # dotted class -> dex path
        self.by_path: dict[str, list[Dex]] = {}
        for d in ctx.facts.dex:
            self.by_path.setdefault(d.path, []).append(d)
        self._index: dict[int, tuple[dict[str, int], dict[int, tuple[int, int]], dict[int, list[tuple[int, int]]]]] = {}
        self._strings: dict[int, Any] = {}

    def _dex_index(
        self, dex: Dex
    ) -> tuple[dict[str, int], dict[int, tuple[int, int]], dict[int, list[tuple[int, int]]]]:
        """(method name -> index, caller -> its run of edges, caller -> all its runs when a
        caller has several)."""
        hit = self._index.get(id(dex))
        if hit is None:
            names = dict(zip(dex.methods, range(len(dex.methods)), strict=True))
            callers = dex.calls.flat[0::2]
            n = len(callers)
            starts = [0, *compress(range(1, n), map(ne, islice(callers, 1, None), callers))] if n else []
            ends = [*starts[1:], n]
            keys = list(map(callers.__getitem__, starts))
            # Each caller's edges are one run: a dict built in C. A caller in two runs (only
            # misaligned, hostile code does that) takes the slow path that keeps them all.
            first: dict[int, tuple[int, int]] = dict(zip(keys, zip(starts, ends, strict=True), strict=True))
            runs: dict[int, list[tuple[int, int]]] = {}
            if len(first) != len(starts):
                for k, s, e in zip(keys, starts, ends, strict=True):
                    runs.setdefault(k, []).append((s, e))
            hit = self._index[id(dex)] = (names, first, runs)
        return hit

    def dex_of(self, cls: str) -> str | None:
        """The dex path defining a class given in smali form (``Lcom/x/Y;``)."""
        return self.classes.get(cls[1:-1].replace("/", ".")) if cls.startswith("L") else None

    def callees(self, ref: str) -> list[str]:
        cls = ref.split("->", 1)[0]
        path = self.dex_of(cls)
        if path is None:
            return []
        out: list[str] = []
        for dex in self.by_path.get(path, []):
            names, first, runs = self._dex_index(dex)
            idx = names.get(ref)
            if idx is None:
                continue
            flat = dex.calls.flat
            spans = runs.get(idx) or ([first[idx]] if idx in first else [])
            for s, e in spans:
                out.extend(dex.methods[c] for c in flat[2 * s + 1 : 2 * e : 2])
        return out

    def strings_of(self, ref: str) -> list[str]:
        """Const-strings the method loads."""
        cls = ref.split("->", 1)[0]
        path = self.dex_of(cls)
        out: list[str] = []
        for dex in self.by_path.get(path or "", []):
            names = self._dex_index(dex)[0]
            idx = names.get(ref)
            if idx is None:
                continue
            flat = dex.const_strings.flat
            methods = self._strings.get(id(dex))
            if methods is None:
                methods = self._strings[id(dex)] = flat[0::2]
            try:
                k = methods.index(idx)
            except ValueError:
                continue
            while k < len(methods) and methods[k] == idx:
                out.append(dex.strings[flat[2 * k + 1]])
                k += 1
        return out


def entry_points(ctx: Context) -> list[tuple[str, str]]:
    """(label, smali method reference) of the start-up entry points."""
    m = ctx.facts.manifest
    out: list[tuple[str, str]] = []
    app_cls = m.flag("name")
    if app_cls:
        for sig, label in APP_START.items():
            out.append((label, f"{smali(app_cls)}->{sig}"))
    for c in m.components:
        if c.kind == "provider":
            out.append(("ContentProvider.onCreate", f"{smali(c.name)}->onCreate()Z"))
        elif c.kind == "receiver" and any(
            a in ("android.intent.action.BOOT_COMPLETED", "android.intent.action.LOCKED_BOOT_COMPLETED")
            for f in c.intent_filters
            for a in f.actions
        ):
            out.append(
                (
                    "BootReceiver.onReceive",
                    f"{smali(c.name)}->onReceive(Landroid/content/Context;Landroid/content/Intent;)V",
                )
            )
    if m.launcher:
        out.append(("LauncherActivity.onCreate", f"{smali(m.launcher)}->onCreate(Landroid/os/Bundle;)V"))
    return out


INIT_NAMES = frozenset({"init", "initialize", "start", "register", "setup", "onappcreate", "attach"})


def _init_like(ref: str) -> bool:
    """A call that starts an SDK: ``init``, ``initialize``, ``initSdk``, ``start``, ``register`` ..."""
    name = ref.split("->", 1)[-1].split("(", 1)[0].lower()
    return name in INIT_NAMES or name.startswith(("init", "start", "register"))


def _meta_switch_off(ctx: Context, groups: list[Any], sdk: str) -> str:
    """``name=value`` of a manifest meta-data entry that turns the SDK's auto-start off
    (the group's ``meta_off``), or ``""``."""
    meta = dict(ctx.facts.manifest.meta_data)
    for spec in groups:
        if sdk in (spec.get("sdks") or []):
            for name, value in (spec.get("meta_off") or {}).items():
                if str(meta.get(str(name), "")).lower() == str(value).lower():
                    return f"{name}={meta.get(str(name))}"
    return ""


def _starts_with(ref: str, prefixes: tuple[str, ...]) -> str:
    return next((p for p in prefixes if ref.startswith(p)), "")


def scan(ctx: Context) -> ConsentScan:
    t0 = time.perf_counter()
    table = privacy_table()
    groups = list(table.get("consent") or [])
    init: dict[str, int] = {}
    pre: dict[str, int] = {}
    switch: dict[str, int] = {}
    for g, spec in enumerate(groups):
        for p in spec.get("init") or []:
            init[str(p)] = g
        for p in spec.get("pre_init") or []:
            pre[str(p)] = g
        for p in spec.get("switch") or []:
            switch[str(p)] = g
    init_p, pre_p, switch_p = tuple(init), tuple(pre), tuple(switch)
    pi: dict[str, str] = {}
    for entry in pi_table().get("apis") or []:
        pi[api_prefix(str(entry["api"]))] = str(entry["category"])
    pi_p = tuple(pi)
    keys = tuple(str(k).lower() for k in table.get("app_consent_keys") or [])
    platform = ctx.matcher.platform_ids

    graph = _Graph(ctx)
    entries = [(label, ref) for label, ref in entry_points(ctx) if graph.dex_of(ref.split("->", 1)[0])]
    parent: dict[str, str] = {}
    calls_of: dict[str, list[str]] = {}
    found: list[tuple[str, str, str, str, str, str]] = []  # kind, target, sdk, category, entry, caller
    seen_targets: set[tuple[str, str, str]] = set()
    visited = 0
    truncated = False
    for label, start in entries:
        if start in parent:
            continue
        parent[start] = ""
        own_cls, _ = split_ref(start)
        own = ctx.matcher.sdk_of(own_cls)
        if own and not own.startswith("unidentified:") and own not in platform:
            # An SDK's own ContentProvider (or receiver) starts the SDK with the app's process.
            info = ctx.sdks.get(own)
            starts_sdk = "init" in own_cls.rsplit(".", 1)[-1].lower() or any(
                _init_like(c) and not c.split("->", 1)[-1].startswith("<init>") for c in graph.callees(start)
            )
            if info is not None and info.tracker and label == "ContentProvider.onCreate" and starts_sdk:
                off = _meta_switch_off(ctx, groups, own)
                found.append(("sdk-provider", start, own, "", label, f"meta:{off}" if off else ""))
            elif info is not None and info.tracker and label == "Application.onCreate":
                # The manifest names the SDK's own Application class: it starts with the process.
                found.append(("sdk-application", start, own, "", label, ""))
            continue
        queue: deque[tuple[str, int]] = deque([(start, 0)])
        while queue:
            ref, depth = queue.popleft()
            visited += 1
            if visited > MAX_NODES:
                truncated = True
                queue.clear()
                break
            callees = calls_of[ref] = graph.callees(ref)
            for callee in callees:
                key = (label, callee, ref)
                if callee.startswith(FRAMEWORK):
                    p = _starts_with(callee, pi_p)
                    if p and key not in seen_targets:
                        seen_targets.add(key)
                        found.append(("pi-api", callee, "", pi[p], label, ref))
                    continue
                hit = _starts_with(callee, init_p) or _starts_with(callee, pre_p)
                if hit:
                    if key not in seen_targets:
                        seen_targets.add(key)
                        kind = "sdk-init" if hit in init else "pre-init"
                        cls, _ = split_ref(callee)
                        sdk = ctx.matcher.sdk_of(cls) or str(
                            (groups[init.get(hit, pre.get(hit, 0))].get("sdks") or [""])[0]
                        )
                        found.append((kind, callee, sdk, "", label, ref))
                    continue
                if _starts_with(callee, switch_p):
                    continue
                cls, _ = split_ref(callee)
                sdk = ctx.matcher.sdk_of(cls)
                if callee.startswith(PLATFORM_WRAPPERS) or sdk in platform:
                    continue
                if sdk and not sdk.startswith("unidentified:"):
                    info = ctx.sdks.get(sdk)
                    if info is not None and info.tracker and key not in seen_targets and _init_like(callee):
                        seen_targets.add(key)
                        found.append(("sdk-call", callee, sdk, "", label, ref))
                    continue
                if callee not in parent and depth + 1 <= MAX_DEPTH and graph.dex_of(callee.split("->", 1)[0]):
                    parent[callee] = ref
                    queue.append((callee, depth + 1))

    def path_to(ref: str) -> list[str]:
        out = []
        while ref:
            out.append(ref)
            ref = parent.get(ref, "")
        return out[::-1]

    def gate(path: list[str], sdk: str) -> str:
        group = next((g for g, spec in enumerate(groups) if sdk in (spec.get("sdks") or [])), None)
        for node in path:
            for c in calls_of.get(node, ()):
                p = _starts_with(c, switch_p)
                if p and (group is None or switch[p] == group):
                    return f"SDK switch {c.split('(', 1)[0]}"
        for node in path:
            for s in graph.strings_of(node):
                low = s.lower()
                if len(s) <= 64 and any(k in low for k in keys):
                    return f'app flag "{s}"'
        return ""

    chains: list[ConsentChain] = []
    # One chain per (kind, target group): the shortest, so the report stays readable.
    best: dict[tuple[str, str, str], ConsentChain] = {}
    for kind, target, sdk, cat, label, caller in found:
        if caller.startswith("meta:"):  # a provider whose auto-start the manifest turns off
            chain = ConsentChain(kind, target, sdk, cat, label, (target,), f"manifest meta-data {caller[5:]}")
        else:
            path = path_to(caller) if caller else []
            chain = ConsentChain(kind, target, sdk, cat, label, (*path, target), gate(path, sdk))
        k = (kind, sdk or cat, target.split("(", 1)[0] if kind == "pi-api" else "")
        old = best.get(k)
        if old is None or (bool(old.gated), len(old.chain)) > (bool(chain.gated), len(chain.chain)):
            best[k] = chain
    chains = sorted(best.values(), key=lambda c: (c.kind, c.sdk, c.category, c.target))
    return ConsentScan(
        tuple(chains),
        tuple(ref for _, ref in entries),
        visited,
        truncated,
        round(time.perf_counter() - t0, 4),
    )
