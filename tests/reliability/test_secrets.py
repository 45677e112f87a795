"""Secrets: canary keys, arriving every way keys can arrive, never show up anywhere but in the
request to their own provider's host; workspace settings cannot redirect them; a key file others
can read is reported."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fake_provider import FakeProviderServer
from rawlsp import RawSidecar, wait_until

FOLDER = "file:///ws/cloned-repo"


def canary(name: str) -> str:
    return f"sk-canary-{name}-{secrets.token_hex(16)}"


def leaks(text: str | bytes, keys: dict[str, str]) -> list[str]:
    """Providers whose key, or any 10-character piece of its random part, occurs in ``text``."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    found = []
    for name, key in keys.items():
        core = key.rsplit("-", 1)[1]
        if key in text or any(core[i:i + 10] in text for i in range(len(core) - 9)):
            found.append(name)
    return found


@pytest.fixture
def catcher():
    server = FakeProviderServer().start()
    yield server
    server.stop()


@pytest.fixture
def legit():
    """Stands in for every provider's own host (set by the user: env and config file)."""
    server = FakeProviderServer().start()
    yield server
    server.stop()


@pytest.fixture
def keyed_home(tmp_path, legit):
    """Canary keys: some in the environment, some in the user config file (mode 600); one more
    arrives later through kilo/setCredentials. Every provider's base URL is the local fake."""
    env_keys = {"openai": canary("openai"), "anthropic": canary("anthropic"), "groq": canary("groq")}
    file_keys = {"openrouter": canary("openrouter"), "mistral": canary("mistral"), "deepseek": canary("deepseek")}
    cfg = tmp_path / "config" / "kilo-lsp" / "config.toml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text("".join(f'[providers.{n}]\napi_key = "{k}"\nbase_url = "{legit.url("/v1")}"\n\n'
                           for n, k in file_keys.items()))
    cfg.chmod(0o600)
    env = {"OPENAI_API_KEY": env_keys["openai"], "ANTHROPIC_API_KEY": env_keys["anthropic"],
           "GROQ_API_KEY": env_keys["groq"], "KILO_LOG_LEVEL": "debug",
           "KILO_TRACE_FILE": str(tmp_path / "trace-env.jsonl")}
    for name in [*env_keys, "xai"]:
        env[f"KILO_{name.upper()}_BASE_URL"] = legit.url("" if name == "anthropic" else "/v1")
    return tmp_path, env, {**env_keys, **file_keys, "xai": canary("xai")}


# models pinned so that each keyed provider is called once (model id -> provider it goes through)
PINS = {"gpt-5-mini": "openai", "claude-sonnet-4-5": "anthropic", "devstral-small-2512": "mistral",
        "deepseek-v3-2-reasoner": "deepseek", "gpt-oss-120b": "groq"}


def test_canary_keys_never_leak(keyed_home, catcher, legit):
    home, env, keys = keyed_home
    hostile = {  # what a cloned repository's settings might try
        "providers": {n: {"baseUrl": catcher.url("/v1"), "apiKey": "sk-workspace-key"} for n in keys},
        "local": {"discover": True, "endpoints": [catcher.url("/v1")]},
        "log": {"level": "debug", "traceFile": str(home / "trace-settings.jsonl")},
    }
    lsp = RawSidecar(home, env=env)
    lsp.configuration = [hostile, hostile]
    try:
        lsp.initialize(capabilities={"workspace": {"configuration": True, "workspaceFolders": True}},
                       init_options={"providers": hostile["providers"]}, folders=[FOLDER])
        lsp.notify("workspace/didChangeConfiguration", {"settings": {"kilo": hostile}})
        time.sleep(0.5)
        creds = lsp.request("kilo/setCredentials", {"provider": "xai", "apiKey": keys["xai"]})["result"]
        for i, text in enumerate(["fix the failing test in parser.py", "rename x to y", "design a cache layer",
                                  f"my key is {keys['openai'][:6]} what is wrong"]):
            assert "result" in lsp.request("kilo/route", {"text": text, "workspaceUri": FOLDER,
                                                          "conversationId": f"c{i}"})
        answered = {}
        for model, provider in PINS.items():
            legit.reset()
            msg = lsp.request("kilo/complete", {"text": "rename x to y", "pin": model, "workspaceUri": FOLDER,
                                                "conversationId": model, "maxTokens": 16}, timeout=20)
            res = msg["result"]
            answered[provider] = res["provider"]
            sent = legit.requests[-1].headers
            got = sent.get("authorization", "").removeprefix("Bearer ") or sent.get("x-api-key", "")
            assert got == keys[res["provider"]], f"{model}: the key sent was not {res['provider']}'s own"
        legit.reset()
        lsp.request("kilo/leaderboard", {})
        lsp.request("kilo/explain", {"workspaceUri": FOLDER, "conversationId": "c0"})
        lsp.request("kilo/usage", {})
        lsp.request("kilo/route", {"text": 5})                          # error texts
        lsp.request("kilo/setCredentials", {"provider": "nope", "apiKey": keys["xai"]})
    finally:
        lsp.close()
    assert creds["provider"] == "xai"
    check = subprocess.run([sys.executable, "-m", "kilo_lsp", "--check"], capture_output=True, text=True,
                           env=lsp_env(home, env), timeout=60)
    places = {
        "stdout (results, notifications, log and show messages)": bytes(lsp.stdout_bytes),
        "stderr": bytes(lsp.stderr_bytes),
        "kilo-lsp --check": check.stdout + check.stderr,
    }
    for trace in home.glob("trace-*.jsonl"):
        places[f"trace file {trace.name}"] = trace.read_bytes()
    for ledger in home.rglob("*.sqlite3*"):
        places[f"ledger {ledger.name}"] = ledger.read_bytes()
    assert (home / "trace-env.jsonl").exists(), "the trace file should have been written"
    assert not (home / "trace-settings.jsonl").exists(), "a workspace chose the trace file"
    assert any(k.startswith("ledger") for k in places), "the ledger should have been written"
    for where, data in places.items():
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
        assert not leaks(text, keys), f"key of {leaks(text, keys)} found in {where}"
    # Nothing reached the catcher with a key, and no provider traffic at all went to it.
    for req in catcher.requests:
        assert not leaks(json.dumps(req.headers) + json.dumps(req.body), keys), req
        assert req.method == "GET" and req.path.endswith("/models"), req   # local discovery only
        assert "authorization" not in req.headers and "x-api-key" not in req.headers
    from results import record
    record("secrets", {"keys": len(keys), "ways": ["env var", "user config file", "kilo/setCredentials"],
                       "providers_called": sorted(set(answered.values())), "places_checked": sorted(places),
                       "catcher_requests": len(catcher.requests),
                       "catcher_provider_requests": sum(r.method == "POST" for r in catcher.requests)})


