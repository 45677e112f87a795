"""The routing policy: from a classification, the conversation and the leaderboard to one model, with reasons.

Definitions (also in README, "How a model is chosen"):

- The request's *class* is its task type at its most likely tier (``type:tier``, else ``*:tier``). Its
  evidence rows (one per model, each naming its benchmark and n) and its *ladders* come from the
  leaderboard.
- A *ladder* is a short list of models, cheapest first, that a task starts on and moves up when an
  answer fails. The leaderboard ships one per class and dial, chosen on the per-task outcomes of the
  class's benchmark for a user who notices a failed answer 80% of the time (``training/ladders.py``):
  ``bill`` is the cheapest ladder that solves as many tasks as the Frontier model alone; ``bar`` the
  one that solves the most within Frontier's cost. At run time the ladder keeps the rungs the user can
  call; when fewer than two are left, the callable models with evidence on the class make one
  (cheapest first, each rung stronger than the one below: three of them for ``bill``, the two strongest
  for ``bar``). A rung the user's own answers put clearly below its benchmark is left out
  (``outcomes.py``).
- *Where a conversation stands*: a new task starts on rung 1 of its ladder. A turn that continues the
  task stays on its rung, moves up one rung when the last answer failed (the user said so with
  ``kilo/feedback``, or the turn says so, or the same errors are still in the diagnostics), and moves to
  the first rung at least as strong as its model when the task gets harder (another class). A new task
  whose first rung is cheaper than the conversation's model switches down only when the saving on
  this request beats the prompt cache a switch throws away:
  ``context tokens x (incumbent input price - incumbent cached input price) x switchFactor``.
- *Clears the bar* (on the card): a model whose paired lower bound against Balanced, on the same
  tasks of its benchmark, is at least ``-routing.margin`` (and whose own lower bound reaches
  ``routing.floor``). Balanced always clears it.
- *Hard floor*: a classification whose ``confidence`` is under ``routing.minConfidence`` keeps the
  conversation's model when that model is on the class's ladder or clears the bar; otherwise it goes to
  Balanced, or to the strongest model the user can call when Balanced cannot be called.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from ..classify.base import Classification
from ..config import RoutingSettings
from ..leaderboard.model import Evidence, Leaderboard, Model, TaskClass
from .availability import Reach
from .outcomes import UserResult, posterior, worse_than_promised

#: Expected answer length by task type, in tokens (a documented estimate for cost figures).
OUTPUT_TOKENS = {
    "explain": 400, "small_edit": 300, "docs": 800, "bugfix": 800, "test": 1200, "feature": 1500,
    "refactor": 1500, "perf": 1000, "build": 500, "plan": 1500, "review": 800,
}
MAX_RUNGS = 3


def output_tokens(task_type: str, difficulty: int) -> int:
    return int(OUTPUT_TOKENS.get(task_type, 800) * (1 + 0.5 * (difficulty - 1)))


@dataclass(frozen=True)
class Incumbent:
    """The conversation's model and where its task stands."""

    model: str
    context_tokens: int         # tokens of context the incumbent has cached for this conversation
    task_class: str = ""        # the class of the conversation's task
    ladder: tuple[str, ...] = ()  # that task's ladder, and the rung (0-based) the last answer came from
    rung: int = 0


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
    continues: bool = False             # the turn continues the conversation's task
    failed: str = ""                    # why the last answer counts as failed ("" when it does not)
    #: task class -> model -> (accepted, failed): the user's own answers
    yours: Callable[[str], dict[str, tuple[int, int]]] = field(default=lambda key: {})


@dataclass(slots=True)
class Scored:
    """One model as the policy sees it for one request. Not frozen: the policy builds one per model
    per request, and a frozen dataclass costs several times as much to build."""

    model: Model
    evidence: Evidence | None   # on the request's class
    clears: bool
    est_cost: float             # this request at list prices
    reach: Reach | None
    rung: int | None = None     # 0-based place on the request's ladder
    yours: UserResult | None = None   # the user's own answers on the class


