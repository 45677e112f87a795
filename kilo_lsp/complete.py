"""Forwarding: route a request, build the prompt, call the provider with failover, record the cost.

``Forwarder.complete`` is the whole code path of ``kilo/complete``; the LSP handler only turns its
chunks into ``kilo/chunk`` notifications (and work-done progress) and its result into JSON.

Failover, before the first token only: when a provider fails in a way another provider may not
(connect, timeout, 429, 5xx, auth, TLS, a broken stream), the next attempt goes, in order, to the
same model through its other callable providers, then to the next candidates of the decision
card that clear the bar, then to Balanced; at most ``MAX_ATTEMPTS`` calls. A provider cooling down
after failures (Retry-After honoured, see ``ProviderPool``) is skipped: connect, timeout, TLS, auth
and rate-limit failures cool the whole provider, a 5xx or a broken stream only that model there. After the first token nothing is switched silently:
the result carries the partial text and the error.

Prompt budget (per attempt, so a fall-back model with a smaller window gets a smaller prompt):
``input budget = context window - max output tokens - max(256, 5 % of the window)``, in tokens of
about 4 characters. It is filled in this order, each part taking what is left: the system prompt
and the request itself (kept whole while they fit; a request too long for the window is cut in
the middle), the selection, the diagnostics (at most 50), earlier turns (newest first), the
active document (a window around the selection, at most ``MAX_DOCUMENT_TOKENS``), then the
referenced documents. What was cut is listed in ``prompt.trimmed``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from .config import Settings
from .context import CHARS_PER_TOKEN, MAX_DOCUMENT_TOKENS, DocumentText, selection_text
from .engine import Engine
from .leaderboard.model import Leaderboard, Model
from .ledger import Ledger, LedgerEntry
from .methods import COMPLETE, SET_CREDENTIALS, USAGE
from .protocol import DecisionCard, RouteParams
from .providers.base import (ChatMessage, ChatRequest, ProviderError, ProviderSpec, Timeouts, Usage,
                             estimate_tokens)
from .routing.availability import is_local_provider

if TYPE_CHECKING:
    from .providers.registry import KnownProvider, ProviderPool

log = logging.getLogger("kilo_lsp.complete")

DEFAULT_SYSTEM = ("You are a coding assistant inside the user's editor. Answer the request directly and "
                  "concisely; put code in fenced blocks with the language named.")
DEFAULT_MAX_OUTPUT = 4096
MAX_ATTEMPTS = 4
MAX_DIAGNOSTICS = 50
MODEL_SCOPED = frozenset(("server", "protocol", "client"))   # failures that cool one model, not its provider


# -- params and results ---------------------------------------------------------------------
@dataclass(frozen=True)
class CompleteParams(RouteParams):
    """A kilo/route request plus what forwarding needs."""

    max_tokens: int | None = None        # cap on the answer (default: min(4096, window / 4))
    temperature: float | None = None
    system: str | None = None            # replaces the default system prompt
    stream_id: str | None = None         # echoed in kilo/chunk; default: the decision id

    def validate(self, path: str) -> None:
        super().validate(path)
        from .wire import ParamError
        if self.max_tokens is not None and not 1 <= self.max_tokens <= 1_000_000:
            raise ParamError("maxTokens", "must be between 1 and 1000000")
        if self.temperature is not None and not 0 <= self.temperature <= 2:
            raise ParamError("temperature", "must be between 0 and 2")
        if self.dry_run:
            raise ParamError("dryRun", "kilo/complete always forwards; use kilo/route for a dry run")


@dataclass(frozen=True)
class Chunk:
    """The kilo/chunk notification: one text delta of a stream."""

    stream_id: str
    seq: int                             # 0, 1, 2, ... per stream
    text: str
    model: str
    provider: str


@dataclass(frozen=True)
class Attempt:
    model: str
    provider: str
    provider_model_id: str
    outcome: str                         # ok | error | cancelled | skipped
    error_kind: str | None = None        # ProviderError kind, or "cooling" for a skipped provider
    status: int | None = None
    message: str = ""
    retry_after: float | None = None
    ttft_ms: float | None = None
    ms: float = 0.0


@dataclass(frozen=True)
class UsageView:
    input_tokens: int
    cached_input_tokens: int
    output_tokens: int
    estimated: bool


@dataclass(frozen=True)
class PromptInfo:
    budget_tokens: int                   # input budget for the model that answered
    estimated_tokens: int                # what the prompt sent is estimated at
    trimmed: list[str]                   # what was cut or left out, e.g. "document file:///a.py: 1200 of 9000 lines"


@dataclass(frozen=True)
class ErrorView:
    kind: str
    message: str
    status: int | None = None
    retry_after: float | None = None


@dataclass(frozen=True)
class CompleteResult:
    decision_id: str
    stream_id: str
    text: str                            # the whole answer (partial when ``error`` is set)
    model: str                           # the model that answered (may differ from card.model after failover)
    model_name: str
    provider: str
    provider_model_id: str
    finish_reason: str                   # stop | length | ... | error | cancelled
    usage: UsageView
    cost_usd: float
    balanced_cost_usd: float             # the same tokens on Balanced / Frontier
    frontier_cost_usd: float
    ttft_ms: float | None                # from the request to the first token, routing included
    total_ms: float
    failed_over: bool
    attempts: list[Attempt]
    prompt: PromptInfo
    error: ErrorView | None              # set when the stream broke after the first token
    card: DecisionCard


@dataclass(frozen=True)
class UsageParams:
    workspace_uri: str | None = None
    conversation_id: str | None = None
    day: str | None = None               # YYYY-MM-DD (local date)


@dataclass(frozen=True)
class SetCredentialsParams:
    provider: str
    api_key: str | None = None           # None or "" forgets the key pushed for this provider

    def validate(self, path: str) -> None:
        from .wire import ParamError
        if not self.provider.strip():
            raise ParamError("provider", "must not be empty")
        known = _known()
        if self.provider not in known:
            raise ParamError("provider", f"unknown provider {self.provider!r}; known: {', '.join(sorted(known))}")
        if known[self.provider].local:
            raise ParamError("provider", f"{self.provider} is a local server and takes no key")


@dataclass(frozen=True)
class CredentialsResult:
    provider: str
    api_key: str                         # masked: "sk-…abcd", "set" or "unset"
    callable_models: int                 # models callable now, across all providers


class CompletionError(Exception):
    """No answer: nothing callable, budget spent, or every attempt failed before the first token."""

    def __init__(self, code: str, message: str, *, card: DecisionCard | None = None,
                 attempts: list[Attempt] | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.code = code                 # no_model | budget | all_failed | refused
        self.message = message
        self.card = card
        self.attempts = attempts or []
        self.retry_after = retry_after

    def data(self) -> dict[str, Any]:
        from .wire import unstructure
        return {"code": self.code, "retryAfter": self.retry_after, "attempts": unstructure(self.attempts),
                "decisionId": self.card.decision_id if self.card else None}


def _known() -> "dict[str, KnownProvider]":
    """The table of known providers (imported here: httpx stays off the start-up path)."""
    from .providers.registry import KNOWN
    return KNOWN


# -- the prompt -----------------------------------------------------------------------------
def _tokens(text: str) -> int:
    return estimate_tokens(text)


def _cut_middle(text: str, max_tokens: int) -> str:
    chars = max(0, max_tokens * CHARS_PER_TOKEN)
    if len(text) <= chars:
        return text
    half = max(0, chars // 2 - 20)
    return text[:half] + "\n[... cut to fit the context window ...]\n" + text[len(text) - half:]


def _window(text: str, max_tokens: int, focus_line: int | None) -> tuple[str, str | None]:
    """At most ``max_tokens`` of a document, as whole lines around ``focus_line``."""
    if _tokens(text) <= max_tokens:
        return text, None
    lines = text.splitlines(keepends=True)
    budget = max_tokens * CHARS_PER_TOKEN
    focus = min(max(focus_line or 0, 0), max(len(lines) - 1, 0))
    lo = hi = focus
    used = len(lines[focus]) if lines else 0
    while True:
        grew = False
        if hi + 1 < len(lines) and used + len(lines[hi + 1]) <= budget:
            hi += 1
            used += len(lines[hi])
            grew = True
        if lo > 0 and used + len(lines[lo - 1]) <= budget:
            lo -= 1
            used += len(lines[lo])
            grew = True
        if not grew:
            break
    kept = "".join(lines[lo:hi + 1])[:budget]
    return kept, f"lines {lo + 1}-{hi + 1} of {len(lines)}"


@dataclass
class Prompt:
    system: str
    turns: list[ChatMessage]
    context: str                         # the editor context block ("" when none)
    question: str
    info: PromptInfo

    def messages(self, kind: str) -> list[ChatMessage]:
        """Chat messages for an API family: Anthropic gets the context as its own block (so it can
        be cached); OpenAI-compatible servers get one user message (some chat templates insist
        on alternating roles)."""
        msgs = list(self.turns)
        if self.context and kind == "anthropic":
            msgs += [ChatMessage("user", self.context), ChatMessage("user", self.question)]
        elif self.context:
            msgs.append(ChatMessage("user", self.context + "\n\n" + self.question))
        else:
            msgs.append(ChatMessage("user", self.question))
        return msgs


def build_prompt(params: CompleteParams, document_text: DocumentText, context_window: int,
                 max_output: int) -> Prompt:
    """The prompt for one model, trimmed to its window (see the module docstring for the budget)."""
    budget = max(256, context_window - max_output - max(256, context_window // 20))
    left = budget
    trimmed: list[str] = []
    system = params.system or DEFAULT_SYSTEM
    left -= _tokens(system) + 8
    question = params.text
    if _tokens(question) > max(64, left):
        question = _cut_middle(question, max(64, left))
        trimmed.append("request: cut in the middle")
    left -= _tokens(question) + 8
    parts: list[str] = []

    def take(label: str, text: str, cap: int | None = None) -> str | None:
        nonlocal left
        if not text:
            return None
        allowed = min(left, cap) if cap is not None else left
        if allowed <= 32:
            trimmed.append(f"{label}: left out")
            return None
        if _tokens(text) > allowed:
            text = _cut_middle(text, allowed)
            trimmed.append(f"{label}: cut in the middle")
        left -= _tokens(text) + 16
        return text

    ctx = params.context
    selected = selection_text(params, document_text)
    sel = take("selection", selected)
    if sel:
        where = f" of {ctx.active_uri}" if ctx and ctx.active_uri else ""
        parts.append(f"Selected code{where}:\n```\n{sel}\n```")
    if ctx and ctx.diagnostics:
        lines = []
        for d in ctx.diagnostics[:MAX_DIAGNOSTICS]:
            kind = {1: "error", 2: "warning", 3: "info", 4: "hint"}.get(d.severity, "note")
            at = f" at {d.uri or ctx.active_uri or ''}:{d.range.start.line + 1}" if d.range else ""
            lines.append(f"- {kind}{at}: {d.message}")
        if len(ctx.diagnostics) > MAX_DIAGNOSTICS:
            trimmed.append(f"diagnostics: {len(ctx.diagnostics) - MAX_DIAGNOSTICS} left out")
        diag = take("diagnostics", "\n".join(lines))
        if diag:
            parts.append("Diagnostics:\n" + diag)
    # earlier turns, newest first, whole turns only
    kept_turns: list[ChatMessage] = []
    for i, turn in enumerate(reversed(params.turns)):
        cost = _tokens(turn.content) + 8
        if cost > left - 32:
            trimmed.append(f"turns: {len(params.turns) - i} older turn(s) left out")
            break
        kept_turns.insert(0, ChatMessage(turn.role, turn.content))
        left -= cost
    uris: list[str] = []
    if ctx and ctx.active_uri:
        uris.append(ctx.active_uri)
    if ctx:
        uris += [u for u in ctx.referenced_uris if u not in uris]
    for n, uri in enumerate(uris):
        text = document_text(uri)
        if text is None:
            continue
        focus = ctx.selection.start.line if (n == 0 and ctx and ctx.selection) else None
        cap = min(left - 32, MAX_DOCUMENT_TOKENS)
        if cap <= 32:
            trimmed.append(f"document {uri}: left out")
            continue
        body, cut = _window(text, cap, focus)
        if cut:
            trimmed.append(f"document {uri}: {cut}")
        left -= _tokens(body) + 16
        label = "Active document" if n == 0 and ctx and uri == ctx.active_uri else "Referenced document"
        parts.append(f"{label} {uri}:\n```\n{body}\n```")
    context = ("Context from the editor:\n\n" + "\n\n".join(parts)) if parts else ""
    estimated = budget - left
    return Prompt(system, kept_turns, context, question, PromptInfo(budget, max(0, estimated), trimmed))


# -- providers from settings --------------------------------------------------------------
def provider_specs(settings: Settings) -> list[ProviderSpec]:
    """One spec per provider with a key (user-level settings only) and per local server."""
    from .local_models import local_endpoints
    specs: list[ProviderSpec] = []
    table = _known()
    for name, ps in settings.providers.items():
        known = table.get(name)
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


# -- forwarding -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Route:
    model: str
    provider: str
    provider_model_id: str


def failover_plan(card: DecisionCard, board: Leaderboard, settings: Settings, local: set[str]) -> list[Route]:
    """The chosen model through each callable provider, then the other candidates that clear the
    bar (in the card's order), then Balanced. Free-only when the tier is free or the budget is spent."""
    keyed = settings.credentialed_providers() | local
    free_only = card.tier == "free" or card.reason_code.startswith("budget_exhausted")
    out: list[Route] = []

    def add(model_id: str, first: tuple[str | None, str | None] = (None, None)) -> None:
        model = board.models.get(model_id)
        if model is None or (free_only and not (model.free or model.local)):
            return
        options = []
        if first[0] and first[1]:
            options.append((first[0], first[1]))
        options += [(p, mid) for p, mid in model.routes.items() if p in keyed or (is_local_provider(p) and p in local)]
        for provider, pmid in options:
            r = Route(model_id, provider, pmid)
            if r not in out:
                out.append(r)

    add(card.model, (card.provider, card.provider_model_id))
    for cand in card.candidates:
        if cand.model != card.model and cand.clears_bar and cand.callable:
            add(cand.model)
    add(board.balanced)
    return out[:MAX_ATTEMPTS * 2]


@dataclass
class _Stream:
    text: list[str] = field(default_factory=list)
    usage: Usage | None = None
    finish: str | None = None
    first_at: float | None = None


class Forwarder:
    """Forwards routed requests. Holds the provider pool (one HTTP client per provider) and the
    ledger; both are created lazily and follow the settings."""

    def __init__(self, engine: Engine, ledger: Ledger | None = None, pool: ProviderPool | None = None,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.engine = engine
        self._ledger = ledger
        self.pool = pool
        self._pool_key: tuple[Any, ...] | None = None
        self.clock = clock
        if engine.spent_today is None:      # daily budgets read the ledger (opened only when a budget is set)
            engine.spent_today = lambda workspace: self.ledger.spent_today(workspace)

    @property
    def ledger(self) -> Ledger:
        if self._ledger is None:
            self._ledger = Ledger()          # the file is opened on first write or read
        return self._ledger

    async def sync_pool(self, settings: Settings) -> ProviderPool:
        """The pool, with specs matching the settings (new keys close the old clients)."""
        key = (timeouts_of(settings), settings.network.ca_bundle)
        if self.pool is None or self._pool_key != key:
            from .providers.registry import ProviderPool
            if self.pool is not None:
                await self.pool.aclose_all()
            self.pool = ProviderPool(timeouts=key[0], ca_bundle=key[1] or None)
            self._pool_key = key
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

    def _record(self, card: DecisionCard, attempt: int, route: Route, board: Leaderboard, usage: Usage,
                outcome: str) -> tuple[float, float, float]:
        model = board.models.get(route.model)
        cost = model.prices.cost(usage.input_tokens, usage.output_tokens, usage.cached_input_tokens) if model else 0.0
        balanced = board.models[board.balanced].prices.cost(usage.input_tokens, usage.output_tokens,
                                                             usage.cached_input_tokens)
        frontier = board.models[board.frontier].prices.cost(usage.input_tokens, usage.output_tokens,
                                                            usage.cached_input_tokens)
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

    async def complete(self, params: CompleteParams, document_text: DocumentText = lambda uri: None,
                       on_chunk: Callable[[Chunk], None] | None = None) -> CompleteResult:
        t0 = self.clock()
        card = self.engine.route(params, document_text)
        workspace = card.workspace
        settings = self.engine.settings(workspace)
        board = self.engine.leaderboard(settings)
        if not card.callable:
            raise CompletionError("no_model", "No model can be called: add a provider key (kilo/setCredentials) "
                                  "or start a local server. " + card.reason, card=card)
        if card.reason_code == "budget_exhausted_no_free":
            raise CompletionError("budget", card.reason, card=card)
        pool = await self.sync_pool(settings)
        local = {n for n in pool.names if (pool.spec(n) and pool.spec(n).local)}  # type: ignore[union-attr]
        plan = failover_plan(card, board, settings, local)
        stream_id = params.stream_id or card.decision_id
        attempts: list[Attempt] = []
        tried = 0
        last_error: ProviderError | None = None
        for route in plan:
            if tried >= MAX_ATTEMPTS:
                break
            if route.provider not in pool:
                continue
            pair = f"{route.provider}|{route.provider_model_id}"
            if pool.is_cooling(route.provider) or pool.is_cooling(pair):
                wait = max(pool.cooldown_remaining(route.provider), pool.cooldown_remaining(pair))
                attempts.append(Attempt(route.model, route.provider, route.provider_model_id, "skipped", "cooling",
                                        retry_after=round(wait, 3)))
                continue
            model = board.models[route.model]
            max_output = min(params.max_tokens or DEFAULT_MAX_OUTPUT, max(256, model.context_window // 4))
            prompt = build_prompt(params, document_text, model.context_window, max_output)
            provider = pool.get(route.provider)
            req = ChatRequest(route.provider_model_id, prompt.messages(provider.spec.kind), max_tokens=max_output,
                              temperature=params.temperature, system=prompt.system)
            attempt_no = tried
            tried += 1
            st = _Stream()
            ta = self.clock()
            try:
                async with contextlib.aclosing(provider.stream(req)) as events:  # type: ignore[type-var]
                    async for ev in events:
                        if ev.type == "text":
                            if st.first_at is None:
                                st.first_at = self.clock()
                            if on_chunk is not None:
                                on_chunk(Chunk(stream_id, len(st.text), ev.text, route.model, route.provider))
                            st.text.append(ev.text)
                        elif ev.type == "usage":
                            st.usage = ev.usage
                        elif ev.type == "finish":
                            st.finish = ev.finish_reason
            except asyncio.CancelledError:
                usage = _estimated(req, st)
                self._record(card, attempt_no, route, board, usage, "cancelled")
                raise
            except ProviderError as exc:
                ms = (self.clock() - ta) * 1000
                attempts.append(Attempt(route.model, route.provider, route.provider_model_id, "error", exc.kind,
                                        exc.status, exc.message, exc.retry_after,
                                        _ms(st.first_at, ta), round(ms, 1)))
                # a 5xx or a broken stream is about one model at that provider (a gateway serves many);
                # refused connections, TLS, keys and rate limits are about the provider
                pool.mark_failure(pair if exc.kind in MODEL_SCOPED else route.provider, exc)
                if st.text:      # after the first token: keep what came, say what broke, no silent switch
                    usage = _estimated(req, st)
                    cost, bal, fro = self._record(card, attempt_no, route, board, usage, "error")
                    return self._result(card, stream_id, route, model, st, usage, cost, bal, fro, t0, attempts,
                                        prompt.info, ErrorView(exc.kind, exc.message, exc.status, exc.retry_after),
                                        "error")
                self._record(card, attempt_no, route, board, Usage(), "error")
                last_error = exc
                if not exc.retryable:
                    raise CompletionError("refused", str(exc), card=card, attempts=attempts) from None
                log.info("%s failed before the first token (%s); trying the next route", route.provider, exc.kind)
                continue
            pool.mark_success(route.provider)
            pool.mark_success(pair)
            usage = st.usage or _estimated(req, st)
            cost, bal, fro = self._record(card, attempt_no, route, board, usage, "ok")
            attempts.append(Attempt(route.model, route.provider, route.provider_model_id, "ok", None,
                                    ttft_ms=_ms(st.first_at, ta), ms=round((self.clock() - ta) * 1000, 1)))
            self._follow(card, route)
            return self._result(card, stream_id, route, model, st, usage, cost, bal, fro, t0, attempts,
                                prompt.info, None, st.finish or "stop")
        cooling = [a.retry_after for a in attempts if a.retry_after]
        message = (f"every route failed before the first token: {last_error}" if last_error
                   else "every provider for this request is cooling down after failures")
        raise CompletionError("all_failed", message, card=card, attempts=attempts,
                              retry_after=min(cooling) if cooling else None)

    def _follow(self, card: DecisionCard, route: Route) -> None:
        """After a failover the session's incumbent is the model that actually answered."""
        if route.model == card.model:
            return
        session = self.engine.sessions.get(card.workspace, card.conversation_id)
        if session is not None:
            session.model = route.model
            session.context_tokens = 0

    def _result(self, card: DecisionCard, stream_id: str, route: Route, model: Model, st: _Stream, usage: Usage,
                cost: float, bal: float, fro: float, t0: float, attempts: list[Attempt], info: PromptInfo,
                error: ErrorView | None, finish: str) -> CompleteResult:
        return CompleteResult(
            decision_id=card.decision_id, stream_id=stream_id, text="".join(st.text), model=route.model,
            model_name=model.name, provider=route.provider, provider_model_id=route.provider_model_id,
            finish_reason=finish,
            usage=UsageView(usage.input_tokens, usage.cached_input_tokens, usage.output_tokens, usage.estimated),
            cost_usd=round(cost, 8), balanced_cost_usd=round(bal, 8), frontier_cost_usd=round(fro, 8),
            ttft_ms=_ms(st.first_at, t0), total_ms=round((self.clock() - t0) * 1000, 1),
            failed_over=route.model != card.model or route.provider != card.provider,
            attempts=attempts, prompt=info, error=error, card=card)

    # -- kilo/usage and kilo/setCredentials -------------------------------------------------
    def usage(self, params: UsageParams) -> dict[str, Any]:
        return self.ledger.usage(workspace=params.workspace_uri, conversation=params.conversation_id, day=params.day)

    async def set_credentials(self, params: SetCredentialsParams) -> CredentialsResult:
        from .providers.base import mask_key
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


def _estimated(req: ChatRequest, st: _Stream) -> Usage:
    if st.usage is not None:
        return st.usage
    from .providers.base import estimate_usage
    return estimate_usage(req, "".join(st.text))


def _ms(at: float | None, since: float) -> float | None:
    return None if at is None else round((at - since) * 1000, 1)


# -- LSP wiring ----------------------------------------------------------------------------
COMPLETION_ERROR_CODE = -32001           # kilo/complete gave no answer; data says why (code, attempts)
PROGRESS_INTERVAL = 0.1                  # seconds between work-done progress reports


def register(ls: Any) -> Forwarder:
    """Add kilo/complete, kilo/usage and kilo/setCredentials to a Sidecar (server.py calls this).

    kilo/complete streams one ``kilo/chunk`` notification per text delta (joined while the editor is
    not reading: kilo_lsp/stream_out.py) and, when the params carry
    a ``workDoneToken``, work-done progress (begin, a report at most every 100 ms, end); its
    response carries the whole text, so a client that ignores chunks still works. ``$/cancelRequest``
    (or cancelling the progress) closes the upstream stream at once; pygls answers -32800.
    """
    from lsprotocol import types
    from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams

    from .stream_out import chunk_stream
    from .wire import ParamError, structure_dataclass, unstructure

    forwarder = Forwarder(ls.engine)
    ls.forwarder = forwarder

    def typed(raw: Any, cls: type, method: str) -> Any:
        try:
            return structure_dataclass(raw if raw is not None else {}, cls)
        except ParamError as exc:
            raise JsonRpcInvalidParams(f"{method}: invalid params: {exc}") from exc

    def no_answer(exc: CompletionError) -> JsonRpcException:
        return JsonRpcException(exc.message, COMPLETION_ERROR_CODE, exc.data())

    @ls.feature(COMPLETE)
    async def kilo_complete(ls: Any, raw: Any) -> dict[str, Any]:
        params = typed(raw, CompleteParams, COMPLETE)
        token = raw.get("workDoneToken") if isinstance(raw, dict) else None
        last_report = [0.0]
        count = [0]
        if token is not None:
            ls.work_done_progress.begin(token, types.WorkDoneProgressBegin(
                title="kilo-lsp", message="routing…", cancellable=True))
            task = asyncio.current_task()
            cancel_future = ls.work_done_progress.tokens.get(token)
            if cancel_future is not None and task is not None:
                cancel_future.add_done_callback(lambda f: task.cancel() if f.cancelled() else None)

        chunks: Any = None

        def on_chunk(chunk: Chunk) -> None:
            nonlocal chunks
            if chunks is None:
                chunks = chunk_stream(ls.protocol, chunk.stream_id)
            chunks.send(chunk.text, chunk.model, chunk.provider)
            count[0] += 1
            now = time.monotonic()
            if token is not None and now - last_report[0] >= PROGRESS_INTERVAL:
                last_report[0] = now
                ls.work_done_progress.report(token, types.WorkDoneProgressReport(
                    message=f"{chunk.model} via {chunk.provider}: {count[0]} chunks"))

        outcome = "cancelled"
        try:
            result = await forwarder.complete(params, ls.document_text, on_chunk)
            outcome = (f"{result.model_name}: {result.usage.output_tokens} tokens, ${result.cost_usd:.4f}"
                       if result.error is None else f"{result.model_name}: stopped ({result.error.kind})")
            return unstructure(result)
        except CompletionError as exc:
            outcome = f"no answer ({exc.code})"
            raise no_answer(exc) from None
        finally:
            if token is not None:
                ls.work_done_progress.end(token, types.WorkDoneProgressEnd(message=outcome))

    @ls.feature(USAGE)
    def kilo_usage(ls: Any, raw: Any) -> dict[str, Any]:
        params = typed(raw, UsageParams, USAGE)
        return _camel_keys(forwarder.usage(params))

    @ls.feature(SET_CREDENTIALS)
    async def kilo_set_credentials(ls: Any, raw: Any) -> dict[str, Any]:
        params = typed(raw, SetCredentialsParams, SET_CREDENTIALS)
        try:
            return unstructure(await forwarder.set_credentials(params))
        except CompletionError as exc:
            raise no_answer(exc) from None

    return forwarder


def _camel_keys(obj: Any, raw_keys: bool = False) -> Any:
    """The ledger's snake_case totals as the protocol's camelCase JSON; the keys of ``models`` and
    ``outcomes`` are data (model ids, outcomes) and stay as they are."""
    from .wire import camel
    if isinstance(obj, dict):
        return {(k if raw_keys else camel(k)): _camel_keys(v, not raw_keys and k in ("models", "outcomes"))
                for k, v in obj.items()}
    if isinstance(obj, list):
        return [_camel_keys(v) for v in obj]
    return obj
