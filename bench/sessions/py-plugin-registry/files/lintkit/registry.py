from __future__ import annotations

import importlib.metadata
import re
from typing import ClassVar

_CODE = re.compile(r"^[A-Z]{1,3}\d{3}$")


class RuleMeta(type):
    """Registers every concrete Rule subclass under its code, at class creation time."""

    registry: ClassVar[dict[str, type]] = {}

    def __new__(mcls, name, bases, namespace, **kwargs):
        cls = super().__new__(mcls, name, bases, namespace)
        if namespace.get("abstract", False):
            return cls
        code = namespace.get("code")
        if code is None or not _CODE.match(code):
            raise TypeError(f"{name}: rule code {code!r} must look like 'E101'")
        if code in mcls.registry and mcls.registry[code].__qualname__ != cls.__qualname__:
            raise TypeError(f"{name}: code {code} already used by {mcls.registry[code].__qualname__}")
        mcls.registry[code] = cls
        return cls


class Rule(metaclass=RuleMeta):
    abstract = True
    code: ClassVar[str]
    summary: ClassVar[str] = ""
    default_enabled: ClassVar[bool] = True

    def check(self, tree, source: str):
        raise NotImplementedError


def load_entry_points(group: str = "lintkit.rules") -> list[str]:
    """Import third-party rule modules; importing them is what registers their rules."""
    loaded = []
    for ep in importlib.metadata.entry_points(group=group):
        ep.load()
        loaded.append(ep.name)
    return loaded


def lookup(code, enabled_only=False):
    cls = RuleMeta.registry.get(code.upper())
    if cls is None:
        raise KeyError(f"unknown rule {code}")
    if enabled_only and not cls.default_enabled:
        return None
    return cls


def all_rules(select=None, ignore=()):
    codes = sorted(RuleMeta.registry)
    if select:
        codes = [c for c in codes if any(c.startswith(p) for p in select)]
    return [RuleMeta.registry[c] for c in codes if not any(c.startswith(p) for p in ignore)]
