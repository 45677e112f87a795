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
from typing import Any, Callable, Literal, TypeVar, get_args, get_origin, get_type_hints

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
        return _structure_dataclass_generic(value, tp, path)
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


def _structure_dataclass_generic(value: Any, cls: type[T], path: str = "") -> T:
    """The reference walk: slow, but it names the field path of every failure."""
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


def _unstructure_generic(obj: Any) -> Any:
    """The reference walk that the generated unstructurers must equal (tests compare them)."""
    cls = type(obj)
    if cls is str or cls is int or cls is bool or obj is None:
        return obj
    out = _out_cache.get(cls)
    if out is None and dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out = _out_cache[cls] = tuple((f.name, camel(f.name)) for f in dataclasses.fields(obj))
    if out is not None:
        return {key: _unstructure_generic(getattr(obj, name)) for name, key in out}
    if isinstance(obj, (list, tuple)):
        return [_unstructure_generic(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): _unstructure_generic(v) for k, v in obj.items()}
    if isinstance(obj, float):
        return round(obj, 8)
    return obj


# -- generated structurers and unstructurers ----------------------------------------------------
# kilo/route params hold ~165 small objects (turns, diagnostics, ranges); walking each through
# ``structure`` cost about 1 ms a request. Each dataclass gets a function written for its fields,
# compiled once. It only ever takes the common, valid shape (exact JSON types); anything else,
# including every failure, goes to the generic walk, which gives the same value or names the
# field path in its error.

class _Mismatch(Exception):
    """Not the common shape: let the generic walk decide (and name the field if it fails)."""


_structurers: dict[type, Callable[[Any], Any]] = {}
_unstructurers: dict[type, Callable[[Any], Any]] = {}
_PLAIN = frozenset((str, int, bool, type(None)))
_INT_LIMIT = 2**53


def _slow(value: Any, tp: Any) -> Any:
    return structure(value, tp, "")


class _Gen:
    """Writes the source of one structurer; ``names`` are the globals the source refers to."""

    def __init__(self) -> None:
        self.names: dict[str, Any] = {"_slow": _slow, "_Mismatch": _Mismatch, "MAX_STRING": MAX_STRING,
                                      "_INT_LIMIT": _INT_LIMIT, "str": str, "int": int, "bool": bool,
                                      "float": float, "list": list, "dict": dict, "len": len}
        self.depth = 0

    def ref(self, obj: Any) -> str:
        name = f"_g{len(self.names)}"
        self.names[name] = obj
        return name

    def expr(self, tp: Any, r: str) -> str:
        """An expression that structures the JSON value in variable ``r`` as ``tp``."""
        if tp is Any:
            return r
        slow = f"_slow({r}, {self.ref(tp)})"
        if tp is str:
            return f"({r} if {r}.__class__ is str and len({r}) <= MAX_STRING else {slow})"
        if tp is int:
            return f"({r} if {r}.__class__ is int and -_INT_LIMIT <= {r} <= _INT_LIMIT else {slow})"
        if tp is bool:
            return f"({r} if {r}.__class__ is bool else {slow})"
        origin, args, is_dc = _shape(tp)
        if is_dc:
            return f"{self.ref(_structurer(tp))}({r})"
        if origin in (typing.Union, types.UnionType):
            others = [a for a in args if a is not type(None)]
            if len(others) == 1 and len(args) == 2:
                return f"(None if {r} is None else {self.expr(others[0], r)})"
            return slow
        if origin is Literal and args and all(type(a) is str for a in args):
            return f"({r} if {r}.__class__ is str and {r} in {self.ref(frozenset(args))} else {slow})"
        if origin is list and args:
            self.depth += 1
            v = f"_v{self.depth}"
            item = self.expr(args[0], v)
            self.depth -= 1
            return f"([{item} for {v} in {r}] if {r}.__class__ is list else {slow})"
        return slow


