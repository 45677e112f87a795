"""What the ledger keeps of a decision, and a conversation replayed under the other dial.

A ``DecisionRecord`` is a decision card's routing fields (the model, why, the ladder and rung, the
candidates with their evidence, the cost estimates) plus what the policy needs to decide it again:
the classification's numbers (task type, tier, confidence), whether the turn continued the task and
why its last answer counted as failed, the conversation's model before it, the models the user could
call, the routing settings and the user's own results on the class at that moment. It never holds
the request's text, the classifier's signals (they quote the request), file names, or the words the
user gave with ``kilo/feedback`` (a failed answer is kept as "you said it failed").

``replay`` runs a conversation's decisions through the policy again with another dial. The failed
answers stay where they were (the replay cannot know whether another model would have failed too),
and the conversation's model before each turn is the one the replay chose. A decision's cost is the
model's list price on the tokens the answer actually used (as the ledger's Balanced and Frontier
figures are), or the card's estimate when it was routed and never forwarded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import msgspec

from ..classify.base import Classification
from ..config import RoutingSettings
from ..leaderboard.model import Leaderboard
from .availability import Reach
from .policy import Incumbent, Policy, PolicyInput

#: The RoutingSettings the policy reads, and so the ones a record keeps (not the leaderboard's path:
#: a record names no file).
POLICY_SETTINGS = ("tier", "dial", "pin", "balanced_model", "frontier_model", "min_confidence", "margin", "floor",
                   "switch_factor")
MAX_TEXT = 600


class KeptCandidate(msgspec.Struct, array_like=True, frozen=True):
    """A candidate row of a card, compactly (a JSON array in the ledger)."""

    model: str
    rung: int | None
    accuracy: float | None
    ci_low: float | None
    ci_high: float | None
    samples: int
    source: str | None
    borrowed: bool
    clears_bar: bool
    estimated_cost_usd: float
    callable: bool
    yours_accepted: int = 0
    yours_failed: int = 0
    yours_rate: float | None = None


class PolicyInputs(msgspec.Struct, frozen=True, omit_defaults=True):
    """What the policy read besides the card: enough to decide the same request again."""

    on_task: bool = False                       # the conversation had a model for this task (an incumbent)
    incumbent: str = ""                         # ... which one, the context it had cached, its ladder and rung
    incumbent_context_tokens: int = 0
    incumbent_class: str = ""
    incumbent_ladder: tuple[str, ...] = ()
    incumbent_rung: int = 0
    callable: tuple[str, ...] = ()              # the models the user could call (empty: what-if mode)
    budget_exhausted: bool = False
    single_model_reason: str = ""
    routing: dict[str, object] = {}             # POLICY_SETTINGS
    yours: dict[str, tuple[int, int]] = {}      # the user's own (accepted, failed) on the class, per model


class DecisionRecord(msgspec.Struct, frozen=True, kw_only=True):
    decision_id: str
    time: str                                   # UTC, ISO 8601
    workspace: str
    conversation: str
    turn: int
    model: str
    tier: str
    dial: str
    reason_code: str
    reason: str
    task_type: str
    difficulty: int
    confidence: float
    task_class: str
    ladder: tuple[str, ...] = ()
    rung: int | None = None
    next_rung: str = ""
    sticky: bool = False
    escalated: bool = False
    fallback: bool = False
    what_if: bool = False
    continues_task: bool = False
    failed_reason: str = ""
    estimated_input_tokens: int = 0
    estimated_output_tokens: int = 0
    estimated_cost_usd: float = 0.0
    balanced_model: str = ""
    balanced_cost_usd: float = 0.0
    frontier_model: str = ""
    frontier_cost_usd: float = 0.0
    leaderboard_version: str = ""
    classifier: str = ""
    candidates: tuple[KeptCandidate, ...] = ()
    inputs: PolicyInputs = PolicyInputs()


def kept_failure(failed: str) -> str:
    """A failed answer's reason without the user's own words."""
    return failed.split(":", 1)[0] if failed.startswith("you said it") else failed


def record_of(card, time: str, inputs: PolicyInputs) -> DecisionRecord:
    """The record of a DecisionCard (``protocol.DecisionCard``)."""
    failed = kept_failure(card.failed_reason)
    reason = card.reason.replace(card.failed_reason, failed) if card.failed_reason else card.reason
    return DecisionRecord(
        decision_id=card.decision_id, time=time, workspace=card.workspace, conversation=card.conversation_id,
        turn=card.turn, model=card.model, tier=card.tier, dial=card.dial, reason_code=card.reason_code,
        reason=reason[:MAX_TEXT], task_type=card.task_type, difficulty=card.difficulty,
        confidence=card.confidence, task_class=card.task_class, ladder=tuple(card.ladder), rung=card.rung,
        next_rung=card.next_rung.model if card.next_rung else "", sticky=card.sticky, escalated=card.escalated,
        fallback=card.fallback, what_if=card.what_if, continues_task=card.continues_task, failed_reason=failed,
        estimated_input_tokens=card.estimated_input_tokens, estimated_output_tokens=card.estimated_output_tokens,
        estimated_cost_usd=card.estimated_cost_usd, balanced_model=card.balanced.model,
        balanced_cost_usd=card.balanced.estimated_cost_usd, frontier_model=card.frontier.model,
        frontier_cost_usd=card.frontier.estimated_cost_usd, leaderboard_version=card.leaderboard_version,
        classifier=card.classifier,
        candidates=tuple(KeptCandidate(
            c.model, c.rung, c.accuracy, c.ci_low, c.ci_high, c.samples, c.source, c.borrowed, c.clears_bar,
            c.estimated_cost_usd, c.callable, c.yours.accepted if c.yours else 0, c.yours.failed if c.yours else 0,
            c.yours.rate if c.yours else None) for c in card.candidates),
        inputs=inputs)


def policy_settings(routing: RoutingSettings) -> dict[str, object]:
    return {name: getattr(routing, name) for name in POLICY_SETTINGS}


def encode(record: DecisionRecord) -> bytes:
    return msgspec.json.encode(record)


def decode(raw: bytes | str) -> DecisionRecord:
    return msgspec.json.decode(raw, type=DecisionRecord)


# -- replay ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Spent:
    """What one decision's answer used: tokens of the attempt that answered, and what was paid in all."""

    input_tokens: int
    cached_input_tokens: int
    output_tokens: int
    cost_usd: float


