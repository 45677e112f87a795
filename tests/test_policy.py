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
               model("weak", 0.05, 0.1, 0.005), model("local", 0, 0, 0, local=True, free=True)],
    "classes": {
        "*:1": {"n_tasks": 100, "best": "big", "models": {
            "cheap": evidence(80, 100, 0.02, -0.03), "mid": evidence(82, 100, 0.40, 0.0),
            "big": evidence(85, 100, 0.60, -0.01), "weak": evidence(40, 100, 0.01, -0.5)}},
        "*:3": {"n_tasks": 40, "best": "big", "models": {
            "cheap": evidence(8, 40, 0.05, -0.30), "mid": evidence(14, 40, 0.9, 0.0),
            "big": evidence(18, 40, 1.4, -0.02)}},
    },
})
ALL = {m: Reach("p", m) for m in BOARD.models}


def cls(task="bugfix", diff=1, conf=0.9):
    return Classification(task, diff, conf, conf, conf)


def decide(c=None, reach=ALL, incumbent=None, input_tokens=1000, **settings):
    return Policy().decide(PolicyInput(c or cls(), BOARD, RoutingSettings(**settings), reach, input_tokens, incumbent))


def test_bill_picks_the_cheapest_model_that_clears_the_bar():
    out = decide()
    assert out.model == "cheap" and out.reason_code == "cheapest_clearing_bar"
    assert "weak" not in [s.model.id for s in out.scored if s.clears]


def test_guard_is_judged_on_the_paired_lower_bound():
    # guard margin = FLOOR_FACTOR x margin = 0.015: cheap's bound (-0.03) no longer passes
    out = decide(margin=0.005)
    assert out.model in ("mid", "big") and not [s for s in out.scored if s.model.id == "cheap" and s.eligible]


def test_guard_never_picks_a_model_proven_much_worse():
    out = decide(cls(diff=3))          # cheap's bound on *:3 is -0.30 < -0.15
    assert out.model != "cheap" and not [s for s in out.scored if s.model.id == "cheap" and s.eligible]


def test_bill_trades_expected_cost_against_expected_success():
    # P(tier): 60% tier 1, 40% tier 3; cheap fails the guard? no: the most likely tier is 1, it passes.
    c = Classification("bugfix", 1, 0.9, 0.9, 0.9, tier_probabilities=(0.6, 0.0, 0.4, 0.0))
    low = decide(Classification(**{**c.__dict__, "wtp_usd": 0.5}))
    high = decide(Classification(**{**c.__dict__, "wtp_usd": 50.0}))
    assert low.model == "cheap"        # 0.5 USD per solved task is not worth the stronger models
    assert high.model == "big"         # 50 USD is: the highest expected success wins
    s = {x.model.id: x for x in low.scored}
    assert abs(s["big"].p_success - (0.6 * 0.85 + 0.4 * 0.45)) < 1e-9
    assert abs(s["big"].rank_cost - (0.6 * 0.60 + 0.4 * 1.4)) < 1e-9


def test_wtp_is_derived_from_the_leaderboard_without_calibration():
    from kilo_lsp.routing.policy import workload_wtp
    lam = workload_wtp(BOARD, "mid", RoutingSettings(), tuple(sorted(BOARD.models)))
    # tier 1: cheap (80 of 100) then big; tier 3: mid (14 of 40) then big at 5 USD: 80 + 18 >= 82 + 14
    assert 5.0 <= lam < 5.01


def test_soft_tiers_move_bar_to_the_hard_tier_model():
    easy = decide(Classification("bugfix", 1, 0.9, 0.9, 0.9, tier_probabilities=(0.9, 0.0, 0.1, 0.0)), dial="bar")
    assert easy.model == "big"


def test_bar_picks_the_strongest_proven():
    out = decide(dial="bar")
    assert out.model == "big" and out.reason_code == "strongest_proven"


def test_classifier_without_probabilities_is_one_hot():
    c = cls(diff=3)
    assert c.tier_distribution() == (0.0, 0.0, 1.0, 0.0)


def test_low_confidence_goes_to_balanced():
    out = decide(cls(conf=0.3))
    assert out.model == "mid" and out.fallback and out.reason_code == "low_confidence"


def test_hard_class_escalates_from_a_cheap_incumbent():
    out = decide(cls(diff=3), incumbent=Incumbent("cheap", 2000))
    assert out.escalated and out.model in ("mid", "big")


def test_switch_down_only_when_saving_beats_lost_cache():
    # A long cached context on the expensive incumbent: switching would lose more than it saves.
    kept = decide(incumbent=Incumbent("mid", 200_000), input_tokens=1000)
    assert kept.model == "mid" and kept.reason_code == "incumbent_kept"
    moved = decide(incumbent=Incumbent("mid", 100), input_tokens=1000)
    assert moved.model == "cheap" and moved.reason_code == "switched_down"


def test_nothing_callable_clears_the_bar_uses_best_available_and_says_so():
    out = decide(reach={"weak": Reach("p", "weak")})
    assert out.model == "weak" and out.reason_code == "no_model_clears_bar"


def test_what_if_mode_chooses_over_the_catalog():
    out = decide(reach={})
    assert out.model == "cheap" and out.what_if and out.reach is None


def test_tiers_and_pin():
    assert decide(tier="frontier").model == "big"
    assert decide(tier="balanced").model == "mid"
    assert decide(tier="free").model == "local"
    assert decide(pin="weak").model == "weak"
    unknown = decide(pin="nope")
    assert unknown.model == "mid" and unknown.reason_code == "pin_unknown"


def test_budget_exhausted_uses_free_models_only():
    out = Policy().decide(PolicyInput(cls(), BOARD, RoutingSettings(), ALL, 1000, None, None, True))
    assert out.model == "local" and out.reason_code == "budget_exhausted"


def test_unknown_class_goes_to_balanced():
    out = decide(cls(diff=2))
    assert out.model == "mid" and out.reason_code == "no_evidence"


def test_most_likely_tier_pools_tiers_3_and_4_and_needs_mass():
    from kilo_lsp.classify.base import most_likely_tier
    assert most_likely_tier((0.4, 0.3, 0.2, 0.1)) == 1
    assert most_likely_tier((0.3, 0.4, 0.2, 0.1)) == 2
    assert most_likely_tier((0.35, 0.3, 0.2, 0.15)) == 3          # tiers 3 and 4 together: 0.35
    assert most_likely_tier((0.3, 0.3, 0.15, 0.25)) == 4
    assert most_likely_tier((0.0, 0.0, 0.0, 0.0)) == 1            # no mass anywhere: the lowest tier
    assert most_likely_tier((0.0, 0.0, 0.5, 0.5)) == 3
