"""Escalation ladders: the simulated user on cases worked out by hand, the exhaustive ladder search
against the simulator, the dials on a matrix whose answer is known, and the fold function."""

from __future__ import annotations

import sys
from itertools import combinations
from pathlib import Path

import pytest

np = pytest.importorskip("numpy")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from training import datasets, ladders  # noqa: E402
from training.ladders import all_ladders, choose, choose_ladder, fit_margin, simulate  # noqa: E402


def arrays(**cols: list[float]) -> dict[str, np.ndarray]:
    return {k: np.array(v, dtype=float) for k, v in cols.items()}


# ---------------------------------------------------------------------------------------------
# the simulated user

def test_one_rung_is_the_model_alone_under_any_user() -> None:
    o, c = arrays(A=[1, 0, 1]), arrays(A=[2.0, 3.0, 0.5])
    for recall, fa in ((1.0, 0.0), (0.8, 0.1), (0.0, 1.0)):
        e = simulate(["A"], o, c, recall, fa)
        assert e.solved.tolist() == [1, 0, 1]
        assert e.cost.tolist() == [2.0, 3.0, 0.5]
        assert e.totals == (2.0, 5.5, 1.0)


def test_two_rungs_by_hand() -> None:
    # tasks: A right / B right, A wrong / B right, both wrong, A right / B wrong; A costs 1, B costs 10
    o = arrays(A=[1, 0, 0, 1], B=[1, 1, 0, 0])
    c = arrays(A=[1, 1, 1, 1], B=[10, 10, 10, 10])
    e = simulate(["A", "B"], o, c, recall=0.8, false_alarm=0.1)
    # right on A: kept with 0.9, doubted with 0.1 -> B; wrong on A: noticed with 0.8 -> B
    assert e.solved == pytest.approx([0.9 + 0.1 * 1, 0.8, 0.0, 0.9 + 0.1 * 0])
    assert e.cost == pytest.approx([1 + 0.1 * 10, 1 + 0.8 * 10, 1 + 0.8 * 10, 1 + 0.1 * 10])
    assert e.attempts == pytest.approx([1.1, 1.8, 1.8, 1.1])
    solved, cost, attempts = e.totals
    assert (solved, cost, attempts) == pytest.approx((2.7, 22.0, 1.45))


def test_three_rungs_by_hand() -> None:
    # task 0: wrong, wrong, right; task 1: right, wrong, right
    o = arrays(A=[0, 1], B=[0, 0], C=[1, 1])
    c = arrays(A=[1, 1], B=[2, 2], C=[4, 4])
    e = simulate(["A", "B", "C"], o, c, recall=0.8, false_alarm=0.1)
    # task 0 reaches B with 0.8 and C with 0.64; task 1 reaches B with 0.1 and C with 0.1 * 0.8
    assert e.solved == pytest.approx([0.64, 0.9 + 0.08])
    assert e.cost == pytest.approx([1 + 0.8 * 2 + 0.64 * 4, 1 + 0.1 * 2 + 0.08 * 4])
    assert e.attempts == pytest.approx([2.44, 1.18])


def test_perfect_user_solves_what_any_rung_solves_and_pays_until_the_first_success() -> None:
    o = arrays(A=[0, 1, 0, 0], B=[1, 0, 0, 1], C=[1, 1, 0, 1])
    c = arrays(A=[1] * 4, B=[2] * 4, C=[4] * 4)
    e = simulate(["A", "B", "C"], o, c, recall=1.0, false_alarm=0.0)
    assert e.solved.tolist() == [1, 1, 0, 1]
    assert e.cost.tolist() == [3, 1, 7, 3]
    assert e.attempts.tolist() == [2, 1, 3, 2]


def test_a_user_who_never_asks_again_stays_on_the_first_rung() -> None:
    o, c = arrays(A=[0, 1], B=[1, 1]), arrays(A=[1, 1], B=[5, 5])
    e = simulate(["A", "B"], o, c, recall=0.0, false_alarm=0.0)
    assert e.solved.tolist() == [0, 1] and e.cost.tolist() == [1, 1] and e.attempts.tolist() == [1, 1]


