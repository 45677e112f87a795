"""Decisions kept in the ledger: what is stored (and what never is), pruning, and replay under a dial."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import msgspec
import pytest

from kilo_lsp.config import ConfigStore
from kilo_lsp.ledger.store import DECISIONS_KEPT_DAYS, Ledger, LedgerEntry
from kilo_lsp.protocol import FeedbackParams, RouteParams
from kilo_lsp.routing.engine import Engine
from kilo_lsp.routing.replay import Spent, replay

from seed_ledger import SEED_KEYS

WS = "file:///home/dev/shop"
SECRET_WORDS = "zanzibar_quota_total"
FEEDBACK_WORDS = "the flux capacitor still leaks"
STACK = ('Traceback (most recent call last):\n  File "app/zanzibar_db.py", line 42, in connect\n'
         '    pool.acquire()\nTimeoutError: pool exhausted')


def engine_keeping(tmp_path, kept: list) -> Engine:
    engine = Engine(config=ConfigStore(env=dict(SEED_KEYS), user_file=tmp_path / "config.toml"))
    engine.on_decision = kept.append
    return engine


def conversation(engine: Engine, conv: str = "c1") -> list:
    cards = [engine.route(RouteParams(text=f"fix this bug in {SECRET_WORDS}: " + STACK, conversation_id=conv,
                                      workspace_uri=WS))]
    engine.feedback(FeedbackParams(cards[0].decision_id, "failed", FEEDBACK_WORDS))
    cards.append(engine.route(RouteParams(text="try again, still failing", conversation_id=conv, workspace_uri=WS)))
    cards.append(engine.route(RouteParams(text="now plan the migration of the whole billing service to async "
                                               "with a rollout plan", conversation_id=conv, workspace_uri=WS)))
    cards.append(engine.route(RouteParams(text="rename total to sum_all in cart.py", conversation_id=conv,
                                          workspace_uri=WS)))
    return cards


def test_each_decision_is_kept_without_request_text_or_feedback_words(tmp_path):
    kept: list = []
    engine = engine_keeping(tmp_path, kept)
    cards = conversation(engine)
    engine.route(RouteParams(text="a dry run " + SECRET_WORDS, conversation_id="c1", workspace_uri=WS, dry_run=True))
    assert [r.decision_id for r in kept] == [c.decision_id for c in cards]      # no dry run
    assert cards[1].escalated and "you said it failed" in cards[1].failed_reason
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    for r in kept:
        assert ledger.record_decision(r)
    assert not ledger.record_decision(kept[0])                                  # once
    back = ledger.decisions(WS, "c1")
    assert back == kept
    assert back[1].failed_reason == "you said it failed" and back[1].escalated
    assert back[1].inputs.on_task and back[1].inputs.incumbent == cards[0].model
    assert back[0].candidates[0].model == cards[0].candidates[0].model
    ledger.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("ledger.sqlite3*"))
    assert SECRET_WORDS.encode() not in raw and b"zanzibar" not in raw
    assert FEEDBACK_WORDS.encode() not in raw and b"pool exhausted" not in raw


def test_old_decisions_are_pruned(tmp_path):
    kept: list = []
    engine = engine_keeping(tmp_path, kept)
    conversation(engine)
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    old = datetime.now(timezone.utc) - timedelta(days=DECISIONS_KEPT_DAYS + 1)
    for r in kept[2:]:
        ledger.record_decision(r)                        # the first write prunes (nothing yet)
    for i, r in enumerate(kept[:2]):                     # the next prune is an hour away
        ledger.record_decision(msgspec.structs.replace(r, time=(old + timedelta(minutes=i)).isoformat()))
    assert len(ledger.decisions(WS, "c1")) == 4
    assert ledger.prune_decisions() == 2
    assert [r.decision_id for r in ledger.decisions(WS, "c1")] == [r.decision_id for r in kept[2:]]
    ledger.close()


def test_replay_on_the_same_dial_reproduces_the_decisions_and_prices_the_other(tmp_path):
    kept: list = []
    engine = engine_keeping(tmp_path, kept)
    for conv in ("c1", "c2", "c3"):
        conversation(engine, conv)
    board = engine.leaderboard()
    for conv in ("c1", "c2", "c3"):
        records = [r for r in kept if r.conversation == conv]
        same = replay(records, board, "bill")
        assert [s.replay_model for s in same.steps] == [r.model for r in records]
        assert [s.replay_rung for s in same.steps] == [r.rung for r in records]
        assert same.changed == 0 and same.cost_usd == pytest.approx(same.replay_cost_usd, abs=1e-5)
    records = [r for r in kept if r.conversation == "c1"]
    spent = {records[0].decision_id: Spent(20_000, 5_000, 1_500, 0.0123)}
    other = replay(records, board, "bar", spent)
    first = other.steps[0]
    assert first.measured and first.cost_usd == 0.0123
    assert first.replay_cost_usd == board.models[first.replay_model].prices.cost(20_000, 1_500, 5_000)
    assert not other.steps[1].measured
    assert other.steps[1].cost_usd == records[1].estimated_cost_usd
    # each step decided with bar: its rung-1 model is the first of the class's bar ladder the user can call
    start = next(s for s in other.steps if s.replay_reason_code == "ladder_start")
    tc = board.classes[start.task_class]
    callable_ = set(records[0].inputs.callable)
    assert start.replay_model == next(m for m in tc.ladders["bar"] if m in callable_)


def test_spent_on_takes_the_answering_attempt_and_charges_every_attempt(tmp_path):
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    ledger.record(LedgerEntry("d1", "m1", "p", outcome="error", attempt=0, cost_usd=0.001))
    ledger.record(LedgerEntry("d1", "m2", "p", outcome="ok", attempt=1, input_tokens=900, cached_input_tokens=100,
                              output_tokens=50, cost_usd=0.01))
    ledger.record(LedgerEntry("d2", "m1", "p", outcome="cancelled", input_tokens=10, output_tokens=5, cost_usd=0.002))
    got = ledger.spent_on(["d1", "d2", "d3"])
    assert got["d1"] == Spent(900, 100, 50, 0.011)
    assert got["d2"] == Spent(10, 0, 5, 0.002) and "d3" not in got
    ledger.close()
