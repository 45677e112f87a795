"""kilo/complete, kilo/chunk, work-done progress, $/cancelRequest, kilo/usage and kilo/setCredentials
through a real sidecar process, against the fake provider and against a real local llama.cpp server."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig

from lsp_harness import SERVER_WITH_FORWARDING as SERVER, isolated_env, make_client, request

try:
    from tests.fake_provider import FakeProviderServer, Script, fake, fake_server, local_llm_url  # noqa: F401
except ImportError:
    from fake_provider import FakeProviderServer, Script, fake, fake_server, local_llm_url  # type: ignore[no-redef]  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.local_llm import ALIAS  # noqa: E402

ROUTER_KEY = "sk-or-v1-e2e.0000000000000000000KEY1"


@contextlib.asynccontextmanager
async def sidecar(home: Path, env: dict[str, str]):
    config = ClientServerConfig(server_command=[sys.executable, "-c", SERVER], client_factory=make_client,
                                server_env=isolated_env(home, env))
    client = await config.start()
    client.chunks = []
    client.feature("kilo/chunk")(lambda params: client.chunks.append(params))
    await client.initialize_session(types.InitializeParams(
        capabilities=pytest_lsp.client_capabilities("visual-studio-code"),
        client_info=types.ClientInfo(name="pytest-lsp", version="1.0")))
    try:
        yield client
    finally:
        await client.shutdown_session()
        await client.stop()


def fake_env(fake: FakeProviderServer) -> dict[str, str]:
    return {"OPENROUTER_API_KEY": ROUTER_KEY, "KILO_OPENROUTER_BASE_URL": fake.url("")}


async def test_complete_streams_chunks_progress_and_records_usage(fake, tmp_path) -> None:
    # deltas 30 ms apart: each is written out on its own (deltas that arrive together are joined)
    fake.enqueue(Script(chunk_delay=0.03))
    async with sidecar(tmp_path, fake_env(fake)) as client:
        client.progress_reports["tok-1"] = []
        result = await request(client, "kilo/complete", {
            "text": "rename foo to bar in utils.py", "conversationId": "e2e", "workDoneToken": "tok-1",
            "maxTokens": 100})
        assert result["text"] == "Hello, world!" and result["provider"] == "openrouter"
        assert result["usage"] == {"inputTokens": 12, "cachedInputTokens": 0, "outputTokens": 4, "estimated": False}
        assert result["card"]["decisionId"] == result["decisionId"] and result["attempts"][0]["outcome"] == "ok"
        assert [c["text"] for c in client.chunks] == ["Hello", ", ", "world", "!"]
        assert [c["seq"] for c in client.chunks] == [0, 1, 2, 3]
        assert {c["streamId"] for c in client.chunks} == {result["streamId"]}
        kinds = [r.kind for r in client.progress_reports["tok-1"]]
        assert kinds[0] == "begin" and kinds[-1] == "end"
        sent = fake.requests[-1]
        assert sent.path == "/chat/completions" and sent.headers["authorization"] == f"Bearer {ROUTER_KEY}"
        assert sent.body["model"] == result["providerModelId"]
        usage = await request(client, "kilo/usage", {})
        # kilo/usage reports costs rounded to the micro-dollar
        assert usage["requests"] == 1 and usage["costUsd"] == pytest.approx(result["costUsd"], abs=1e-6)
        assert usage["models"][result["model"]]["share"] == 1.0
    assert (tmp_path / "data" / "kilo-lsp" / "ledger.sqlite3").exists()


async def test_cancel_request_closes_the_upstream_stream(fake, tmp_path) -> None:
    fake.enqueue(Script(endless=True))
    async with sidecar(tmp_path, fake_env(fake)) as client:
        task = asyncio.create_task(client.protocol.send_request_async(
            "kilo/complete", {"text": "explain this function"}, msg_id=77))
        for _ in range(100):
            if client.chunks:
                break
            await asyncio.sleep(0.05)
        assert client.chunks, "no chunk arrived"
        client.cancel_request(types.CancelParams(id=77))
        with pytest.raises(Exception) as err:
            await asyncio.wait_for(task, 5)
        assert "cancel" in str(err.value).lower()
        assert await asyncio.to_thread(fake.client_closed.wait, 3.0), "the upstream stream stayed open"
        usage = await request(client, "kilo/usage", {})
        assert usage["outcomes"] == {"cancelled": 1}


async def test_no_model_is_an_error_with_reasons_and_set_credentials_masks(fake, tmp_path) -> None:
    async with sidecar(tmp_path, {"KILO_OPENROUTER_BASE_URL": fake.url("")}) as client:
        with pytest.raises(Exception) as err:
            await request(client, "kilo/complete", {"text": "rename foo to bar"})
        assert "No model can be called" in str(err.value)
        creds = await request(client, "kilo/setCredentials", {"provider": "openrouter", "apiKey": ROUTER_KEY})
        assert creds["apiKey"] == "sk-…KEY1" and creds["callableModels"] > 0
        result = await request(client, "kilo/complete", {"text": "rename foo to bar"})
        assert result["text"] == "Hello, world!"
        assert fake.requests[-1].headers["authorization"] == f"Bearer {ROUTER_KEY}"
        with pytest.raises(Exception):
            await request(client, "kilo/setCredentials", {"provider": "ollama", "apiKey": "x"})


async def test_real_local_model_answers_through_the_sidecar(tmp_path, local_llm_url) -> None:
    base_url = local_llm_url
    cfg = tmp_path / "config" / "kilo-lsp"
    cfg.mkdir(parents=True)
    (cfg / "config.toml").write_text(f'[local]\nendpoints = ["{base_url}"]\nollama_url = ""\nlmstudio_url = ""\n')
    async with sidecar(tmp_path, {"KILO_LOCAL_DISCOVER": "1"}) as client:
        card = None
        for _ in range(50):      # discovery runs after initialize
            card = await request(client, "kilo/route", {"text": "What is 2+2?", "dryRun": True})
            if card["callable"]:
                break
            await asyncio.sleep(0.1)
        assert card and card["callable"] and card["model"].endswith(ALIAS)
        result = await request(client, "kilo/complete", {
            "text": "What is 2+2? Answer with a number only.", "maxTokens": 16, "temperature": 0})
        assert result["text"].strip() and client.chunks
        assert result["usage"]["outputTokens"] >= 1 and not result["usage"]["estimated"]
        assert result["costUsd"] == 0 and result["balancedCostUsd"] > 0
        print(f"\nlocal via sidecar: {result['text']!r} ttft {result['ttftMs']} ms total {result['totalMs']} ms")
