"""Known providers, the provider pool (lazy clients, cool-downs, key routing) and local discovery."""

from __future__ import annotations

import ssl

import pytest

from kilo_lsp.providers.anthropic import AnthropicProvider
from kilo_lsp.providers.base import ChatMessage, ChatRequest, ProviderError, ProviderSpec, Timeouts
from kilo_lsp.providers.openai_compat import OpenAICompatProvider
from kilo_lsp.providers.registry import KNOWN, ProviderPool, discover_local, make_ssl_context, spec_from_env

try:
    from tests.fake_provider import FakeProviderServer, Script, fake, fake_server  # noqa: F401
except ImportError:
    from fake_provider import FakeProviderServer, Script, fake, fake_server  # type: ignore[no-redef]  # noqa: F401

FAST = Timeouts(connect=1.0, first_byte=2.0, idle=2.0, list_models=1.0)


def test_known_table() -> None:
    for name in ("openai", "anthropic", "openrouter", "kilo", "google", "deepseek", "mistral", "groq", "zai",
                 "moonshot", "minimax", "qwen", "lmstudio", "ollama"):
        assert name in KNOWN
    assert KNOWN["anthropic"].kind == "anthropic" and KNOWN["openai"].key_env == "OPENAI_API_KEY"
    assert KNOWN["ollama"].local and KNOWN["ollama"].key_env is None
    assert all(p.base_url.startswith("https://") for p in KNOWN.values() if not p.local)
    assert all(p.base_url.startswith("http://127.0.0.1") for p in KNOWN.values() if p.local)


def test_spec_from_env_and_masked_repr() -> None:
    spec = spec_from_env("openai", {"OPENAI_API_KEY": "sk-proj-very.longsecretvalue9876"})
    assert spec.api_key == "sk-proj-very.longsecretvalue9876" and spec.base_url == "https://api.openai.com/v1"
    assert "longsecretvalue" not in repr(spec) and "…9876" in repr(spec)
    assert spec_from_env("openai", {}).api_key is None
    assert spec_from_env("ollama", {}).local


def test_the_shared_tls_context_verifies_certificates_and_host_names() -> None:
    """What a CA bundle adds to it is tested against real TLS servers in test_provider_transport.py."""
    ctx = make_ssl_context(None)
    assert isinstance(ctx, ssl.SSLContext) and ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname


@pytest.mark.asyncio
async def test_pool_builds_lazily_and_keys_go_only_to_their_own_base_url(fake: FakeProviderServer) -> None:
    # two providers on the same fake server, told apart by path prefix
    a = ProviderSpec("alpha", "openai", fake.url("/v1"), api_key="sk-alpha-aaa.aaaaaaaaaaaaa1111")
    b = ProviderSpec("beta", "anthropic", fake.url(), api_key="sk-beta-bbbb.bbbbbbbbbbbbb2222")
    pool = ProviderPool([a, b], timeouts=FAST)
    assert pool._providers == {}                                  # nothing built at start-up
    pa, pb = pool.get("alpha"), pool.get("beta")
    assert isinstance(pa, OpenAICompatProvider) and isinstance(pb, AnthropicProvider)
    assert pool.get("alpha") is pa
    req = ChatRequest("fake-small", [ChatMessage("user", "hi")])
    [ev async for ev in pa.stream(req)]
    [ev async for ev in pb.stream(req)]
    await pool.aclose_all()
    by_path = {r.path: r.headers for r in fake.requests}
    assert by_path["/v1/chat/completions"]["authorization"] == "Bearer sk-alpha-aaa.aaaaaaaaaaaaa1111"
    assert "x-api-key" not in by_path["/v1/chat/completions"]
    assert by_path["/v1/messages"]["x-api-key"] == "sk-beta-bbbb.bbbbbbbbbbbbb2222"
    assert "authorization" not in by_path["/v1/messages"]
    with pytest.raises(ProviderError) as err:
        pool.get("nope")
    assert err.value.kind == "client"


