"""HTML built from parts, escaped unless a part is already markup.

Every string that reaches the page goes through ``el`` or ``esc``: workspace URIs, conversation ids,
model names from a user's own leaderboard file and reasons are untrusted, and a plain ``str`` is
always escaped, in text and in attribute values alike. Only ``Markup`` (what these functions return)
passes through as it is.
"""

from __future__ import annotations

import html
from typing import Iterable, Union
from urllib.parse import urlencode

Part = Union["Markup", str, int, float, None, Iterable["Part"]]

#: Elements with no closing tag.
VOID = frozenset({"br", "hr", "img", "input", "link", "meta", "circle", "line", "rect", "path", "polyline"})


class Markup(str):
    """A string that is already HTML."""


def esc(value: object) -> Markup:
    if isinstance(value, Markup):
        return value
    return Markup(html.escape("" if value is None else str(value), quote=True))


def join(parts: Part) -> Markup:
    if parts is None:
        return Markup("")
    if isinstance(parts, (str, int, float)):
        return esc(parts)
    return Markup("".join(join(p) for p in parts))


def attrs(values: dict[str, object]) -> Markup:
    out = []
    for name, value in values.items():
        if value is None or value is False:
            continue
        name = name.rstrip("_").replace("_", "-")
        out.append(f" {name}" if value is True else f' {name}="{esc(value)}"')
    return Markup("".join(out))


def el(tag: str, *children: Part, attr: dict[str, object] | None = None, **kw: object) -> Markup:
    """``<tag attrs>children</tag>``; ``class_=`` for class, ``data_usd=`` for data-usd, ``attr=`` for
    names that are not Python identifiers."""
    a = attrs({**kw, **(attr or {})})
    if tag in VOID and not children:
        return Markup(f"<{tag}{a}>" if tag in ("br", "hr", "img", "input", "link", "meta") else f"<{tag}{a}/>")
    return Markup(f"<{tag}{a}>{join(children)}</{tag}>")


def href(path: str, **query: object) -> str:
    """A link within the dashboard (the token among the query); escaped when it is put in an attribute."""
    q = {k: v for k, v in query.items() if v is not None and v != ""}
    return path + ("?" + urlencode(q) if q else "")