def _structurer(cls: type) -> Callable[[Any], Any]:
    fn = _structurers.get(cls)
    if fn is not None:
        return fn
    _structurers[cls] = lambda value: _structurers[cls](value)   # a type that refers to itself
    g = _Gen()
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    # Plain dataclasses are filled in directly (a frozen __init__ sets each field through
    # object.__setattr__); a class with initialisation logic of its own goes through __init__.
    direct = (not hasattr(cls, "__post_init__") and "__slots__" not in vars(cls)
              and all(f.init for f in fields.values()))
    lines = ["def structure_one(value):",
             "    if value is None:", "        value = {}",
             "    elif value.__class__ is not dict:", "        raise _Mismatch"]
    if not direct:
        lines.append("    kw = {}")
    for i, (name, key, hint, required, default_none) in enumerate(_plan(cls)):
        target = f"f{i}" if direct else f"kw[{name!r}]"
        value_expr = g.expr(hint, "r")
        if default_none:
            value_expr = f"None if r is None else {value_expr}"
        for n, k in enumerate(dict.fromkeys((key, name))):
            lines.append(f"    {'if' if n == 0 else 'elif'} {k!r} in value:")
            lines.append(f"        r = value[{k!r}]")
            lines.append(f"        {target} = {value_expr}")
        lines.append("    else:")
        f = fields[name]
        if required:
            lines.append("        raise _Mismatch")
        elif not direct:
            lines.append("        pass")
        elif f.default is not dataclasses.MISSING:
            lines.append(f"        {target} = {g.ref(f.default)}")
        else:
            lines.append(f"        {target} = {g.ref(f.default_factory)}()")
    if direct:
        lines.append(f"    obj = _new({g.ref(cls)})")
        lines.append("    d = obj.__dict__")
        lines.extend(f"    d[{name!r}] = f{i}" for i, (name, *_) in enumerate(_plan(cls)))
    else:
        lines.append(f"    obj = {g.ref(cls)}(**kw)")
    if callable(getattr(cls, "validate", None)):
        lines.append('    obj.validate("")')
    lines.append("    return obj")
    namespace = dict(g.names, _new=object.__new__)
    exec(compile("\n".join(lines), f"<structure {cls.__qualname__}>", "exec"), namespace)
    fn = _structurers[cls] = namespace["structure_one"]
    return fn


def structure_dataclass(value: Any, cls: type[T], path: str = "") -> T:
    """JSON data as the dataclass ``cls``, or ParamError naming the field path (camelCase, as sent)."""
    try:
        return (_structurers.get(cls) or _structurer(cls))(value)
    except (_Mismatch, ParamError):
        pass
    return _structure_dataclass_generic(value, cls, path)


def _unstructurer(cls: type) -> Callable[[Any], Any]:
    names: dict[str, Any] = {"_PLAIN": _PLAIN, "_u": unstructure, "float": float, "round": round}
    items = [f"{camel(f.name)!r}: (_x if (_x := o.{f.name}).__class__ in _PLAIN"
             f" else round(_x, 8) if _x.__class__ is float else _u(_x))"
             for f in dataclasses.fields(cls)]
    src = "def unstructure_one(o):\n    return {" + ", ".join(items) + "}"
    exec(compile(src, f"<unstructure {cls.__qualname__}>", "exec"), names)
    fn = _unstructurers[cls] = names["unstructure_one"]
    return fn


def unstructure(obj: Any) -> Any:
    """Plain JSON data with camelCase keys, from dataclasses, tuples and scalars (floats rounded)."""
    cls = obj.__class__
    if cls in _PLAIN:
        return obj
    fn = _unstructurers.get(cls)
    if fn is not None:
        return fn(obj)
    if cls is float:
        return round(obj, 8)
    if cls is list or cls is tuple:
        return [unstructure(v) for v in obj]
    if dataclasses.is_dataclass(cls):
        return _unstructurer(cls)(obj)
    if isinstance(obj, (list, tuple)):
        return [unstructure(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): unstructure(v) for k, v in obj.items()}
    if isinstance(obj, float):
        return round(obj, 8)
    return obj