def test_a_user_who_doubts_every_right_answer_and_misses_every_wrong_one() -> None:
    # recall 0, false alarm 1: a right answer is thrown away, a wrong one is kept; the last rung's answer stands
    o, c = arrays(A=[1, 0, 1], B=[0, 1, 1]), arrays(A=[1] * 3, B=[5] * 3)
    e = simulate(["A", "B"], o, c, recall=0.0, false_alarm=1.0)
    assert e.solved.tolist() == [0, 0, 1]
    assert e.attempts.tolist() == [2, 1, 2]


def test_success_rates_are_probabilities_of_independent_attempts() -> None:
    o, c = arrays(A=[0.5], B=[0.25]), arrays(A=[1.0], B=[2.0])
    e = simulate(["A", "B"], o, c, recall=1.0, false_alarm=0.0)
    assert e.solved[0] == pytest.approx(0.5 + 0.5 * 0.25)
    assert e.cost[0] == pytest.approx(1 + 0.5 * 2)


@pytest.mark.parametrize("ladder, recall, fa", [([], 0.8, 0.1), (["A", "A"], 0.8, 0.1), (["A"], 1.2, 0.1),
                                                (["A"], 0.8, -0.1)])
def test_bad_ladders_and_users_are_refused(ladder: list[str], recall: float, fa: float) -> None:
    with pytest.raises(ValueError):
        simulate(ladder, arrays(A=[1]), arrays(A=[1]), recall, fa)


# ---------------------------------------------------------------------------------------------
# the exhaustive search

def random_matrix(seed: int, models: int = 6, tasks: int = 40) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    names = [f"m{i}" for i in range(models)]
    outcomes = {m: rng.uniform(0, 1, tasks).round(2) for m in names}
    costs = {m: rng.uniform(0.1, 1.0, tasks) * (i + 1) for i, m in enumerate(names)}
    return outcomes, costs


@pytest.mark.parametrize("recall, fa", [(1.0, 0.0), (0.8, 0.1), (0.6, 0.2)])
def test_every_ladder_is_scored_as_the_simulator_scores_it(recall: float, fa: float) -> None:
    outcomes, costs = random_matrix(1)
    cands = all_ladders(outcomes, costs, list(outcomes), recall, fa, max_rungs=3)
    order = ladders.price_order(costs, list(outcomes))
    expected = [lad for k in (1, 2, 3) for lad in combinations(order, k)]
    assert sorted(cands.ladders) == sorted(expected)
    for lad, s, c, a in zip(cands.ladders, cands.solved, cands.cost, cands.attempts):
        e = simulate(lad, outcomes, costs, recall, fa)
        assert (s, c, a) == pytest.approx((e.solved.sum(), e.cost.sum(), e.attempts.sum()))


def test_rungs_rise_in_price_and_the_rung_limit_holds() -> None:
    outcomes, costs = random_matrix(2)
    mean = {m: costs[m].mean() for m in costs}
    for k in (1, 2, 3):
        cands = all_ladders(outcomes, costs, list(outcomes), max_rungs=k)
        assert max(len(lad) for lad in cands.ladders) == k
        assert all(mean[a] < mean[b] for lad in cands.ladders for a, b in zip(lad, lad[1:]))


# ---------------------------------------------------------------------------------------------
# the dials on a matrix whose answer is known

def known_matrix() -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """10 tasks. Cheap solves 0-4, Mid solves 5-8, Frontier 0-7, Dear all; costs 1 < 3 < 10 < 20 per task."""
    solves = {"Cheap": range(0, 5), "Mid": range(5, 9), "Frontier": range(0, 8), "Dear": range(0, 10)}
    price = {"Cheap": 1.0, "Mid": 3.0, "Frontier": 10.0, "Dear": 20.0}
    outcomes = {m: np.array([1.0 if t in r else 0.0 for t in range(10)]) for m, r in solves.items()}
    return outcomes, {m: np.full(10, p) for m, p in price.items()}


