"""Everything that needs PyYAML: parsing rule and data files, and their error messages.

Imported only when a file's parse is not in the parsed-YAML cache
(:func:`apkscan.rules.data.cached_parse`): a scan with a warm cache never imports PyYAML
(~12 ms of start-up)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from apkscan.errors import RuleLoadError

SafeLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's C loader when present (ten times faster), never the unsafe ones."""


def yaml_error(path: Path | str, exc: yaml.YAMLError) -> RuleLoadError:
    mark = getattr(exc, "problem_mark", None)
    line = f":{mark.line + 1}" if mark is not None else ""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return RuleLoadError(f"{path}{line}: invalid YAML: {problem}")


def parse_safe(path: Path, text: str) -> Any:
    """A data file, with the safe loader; a YAML error becomes a RuleLoadError naming
    ``path`` and the line."""
    try:
        return yaml.load(text, Loader=SafeLoader)
    except yaml.YAMLError as exc:
        raise yaml_error(path, exc) from None


class _LineLoader(SafeLoader):  # type: ignore[misc]
    """Safe loader that remembers the line of every mapping as ``__line__``."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    keys = [k.value for k, _ in node.value if isinstance(k, yaml.ScalarNode)]
    dupes = {k for k in keys if keys.count(k) > 1}
    if dupes:
        raise RuleLoadError(
            f"{getattr(loader, 'name', '?')}:{node.start_mark.line + 1}: duplicate key {sorted(dupes)[0]!r}"
        )
    mapping["__line__"] = node.start_mark.line + 1
    return dict(mapping)


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def parse_lines(path: Path, text: str) -> Any:
    """A rule file: every mapping gets its line as ``__line__``; duplicate keys and YAML
    errors become RuleLoadErrors naming ``path`` and the line."""
    loader = _LineLoader(text)
    loader.name = str(path)
    try:
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        raise yaml_error(path, exc) from None
    finally:
        loader.dispose()
