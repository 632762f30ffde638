"""Load androguard's table of public Android resources without its import-time cost.

``androguard.core.resources.public`` parses its bundled ``public.xml`` (191 KB) with
``xml.dom.minidom`` every time it is imported, about 40-60 ms of each scan's start. This
module builds the same module object (``_public_res`` and ``SYSTEM_RESOURCES``, the only
names androguard's AXML code reads) from the same file with ElementTree's C parser, and
registers it before androguard imports it. Anything unexpected (the file moved, another
androguard layout) leaves androguard to import its own module as usual.
``tests/test_fast_paths.py`` checks the result equals androguard's own table.
"""

from __future__ import annotations

import importlib.util
import sys
import types
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

MODULE = "androguard.core.resources.public"


def build_table(xml_path: Path) -> dict[str, dict[str, int]]:
    """type -> name -> id, read from an Android ``public.xml``."""
    table: dict[str, dict[str, int]] = {}
    for el in ET.parse(xml_path).getroot().iter("public"):
        table.setdefault(el.get("type") or "", {})[el.get("name") or ""] = int(el.get("id") or "0", 16)
    return table


def system_resources(table: dict[str, dict[str, int]]) -> dict[str, Any]:
    """The shape of androguard's ``SYSTEM_RESOURCES``."""
    return {
        "attributes": {"forward": dict(table["attr"]), "inverse": {v: k for k, v in table["attr"].items()}},
        "styles": {"forward": dict(table["style"]), "inverse": {v: k for k, v in table["style"].items()}},
    }


def preload() -> bool:
    """Register the fast module unless androguard's is already imported; True if it was."""
    if MODULE in sys.modules:
        return False
    try:
        spec = importlib.util.find_spec(MODULE)
        if spec is None or spec.origin is None:
            return False
        origin = Path(spec.origin)
        table = build_table(origin.with_name("public.xml"))
        mod = types.ModuleType(MODULE)
        mod.__file__ = str(origin)
        mod._public_res = table  # type: ignore[attr-defined]
        mod.SYSTEM_RESOURCES = system_resources(table)  # type: ignore[attr-defined]
    except (ImportError, OSError, ET.ParseError, KeyError, ValueError):
        return False
    sys.modules[MODULE] = mod
    parent = sys.modules.get(MODULE.rpartition(".")[0])
    if parent is not None:
        parent.public = mod  # type: ignore[attr-defined]
    return True
