"""A cheap fake OpenAI-compatible upstream in its own process: raw asyncio streams, pre-encoded bytes.

It runs apart from the benchmark's client and from the sidecar, and does as little as it can per
request (no JSON parsing of the request, responses built once and cached), so that under 50
concurrent streams neither the sidecar nor the direct client is measured against the upstream's own
CPU. The last user message chooses the script (a regular expression over the request body), so the
sidecar and a direct client get the same stream:

    ``perf-ttft``          a short answer at once
    ``perf-relay N``       N one-word text chunks, as fast as the server writes them (one HTTP chunk each)
    ``perf-wait MS``       a short answer after MS milliseconds (a model thinking)
    ``perf-drip W N I``    after W ms, N one-word text chunks I ms apart (a long stream at a model's pace)

Prints its base URL on stdout, then serves until stdin closes.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import sys
from functools import lru_cache

_CMD = re.compile(rb"perf-(ttft|relay|wait|drip)((?: \d+)*)")
_HEAD = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
         b"Transfer-Encoding: chunked\r\n\r\n")
_END = b"0\r\n\r\n"
_BASE = {"id": "chatcmpl-perf", "object": "chat.completion.chunk", "created": 1, "model": "perf"}


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def _event(obj: object) -> bytes:
    return _chunk(b"data: " + (obj if isinstance(obj, bytes) else json.dumps(obj).encode()) + b"\n\n")


def _text(text: str) -> bytes:
    return _event({**_BASE, "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]})


@lru_cache(maxsize=None)
def _opening() -> bytes:
    return _event({**_BASE, "choices": [{"index": 0, "delta": {"role": "assistant", "content": None},
                                         "finish_reason": None}]})


@lru_cache(maxsize=None)
def _closing(n: int) -> bytes:
    return (_event({**_BASE, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
            + _event({**_BASE, "choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": n,
                                                         "total_tokens": 12 + n}})
            + _event(b"[DONE]") + _END)


_TOK = None


def _tok() -> bytes:
    global _TOK
    if _TOK is None:
        _TOK = _text("tok ")
    return _TOK


@lru_cache(maxsize=None)
def _short() -> bytes:
    return _HEAD + _opening() + _text("Hello") + _text(" world") + _closing(2)


def _script(body: bytes) -> tuple[str, list[int]]:
    m = _CMD.search(body)
    if m is None:
        return "ttft", []
    return m.group(1).decode(), [int(x) for x in m.group(2).split()]


async def _respond(writer: asyncio.StreamWriter, kind: str, args: list[int]) -> None:
    if kind == "ttft":
        writer.write(_short())
    elif kind == "wait":
        await asyncio.sleep((args[0] if args else 0) / 1000)
        writer.write(_short())
    elif kind == "relay":
        n = args[0] if args else 0
        writer.write(_HEAD + _opening())
        tok = _tok()
        for i in range(n):
            writer.write(tok)           # one HTTP chunk (and one send, while the socket takes it) per event
            if i % 64 == 63:
                await writer.drain()
        writer.write(_closing(n))
    elif kind == "drip":
        wait, n, gap = (args + [0, 0, 0])[:3]
        await asyncio.sleep(wait / 1000)
        writer.write(_HEAD + _opening())
        tok = _tok()
        for i in range(n):
            if i:
                await asyncio.sleep(gap / 1000)
            writer.write(tok)
        writer.write(_closing(n))
    await writer.drain()


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lower = head.lower()
            i = lower.find(b"content-length:")
            length = int(head[i + 15:head.index(b"\r\n", i)]) if i >= 0 else 0
            body = await reader.readexactly(length) if length else b""
            if head.startswith(b"GET "):
                data = b'{"object":"list","data":[{"id":"perf","object":"model"}]}'
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                             % (len(data), data))
            else:
                await _respond(writer, *_script(body))
            if b"connection: close" in lower:
                break
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()


async def main() -> None:
    server = await asyncio.start_server(_serve, "127.0.0.1", 0, backlog=1024, limit=1 << 20)
    port = server.sockets[0].getsockname()[1]
    print(f"http://127.0.0.1:{port}", flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)     # serve until stdin closes
    sys.stdout.flush()
    os._exit(0)      # at once: the handlers of kept-alive connections need no cancelling


if __name__ == "__main__":
    asyncio.run(main())