@pytest.mark.asyncio
async def test_set_spec_replaces_client_and_ends_cooldown(fake: FakeProviderServer) -> None:
    pool = ProviderPool([ProviderSpec("p", "openai", fake.url("/v1"), api_key="old-key-xxxxxxxxxxxx")], timeouts=FAST)
    old = pool.get("p")
    pool.mark_failure("p", ProviderError("auth", "refused"))
    assert pool.is_cooling("p")
    await pool.set_spec(ProviderSpec("p", "openai", fake.url("/v1"), api_key="new-key-yyyyyyyyyyyy"))
    assert not pool.is_cooling("p") and pool.get("p") is not old
    await pool.aclose_all()


def test_cooldown_exponential_capped_and_retry_after() -> None:
    now = [1000.0]
    pool = ProviderPool([ProviderSpec("p", "openai", "https://example.invalid/v1")], cooldown_base=1.0,
                        cooldown_cap=8.0, retry_after_cap=60.0, clock=lambda: now[0])
    assert [pool.mark_failure("p", ProviderError("server", "x")) for _ in range(5)] == [1, 2, 4, 8, 8]
    assert pool.is_cooling("p") and pool.cooldown_remaining("p") == pytest.approx(8.0)
    now[0] += 8.01
    assert not pool.is_cooling("p")
    pool.mark_success("p")
    assert pool.mark_failure("p", ProviderError("rate_limit", "x", retry_after=30)) == 30
    assert pool.cooling()["p"]["reason"] == "rate_limit"
    assert pool.mark_failure("p", ProviderError("rate_limit", "x", retry_after=3600)) == 60   # capped
    pool.mark_success("p")
    assert pool.mark_failure("p", ProviderError("client", "bad request")) == 0 and not pool.is_cooling("p")
    assert pool.mark_failure("p", ProviderError("auth", "refused")) == 8.0


@pytest.mark.asyncio
async def test_discover_local_never_raises(fake: FakeProviderServer) -> None:
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    dead = f"http://127.0.0.1:{s.getsockname()[1]}/v1"
    s.close()
    found = await discover_local([fake.url("/v1"), dead, "http://256.0.0.1/v1", fake.url("/nothing")])
    assert found == {fake.url("/v1"): ["fake-small", "fake-large"]}
    assert "authorization" not in fake.requests[0].headers
    assert await discover_local([]) == {}


def _self_signed(tmp_path):
    import subprocess
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key),
                    "-out", str(cert)], check=True, capture_output=True)
    return cert, key


@pytest.mark.asyncio
async def test_tls_failure_is_tls_and_a_ca_bundle_fixes_it(tmp_path) -> None:
    import shutil
    if not shutil.which("openssl"):
        pytest.skip("openssl CLI not available to make a self-signed certificate")
    try:
        from tests.fake_provider import FakeProviderServer as Server
    except ImportError:
        from fake_provider import FakeProviderServer as Server  # type: ignore[no-redef]
    cert, key = _self_signed(tmp_path)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    server = Server(tls=ctx).start()
    try:
        spec = ProviderSpec("corp", "openai", server.url("/v1"), api_key="sk-corp-cccc.cccccccccccc3333")
        req = ChatRequest("fake-small", [ChatMessage("user", "hi")])
        pool = ProviderPool([spec], timeouts=FAST, trust_env=False)   # like a proxy re-signing traffic
        with pytest.raises(ProviderError) as err:
            [ev async for ev in pool.get("corp").stream(req)]
        assert err.value.kind == "tls" and err.value.retryable and "cccc3333" not in str(err.value)
        await pool.aclose_all()
        assert server.requests == []                 # the key never left over an unverified connection
        pool = ProviderPool([spec], timeouts=FAST, ca_bundle=str(cert))
        events = [ev async for ev in pool.get("corp").stream(req)]
        await pool.aclose_all()
        assert "".join(e.text for e in events if e.type == "text") == "Hello, world!"
        assert server.requests[-1].headers["authorization"] == "Bearer sk-corp-cccc.cccccccccccc3333"
    finally:
        server.stop()
