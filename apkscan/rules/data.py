"""Built-in data tables shipped as package data under ``rules/`` (loaded once, cached)."""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from apkscan.errors import RuleLoadError


def builtin_dir() -> Path:
    """The built-in rule folder (``rules/`` in the source tree)."""
    return Path(str(resources.files("apkscan.builtin_rules")))


def cache_dir() -> Path:
    """Per-user cache (compiled YARA, parsed YAML, OpenCC variants): ``$XDG_CACHE_HOME/apkscan``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "apkscan"


def write_cache(path: Path, write: Callable[[Path], object]) -> bool:
    """Write a cache file atomically: ``write`` fills a temporary file beside ``path``,
    which is then renamed over it. False when the disk refuses (a read-only home): a cache
    is only a speed-up, so the caller simply goes without."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        write(tmp)
        os.replace(tmp, path)
    except OSError:
        return False
    return True


PARSE_VERSION = "1"
"""Bump when what a YAML file parses to changes (the parsed-YAML cache is keyed by it)."""


def cached_parse(raw: bytes, kind: str, parse: Callable[[str], Any]) -> Any:
    """``parse(raw as text)``, remembered as JSON under the cache folder by the sha256 of
    the bytes (and ``kind``, the loader used). Building rule documents from YAML nodes is
    Python-level work, about a tenth of a second for the built-in packs on every start; a
    JSON file reads back ten times faster. Only documents that survive a JSON round trip
    unchanged (no dates, no non-string keys) are cached; parse errors are never cached,
    and an unreadable or corrupt cache file is parsed again."""
    key = hashlib.sha256(f"{kind}\0{PARSE_VERSION}\0".encode() + raw).hexdigest()[:40]
    path = cache_dir() / "yaml" / f"{key}.json"
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError):
        pass
    data = parse(raw.decode("utf-8"))
    try:
        text = json.dumps(data, ensure_ascii=False)
    except (TypeError, ValueError):
        return data  # not plain JSON data: parsed every time
    if json.loads(text) == data:
        write_cache(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return data


def _parse_safe(path: Path, text: str) -> Any:
    from apkscan.rules import yamlparse  # PyYAML only when the cache has no parse

    return yamlparse.parse_safe(path, text)


def load_yaml(path: Path) -> Any:
    """A data file's document; RuleLoadError (naming the file and the line) when it
    cannot be read or parsed."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RuleLoadError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        return cached_parse(raw, "safe", functools.partial(_parse_safe, path))
    except UnicodeDecodeError as exc:
        raise RuleLoadError(f"{path}: cannot read: {exc}") from None


def _table(name: str) -> dict[str, Any]:
    path = builtin_dir() / "data" / name
    if not path.exists():
        return {}
    doc = load_yaml(path)
    return doc if isinstance(doc, dict) else {}


@functools.cache
def permission_table() -> dict[str, dict[str, Any]]:
    """Permission name -> {protection, category, name_zh, ...}."""
    perms = _table("permissions.yaml").get("permissions") or {}
    return {str(k): dict(v or {}) for k, v in perms.items()}


@functools.cache
def pi_table() -> dict[str, Any]:
    """The personal-data API map: categories, apis, uris, fields."""
    return _table("pi_apis.yaml")


@functools.cache
def app_types() -> list[dict[str, Any]]:
    return list(_table("app_types.yaml").get("types") or [])


@functools.cache
def app_types_source() -> dict[str, Any]:
    return dict(_table("app_types.yaml").get("source") or {})
