"""The routing policy: from a classification and the leaderboard to one model, with reasons.

Definitions (also in README, "How a model is chosen"):

- The classifier gives P(tier) for tiers 1..4 (``Classification.tier_distribution``; a one-hot of its
  tier when it has no probabilities). For every model m with evidence on those tiers' classes:
  expected success ``p(m) = sum_t P(t) * rate(m, t)`` and expected cost
  ``c(m) = sum_t P(t) * cost_per_request(m, t)`` (list prices for this request when a class has no
  cost data). Tiers without a class drop out and P is renormalised; when a conversation's tier was
  raised (a follow-up never lowers its tier), the mass below that tier moves onto it.
- The *most likely tier* is the argmax of P (tiers 3 and 4 counted together, as the leaderboard pools
  them); its class is the request's ``task_class``.
- *Guard*: a model is eligible only if, on the most likely tier's class, the lower confidence bound of
  its paired success-rate difference against Balanced is at least ``-floor_margin`` (``FLOOR_FACTOR``
  x ``routing.margin`` = 15 points by default) and the lower bound of its own rate is at least
  ``routing.floor``: it never picks a model the benchmark proves much worse than Balanced. Balanced is
  always eligible.
- A model *clears the bar* for a class (shown on the decision card) when that lower bound is at least
  ``-routing.margin``; ``P(non-inferior)`` of a model is the P-mass of the tiers where it clears.
- ``bill``: among eligible models, the one minimising ``c(m) - wtp * p(m)``, where ``wtp`` (USD per
  solved task) is the smallest willingness to pay whose routing of the training workload is
  non-inferior to Balanced on a one-sided 95% lower confidence bound: with d_i = solved(chosen, i) -
  solved(Balanced, i) in {-1, 0, 1} from the actual outcomes of each training task,
  ``sum d_i - 1.645 * sqrt(n * var(d)) >= 0`` (the largest grid value, $50, when none reaches it). It
  ships with the classifier's data (``Classification.wtp_usd``, fitted on out-of-fold probabilities
  of the training issues); without it, it is derived from the leaderboard alone (``workload_wtp``:
  each class weighted by its task count, one-hot tiers).
- ``bar``: the eligible model with the highest ``p(m)``; models within ``TIE_EPSILON`` of it are tied
  and the cheapest ``c(m)`` wins.
- Hard floor: a classification whose ``confidence`` is under ``routing.minConfidence`` goes to Balanced.
  The confidence is the classifier's probability that its answer is usable for routing: for the
  learned classifier, P(the tier is right, too high, or one too low at worst), times the type's
  confidence only for short (type-led) requests, where the type sets the tier prior.
- Session affinity: the incumbent stays while it is eligible and its ``p`` is within ``TIE_EPSILON``
  of the choice's; when it is not, the policy moves at once (``escalated`` when the choice's ``p`` is
  higher); it switches to a cheaper choice only when the saving on this request beats the prompt cache
  the switch throws away:
  ``context tokens x (incumbent input price - incumbent cached input price) x switchFactor``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..classify.base import Classification, most_likely_tier
from ..config import RoutingSettings
from ..leaderboard.model import Evidence, Leaderboard, Model, TaskClass
from .availability import Reach

TIE_EPSILON = 0.01
#: The guard's margin is this multiple of ``routing.margin`` (5 points -> 15 points).
FLOOR_FACTOR = 3.0

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
    difficulty: int = 0   # the tier of the conversation's task when the incumbent took it


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


@dataclass(slots=True)
class Scored:
    """One model as the policy sees it for one request. Not frozen: the policy builds one per model
    per request, and a frozen dataclass costs several times as much to build."""

    model: Model
    evidence: Evidence | None
    clears: bool
    est_cost: float          # this request at list prices
    rank_cost: float         # expected cost c(m) under P(tier): what "cheapest" compares
    reach: Reach | None
    p_success: float | None = None   # expected success p(m) under P(tier); None: no evidence on a tier
    eligible: bool = False           # passes the guard on the most likely tier
    p_noninferior: float = 0.0       # P-mass of the tiers where the model clears the bar


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


@dataclass
class _Request:
    """What the policy knows about one request once every model is scored."""

    pi: PolicyInput
    balanced: str
    frontier: str
    probs: tuple[float, ...]            # P(tier) after the tier floor, over tiers with evidence
    task_class: TaskClass | None        # the most likely tier's class
    scored: dict[str, Scored]
    output_tokens: int
    tier: str                           # the settings' tier, or "free" once the budget is spent

    def done(self, mid: str, code: str, reason: str, *, escalated: bool = False,
             fallback: bool = False) -> PolicyOutcome:
        reach = self.pi.reach
        ordered = sorted(self.scored.values(), key=lambda x: (not x.eligible, not x.clears, x.rank_cost))
        return PolicyOutcome(mid, reach.get(mid), code, reason, escalated, fallback,
                             not reach or mid not in reach, self.task_class, ordered, self.tier,
                             self.pi.settings.dial, self.output_tokens)


def clears_bar(model_id: str, evidence: Evidence | None, balanced: str, settings: RoutingSettings,
               margin: float | None = None) -> bool:
    if evidence is None:
        return False
    if evidence.ci_low < settings.floor:
        return False
    if model_id == balanced:
        return True
    m = settings.margin if margin is None else margin
    return evidence.vs_balanced is not None and evidence.vs_balanced.ci_low >= -m


def floor_margin(settings: RoutingSettings) -> float:
    return min(1.0, FLOOR_FACTOR * settings.margin)


def request_tiers(c: Classification, board: Leaderboard) -> tuple[tuple[float, ...], dict[int, TaskClass]]:
    """P(tier) after the tier floor, restricted to tiers with a class (renormalised), and the classes."""
    probs = list(c.tier_distribution())
    floor_t = min(max(int(c.difficulty), 1), 4)
    if most_likely_tier(tuple(probs)) < floor_t:          # a raised tier: mass below it moves onto it
        probs[floor_t - 1] += sum(probs[:floor_t - 1])
        for i in range(floor_t - 1):
            probs[i] = 0.0
    classes: dict[int, TaskClass] = {}
    for t in range(1, 5):
        tc = board.task_class(c.task_type, t)
        if tc is not None and probs[t - 1] > 0:
            classes[t] = tc
        else:
            probs[t - 1] = 0.0
    total = sum(probs)
    if total <= 0:
        return (0.0, 0.0, 0.0, 0.0), {}
    return tuple(x / total for x in probs), classes


def expected(mid: str, probs: tuple[float, ...], classes: dict[int, TaskClass], fallback_cost: float
             ) -> tuple[float | None, float]:
    """(p(m), c(m)) under P(tier); p is None when the model lacks evidence on a tier with mass."""
    p = c = 0.0
    for t, tc in classes.items():
        ev = tc.evidence.get(mid)
        if ev is None:
            return None, fallback_cost
        w = probs[t - 1]
        p += w * ev.rate
        c += w * (ev.cost_per_request if ev.cost_per_request > 0 else fallback_cost)
    return p, c


#: (evidence, clears the bar at ``routing.margin``, passes the guard at ``floor_margin``, success rate,
#: cost per request) of one model on one task class.
Bar = tuple[Evidence, bool, bool, float, float]
NO_BAR: tuple[None, bool, bool, float, float] = (None, False, False, 0.0, 0.0)


def class_bars(board: Leaderboard, balanced: str, settings: RoutingSettings) -> dict[int, dict[str, Bar]]:
    """Per task class of the board (keyed by the class object's id) and model: its evidence and both
    bar tests. They depend on the board and three settings only, so the policy works them out once
    rather than for every model of every request."""
    fm = floor_margin(settings)
    return {id(tc): {mid: (ev, clears_bar(mid, ev, balanced, settings), clears_bar(mid, ev, balanced, settings, fm),
                           ev.rate, ev.cost_per_request)
                     for mid, ev in tc.evidence.items()}
            for tc in board.classes.values()}


def expected_with_bars(mid: str, spread: list[tuple[float, dict[str, Bar]]], fallback_cost: float
                       ) -> tuple[float | None, float, float]:
    """``expected`` over the (P(tier), bars of its class) pairs, and the P-mass of the tiers where the
    model clears the bar, in one pass over the classes."""
    p = c = 0.0
    known = True
    clearing: list[float] = []
    for w, bars in spread:
        bar = bars.get(mid)
        if bar is None:
            known = False
            continue
        _ev, clears, _guard, rate, cost = bar
        if clears:
            clearing.append(w)
        if known:
            p += w * rate
            c += w * (cost if cost > 0 else fallback_cost)
    return (p if known else None), (c if known else fallback_cost), sum(clearing)


_WTP_CACHE: dict[tuple[str, str, float, float, tuple[str, ...]], float] = {}


def workload_wtp(board: Leaderboard, balanced: str, settings: RoutingSettings, models: tuple[str, ...]) -> float:
    """The smallest willingness to pay (USD per solved task) at which picking, per tier class, the model
    minimising cost - wtp * rate among the guard-eligible ``models`` solves at least as many tasks as
    Balanced over the leaderboard's own tasks (classes weighted by their task counts; tier 4 is pooled
    with tier 3 in the shipped leaderboard, so it counts only when there is no tier-3 class)."""
    key = (board.version, balanced, settings.margin, settings.floor, models)
    if key in _WTP_CACHE:
        return _WTP_CACHE[key]
    fm = floor_margin(settings)
    per_class: list[tuple[int, list[tuple[float, float]], float]] = []
    for t in (1, 2, 3, 4):
        tc = board.classes.get(f"*:{t}")
        if tc is None or (t == 4 and "*:3" in board.classes) or balanced not in tc.evidence:
            continue
        opts = [(ev.cost_per_request, ev.rate) for mid, ev in tc.evidence.items()
                if mid in models and clears_bar(mid, ev, balanced, settings, fm)]
        per_class.append((tc.n_tasks, opts, tc.evidence[balanced].rate))
    target = sum(n * r for n, _o, r in per_class)
    cands = {0.0}
    for _n, opts, _r in per_class:
        for c1, r1 in opts:
            for c2, r2 in opts:
                if r2 > r1 and c2 > c1:
                    cands.add((c2 - c1) / (r2 - r1) * (1 + 1e-9))
    best = max(cands) if cands else 0.0
    for lam in sorted(cands):
        got = sum(n * min(opts, key=lambda o: (o[0] - lam * o[1], o[0]))[1] for n, opts, _r in per_class if opts)
        if got >= target - 1e-9:
            best = lam
            break
    _WTP_CACHE[key] = best
    return best


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.0f}%"


class Policy:
    """Stateless: every input arrives in a PolicyInput, so it is easy to test and to benchmark. It keeps
    only ``class_bars`` of the last board and settings it saw, which those inputs determine."""

    def __init__(self) -> None:
        self._bars: tuple[Leaderboard, str, float, float, dict[int, dict[str, Bar]]] | None = None

    def bars(self, board: Leaderboard, balanced: str, s: RoutingSettings) -> dict[int, dict[str, Bar]]:
        """``class_bars`` of this board, computed again when the board or a setting it reads changes."""
        cached = self._bars
        if cached is not None and cached[0] is board and cached[1:4] == (balanced, s.margin, s.floor):
            return cached[4]
        bars = class_bars(board, balanced, s)
        self._bars = (board, balanced, s.margin, s.floor, bars)
        return bars

    def decide(self, pi: PolicyInput) -> PolicyOutcome:
        r = self._request(pi)
        return self._out_of_routing(r) or self._unsure(r) or self._choose(r)

    def _request(self, pi: PolicyInput) -> "_Request":
        """Every model scored for this request: its evidence, cost and eligibility."""
        s, c, board = pi.settings, pi.classification, pi.board
        balanced = s.balanced_model if s.balanced_model in board.models else board.balanced
        probs, classes = request_tiers(c, board)
        top_tier = most_likely_tier(probs) if classes else min(max(int(c.difficulty), 1), 4)
        task_class = classes.get(top_tier) if classes else None
        out_tokens = output_tokens(c.task_type, c.difficulty)
        pool = pi.reach if pi.reach else {mid: None for mid in board.models}   # what-if: the whole catalog
        bars = self.bars(board, balanced, s)
        top = bars[id(task_class)] if task_class else {}
        spread = [(probs[t - 1], bars[id(tc)]) for t, tc in classes.items()]
        scored: dict[str, Scored] = {}
        for mid in pool:
            model = board.models[mid]
            est = model.prices.cost(pi.input_tokens, out_tokens)
            p_m, c_m, p_ni = expected_with_bars(mid, spread, est) if classes else (None, est, 0)
            ev, clears, guard, _rate, _cost = top.get(mid, NO_BAR)
            scored[mid] = Scored(model, ev, clears, est, c_m, pool[mid], p_m, p_m is not None and guard,
                                 round(p_ni, 4))
        return _Request(pi, balanced, s.frontier_model if s.frontier_model in board.models else board.frontier,
                        probs, task_class, scored, out_tokens,
                        "free" if pi.budget_exhausted and s.tier != "free" else s.tier)

    def _out_of_routing(self, r: "_Request") -> PolicyOutcome | None:
        """Pin, spent budget, a single-model client and the fixed tiers, strongest first."""
        s, pi, balanced = r.pi.settings, r.pi, r.balanced
        if s.pin:
            if s.pin in pi.board.models:
                return r.done(s.pin, "pinned", f"Pinned to {s.pin} by the user; routing is off.")
            return self._fallback(r, "pin_unknown", f"The pinned model {s.pin!r} is not in the catalog")
        if pi.budget_exhausted and s.tier != "free":
            free = self._best_free(r.scored)
            if free:
                return r.done(free, "budget_exhausted", "Today's budget for this workspace is spent: "
                              f"only free and local models are used ({free}).")
            return r.done(balanced, "budget_exhausted_no_free", "Today's budget is spent and no free or local "
                          f"model is available; showing Balanced ({balanced}) as not callable.", fallback=True)
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
                          "(start Ollama or LM Studio, or add a local endpoint).", fallback=True)
        return None

    def _unsure(self, r: "_Request") -> PolicyOutcome | None:
        """The hard floor: when the classification is not confident, a conversation stays on a model
        proven for the class; otherwise the request goes to Balanced (``_fallback``)."""
        c, s = r.pi.classification, r.pi.settings
        if r.task_class is not None and r.pi.reach and not any(x.evidence is not None for x in r.scored.values()):
            return None     # nothing callable has evidence (local models only): the floor has nothing to guard
        if c.confidence < s.min_confidence:
            why = f"The classifier is not confident ({c.confidence:.2f} < {s.min_confidence:.2f})"
            inc = r.pi.incumbent
            kept = r.scored.get(inc.model) if inc is not None else None
            if kept is not None and kept.eligible and kept.reach is not None and r.task_class is not None:
                return r.done(kept.model.id, "low_confidence_kept", f"{why}; the conversation stays on "
                              f"{kept.model.id}, which is proven within {floor_margin(s):.0%} of Balanced on "
                              f"{r.task_class.key}.")
            return self._fallback(r, "low_confidence", why)
        if r.task_class is None:
            return self._fallback(r, "no_evidence", f"No benchmark evidence for {c.task_type} at difficulty "
                                  f"{c.difficulty}")
        return None

    def _fallback(self, r: "_Request", code: str, why: str) -> PolicyOutcome:
        """Balanced, or the strongest model the user can call when Balanced cannot be called (in
        what-if mode, with nothing callable, Balanced is shown as not callable)."""
        balanced, reach = r.balanced, r.pi.reach
        if not reach or balanced in reach:
            return r.done(balanced, code, f"{why}, so the request goes to Balanced ({balanced}).", fallback=True)
        best = max(r.scored.values(), key=lambda x: (
            x.p_success if x.p_success is not None else -1.0, x.evidence.rate if x.evidence else -1.0,
            x.model.prices.output, x.model.id))
        return r.done(best.model.id, code, f"{why}; Balanced ({balanced}) cannot be called, so the request goes "
                      f"to the strongest model you can call, {best.model.id}.", fallback=True)

    def _choose(self, r: "_Request") -> PolicyOutcome:
        """The dial's choice among eligible models, then the session's affinity."""
        s, c, tc = r.pi.settings, r.pi.classification, r.task_class
        assert tc is not None
        fm = floor_margin(s)
        wtp = 0.0
        if s.dial == "bill":
            wtp = c.wtp_usd if c.wtp_usd > 0 else workload_wtp(r.pi.board, r.balanced, s, tuple(sorted(r.scored)))
        choice = self._pick(r.scored, s.dial, wtp)
        if choice is None:
            best = max(r.scored.values(), key=lambda x: (x.p_success if x.p_success is not None else -1.0,
                                                         -x.rank_cost))
            return r.done(best.model.id, "no_model_clears_bar", f"No available model is proven within "
                          f"{fm:.0%} of Balanced on {tc.key}; using the best available, {best.model.id} "
                          f"({_pct(best.p_success)} expected).")
        kept = self._affinity(r, choice)
        if kept is not None:
            return kept
        new_p = choice.p_success or 0.0
        mix = ", ".join(f"{_pct(p)} tier {t}" for t, p in zip((1, 2, 3, 4), r.probs) if p >= 0.005)
        if s.dial == "bill":
            bar = (f"within {s.margin:.0%} of Balanced on {tc.key}" if choice.clears else
                   f"within {fm:.0%} of Balanced on {tc.key}, though not proven within the {s.margin:.0%} bar")
            why = (f"Best value at ${wtp:.2f} per solved task (the lowest price at which the benchmark "
                   f"workload, routed, is proven to solve at least as many as Balanced): {_pct(new_p)} expected "
                   f"solved at ${choice.rank_cost:.3f} per task, for P(tier) {mix}; {bar}, non-inferior with "
                   f"probability {choice.p_noninferior:.2f}.")
            code = "cheapest_clearing_bar" if choice.clears else "best_value"
        else:
            why = (f"Highest expected success: {_pct(new_p)} for P(tier) {mix} (ties within "
                   f"{TIE_EPSILON:.0%} go to the cheaper).")
            code = "strongest_proven"
        inc = r.pi.incumbent
        if inc is not None and inc.model == choice.model.id:
            why = f"Staying on {choice.model.id}. " + why
        return r.done(choice.model.id, code, why)

    def _affinity(self, r: "_Request", choice: Scored) -> PolicyOutcome | None:
        """When the conversation has another incumbent: move at once to a stronger choice (or away from
        an ineligible incumbent), down only when the saving beats the prompt cache a switch loses."""
        inc = r.pi.incumbent
        if inc is None or inc.model not in r.scored or inc.model == choice.model.id:
            return None
        tc = r.task_class
        assert tc is not None
        new_p = choice.p_success or 0.0
        cur = r.scored[inc.model]
        cur_p = cur.p_success if cur.p_success is not None else -1.0
        c = r.pi.classification
        if (c.continues >= 0.5 and c.previous_failed < 0.5 and cur.eligible and cur.reach is not None
                and c.difficulty <= inc.difficulty):
            return r.done(inc.model, "incumbent_kept", f"The turn continues the conversation's task, no harder "
                          f"and with no sign the last answer failed; staying on {inc.model} ({_pct(cur_p)} "
                          f"expected on {tc.key}).")
        if not cur.eligible or cur_p < new_p - TIE_EPSILON:
            why = ("is proven much worse than Balanced on " + tc.key if not cur.eligible
                   else f"expects {_pct(cur_p)} solved against {_pct(new_p)}")
            stronger = cur.p_success is not None and new_p >= cur_p + TIE_EPSILON
            return r.done(choice.model.id, "escalated" if stronger else "switched",
                          f"The incumbent {inc.model} {why}; moving to {choice.model.id} "
                          f"({_pct(new_p)} expected).", escalated=stronger)
        saving = cur.est_cost - choice.est_cost
        p = cur.model.prices
        switch_cost = inc.context_tokens * (p.input - p.cached_input) / 1e6 * r.pi.settings.switch_factor
        if saving > switch_cost:
            return r.done(choice.model.id, "switched_down", f"{choice.model.id} expects {_pct(new_p)} solved "
                          f"(the incumbent {_pct(cur_p)}) and saves ${saving:.4f} on this request, more than "
                          f"the ${switch_cost:.4f} of prompt cache a switch loses.")
        return r.done(inc.model, "incumbent_kept", f"Staying on {inc.model} ({_pct(cur_p)} expected): "
                      f"switching would save ${max(saving, 0):.4f}, less than the ${switch_cost:.4f} of "
                      f"prompt cache it would lose.")

    @staticmethod
    def _pick(scored: dict[str, Scored], dial: str, wtp: float = 0.0) -> Scored | None:
        ok = [x for x in scored.values() if x.eligible and x.p_success is not None]
        if not ok:
            return None
        if dial == "bill":
            return min(ok, key=lambda x: (x.rank_cost - wtp * x.p_success, x.rank_cost, x.model.id))  # type: ignore[operator]
        top = max(x.p_success for x in ok)  # type: ignore[type-var]
        tied = [x for x in ok if x.p_success >= top - TIE_EPSILON]  # type: ignore[operator]
        return min(tied, key=lambda x: (x.rank_cost, x.model.id))

    @staticmethod
    def _best_free(scored: dict[str, Scored]) -> str | None:
        free = [x for x in scored.values() if (x.model.free or x.model.local) and x.reach is not None]
        if not free:
            return None
        best = max(free, key=lambda x: (x.evidence.rate if x.evidence else -1.0, x.model.local, -x.rank_cost))
        return best.model.id
