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
from typing import Any, Awaitable, Callable

import msgspec
from pygls.exceptions import JsonRpcException, JsonRpcInternalError, JsonRpcInvalidParams

from ..leaderboard.errors import LeaderboardError
from ..protocol import METHOD_TYPES
from ..validation import describe

log = logging.getLogger("kilo_lsp")


class Later(Exception):
    """Raised by a handler that must first wait for work done off the event loop (the leaderboard file
    being read in a worker thread): the request is answered once ``wait()`` is done and the handler has
    run again. A sync handler stays sync, and costs nothing more, when there is nothing to wait for."""

    def __init__(self, wait: Callable[[], Awaitable[None]]) -> None:
        super().__init__("later")
        self.wait = wait


class Deferred:
    """The answer of a sync kilo/* handler that raised ``Later``; ``KiloProtocol._send_response`` starts it."""

    ROUNDS = 3           # waits before giving up (each ``Later`` after a wait means the settings changed)

    def __init__(self, first: Later, again: Callable[[], Any], method: str) -> None:
        self.first, self.again, self.method = first, again, method

    def start(self, send: Callable[[Any, Any], None]) -> None:
        """Run it; ``send(result, error)`` gets the answer (an error as a ResponseError)."""
        async def run() -> Any:
            later = self.first
            for _ in range(self.ROUNDS):
                await later.wait()
                try:
                    return self.again()
                except Later as again:
                    later = again
            raise JsonRpcInternalError(f"{self.method}: what it waits for kept changing")

        def done(task: "asyncio.Task[Any]") -> None:
            if task.cancelled():
                send(None, JsonRpcInternalError(f"{self.method}: cancelled").to_response_error())
            elif task.exception() is not None:
                send(None, _failure(self.method, task.exception()).to_response_error())  # type: ignore[arg-type]
            else:
                send(task.result(), None)
        asyncio.ensure_future(run()).add_done_callback(done)


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
                except Later as later:
                    return Deferred(later, lambda: fn(ls, params), method)
                except Exception as exc:
                    raise _failure(method, exc) from None
        server.feature(method)(handler)
        return fn
    return deco