def lsp_env(home: Path, extra: dict[str, str]) -> dict[str, str]:
    from lsp_harness import isolated_env
    return isolated_env(home, extra)


@pytest.mark.parametrize("shape", ['api_key = ["{k}"]', "api_key = {{ value = \"{k}\" }}", 'api_key = "{k}"\nbase_url = 7'])
def test_key_with_a_wrong_type_is_not_echoed(tmp_path, shape):
    """A key written with the wrong TOML type is reported without its value."""
    key = canary("typo")
    cfg = tmp_path / "config" / "kilo-lsp" / "config.toml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text("[providers.openai]\n" + shape.format(k=key) + "\n")
    cfg.chmod(0o600)
    check = subprocess.run([sys.executable, "-m", "kilo_lsp", "--check"], capture_output=True, text=True,
                           env=lsp_env(tmp_path, {}), timeout=60)
    assert "providers.openai" in check.stderr            # the problem is reported...
    assert not leaks(check.stdout + check.stderr, {"typo": key})   # ...without the key


def test_world_readable_key_file_warns_in_editor_and_check(tmp_path):
    key = canary("perm")
    cfg = tmp_path / "config" / "kilo-lsp" / "config.toml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text(f'[providers.openai]\napi_key = "{key}"\n')
    cfg.chmod(0o644)
    lsp = RawSidecar(tmp_path)
    try:
        lsp.initialize()
        assert wait_until(lambda: any("other users can read" in (p or {}).get("message", "")
                                      for p in lsp.notifications("window/showMessage")), 5)
        shown = [p for p in lsp.notifications("window/showMessage") if "other users can read" in p["message"]]
        assert shown[0]["type"] in (1, 2)                 # Error or Warning
        assert "chmod 600" in shown[0]["message"]
    finally:
        lsp.close()
    check = subprocess.run([sys.executable, "-m", "kilo_lsp", "--check"], capture_output=True, text=True,
                           env=lsp_env(tmp_path, {}), timeout=60)
    assert check.returncode == 1 and "other users can read" in check.stderr
    assert not leaks(bytes(lsp.stdout_bytes) + bytes(lsp.stderr_bytes), {"perm": key})
    assert not leaks(check.stdout + check.stderr, {"perm": key})
    cfg.chmod(0o600)
    check = subprocess.run([sys.executable, "-m", "kilo_lsp", "--check"], capture_output=True, text=True,
                           env=lsp_env(tmp_path, {}), timeout=60)
    assert "other users can read" not in check.stderr


def test_workspace_cannot_choose_where_the_trace_is_written(tmp_path):
    """A cloned repository's folder settings must not make the sidecar append to a file of its choice."""
    target = tmp_path / "victim.txt"
    target.write_text("original\n")
    lsp = RawSidecar(tmp_path)
    lsp.configuration = [{}, {"log": {"traceFile": str(target)}}]
    try:
        lsp.initialize(capabilities={"workspace": {"configuration": True, "workspaceFolders": True}},
                       folders=[FOLDER])
        time.sleep(0.3)
        assert "result" in lsp.request("kilo/route", {"text": "rename a to b", "workspaceUri": FOLDER})
    finally:
        lsp.close()
    assert target.read_text() == "original\n"
