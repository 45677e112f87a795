"""Forwarding end to end over real HTTP: route -> prompt -> provider with failover -> ledger."""

from __future__ import annotations

import asyncio

import pytest

from kilo_lsp.classify.base import Classification
from kilo_lsp.forwarding.errors import CompletionError
from kilo_lsp.forwarding.failover import failover_plan
from kilo_lsp.forwarding.forwarder import Forwarder
from kilo_lsp.forwarding.prompt import build_prompt
from kilo_lsp.config import ProviderSettings, Settings
from kilo_lsp.routing.engine import Engine
from kilo_lsp.leaderboard.model import parse
from kilo_lsp.ledger.store import Ledger
from kilo_lsp.protocol import (CompleteParams, Diagnostic, EditorContext, Position, Range, SetCredentialsParams, Turn,
                               UsageParams)

try:
    from tests.fake_provider import FakeProviderServer, Script, fake, fake_server  # noqa: F401
except ImportError:
    from fake_provider import FakeProviderServer, Script, fake, fake_server  # type: ignore[no-redef]  # noqa: F401

OPENAI_KEY = "sk-openai-00.0000000000000000AAAA"
ROUTER_KEY = "sk-or-v1-111.11111111111111111BBBB"


def _ev(solved, n, cost, vs_low):
    rate = solved / n
    return {"solved": solved, "n": n, "rate": rate, "ci_low": rate - 0.05, "ci_high": rate + 0.05,
            "cost_per_request": cost, "vs_balanced": {"delta": 0.0, "ci_low": vs_low, "ci_high": 0.1}}


BOARD = parse({
    "schema": 1, "version": "lb-test", "balanced": "mid", "frontier": "big",
    "models": [
        {"id": "cheap", "prices": {"input": 1.0, "output": 2.0, "cached_input": 0.1}, "context_window": 16000,
         "routes": {"openai": "cheap-direct", "openrouter": "vendor/cheap"}},
        {"id": "mid", "prices": {"input": 3.0, "output": 15.0, "cached_input": 0.3},
         "routes": {"openrouter": "vendor/mid"}},
        {"id": "big", "prices": {"input": 5.0, "output": 25.0, "cached_input": 0.5},
         "routes": {"openai": "big-direct"}},
    ],
    "classes": {"*:1": {"n_tasks": 100, "best": "big", "models": {
        "cheap": _ev(80, 100, 0.02, -0.03), "mid": _ev(82, 100, 0.4, 0.0), "big": _ev(85, 100, 0.6, -0.01)}}},
})


class Fixed:
    name = "fixed"

    def classify(self, item):
        return Classification("bugfix", 1, 0.9, 0.9, 0.9, classifier="fixed")


def forwarder(fake: FakeProviderServer, tmp_path, **settings_kw) -> Forwarder:
    providers = {"openai": ProviderSettings(OPENAI_KEY, fake.url("/v1")),
                 "openrouter": ProviderSettings(ROUTER_KEY, fake.url(""))}
    settings = Settings(providers=providers, **settings_kw)
    settings = Settings(routing=settings.routing, local=_no_local(), network=settings.network,
                        budget=settings.budget, providers=providers)
    engine = Engine(settings=settings, leaderboard=BOARD, classifier=Fixed())
    return Forwarder(engine, ledger=Ledger(tmp_path / "ledger.sqlite3"))


def _no_local():
    from kilo_lsp.config import LocalSettings
    return LocalSettings(discover=False, ollama_url="", lmstudio_url="")


def params(text="Fix the off-by-one in parse()", **kw) -> CompleteParams:
    return CompleteParams(text=text, conversation_id="c1", workspace_uri="file:///ws", **kw)


@pytest.mark.asyncio
async def test_forwards_to_the_routed_model_streams_chunks_and_records_cost(fake, tmp_path) -> None:
    fake.on("cheap-direct", Script(texts=("Use ", "range(n)."), usage=(1000, 200, 50)))
    fw = forwarder(fake, tmp_path)
    chunks = []
    result = await fw.complete(params(max_tokens=64, temperature=0), on_chunk=chunks.append)
    await fw.aclose()
    assert result.text == "Use range(n)." and result.model == "cheap" and result.provider == "openai"
    assert [(c.seq, c.text) for c in chunks] == [(0, "Use "), (1, "range(n).")]
    assert all(c.stream_id == result.decision_id == result.card.decision_id for c in chunks)
    assert result.usage.input_tokens == 1000 and not result.usage.estimated
    assert result.cost_usd == pytest.approx((800 * 1.0 + 200 * 0.1 + 50 * 2.0) / 1e6)
    assert result.balanced_cost_usd == pytest.approx((800 * 3 + 200 * 0.3 + 50 * 15) / 1e6)
    assert result.finish_reason == "stop" and not result.failed_over and result.error is None
    assert result.ttft_ms is not None and result.total_ms >= result.ttft_ms
    assert [a.outcome for a in result.attempts] == ["ok"]
    sent = fake.requests[-1]
    assert sent.path == "/v1/chat/completions" and sent.body["model"] == "cheap-direct"
    assert sent.body["max_tokens"] == 64 and "Fix the off-by-one" in sent.body["messages"][-1]["content"]
    assert sent.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    u = fw.ledger.usage()
    assert u.requests == 1 and u.cost_usd == pytest.approx(result.cost_usd)


