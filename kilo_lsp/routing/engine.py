"""The routing engine: one object that the LSP server, the CLI and the benchmarks all call.

``Engine.route`` is the whole code path of ``kilo/route``: read the context, classify, look up the
evidence, apply the policy and the session's affinity, and build the decision card.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from typing import Any, Callable

import msgspec

from ..classify.base import ClassifyInput, Classifier, EditorSignals, TaskState
from ..config import ConfigStore, Settings
from ..context import DocumentText, RequestContext, has_stack_trace, read_context
from ..leaderboard.model import Leaderboard, Model, load as load_leaderboard
from ..protocol import Candidate, CostView, DecisionCard, RouteParams, SessionStatus, SignalView
from . import availability
from .availability import Reach
from .compat import single_model_reason
from .policy import Incumbent, Policy, PolicyInput, PolicyOutcome, Scored
from .session import Session, SessionStore

log = logging.getLogger("kilo_lsp.engine")

#: Pass as ``available`` to compute callable models from the settings' credentials (the default).
FROM_CREDENTIALS = "from-credentials"
MAX_CANDIDATES = 12
DEFAULT_WORKSPACE = "(no workspace)"
DEFAULT_CONVERSATION = "default"


def default_classifier() -> Classifier:
    """The learned classifier when its weights ship with the package, else the hand-built one."""
    # imported at the first request: the classifiers' modules and data stay off the start-up path
    from ..classify import editor
    if editor.weights_available():
        return editor.EditorClassifier()
    from ..classify.heuristic import HeuristicClassifier
    return HeuristicClassifier()


def candidate(s: Scored, chosen: str, what_if: bool) -> Candidate:
    """The decision card's row for one scored model."""
    ev, r = s.evidence, s.reach
    if ev is None:
        rate = ci_low = ci_high = vs_low = per_task = None
        samples = 0
    else:
        rate, ci_low, ci_high, samples, per_task = ev.rate, ev.ci_low, ev.ci_high, ev.n, ev.cost_per_request
        vs_low = ev.vs_balanced.ci_low if ev.vs_balanced else None
    return Candidate(model=s.model.id, provider=r.provider if r else None, callable=r is not None and not what_if,
                     accuracy=rate, ci_low=ci_low, ci_high=ci_high, samples=samples, vs_balanced_low=vs_low,
                     clears_bar=s.clears, estimated_cost_usd=round(s.est_cost, 6),
                     expected_cost_per_task_usd=per_task, note="chosen" if s.model.id == chosen else "")


def _new_id() -> str:
    return "d-" + os.urandom(6).hex()


@dataclass
class ClientInfo:
    editor: str = ""
    plugin_info: Any = None


