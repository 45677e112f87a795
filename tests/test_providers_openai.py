"""OpenAI-compatible provider against the fake server over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest

from kilo_lsp.providers.base import ChatMessage, ChatRequest, ProviderError, ProviderSpec, StreamEvent, Timeouts, Usage
from kilo_lsp.providers.openai_compat import OpenAICompatProvider

try:
    from tests.fake_provider import FakeProviderServer, Script, fake, fake_server  # noqa: F401
except ImportError:  # tests/ is not a package: pytest put tests/ itself on sys.path
    from fake_provider import FakeProviderServer, Script, fake, fake_server  # type: ignore[no-redef]  # noqa: F401

KEY = "sk-test-0123.456789abcdefSECRET"
FAST = Timeouts(connect=1.0, first_byte=2.0, idle=2.0, list_models=1.0)


def provider(fake: FakeProviderServer, timeouts: Timeouts = FAST, **kw) -> OpenAICompatProvider:
    spec = ProviderSpec("fakeai", "openai", fake.url("/v1"), api_key=KEY, extra_headers={"X-Title": "kilo-lsp"})
    return OpenAICompatProvider(spec, timeouts=timeouts, **kw)


def request(model: str = "fake-small", **kw) -> ChatRequest:
    return ChatRequest(model, [ChatMessage("user", "Say hello")], system="Be brief.", **kw)


async def collect(p: OpenAICompatProvider, req: ChatRequest) -> tuple[str, list[StreamEvent]]:
    events = [ev async for ev in p.stream(req)]
    return "".join(e.text for e in events if e.type == "text"), events


async def run_until_error(p: OpenAICompatProvider, req: ChatRequest) -> tuple[str, ProviderError]:
    """What a caller does: keep the partial text, catch the error."""
    parts: list[str] = []
    with pytest.raises(ProviderError) as err:
        async for ev in p.stream(req):
            if ev.type == "text":
                parts.append(ev.text)
    return "".join(parts), err.value


@pytest.mark.asyncio
async def test_normal_stream_with_usage_and_what_was_sent(fake: FakeProviderServer) -> None:
    fake.on("fake-small", Script(texts=("Hel", "lo", "!"), usage=(30, 10, 3)))
    p = provider(fake)
    text, events = await collect(p, request(max_tokens=16, temperature=0))
    await p.aclose()
    assert text == "Hello!"
    assert [e.type for e in events][-2:] == ["usage", "finish"]
    assert events[-2].usage == Usage(30, 10, 3, estimated=False)
    assert events[-1].finish_reason == "stop"
    sent = fake.requests[-1]
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.headers["x-title"] == "kilo-lsp"
    assert sent.body["stream"] is True and sent.body["stream_options"] == {"include_usage": True}
    assert sent.body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert sent.body["max_tokens"] == 16 and sent.body["temperature"] == 0


@pytest.mark.asyncio
async def test_connection_is_reused_after_a_complete_stream(fake: FakeProviderServer) -> None:
    fake.on("fake-small", Script(texts=("a", "b"), usage=(5, 0, 2)))
    p = provider(fake)
    for _ in range(3):
        text, _events = await collect(p, request())
        assert text == "ab"
    await p.aclose()
    ports = {r.peer_port for r in fake.requests[-3:]}
    assert len(ports) == 1, f"each request opened a new connection: {ports}"


@pytest.mark.asyncio
async def test_deltas_of_one_network_read_become_one_event(fake: FakeProviderServer) -> None:
    fake.on("fake-small", Script(texts=("tok ",) * 50, usage=(5, 0, 50), one_write=True))
    p = provider(fake)
    text, events = await collect(p, request())
    await p.aclose()
    assert text == "tok " * 50
    texts = [e for e in events if e.type == "text"]
    assert 1 <= len(texts) < 50   # merged, not one event per token


@pytest.mark.asyncio
async def test_stream_split_into_tiny_network_chunks(fake: FakeProviderServer) -> None:
    fake.on("fake-small", Script(texts=("caf\u00e9 ", "\u2713"), split_bytes=7))
    p = provider(fake)
    text, _ = await collect(p, request())
    await p.aclose()
    assert text == "caf\u00e9 \u2713"


@pytest.mark.asyncio
async def test_missing_usage_is_estimated(fake: FakeProviderServer) -> None:
    fake.on("fake-small", Script(texts=("abcdefgh",), usage=None))
    p = provider(fake)
    _, events = await collect(p, request())
    await p.aclose()
    usage = events[-2].usage
    assert usage is not None and usage.estimated and usage.output_tokens == 2 and usage.input_tokens > 0


@pytest.mark.asyncio
async def test_json_body_instead_of_stream(fake: FakeProviderServer) -> None:
    fake.on("fake-small", Script(texts=("whole",), json_body=True, usage=(5, 0, 1)))
    p = provider(fake)
    text, events = await collect(p, request())
    await p.aclose()
    assert text == "whole" and events[-2].usage == Usage(5, 0, 1)


@pytest.mark.asyncio
@pytest.mark.parametrize("retry_after, expected", [("7", 7.0), (None, None), ("HTTPDATE", 30.0)])
async def test_429_rate_limit_with_retry_after(fake: FakeProviderServer, retry_after, expected) -> None:
    headers = {}
    if retry_after == "HTTPDATE":
        from email.utils import formatdate
        headers["Retry-After"] = formatdate(time.time() + 30, usegmt=True)
    elif retry_after:
        headers["Retry-After"] = retry_after
    fake.on("fake-small", Script(status=429, headers=headers))
    p = provider(fake)
    _, err = await run_until_error(p, request())
    await p.aclose()
    assert err.kind == "rate_limit" and err.status == 429 and err.retryable and not err.started
    if expected is None:
        assert err.retry_after is None
    else:
        assert err.retry_after == pytest.approx(expected, abs=1.5)


@pytest.mark.asyncio
@pytest.mark.parametrize("status, kind, retryable", [
    (500, "server", True), (503, "server", True), (401, "auth", True), (403, "auth", True),
    (400, "client", False), (404, "client", True)])
async def test_http_errors_are_mapped(fake: FakeProviderServer, status, kind, retryable) -> None:
    fake.on("fake-small", Script(status=status))
    p = provider(fake)
    _, err = await run_until_error(p, request())
    await p.aclose()
    assert (err.kind, err.status, err.retryable) == (kind, status, retryable)
    assert f"scripted {status}" in str(err)


@pytest.mark.asyncio
async def test_key_echoed_by_server_never_reaches_error_text(fake: FakeProviderServer) -> None:
    fake.on("fake-small", Script(status=401, error_body={"error": {"message": f"Incorrect API key provided: {KEY}"}}))
    p = provider(fake)
    _, err = await run_until_error(p, request())
    await p.aclose()
    for text in (str(err), repr(err), err.message, repr(p.spec), str(err.to_dict())):
        assert KEY not in text
        assert "SECRET" not in text
    assert "…CRET" in str(err)               # masked to its last four characters at most
    assert "sk-…CRET" in repr(p.spec)


@pytest.mark.asyncio
async def test_slow_first_byte_times_out(fake: FakeProviderServer) -> None:
    fake.on("fake-small", Script(first_byte_delay=1.0))
    p = provider(fake, Timeouts(connect=1.0, first_byte=0.3, idle=2.0))
    t0 = time.monotonic()
    _, err = await run_until_error(p, request())
    elapsed = time.monotonic() - t0
    await p.aclose()
    assert err.kind == "timeout" and err.retryable and not err.started
    assert elapsed < 0.9


@pytest.mark.asyncio
async def test_stalled_stream_hits_the_idle_timeout(fake: FakeProviderServer) -> None:
    fake.on("fake-small", Script(texts=("a", "b", "c"), chunk_delay=1.0))
    p = provider(fake, Timeouts(connect=1.0, first_byte=2.0, idle=0.3))
    partial, err = await run_until_error(p, request())
    await p.aclose()
    assert err.kind == "timeout" and err.started and partial == "a"
    assert "stalled" in str(err)


@pytest.mark.asyncio
async def test_disconnect_mid_stream_keeps_partial_text(fake: FakeProviderServer) -> None:
    fake.on("fake-small", Script(texts=("one ", "two ", "three"), disconnect_after=2))
    p = provider(fake)
    partial, err = await run_until_error(p, request())
    await p.aclose()
    assert partial == "one two "
    assert err.kind == "connect" and err.started     # after the first token: no silent switch


@pytest.mark.asyncio
async def test_malformed_sse_line_is_a_protocol_error(fake: FakeProviderServer) -> None:
    fake.on("fake-small", Script(malformed='data: {"choices": [oops'))
    p = provider(fake)
    partial, err = await run_until_error(p, request())
    await p.aclose()
    assert partial == "Hello" and err.kind == "protocol" and err.started
    assert "not JSON" in str(err)


@pytest.mark.asyncio
async def test_oversized_chunk_is_refused(fake: FakeProviderServer) -> None:
    fake.on("fake-small", Script(oversized=300_000))
    p = provider(fake, max_line=64 * 1024)
    _, err = await run_until_error(p, request())
    await p.aclose()
    assert err.kind == "protocol" and "longer than" in str(err)


@pytest.mark.asyncio
async def test_closing_the_stream_closes_upstream(fake: FakeProviderServer) -> None:
    fake.on("fake-small", Script(endless=True))
    p = provider(fake)
    agen = p.stream(request())
    got = []
    async for ev in agen:
        if ev.type == "text":
            got.append(ev.text)
            if len(got) == 3:
                break
    await agen.aclose()                      # what `async with aclosing(...)` does
    assert await asyncio.to_thread(fake.client_closed.wait, 3.0), "server never saw the connection close"
    await p.aclose()


@pytest.mark.asyncio
async def test_cancelling_the_consumer_closes_upstream(fake: FakeProviderServer) -> None:
    fake.on("fake-small", Script(endless=True))
    p = provider(fake)
    first = asyncio.Event()

    async def consume() -> None:
        async with contextlib.aclosing(p.stream(request())) as agen:
            async for ev in agen:
                if ev.type == "text":
                    first.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first.wait(), 3)
    t0 = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - t0 < 0.5
    assert await asyncio.to_thread(fake.client_closed.wait, 3.0), "server never saw the connection close"
    await p.aclose()


@pytest.mark.asyncio
async def test_connection_refused_is_connect(fake: FakeProviderServer) -> None:
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    p = OpenAICompatProvider(ProviderSpec("gone", "openai", f"http://127.0.0.1:{port}/v1", api_key=KEY),
                             timeouts=FAST)
    _, err = await run_until_error(p, request())
    await p.aclose()
    assert err.kind == "connect" and err.retryable and KEY not in str(err)


@pytest.mark.asyncio
async def test_list_models_and_client_reuse(fake: FakeProviderServer) -> None:
    p = provider(fake)
    assert await p.list_models() == ["fake-small", "fake-large"]
    client = p.client()
    await collect(p, request())
    assert p.client() is client              # one pooled client per provider
    await p.aclose()
    assert fake.requests[0].path == "/v1/models"
    assert fake.requests[0].headers["authorization"] == f"Bearer {KEY}"


@pytest.mark.asyncio
async def test_no_key_sends_no_authorization(fake: FakeProviderServer) -> None:
    p = OpenAICompatProvider(ProviderSpec("local", "openai", fake.url("/v1"), local=True), timeouts=FAST)
    await collect(p, request())
    await p.aclose()
    assert "authorization" not in fake.requests[-1].headers


def test_openai_reasoning_models_get_max_completion_tokens() -> None:
    official = OpenAICompatProvider(ProviderSpec("openai", "openai", "https://api.openai.com/v1", api_key=KEY))
    other = OpenAICompatProvider(ProviderSpec("groq", "openai", "https://api.groq.com/openai/v1", api_key=KEY))
    _, body, _ = official._build(ChatRequest("gpt-5-mini", [ChatMessage("user", "x")], max_tokens=5, temperature=0))
    assert body["max_completion_tokens"] == 5 and "max_tokens" not in body and "temperature" not in body
    _, body, _ = official._build(ChatRequest("gpt-4.1", [ChatMessage("user", "x")], temperature=0.3))
    assert body["temperature"] == 0.3
    _, body, _ = other._build(ChatRequest("llama-3.3-70b", [ChatMessage("user", "x")], max_tokens=5, temperature=0))
    assert body["max_tokens"] == 5 and body["temperature"] == 0


@pytest.mark.asyncio
async def test_wrong_event_shape_is_a_protocol_error(fake: FakeProviderServer) -> None:
    fake.on("fake-small", Script(malformed='data: {"choices": ["not-an-object"]}'))
    p = provider(fake)
    partial, err = await run_until_error(p, request())
    await p.aclose()
    assert partial == "Hello" and err.kind == "protocol" and "shape" in str(err)


@pytest.mark.asyncio
async def test_error_object_inside_a_200_stream(fake: FakeProviderServer) -> None:
    fake.on("fake-small", Script(malformed='data: {"error": {"code": 502, "message": "upstream died"}}'))
    p = provider(fake)
    partial, err = await run_until_error(p, request())
    await p.aclose()
    assert err.kind == "server" and err.status == 502 and err.started and "upstream died" in str(err)


@pytest.mark.asyncio
async def test_endless_stream_is_cut_past_max_tokens(fake: FakeProviderServer) -> None:
    fake.on("fake-small", Script(endless=True))
    p = provider(fake)
    t0 = time.monotonic()
    text, events = await collect(p, request(max_tokens=16))
    await p.aclose()
    assert events[-1].finish_reason == "length" and events[-2].usage.estimated
    assert len([e for e in events if e.type == "text"]) == 2 * 16 + 16 + 1
    assert time.monotonic() - t0 < 3
    assert await asyncio.to_thread(fake.client_closed.wait, 3.0), "the upstream stream stayed open"
