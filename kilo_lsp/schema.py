"""JSON Schema (draft 2020-12) of the kilo/* protocol, generated from the dataclasses in protocol.py.

``python -m kilo_lsp.schema`` prints it; ``editors/schema/kilo-protocol.schema.json`` is that output,
checked in, and the editors' types (``editors/vscode/src/protocol.ts``) are generated from it.

Every request and notification named in ``protocol.REQUESTS`` / ``protocol.NOTIFICATIONS`` gets an
entry under ``x-methods`` with its params and result. The types are found by name: ``kilo/fooBar``
takes ``FooBarParams`` and answers ``FooBarResult``; ``RESULT_OVERRIDES`` names the exceptions. A
method whose result is not a dataclass is described as a plain object (``x-untyped``).

The walk covers what the protocol uses: dataclasses, str/int/float/bool, ``X | None``, lists and
tuples, ``dict[str, X]``, ``Literal`` (named aliases such as ``Tier`` become their own ``$defs``)
and ``Any``. Field names are camelCase, as on the wire; ``required`` lists the fields without a
default. Trailing ``# comments`` on fields become descriptions.

``validate(instance, schema)`` checks data against the subset of JSON Schema emitted here, so
tests can check real answers without a JSON Schema library.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import re
import sys
import types
import typing
from typing import Any, Literal, get_args, get_origin, get_type_hints

from . import PROTOCOL_VERSION, protocol
from .wire import camel

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

# Results that do not follow the ``<Name>Result`` convention. ``None``: not a dataclass (plain object).
RESULT_OVERRIDES: dict[str, Any] = {
    "kilo/route": "DecisionCard",
    "kilo/explain": "DecisionCard | None",   # None until the session has routed once
    "kilo/leaderboard": None,
    "kilo/usage": None,
    "kilo/setCredentials": "CredentialsResult",
}
# Modules that add methods beside protocol.py: (module, request constants, notification constants).
EXTENSIONS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("kilo_lsp.complete", ("COMPLETE", "USAGE", "SET_CREDENTIALS"), ("CHUNK",)),
)
# Notification payloads that do not follow the ``<Name>Params`` / ``<Name>`` convention.
NOTIFICATION_OVERRIDES: dict[str, str] = {
    "kilo/status": "SessionStatus",
}
# Direction of notifications; server -> client unless named here.
CLIENT_TO_SERVER_NOTIFICATIONS: frozenset[str] = frozenset()


class SchemaError(TypeError):
    pass


def _pascal(method: str) -> str:
    name = method.split("/", 1)[1]
    return name[:1].upper() + name[1:]


def _field_comments(cls: type) -> dict[str, str]:
    """``name: type = default  # comment`` -> {name: comment}, from the class source when available."""
    try:
        source = inspect.getsource(cls)
    except (OSError, TypeError):
        return {}
    out = {}
    for line in source.splitlines():
        m = re.match(r"\s+([a-z_][a-z0-9_]*)\s*:[^#]*#\s*(.+)$", line)
        if m:
            out[m.group(1)] = m.group(2).strip()
    return out


