"""Anthropic Messages API provider against the fake server over real HTTP on 127.0.0.1."""

from __future__ import annotations

import pytest

from kilo_lsp.providers.anthropic import CACHE_MIN_CHARS, AnthropicProvider, build_body
from kilo_lsp.providers.base import ChatMessage, ChatRequest, ProviderError, ProviderSpec, Timeouts, Usage

try:
    from tests.fake_provider import FakeProviderServer, Script, fake, fake_server  # noqa: F401
except ImportError:
    from fake_provider import FakeProviderServer, Script, fake, fake_server  # type: ignore[no-redef]  # noqa: F401

KEY = "sk-ant-api03.-0123456789abcdefSECRET"
FAST = Timeouts(connect=1.0, first_byte=2.0, idle=2.0, list_models=1.0)


def provider(fake: FakeProviderServer) -> AnthropicProvider:
    return AnthropicProvider(ProviderSpec("anthropic", "anthropic", fake.url(), api_key=KEY), timeouts=FAST)


def test_body_marks_system_and_long_context_for_caching() -> None:
    context = "def f():\n    pass\n" * (CACHE_MIN_CHARS // 10)
    req = ChatRequest("claude-x", [ChatMessage("system", "extra rule"), ChatMessage("user", context),
                                   ChatMessage("assistant", "ok"), ChatMessage("user", "now fix it")],
                      system="You are a coding assistant.", temperature=0.2)
    body = build_body(req)
    assert body["system"] == [{"type": "text", "text": "You are a coding assistant.\n\nextra rule",
                               "cache_control": {"type": "ephemeral"}}]
    assert [t["role"] for t in body["messages"]] == ["user", "assistant", "user"]
    assert body["messages"][0]["content"][0]["cache_control"] == {"type": "ephemeral"}
    assert "cache_control" not in body["messages"][2]["content"][0]      # the question itself
    assert body["max_tokens"] == 4096 and body["stream"] is True and body["temperature"] == 0.2


def test_body_merges_consecutive_roles_and_skips_short_marks() -> None:
    body = build_body(ChatRequest("m", [ChatMessage("user", "a"), ChatMessage("user", "b")], max_tokens=9))
    assert body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "a"},
                                                             {"type": "text", "text": "b"}]}]
    assert "system" not in body and body["max_tokens"] == 9


@pytest.mark.asyncio
async def test_stream_with_cache_tokens(fake: FakeProviderServer) -> None:
    # 1000 prompt tokens of which 800 read from the cache and 150 written to it
    fake.on("claude-x", Script(texts=("Hi", " there"), usage=(1000, 800, 7), cache_write=150))
    p = provider(fake)
    events = [ev async for ev in p.stream(ChatRequest("claude-x", [ChatMessage("user", "hi")], system="S"))]
    await p.aclose()
    assert "".join(e.text for e in events if e.type == "text") == "Hi there"
    assert events[-2].usage == Usage(input_tokens=1000, cached_input_tokens=800, output_tokens=7)
    assert events[-1].finish_reason == "stop"
    sent = fake.requests[-1]
    assert sent.path == "/v1/messages"
    assert sent.headers["x-api-key"] == KEY and sent.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in sent.headers
    assert sent.body["system"][0]["cache_control"] == {"type": "ephemeral"}


@pytest.mark.asyncio
async def test_max_tokens_maps_to_length(fake: FakeProviderServer) -> None:
    fake.on("claude-x", Script(finish_reason="length"))
    p = provider(fake)
    events = [ev async for ev in p.stream(ChatRequest("claude-x", [ChatMessage("user", "hi")]))]
    await p.aclose()
    assert events[-1].finish_reason == "length"


@pytest.mark.asyncio
async def test_error_event_mid_stream(fake: FakeProviderServer) -> None:
    fake.on("claude-x", Script(malformed='event: error\ndata: {"type": "error", "error": '
                                         '{"type": "overloaded_error", "message": "Overloaded"}}'))
    p = provider(fake)
    parts = []
    with pytest.raises(ProviderError) as err:
        async for ev in p.stream(ChatRequest("claude-x", [ChatMessage("user", "hi")])):
            parts.append(ev.text)
    await p.aclose()
    assert err.value.kind == "server" and err.value.started and "Overloaded" in str(err.value)
    assert "".join(parts) == "Hello"


@pytest.mark.asyncio
async def test_429_and_auth(fake: FakeProviderServer) -> None:
    fake.enqueue(Script(status=429, headers={"retry-after": "3"}),
                 Script(status=401, error_body={"type": "error", "error": {
                     "type": "authentication_error", "message": f"invalid x-api-key {KEY}"}}))
    p = provider(fake)
    req = ChatRequest("claude-x", [ChatMessage("user", "hi")])
    with pytest.raises(ProviderError) as first:
        [ev async for ev in p.stream(req)]
    with pytest.raises(ProviderError) as second:
        [ev async for ev in p.stream(req)]
    await p.aclose()
    assert first.value.kind == "rate_limit" and first.value.retry_after == 3.0
    assert second.value.kind == "auth" and KEY not in str(second.value) and "invalid x-api-key" in str(second.value)


@pytest.mark.asyncio
async def test_list_models(fake: FakeProviderServer) -> None:
    p = provider(fake)
    assert await p.list_models() == ["fake-small", "fake-large"]
    await p.aclose()
    assert fake.requests[-1].path.startswith("/v1/models") and fake.requests[-1].headers["x-api-key"] == KEY