def test_bill_is_the_cheapest_ladder_that_matches_frontier() -> None:
    outcomes, costs = known_matrix()
    # Cheap > Mid solves 9 (>= Frontier's 8) for 10 x 1 + 5 x 3 = 25 with a perfect user
    assert choose_ladder(outcomes, costs, "Frontier", "bill", recall=1.0, false_alarm=0.0) == ["Cheap", "Mid"]
    ch = choose(outcomes, costs, "Frontier", "bill", recall=1.0, false_alarm=0.0)
    assert (ch.solved, ch.cost, ch.margin, ch.feasible) == (9.0, 25.0, 0.0, True)


def test_bar_is_the_most_solved_within_frontiers_cost() -> None:
    outcomes, costs = known_matrix()
    # Cheap > Mid > Dear solves all 10 for 10 + 15 + 20 = 45 <= 100; Cheap > Frontier > Dear also solves 10, for 100
    assert choose_ladder(outcomes, costs, "Frontier", "bar", recall=1.0, false_alarm=0.0) == ["Cheap", "Mid", "Dear"]
    assert choose_ladder(outcomes, costs, "Frontier", "bar", recall=1.0, false_alarm=0.0,
                         max_rungs=2) == ["Cheap", "Mid"]


def test_allowed_models_and_margins_change_the_choice() -> None:
    outcomes, costs = known_matrix()
    # without Mid, Cheap > Frontier (8 solved for 10 + 5 x 10 = 60) is the cheapest match
    assert choose_ladder(outcomes, costs, "Frontier", "bill", 1.0, 0.0,
                         allowed={"Cheap", "Frontier", "Dear"}) == ["Cheap", "Frontier"]
    # a margin of 10% of the tasks asks for 9 solved: Cheap > Mid still; 20% asks for 10: Cheap > Mid > Dear
    assert choose(outcomes, costs, "Frontier", "bill", 1.0, 0.0, margin=0.1).ladder == ["Cheap", "Mid"]
    assert choose(outcomes, costs, "Frontier", "bill", 1.0, 0.0, margin=0.2).ladder == ["Cheap", "Mid", "Dear"]
    # bar keeping 60% of Frontier's cost unspent (40 left) cannot afford Dear's rung
    assert choose(outcomes, costs, "Frontier", "bar", 1.0, 0.0, margin=0.6).ladder == ["Cheap", "Mid"]


def test_an_impossible_bill_falls_back_to_the_most_solved() -> None:
    outcomes, costs = known_matrix()
    ch = choose(outcomes, costs, "Frontier", "bill", 1.0, 0.0, allowed={"Cheap", "Mid"}, margin=0.5)
    assert ch.ladder == ["Cheap", "Mid"] and not ch.feasible


def test_no_margin_is_needed_when_every_fold_is_alike() -> None:
    # four folds holding the same tasks: what clears on three clears on the fourth
    outcomes, costs = known_matrix()
    rep = {m: np.tile(v, 4) for m, v in outcomes.items()}, {m: np.tile(v, 4) for m, v in costs.items()}
    folds = np.repeat(np.arange(4), 10)
    for dial in ladders.DIALS:
        assert fit_margin(*rep, "Frontier", dial, folds, 1.0, 0.0) == 0.0
    assert choose_ladder(*rep, "Frontier", "bill", 1.0, 0.0, folds=folds) == ["Cheap", "Mid"]


def test_a_choices_totals_are_the_simulators() -> None:
    # the dials' own totals are the simulator's
    outcomes, costs = random_matrix(3)
    for dial in ladders.DIALS:
        ch = choose(outcomes, costs, "m3", dial, 0.8, 0.1)
        s, c, _ = simulate(ch.ladder, outcomes, costs, 0.8, 0.1).totals
        assert (ch.solved, ch.cost) == pytest.approx((s, c))


# ---------------------------------------------------------------------------------------------
# folds

def test_fold_is_sha1_mod_5() -> None:
    assert datasets.fold_of("astropy__astropy-12907") == 0
    assert datasets.fold_of("astropy__astropy-13033") == 1
    import hashlib
    for t in ("django__django-11099", "sympy__sympy-20590", "x"):
        assert datasets.fold_of(t) == int(hashlib.sha1(t.encode()).hexdigest(), 16) % 5
