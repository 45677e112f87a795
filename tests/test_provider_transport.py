"""What the provider's HTTP client does on the wire, through OpenAICompatProvider against real servers
on 127.0.0.1 (raw asyncio streams, so a test can answer, stall, drop or close exactly when it
wants): keep-alive and the connection limits, connections the server closed, timeouts,
cancellation, bodies of every framing and size, proxies from the environment and trusted CAs."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import ssl
import subprocess
import time
from pathlib import Path
from typing import Awaitable, Callable

import pytest

from kilo_lsp.providers import openai_compat
from kilo_lsp.providers.base import ChatMessage, ChatRequest, ProviderError, ProviderSpec, Timeouts
from kilo_lsp.providers.openai_compat import OpenAICompatProvider
from kilo_lsp.providers.registry import ProviderPool

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, bytes], Awaitable[bool]]
KEY = "sk-transport-0123.456789SECRET"
FAST = Timeouts(connect=2.0, first_byte=3.0, idle=3.0, list_models=2.0)


@pytest.fixture(autouse=True)
def no_proxy_from_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    """Proxies in the environment are what some tests set: none may come from the machine."""
    for name in [k for k in os.environ if k.lower() in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")]:
        monkeypatch.delenv(name)


class Server:
    """HTTP/1.1 on 127.0.0.1 (TLS with ``tls``). Counts connections and keeps each request's head
    and body; ``handler`` answers one request and says whether to keep the connection."""

    def __init__(self, handler: Handler, tls: ssl.SSLContext | None = None) -> None:
        self.handler = handler
        self.tls = tls
        self.connections = 0
        self.requests: list[bytes] = []
        self.bodies: list[bytes] = []
        self.eof_seen = asyncio.Event()

    async def __aenter__(self) -> "Server":
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.tls)
        scheme = "https" if self.tls else "http"
        self.url = f"{scheme}://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"
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
                self.requests.append(head)
                self.bodies.append(body)
                if not await self.handler(reader, writer, body):
                    return
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            self.eof_seen.set()
        finally:
            writer.close()


HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"


def event(text: str | None = None, finish: str | None = None) -> bytes:
    delta = {"content": text} if text is not None else {}
    obj = {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return b"data: " + json.dumps(obj).encode() + b"\n\n"


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def ending() -> bytes:
    """The last events of an answer and the end of the chunked body."""
    return chunk(event(finish="stop")) + chunk(b"data: [DONE]\n\n") + b"0\r\n\r\n"


def answer(*texts: str) -> bytes:
    return HEAD + b"".join(chunk(event(t)) for t in texts) + ending()


def json_response(obj: object, extra: bytes = b"") -> bytes:
    data = json.dumps(obj).encode()
    return b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n%s\r\n%s" % (
        len(data), extra, data)


def provider(url: str, timeouts: Timeouts = FAST, *, local: bool = False) -> OpenAICompatProvider:
    return OpenAICompatProvider(ProviderSpec("wire", "openai", url + "/v1", api_key=KEY, local=local),
                                timeouts=timeouts)


def request(text: str = "hi", max_tokens: int | None = None) -> ChatRequest:
    return ChatRequest("m", [ChatMessage("user", text)], max_tokens=max_tokens)


async def text_of(p: OpenAICompatProvider, req: ChatRequest | None = None) -> str:
    return "".join([ev.text async for ev in p.stream(req or request()) if ev.type == "text"])


async def until_error(p: OpenAICompatProvider, req: ChatRequest | None = None) -> tuple[str, ProviderError]:
    parts: list[str] = []
    with pytest.raises(ProviderError) as err:
        async for ev in p.stream(req or request()):
            if ev.type == "text":
                parts.append(ev.text)
    return "".join(parts), err.value


# --------------------------------------------------------------------------- keep-alive

async def test_streams_reuse_one_connection_and_send_the_request_whole() -> None:
    async def handler(reader, writer, body):
        writer.write(answer("one ", "two"))
        return True

    async with Server(handler) as s:
        p = provider(s.url)
        try:
            for _ in range(3):
                assert await text_of(p) == "one two"
        finally:
            await p.aclose()
    assert s.connections == 1 and len(s.requests) == 3
    assert s.requests[0].startswith(b"POST /v1/chat/completions HTTP/1.1\r\n")
    assert json.loads(s.bodies[0])["messages"] == [{"role": "user", "content": "hi"}]


async def test_a_content_length_answer_to_a_get_with_a_query_string() -> None:
    from kilo_lsp.providers.anthropic import AnthropicProvider

    async def handler(reader, writer, body):
        writer.write(json_response({"data": [{"id": "m1"}, {"id": "m2"}]}))
        return True

    async with Server(handler) as s:
        p = AnthropicProvider(ProviderSpec("wire", "anthropic", s.url, api_key=KEY), timeouts=FAST)
        try:
            assert await p.list_models() == ["m1", "m2"]
            assert await p.list_models() == ["m1", "m2"]
        finally:
            await p.aclose()
    assert s.requests[0].startswith(b"GET /v1/models?limit=1000 HTTP/1.1\r\n")
    assert s.connections == 1


async def test_an_answer_with_connection_close_is_not_reused() -> None:
    async def handler(reader, writer, body):
        writer.write(answer("bye").replace(b"\r\n\r\n", b"\r\nconnection: close\r\n\r\n", 1))
        await writer.drain()
        return False

    async with Server(handler) as s:
        p = provider(s.url)
        try:
            for _ in range(2):
                assert await text_of(p) == "bye"
        finally:
            await p.aclose()
    assert s.connections == 2


async def test_a_kept_alive_connection_the_server_closed_is_replaced() -> None:
    """The server answers, then drops the idle connection without a word: the next request goes out
    on a new connection instead of failing."""
    async def handler(reader, writer, body):
        writer.write(answer(f"n{len(s.requests)}"))
        await writer.drain()
        return False

    async with Server(handler) as s:
        p = provider(s.url)
        try:
            assert await text_of(p) == "n1"
            await asyncio.sleep(0.05)
            assert await text_of(p) == "n2"
        finally:
            await p.aclose()
    assert s.connections == 2


async def test_a_reused_connection_dropped_without_an_answer_is_retried_once() -> None:
    """The second request on a kept-alive connection is read and dropped unanswered (the server's
    idle close crossing the request): it is sent again on a new connection, once."""
    async def handler(reader, writer, body):
        if len(s.requests) == 2:
            return False
        writer.write(answer(f"n{len(s.requests)}"))
        return True

    async with Server(handler) as s:
        p = provider(s.url)
        try:
            assert await text_of(p) == "n1"
            assert await text_of(p) == "n3"
        finally:
            await p.aclose()
    assert s.connections == 2 and len(s.requests) == 3


async def test_a_new_connection_closed_without_an_answer_is_not_retried() -> None:
    async def handler(reader, writer, body):
        return False

    async with Server(handler) as s:
        p = provider(s.url)
        try:
            _, err = await until_error(p)
        finally:
            await p.aclose()
    assert err.kind == "connect" and not err.started and KEY not in str(err)
    assert len(s.requests) == 1


# --------------------------------------------------------------------------- connection limits

async def test_64_streams_at_once_then_the_next_request_waits_and_32_stay_alive() -> None:
    """Per provider: 64 requests in flight, the 65th waits for one to end; afterwards 32 idle
    connections are kept, so a second burst of 64 opens only 32 new ones."""
    release = asyncio.Event()

    async def handler(reader, writer, body):
        writer.write(HEAD + chunk(event("x")))
        await writer.drain()
        await release.wait()
        writer.write(ending())
        return True

    async with Server(handler) as s:
        p = provider(s.url, Timeouts(connect=5, first_byte=20, idle=20))
        try:
            first = [asyncio.create_task(text_of(p)) for _ in range(64)]
            for _ in range(200):
                if s.connections == 64:
                    break
                await asyncio.sleep(0.02)
            extra = asyncio.create_task(text_of(p))
            await asyncio.sleep(0.3)
            assert s.connections == 64 and len(s.requests) == 64 and not extra.done()
            release.set()
            assert await asyncio.gather(*first, extra) == ["x"] * 65
            assert s.connections == 64
            assert await asyncio.gather(*(text_of(p) for _ in range(64))) == ["x"] * 64
            assert s.connections == 64 + 32
        finally:
            await p.aclose()


async def test_a_request_that_waits_for_a_connection_past_the_first_byte_timeout_fails(monkeypatch) -> None:
    monkeypatch.setattr(openai_compat, "MAX_CONNECTIONS", 1)
    release = asyncio.Event()

    async def handler(reader, writer, body):
        writer.write(HEAD + chunk(event("held")))
        await writer.drain()
        await release.wait()
        writer.write(ending())
        return True

    async with Server(handler) as s:
        p = provider(s.url, Timeouts(connect=2, first_byte=0.5, idle=5))
        try:
            held = p.stream(request())
            assert (await anext(held)).text == "held"
            t0 = time.monotonic()
            _, err = await until_error(p)
            assert err.kind == "timeout" and not err.started and 0.4 < time.monotonic() - t0 < 2
            waiting = asyncio.create_task(text_of(p))
            await asyncio.sleep(0.1)
            assert not waiting.done()                  # queued behind the open stream
            release.set()
            assert "".join([ev.text async for ev in held if ev.type == "text"]) == ""
            assert await waiting == "held"
        finally:
            await p.aclose()
    assert s.connections == 1


# --------------------------------------------------------------------------- timeouts

async def test_a_server_that_goes_silent_mid_stream_hits_the_idle_timeout() -> None:
    async def handler(reader, writer, body):
        writer.write(HEAD + chunk(event("hello")))
        await writer.drain()
        await asyncio.sleep(5)
        return False

    async with Server(handler) as s:
        p = provider(s.url, Timeouts(connect=2, first_byte=3, idle=0.3))
        try:
            t0 = time.monotonic()
            partial, err = await until_error(p)
            took = time.monotonic() - t0
        finally:
            await p.aclose()
    assert partial == "hello" and err.kind == "timeout" and err.started and "stalled" in str(err)
    assert 0.25 < took < 2


async def test_a_slow_consumer_is_not_an_idle_timeout() -> None:
    """The idle timeout counts while the provider waits for the server, not while the consumer is
    busy with earlier text."""
    async def handler(reader, writer, body):
        writer.write(HEAD)
        for t in ("a", "b", "c"):
            writer.write(chunk(event(t)))
            await writer.drain()
            await asyncio.sleep(0.02)
        writer.write(ending())
        return True

    async with Server(handler) as s:
        p = provider(s.url, Timeouts(connect=2, first_byte=3, idle=0.2))
        try:
            out = ""
            async for ev in p.stream(request()):
                out += ev.text
                await asyncio.sleep(0.4)
        finally:
            await p.aclose()
    assert out == "abc"


# --------------------------------------------------------------------------- closing early

async def test_closing_a_stream_mid_way_closes_its_connection() -> None:
    async def handler(reader, writer, body):
        writer.write(HEAD + chunk(event("hello")))
        await writer.drain()
        await reader.read(1)             # the client going away ends this read
        s.eof_seen.set()
        return False

    async with Server(handler) as s:
        p = provider(s.url)
        try:
            stream = p.stream(request())
            assert (await anext(stream)).text == "hello"
            await stream.aclose()
            await asyncio.wait_for(s.eof_seen.wait(), 2)
        finally:
            await p.aclose()


async def test_cancelling_the_consumer_closes_the_connection_at_once() -> None:
    async def handler(reader, writer, body):
        writer.write(HEAD + chunk(event("hello")))
        await writer.drain()
        await reader.read(1)
        s.eof_seen.set()
        return False

    async with Server(handler) as s:
        p = provider(s.url)
        got = asyncio.Event()

        async def consume() -> None:
            async with contextlib.aclosing(p.stream(request())) as stream:
                async for _ in stream:
                    got.set()

        try:
            task = asyncio.create_task(consume())
            await asyncio.wait_for(got.wait(), 2)
            t0 = time.monotonic()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await asyncio.wait_for(s.eof_seen.wait(), 2)
            assert time.monotonic() - t0 < 0.5
        finally:
            await p.aclose()


# --------------------------------------------------------------------------- bodies

async def test_a_server_that_drops_mid_body_keeps_the_partial_text() -> None:
    async def handler(reader, writer, body):
        writer.write(HEAD + chunk(event("hello")))
        await writer.drain()
        return False

    async with Server(handler) as s:
        p = provider(s.url)
        try:
            partial, err = await until_error(p)
        finally:
            await p.aclose()
    assert partial == "hello" and err.kind == "connect" and err.started and "mid-stream" in str(err)


async def test_a_body_delimited_by_the_server_closing_arrives_whole_and_is_not_reused() -> None:
    """No Content-Length and no chunking (an HTTP/1.0-style server): the body ends when the server
    closes, and the connection is not reused."""
    async def handler(reader, writer, body):
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n" + event("a"))
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(event("b") + event(finish="stop") + b"data: [DONE]\n\n")
        await writer.drain()
        return False

    async with Server(handler) as s:
        p = provider(s.url)
        try:
            for _ in range(2):
                assert await text_of(p) == "ab"
        finally:
            await p.aclose()
    assert s.connections == 2


async def test_a_4_mb_answer_read_slowly_arrives_whole_and_the_connection_is_reused() -> None:
    """Megabytes while the consumer lags: the socket fills, reading resumes, nothing is lost, and
    the connection goes back to the pool after [DONE]."""
    part = "".join(chr(0x61 + i % 26) for i in range(64 * 1024))

    async def handler(reader, writer, body):
        writer.write(HEAD)
        for _ in range(64):
            writer.write(chunk(event(part)))
            await writer.drain()
        writer.write(ending())
        return True

    async with Server(handler) as s:
        p = provider(s.url)
        try:
            got = []
            async for ev in p.stream(request(max_tokens=1_000_000)):
                got.append(ev.text)
                await asyncio.sleep(0.001)
            assert "".join(got) == part * 64
            assert await text_of(p, request(max_tokens=1_000_000)) == part * 64
        finally:
            await p.aclose()
    assert s.connections == 1


async def test_a_6_mb_prompt_is_sent_whole() -> None:
    prompt = "x" * (6 << 20)

    async def handler(reader, writer, body):
        writer.write(answer("got it"))
        return True

    async with Server(handler) as s:
        p = provider(s.url)
        try:
            assert await text_of(p, request(prompt)) == "got it"
        finally:
            await p.aclose()
    assert json.loads(s.bodies[0])["messages"][0]["content"] == prompt


# --------------------------------------------------------------------------- proxies

async def test_a_proxy_from_the_environment_applies_to_a_hosted_provider(monkeypatch) -> None:
    async def handler(reader, writer, body):
        writer.write(answer("via proxy"))
        return True

    async with Server(handler) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        p = OpenAICompatProvider(ProviderSpec("hosted", "openai", "http://api.example.test/v1", api_key=KEY),
                                 timeouts=FAST)
        try:
            assert await text_of(p) == "via proxy"
        finally:
            await p.aclose()
    assert proxy.requests[0].startswith(b"POST http://api.example.test/v1/chat/completions HTTP/1.1\r\n")


async def test_no_proxy_and_local_servers_bypass_the_proxy(monkeypatch) -> None:
    """NO_PROXY is honoured, and a local server is never reached through a proxy, whatever the
    environment says."""
    async def handler(reader, writer, body):
        writer.write(answer("direct"))
        return True

    async with Server(handler) as proxy, Server(handler) as s:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        local = provider(s.url, local=True)
        try:
            assert await text_of(local) == "direct"
        finally:
            await local.aclose()
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        hosted = provider(s.url)
        try:
            assert await text_of(hosted) == "direct"
        finally:
            await hosted.aclose()
    assert proxy.requests == [] and len(s.requests) == 2


# --------------------------------------------------------------------------- trusted CAs

def self_signed(tmp_path: Path, name: str) -> tuple[Path, Path]:
    cert, key = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    f"/CN=kilo test {name}", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-addext", "basicConstraints=critical,CA:TRUE",
                    "-addext", "keyUsage=critical,keyCertSign,digitalSignature",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def server_tls(cert: Path, key: Path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


async def reaches(pool: ProviderPool, name: str) -> str:
    """"ok", or the kind of the error."""
    try:
        await text_of(pool.get(name))  # type: ignore[arg-type]
        return "ok"
    except ProviderError as exc:
        assert KEY not in str(exc)
        return exc.kind


@pytest.mark.skipif(not shutil.which("openssl"), reason="openssl CLI not available to make certificates")
async def test_a_ca_bundle_adds_to_the_default_roots_and_ssl_cert_file_is_honoured(tmp_path, monkeypatch) -> None:
    """Server "roots" has a certificate from the default trust (SSL_CERT_FILE stands in for the
    system's store), server "corp" one from the CA bundle (a proxy re-signing traffic)."""
    roots_cert, roots_key = self_signed(tmp_path, "roots")
    corp_cert, corp_key = self_signed(tmp_path, "corp")
    monkeypatch.setenv("SSL_CERT_FILE", str(roots_cert))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)

    async def handler(reader, writer, body):
        writer.write(answer("secure"))
        return True

    async with Server(handler, server_tls(roots_cert, roots_key)) as roots, \
            Server(handler, server_tls(corp_cert, corp_key)) as corp:
        specs = [ProviderSpec(name, "openai", s.url + "/v1", api_key=KEY) for name, s in
                 (("roots", roots), ("corp", corp))]

        async def outcomes(**kw: object) -> tuple[str, str]:
            pool = ProviderPool(specs, timeouts=FAST, **kw)  # type: ignore[arg-type]
            try:
                return await reaches(pool, "roots"), await reaches(pool, "corp")
            finally:
                await pool.aclose_all()

        assert await outcomes(ca_bundle=str(corp_cert)) == ("ok", "ok")
        assert await outcomes() == ("ok", "tls")
        assert await outcomes(ca_bundle=str(corp_cert), trust_env=False) == ("tls", "ok")
    assert len(corp.requests) == 2 and len(roots.requests) == 2   # never a request over a refused handshake
