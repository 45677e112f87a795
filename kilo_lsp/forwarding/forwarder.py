"""Forwarding: route a request, build the prompt, call the provider with failover, record the cost.

``Forwarder.complete`` is the whole code path of ``kilo/complete``; the LSP feature only turns its
chunks into ``kilo/chunk`` notifications (and work-done progress) and its result into the response.

A provider or route cooling down after failures is skipped (``providers/breaker.py``: counted per
incident, Retry-After honoured, a trial when nothing else can answer): connect, timeout, TLS, auth
and rate-limit failures before the response cool the whole provider; a 5xx, a malformed answer or
a stream that breaks after the server answered cool only that model there (``failover.MODEL_SCOPED``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Callable

from ..config import Settings
from ..context import DocumentText
from ..leaderboard.model import Leaderboard, Model
from ..ledger.store import Ledger, LedgerEntry
from ..protocol import (Attempt, Chunk, CompleteParams, CompleteResult, CredentialsResult, DecisionCard,
                        ErrorView, PromptInfo, SetCredentialsParams, UsageParams, UsageResult, UsageView)
from ..providers.base import ChatRequest, ProviderError, ProviderSpec, Timeouts, Usage, estimate_usage, mask_key
from ..providers.breaker import WAIT
from ..providers.known import KNOWN
from ..providers.local import local_endpoints
from ..providers.registry import ProviderPool
from ..routing.engine import Engine
from .errors import CompletionError, no_model_advice
from .failover import MAX_ATTEMPTS, MODEL_SCOPED, Route, failover_plan
from .prompt import build_prompt

log = logging.getLogger("kilo_lsp.complete")

DEFAULT_MAX_OUTPUT = 4096


def provider_specs(settings: Settings) -> list[ProviderSpec]:
    """One spec per provider with a key (user-level settings only) and per local server."""
    specs: list[ProviderSpec] = []
    for name, ps in settings.providers.items():
        known = KNOWN.get(name)
        base_url = ps.base_url or (known.base_url if known else "")
        if not base_url or (known is not None and known.local):
            continue
        specs.append(ProviderSpec(name=name, kind=known.kind if known else "openai", base_url=base_url,
                                  api_key=ps.api_key or None, local=False,
                                  extra_headers=dict(known.extra_headers) if known else {}))
    for name, url in local_endpoints(settings).items():
        specs.append(ProviderSpec(name=name, kind="openai", base_url=url, api_key=None, local=True))
    return specs


def timeouts_of(settings: Settings) -> Timeouts:
    n = settings.network
    return Timeouts(connect=n.connect_timeout, first_byte=n.first_token_timeout, idle=n.idle_timeout)


@dataclass
class _Stream:
    """What one attempt has streamed so far."""

    text: list[str] = field(default_factory=list)
    usage: Usage | None = None
    finish: str | None = None
    first_at: float | None = None


@dataclass
class _Request:
    """One kilo/complete request as its attempts share it."""

    params: CompleteParams
    document_text: DocumentText
    on_chunk: Callable[[Chunk], None] | None
    card: DecisionCard
    board: Leaderboard
    stream_id: str
    started: float
    attempts: list[Attempt] = field(default_factory=list)


class _TryNext(Exception):
    """An attempt failed before its first token in a way another route may not."""

    def __init__(self, error: ProviderError) -> None:
        self.error = error


class Forwarder:
    """Forwards routed requests. Holds the provider pool (one HTTP client per provider) and the
    ledger; both are created lazily and follow the settings."""

    def __init__(self, engine: Engine, ledger: Ledger | None = None, pool: ProviderPool | None = None,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.engine = engine
        self._ledger = ledger
        self.pool = pool
        self._pool_key: tuple[object, ...] | None = None
        self.clock = clock
        #: what to do when nothing is callable, in the editor's words (the server sets it; see errors.py)
        self.no_model_advice: Callable[[], str] = lambda: no_model_advice({}, None, True)
        if engine.spent_today is None:      # daily budgets read the ledger (opened only when a budget is set)
            engine.spent_today = lambda workspace: self.ledger.spent_today(workspace)

    @property
    def ledger(self) -> Ledger:
        if self._ledger is None:
            self._ledger = Ledger()          # the file is opened on first write or read
        return self._ledger

    async def sync_pool(self, settings: Settings) -> ProviderPool:
        """The pool, with specs matching the settings (new keys close the old clients). Its TLS context
        is built off the event loop; a CA bundle that cannot be read is a CompletionError naming it."""
        key = (timeouts_of(settings), settings.network.ca_bundle)
        if self.pool is None or self._pool_key != key:
            if self.pool is not None:
                await self.pool.aclose_all()
            self.pool = ProviderPool(timeouts=key[0], ca_bundle=key[1] or None)
            self._pool_key = key
        try:
            await self.pool.prepare()
        except OSError as exc:
            self.pool, self._pool_key = None, None      # the next request tries again
            raise CompletionError("refused", f"TLS cannot be set up: {exc}") from None
        wanted = {s.name: s for s in provider_specs(settings)}
        for name in [n for n in self.pool.names if n not in wanted]:
            await self.pool.remove(name)
        for spec in wanted.values():
            if self.pool.spec(spec.name) != spec:
                await self.pool.set_spec(spec)
        return self.pool

    async def aclose(self) -> None:
        if self.pool is not None:
            await self.pool.aclose_all()
        if self._ledger is not None:
            self._ledger.close()

    # -- kilo/complete ------------------------------------------------------------------------
    async def complete(self, params: CompleteParams, document_text: DocumentText = lambda uri: None,
                       on_chunk: Callable[[Chunk], None] | None = None) -> CompleteResult:
        started = self.clock()
        card = self.engine.route(params, document_text)
        settings = self.engine.settings(card.workspace)
        board = self.engine.leaderboard(settings)
        if card.reason_code.startswith("budget_exhausted") and not card.callable:
            raise CompletionError("budget", card.reason, card=card)     # what the card says, said again
        if not card.callable:
            raise CompletionError("no_model", "No model can be called. " + self.no_model_advice(), card=card)
        try:
            pool = await self.sync_pool(settings)
        except CompletionError as exc:
            exc.card = card
            raise
        local = {n for n in pool.names if (pool.spec(n) and pool.spec(n).local)}  # type: ignore[union-attr]
        req = _Request(params, document_text, on_chunk, card, board, params.stream_id or card.decision_id, started)
        last_error: ProviderError | None = None
        for route in self._routes(failover_plan(card, board, settings, local), pool, req):
            try:
                return await self._attempt(req, route, pool)
            except _TryNext as failed:
                last_error = failed.error
                log.info("%s failed before the first token (%s); trying the next route", route.provider,
                         failed.error.kind)
        cooling = [a.retry_after for a in req.attempts if a.retry_after]
        if last_error is not None:
            message = f"every route failed before the first token: {last_error}"
        elif any(a.outcome == "skipped" for a in req.attempts):
            message = "every provider for this request is cooling down after failures"
        else:
            message = f"no provider can be called for {card.model} now. {card.reason}"
        raise CompletionError("all_failed", message, card=card, attempts=req.attempts,
                              retry_after=min(cooling) if cooling else None)

    def _routes(self, plan: list[Route], pool: ProviderPool, req: _Request):
        """The routes to call, at most MAX_ATTEMPTS. One whose provider or route is cooling down is
        noted as skipped; when that leaves nothing to call, the skipped route whose cool-down ends
        first goes as a trial (``providers/breaker.py``), unless a Retry-After forbids it."""
        tried = 0
        waiting: list[tuple[float, Route, Attempt]] = []     # (when its cool-down ends, ...)
        for route in plan:
            if tried >= MAX_ATTEMPTS:
                return
            if route.provider not in pool:
                continue
            if not _admit(pool, route):
                wait = max(pool.cooldown_remaining(route.provider), pool.cooldown_remaining(route.pair))
                skipped = Attempt(route.model, route.provider, route.provider_model_id, "skipped", "cooling",
                                  retry_after=round(wait, 3))
                req.attempts.append(skipped)
                ends = max(pool.breakers.ends_at(route.provider), pool.breakers.ends_at(route.pair))
                waiting.append((ends, route, skipped))
                continue
            tried += 1
            yield route
        if tried:
            return
        # the soonest end first; routes whose cool-downs end together (their provider's) keep the plan's order
        for _, route, skipped in sorted(waiting, key=lambda w: w[0]):
            keys = (route.provider, route.pair)
            if all(pool.breakers.can_trial(k) for k in keys):
                for k in keys:
                    pool.breakers.trial_now(k)
                req.attempts.remove(skipped)
                yield route
                return

    async def _attempt(self, req: _Request, route: Route, pool: ProviderPool) -> CompleteResult:
        """One call to one route: the result, or _TryNext / CompletionError when it fails before the
        first token (after it, the partial answer is the result, with the error)."""
        attempt_no = sum(1 for a in req.attempts if a.outcome != "skipped")
        model = req.board.models[route.model]
        max_output = min(req.params.max_tokens or DEFAULT_MAX_OUTPUT, max(256, model.context_window // 4))
        prompt = build_prompt(req.params, req.document_text, model.context_window, max_output)
        provider = pool.get(route.provider)
        chat = ChatRequest(route.provider_model_id, prompt.messages(provider.spec.kind), max_tokens=max_output,
                           temperature=req.params.temperature, system=prompt.system)
        st = _Stream()
        began = self.clock()
        began_at = pool.now()            # the breakers' clock: failures of one incident count once
        try:
            async with contextlib.aclosing(provider.stream(chat)) as events:  # type: ignore[type-var]
                async for ev in events:
                    if ev.type == "text":
                        if st.first_at is None:
                            st.first_at = self.clock()
                        if req.on_chunk is not None:
                            req.on_chunk(Chunk(req.stream_id, len(st.text), ev.text, route.model, route.provider))
                        st.text.append(ev.text)
                    elif ev.type == "usage":
                        st.usage = ev.usage
                    elif ev.type == "finish":
                        st.finish = ev.finish_reason
        except asyncio.CancelledError:
            pool.breakers.release(route.provider)       # a trial that was cancelled says nothing
            pool.breakers.release(route.pair)
            # charged only what the provider received: nothing when the request never went out
            # (it waited for a connection, or was still connecting)
            used = _usage(chat, st) if (chat.sent or st.text) else Usage()
            self._record(req, attempt_no, route, used, "cancelled")
            raise
        except ProviderError as exc:
            req.attempts.append(Attempt(route.model, route.provider, route.provider_model_id, "error", exc.kind,
                                        exc.status, exc.message, exc.retry_after, _ms(st.first_at, began),
                                        round((self.clock() - began) * 1000, 1)))
            # a broken stream, or a fault of one model, cools that route; the rest cools the provider
            route_only = exc.kind in MODEL_SCOPED or exc.midstream or bool(st.text)
            pool.breakers.release(route.provider if route_only else route.pair)
            pool.mark_failure(route.pair if route_only else route.provider, exc, started_at=began_at)
            if st.text:          # after the first token: keep what came, say what broke, no silent switch
                usage = _usage(chat, st)
                costs = self._record(req, attempt_no, route, usage, "error")
                return self._result(req, route, model, st, usage, costs, prompt.info,
                                    ErrorView(exc.kind, exc.message, exc.status, exc.retry_after), "error")
            self._record(req, attempt_no, route, Usage(), "error")
            if not exc.retryable:
                raise CompletionError("refused", str(exc), card=req.card, attempts=req.attempts) from None
            raise _TryNext(exc) from None
        except Exception:
            pool.breakers.release(route.provider)       # a fault of ours: no trial may stay claimed
            pool.breakers.release(route.pair)
            raise
        pool.mark_success(route.provider)
        pool.mark_success(route.pair)
        usage = st.usage or _usage(chat, st)
        costs = self._record(req, attempt_no, route, usage, "ok")
        req.attempts.append(Attempt(route.model, route.provider, route.provider_model_id, "ok", None,
                                    ttft_ms=_ms(st.first_at, began), ms=round((self.clock() - began) * 1000, 1)))
        self._follow(req.card, route)
        return self._result(req, route, model, st, usage, costs, prompt.info, None, st.finish or "stop")

    def _record(self, req: _Request, attempt: int, route: Route, usage: Usage,
                outcome: str) -> tuple[float, float, float]:
        """One ledger row; returns the cost and what the same tokens cost on Balanced and Frontier."""
        board, card = req.board, req.card
        tokens = (usage.input_tokens, usage.output_tokens, usage.cached_input_tokens)
        model = board.models.get(route.model)
        cost = model.prices.cost(*tokens) if model else 0.0
        balanced = board.models[board.balanced].prices.cost(*tokens)
        frontier = board.models[board.frontier].prices.cost(*tokens)
        try:
            self.ledger.record(LedgerEntry(
                decision_id=card.decision_id, attempt=attempt, model=route.model, provider=route.provider,
                outcome=outcome, workspace=card.workspace, conversation=card.conversation_id,
                input_tokens=usage.input_tokens, cached_input_tokens=usage.cached_input_tokens,
                output_tokens=usage.output_tokens, usage_estimated=usage.estimated, cost_usd=cost,
                balanced_cost_usd=balanced, frontier_cost_usd=frontier))
        except Exception as exc:  # noqa: BLE001 - a ledger problem must not lose the answer
            log.warning("usage ledger not written: %s", exc)
        return cost, balanced, frontier

    def _follow(self, card: DecisionCard, route: Route) -> None:
        """After a failover the session's incumbent is the model that actually answered."""
        if route.model == card.model:
            return
        self.engine.answered_by(card.decision_id, route.model)
        session = self.engine.sessions.get(card.workspace, card.conversation_id)
        if session is not None:
            session.model = route.model
            session.context_tokens = 0

    def _result(self, req: _Request, route: Route, model: Model, st: _Stream, usage: Usage,
                costs: tuple[float, float, float], info: PromptInfo, error: ErrorView | None,
                finish: str) -> CompleteResult:
        cost, balanced, frontier = costs
        card = req.card
        return CompleteResult(
            decision_id=card.decision_id, stream_id=req.stream_id, text="".join(st.text), model=route.model,
            model_name=model.name, provider=route.provider, provider_model_id=route.provider_model_id,
            finish_reason=finish,
            usage=UsageView(usage.input_tokens, usage.cached_input_tokens, usage.output_tokens, usage.estimated),
            cost_usd=round(cost, 8), balanced_cost_usd=round(balanced, 8), frontier_cost_usd=round(frontier, 8),
            ttft_ms=_ms(st.first_at, req.started), total_ms=round((self.clock() - req.started) * 1000, 1),
            failed_over=route.model != card.model or route.provider != card.provider,
            attempts=req.attempts, prompt=info, error=error, card=card)

    # -- kilo/usage and kilo/setCredentials -------------------------------------------------
    async def usage(self, params: UsageParams) -> UsageResult:
        """The ledger's totals, computed in a worker thread: a year of rows takes a few hundred
        milliseconds, which would stall every stream if it ran on the event loop."""
        workspace = self.engine.canonical_uri(params.workspace_uri) if params.workspace_uri else None
        return await asyncio.to_thread(self.ledger.usage, workspace=workspace,
                                       conversation=params.conversation_id, day=params.day)

    async def set_credentials(self, params: SetCredentialsParams) -> CredentialsResult:
        config = self.engine.config
        if config is None:
            raise CompletionError("refused", "this sidecar has fixed settings; credentials cannot be changed")
        config.set_secret(params.provider, params.api_key or None)
        settings = self.engine.settings()
        await self.sync_pool(settings)
        board = self.engine.leaderboard(settings)
        current = settings.providers.get(params.provider)
        return CredentialsResult(params.provider, mask_key(current.api_key if current else None),
                                 len(self.engine.reachable(board, settings)))


def _admit(pool: ProviderPool, route: Route) -> bool:
    """Whether the route may be called now: neither its provider nor the route is cooling down; a
    cool-down that has ended makes this call the trial (the others wait until it ends)."""
    keys = (route.provider, route.pair)
    if any(pool.breakers.state(k) == WAIT for k in keys):
        return False
    for k in keys:
        pool.breakers.admit(k)
    return True


def _usage(chat: ChatRequest, st: _Stream) -> Usage:
    """What the provider reported, else an estimate from the prompt and the text that arrived."""
    return st.usage if st.usage is not None else estimate_usage(chat, "".join(st.text))


def _ms(at: float | None, since: float) -> float | None:
    return None if at is None else round((at - since) * 1000, 1)