@dataclass(frozen=True)
class PolicyOutcome:
    model: str
    reach: Reach | None
    reason_code: str
    reason: str
    escalated: bool
    fallback: bool
    what_if: bool
    task_class: TaskClass | None
    scored: list[Scored]
    tier: str
    dial: str
    output_tokens: int
    ladder: tuple[str, ...] = ()
    rung: int | None = None
    #: per rung of ``ladder`` whose rungs below are the shipped ones: (solved, tried) on the benchmark
    steps: tuple[tuple[float, float], ...] = ()


def clears_bar(model_id: str, evidence: Evidence | None, balanced: str, settings: RoutingSettings) -> bool:
    if evidence is None or evidence.ci_low < settings.floor:
        return False
    if model_id == balanced:
        return True
    return evidence.vs_balanced is not None and evidence.vs_balanced.ci_low >= -settings.margin


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.0f}%"


def _rate(s: Scored | None) -> float:
    return s.evidence.rate if s is not None and s.evidence is not None else -1.0


@dataclass
class _Request:
    """What the policy knows about one request once every model is scored."""

    pi: PolicyInput
    balanced: str
    frontier: str
    task_class: TaskClass | None
    scored: dict[str, Scored]
    output_tokens: int
    tier: str                           # the settings' tier, or "free" once the budget is spent
    ladder: tuple[str, ...] = ()
    steps: tuple[tuple[float, float], ...] = ()

    def done(self, mid: str, code: str, reason: str, *, escalated: bool = False, fallback: bool = False,
             rung: int | None = None, callable_now: bool = True) -> PolicyOutcome:
        """The outcome for ``mid``; ``callable_now=False`` when the rules forbid calling it even though
        a provider could (the budget is spent): the card then says so, as the completion will."""
        reach = self.pi.reach
        ordered = sorted(self.scored.values(), key=lambda x: (x.rung is None, x.rung or 0, -_rate(x), x.est_cost))
        return PolicyOutcome(mid, reach.get(mid) if callable_now else None, code, reason, escalated, fallback,
                             not reach or mid not in reach, self.task_class, ordered, self.tier,
                             self.pi.settings.dial, self.output_tokens, self.ladder, rung, self.steps)


def runtime_ladder(tc: TaskClass, dial: str, scored: dict[str, Scored], what_if: bool = False) -> tuple[str, ...]:
    """The class's ladder for the dial, on the models the user can call (any model in what-if mode; see
    the module docstring), without the rungs the user's own answers put clearly below their benchmark
    (never the last one)."""
    usable = {mid: s for mid, s in scored.items() if what_if or s.reach is not None}
    full = tc.ladders.get(dial, ())
    shipped = tuple(m for m in full if m in usable)
    if shipped and len(shipped) >= min(2, len(full)):
        return _without_disproven(shipped, scored)
    return _without_disproven(_callable_ladder(dial, usable), scored)


def _without_disproven(ladder: tuple[str, ...], scored: dict[str, Scored]) -> tuple[str, ...]:
    kept = tuple(m for m in ladder[:-1] if not _disproven(scored[m])) + ladder[-1:]
    return kept


def _disproven(s: Scored) -> bool:
    return s.yours is not None and s.evidence is not None and worse_than_promised(s.yours, s.evidence.ci_low)


