"""Accounting: only what a provider received is charged, and the decision card and the answer agree.

Requests cancelled while they wait for a connection (every connection to the provider busy) never
reached it: they cost nothing. A pinned paid model with the day's budget spent is not callable on the
card, and the completion says why (the budget), not that a provider is cooling down.
"""

from __future__ import annotations

import sqlite3
import time
from datetime import datetime, timezone

import pytest

from fake_provider import FakeProviderServer, Script
from rawlsp import RawSidecar, wait_until
from results import record

KEY = "sk-or-v1-" "acct00000000000000000000000000KEY"
WORKSPACE = "file:///ws/spent"
figures: dict = {}


@pytest.fixture(scope="module", autouse=True)
def keep_figures():
    yield
    record("accounting", figures)


@pytest.fixture(scope="module")
def fake():
    server = FakeProviderServer().start()
    yield server
    server.stop()


def ledger(home) -> list[tuple]:
    conn = sqlite3.connect(home / "data" / "kilo-lsp" / "ledger.sqlite3")
    try:
        return conn.execute("SELECT decision_id, outcome, input_tokens, output_tokens, cost_usd FROM requests").fetchall()
    finally:
        conn.close()


def test_requests_cancelled_while_waiting_for_a_connection_cost_nothing(tmp_path, fake):
    """64 slow streams take every connection to the provider; 20 more wait for one and are cancelled.
    The provider never saw those 20: they are not charged."""
    from kilo_lsp.providers.openai_compat import MAX_CONNECTIONS
    fake.reset()
    fake.on("openai/gpt-5-mini", Script(first_byte_delay=8.0))   # busy well past the cancellations, even under load
    lsp = RawSidecar(tmp_path, env={"OPENROUTER_API_KEY": KEY, "KILO_OPENROUTER_BASE_URL": fake.url("/v1")})
    try:
        lsp.initialize()
        params = {"text": "rename a to b", "pin": "gpt-5-mini", "maxTokens": 16}
        busy = [lsp.send("kilo/complete", {**params, "conversationId": f"busy{i}"}) for i in range(MAX_CONNECTIONS)]
        assert wait_until(lambda: len(fake.requests) >= MAX_CONNECTIONS, 20), len(fake.requests)
        waiting = [lsp.send("kilo/complete", {**params, "conversationId": f"wait{i}"}) for i in range(20)]
        time.sleep(0.8)
        for msg_id in waiting:
            lsp.notify("$/cancelRequest", {"id": msg_id})
        cancelled = [lsp.wait(i, 10) for i in waiting]
        done = [lsp.wait(i, 30) for i in busy]
        seen = len(fake.requests)
        time.sleep(0.3)
    finally:
        lsp.close()
    assert all(m.get("error", {}).get("code") == -32800 for m in cancelled), cancelled[:2]
    assert all("result" in m for m in done)
    assert seen == MAX_CONNECTIONS, "a request that waited for a connection reached the provider"
    rows = ledger(tmp_path)
    charged = [r for r in rows if r[1] == "cancelled" and r[4] > 0]
    paid = [r for r in rows if r[1] == "ok"]
    figures["cancelled while waiting for a connection"] = {"cancelled": len(cancelled), "charged": len(charged),
                                                           "completed and charged": len(paid)}
    assert len(paid) == MAX_CONNECTIONS and all(r[4] > 0 for r in paid)
    assert not charged, f"{len(charged)} of 20 requests the provider never saw were charged"


def test_a_request_cancelled_after_it_was_sent_is_charged_its_estimate(tmp_path, fake):
    """The other side of the rule: the provider received the prompt, so what was used is recorded."""
    fake.reset()
    fake.on("openai/gpt-5-mini", Script(first_byte_delay=2.0))
    lsp = RawSidecar(tmp_path, env={"OPENROUTER_API_KEY": KEY, "KILO_OPENROUTER_BASE_URL": fake.url("/v1")})
    try:
        lsp.initialize()
        msg_id = lsp.send("kilo/complete", {"text": "rename a to b", "pin": "gpt-5-mini", "maxTokens": 16})
        assert wait_until(lambda: len(fake.requests) == 1, 10)
        lsp.notify("$/cancelRequest", {"id": msg_id})
        assert lsp.wait(msg_id, 10)["error"]["code"] == -32800
        time.sleep(0.3)
    finally:
        lsp.close()
    rows = ledger(tmp_path)
    assert len(rows) == 1 and rows[0][1] == "cancelled" and rows[0][2] > 0 and rows[0][4] > 0, rows


def spend(home, usd: float) -> None:
    from kilo_lsp.ledger.store import Ledger, LedgerEntry
    book = Ledger(home / "data" / "kilo-lsp" / "ledger.sqlite3")
    book.record(LedgerEntry(decision_id="d-spent", model="claude-sonnet-4-6", provider="anthropic",
                            workspace=WORKSPACE, cost_usd=usd, time=datetime.now(timezone.utc)))
    book.close()


@pytest.mark.parametrize("pin", ["gpt-5-mini", None])
def test_with_the_budget_spent_the_card_and_the_answer_agree(tmp_path, fake, pin):
    """A paid pinned model (or, unpinned, no free model at all) with the day's budget spent: the card
    says not callable and why, and kilo/complete fails with code `budget`, calling nobody."""
    cfg = tmp_path / "config" / "kilo-lsp" / "config.toml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text("[budget]\ndaily_usd_per_workspace = 1.0\n")
    spend(tmp_path, 2.0)
    fake.reset()
    lsp = RawSidecar(tmp_path, env={"OPENROUTER_API_KEY": KEY, "KILO_OPENROUTER_BASE_URL": fake.url("/v1")})
    try:
        lsp.initialize()
        params = {"text": "rename a to b", "workspaceUri": WORKSPACE, "maxTokens": 16, **({"pin": pin} if pin else {})}
        card = lsp.request("kilo/route", {**params, "dryRun": True})["result"]
        done = lsp.request("kilo/complete", params, timeout=20)
    finally:
        lsp.close()
    figures[f"budget spent, pin {pin}"] = {"card": [card["reasonCode"], card["callable"]],
                                           "answer": done.get("error", {}).get("data", {}).get("code")}
    assert card["callable"] is False, card["reasonCode"]
    assert "budget" in card["reason"].lower()
    assert done["error"]["data"]["code"] == "budget", done
    assert "cooling" not in done["error"]["message"]
    assert not fake.requests
