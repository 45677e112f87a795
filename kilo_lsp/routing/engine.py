"""The routing engine: one object that the LSP server, the CLI and the benchmarks all call.

``Engine.route`` is the whole code path of ``kilo/route``: read the context, classify, look up the
evidence, apply the policy and the session's affinity, and build the decision card.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

import msgspec
from cachetools import TTLCache

from ..classify.base import ClassifyInput, Classifier, EditorSignals, TaskState
from ..config import ConfigStore, RoutingSettings, Settings
from ..context import DocumentText, RequestContext, has_stack_trace, read_context
from ..files import open_checked
from ..leaderboard.model import Leaderboard, Model, load as load_leaderboard
from ..protocol import (Candidate, CostView, DecisionCard, FeedbackParams, RouteParams, RungView, SessionStatus,
                        SignalView, UserResultView)
from . import availability
from .availability import Reach
from .compat import single_model_reason
from .failure import TurnEvidence, diagnostic_errors, error_lines, failure_reason
from .outcomes import OutcomeCounts, OutcomeRecord, is_failure
from .policy import Incumbent, Policy, PolicyInput, PolicyOutcome, Scored
from .replay import DecisionRecord, PolicyInputs, policy_settings, record_of
from .session import Session, SessionStore

log = logging.getLogger("kilo_lsp.engine")

#: Pass as ``available`` to compute callable models from the settings' credentials (the default).
FROM_CREDENTIALS = "from-credentials"
MAX_CANDIDATES = 12
DEFAULT_WORKSPACE = "(no workspace)"
DEFAULT_CONVERSATION = "default"
#: P(the turn continues the conversation's task) from which it does; after the user said the last
#: answer failed, a lower one (the next turn is most likely a retry).
CONTINUES = 0.5
CONTINUES_AFTER_FAILED = 0.25
#: Decisions whose outcome can still be given (kilo/feedback): the most recent, for a day.
DECISIONS_KEPT = 4096
DECISION_TTL_SECONDS = 24 * 3600
MAX_REASON = 200

#: kilo/status's few words for why a session's model changed.
STATUS_REASONS = {
    "ladder_start": "a new task starts on the first rung of its ladder",
    "escalated": "escalated: the task got harder",
    "switched": "switched: the task changed",
    "ladder_top": "at the top of the ladder",
    "incumbent_kept": "kept: switching would lose the prompt cache",
    "low_confidence": "not confident about the task: Balanced",
    "no_evidence": "no evidence for this task: Balanced",
    "pinned": "pinned by the user",
    "budget_exhausted": "today's budget is spent: free and local models only",
}


def default_classifier() -> Classifier:
    """The editor classifier when its weights ship with the package, else the hand-built one."""
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
    y = s.yours
    return Candidate(model=s.model.id, provider=r.provider if r else None, callable=r is not None and not what_if,
                     accuracy=rate, ci_low=ci_low, ci_high=ci_high, samples=samples, vs_balanced_low=vs_low,
                     clears_bar=s.clears, estimated_cost_usd=round(s.est_cost, 6),
                     expected_cost_per_task_usd=per_task, note="chosen" if s.model.id == chosen else "",
                     source=ev.source if ev else None, borrowed=bool(ev and ev.borrowed),
                     rung=None if s.rung is None else s.rung + 1,
                     yours=user_result_view(y) if y is not None else None)


def user_result_view(y: Any) -> UserResultView:
    return UserResultView(y.accepted, y.failed, round(y.rate, 4), round(y.low, 4), round(y.high, 4))


@dataclass
class _DecisionRef:
    """What an outcome given later needs to know about a decision."""

    workspace: str
    conversation: str
    task_class: str
    model: str
    #: whether a model could answer it: a what-if card (nothing callable) may still move its task up the
    #: ladder, but says nothing about the model, so it is never counted in the user's own results
    answerable: bool = True
    outcome: str = ""
    source: str = ""


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
        #: One spelling per URI (the LSP layer sets pygls' canonical form): sessions, budgets and
        #: folder settings are keyed by it.
        self.canonical_uri: Callable[[str], str] = lambda uri: uri
        self._lock = threading.Lock()
        self._board_lock = threading.Lock()
        self._with_local: Any = None     # (board, local models, the board with them)
        self._reach: Any = None          # (board, keyed providers, prefer_direct, reachable models)
        self._would: Any = None          # (board, {model: where a what-if card says it would be called})
        self.outcomes = OutcomeCounts()  # the user's own answers per class and model
        self.on_outcome: Callable[[OutcomeRecord], None] | None = None   # keeps them (the ledger)
        self._decisions: TTLCache = TTLCache(DECISIONS_KEPT, DECISION_TTL_SECONDS)
        #: keeps each decision the sidecar makes (the ledger's decisions; not dry runs)
        self.on_decision: Callable[[DecisionRecord], None] | None = None
        self._reach_ids: Any = None      # (reachable models, their ids sorted) for kept decisions

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

    def board_ready(self, settings: Settings | None = None) -> bool:
        """Whether the leaderboard of ``settings`` is loaded (else ``leaderboard`` reads its file)."""
        path = (settings or self.settings()).routing.leaderboard_path
        return self._board is not None and (self._board_path == "(given)" or self._board_path == path)

    def leaderboard(self, settings: Settings | None = None) -> Leaderboard:
        """The leaderboard in force, loaded on first use and again when its path setting changes.
        The LSP server has it loaded in a worker thread first (``Sidecar.load_leaderboard``); the file
        is read only if it is a regular file of a bounded size (``leaderboard/model.py``)."""
        settings = settings or self.settings()
        if not self.board_ready(settings):
            path = settings.routing.leaderboard_path
            with self._board_lock:
                if not self.board_ready(settings):
                    self._board, self._board_path = load_leaderboard(path or None), path
        board = self._board
        assert board is not None
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
            return self.canonical_uri(params.workspace_uri)
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
        selection = self._selection(params)
        state = self._task_state(session, ctx, selection)
        classification = self.classifier.classify(ClassifyInput(params.text, ctx.signals, state))
        on_task = (session is not None and bool(session.model) and session.tier == r.tier
                   and session.model in board.models)
        turn_now = self._turn_evidence(params, ctx, document_text)
        failed = ""
        continues = state is not None and classification.continues >= CONTINUES
        if on_task:
            assert session is not None
            if session.failed:
                continues = classification.continues >= CONTINUES_AFTER_FAILED
                if continues and classification.continues < CONTINUES:     # read as the task's retry
                    classification = dataclasses.replace(
                        classification, task_type=session.task_type,
                        difficulty=max(classification.difficulty, session.difficulty))
            failed = failure_reason(session.failed, TurnEvidence(
                continues, classification.previous_failed, turn_now[0], session.last_errors, turn_now[1],
                session.last_diagnostics, turn_now[2] is not None and turn_now[2] != session.last_document))
        incumbent = None
        if on_task:
            assert session is not None
            incumbent = Incumbent(session.model, session.context_tokens, session.task_class, session.ladder,
                                  session.rung or 0)
        budget_hit = False
        if settings.budget.daily_usd_per_workspace > 0 and self.spent_today is not None:
            budget_hit = self.spent_today(workspace) >= settings.budget.daily_usd_per_workspace
        reach = self.reachable(board, settings)
        single = single_model_reason(self.client.plugin_info, r.single_model)
        outcome = self.policy.decide(PolicyInput(
            classification=classification, board=board, settings=r, reach=reach,
            input_tokens=ctx.input_tokens, incumbent=incumbent, single_model_reason=single,
            budget_exhausted=budget_hit, continues=continues and on_task, failed=failed,
            yours=self.outcomes.of_class,
        ))
        # the user's turn in the conversation: the client's own history when it sends one
        turn = max(session.turns if session else 0, sum(1 for t in params.turns if t.role == "user")) + 1
        sticky = incumbent is not None and outcome.model == incumbent.model
        card = self._card(outcome, board, classification, ctx.input_tokens, workspace, conversation, turn, sticky,
                          continues and on_task, failed)
        if not params.dry_run:
            if on_task and session is not None and session.last_card is not None:
                self._read_outcome(session.last_card.decision_id, failed, continues)
            self._remember(session, card, outcome, workspace, conversation, ctx.input_tokens, params.text,
                           ctx.signals.has_stack_trace, ctx.active_uri, turn_now, selection)
            if self.on_decision is not None:
                self.on_decision(record_of(card, datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
                                           self._policy_inputs(r, incumbent, reach, budget_hit, single, card)))
        self._trace(settings, card)
        return card

    def _policy_inputs(self, r: RoutingSettings, incumbent: Incumbent | None, reach: dict[str, Reach],
                       budget_hit: bool, single: str | None, card: DecisionCard) -> PolicyInputs:
        """What a kept decision needs to be decided again (``replay.py``)."""
        cached = self._reach_ids
        if cached is None or cached[0] is not reach:
            cached = self._reach_ids = (reach, tuple(sorted(reach)))
        inc = incumbent
        return PolicyInputs(
            on_task=inc is not None, incumbent=inc.model if inc else "",
            incumbent_context_tokens=inc.context_tokens if inc else 0, incumbent_class=inc.task_class if inc else "",
            incumbent_ladder=inc.ladder if inc else (), incumbent_rung=inc.rung if inc else 0,
            callable=cached[1], budget_exhausted=budget_hit, single_model_reason=single or "",
            routing=policy_settings(r), yours=self.outcomes.of_class(card.task_class) if card.task_class else {})

    def last_card(self, workspace: str | None, conversation_id: str | None) -> DecisionCard | None:
        session = self.sessions.get(self.canonical_uri(workspace) if workspace else DEFAULT_WORKSPACE,
                                    conversation_id or DEFAULT_CONVERSATION)
        return session.last_card if session else None

    # -- helpers --------------------------------------------------------------------------
    @staticmethod
    def _selection(params: RouteParams) -> tuple[int, int] | None:
        """The selected lines (first, last) of the active document, when the client sent a selection."""
        sel = params.context.selection if params.context is not None else None
        if sel is None or (sel.start.line, sel.start.character) == (sel.end.line, sel.end.character):
            return None
        return (min(sel.start.line, sel.end.line), max(sel.start.line, sel.end.line))

    def _task_state(self, session: Session | None, ctx: RequestContext,
                    selection: tuple[int, int] | None = None) -> TaskState | None:
        """The task the conversation is on: the session's, else read from the last user turn the client
        sent (a sidecar that restarted, or a conversation routed elsewhere until now). The user is on the
        same code as at that turn when the document is the same and, where both turns selected lines, the
        selections overlap: a selection elsewhere in the file is other code."""
        previous = ctx.previous_text or (session.last_text if session else "")
        uri = ctx.active_uri
        same = (uri == session.last_uri) if session is not None and uri and session.last_uri else None
        if same and selection is not None and session is not None and session.last_selection is not None:
            before = session.last_selection
            same = selection[0] <= before[1] and before[0] <= selection[1]
        if session is not None and session.task_type:
            return TaskState(session.task_type, session.difficulty, previous,
                             session.last_trace if not ctx.previous_text else has_stack_trace(previous), same)
        if not previous:
            return None
        trace = has_stack_trace(previous)
        c = self.classifier.classify(ClassifyInput(previous, EditorSignals(has_stack_trace=trace)))
        return TaskState(c.task_type, c.difficulty, previous, trace)

    @staticmethod
    def _turn_evidence(params: RouteParams, ctx: RequestContext, document_text: DocumentText
                       ) -> tuple[frozenset[str], frozenset[str], int | None]:
        """This turn's pasted error lines, error diagnostics and a hash of the active document's text."""
        diags = params.context.diagnostics if params.context is not None else None
        errors = diagnostic_errors([d.message for d in diags if d.severity == 1]) if diags else frozenset()
        text = document_text(ctx.active_uri) if ctx.active_uri else None
        return error_lines(params.text), errors, None if text is None else hash(text)

    def _remember(self, session: Session | None, card: DecisionCard, outcome: PolicyOutcome, workspace: str,
                  conversation: str, input_tokens: int, text: str, trace: bool, uri: str,
                  turn_now: tuple[frozenset[str], frozenset[str], int | None],
                  selection: tuple[int, int] | None = None) -> None:
        tier = outcome.tier
        changed = session is None or session.model != card.model or session.tier != tier
        if session is None:
            session = Session(workspace, conversation)
        session.turns += 1
        session.context_tokens = input_tokens if changed else max(session.context_tokens, input_tokens)
        session.model, session.tier, session.last_card = card.model, tier, card
        session.task_type, session.difficulty = card.task_type, card.difficulty
        session.last_text, session.last_trace, session.last_uri = text, trace, uri
        session.last_selection = selection
        session.task_class, session.ladder, session.rung = card.task_class, outcome.ladder, outcome.rung
        session.failed = ""
        session.last_errors, session.last_diagnostics, session.last_document = turn_now
        self.sessions.put(session)
        self._decisions[card.decision_id] = _DecisionRef(workspace, conversation, card.task_class, card.model,
                                                             card.callable)
        if (changed or card.failed_reason) and self.on_status is not None:
            self.on_status(SessionStatus(workspace, conversation, card.model, tier, card.reason_code,
                                         self._status_reason(card), card.callable))

    @staticmethod
    def _status_reason(card: DecisionCard) -> str:
        if card.failed_reason and card.reason_code == "escalated":
            return "escalated after a failed answer"
        if card.failed_reason:
            return "the last answer failed; already at the top of the ladder"
        return STATUS_REASONS.get(card.reason_code, card.reason_code.replace("_", " "))

    # -- outcomes -------------------------------------------------------------------------
    def feedback(self, params: FeedbackParams) -> OutcomeRecord | None:
        """The user's word on a decision's answer: counted for its class and model and, when it is the
        last answer of its conversation and says it failed, the next turn on the task moves up a rung.
        None when the decision is unknown (another sidecar's, or older than a day)."""
        ref = self._decisions.get(params.decision_id)
        if ref is None:
            return None
        reason = " ".join((params.reason or "").split())[:MAX_REASON]
        session = self.sessions.get(ref.workspace, ref.conversation)
        if session is not None and session.last_card is not None and session.last_card.decision_id == params.decision_id:
            session.failed = (f"you said it {params.outcome}" + (f": {reason!r}" if reason else "")
                              if is_failure(params.outcome) else "")
        return self._count(params.decision_id, ref, params.outcome, "explicit", reason)

    def _read_outcome(self, decision_id: str, failed: str, continues: bool) -> None:
        """The outcome the next turn shows: failed, or accepted when the user moved on to a new task."""
        ref = self._decisions.get(decision_id)
        if ref is None or ref.source == "explicit":
            return
        if failed:
            self._count(decision_id, ref, "failed", "implicit", failed)
        elif not continues:
            self._count(decision_id, ref, "accepted", "implicit", "the user moved on to a new task")

    def _count(self, decision_id: str, ref: _DecisionRef, outcome: str, source: str, reason: str) -> OutcomeRecord:
        if ref.task_class and ref.answerable:
            self.outcomes.change(ref.task_class, ref.model, outcome, ref.outcome or None)
        ref.outcome, ref.source = outcome, source
        record = OutcomeRecord(decision_id, ref.workspace, ref.conversation, ref.task_class, ref.model, outcome,
                               source, reason)
        if self.on_outcome is not None and ref.answerable:
            self.on_outcome(record)
        return record

    def answered_by(self, decision_id: str, model: str) -> None:
        """After a failover, a decision's outcome belongs to the model that answered."""
        ref = self._decisions.get(decision_id)
        if ref is not None and not ref.outcome:
            ref.model = model

    def _card(self, o: PolicyOutcome, board: Leaderboard, c, input_tokens: int, workspace: str,
              conversation: str, turn: int, sticky: bool, continues: bool, failed: str) -> DecisionCard:
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
        next_rung = None
        if o.rung is not None and o.rung + 1 < len(o.ladder):
            up = o.ladder[o.rung + 1]
            next_rung = CostView(up, round(board.models[up].prices.cost(input_tokens, o.output_tokens), 6))
            if up not in kept:
                candidates.extend(candidate(s, o.model, o.what_if) for s in o.scored if s.model.id == up)
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
            ladder=list(o.ladder), rung=None if o.rung is None else o.rung + 1, next_rung=next_rung,
            ladder_steps=[RungView(m, a, b) for m, (a, b) in zip(o.ladder, o.steps)],
            continues_task=continues, failed_reason=failed,
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
            with self._lock:     # appended only to a regular file: never a pipe or a device (kilo_lsp/files.py)
                fd = open_checked(path, "log.traceFile", os.O_WRONLY | os.O_APPEND | os.O_CREAT)
                try:
                    os.write(fd, line)
                finally:
                    os.close(fd)
        except OSError as exc:
            log.warning("cannot write trace file: %s", exc)
