"""What a workspace can set: it never moves trust or budgets, and never names a file the sidecar
reads blindly. A cloned repository's settings (a workspace folder's, and the editor's own settings,
which VS Code merges with the workspace's) try to make the sidecar trust an attacker's certificate,
read /dev/stdin or /dev/zero, lift the user's budget and set absurd numbers; the user's own settings
that name files are checked (a regular file, a size limit) and read off the event loop."""

from __future__ import annotations

import os
import sqlite3
import time
from datetime import datetime, timezone

import pytest

from fake_provider import self_signed_server
from rawlsp import RawSidecar, wait_until
from results import record

KEY = "sk-or-v1-" "trust0000000000000000000000000KEY"
FOLDER = "file:///ws/cloned-repo"
CAPS = {"workspace": {"configuration": True, "workspaceFolders": True}}
figures: dict = {}


@pytest.fixture(scope="module", autouse=True)
def keep_figures():
    yield
    record("workspace_trust", figures)


def user_config(home, text: str) -> None:
    cfg = home / "config" / "kilo-lsp" / "config.toml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(text)
    cfg.chmod(0o600)


def problems(lsp: RawSidecar) -> str:
    return "\n".join(p["message"] for p in lsp.notifications("window/showMessage"))


@pytest.fixture
def attacker(tmp_path):
    """An HTTPS server with a self-signed certificate: a host that intercepts the provider's traffic."""
    server = self_signed_server(tmp_path)
    yield server
    server.stop()


@pytest.mark.parametrize("source", ["workspace folder", "client settings", "initializationOptions"])
def test_a_workspace_ca_bundle_is_not_trusted(tmp_path, attacker, source):
    hostile = {"network": {"caBundle": str(attacker.cert)}}
    lsp = RawSidecar(tmp_path, env={"OPENROUTER_API_KEY": KEY, "KILO_OPENROUTER_BASE_URL": attacker.url("/v1")})
    lsp.configuration = [hostile if source == "client settings" else {}, hostile if source == "workspace folder" else {}]
    try:
        lsp.initialize(capabilities=CAPS, folders=[FOLDER],
                       init_options=hostile if source == "initializationOptions" else None)
        time.sleep(0.5)
        msg = lsp.request("kilo/complete", {"text": "fix the bug in parser.py", "maxTokens": 16,
                                            "workspaceUri": FOLDER}, timeout=30)
        shown = problems(lsp)
    finally:
        lsp.close()
    assert "error" in msg and "tls" in str(msg["error"]).lower(), msg
    assert not attacker.requests, f"the key went to a host trusted through {source}'s caBundle"
    assert "caBundle" in shown
    figures.setdefault("ca_bundle", {})[source] = "not trusted; TLS error; 0 requests reached the host"


@pytest.mark.parametrize("setting", ["routing.leaderboardPath", "network.caBundle"])
@pytest.mark.parametrize("path", ["/dev/stdin", "/dev/zero"])
def test_a_workspace_path_is_never_read(tmp_path, setting, path):
    section, name = setting.split(".")
    lsp = RawSidecar(tmp_path)
    lsp.configuration = [{}, {section: {name: path}}]
    try:
        lsp.initialize(capabilities=CAPS, folders=[FOLDER])
        time.sleep(0.5)
        start = time.monotonic()
        msg = lsp.request("kilo/route", {"text": "rename a to b", "workspaceUri": FOLDER}, timeout=10)
        took = time.monotonic() - start
        rss = lsp.rss_bytes()
        shown = problems(lsp)
    finally:
        lsp.close()
    assert "result" in msg and took < 2
    assert rss < 400e6
    assert name in shown


def fifo(tmp_path):
    path = tmp_path / "board.fifo"
    os.mkfifo(path)
    return path


def link_to(target):
    def make(tmp_path):
        path = tmp_path / "board-link.json"
        path.symlink_to(target(tmp_path) if callable(target) else target)
        return path
    return make


def directory(tmp_path):
    path = tmp_path / "a-directory"
    path.mkdir()
    return path


PATHS = {"/dev/stdin": lambda tmp_path: "/dev/stdin", "/dev/zero": lambda tmp_path: "/dev/zero",
         "a named pipe (mkfifo)": fifo, "a link to /dev/zero": link_to("/dev/zero"),
         "a link to a named pipe": link_to(fifo), "a directory": directory,
         "a link to /dev/urandom": link_to("/dev/urandom")}


