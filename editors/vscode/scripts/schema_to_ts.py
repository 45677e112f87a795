"""Generate TypeScript types from the kilo-lsp protocol JSON Schema.

    python editors/vscode/scripts/schema_to_ts.py editors/schema/kilo-protocol.schema.json \
        > editors/vscode/src/protocol.ts

Handles exactly what ``kilo_lsp.schema`` emits: objects with properties/required, ``$ref``,
``anyOf``, string enums, arrays, ``additionalProperties`` maps and scalars. Anything else is an
error, so a new construct in the schema is noticed rather than typed as ``any``. Standard library
only, so CI needs nothing to run it.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

HEADER = """\
// Generated from editors/schema/kilo-protocol.schema.json by editors/vscode/scripts/schema_to_ts.py.
// Do not edit by hand: change kilo_lsp/protocol.py, then regenerate (see editors/README.md).
/* eslint-disable */
"""

_IDENT = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")


def ts_type(schema: dict[str, Any]) -> str:
    if not schema:
        return "unknown"
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return " | ".join(_wrap(ts_type(s)) for s in schema["anyOf"])
    if "enum" in schema:
        return " | ".join(json.dumps(v) for v in schema["enum"])
    kind = schema.get("type")
    if kind == "string":
        return "string"
    if kind in ("integer", "number"):
        return "number"
    if kind == "boolean":
        return "boolean"
    if kind == "null":
        return "null"
    if kind == "array":
        return f"{_wrap(ts_type(schema.get('items', {})))}[]"
    if kind == "object":
        if "properties" in schema:
            return "{ " + " ".join(f"{line};" for line in _props(schema, "")) + " }"
        extra = schema.get("additionalProperties", {})
        return f"{{ [key: string]: {ts_type(extra if isinstance(extra, dict) else {})} }}"
    raise ValueError(f"no TypeScript for schema {schema!r}")


def _wrap(t: str) -> str:
    return f"({t})" if "|" in t and not t.startswith("{") else t


def _key(name: str) -> str:
    return name if _IDENT.match(name) else json.dumps(name)


def _doc(text: str | None, indent: str) -> list[str]:
    if not text:
        return []
    lines = text.replace("*/", "* /").splitlines()
    if len(lines) == 1:
        return [f"{indent}/** {lines[0]} */"]
    return [f"{indent}/**", *[f"{indent} * {line}".rstrip() for line in lines], f"{indent} */"]


def _props(schema: dict[str, Any], indent: str) -> list[str]:
    required = set(schema.get("required", ()))
    out = []
    for name, prop in schema.get("properties", {}).items():
        doc = prop.get("description")
        if prop.get("default") is not None:
            default = f"default {json.dumps(prop['default'])}"
            doc = f"{doc} ({default})" if doc else default.capitalize()
        if indent:
            out += _doc(doc, indent)
        out.append(f"{indent}{_key(name)}{'' if name in required else '?'}: {ts_type(prop)}")
    return out


def generate(schema: dict[str, Any]) -> str:
    out = [HEADER]
    out.append(f"export const PROTOCOL_VERSION = {json.dumps(schema['x-protocolVersion'])};\n")
    for name, body in schema["$defs"].items():
        out += _doc(body.get("description"), "")
        if body.get("type") == "object" and "properties" in body:
            out.append(f"export interface {name} {{")
            out += [f"{line};" if not line.lstrip().startswith(("/**", "*")) else line for line in _props(body, "  ")]
            out.append("}\n")
        else:
            out.append(f"export type {name} = {ts_type(body)};\n")
    methods = schema["x-methods"]
    requests = {m: e for m, e in methods.items() if e["kind"] == "request"}
    notifications = {m: e for m, e in methods.items() if e["kind"] == "notification"}
    out.append("/** Every kilo/* request: its params and its result. */")
    out.append("export interface KiloRequests {")
    for m, e in requests.items():
        out.append(f"  {json.dumps(m)}: {{ params: {ts_type(e['params'])}; result: {ts_type(e['result'])} }};")
    out.append("}\n")
    out.append("/** Every kilo/* notification and its params. */")
    out.append("export interface KiloNotifications {")
    for m, e in notifications.items():
        out.append(f"  {json.dumps(m)}: {ts_type(e['params'])};")
    out.append("}\n")
    out.append(f"export const KILO_REQUESTS = {json.dumps(list(requests))} as const;")
    out.append(f"export const KILO_NOTIFICATIONS = {json.dumps(list(notifications))} as const;")
    out.append(f"export const SERVER_TO_CLIENT_NOTIFICATIONS = "
               f"{json.dumps([m for m, e in notifications.items() if e['direction'] == 'serverToClient'])} as const;")
    out.append("export type KiloRequest = keyof KiloRequests;")
    out.append("export type KiloNotification = keyof KiloNotifications;")
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[0], encoding="utf-8") as fh:
        sys.stdout.write(generate(json.load(fh)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
