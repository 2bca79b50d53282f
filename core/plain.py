"""Dataclasses to plain JSON values and back, field by field from the dataclass itself, so that no field can be
forgotten on the way (a run over the trainer wire, an import report in a data set's meta.json).

What is read back is checked against each field's type: a value of the wrong type (a test accuracy of 'abc', a
count that is text) takes the field's default, or None for an optional field, so one tampered file cannot break a
page; a field without a default and without a usable value makes the whole object unreadable (None).
"""
from __future__ import annotations

import types
import typing
from dataclasses import MISSING, fields, is_dataclass
from functools import cache
from typing import Any, TypeVar, Union

T = TypeVar("T")
_BAD = object()  # a value that is not of its field's type


def plain(value: Any) -> Any:
    """Dataclasses, tuples and dicts as JSON-ready dicts and lists, field by field."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, (tuple, list)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def number(value: Any) -> float | None:
    """A finite number as float; None for anything else (text, a flag, NaN, null)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if value == value and abs(value) != float("inf") else None


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def read(cls: type[T], values: Any) -> T | None:
    """`cls` from a dict of plain values, each field checked (see the module's docstring); keys that are not
    fields are ignored. None when `values` is not a dict or a field without a default has no usable value."""
    if not isinstance(values, dict):
        return None
    hints = _hints(cls)
    found: dict[str, Any] = {}
    for f in fields(cls):  # type: ignore[arg-type]
        value = _read(hints[f.name], values[f.name]) if f.name in values else _BAD
        if value is not _BAD:
            found[f.name] = value
        elif f.default is MISSING and f.default_factory is MISSING:
            return None
    return cls(**found)


def _read(kind: Any, value: Any) -> Any:
    """`value` as the type `kind` (a field's annotation), or _BAD when it is not one."""
    options = typing.get_args(kind) if typing.get_origin(kind) in (Union, types.UnionType) else ()
    if options:
        if value is None:
            return None
        kind = next(k for k in options if k is not type(None))
    if value is None:
        return _BAD
    origin = typing.get_origin(kind) or kind
    if kind is float:
        found = number(value)
    elif kind is int:
        found = value if isinstance(value, int) and not isinstance(value, bool) else None
    elif kind is bool:
        found = value if isinstance(value, bool) else None
    elif kind is str:
        found = str(value)
    elif origin is tuple:
        item = typing.get_args(kind)[0]
        found = tuple(v for v in (_read(item, v) for v in value) if v is not _BAD) \
            if isinstance(value, (list, tuple)) else None
    elif origin is dict:
        found = dict(value) if isinstance(value, dict) else None
    elif is_dataclass(kind):  # its own reader when it has one (e.g. one that checks a version), else field by field
        found = kind.from_dict(value) if hasattr(kind, "from_dict") else read(kind, value)
    else:
        found = value
    return _BAD if found is None else found
