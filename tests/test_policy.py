"""The routing policy on a small hand-made leaderboard: each rule of the README, one test each."""

from kilo_lsp.classify.base import Classification
from kilo_lsp.config import RoutingSettings
from kilo_lsp.leaderboard.model import parse
from kilo_lsp.routing.availability import Reach
from kilo_lsp.routing.policy import Incumbent, Policy, PolicyInput


def evidence(solved, n, cost, vs_b_low, ci_low=None):
    rate = solved / n
    return {"solved": solved, "n": n, "rate": rate, "ci_low": ci_low if ci_low is not None else rate - 0.05,
            "ci_high": rate + 0.05, "cost_per_request": cost,
            "vs_balanced": {"delta": 0.0, "ci_low": vs_b_low, "ci_high": 0.1}}


def model(mid, pin, pout, cached, **kw):
    return {"id": mid, "prices": {"input": pin, "output": pout, "cached_input": cached},
            "routes": {"p": mid}, **kw}


BOARD = parse({
    "schema": 1, "version": "lb-test", "balanced": "mid", "frontier": "big",
    "models": [model("cheap", 0.1, 0.4, 0.01), model("mid", 3, 15, 0.3), model("big", 5, 25, 0.5),
               model("weak", 0.05, 0.1, 0.005), model("local", 0, 0, 0, local=True, free=True),
               model("twin", 0.1, 0.4, 0.01)],
    "classes": {
        "*:1": {"n_tasks": 100, "best": "big", "models": {
            "cheap": evidence(80, 100, 0.02, -0.03), "mid": evidence(82, 100, 0.40, 0.0),
            "big": evidence(85, 100, 0.60, -0.01), "weak": evidence(40, 100, 0.01, -0.5),
            "twin": evidence(78, 100, 0.02, -0.04)},
            "ladders": {"bill": ["cheap", "mid", "big"], "bar": ["mid", "big"]},
            "ladder_steps": {"bill": [[80, 100], [9, 20], [5, 11]], "bar": [[82, 100], [6, 18]]},
            "ladder_source": "bench", "ladder_tasks": 100},
        "*:3": {"n_tasks": 40, "best": "big", "models": {
            "cheap": evidence(8, 40, 0.05, -0.30), "mid": evidence(14, 40, 0.9, 0.0),
            "big": evidence(18, 40, 1.4, -0.02)},
            "ladders": {"bill": ["mid", "big"], "bar": ["big"]}, "ladder_source": "bench", "ladder_tasks": 40},
    },
})
ALL = {m: Reach("p", m) for m in BOARD.models}


def cls(task="bugfix", diff=1, conf=0.9):
    return Classification(task, diff, conf, conf, conf)


def decide(c=None, reach=ALL, incumbent=None, input_tokens=1000, continues=False, failed="", yours=None,
           **settings):
    return Policy().decide(PolicyInput(c or cls(), BOARD, RoutingSettings(**settings), reach, input_tokens,
                                       incumbent, continues=continues, failed=failed,
                                       yours=(lambda key: yours.get(key, {})) if yours else (lambda key: {})))


def on(model, task_class="*:1", ladder=("cheap", "mid", "big"), context_tokens=1000):
    return Incumbent(model, context_tokens, task_class, ladder, ladder.index(model) if model in ladder else 0)


def test_a_new_task_starts_on_the_first_rung_of_its_dials_ladder():
    o = decide()
    assert (o.model, o.reason_code, o.ladder, o.rung) == ("cheap", "ladder_start", ("cheap", "mid", "big"), 0)
    assert "rung 1" in o.reason and "mid" in o.reason and "100 tasks of bench" in o.reason
    o = decide(dial="bar")
    assert (o.model, o.ladder) == ("mid", ("mid", "big"))


def test_a_continuing_turn_stays_on_its_rung():
    o = decide(incumbent=on("mid"), continues=True)
    assert (o.model, o.reason_code, o.rung, o.escalated) == ("mid", "ladder_kept", 1, False)


def test_a_failed_answer_moves_one_rung_up_and_says_why():
    o = decide(incumbent=on("cheap"), continues=True, failed="the same error was pasted again")
    assert (o.model, o.reason_code, o.rung, o.escalated) == ("mid", "escalated", 1, True)
    assert "the same error was pasted again" in o.reason and "rung 2 of 3" in o.reason
    assert "it solved 45% of the 20 tasks cheap failed on bench" in o.reason and o.steps == ((80, 100), (9, 20), (5, 11))


def test_the_ladders_benchmark_figures_hold_only_above_the_shipped_rungs():
    o = decide(reach={m: ALL[m] for m in ("cheap", "big")})
    assert o.ladder == ("cheap", "big") and o.steps == ((80, 100),)     # big's 5 of 11 came after mid failed too


def test_a_failed_answer_at_the_top_stays_there():
    o = decide(incumbent=on("big"), continues=True, failed="this turn says the last answer did not work")
    assert (o.model, o.reason_code, o.escalated) == ("big", "ladder_top", False)


def test_a_failure_read_on_a_new_task_does_not_escalate_it():
    o = decide(incumbent=on("mid", context_tokens=0), continues=False, failed="you said it failed")
    assert (o.model, o.reason_code) == ("cheap", "ladder_start")


