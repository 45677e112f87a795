"""What a frame from the editor must be before pygls handles it, and the answer when it is not.

JSON-RPC 2.0 and LSP say how a server answers a message it cannot take; pygls logs most of these
and answers nothing, so the editor waits for ever. Here every request gets an answer:

- a body that is not UTF-8 JSON, or is nested deeper than the parser can follow: -32700 Parse error;
- not a JSON object, a batch (LSP sends one message per frame), a wrong or missing ``"jsonrpc": "2.0"``,
  an ``id`` that is neither a string nor an integer, a ``method`` that is not a string: -32600
  Invalid Request;
- a request before ``initialize``: -32002 Server not initialized (notifications then are dropped, but
  ``exit``); ``initialize`` a second time, or any request after ``shutdown``: -32600.

When the body cannot be parsed, its ``id`` is still looked for at the top level of the text, so a
client waiting for that id gets its answer; otherwise the answer carries ``"id": null``, as JSON-RPC
says.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ..redaction import safe_text

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
SERVER_NOT_INITIALIZED = -32002

#: How much of a method name an error message repeats.
NAME_CHARS = 80


@dataclass(frozen=True)
class Refusal:
    """The error answer to one message: ``id`` is None when no id could be read."""

    id: Any
    code: int
    message: str

    def encode(self) -> bytes:
        return json.dumps({"jsonrpc": "2.0", "id": self.id,
                           "error": {"code": self.code, "message": self.message}}).encode()


def valid_id(value: Any) -> bool:
    """JSON-RPC ids LSP allows: an integer or a string (not a bool, which Python counts as an int)."""
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]:,]', re.S)
_DECODER = json.JSONDecoder()


def top_level_id(text: str) -> Any:
    """The ``id`` member of the top-level object of ``text``, read without parsing the rest (a body
    too deep or too broken to parse may still say which request it was); None when there is none."""
    depth = 0
    key: str | None = None
    expect_key = False
    for m in _TOKEN.finditer(text):
        tok = m.group()
        if tok in "{[":
            depth += 1
            expect_key = depth == 1 and tok == "{"
        elif tok in "}]":
            depth -= 1
            if depth <= 0:
                return None
        elif depth != 1:
            continue
        elif tok == ",":
            expect_key = True
        elif tok == ":":
            if key == "id":
                start = m.end()
                while start < len(text) and text[start] in " \t\r\n":
                    start += 1
                try:
                    value, _ = _DECODER.raw_decode(text, start)
                except (ValueError, RecursionError):
                    return None
                return value if valid_id(value) else None
            key = None
        elif expect_key:
            try:
                key = json.loads(tok)
            except ValueError:
                key = None
            expect_key = False
    return None


def parse(body: bytes) -> tuple[Any, Refusal | None]:
    """(the message, None), or (None, the -32700 answer) when ``body`` is not UTF-8 JSON that can be read."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        lossy = body.decode("utf-8", "replace")
        return None, Refusal(_id_of(lossy), PARSE_ERROR, f"Parse error: the message is not valid UTF-8 "
                                                          f"(byte {exc.start} of {len(body)})")
    try:
        return json.loads(text), None
    except RecursionError:
        return None, Refusal(top_level_id(text), PARSE_ERROR,
                             "Parse error: the message is nested deeper than the JSON parser can follow")
    except ValueError as exc:
        return None, Refusal(top_level_id(text), PARSE_ERROR, f"Parse error: {safe_text(str(exc), 200)}")


def _id_of(text: str) -> Any:
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        return top_level_id(text)
    return obj.get("id") if isinstance(obj, dict) and valid_id(obj.get("id")) else None


def check(message: Any) -> list[Refusal]:
    """The -32600 answers a parsed message gets ([] when it is a well-formed JSON-RPC 2.0 message).

    A batch gets one answer per request in it (an empty list of answers would leave its requests
    waiting); a bad notification gets none (there is nobody to answer), it is only dropped.
    """
    if isinstance(message, list):
        ids = [m.get("id") for m in message if isinstance(m, dict) and "method" in m and valid_id(m.get("id"))]
        why = "Invalid Request: batches are not supported (LSP sends one message per frame)"
        return [Refusal(i, INVALID_REQUEST, why) for i in ids] or [Refusal(None, INVALID_REQUEST, why)]
    if not isinstance(message, dict):
        return [Refusal(None, INVALID_REQUEST, "Invalid Request: a message must be a JSON object")]
    has_id = "id" in message
    if has_id and message["id"] is not None and not valid_id(message["id"]):
        return [Refusal(None, INVALID_REQUEST, "Invalid Request: id must be a string or an integer")]
    if not has_id and "method" not in message:
        return [Refusal(None, INVALID_REQUEST, "Invalid Request: neither a request, a notification nor a "
                                               "response (no method and no id)")]
    msg_id = message.get("id")
    request = has_id and "method" in message
    if message.get("jsonrpc") != "2.0":
        return [Refusal(msg_id, INVALID_REQUEST, 'Invalid Request: "jsonrpc" must be "2.0"')] if request else []
    if "method" in message and not isinstance(message["method"], str):
        return [Refusal(msg_id, INVALID_REQUEST, "Invalid Request: method must be a string")] if request else []
    return []


def method_name(message: dict[str, Any]) -> str:
    """The method, shortened for an error message."""
    return safe_text(str(message.get("method", "")), NAME_CHARS)