@dataclass(frozen=True)
class ReplayStep:
    decision_id: str
    turn: int
    task_class: str
    model: str                  # what the sidecar chose
    cost_usd: float             # what it cost (measured), or the card's estimate
    replay_model: str           # what the other dial would have chosen
    replay_cost_usd: float      # that model's list price on the same tokens
    replay_reason_code: str
    replay_rung: int | None     # from 1
    measured: bool              # the costs come from the answer's tokens (else from the card's estimate)


@dataclass(frozen=True)
class Replay:
    dial: str
    steps: list[ReplayStep] = field(default_factory=list)
    skipped: int = 0            # decisions whose model is not on the current leaderboard

    @property
    def cost_usd(self) -> float:
        return sum(s.cost_usd for s in self.steps)

    @property
    def replay_cost_usd(self) -> float:
        return sum(s.replay_cost_usd for s in self.steps)

    @property
    def changed(self) -> int:
        return sum(1 for s in self.steps if s.model != s.replay_model)


def other_dial(dial: str) -> str:
    return "bar" if dial == "bill" else "bill"


def replay(records: list[DecisionRecord], board: Leaderboard, dial: str,
           spent: Mapping[str, Spent] | None = None, policy: Policy | None = None) -> Replay:
    """One conversation's decisions (oldest first) decided again with ``dial``; see the module docstring."""
    policy = policy or Policy()
    spent = spent or {}
    steps: list[ReplayStep] = []
    skipped = 0
    prev: tuple[str, str, tuple[str, ...], int, int] | None = None   # model, class, ladder, rung, context tokens
    for rec in records:
        if rec.model not in board.models:
            skipped += 1
            continue
        inp = rec.inputs
        known = {k: v for k, v in inp.routing.items() if k in POLICY_SETTINGS}
        settings = RoutingSettings(**{**known, "dial": dial})    # type: ignore[arg-type]
        c = Classification(rec.task_type, rec.difficulty, rec.confidence, rec.confidence, rec.confidence)
        reach = {m: Reach("replay", m) for m in inp.callable if m in board.models}
        incumbent = None
        if inp.on_task and prev is not None and prev[0] in board.models:
            model, task_class, ladder, rung, context = prev
            incumbent = Incumbent(model, context, task_class, ladder, rung)
        yours = {m: (int(a), int(f)) for m, (a, f) in inp.yours.items()}
        out = policy.decide(PolicyInput(
            classification=c, board=board, settings=settings, reach=reach,
            input_tokens=rec.estimated_input_tokens, incumbent=incumbent,
            single_model_reason=inp.single_model_reason or None, budget_exhausted=inp.budget_exhausted,
            continues=rec.continues_task, failed=rec.failed_reason,
            yours=lambda key, y=yours, cls=rec.task_class: y if key == cls else {}))
        used = spent.get(rec.decision_id)
        if used is not None:
            tokens = (used.input_tokens, used.output_tokens, used.cached_input_tokens)
            cost, again = used.cost_usd, board.models[out.model].prices.cost(*tokens)
        else:
            cost = rec.estimated_cost_usd
            again = board.models[out.model].prices.cost(rec.estimated_input_tokens, rec.estimated_output_tokens)
        steps.append(ReplayStep(rec.decision_id, rec.turn, rec.task_class, rec.model, cost, out.model, again,
                                out.reason_code, None if out.rung is None else out.rung + 1, used is not None))
        context = rec.estimated_input_tokens
        if prev is not None and prev[0] == out.model:
            context = max(prev[4], context)
        prev = (out.model, out.task_class.key if out.task_class else "", out.ladder, out.rung or 0, context)
    return Replay(dial, steps, skipped)