def test_a_harder_turn_of_the_task_moves_to_a_rung_at_least_as_strong():
    o = decide(cls(diff=3), incumbent=on("cheap"), continues=True)
    assert o.task_class.key == "*:3" and o.ladder == ("mid", "big")
    assert (o.model, o.reason_code, o.escalated) == ("mid", "escalated", True)     # mid 35% > cheap 20% on *:3


def test_a_turn_whose_model_is_on_the_new_ladder_stays_on_it():
    o = decide(cls(diff=3), incumbent=on("big"), continues=True)
    assert (o.model, o.reason_code, o.rung) == ("big", "ladder_kept", 1)


def test_a_new_task_keeps_a_stronger_incumbent_when_the_cache_outweighs_the_saving():
    # big -> cheap saves ~$0.015 on 1,000 tokens; 200,000 cached tokens would cost 200k x $4.5/M = $0.90
    kept = decide(incumbent=on("big", context_tokens=200_000))
    assert (kept.model, kept.reason_code, kept.rung) == ("big", "incumbent_kept", 2)
    moved = decide(incumbent=on("big", context_tokens=10), input_tokens=50_000)
    assert (moved.model, moved.reason_code) == ("cheap", "ladder_start")


def test_a_new_task_stays_on_a_model_off_its_ladder_that_is_not_proven_weaker():
    kept = decide(incumbent=Incumbent("twin", 5000, "*:3", ("mid", "big"), 0))     # 78% >= cheap's lower bound 75%
    assert (kept.model, kept.reason_code, kept.rung) == ("twin", "incumbent_kept", None)
    moved = decide(incumbent=Incumbent("weak", 5000, "*:3", ("mid", "big"), 0))
    assert (moved.model, moved.reason_code) == ("cheap", "ladder_start")


def test_the_ladder_keeps_the_rungs_the_user_can_call():
    reach = {m: ALL[m] for m in ("cheap", "big", "weak")}
    o = decide(reach=reach)
    assert o.ladder == ("cheap", "big") and o.model == "cheap"


def test_with_one_callable_rung_the_callable_models_make_the_ladder():
    reach = {m: ALL[m] for m in ("weak", "mid", "local")}
    o = decide(reach=reach)
    assert o.ladder == ("weak", "mid")          # cheapest first, each stronger than the one below
    assert o.model == "weak" and o.reason_code == "ladder_start"


def test_your_own_failures_drop_a_rung_never_the_last():
    mine = {"*:1": {"cheap": (0, 12)}}
    o = decide(yours=mine)
    assert o.ladder == ("mid", "big") and o.model == "mid"
    row = next(s for s in o.scored if s.model.id == "cheap")
    assert row.yours.failed == 12 and row.yours.rate < row.evidence.rate
    few = decide(yours={"*:1": {"cheap": (0, 2)}})          # two failures are not enough to drop it
    assert few.ladder[0] == "cheap"
    top = decide(yours={"*:1": {"big": (0, 30)}})
    assert top.ladder[-1] == "big"


def test_low_confidence_on_a_new_task_goes_to_balanced():
    o = decide(cls(conf=0.2))
    assert (o.model, o.reason_code, o.fallback) == ("mid", "low_confidence", True)


def test_low_confidence_keeps_a_conversation_on_a_model_of_the_ladder():
    o = decide(cls(conf=0.2), incumbent=on("cheap"), continues=True)
    assert (o.model, o.reason_code, o.fallback) == ("cheap", "low_confidence_kept", False)


def test_a_failed_answer_escalates_however_unsure_the_turn_reads():
    o = decide(cls(conf=0.2), incumbent=on("cheap"), continues=True, failed="you said it failed")
    assert (o.model, o.reason_code) == ("mid", "escalated")


def test_the_floor_goes_to_the_strongest_callable_model_when_balanced_cannot_be_called():
    o = decide(cls(conf=0.2), reach={m: ALL[m] for m in ("cheap", "weak")})
    assert (o.model, o.reason_code, o.fallback) == ("cheap", "low_confidence", True)
    assert "cannot be called" in o.reason


def test_local_models_without_evidence_are_used_not_floored():
    o = decide(cls(conf=0.2), reach={"local": ALL["local"]})
    assert o.model == "local" and o.reason_code == "no_model_clears_bar"


def test_what_if_mode_follows_the_ladder_over_the_catalog():
    o = decide(reach={})
    assert (o.model, o.what_if, o.reach) == ("cheap", True, None)


def test_tiers_and_pin():
    assert decide(tier="balanced").model == "mid"
    assert decide(tier="frontier").model == "big"
    free = decide(tier="free")
    assert free.model == "local" and free.reason_code == "tier_free"
    pinned = decide(pin="weak")
    assert (pinned.model, pinned.reason_code) == ("weak", "pinned")
    unknown = decide(pin="nope")
    assert (unknown.model, unknown.reason_code, unknown.fallback) == ("mid", "pin_unknown", True)


def test_budget_exhausted_uses_free_models_only():
    o = Policy().decide(PolicyInput(cls(), BOARD, RoutingSettings(), ALL, 1000, budget_exhausted=True))
    assert (o.model, o.reason_code, o.tier) == ("local", "budget_exhausted", "free")


def test_unknown_class_goes_to_balanced():
    o = decide(cls(diff=2))
    assert (o.model, o.reason_code, o.fallback) == ("mid", "no_evidence", True)