@pytest.mark.parametrize("setting", ["routing.leaderboardPath", "network.caBundle"])
@pytest.mark.parametrize("case", list(PATHS))
def test_a_user_path_that_is_not_a_regular_file_is_refused_at_once(tmp_path, setting, case):
    """The user's own file settings are checked too: a device, a pipe, a directory or a link to one is
    refused with a clear error, at once (opening a pipe blocks until a writer comes, a device never
    ends: the file is checked where a link leads), and the sidecar neither hangs nor grows."""
    path = PATHS[case](tmp_path)
    section, name = setting.split(".")
    snake = {"leaderboardPath": "leaderboard_path", "caBundle": "ca_bundle"}[name]
    user_config(tmp_path, f'[{section}]\n{snake} = "{path}"\n')
    lsp = RawSidecar(tmp_path, env={"OPENROUTER_API_KEY": KEY, "KILO_OPENROUTER_BASE_URL": "https://127.0.0.1:9/v1"})
    try:
        lsp.initialize()
        start = time.monotonic()
        method = "kilo/route" if name == "leaderboardPath" else "kilo/complete"
        msg = lsp.request(method, {"text": "rename a to b", "maxTokens": 8}, timeout=20)
        took = time.monotonic() - start
        peak = lsp.peak_rss_bytes()
        still = lsp.request("kilo/leaderboard" if name == "caBundle" else "kilo/usage", {}, timeout=10)
    finally:
        lsp.close()
    assert "error" in msg, msg
    assert "regular file" in msg["error"]["message"] and name in msg["error"]["message"], msg
    assert took < 5, f"{setting} = {path} took {took:.1f} s"
    assert peak < 400e6, f"{setting} = {path}: the sidecar grew to {peak / 1e6:.0f} MB"
    assert "result" in still
    figures.setdefault("user_paths", {})[f"{setting} = {path}"] = {"seconds": round(took, 2),
                                                                   "peak_rss_mb": round(peak / 1e6)}


def spend(home, workspace: str, usd: float) -> None:
    """A ledger that says ``usd`` was spent today in ``workspace``."""
    from kilo_lsp.ledger.store import Ledger, LedgerEntry
    ledger = Ledger(home / "data" / "kilo-lsp" / "ledger.sqlite3")
    ledger.record(LedgerEntry(decision_id=f"d-spent-{workspace}", model="claude-sonnet-4-6", provider="anthropic",
                              workspace=workspace, cost_usd=usd, time=datetime.now(timezone.utc)))
    ledger.close()


BUDGETS = {
    # name: (user-level budget, the workspace folder's, whether the budget must be in force at $2 spent)
    "a folder cannot raise the user's budget": (1.0, 1000.0, True),
    "a folder cannot remove the user's budget (0 = none)": (1.0, 0.0, True),
    "a folder may lower the user's budget": (5.0, 1.0, True),
    "a folder may set one where the user has none": (None, 1.0, True),
    "a folder's lower budget above what was spent": (5.0, 3.0, False),
}


@pytest.mark.parametrize("case", list(BUDGETS))
def test_a_workspace_may_lower_a_budget_never_raise_it(tmp_path, case):
    user, folder, exhausted = BUDGETS[case]
    user_config(tmp_path, f"[budget]\ndaily_usd_per_workspace = {user}\n" if user is not None else "")
    spend(tmp_path, FOLDER, 2.0)
    lsp = RawSidecar(tmp_path, env={"ANTHROPIC_API_KEY": "sk-ant-" "trust000000000000000000000000000"})
    lsp.configuration = [{}, {"budget": {"dailyUsdPerWorkspace": folder}}]
    try:
        lsp.initialize(capabilities=CAPS, folders=[FOLDER])
        time.sleep(0.5)
        card = lsp.request("kilo/route", {"text": "rename a to b", "dryRun": True, "workspaceUri": FOLDER})["result"]
    finally:
        lsp.close()
    hit = card["reasonCode"].startswith("budget_exhausted")
    figures.setdefault("budgets", {})[case] = card["reasonCode"]
    assert hit == exhausted, f"{case}: {card['reasonCode']}"


NUMBERS = {
    "network.connectTimeout": [0, -1, 1e308],
    "network.idleTimeout": [0, -5],
    "routing.switchFactor": [1e308, -1],
    "routing.idleResetMinutes": [1e308, -1],
    "budget.dailyUsdPerWorkspace": [-1, 1e308],
    "routing.maxSessions": [0, 10**9],
}


def test_numbers_are_range_checked_from_every_source(tmp_path):
    from kilo_lsp.config import Layer, Settings, merge
    defaults = Settings()
    refused = {}
    for name, values in NUMBERS.items():
        section, key = name.split(".")
        for value in values:
            for layer in (Layer("user-file", {section: {key: value}}, True),
                          Layer(f"workspace-folder:{FOLDER}", {section: {key: value}}, False, folder=True)):
                s = merge([layer])
                kept = getattr(getattr(s, section), _snake(key))
                assert kept == getattr(getattr(defaults, section), _snake(key)), f"{name} = {value} from {layer.name}"
                assert any(name in p for p in s.problems), s.problems
                refused[f"{name} = {value}"] = "refused"
    many = merge([Layer(f"workspace-folder:{FOLDER}", {"local": {"endpoints": [
        f"http://127.0.0.1:{9000 + i}/v1" for i in range(1000)]}}, False, folder=True)])
    assert many.local.endpoints == [] and any("local.endpoints" in p for p in many.problems)
    figures["numbers_refused"] = len(refused)


def _snake(key: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in key)


def test_number_problems_reach_the_editor(tmp_path):
    user_config(tmp_path, "[network]\nconnect_timeout = 0\n[routing]\nswitch_factor = inf\n")
    lsp = RawSidecar(tmp_path)
    try:
        lsp.initialize()
        assert wait_until(lambda: "switchFactor" in problems(lsp), 5)
        shown = problems(lsp)
    finally:
        lsp.close()
    assert "connectTimeout" in shown and "switchFactor" in shown