class Builder:
    def __init__(self, module: Any = protocol, extra: tuple[Any, ...] = ()):
        self.module = module
        self.modules = (module, *extra)
        self.defs: dict[str, Any] = {}
        # Literal aliases defined in the module (Tier, Dial) keep their names.
        self.aliases: dict[Any, str] = {}
        for name, value in vars(module).items():
            if get_origin(value) is Literal and not name.startswith("_"):
                self.aliases.setdefault(value, name)

    def lookup(self, name: str) -> Any:
        for m in self.modules:
            if hasattr(m, name):
                return getattr(m, name)
        raise SchemaError(f"no type {name!r}")

    def ref(self, name: str) -> dict[str, Any]:
        return {"$ref": f"#/$defs/{name}"}

    def type_schema(self, tp: Any) -> dict[str, Any]:
        origin = get_origin(tp)
        if tp is Any:
            return {}
        if tp is type(None):
            return {"type": "null"}
        if origin in (typing.Union, types.UnionType):
            options = get_args(tp)
            non_null = [o for o in options if o is not type(None)]
            schemas = [self.type_schema(o) for o in non_null]
            if type(None) in options:
                schemas.append({"type": "null"})
            return schemas[0] if len(schemas) == 1 else {"anyOf": schemas}
        if origin is Literal:
            values = list(get_args(tp))
            body: dict[str, Any] = {"enum": values}
            if all(isinstance(v, str) for v in values):
                body = {"type": "string", "enum": values}
            name = self.aliases.get(tp)
            if name:
                self.defs.setdefault(name, body)
                return self.ref(name)
            return body
        if origin in (list, tuple):
            args = [a for a in get_args(tp) if a is not Ellipsis]
            return {"type": "array", "items": self.type_schema(args[0]) if args else {}}
        if origin is dict:
            args = get_args(tp)
            return {"type": "object", "additionalProperties": self.type_schema(args[1]) if args else {}}
        if dataclasses.is_dataclass(tp):
            self.dataclass_schema(tp)
            return self.ref(tp.__name__)
        if tp is bool:
            return {"type": "boolean"}
        if tp is int:
            return {"type": "integer"}
        if tp is float:
            return {"type": "number"}
        if tp is str:
            return {"type": "string"}
        raise SchemaError(f"no JSON Schema for {tp!r}")

    def dataclass_schema(self, cls: type) -> None:
        name = cls.__name__
        if name in self.defs:
            return
        self.defs[name] = {}  # placeholder: breaks recursion
        hints = get_type_hints(cls)
        comments = _field_comments(cls)
        props: dict[str, Any] = {}
        required: list[str] = []
        for f in dataclasses.fields(cls):
            if not f.init or f.name.startswith("_"):
                continue
            key = camel(f.name)
            schema = dict(self.type_schema(hints[f.name]))
            if f.name in comments:
                schema["description"] = comments[f.name]
            if f.default is not dataclasses.MISSING and isinstance(f.default, (str, int, float, bool, type(None))):
                schema["default"] = f.default
            props[key] = schema
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                required.append(key)
        body: dict[str, Any] = {"type": "object"}
        doc = inspect.getdoc(cls)
        if doc and not doc.startswith(f"{name}("):  # dataclasses make a signature docstring
            body["description"] = doc
        body["properties"] = props
        body["required"] = required
        self.defs[name] = body

    def resolve(self, spec: Any) -> dict[str, Any] | None:
        """A class name (``"Foo"``, ``"Foo | None"``) or class -> schema; None -> untyped object."""
        if spec is None:
            return None
        if isinstance(spec, str):
            nullable = spec.endswith("| None")
            cls = self.lookup(spec.split("|")[0].strip())
            schema = self.type_schema(cls)
            return {"anyOf": [schema, {"type": "null"}]} if nullable else schema
        return self.type_schema(spec)

    def find(self, *names: str) -> str | None:
        for name in names:
            for m in self.modules:
                if dataclasses.is_dataclass(getattr(m, name, None)):
                    return name
        return None


def _extensions(module: Any) -> tuple[list[Any], list[str], list[str]]:
    """Modules, requests and notifications added beside protocol.py (only for the real protocol)."""
    import importlib
    mods, reqs, notes = [], [], []
    if module is not protocol:
        return mods, reqs, notes
    for name, req_names, note_names in EXTENSIONS:
        try:
            mod = importlib.import_module(name)
        except ImportError:
            continue
        mods.append(mod)
        reqs += [getattr(mod, n) for n in req_names if hasattr(mod, n)]
        notes += [getattr(mod, n) for n in note_names if hasattr(mod, n)]
    return mods, reqs, notes