def _callable_ladder(dial: str, usable: dict[str, Scored]) -> tuple[str, ...]:
    """A ladder of the usable models with evidence on the class, when the shipped one has too few of them."""
    known = sorted((s for s in usable.values() if s.evidence is not None),
                   key=lambda s: (s.est_cost, -s.evidence.rate))
    frontier: list[Scored] = []
    for s in known:                     # each rung stronger than every cheaper one
        if not frontier or s.evidence.rate > frontier[-1].evidence.rate:
            frontier.append(s)
    if dial == "bar":
        frontier = frontier[-2:]
    elif len(frontier) > MAX_RUNGS:
        frontier = [frontier[0], frontier[len(frontier) // 2], frontier[-1]]
    return tuple(s.model.id for s in frontier)


class Policy:
    """Stateless: every input arrives in a PolicyInput, so it is easy to test and to benchmark."""

    def decide(self, pi: PolicyInput) -> PolicyOutcome:
        r = self._request(pi)
        return self._out_of_routing(r) or self._unsure(r) or self._climb(r)

    def _request(self, pi: PolicyInput) -> _Request:
        """Every model scored on the request's class: its evidence, the bar, this request's cost."""
        s, c, board = pi.settings, pi.classification, pi.board
        balanced = s.balanced_model if s.balanced_model in board.models else board.balanced
        tier = min(max(int(c.difficulty), 1), 4)
        tc = board.task_class(c.task_type, tier)
        out_tokens = output_tokens(c.task_type, tier)
        pool = pi.reach if pi.reach else {mid: None for mid in board.models}   # what-if: the whole catalog
        rows = tc.evidence if tc is not None else {}
        yours = pi.yours(tc.key) if tc is not None else {}
        scored: dict[str, Scored] = {}
        for mid in pool:
            model = board.models[mid]
            ev = rows.get(mid)
            mine = yours.get(mid)
            scored[mid] = Scored(model, ev, clears_bar(mid, ev, balanced, s),
                                 model.prices.cost(pi.input_tokens, out_tokens), pool[mid], None,
                                 posterior(ev.rate if ev else None, *mine) if mine else None)
        r = _Request(pi, balanced, s.frontier_model if s.frontier_model in board.models else board.frontier,
                     tc, scored, out_tokens, "free" if pi.budget_exhausted and s.tier != "free" else s.tier)
        if tc is not None:
            r.ladder = runtime_ladder(tc, s.dial, scored, what_if=not pi.reach)
            shipped, steps = tc.ladders.get(s.dial, ()), tc.ladder_steps.get(s.dial, ())
            same = next((i for i, (a, b) in enumerate(zip(r.ladder, shipped)) if a != b), min(len(r.ladder), len(shipped)))
            r.steps = tuple(steps[:same])
            for i, mid in enumerate(r.ladder):
                scored[mid].rung = i
        return r

    def _out_of_routing(self, r: _Request) -> PolicyOutcome | None:
        """Pin, spent budget, a single-model client and the fixed tiers, strongest first."""
        s, pi, balanced = r.pi.settings, r.pi, r.balanced
        if s.pin:
            pinned = pi.board.models.get(s.pin)
            if pinned is not None and pi.budget_exhausted and s.tier != "free" and not (pinned.free or pinned.local):
                return r.done(s.pin, "budget_exhausted_pinned", f"Today's budget for this workspace is spent and "
                              f"the pinned model {s.pin} is paid, so it is not called: unpin it for free and local "
                              "models, or raise the budget.", callable_now=False)
            if pinned is not None:
                return r.done(s.pin, "pinned", f"Pinned to {s.pin} by the user; routing is off.")
            return self._fallback(r, "pin_unknown", f"The pinned model {s.pin!r} is not in the catalog")
        if pi.budget_exhausted and s.tier != "free":
            free = self._best_free(r.scored)
            if free:
                return r.done(free, "budget_exhausted", "Today's budget for this workspace is spent: "
                              f"only free and local models are used ({free}).")
            return r.done(balanced, "budget_exhausted_no_free", "Today's budget is spent and no free or local "
                          f"model is available; showing Balanced ({balanced}) as not callable.", fallback=True,
                          callable_now=False)
        if pi.single_model_reason:
            return self._fallback(r, "single_model", f"One model for every request: {pi.single_model_reason}")
        if r.tier == "balanced":
            return r.done(balanced, "tier_balanced", f"Balanced tier: always {balanced}.")
        if r.tier == "frontier":
            return r.done(r.frontier, "tier_frontier", f"Frontier tier: always {r.frontier}.")
        if r.tier == "free":
            free = self._best_free(r.scored)
            if free:
                ev = r.scored[free].evidence
                tc = r.task_class
                note = f"proven {_pct(ev.rate)} on {tc.key}" if ev and tc else "no benchmark evidence"
                return r.done(free, "tier_free", f"Free tier: {free} ({note}).")
            return r.done(balanced, "no_free_model", "Free tier, but no free or local model is available "
                          "(start Ollama or LM Studio, or add a local endpoint).", fallback=True, callable_now=False)
        return None

    def _unsure(self, r: _Request) -> PolicyOutcome | None:
        """The hard floor: when the classification is not confident, a conversation stays on a model
        known for the class; otherwise the request goes to Balanced (``_fallback``)."""
        c, s = r.pi.classification, r.pi.settings
        if r.pi.failed and r.pi.continues and r.pi.incumbent is not None and r.ladder:
            return None     # a failed answer on a known task moves up its ladder, however the turn reads
        if r.task_class is not None and r.pi.reach and not any(x.evidence is not None for x in r.scored.values()):
            return None     # nothing callable has evidence (local models only): the floor has nothing to guard
        if c.confidence < s.min_confidence:
            why = f"The classifier is not confident ({c.confidence:.2f} < {s.min_confidence:.2f})"
            inc = r.pi.incumbent
            kept = r.scored.get(inc.model) if inc is not None else None
            if (kept is not None and kept.reach is not None and r.task_class is not None
                    and (kept.rung is not None or kept.clears)):
                return r.done(kept.model.id, "low_confidence_kept", f"{why}; the conversation stays on "
                              f"{kept.model.id}, which is {'on the ladder' if kept.rung is not None else 'proven'} "
                              f"for {r.task_class.key}.", rung=kept.rung)
            return self._fallback(r, "low_confidence", why)
        if r.task_class is None:
            return self._fallback(r, "no_evidence", f"No benchmark evidence for {c.task_type} at difficulty "
                                  f"{c.difficulty}")
        return None

    def _fallback(self, r: _Request, code: str, why: str) -> PolicyOutcome:
        """Balanced, or the strongest model the user can call when Balanced cannot be called (in
        what-if mode, with nothing callable, Balanced is shown as not callable)."""
        balanced, reach = r.balanced, r.pi.reach
        if not reach or balanced in reach:
            return r.done(balanced, code, f"{why}, so the request goes to Balanced ({balanced}).", fallback=True)
        best = max(r.scored.values(), key=lambda x: (_rate(x), x.model.prices.output, x.model.id))
        return r.done(best.model.id, code, f"{why}; Balanced ({balanced}) cannot be called, so the request goes "
                      f"to the strongest model you can call, {best.model.id}.", fallback=True)

    def _climb(self, r: _Request) -> PolicyOutcome:
        """The ladder: a new task starts on its first rung; a continuing one stays, moves up after a
        failed answer, or moves to a rung at least as strong when it gets harder."""
        tc, ladder, pi = r.task_class, r.ladder, r.pi
        assert tc is not None
        if not ladder:
            best = max(r.scored.values(), key=lambda x: (_rate(x), -x.est_cost))
            return r.done(best.model.id, "no_model_clears_bar", f"No model you can call has evidence on {tc.key}; "
                          f"using {best.model.id}.")
        inc = pi.incumbent
        on_task = inc is not None and pi.continues and inc.model in r.scored
        if not on_task:
            return self._start(r, inc)
        assert inc is not None
        if inc.model in ladder:
            rung, harder = ladder.index(inc.model), False
        else:
            here = _rate(r.scored.get(inc.model))
            rung = next((i for i, m in enumerate(ladder) if _rate(r.scored[m]) >= here), len(ladder) - 1)
            harder = True
        if pi.failed:
            if rung + 1 < len(ladder):
                nxt = ladder[rung + 1]
                return r.done(nxt, "escalated", f"The last answer failed ({pi.failed}); moving up the {tc.key} "
                              f"ladder to rung {rung + 2} of {len(ladder)}: {nxt} ({self._step(r, rung + 1)}"
                              f"on the class: {self._evidence(r, nxt)}).", escalated=True, rung=rung + 1)
            top = ladder[rung]
            return r.done(top, "ladder_top", f"The last answer failed ({pi.failed}), and {top} is the top rung of "
                          f"the {tc.key} ladder ({' > '.join(ladder)}); staying on it.", rung=rung)
        mid = ladder[rung]
        if harder and mid != inc.model:
            stronger = _rate(r.scored[mid]) > _rate(r.scored.get(inc.model))
            return r.done(mid, "escalated" if stronger else "switched", f"The task is now {tc.key}; moving to rung "
                          f"{rung + 1} of its ladder, {mid} ({self._evidence(r, mid)}), the first at least as "
                          f"strong as {inc.model}.", escalated=stronger, rung=rung)
        return r.done(mid, "ladder_kept", f"The turn continues the task; staying on {mid}, rung {rung + 1} of the "
                      f"{tc.key} ladder ({' > '.join(ladder)}).", rung=rung)

    def _start(self, r: _Request, inc: Incumbent | None) -> PolicyOutcome:
        """A new task on rung 1, unless the conversation's model is at least as strong on the new class
        (further up its ladder, or not proven weaker than rung 1) and switching would save less on this
        request than the prompt cache it throws away."""
        tc, ladder, s = r.task_class, r.ladder, r.pi.settings
        assert tc is not None
        first = ladder[0]
        why = (f"A new {tc.key} task starts on rung 1 of its {s.dial} ladder ({' > '.join(ladder)}, chosen on "
               f"{tc.ladder_tasks or tc.n_tasks} tasks of {tc.ladder_source or tc.source}): {first} "
               f"({self._evidence(r, first)}).")
        if len(ladder) > 1:
            why += (f" An answer that fails moves it up to {ladder[1]} ({self._step(r, 1)}"
                    f"~${r.scored[ladder[1]].est_cost:.4f} for this request).")
        cur = r.scored.get(inc.model) if inc is not None else None
        if (inc is not None and cur is not None and cur.reach is not None and inc.model != first
                and (inc.model in ladder or self._not_weaker(cur, r.scored[first]))):
            saving = cur.est_cost - r.scored[first].est_cost
            p = cur.model.prices
            switch_cost = inc.context_tokens * (p.input - p.cached_input) / 1e6 * s.switch_factor
            if saving <= switch_cost:
                where = (f"rung {ladder.index(inc.model) + 1} of its ladder" if inc.model in ladder
                         else f"{self._evidence(r, inc.model)}, not proven weaker than rung 1")
                return r.done(inc.model, "incumbent_kept", f"A new {tc.key} task; staying on {inc.model} ({where}): "
                              f"starting over on {first} would save ${max(saving, 0):.4f}, no more than the "
                              f"${switch_cost:.4f} of prompt cache it would lose.", rung=cur.rung)
        return r.done(first, "ladder_start", why, rung=0)

    @staticmethod
    def _step(r: _Request, rung: int) -> str:
        """What the benchmark says a rung adds over the rungs below it, when those are the shipped ones."""
        if rung >= len(r.steps) or r.steps[rung][1] <= 0 or r.task_class is None:
            return ""
        solved, tried = r.steps[rung]
        below = " and ".join(r.ladder[:rung])
        return (f"it solved {solved / tried:.0%} of the {tried:.0f} tasks {below} failed on "
                f"{r.task_class.ladder_source or r.task_class.source}; ")

    @staticmethod
    def _not_weaker(s: Scored, first: Scored) -> bool:
        """Its rate on the class reaches rung 1's lower confidence bound."""
        return s.evidence is not None and first.evidence is not None and s.evidence.rate >= first.evidence.ci_low

    @staticmethod
    def _evidence(r: _Request, mid: str) -> str:
        ev = r.scored[mid].evidence
        if ev is None:
            return "no evidence on this class"
        return f"{_pct(ev.rate)} of {ev.n} on {ev.source}{', borrowed' if ev.borrowed else ''}"

    @staticmethod
    def _best_free(scored: dict[str, Scored]) -> str | None:
        free = [x for x in scored.values() if (x.model.free or x.model.local) and x.reach is not None]
        if not free:
            return None
        best = max(free, key=lambda x: (_rate(x), x.model.local, -x.est_cost))
        return best.model.id
