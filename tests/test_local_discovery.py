"""Local model servers that start late, stop or restart are found while the sidecar runs; a request
waits for a probe under way; kilo/serverStatus, `kilo-lsp --check` and the no-model error say what the
local servers answered, in the editor's own words.

The local server is the fake provider (tests/fake_provider.py) on a fixed port of 127.0.0.1, started
and stopped by the test; the sidecar is a real process driven by pytest-lsp.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from lsprotocol.types import DidChangeConfigurationParams

from kilo_lsp.leaderboard.model import Model, Prices
from kilo_lsp.providers.discovery import LocalDiscovery
from kilo_lsp.providers.local import LocalServer
from lsp_harness import isolated_env, request, sidecar

try:
    from tests.fake_provider import FakeProviderServer
except ImportError:
    from fake_provider import FakeProviderServer  # type: ignore[no-redef]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def local_only(url: str) -> dict:
    return {"local": {"endpoints": [url], "ollamaUrl": "", "lmstudioUrl": ""}}


def model(mid: str) -> Model:
    return Model(id=mid, name=mid, maker="local", prices=Prices(0, 0, 0), context_window=8192, free=True,
                 local=True, routes={"local:x": mid})


# -- LocalDiscovery on its own -----------------------------------------------------------------

async def test_probes_back_off_while_nothing_changes_and_a_poke_probes_at_once() -> None:
    times: list[float] = []
    answers = [[], [], [], [model("a")], [model("a")], [model("a")], [model("a")]]

    async def probe():
        times.append(time.monotonic())
        found = answers[min(len(times) - 1, len(answers) - 1)]
        return [LocalServer("local:x", "http://127.0.0.1:1/v1", bool(found), [m.id for m in found])], found

    changes: list[list[str]] = []
    d = LocalDiscovery(probe, lambda ms: changes.append([m.id for m in ms]), base=0.05, cap=0.4)
    d.start()
    assert d.probing
    await asyncio.sleep(0.9)
    gaps = [round(b - a, 2) for a, b in zip(times, times[1:])]
    # 0.05, 0.1, 0.2 (a wait is never shorter; a busy machine may make it longer), then the models
    # change and the backoff starts afresh
    assert gaps[0] >= 0.045 and gaps[1] >= 0.095 and gaps[2] >= 0.195, gaps
    assert gaps[1] > 1.5 * gaps[0] and gaps[2] > 1.5 * gaps[1], gaps
    assert gaps[3] < gaps[2] / 2, gaps
    assert changes == [["a"]] and [m.id for m in d.models] == ["a"]
    n = len(times)
    d.poke()
    await asyncio.sleep(0.02)
    assert len(times) == n + 1, "a poke probes at once"
    await d.stop()
    assert not d.running


async def test_settled_waits_for_the_probe_under_way_and_refresh_for_a_new_one() -> None:
    release = asyncio.Event()
    calls = 0

    async def probe():
        nonlocal calls
        calls += 1
        if calls == 1:
            await release.wait()                 # the first probe is slow
        found = [model("a")] if calls >= 2 else []
        return [], found

    d = LocalDiscovery(probe, lambda ms: None, base=10.0, cap=10.0)
    d.start()
    assert not await d.settled(0.05), "the first probe is still under way"
    release.set()
    assert await d.settled(1.0) and d.finished == 1 and d.models == []
    assert await d.refresh(1.0) is True and [m.id for m in d.models] == ["a"]
    assert await d.refresh(1.0) is False and calls == 3
    await d.stop()


# -- through the sidecar -----------------------------------------------------------------------

async def test_a_local_server_started_after_the_sidecar_is_found_without_a_settings_change(tmp_path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1"
    async with sidecar(tmp_path, env={"KILO_LOCAL_DISCOVER": "1"}, configuration={"": local_only(url)}) as client:
        status = await request(client, "kilo/serverStatus", {})
        for _ in range(50):
            if status["localDiscovery"] != "starting":
                break
            await asyncio.sleep(0.05)
            status = await request(client, "kilo/serverStatus", {})
        assert status["localServers"] == [{"name": f"local:127.0.0.1:{port}", "url": url, "reachable": False,
                                           "models": []}]
        card = await request(client, "kilo/route", {"text": "explain this function", "tier": "free", "dryRun": True})
        assert not card["callable"]
        server = FakeProviderServer(port=port).start()
        try:
            started = time.monotonic()
            for _ in range(100):         # probes 1, 2, 4 s after start-up: found within a few seconds
                card = await request(client, "kilo/route", {"text": "explain this function", "tier": "free",
                                                            "dryRun": True})
                if card["callable"]:
                    break
                await asyncio.sleep(0.1)
            found_after = time.monotonic() - started
            assert card["callable"] and card["model"].startswith(f"local:127.0.0.1:{port}/"), card["reason"]
            assert found_after < 8.5, found_after
            print(f"\nlocal server started late: found {found_after:.1f} s after it started")
            status = await request(client, "kilo/serverStatus", {})
            assert status["localServers"][0]["reachable"] and status["localServers"][0]["models"] == server.models
        finally:
            server.stop()


async def test_a_request_right_after_start_up_waits_for_the_probe_under_way(tmp_path) -> None:
    server = FakeProviderServer()
    server.models_delay = 0.25                   # the server is slow to list its models
    server.start()
    try:
        url = server.url("/v1")
        async with sidecar(tmp_path, env={"KILO_LOCAL_DISCOVER": "1"},
                           configuration={"": {**local_only(url), "routing": {"tier": "free"}}}) as client:
            result = await request(client, "kilo/complete", {"text": "say hello", "maxTokens": 16})
            assert result["text"] == "Hello, world!" and result["provider"] == f"local:127.0.0.1:{server.port}"
    finally:
        server.stop()


async def test_a_stopped_then_restarted_server_is_probed_again_on_a_failed_call(tmp_path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1"
    server = FakeProviderServer(port=port).start()
    init = {"editorCommands": {"setKey": ":KiloSetKey", "settings": "require('kilo').setup({ settings = ... })"}}
    try:
        async with sidecar(tmp_path, env={"KILO_LOCAL_DISCOVER": "1"}, init_options=init,
                           configuration={"": {**local_only(url), "routing": {"tier": "free"}}}) as client:
            first = await request(client, "kilo/complete", {"text": "say hello", "maxTokens": 16})
            assert first["provider"] == f"local:127.0.0.1:{port}"
            server.stop()
            with pytest.raises(Exception) as err:
                await request(client, "kilo/complete", {"text": "say hello", "maxTokens": 16})
            message = str(err.value)
            # the failed call had the servers probed again: nothing answers now, and the text says so
            assert "No model can be called" in message and ":KiloSetKey" in message and url in message
            assert "kilo/setCredentials" not in message
            status = await request(client, "kilo/serverStatus", {})
            assert status["localServers"][0]["reachable"] is False and status["callableModels"] == 0
            server = FakeProviderServer(port=port).start()   # restarted: the next request finds it at once
            began = time.monotonic()
            again = await request(client, "kilo/complete", {"text": "say hello", "maxTokens": 16})
            assert again["text"] == "Hello, world!" and time.monotonic() - began < 2.0
    finally:
        server.stop()


async def test_server_status_lists_the_providers_that_take_keys(tmp_path) -> None:
    async with sidecar(tmp_path, env={"ANTHROPIC_API_KEY": "sk-ant-" "test-0000000000000000000KEY"}) as client:
        status = await request(client, "kilo/serverStatus", None)
        names = [p["name"] for p in status["providers"]]
        assert "ollama" not in names and "lmstudio" not in names
        assert {"openai", "anthropic", "openrouter", "kilo", "google", "deepseek", "mistral", "groq", "xai", "zai",
                "moonshot", "minimax", "qwen"} == set(names)
        by = {p["name"]: p for p in status["providers"]}
        assert by["anthropic"]["keySet"] and by["anthropic"]["keySource"] == "env"
        assert by["openai"] == {"name": "openai", "label": "OpenAI", "keyEnv": "OPENAI_API_KEY", "keySet": False,
                                "keySource": None}
        assert status["localDiscovery"] == "off" and status["settingsProblems"] == []
        for name in names:        # every provider offered is one kilo/setCredentials takes
            creds = await request(client, "kilo/setCredentials", {"provider": name, "apiKey": "sk-test-000000000KEY"})
            assert creds["provider"] == name
        status = await request(client, "kilo/serverStatus", {})
        assert {p["keySource"] for p in status["providers"]} == {"editor"}
        assert "sk-test-000000000KEY" not in str(status)


async def test_a_settings_problem_is_shown_once_while_it_lasts(tmp_path) -> None:
    async with sidecar(tmp_path) as client:
        def shown() -> list[str]:
            return [m.message for m in client.messages if "routing.tier" in m.message]

        bad = {"routing": {"tier": "gold", "pin": "gpt-5-mini"}}
        for _ in range(2):
            client.set_configuration(bad, section="kilo")
            client.workspace_did_change_configuration(DidChangeConfigurationParams(settings={"kilo": bad}))
            await asyncio.sleep(0.5)
        assert len(shown()) == 1 and "'gold'" in shown()[0] and "keeping 'efficient' (the default)" in shown()[0]
        status = await request(client, "kilo/serverStatus", {})
        assert len(status["settingsProblems"]) == 1 and "'gold'" in status["settingsProblems"][0]
        card = await request(client, "kilo/route", {"text": "rename foo to bar"})
        assert card["reasonCode"] == "pinned", "the good value next to the bad one is in force"
        client.set_configuration({"routing": {"tier": "frontier"}}, section="kilo")
        client.workspace_did_change_configuration(DidChangeConfigurationParams(settings={"kilo": {"routing": {"tier": "frontier"}}}))
        await asyncio.sleep(0.5)
        assert (await request(client, "kilo/serverStatus", {}))["settingsProblems"] == []
        client.set_configuration(bad, section="kilo")
        client.workspace_did_change_configuration(DidChangeConfigurationParams(settings={"kilo": bad}))
        await asyncio.sleep(0.5)
        assert len(shown()) == 2, "made again after a fix, it is shown again"


def test_check_lists_the_local_models(tmp_path) -> None:
    server = FakeProviderServer().start()
    try:
        cfg = tmp_path / "config" / "kilo-lsp"
        cfg.mkdir(parents=True)
        (cfg / "config.toml").write_text(f'[local]\nendpoints = ["{server.url("/v1")}"]\nlmstudio_url = ""\n')
        env = isolated_env(tmp_path, {"KILO_LOCAL_DISCOVER": "1"})
        out = subprocess.run([sys.executable, "-m", "kilo_lsp", "--check"], env=env, capture_output=True, text=True,
                             timeout=60)
        assert out.returncode == 0, out.stderr
        name = f"local:127.0.0.1:{server.port}"
        assert f"  {name} {server.url('/v1')}: 2 models" in out.stdout
        assert f"local models: {name}/fake-small, {name}/fake-large" in out.stdout
        assert "callable models: 2\n" in out.stdout
        assert "http://127.0.0.1:11434/v1: not answering" in out.stdout   # Ollama's default, not running
    finally:
        server.stop()
