"""Dataclasses to JSON-ready dicts and back (facts for the batch store, results for reports)."""

from __future__ import annotations

import base64
import dataclasses
import enum
import functools
import types
import typing
from typing import Any, cast

from apkscan import facts as facts_mod
from apkscan import model as model_mod

_SCALARS = frozenset({str, int, float, bool, type(None)})


@functools.cache
def _field_names(cls: type) -> tuple[str, ...] | None:
    """Field names of a dataclass type, or None for any other type (cached per type)."""
    return tuple(f.name for f in dataclasses.fields(cls)) if dataclasses.is_dataclass(cls) else None


def to_jsonable(obj: Any) -> Any:
    tp: type = type(obj)
    if tp in _SCALARS:
        return obj
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    names = _field_names(tp)
    if names is not None:
        return {name: to_jsonable(getattr(obj, name)) for name in names}
    if isinstance(obj, enum.Enum):
        return obj.name.lower()
    if isinstance(obj, facts_mod.Pairs):
        return [list(p) for p in obj]
    if isinstance(obj, bytes):
        return base64.b64encode(obj).decode("ascii")
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    return obj


@functools.cache
def _hints(cls: Any) -> dict[str, Any]:
    ns = {**vars(facts_mod), **vars(model_mod)}
    return typing.get_type_hints(cls, globalns=ns)


def _convert(tp: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        non_none = [a for a in args if a is not type(None)]
        return _convert(non_none[0], value) if non_none else value
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(args[0], v) for v in value)
        return tuple(_convert(a, v) for a, v in zip(args, value, strict=False))
    if origin is dict:
        return {k: _convert(args[1], v) for k, v in value.items()}
    if tp is facts_mod.Pairs or tp == "Pairs":
        return facts_mod.Pairs.of(value)
    if tp is bytes:
        return base64.b64decode(value)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp[str(value).upper()]
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return from_dict(tp, value)
    return value


T = typing.TypeVar("T")


def from_dict(cls: type[T], data: dict[str, Any]) -> T:
    hints = _hints(cast(Any, cls))
    kwargs = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name in data:
            kwargs[f.name] = _convert(hints[f.name], data[f.name])
    return cls(**kwargs)
