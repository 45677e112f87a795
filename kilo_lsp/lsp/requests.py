"""How a kilo/* request is handled: params structured into their protocol type, the handler called, and
every failure turned into a JSON-RPC error the editor can show.

pygls drops a request whose params fail its own conversion without answering it, so kilo/* handlers
receive the plain params dict and ``kilo_request`` structures it with msgspec. A bad field becomes
-32602 naming the field by its path (``kilo/route: invalid params: context.selection.start.line:
expected `int` >= 0``); an unexpected fault becomes -32603 with a one-line message (the traceback goes
to the log at debug level, never to the editor).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any, Callable

import msgspec
from pygls.exceptions import JsonRpcException, JsonRpcInternalError, JsonRpcInvalidParams

from ..leaderboard.errors import LeaderboardError
from ..protocol import METHOD_TYPES
from ..validation import describe

log = logging.getLogger("kilo_lsp")


class RequestError(Exception):
    """A request that ends in a JSON-RPC error with this code, message and data."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code, self.message, self.data = code, message, data


def structure(raw: Any, cls: type, method: str) -> Any:
    """The params of ``method`` as ``cls`` (null params are an empty object), or -32602 naming the field."""
    try:
        return msgspec.convert(raw if raw is not None else {}, cls)
    except msgspec.ValidationError as exc:
        raise JsonRpcInvalidParams(f"{method}: invalid params: {describe(exc, cls)}") from None
    except UnicodeError:     # msgspec meets a lone surrogate (valid JSON, not valid UTF-8) in a string
        raise JsonRpcInvalidParams(f"{method}: invalid params: a string holds an unpaired UTF-16 surrogate") from None


def _failure(method: str, exc: Exception) -> JsonRpcException:
    if isinstance(exc, JsonRpcException):
        return exc
    if isinstance(exc, RequestError):
        return JsonRpcException(exc.message, exc.code, msgspec.to_builtins(exc.data))
    if isinstance(exc, LeaderboardError):
        return JsonRpcInternalError(str(exc))
    log.debug("%s failed", method, exc_info=exc)
    return JsonRpcInternalError(f"{method}: internal error: {type(exc).__name__}: {exc}")


def kilo_request(server: Any, method: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``fn(server, params)`` as the handler of ``method``; its params type comes from
    ``protocol.METHOD_TYPES``. ``fn`` returns a protocol Struct (or None) and may be async."""
    params_type = METHOD_TYPES[method][0]

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        if asyncio.iscoroutinefunction(fn):
            @functools.wraps(fn)
            async def handler(ls: Any, raw: Any) -> Any:
                params = structure(raw, params_type, method)
                try:
                    return await fn(ls, params)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    raise _failure(method, exc) from None
        else:
            @functools.wraps(fn)
            def handler(ls: Any, raw: Any) -> Any:
                params = structure(raw, params_type, method)
                try:
                    return fn(ls, params)
                except Exception as exc:
                    raise _failure(method, exc) from None
        server.feature(method)(handler)
        return fn
    return deco
