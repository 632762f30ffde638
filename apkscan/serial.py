"""Dataclasses to JSON-ready dicts and back (facts for the batch store, results for reports)."""

from __future__ import annotations

import base64
import dataclasses
import enum
import functools
import types
import typing
from collections.abc import Callable
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
        # base64 of the flat little-endian array: a large app's call pairs decode in one
        # call, not as a JSON list per pair (a third of the time to read stored facts)
        return base64.b64encode(obj.to_bytes()).decode("ascii")
    if isinstance(obj, bytes):
        return base64.b64encode(obj).decode("ascii")
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    return obj


@functools.cache
def _hints(cls: Any) -> dict[str, Any]:
    ns = {**vars(facts_mod), **vars(model_mod)}
    return typing.get_type_hints(cls, globalns=ns)


def _identity(value: Any) -> Any:
    return value


def _none_or(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else convert(value)


@functools.cache
def _converter(tp: Any) -> Callable[[Any], Any]:
    """The function that turns a JSON value into ``tp`` (None stays None), built once per
    type: a stored app's facts hold hundreds of thousands of strings, and a tuple of plain
    values is copied in one call instead of being converted item by item."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        non_none = [a for a in args if a is not type(None)]
        return _converter(non_none[0]) if non_none else _identity
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            item = _converter(args[0])
            if item is _identity:
                return _none_or(tuple)
            return _none_or(lambda value: tuple(map(item, value)))
        items = tuple(_converter(a) for a in args)
        if all(c is _identity for c in items):  # (str, str, str) resource strings and the like
            n = len(items)
            return _none_or(lambda value: tuple(value[:n]))  # as the zip below: at most n items
        return _none_or(lambda value: tuple(c(v) for c, v in zip(items, value, strict=False)))
    if origin is dict:
        item = _converter(args[1])
        return _none_or(lambda value: {k: item(v) for k, v in value.items()})
    if tp is facts_mod.Pairs or tp == "Pairs":
        return _none_or(_pairs)
    if tp is bytes:
        return _none_or(base64.b64decode)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        enum_type = tp
        return _none_or(lambda value: enum_type[str(value).upper()])
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        cls = tp
        return _none_or(lambda value: from_dict(cls, value))
    return _identity


def _pairs(value: Any) -> facts_mod.Pairs:
    """Pairs as :func:`to_jsonable` writes them (base64 of the flat array) or as stores
    written before it did (a list of two-item lists)."""
    if isinstance(value, str):
        return facts_mod.Pairs.from_bytes(base64.b64decode(value, validate=True))
    return facts_mod.Pairs.of(value)


def _convert(tp: Any, value: Any) -> Any:
    return _converter(tp)(value)


@functools.cache
def _field_converters(cls: Any) -> tuple[tuple[str, Callable[[Any], Any]], ...]:
    hints = _hints(cls)
    return tuple((f.name, _converter(hints[f.name])) for f in dataclasses.fields(cls))


T = typing.TypeVar("T")


def from_dict(cls: type[T], data: dict[str, Any]) -> T:
    kwargs = {name: convert(data[name]) for name, convert in _field_converters(cast(Any, cls)) if name in data}
    return cls(**kwargs)
