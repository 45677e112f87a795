"""msgspec's validation errors as people read them: ``field.path: message``.

msgspec says ``Expected `int` >= 0 - at `$.context.selection.start.line```; a check in a Struct's
``__post_init__`` names its own field at the start of its message (``text: must not be empty``). Both
become ``context.selection.start.line: expected `int` >= 0``, and an invalid enum value lists the
values the field allows.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
import msgspec.inspect as mi

_AT = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)
_FIELD = re.compile(r"^(?P<field>[A-Za-z_][A-Za-z0-9_]*): (?P<rest>.*)$", re.S)
_ENUM = re.compile(r"^Invalid enum value (?P<value>.*)$", re.S)
_MISSING = re.compile(r"^Object missing required field `(?P<field>[^`]+)`$")


def _unwrap(t: Any) -> Any:
    """The type under constraints and ``| None``."""
    while True:
        if isinstance(t, mi.Metadata):
            t = t.type
        elif isinstance(t, mi.UnionType):
            t = next((x for x in t.types if not isinstance(x, mi.NoneType)), None)
        else:
            return t


def allowed_values(root: type, path: str) -> tuple[Any, ...]:
    """The values a Literal field at an error path (``.context.tier``) allows; () if it is not one."""
    t: Any = mi.type_info(root)
    for name in re.findall(r"\.([A-Za-z0-9_]+)|\[\d+\]", path):
        t = _unwrap(t)
        if not name:                                       # a list index
            t = getattr(t, "item_type", None)
        elif isinstance(t, mi.StructType):
            t = next((f.type for f in t.fields if f.encode_name == name), None)
        else:
            return ()
    t = _unwrap(t)
    return t.values if isinstance(t, mi.LiteralType) else ()


def error_path(exc: msgspec.ValidationError, root: type) -> tuple[str, str]:
    """(dotted camelCase path of the bad field, what is wrong with it)."""
    m = _AT.match(str(exc))
    message, path = (m.group("message"), m.group("path") or "") if m else (str(exc), "")
    field = _FIELD.match(message)
    missing = _MISSING.match(message)
    if field:                                  # a __post_init__ check names its own field
        path = f"{path}.{field.group('field')}"
        message = field.group("rest")
    elif missing:
        path = f"{path}.{missing.group('field')}"
        message = "missing required field"
    enum = _ENUM.match(message)
    if enum:
        allowed = allowed_values(root, path)
        if allowed:
            message = f"expected one of {', '.join(map(repr, allowed))}, got {enum.group('value')}"
    return path.lstrip("."), message[:1].lower() + message[1:]


def describe(exc: msgspec.ValidationError, root: type) -> str:
    path, message = error_path(exc, root)
    return f"{path}: {message}" if path else message