@pytest.mark.asyncio
async def test_failover_before_first_token_same_model_other_provider(fake, tmp_path) -> None:
    fake.on("cheap-direct", Script(status=503))
    fake.on("vendor/cheap", Script(texts=("ok",)))
    fw = forwarder(fake, tmp_path)
    result = await fw.complete(params())
    assert result.text == "ok" and result.model == "cheap" and result.provider == "openrouter" and result.failed_over
    assert [(a.provider, a.outcome, a.error_kind) for a in result.attempts] == [
        ("openai", "error", "server"), ("openrouter", "ok", None)]
    # a 503 cools that model at that provider, not the provider's other models
    assert fw.pool.is_cooling("openai|cheap-direct") and not fw.pool.is_cooling("openai")
    # keys went only to their own provider
    for r in fake.requests:
        if r.path == "/v1/chat/completions":
            assert r.headers["authorization"] == f"Bearer {OPENAI_KEY}"
        else:
            assert r.headers["authorization"] == f"Bearer {ROUTER_KEY}"
    rows = fw.ledger.entries()
    assert sorted((r["attempt"], r["outcome"]) for r in rows) == [(0, "error"), (1, "ok")]
    # the next request skips the cooling provider without calling it
    n = len(fake.requests)
    again = await fw.complete(params("and the other loop?"))
    await fw.aclose()
    assert again.provider == "openrouter" and again.attempts[0].outcome == "skipped"
    assert again.attempts[0].error_kind == "cooling" and len(fake.requests) == n + 1


@pytest.mark.asyncio
async def test_rate_limit_retry_after_sets_the_cooldown(fake, tmp_path) -> None:
    fake.on("cheap-direct", Script(status=429, headers={"Retry-After": "30"}))
    fake.on("vendor/cheap", Script(texts=("fine",)))
    fw = forwarder(fake, tmp_path)
    result = await fw.complete(params())
    await fw.aclose()
    assert result.attempts[0].error_kind == "rate_limit" and result.attempts[0].retry_after == 30
    assert 25 < fw.pool.cooldown_remaining("openai") <= 30


@pytest.mark.asyncio
async def test_after_first_token_no_silent_switch(fake, tmp_path) -> None:
    fake.on("cheap-direct", Script(texts=("partial ", "answer ", "lost"), disconnect_after=2))
    fw = forwarder(fake, tmp_path)
    result = await fw.complete(params())
    await fw.aclose()
    assert result.text == "partial answer " and result.finish_reason == "error"
    assert result.error is not None and result.error.kind == "connect"
    assert len(fake.requests) == 1                                   # nobody else was asked
    row = fw.ledger.entries()[0]
    assert row["outcome"] == "error" and row["usage_estimated"] == 1 and row["output_tokens"] > 0


@pytest.mark.asyncio
async def test_all_routes_fail(fake, tmp_path) -> None:
    fake.on("cheap-direct", Script(status=500))
    fake.on("vendor/cheap", Script(status=502))
    fake.on("vendor/mid", Script(status=503, headers={"Retry-After": "4"}))
    fake.on("big-direct", Script(status=504))
    fw = forwarder(fake, tmp_path)
    with pytest.raises(CompletionError) as err:
        await fw.complete(params())
    await fw.aclose()
    e = err.value
    assert e.code == "all_failed" and [a.provider_model_id for a in e.attempts] == [
        "cheap-direct", "vendor/cheap", "vendor/mid", "big-direct"]
    assert e.retry_after == 4 and len(fake.requests) == 4
    assert e.data().attempts[0].error_kind == "server"
    assert OPENAI_KEY not in str(e.data()) and ROUTER_KEY not in str(e.data())


@pytest.mark.asyncio
async def test_bad_request_is_not_retried_elsewhere(fake, tmp_path) -> None:
    fake.on("cheap-direct", Script(status=400))
    fw = forwarder(fake, tmp_path)
    with pytest.raises(CompletionError) as err:
        await fw.complete(params())
    await fw.aclose()
    assert err.value.code == "refused" and len(fake.requests) == 1


