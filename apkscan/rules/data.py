"""Built-in data tables shipped as package data under ``rules/`` (loaded once, cached)."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import stat
import tempfile
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from apkscan.errors import RuleLoadError


def builtin_dir() -> Path:
    """The built-in rule folder (``rules/`` in the source tree)."""
    return Path(str(resources.files("apkscan.builtin_rules")))


CACHE_DIR_ENV = "APKSCAN_CACHE_DIR"
"""Where the cache lives; default ``$XDG_CACHE_HOME/apkscan`` or ``~/.cache/apkscan``."""
NO_CACHE_ENV = "APKSCAN_NO_CACHE"
"""Set to anything but ``0`` to neither read nor write the cache (as ``--no-cache``)."""
_cache_on = True


def set_cache_enabled(enabled: bool) -> None:
    """``--no-cache``: with False nothing is read from or written to the cache."""
    global _cache_on
    _cache_on = enabled


def cache_enabled() -> bool:
    return _cache_on and os.environ.get(NO_CACHE_ENV, "").strip() in ("", "0")


def cache_dir() -> Path:
    """Per-user cache (compiled YARA, parsed YAML, OpenCC variants): ``$APKSCAN_CACHE_DIR``,
    else ``$XDG_CACHE_HOME/apkscan``, else ``~/.cache/apkscan``."""
    explicit = os.environ.get(CACHE_DIR_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "apkscan"


def _index(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _trusted(path: Path) -> bool:
    """A regular file (not a symlink) owned by this user and writable by no one else."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    if not stat.S_ISREG(st.st_mode) or st.st_mode & 0o022:
        return False
    return not hasattr(os, "getuid") or st.st_uid == os.getuid()


def read_cache(path: Path) -> bytes | None:
    """A cached artefact's bytes, or None (then the caller rebuilds it) unless all hold:
    the cache is on; the artefact and its index (``NAME.sha256``, the sha256 of the
    artefact written beside it) are regular files owned by this user and writable by no
    one else; and the artefact's sha256 equals the index. The key in the artefact's name
    is the digest of its source, so a stale or corrupt artefact is never used. An
    unreadable cache folder is the same as an empty one."""
    if not cache_enabled():
        return None
    index = _index(path)
    if not (_trusted(path) and _trusted(index)):
        return None
    try:
        data = path.read_bytes()
        want = index.read_text(encoding="ascii").strip()
    except (OSError, ValueError):
        return None
    return data if hashlib.sha256(data).hexdigest() == want else None


def write_cache(path: Path, write: Callable[[Path], object]) -> bool:
    """Write a cache file atomically: ``write`` fills a unique temporary file beside
    ``path``, which is then renamed over it, and its sha256 goes into the index file
    ``NAME.sha256`` (checked by :func:`read_cache`). False when the cache is off or the
    disk refuses (a read-only home): a cache is only a speed-up, so the caller simply
    goes without."""
    if not cache_enabled():
        return False
    tmp_name = ""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        tmp = Path(tmp_name)
        write(tmp)
        digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
        tmp_name = ""
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(digest + "\n")
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, _index(path))
        tmp_name = ""
    except OSError:
        return False
    finally:
        if tmp_name:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)
    return True


PARSE_VERSION = "2"
"""Bump when what a YAML file parses to changes (the parsed-YAML cache is keyed by it)."""


def cached_parse(raw: bytes, kind: str, parse: Callable[[str], Any], used: list[str] | None = None) -> Any:
    """``parse(raw as text)``, remembered as JSON under the cache folder by the sha256 of
    the bytes (and ``kind``, the loader used). Building rule documents from YAML nodes is
    Python-level work, about a tenth of a second for the built-in packs on every start; a
    JSON file reads back ten times faster. Only documents that survive a JSON round trip
    unchanged (no dates, no non-string keys) are cached; parse errors are never cached,
    and an unreadable, corrupt or unverifiable cache file (see :func:`read_cache`) is
    parsed again.

    ``used``: gets the sha256 of the JSON form of what was used (the same whether it
    came from the cache or from PyYAML), so that the rules digest names what ran."""
    key = hashlib.sha256(f"{kind}\0{PARSE_VERSION}\0".encode() + raw).hexdigest()[:40]
    path = cache_dir() / "yaml" / f"{key}.json"
    cached = read_cache(path)
    if cached is not None:
        try:
            data = json.loads(cached)
        except ValueError:
            pass
        else:
            if used is not None:
                used.append(hashlib.sha256(cached).hexdigest())
            return data
    data = parse(raw.decode("utf-8"))
    try:
        text = json.dumps(data, ensure_ascii=False)
    except (TypeError, ValueError):
        return data  # not plain JSON data: parsed every time
    if json.loads(text) == data:
        encoded = text.encode("utf-8")
        if used is not None:
            used.append(hashlib.sha256(encoded).hexdigest())
        write_cache(path, lambda tmp: tmp.write_bytes(encoded))
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
