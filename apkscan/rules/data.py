"""Built-in data tables shipped as package data under ``rules/`` (loaded once, cached)."""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from apkscan.errors import RuleLoadError

SafeLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's C loader when present (ten times faster), never the unsafe ones."""


def builtin_dir() -> Path:
    """The built-in rule folder (``rules/`` in the source tree)."""
    return Path(str(resources.files("apkscan.builtin_rules")))


def load_yaml(path: Path) -> Any:
    try:
        with path.open("r", encoding="utf-8") as fh:
            return yaml.load(fh, Loader=SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise RuleLoadError(f"{path}{line}: invalid YAML: {problem}") from None
    except OSError as exc:
        raise RuleLoadError(f"{path}: cannot read ({exc.strerror})") from None


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