@pytest.mark.asyncio
async def test_cancellation_closes_upstream_and_records_cancelled(fake, tmp_path) -> None:
    fake.on("cheap-direct", Script(endless=True))
    fw = forwarder(fake, tmp_path)
    first = asyncio.Event()
    task = asyncio.create_task(fw.complete(params(), on_chunk=lambda c: first.set()))
    await asyncio.wait_for(first.wait(), 3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await asyncio.to_thread(fake.client_closed.wait, 3.0)
    row = fw.ledger.entries()[0]
    assert row["outcome"] == "cancelled" and row["output_tokens"] > 0
    await fw.aclose()


@pytest.mark.asyncio
async def test_no_credentials_and_budget(fake, tmp_path) -> None:
    from kilo_lsp.config import BudgetSettings
    engine = Engine(settings=Settings(local=_no_local()), leaderboard=BOARD, classifier=Fixed())
    fw = Forwarder(engine, ledger=Ledger(tmp_path / "a.sqlite3"))
    with pytest.raises(CompletionError) as err:
        await fw.complete(params())
    assert err.value.code == "no_model"
    fw = forwarder(fake, tmp_path, budget=BudgetSettings(daily_usd_per_workspace=0.0001))
    fake.on("cheap-direct", Script(usage=(100_000, 0, 1000)))
    await fw.complete(params())                                      # spends ~0.1 USD
    with pytest.raises(CompletionError) as err:
        await fw.complete(params("and again"))
    await fw.aclose()
    assert err.value.code == "budget" and len(fake.requests) == 1


@pytest.mark.asyncio
async def test_usage_and_set_credentials(fake, tmp_path) -> None:
    from kilo_lsp.config import ConfigStore
    store = ConfigStore(env={}, user_file=tmp_path / "none.toml")
    engine = Engine(config=store, leaderboard=BOARD, classifier=Fixed())
    fw = Forwarder(engine, ledger=Ledger(tmp_path / "b.sqlite3"))
    result = await fw.set_credentials(SetCredentialsParams("openrouter", "sk-or-v1-pus.hedbytheeditor9999"))
    assert result.api_key == "sk-…9999" and result.callable_models >= 2
    assert fw.pool.spec("openrouter").base_url == "https://openrouter.ai/api/v1"   # the key goes nowhere else
    cleared = await fw.set_credentials(SetCredentialsParams("openrouter", None))
    assert cleared.api_key == "unset" and "openrouter" not in fw.pool
    assert (await fw.usage(UsageParams())).requests == 0
    await fw.aclose()


def test_failover_plan_order(fake, tmp_path) -> None:
    fw = forwarder(fake, tmp_path)
    card = fw.engine.route(params(dry_run=False))
    plan = failover_plan(card, BOARD, fw.engine.settings(), set())
    # the chosen model through each provider, then the candidates clearing the bar in the card's
    # order (cheapest first), Balanced among them
    assert [(r.model, r.provider) for r in plan] == [("cheap", "openai"), ("cheap", "openrouter"),
                                                      ("mid", "openrouter"), ("big", "openai")]


def test_prompt_budget_trims_documents_turns_and_keeps_the_request() -> None:
    doc = "".join(f"line {i} of the module\n" for i in range(5000))      # ~25k tokens
    docs = {"file:///a.py": doc, "file:///b.py": "x = 1\n" * 3000}
    p = CompleteParams(
        text="Why does line 2500 fail?",
        turns=[Turn("user", "old question " * 400), Turn("assistant", "old answer " * 400),
               Turn("user", "recent question"), Turn("assistant", "recent answer")],
        context=EditorContext(active_uri="file:///a.py", selection=Range(Position(2500, 0), Position(2501, 0)),
                              referenced_uris=["file:///b.py"],
                              diagnostics=[Diagnostic("NameError: x", 1, range=Range(Position(2500, 4), Position(2500, 5)))]))
    prompt = build_prompt(p, docs.get, context_window=8192, max_output=1024)
    total = sum(len(m.content) for m in prompt.messages("openai")) + len(prompt.system)
    assert total / 4 <= prompt.info.budget_tokens
    assert prompt.info.budget_tokens == 8192 - 1024 - 409
    assert "line 2500 of the module" in prompt.context and "NameError: x" in prompt.context
    assert "Why does line 2500 fail?" in prompt.messages("openai")[-1].content
    assert [t.content for t in prompt.turns][-2:] == ["recent question", "recent answer"]
    assert any(t.startswith("document file:///a.py: lines") for t in prompt.info.trimmed)
    # Anthropic: context and question are separate blocks, so the context can be cached
    msgs = prompt.messages("anthropic")
    assert msgs[-1].content == "Why does line 2500 fail?" and msgs[-2].content == prompt.context
    # a large window carries everything
    big = build_prompt(p, docs.get, context_window=200_000, max_output=4096)
    assert not [t for t in big.info.trimmed if "turns" in t] and len(big.turns) == 4
