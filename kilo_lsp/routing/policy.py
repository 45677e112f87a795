"""The routing policy: from a classification and the leaderboard to one model, with reasons.

Definitions (also in README, "How a model is chosen"):

- A model *clears the bar* for a task class when the benchmark shows it non-inferior to Balanced
  there: the lower confidence bound of its paired success-rate difference against Balanced is at
  least ``-margin``, and the lower bound of its own success rate is at least ``floor``. Balanced
  clears its own bar by definition. A handful of samples gives wide bounds, so a model with
  little evidence does not clear.
- ``bill`` picks the cheapest callable model that clears the bar (by its measured mean cost per
  task of that class; by list prices when the class has no cost data).
- ``bar`` picks the callable model with the highest proven success rate; models within
  ``TIE_EPSILON`` of it count as tied and the cheapest of them wins.
- Hard floor: a classification less confident than ``minConfidence`` goes to Balanced.
- Session affinity: the incumbent stays while it clears the bar for the new request; when it does
  not, the policy escalates at once; it switches to a cheaper model only when the saving on this
  request beats the prompt cache the switch throws away:
  ``context tokens x (incumbent input price - incumbent cached input price) x switchFactor``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..classify.base import Classification
from ..config import RoutingSettings
from ..leaderboard.model import Evidence, Leaderboard, Model, TaskClass
from .availability import Reach

TIE_EPSILON = 0.01

#: Expected answer length by task type, in tokens (a documented estimate for cost figures).
OUTPUT_TOKENS = {
    "explain": 400, "small_edit": 300, "docs": 800, "bugfix": 800, "test": 1200, "feature": 1500,
    "refactor": 1500, "perf": 1000, "build": 500, "plan": 1500, "review": 800,
}


def output_tokens(task_type: str, difficulty: int) -> int:
    return int(OUTPUT_TOKENS.get(task_type, 800) * (1 + 0.5 * (difficulty - 1)))


@dataclass(frozen=True)
class Incumbent:
    model: str
    context_tokens: int   # tokens of context the incumbent has cached for this conversation


@dataclass(frozen=True)
class PolicyInput:
    classification: Classification
    board: Leaderboard
    settings: RoutingSettings
    reach: dict[str, Reach]             # callable models -> how to reach them
    input_tokens: int
    incumbent: Incumbent | None = None
    single_model_reason: str | None = None
    budget_exhausted: bool = False


@dataclass(frozen=True)
class Scored:
    model: Model
    evidence: Evidence | None
    clears: bool
    est_cost: float          # this request at list prices
    rank_cost: float         # what "cheapest" compares
    reach: Reach | None


@dataclass(frozen=True)
class PolicyOutcome:
    model: str
    reach: Reach | None
    reason_code: str
    reason: str
    sticky: bool
    escalated: bool
    fallback: bool
    what_if: bool
    task_class: TaskClass | None
    scored: list[Scored]
    tier: str
    dial: str
    output_tokens: int


def clears_bar(model_id: str, evidence: Evidence | None, balanced: str, settings: RoutingSettings) -> bool:
    if evidence is None:
        return False
    if evidence.ci_low < settings.floor:
        return False
    if model_id == balanced:
        return True
    return evidence.vs_balanced is not None and evidence.vs_balanced.ci_low >= -settings.margin


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.0f}%"


class Policy:
    """Stateless: every input arrives in a PolicyInput, so it is easy to test and to benchmark."""

    def decide(self, pi: PolicyInput) -> PolicyOutcome:
        s = pi.settings
        c = pi.classification
        board = pi.board
        balanced = s.balanced_model if s.balanced_model in board.models else board.balanced
        frontier = s.frontier_model if s.frontier_model in board.models else board.frontier
        task_class = board.task_class(c.task_type, c.difficulty)
        out_tokens = output_tokens(c.task_type, c.difficulty)
        reach = pi.reach
        what_if = not reach
        pool = reach if reach else {mid: None for mid in board.models}   # what-if: the whole catalog

        scored: dict[str, Scored] = {}
        for mid in pool:
            model = board.models[mid]
            ev = task_class.evidence.get(mid) if task_class else None
            est = model.prices.cost(pi.input_tokens, out_tokens)
            rank_cost = ev.cost_per_request if ev is not None and ev.cost_per_request > 0 else est
            scored[mid] = Scored(model, ev, clears_bar(mid, ev, balanced, s), est, rank_cost, pool[mid])

        tier = "free" if pi.budget_exhausted and s.tier != "free" else s.tier

        def done(mid: str, code: str, reason: str, *, sticky=False, escalated=False, fallback=False) -> PolicyOutcome:
            ordered = sorted(scored.values(), key=lambda x: (not x.clears, x.rank_cost))
            return PolicyOutcome(mid, reach.get(mid), code, reason, sticky, escalated, fallback,
                                 what_if or mid not in reach, task_class, ordered, tier, s.dial, out_tokens)

        # 1. Steps out of routing, strongest first.
        if s.pin:
            if s.pin in board.models:
                return done(s.pin, "pinned", f"Pinned to {s.pin} by the user; routing is off.")
            return done(balanced, "pin_unknown", f"The pinned model {s.pin!r} is not in the catalog; "
                        f"using Balanced ({balanced}).", fallback=True)
        if pi.budget_exhausted and s.tier != "free":
            free = self._best_free(scored)
            if free:
                return done(free, "budget_exhausted", "Today's budget for this workspace is spent: "
                            f"only free and local models are used ({free}).")
            return done(balanced, "budget_exhausted_no_free", "Today's budget is spent and no free or local "
                        f"model is available; showing Balanced ({balanced}) as not callable.", fallback=True)
        if pi.single_model_reason:
            return done(balanced, "single_model", f"One model for every request: {pi.single_model_reason}.",
                        fallback=True)
        if tier == "balanced":
            return done(balanced, "tier_balanced", f"Balanced tier: always {balanced}.")
        if tier == "frontier":
            return done(frontier, "tier_frontier", f"Frontier tier: always {frontier}.")
        if tier == "free":
            free = self._best_free(scored)
            if free:
                ev = scored[free].evidence
                note = f"proven {_pct(ev.rate)} on {task_class.key}" if ev and task_class else "no benchmark evidence"
                return done(free, "tier_free", f"Free tier: {free} ({note}).")
            return done(balanced, "no_free_model", "Free tier, but no free or local model is available "
                        "(start Ollama or LM Studio, or add a local endpoint).", fallback=True)

        # 2. Efficient tier: the hard floor first.
        if c.confidence < s.min_confidence:
            return done(balanced, "low_confidence", f"The classifier is not confident ({c.confidence:.2f} < "
                        f"{s.min_confidence:.2f}), so the request goes to Balanced ({balanced}).", fallback=True)
        if task_class is None:
            return done(balanced, "no_evidence", f"No benchmark evidence for {c.task_type} at difficulty "
                        f"{c.difficulty}; using Balanced ({balanced}).", fallback=True)

        choice = self._pick(scored, s.dial)
        if choice is None:
            best = max(scored.values(), key=lambda x: (x.evidence.rate if x.evidence else -1.0, -x.rank_cost))
            return done(best.model.id, "no_model_clears_bar", f"No available model is proven non-inferior to "
                        f"Balanced on {task_class.key}; using the best available, {best.model.id} "
                        f"({_pct(best.evidence.rate if best.evidence else None)}).", fallback=False)

        # 3. Session affinity.
        inc = pi.incumbent
        if inc is not None and inc.model in scored and inc.model != choice.model.id:
            cur = scored[inc.model]
            cur_rate = cur.evidence.rate if cur.evidence else -1.0
            new_rate = choice.evidence.rate if choice.evidence else -1.0
            incumbent_ok = cur.clears if s.dial == "bill" else cur_rate >= new_rate - TIE_EPSILON
            if not incumbent_ok:
                return done(choice.model.id, "escalated" if new_rate > cur_rate else "switched",
                            f"The incumbent {inc.model} does not clear the bar for {task_class.key}; "
                            f"moving to {choice.model.id} ({_pct(new_rate)}).", escalated=new_rate > cur_rate)
            saving = cur.est_cost - choice.est_cost
            p = cur.model.prices
            switch_cost = inc.context_tokens * (p.input - p.cached_input) / 1e6 * s.switch_factor
            if saving > switch_cost:
                return done(choice.model.id, "switched_down", f"{choice.model.id} clears the bar for "
                            f"{task_class.key} and saves ${saving:.4f} on this request, more than the "
                            f"${switch_cost:.4f} of prompt cache a switch loses.")
            return done(inc.model, "incumbent_kept", f"Staying on {inc.model}: it clears the bar for "
                        f"{task_class.key}, and switching would save ${max(saving, 0):.4f}, less than the "
                        f"${switch_cost:.4f} of prompt cache it would lose.", sticky=True)
        sticky = inc is not None and inc.model == choice.model.id
        rate = _pct(choice.evidence.rate if choice.evidence else None)
        if s.dial == "bill":
            why = (f"Cheapest model proven non-inferior to Balanced on {task_class.key} "
                   f"({rate} solved, margin {s.margin:.0%}).")
            code = "cheapest_clearing_bar"
        else:
            why = f"Strongest proven model on {task_class.key} ({rate} solved; ties go to the cheaper)."
            code = "strongest_proven"
        if sticky:
            why = f"Staying on {choice.model.id}. " + why
        return done(choice.model.id, code, why, sticky=sticky)

    @staticmethod
    def _pick(scored: dict[str, Scored], dial: str) -> Scored | None:
        if dial == "bill":
            clearing = [x for x in scored.values() if x.clears]
            return min(clearing, key=lambda x: (x.rank_cost, x.model.id)) if clearing else None
        proven = [x for x in scored.values() if x.evidence is not None]
        if not proven:
            return None
        top = max(x.evidence.rate for x in proven)  # type: ignore[union-attr]
        tied = [x for x in proven if x.evidence.rate >= top - TIE_EPSILON]  # type: ignore[union-attr]
        return min(tied, key=lambda x: (x.rank_cost, x.model.id))

    @staticmethod
    def _best_free(scored: dict[str, Scored]) -> str | None:
        free = [x for x in scored.values() if (x.model.free or x.model.local) and x.reach is not None]
        if not free:
            return None
        best = max(free, key=lambda x: (x.evidence.rate if x.evidence else -1.0, x.model.local, -x.rank_cost))
        return best.model.id
