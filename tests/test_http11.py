"""The lean HTTP/1.1 transport against a real asyncio server on 127.0.0.1: framing, keep-alive,
stale connections, timeouts, the connection limit, cancellation and flow control."""

from __future__ import annotations

import asyncio
import json
import os
import time
from typing import Awaitable, Callable

import httpx
import pytest

from kilo_lsp.providers.http11 import Http11Transport

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, bytes], Awaitable[bool]]


class Server:
    """Counts connections and requests; ``handler`` answers one request and says whether to keep going."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.requests: list[bytes] = []
        self.eof_seen = asyncio.Event()

    async def __aenter__(self) -> "Server":
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    self.eof_seen.set()
                    return
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                body = await reader.readexactly(length)
                self.requests.append(head + body)
                if not await self.handler(reader, writer, body):
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            self.eof_seen.set()
        finally:
            writer.close()


def chunked(*parts: bytes) -> bytes:
    return (b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
            + b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n")


def json_response(obj: object, extra: bytes = b"") -> bytes:
    data = json.dumps(obj).encode()
    return b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n%s\r\n%s" % (
        len(data), extra, data)


async def test_streams_chunks_and_reuses_the_connection() -> None:
    async def handler(reader, writer, body):
        writer.write(chunked(b"data: one\n\n", b"data: two\n\n"))
        return True

    async with Server(handler) as s:
        async with httpx.AsyncClient(transport=Http11Transport()) as client:
            for _ in range(3):
                async with client.stream("POST", s.url + "/v1/chat", json={"q": "hi"}) as r:
                    got = b"".join([c async for c in r.aiter_raw()])
                assert r.status_code == 200 and got == b"data: one\n\ndata: two\n\n"
    assert s.connections == 1 and len(s.requests) == 3
    assert s.requests[0].startswith(b"POST /v1/chat HTTP/1.1\r\n") and s.requests[0].endswith(b'{"q":"hi"}')


async def test_content_length_body_and_query_string() -> None:
    async def handler(reader, writer, body):
        writer.write(json_response({"data": [{"id": "m1"}]}))
        return True

    async with Server(handler) as s:
        async with httpx.AsyncClient(transport=Http11Transport()) as client:
            r = await client.get(s.url + "/v1/models?x=1")
    assert r.json() == {"data": [{"id": "m1"}]}
    assert s.requests[0].startswith(b"GET /v1/models?x=1 HTTP/1.1\r\n")


async def test_connection_close_is_not_reused() -> None:
    async def handler(reader, writer, body):
        writer.write(json_response({"ok": 1}, b"connection: close\r\n"))
        await writer.drain()
        return False

    async with Server(handler) as s:
        async with httpx.AsyncClient(transport=Http11Transport()) as client:
            for _ in range(2):
                assert (await client.get(s.url + "/")).json() == {"ok": 1}
    assert s.connections == 2


async def test_a_kept_alive_connection_the_server_closed_is_replaced() -> None:
    """The server answers, keeps the connection open, then drops it without a word: the next request
    goes out on a new connection instead of failing."""
    async def handler(reader, writer, body):
        writer.write(json_response({"n": len(s.requests)}))
        await writer.drain()
        return False                    # closes after answering, without "connection: close"

    async with Server(handler) as s:
        async with httpx.AsyncClient(transport=Http11Transport()) as client:
            assert (await client.get(s.url + "/")).json() == {"n": 1}
            await asyncio.sleep(0.05)
            assert (await client.get(s.url + "/")).json() == {"n": 2}
    assert s.connections == 2


async def test_a_silent_server_is_a_read_timeout() -> None:
    async def handler(reader, writer, body):
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n")
        await writer.drain()
        await asyncio.sleep(5)
        return False

    async with Server(handler) as s:
        async with httpx.AsyncClient(transport=Http11Transport(), timeout=httpx.Timeout(0.3)) as client:
            t0 = time.monotonic()
            async with client.stream("GET", s.url + "/") as r:
                it = r.aiter_raw()
                assert await anext(it) == b"hello"
                with pytest.raises(httpx.ReadTimeout):
                    await anext(it)
            assert 0.25 < time.monotonic() - t0 < 2


async def test_a_slow_reader_is_not_a_timeout() -> None:
    """The read timeout counts while the reader waits, not while it is busy with earlier bytes."""
    async def handler(reader, writer, body):
        writer.write(chunked(b"a", b"b"))
        return True

    async with Server(handler) as s:
        async with httpx.AsyncClient(transport=Http11Transport(), timeout=httpx.Timeout(0.2)) as client:
            async with client.stream("GET", s.url + "/") as r:
                out = b""
                async for c in r.aiter_raw():
                    out += c
                    await asyncio.sleep(0.5)
    assert out == b"ab"


async def test_closing_a_response_mid_stream_closes_the_connection() -> None:
    async def handler(reader, writer, body):
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n")
        await writer.drain()
        await reader.read(1)            # the client going away ends this read
        s.eof_seen.set()
        return False

    async with Server(handler) as s:
        async with httpx.AsyncClient(transport=Http11Transport()) as client:
            async with client.stream("GET", s.url + "/") as r:
                async for _ in r.aiter_raw():
                    break
            await asyncio.wait_for(s.eof_seen.wait(), 2)


async def test_cancelling_a_reader_closes_the_connection() -> None:
    async def handler(reader, writer, body):
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
        await writer.drain()
        await reader.read(1)
        s.eof_seen.set()
        return False

    async with Server(handler) as s:
        async with httpx.AsyncClient(transport=Http11Transport()) as client:
            async def read_all() -> None:
                async with client.stream("GET", s.url + "/") as r:
                    async for _ in r.aiter_raw():
                        pass
            task = asyncio.create_task(read_all())
            await asyncio.sleep(0.2)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await asyncio.wait_for(s.eof_seen.wait(), 2)


async def test_the_connection_limit_queues_then_times_out() -> None:
    release = asyncio.Event()

    async def handler(reader, writer, body):
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
        await writer.drain()
        await release.wait()
        writer.write(b"0\r\n\r\n")
        return True

    async with Server(handler) as s:
        transport = Http11Transport(max_connections=1)
        async with httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(5, pool=0.3)) as client:
            async with client.stream("GET", s.url + "/") as first:
                with pytest.raises(httpx.PoolTimeout):
                    await client.get(s.url + "/")
                waiting = asyncio.create_task(client.get(s.url + "/"))
                await asyncio.sleep(0.1)
                assert not waiting.done()       # queued behind the open stream
                release.set()
                await first.aread()
            assert (await waiting).status_code == 200
    assert s.connections == 1


async def test_a_server_that_drops_mid_body_is_a_protocol_error() -> None:
    async def handler(reader, writer, body):
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n")
        await writer.drain()
        return False

    async with Server(handler) as s:
        async with httpx.AsyncClient(transport=Http11Transport()) as client:
            async with client.stream("GET", s.url + "/") as r:
                it = r.aiter_raw()
                assert await anext(it) == b"hello"
                with pytest.raises(httpx.RemoteProtocolError):
                    await anext(it)


async def test_no_answer_at_all_is_a_protocol_error() -> None:
    async def handler(reader, writer, body):
        return False

    async with Server(handler) as s:
        async with httpx.AsyncClient(transport=Http11Transport()) as client:
            with pytest.raises(httpx.RemoteProtocolError, match="without answering"):
                await client.get(s.url + "/")


async def test_refused_connection_is_a_connect_error() -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    async with httpx.AsyncClient(transport=Http11Transport()) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(f"http://127.0.0.1:{port}/")


async def test_a_large_body_read_slowly_arrives_whole() -> None:
    """Several megabytes while the reader lags: the socket is paused and resumed, nothing is lost."""
    part = bytes(range(256)) * 256      # 64 KB

    async def handler(reader, writer, body):
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
        for _ in range(64):
            writer.write(b"%x\r\n%s\r\n" % (len(part), part))
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        return True

    async with Server(handler) as s:
        async with httpx.AsyncClient(transport=Http11Transport()) as client:
            async with client.stream("GET", s.url + "/") as r:
                got = bytearray()
                async for c in r.aiter_raw():
                    got += c
                    await asyncio.sleep(0.001)
            assert got == part * 64
            assert (await client.get(s.url + "/")).status_code == 200   # reused after a clean end
    assert s.connections == 1


async def test_a_reused_connection_dropped_without_an_answer_is_retried_once() -> None:
    """The second request on a kept-alive connection is read and dropped unanswered (the server's
    idle close racing the request): it is sent again on a new connection, once."""
    async def handler(reader, writer, body):
        if len(s.requests) == 2:
            return False
        writer.write(json_response({"n": len(s.requests)}))
        return True

    async with Server(handler) as s:
        async with httpx.AsyncClient(transport=Http11Transport()) as client:
            assert (await client.get(s.url + "/")).json() == {"n": 1}
            assert (await client.get(s.url + "/")).json() == {"n": 3}
    assert s.connections == 2 and len(s.requests) == 3


async def test_a_proxy_from_the_environment_still_applies(monkeypatch) -> None:
    """httpx ignores HTTP(S)_PROXY when given a transport: a provider behind a proxy keeps httpx's own
    transport, and its requests reach the proxy; without a proxy the lean transport is used."""
    from kilo_lsp.providers.base import ChatMessage, ChatRequest, ProviderSpec
    from kilo_lsp.providers.openai_compat import OpenAICompatProvider

    events = [{"choices": [{"index": 0, "delta": {"content": "via proxy"}, "finish_reason": None}]},
              {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}]

    async def handler(reader, writer, body):
        writer.write(chunked(*(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events), b"data: [DONE]\n\n"))
        return True

    spec = ProviderSpec("hosted", "openai", "http://api.example.test/v1", api_key="k")
    async with Server(handler) as proxy:
        for name in [k for k in os.environ if "proxy" in k.lower()]:
            monkeypatch.delenv(name)
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        provider = OpenAICompatProvider(spec)
        try:
            out = [ev async for ev in provider.stream(ChatRequest("m", [ChatMessage("user", "hi")]))]
            assert not isinstance(provider.client()._transport, Http11Transport)
        finally:
            await provider.aclose()
    assert "".join(ev.text for ev in out if ev.type == "text") == "via proxy"
    assert proxy.requests[0].startswith(b"POST http://api.example.test/v1/chat/completions HTTP/1.1")
    monkeypatch.delenv("HTTP_PROXY")
    direct = OpenAICompatProvider(spec)
    assert isinstance(direct.client()._transport, Http11Transport)
    await direct.aclose()


async def test_a_body_delimited_by_the_server_closing_arrives_whole() -> None:
    """No Content-Length and no chunking (an HTTP/1.0-style server): the body ends when the server
    closes, and the connection is not reused."""
    async def handler(reader, writer, body):
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\ndata: a\n\n")
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(b"data: b\n\n")
        await writer.drain()
        return False

    async with Server(handler) as s:
        async with httpx.AsyncClient(transport=Http11Transport()) as client:
            for _ in range(2):
                async with client.stream("GET", s.url + "/") as r:
                    assert b"".join([c async for c in r.aiter_raw()]) == b"data: a\n\ndata: b\n\n"
    assert s.connections == 2


async def test_a_large_request_body_is_sent_whole() -> None:
    """A prompt of several megabytes fills the socket's buffer: the transport waits for it to drain
    (pause_writing / resume_writing) and the server reads every byte."""
    payload = {"messages": [{"role": "user", "content": "x" * (6 << 20)}]}

    async def handler(reader, writer, body):
        writer.write(json_response({"got": len(body)}))
        return True

    async with Server(handler) as s:
        async with httpx.AsyncClient(transport=Http11Transport()) as client:
            r = await client.post(s.url + "/v1/chat", json=payload)
    assert r.json()["got"] == len(json.dumps(payload, separators=(",", ":")).encode())
    assert len(s.requests[0]) > 6 << 20
