"""Typed structuring of JSON params and plain-data results.

pygls drops a request whose params fail its own conversion without answering it, so every kilo/*
handler receives a plain dict and structures it here. A failure names the bad field
(``context.selection.start.line: expected an integer, got 'x'``) and becomes JSON-RPC -32602.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from typing import Any, Literal, TypeVar, get_args, get_origin, get_type_hints

T = TypeVar("T")

_CAMEL = re.compile(r"_([a-z0-9])")
MAX_STRING = 20_000_000  # characters; a longer string is refused rather than processed


class ParamError(ValueError):
    """Params that do not fit the method's type. ``field`` is a dotted path (camelCase, as sent)."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(f"{field}: {message}" if field else message)


_camel_cache: dict[str, str] = {}


def camel(name: str) -> str:
    out = _camel_cache.get(name)
    if out is None:
        out = _camel_cache[name] = _CAMEL.sub(lambda m: m.group(1).upper(), name)
    return out


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


_hints_cache: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    hints = _hints_cache.get(cls)
    if hints is None:
        hints = _hints_cache[cls] = get_type_hints(cls)
    return hints


# Per-type facts, computed once: the structuring of a request is on the kilo/route hot path.
_shape_cache: dict[Any, tuple[Any, tuple[Any, ...], bool]] = {}
_plan_cache: dict[type, tuple[tuple[str, str, Any, bool, bool], ...]] = {}
_out_cache: dict[type, tuple[tuple[str, str], ...]] = {}


def _shape(tp: Any) -> tuple[Any, tuple[Any, ...], bool]:
    """(origin, args, is a dataclass) of a type."""
    try:
        return _shape_cache[tp]
    except KeyError:
        shape = _shape_cache[tp] = (get_origin(tp), get_args(tp), dataclasses.is_dataclass(tp))
        return shape
    except TypeError:  # an unhashable type form
        return get_origin(tp), get_args(tp), dataclasses.is_dataclass(tp)


def _plan(cls: type) -> tuple[tuple[str, str, Any, bool, bool], ...]:
    """(name, camelCase key, type, required, default is None) of every field of a dataclass."""
    plan = _plan_cache.get(cls)
    if plan is None:
        hints = _hints(cls)
        plan = _plan_cache[cls] = tuple(
            (f.name, camel(f.name), hints[f.name],
             f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING, f.default is None)
            for f in dataclasses.fields(cls))  # type: ignore[arg-type]
    return plan


def structure(value: Any, tp: Any, path: str = "") -> Any:
    """Turn JSON data into ``tp`` (dataclass, list, Optional, Literal, scalar), or raise ParamError."""
    if tp is str and type(value) is str and len(value) <= MAX_STRING:
        return value
    if tp is int and type(value) is int and -2**53 <= value <= 2**53:
        return value
    if tp is Any:
        return value
    origin, args, is_dc = _shape(tp)
    if origin in (typing.Union, types.UnionType):
        options = args
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return structure(value, option, path)
            except ParamError as exc:
                errors.append(exc)
        raise errors[0] if errors else ParamError(path, "unexpected null")
    if origin is Literal:
        allowed = args
        if value not in allowed:
            raise ParamError(path, f"expected one of {', '.join(map(repr, allowed))}, got {_describe(value)}")
        return value
    if origin in (list, tuple):
        if not isinstance(value, list):
            raise ParamError(path, f"expected an array, got {type(value).__name__ if value is not None else 'null'}")
        (item_tp, *_) = args or (Any,)
        items = [structure(v, item_tp, f"{path}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            raise ParamError(path, "expected an object")
        _, val_tp = args or (str, Any)
        return {str(k): structure(v, val_tp, f"{path}.{k}" if path else str(k)) for k, v in value.items()}
    if is_dc:
        return structure_dataclass(value, tp, path)
    if tp is bool:
        if not isinstance(value, bool):
            raise ParamError(path, f"expected true or false, got {_describe(value)}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int) and not (isinstance(value, float) and value.is_integer()):
            raise ParamError(path, f"expected an integer, got {_describe(value)}")
        if abs(value) > 2**53:
            raise ParamError(path, f"integer out of range: {_describe(value)}")
        return int(value)
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParamError(path, f"expected a number, got {_describe(value)}")
        if value != value or value in (float("inf"), float("-inf")):
            raise ParamError(path, "expected a finite number")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ParamError(path, f"expected a string, got {_describe(value)}")
        if len(value) > MAX_STRING:
            raise ParamError(path, f"string too long ({len(value)} characters, limit {MAX_STRING})")
        return value
    raise ParamError(path, f"unsupported type {tp!r}")


def structure_dataclass(value: Any, cls: type[T], path: str = "") -> T:
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise ParamError(path, f"expected an object, got {_describe(value)}")
    kwargs: dict[str, Any] = {}
    for name, key, hint, required, default_none in _plan(cls):
        if key in value:
            raw = value[key]
        elif name in value:
            raw = value[name]
        else:
            if required:
                raise ParamError(f"{path}.{key}" if path else key, "missing required field")
            continue
        if raw is None and default_none:
            kwargs[name] = None
            continue
        kwargs[name] = structure(raw, hint, f"{path}.{key}" if path else key)
    obj = cls(**kwargs)
    check = getattr(obj, "validate", None)
    if check is not None:
        check(path)
    return obj


def unstructure(obj: Any) -> Any:
    """Plain JSON data with camelCase keys, from dataclasses, tuples and scalars."""
    cls = type(obj)
    if cls is str or cls is int or cls is bool or obj is None:
        return obj
    out = _out_cache.get(cls)
    if out is None and dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out = _out_cache[cls] = tuple((f.name, camel(f.name)) for f in dataclasses.fields(obj))
    if out is not None:
        return {key: unstructure(getattr(obj, name)) for name, key in out}
    if isinstance(obj, (list, tuple)):
        return [unstructure(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): unstructure(v) for k, v in obj.items()}
    if isinstance(obj, float):
        return round(obj, 8)
    return obj