class Engine:
    def __init__(self, settings: Settings | None = None, config: ConfigStore | None = None,
                 leaderboard: Leaderboard | None = None, classifier: Classifier | None = None,
                 available: Any = FROM_CREDENTIALS):
        self.config = config
        self.fixed_settings = settings
        self._board = leaderboard
        self._board_path: str | None = None if leaderboard is None else "(given)"
        self._classifier = classifier
        self.available = available          # FROM_CREDENTIALS, None (everything) or {model: Reach}
        self.policy = Policy()
        self._defaults: Settings | None = None
        base = self.settings()
        self.sessions = SessionStore(base.routing.max_sessions, base.routing.idle_reset_minutes)
        self.client = ClientInfo()
        self.local_models: list[Model] = []
        self.spent_today: Callable[[str], float] | None = None
        self.on_status: Callable[[SessionStatus], None] | None = None
        self.folder_of: Callable[[str], str | None] = lambda uri: None
        self._lock = threading.Lock()
        self._with_local: Any = None     # (board, local models, the board with them)
        self._reach: Any = None          # (board, keyed providers, prefer_direct, reachable models)
        self._would: Any = None          # (board, {model: where a what-if card says it would be called})

    def warm_up(self) -> None:
        """Load the leaderboard and the classifier ahead of the first request (run off the event loop)."""
        try:
            self.leaderboard()
            self.classifier.classify(ClassifyInput("warm up"))
        except Exception as exc:  # the first request reports the same problem properly
            log.info("warm-up failed: %s", exc)

    # -- inputs ---------------------------------------------------------------------------
    def settings(self, workspace: str | None = None) -> Settings:
        if self.fixed_settings is not None:
            return self.fixed_settings
        if self.config is not None:
            return self.config.effective(workspace)
        if self._defaults is None:      # built once: a Settings takes microseconds to build, per request
            self._defaults = Settings.defaults()
        return self._defaults

    @property
    def classifier(self) -> Classifier:
        if self._classifier is None:
            self._classifier = default_classifier()
        return self._classifier

    def leaderboard(self, settings: Settings | None = None) -> Leaderboard:
        """The leaderboard in force, loaded on first use and again when its path setting changes."""
        settings = settings or self.settings()
        path = settings.routing.leaderboard_path
        if self._board is None or (self._board_path != "(given)" and self._board_path != path):
            self._board = load_leaderboard(path or None)
            self._board_path = path
        board = self._board
        if self.local_models:
            models = tuple(self.local_models)
            cached = self._with_local
            if (cached is not None and cached[0] is board and len(cached[1]) == len(models)
                    and all(a is b for a, b in zip(cached[1], models))):
                return cached[2]
            self._with_local = (board, models, board.with_models(list(models)))
            return self._with_local[2]
        return board

    def reachable(self, board: Leaderboard, settings: Settings) -> dict[str, Reach]:
        """Callable models and their routes: computed once per board and set of keys, not per request."""
        if self.available is None:
            return availability.everything(board)
        if isinstance(self.available, dict):
            return self.available
        keyed, direct = frozenset(settings.credentialed_providers()), settings.routing.prefer_direct
        cached = self._reach
        if cached is not None and cached[0] is board and cached[1] == keyed and cached[2] == direct:
            return cached[3]
        reach = availability.callable_models(board, set(keyed), direct)
        self._reach = (board, keyed, direct, reach)
        return reach

    def workspace_for(self, params: RouteParams) -> str:
        if params.workspace_uri:
            return params.workspace_uri
        if params.context and params.context.active_uri:
            folder = self.folder_of(params.context.active_uri)
            if folder:
                return folder
        return DEFAULT_WORKSPACE

    # -- the decision ---------------------------------------------------------------------
    def route(self, params: RouteParams, document_text: DocumentText = lambda uri: None) -> DecisionCard:
        workspace = self.workspace_for(params)
        conversation = params.conversation_id or DEFAULT_CONVERSATION
        settings = self.settings(workspace)
        overrides = {k: v for k, v in (("tier", params.tier), ("dial", params.dial), ("pin", params.pin)) if v}
        if overrides:
            settings = settings.with_routing(**overrides)
        r = settings.routing
        self.sessions.reconfigure(r.max_sessions, r.idle_reset_minutes)
        board = self.leaderboard(settings)
        session = self.sessions.get(workspace, conversation)
        ctx = read_context(params, document_text, session.turns if session else 0)
        classification = self.classifier.classify(ClassifyInput(
            params.text, ctx.signals, ctx.previous_text, self._task_state(session, ctx)))
        incumbent = None
        if session and session.model and session.tier == r.tier and session.model in board.models:
            incumbent = Incumbent(session.model, session.context_tokens, session.difficulty)
        budget_hit = False
        if settings.budget.daily_usd_per_workspace > 0 and self.spent_today is not None:
            budget_hit = self.spent_today(workspace) >= settings.budget.daily_usd_per_workspace
        outcome = self.policy.decide(PolicyInput(
            classification=classification, board=board, settings=r, reach=self.reachable(board, settings),
            input_tokens=ctx.input_tokens, incumbent=incumbent,
            single_model_reason=single_model_reason(self.client.plugin_info, r.single_model),
            budget_exhausted=budget_hit,
        ))
        # the user's turn in the conversation: the client's own history when it sends one
        turn = max(session.turns if session else 0, sum(1 for t in params.turns if t.role == "user")) + 1
        sticky = incumbent is not None and outcome.model == incumbent.model
        card = self._card(outcome, board, classification, ctx.input_tokens, workspace, conversation, turn, sticky)
        if not params.dry_run:
            self._remember(session, card, workspace, conversation, ctx.input_tokens, outcome.tier, params.text,
                           ctx.signals.has_stack_trace, ctx.active_uri)
        self._trace(settings, card)
        return card

    def route_text(self, text: str, conversation_id: str | None = None, workspace: str | None = None,
                   **kwargs: Any) -> DecisionCard:
        """Route a bare request (benchmarks, the CLI)."""
        return self.route(RouteParams(text=text, conversation_id=conversation_id, workspace_uri=workspace, **kwargs))

    def last_card(self, workspace: str | None, conversation_id: str | None) -> DecisionCard | None:
        session = self.sessions.get(workspace or DEFAULT_WORKSPACE, conversation_id or DEFAULT_CONVERSATION)
        return session.last_card if session else None

    # -- helpers --------------------------------------------------------------------------
    def _task_state(self, session: Session | None, ctx: RequestContext) -> TaskState | None:
        """The task the conversation is on: the session's, else read from the last user turn the client
        sent (a sidecar that restarted, or a conversation routed elsewhere until now)."""
        previous = ctx.previous_text or (session.last_text if session else "")
        uri = ctx.active_uri
        same = (uri == session.last_uri) if session is not None and uri and session.last_uri else None
        if session is not None and session.task_type:
            return TaskState(session.task_type, session.difficulty, previous,
                             session.last_trace if not ctx.previous_text else has_stack_trace(previous), same)
        if not previous:
            return None
        trace = has_stack_trace(previous)
        c = self.classifier.classify(ClassifyInput(previous, EditorSignals(has_stack_trace=trace)))
        return TaskState(c.task_type, c.difficulty, previous, trace)

    def _remember(self, session: Session | None, card: DecisionCard, workspace: str, conversation: str,
                  input_tokens: int, tier: str, text: str, trace: bool, uri: str) -> None:
        changed = session is None or session.model != card.model or session.tier != tier
        if session is None:
            session = Session(workspace, conversation)
        session.turns += 1
        session.context_tokens = input_tokens if changed else max(session.context_tokens, input_tokens)
        session.model, session.tier, session.last_card = card.model, tier, card
        session.task_type, session.difficulty = card.task_type, card.difficulty
        session.last_text, session.last_trace, session.last_uri = text, trace, uri
        self.sessions.put(session)
        if changed and self.on_status is not None:
            self.on_status(SessionStatus(workspace, conversation, card.model, tier, card.reason_code))

    def _card(self, o: PolicyOutcome, board: Leaderboard, c, input_tokens: int, workspace: str,
              conversation: str, turn: int, sticky: bool) -> DecisionCard:
        chosen = board.models[o.model]
        balanced_id = board.balanced
        frontier_id = board.frontier
        costs = {mid: board.models[mid].prices.cost(input_tokens, o.output_tokens)
                 for mid in {o.model, balanced_id, frontier_id}}
        keep = o.scored[:MAX_CANDIDATES]
        kept = {s.model.id for s in keep}
        for must in (o.model, balanced_id, frontier_id):
            if must not in kept:
                keep.extend(s for s in o.scored if s.model.id == must)
                kept.add(must)
        candidates = [candidate(s, o.model, o.what_if) for s in keep]
        would = o.reach or self._would_reach(board, chosen)
        reason = o.reason
        if o.what_if:
            reason += " (What-if: no credentials for this model; add a key or a local server to call it.)"
        return DecisionCard(
            decision_id=_new_id(), model=o.model, model_name=chosen.name,
            provider=would.provider if would else None,
            provider_model_id=would.provider_model_id if would else None,
            callable=o.reach is not None, what_if=o.what_if, tier=o.tier, dial=o.dial,
            task_type=c.task_type, difficulty=c.difficulty, confidence=c.confidence,
            type_confidence=c.type_confidence, difficulty_confidence=c.difficulty_confidence,
            reason_code=o.reason_code, reason=reason, sticky=sticky, escalated=o.escalated, fallback=o.fallback,
            task_class=o.task_class.key if o.task_class else "", candidates=candidates,
            estimated_input_tokens=input_tokens, estimated_output_tokens=o.output_tokens,
            estimated_cost_usd=round(costs[o.model], 6),
            balanced=CostView(balanced_id, round(costs[balanced_id], 6)),
            frontier=CostView(frontier_id, round(costs[frontier_id], 6)),
            leaderboard_version=board.version, classifier=c.classifier,
            signals=[SignalView(s.name, s.detail, round(s.weight, 4)) for s in c.signals],
            workspace=workspace, conversation_id=conversation, turn=turn,
        )

    def _would_reach(self, board: Leaderboard, model: Model) -> Reach | None:
        """Where a model that cannot be called now would be called (what-if cards): a fact of the board
        alone, so it is kept per board rather than worked out for every request."""
        cached = self._would
        if cached is None or cached[0] is not board:
            cached = self._would = (board, {})
        routes = cached[1]
        if model.id not in routes:
            routes[model.id] = availability.reach(model, set(model.routes), True)
        return routes[model.id]

    def _trace(self, settings: Settings, card: DecisionCard) -> None:
        path = settings.log.trace_file
        if not path:
            return
        try:
            line = msgspec.json.encode({"event": "route", "card": card}) + b"\n"
            with self._lock, open(os.path.expanduser(path), "ab") as fh:
                fh.write(line)
        except OSError as exc:
            log.warning("cannot write trace file %s: %s", path, exc.strerror)