def build(module: Any = protocol) -> dict[str, Any]:
    """The whole schema as a dict (deterministic: same protocol.py, same output)."""
    ext_modules, ext_requests, ext_notes = _extensions(module)
    b = Builder(module, tuple(ext_modules))
    methods: dict[str, Any] = {}
    untyped: list[str] = []
    requests = list(dict.fromkeys([*getattr(module, "REQUESTS", ()), *ext_requests]))
    notifications = list(dict.fromkeys([*getattr(module, "NOTIFICATIONS", ()), *ext_notes]))
    for method in requests:
        pascal = _pascal(method)
        params = b.find(f"{pascal}Params")
        if method in RESULT_OVERRIDES:
            result_spec = RESULT_OVERRIDES[method]
        else:
            result_spec = b.find(f"{pascal}Result")
        entry: dict[str, Any] = {"kind": "request", "direction": "clientToServer",
                                 "params": b.resolve(params) if params else {"type": "object"}}
        result = b.resolve(result_spec)
        if result is None:
            untyped.append(method)
            result = {"type": "object"}
        entry["result"] = result
        methods[method] = entry
    for method in notifications:
        pascal = _pascal(method)
        name = NOTIFICATION_OVERRIDES.get(method) or b.find(f"{pascal}Params", f"{pascal}Notification", pascal)
        params = b.resolve(name) if name else None
        if params is None:
            untyped.append(method)
            params = {"type": "object"}
        direction = "clientToServer" if method in CLIENT_TO_SERVER_NOTIFICATIONS else "serverToClient"
        methods[method] = {"kind": "notification", "direction": direction, "params": params}
    # Everything else in the module that is a dataclass is part of the vocabulary too.
    for name, value in sorted(vars(module).items()):
        if dataclasses.is_dataclass(value) and isinstance(value, type) and value.__module__ == module.__name__:
            b.dataclass_schema(value)
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": "urn:kilo-lsp:protocol",
        "title": "kilo-lsp protocol",
        "description": "Params and results of the kilo/* LSP methods, generated from kilo_lsp/protocol.py "
                       "by `python -m kilo_lsp.schema`. Do not edit by hand.",
        "x-protocolVersion": PROTOCOL_VERSION,
        "x-methods": dict(sorted(methods.items())),
        "x-untyped": sorted(untyped),
        "$defs": dict(sorted(b.defs.items())),
    }


def settings_schema() -> dict[str, Any]:
    """JSON Schema of the ``kilo`` settings section (what editors send as settings and initializationOptions)."""
    from . import config
    b = Builder(config)
    props = {}
    for section, cls in config.SECTIONS.items():
        b.dataclass_schema(cls)
        props[section] = b.ref(cls.__name__)
    for body in b.defs.values():  # every setting has a default: none is required
        body.pop("required", None)
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": "urn:kilo-lsp:settings",
        "title": "kilo-lsp settings",
        "description": "The 'kilo' settings section, generated from kilo_lsp/config.py by "
                       "`python -m kilo_lsp.schema --settings`. Provider keys are never read from here.",
        "type": "object",
        "properties": props,
        "$defs": dict(sorted(b.defs.items())),
    }


def dumps(schema: dict[str, Any] | None = None) -> str:
    return json.dumps(schema if schema is not None else build(), indent=2, ensure_ascii=False) + "\n"


# -- a validator for the subset emitted above -----------------------------------------------------
_TYPES = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool) or isinstance(v, float) and v.is_integer(),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


def validate(instance: Any, schema: dict[str, Any], root: dict[str, Any] | None = None, path: str = "") -> list[str]:
    """Errors (``path: message``) of ``instance`` against ``schema``; empty when it conforms."""
    root = root if root is not None else schema
    where = path or "(root)"
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return validate(instance, root["$defs"][name], root, path)
    if "anyOf" in schema:
        attempts = [validate(instance, s, root, path) for s in schema["anyOf"]]
        if any(not a for a in attempts):
            return []
        return [f"{where}: matches none of the allowed shapes ({'; '.join(a[0] for a in attempts)})"]
    errors: list[str] = []
    kind = schema.get("type")
    if kind is not None:
        kinds = kind if isinstance(kind, list) else [kind]
        if not any(_TYPES[k](instance) for k in kinds):
            return [f"{where}: expected {'/'.join(kinds)}, got {type(instance).__name__}"]
    if "enum" in schema and instance not in schema["enum"]:
        errors.append(f"{where}: {instance!r} is not one of {schema['enum']}")
    if isinstance(instance, dict):
        for key in schema.get("required", ()):
            if key not in instance:
                errors.append(f"{where}: missing required property {key!r}")
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, value in instance.items():
            sub = f"{path}.{key}" if path else key
            if key in props:
                errors += validate(value, props[key], root, sub)
            elif isinstance(extra, dict):
                errors += validate(value, extra, root, sub)
            elif extra is False:
                errors.append(f"{sub}: unexpected property")
    if isinstance(instance, list) and "items" in schema:
        for i, value in enumerate(instance):
            errors += validate(value, schema["items"], root, f"{path}[{i}]")
    return errors


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    sys.stdout.write(dumps(settings_schema() if "--settings" in argv else build()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
