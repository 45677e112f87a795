"""The dashboard's server without a browser: the token on every request, the host, same-origin POSTs
that set only the dial and the tier, no CORS, a CSP without script, every untrusted string escaped;
kilo/dashboard from a real sidecar, and a change made by `kilo-lsp dashboard` reaching a running sidecar."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from kilo_lsp.config import ConfigStore
from kilo_lsp.dashboard.server import DashboardServer, Host
from kilo_lsp.routing.engine import Engine

from dashboard_harness import config_path, fetch, ledger_path, origin, seeded_home, sidecar_env, with_token
from lsp_harness import isolated_env, request, sidecar
from seed_ledger import SEED_KEYS, WORKSPACES

HOSTILE_MODEL = '<script>alert("model")</script>'
SHOP = WORKSPACES[0]


@pytest.fixture
def served(tmp_path):
    """An in-process dashboard on a seeded ledger, with a leaderboard file of the user's own whose model
    names carry markup."""
    home = seeded_home(tmp_path)
    board = json.loads((Path(__file__).parent.parent / "kilo_lsp" / "data" / "leaderboard.json").read_text())
    for m in board["models"]:
        if m["id"] == "minimax-m3":
            m["name"] = HOSTILE_MODEL
    own = tmp_path / "my-board.json"
    own.write_text(json.dumps(board))
    config_file = config_path(home)
    config_file.parent.mkdir(parents=True)
    config_file.write_text(f'[routing]\nleaderboard_path = "{own}"\n')
    engine = Engine(config=ConfigStore(env=dict(SEED_KEYS), user_file=config_file))
    server = DashboardServer(Host(engine, ledger_path(home))).start()
    yield server, config_file
    server.close()


def test_every_request_needs_the_token_and_this_host(served):
    server, _ = served
    good = server.url("/")
    assert fetch(good)[0] == 200
    assert fetch(good, headers={"X-Kilo-Token": server.token})[0] == 200
    for url in (good.split("?")[0], good.replace(server.token, server.token[:-1] + "x"), good + "x",
                with_token(good, "/static/dashboard.css").replace(server.token, "nope")):
        status, headers, body = fetch(url)
        assert status == 403 and "token" in body and server.token not in body
    assert fetch(good.split("?")[0], headers={"X-Kilo-Token": "wrong"})[0] == 403
    assert fetch(good, host=f"evil.example:{server.port}")[0] == 403          # DNS rebinding
    assert fetch(good, host=f"localhost:{server.port}")[0] == 200
    status, headers, css = fetch(with_token(good, "/static/dashboard.css"))
    assert status == 200 and headers["content-type"].startswith("text/css") and "prefers-color-scheme: dark" in css
    assert fetch(with_token(good, "/static/../../config.py"))[0] == 404


def test_no_cors_a_csp_without_script_and_nothing_changes_on_get(served):
    server, config_file = served
    before = config_file.read_text()
    for path in ("/", "/leaderboard", "/decisions", "/settings", "/static/dashboard.css"):
        status, headers, body = fetch(with_token(server.url(), path, dial="bar", scope=""),
                                      headers={"Origin": "http://evil.example"})
        assert status == 200, path
        assert not [h for h in headers if h.startswith("access-control-")], path
        assert "script-src 'none'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff" and headers["referrer-policy"] == "same-origin"
    assert fetch(server.url("/"), method="OPTIONS")[0] in (403, 405)
    assert config_file.read_text() == before


def test_settings_change_only_by_a_same_origin_post_with_the_token_and_only_dial_and_tier(served):
    server, config_file = served
    before = config_file.read_text()
    url = server.url("/settings")
    mine = {"Origin": origin(url)}
    form = {"token": server.token, "scope": "", "dial": "bar"}
    refused = [
        fetch(url, "POST", form, {"Origin": "http://evil.example"}),                 # another origin
        fetch(url, "POST", form, {"Origin": "null"}),
        fetch(url, "POST", form, {**mine, "Sec-Fetch-Site": "cross-site"}),
        fetch(url.split("?")[0], "POST", {"scope": "", "dial": "bar"}, mine),          # no token
        fetch(url.replace(server.token, "x" * 43), "POST", {**form, "token": "x" * 43}, mine),
        fetch(url, "POST", form, mine, host=f"evil.example:{server.port}"),
    ]
    assert [r[0] for r in refused] == [403] * 6
    for extra in ({"apiKey": "sk-stolen"}, {"providers.openai.apiKey": "sk-stolen"}, {"pin": "gpt-5-5"}):
        status, _, body = fetch(url, "POST", {**form, **extra}, mine)
        assert status == 400 and "Only the dial and the tier" in body and "sk-stolen" not in body
    status, _, body = fetch(url, "POST", {**form, "scope": "file:///not/known"}, mine)
    assert status == 400 and "Unknown workspace" in body
    status, _, body = fetch(url, "POST", {**form, "dial": "cheapest"}, mine)
    assert status == 400 and "must be one of" in body
    assert config_file.read_text() == before
    status, headers, _ = fetch(url, "POST", form, mine)
    assert status == 303 and headers["location"].startswith("/settings?") and server.token in headers["location"]
    assert tomllib.loads(config_file.read_text())["routing"]["dial"] == "bar"
    assert server.host.engine.settings().routing.dial == "bar"                  # the running engine took it
    status, _, _ = fetch(url, "POST", {"token": server.token, "scope": SHOP, "dial": "bill", "tier": ""}, mine)
    assert status == 303
    assert tomllib.loads(config_file.read_text())["workspaces"][SHOP]["routing"] == {"dial": "bill"}
    assert server.host.engine.settings(SHOP).routing.dial == "bill"


def test_untrusted_strings_are_escaped(served):
    server, _ = served
    pages = [fetch(with_token(server.url(), p, **q))[2] for p, q in
             (("/", {}), ("/leaderboard", {"class": "bugfix:2"}), ("/decisions", {}), ("/settings", {}),
              ("/decisions", {"workspace": WORKSPACES[2], "conversation": "x<b>"}))]
    for html in pages:
        assert "<script" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(&quot;model&quot;)&lt;/script&gt;" in pages[1]
    assert "file:///home/dev/&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;co" in pages[0]


async def test_kilo_dashboard_answers_the_url_of_the_sidecars_own_dashboard(tmp_path):
    home = seeded_home(tmp_path)
    async with sidecar(home, env=sidecar_env()) as client:
        first = (await request(client, "kilo/dashboard", {}))["url"]
        assert first.startswith("http://127.0.0.1:") and "token=" in first
        board = (await request(client, "kilo/dashboard", {"page": "leaderboard"}))["url"]
        assert board.split("/")[2] == first.split("/")[2] and "/leaderboard?" in board
        conv = (await request(client, "kilo/dashboard", {"workspaceUri": SHOP, "conversationId": "c 1"}))["url"]
        assert "/decisions?" in conv and "conversation=c+1" in conv
        with pytest.raises(Exception, match="page"):
            await request(client, "kilo/dashboard", {"page": "keys"})
        status, _, html = await asyncio.to_thread(fetch, first)
        assert status == 200 and "Usage and savings" in html
        before = await request(client, "kilo/route", {"text": "fix the failing test in cart.py", "workspaceUri": SHOP})
        assert before["dial"] == "bill"
        url = with_token(first, "/settings")
        status, _, _ = await asyncio.to_thread(fetch, url, "POST", {"token": url.split("token=")[1], "scope": "",
                                                                    "dial": "bar"}, {"Origin": origin(url)})
        assert status == 303
        after = await request(client, "kilo/route", {"text": "fix the failing test in cart.py", "workspaceUri": SHOP,
                                                     "conversationId": "new"})
        assert after["dial"] == "bar"                       # the very next decision, no wait
        assert tomllib.loads(config_path(home).read_text())["routing"]["dial"] == "bar"


async def test_a_change_made_by_the_dashboard_command_reaches_a_running_sidecar(tmp_path):
    home = seeded_home(tmp_path)
    async with sidecar(home, env=sidecar_env()) as client:
        route = {"text": "fix the failing test in cart.py", "workspaceUri": SHOP, "dryRun": True}
        assert (await request(client, "kilo/route", route))["dial"] == "bill"
        proc = subprocess.Popen([sys.executable, "-m", "kilo_lsp", "dashboard", "--no-browser"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=isolated_env(home, sidecar_env()))
        try:
            line = await asyncio.to_thread(proc.stdout.readline)
            url = line.split(": ", 1)[1].strip()
            assert url.startswith("http://127.0.0.1:")
            settings = with_token(url, "/settings")
            status, _, _ = await asyncio.to_thread(fetch, settings, "POST", {"token": settings.split("token=")[1],
                                                                             "scope": SHOP, "dial": "bar"},
                                                   {"Origin": origin(settings)})
            assert status == 303
            board = (await asyncio.to_thread(fetch, with_token(url, "/leaderboard", **{"class": "bugfix:2"})))[2]
            assert " did not: " in board                  # your own results, read from the ledger
            written = time.monotonic()
            while (await request(client, "kilo/route", route))["dial"] != "bar":
                assert time.monotonic() - written < 5, "the sidecar did not pick up the config file"
                await asyncio.sleep(0.05)
            assert (await request(client, "kilo/route", {**route, "workspaceUri": WORKSPACES[1]}))["dial"] == "bill"
        finally:
            proc.terminate()
            proc.wait(10)
