"""Split-APK bundles (``.apks`` from bundletool or SAI, ``.xapk`` from APKPure and others).

A bundle is a ZIP of APKs: one *base* APK (the manifest and ``classes.dex``) and config
splits (``config.arm64_v8a.apk``, ``config.xxhdpi.apk``, ``split_config.en.apk``) or
feature splits. apkscan scans the base APK only and records the names of the other APKs:
config splits hold resources and native libraries of the same app, not its code.

The bundle is read with the tamper-aware in-memory reader, and the base APK is scanned
from memory (``api.scan(..., data=)``): nothing of a bundle is ever written to disk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from apkscan.errors import BrokenApk, NotAnApk
from apkscan.extract.archive import ApkArchive, ArchiveError, LimitExceeded
from apkscan.limits import Limits

BUNDLE_SUFFIXES = (".apks", ".xapk")
INPUT_SUFFIXES = (".apk", *BUNDLE_SUFFIXES)
_BASE_NAMES = ("base.apk", "base-master.apk", "standalone.apk")


@dataclass(frozen=True)
class BaseApk:
    entry: str
    """The entry of the bundle that was scanned."""
    data: bytes
    splits: tuple[str, ...]
    """Every other APK entry of the bundle."""


def is_bundle(path: Path) -> bool:
    return path.suffix.lower() in BUNDLE_SUFFIXES


def _basename(name: str) -> str:
    return name.rsplit("/", 1)[-1].lower()


def _score(name: str, inner: ApkArchive | None) -> tuple[int, int, int]:
    """Higher is more likely the base: manifest + classes.dex, the usual names, size."""
    names = set(inner.names()) if inner is not None else set()
    has_code = int("AndroidManifest.xml" in names) + int("classes.dex" in names)
    base = _basename(name)
    named = 2 if base in _BASE_NAMES else 0 if re.search(r"(^|[_.-])(config|split)[_.-]", base) else 1
    return has_code, named, len(inner.data) if inner is not None else 0


def find_base(path: Path, limits: Limits) -> BaseApk | None:
    """The base APK of a bundle, or ``None`` when the file is itself an APK
    (an ``.apks`` file that has its own ``AndroidManifest.xml``)."""
    try:
        outer = ApkArchive.open(path, limits)
    except ArchiveError as exc:
        head = path.read_bytes()[:4]
        if not head.startswith(b"PK"):
            raise NotAnApk(f"{path}: not an APK (a split bundle that is not a ZIP archive)") from None
        raise BrokenApk(f"{path}: cannot read the split bundle's ZIP structure: {exc}") from None
    except LimitExceeded as exc:
        raise BrokenApk(f"{path}: {exc}") from None
    names = outer.names()
    if "AndroidManifest.xml" in names:
        return None
    apks = [n for n in names if n.lower().endswith(".apk")]
    if not apks:
        raise NotAnApk(f"{path}: not an APK (a ZIP bundle without any .apk inside)")
    best: tuple[tuple[int, int, int], str, bytes] | None = None
    for name in apks:
        try:
            data = outer.read(name)
            inner: ApkArchive | None = ApkArchive.from_bytes(data, name, limits, depth=1)
        except (ArchiveError, LimitExceeded):
            data, inner = b"", None
        score = _score(name, inner)
        if best is None or score > best[0]:
            best = (score, name, data)
    assert best is not None
    if best[0][0] == 0 or not best[2]:
        raise NotAnApk(f"{path}: not an APK (no APK with a manifest inside the bundle)")
    return BaseApk(entry=best[1], data=best[2], splits=tuple(n for n in apks if n != best[1]))
