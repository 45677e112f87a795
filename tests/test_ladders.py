"""Escalation ladders: the simulated user on cases worked out by hand, the exhaustive ladder search
against the simulator, the dials on a matrix whose answer is known, the fold function, and the
benchmark's decisions file recomputing its reported totals on a small generated data folder."""

from __future__ import annotations

import csv
import json
import math
import sys
from collections import defaultdict
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


# ---------------------------------------------------------------------------------------------
# the Zero router's hull

def test_the_hull_keeps_the_upper_convex_front_and_mixes_its_neighbours() -> None:
    from bench.escalation import hull, hull_solved_at
    pts = [(1.0, 10.0), (2.0, 9.0), (3.0, 30.0), (4.0, 31.0), (5.0, 60.0), (8.0, 60.0), (3.0, 30.0)]
    # (2, 9) is dominated, (8, 60) buys nothing, (3, 30) lies under the chord from (1, 10) to (5, 60),
    # (4, 31) too; the duplicate counts once
    assert hull(pts) == [(1.0, 10.0), (5.0, 60.0)]
    h = hull([(1.0, 10.0), (2.0, 40.0), (4.0, 50.0)])
    assert h == [(1.0, 10.0), (2.0, 40.0), (4.0, 50.0)]
    assert hull_solved_at(h, 0.5) == 10.0                     # below the cheapest model: that model
    assert hull_solved_at(h, 1.5) == pytest.approx(25.0)      # half of each neighbour
    assert hull_solved_at(h, 3.0) == pytest.approx(45.0)
    assert hull_solved_at(h, 9.0) == 50.0                     # past the top: the top


# ---------------------------------------------------------------------------------------------
# the benchmark on a small generated data folder: the decisions file recomputes the totals

MINI = ("20251201_mini-v1.17.1_deepseek-v3.2-reasoner", "20251118_mini-v1.15.0_gemini-3-pro-preview-20251118",
        "20250929_mini-v1.13.3_sonnet-4-5-20250929", "20251124_mini-v1.16.0_claude-opus-4-5-20251101")
OPENHANDS = {"DeepSeek-V3.2-Reasoner": 0.1, "MiniMax-M3": 0.2, "claude-sonnet-4-5": 1.0, "claude-opus-4-5": 1.5,
             "claude-sonnet-4-6": 1.0, "claude-opus-4-8": 0.8, "Gemini-3-Pro": 0.9}
TB = ("gpt-5-mini", "gpt-5", "claude-sonnet-4-20250514", "claude-opus-4-1-20250805")


def write_data(root: Path, n_tasks: int = 60) -> None:
    """Outcome files in the layout of the data folder, with random outcomes and costs (seeded)."""
    rng = np.random.default_rng(7)
    tasks = [f"repo__task-{i}" for i in range(n_tasks)]
    (root / "swebench_verified").mkdir(parents=True)
    with open(root / datasets.OUTCOMES, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["task_id", "model", "model_id", "resolved", "cost_usd", "api_calls"])
        for i, m in enumerate(MINI):
            for t in tasks:
                w.writerow([t, m, m, int(rng.random() < 0.5 + 0.1 * i), round(rng.uniform(0.02, 1) * (i + 1), 4), 10])
    (root / "openhands_index").mkdir()
    with open(root / "openhands_index" / "runs.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["run_id", "agent", "model", "available"])
        for m in OPENHANDS:
            w.writerow([m, "openhands", m, m != "Gemini-3-Pro"])
    with open(root / "openhands_index" / "outcomes.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["benchmark", "task_id", "run_id", "agent", "model", "resolved", "cost_usd"])
        for bench in ("swe-bench", "swt-bench"):
            for m, price in OPENHANDS.items():
                for k, t in enumerate(tasks):
                    resolved = "" if (m == "MiniMax-M3" and k == 0) else int(rng.random() < 0.4 + price / 3)
                    cost = "" if (m == "claude-sonnet-4-6" and k == 1) else round(rng.uniform(0.5, 1.5) * price, 4)
                    if not (bench == "swt-bench" and m == "MiniMax-M3" and k == 2):      # one task not run
                        w.writerow([bench, t, m, "openhands", m, resolved, cost])
            w.writerow([bench, tasks[0], "x", "acp-claude", "claude-opus-4-8", 1, 1.0])   # another agent: ignored
    (root / "terminal_bench").mkdir()
    with open(root / "terminal_bench" / "tb15_terminus2_trials.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["trial_id", "model", "provider", "task_id", "success", "n_input_tokens", "n_output_tokens",
                    "execution_time_sec"])
        for i, m in enumerate(TB):
            for t in tasks[:30]:
                for r in range(3):
                    w.writerow([f"{m}-{t}-{r}", m, "p", t, int(rng.random() < 0.2 + 0.15 * i),
                                int(rng.integers(1000, 5000)), int(rng.integers(100, 900)), 1.0])
    (root / "prices").mkdir()
    keys = {"gpt-5-mini": (2.5e-7, 2e-6), "gpt-5": (1.25e-6, 1e-5), "claude-sonnet-4-20250514": (3e-6, 1.5e-5),
            "claude-opus-4-1-20250805": (1.5e-5, 7.5e-5)}
    table = {k: {"input_cost_per_token": a, "output_cost_per_token": b} for k, (a, b) in keys.items()}
    (root / datasets.LITELLM_PRICES[0]).write_text(json.dumps(table))
    (root / datasets.LITELLM_PRICES[1]).write_text("{}")


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    pytest.importorskip("matplotlib")
    from bench import escalation
    data, out = tmp_path_factory.mktemp("data"), tmp_path_factory.mktemp("out")
    write_data(data)
    return data, out, escalation.run(data, out)


def test_the_decisions_file_recomputes_every_reported_ladder_total(bench_run: tuple[Path, Path, dict]) -> None:
    from bench import escalation
    data, out, results = bench_run
    matrices = {"mini-swe-agent": escalation.read_mini(data),
                "openhands": escalation.read_openhands(data, "swe-bench", "openhands", "")}
    with open(out / "escalation_decisions.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["matrix", "task_id", "fold", "setting", "attempt", "model"]
    ladders_of: dict[tuple[str, str], dict[str, list[tuple[int, str]]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        assert int(r["fold"]) == datasets.fold_of(r["task_id"])
        ladders_of[(r["matrix"], r["setting"])][r["task_id"]].append((int(r["attempt"]), r["model"]))
    reported = {(m, r["name"]): r for m in escalation.MAIN
                for u in results["matrices"][m]["users"].values() for r in u["rows"]
                if "ladder" in r["kind"] and not r["name"].startswith("bill-m")}    # margin sensitivity: tables only
    reported.update({("openhands", r["name"]): r for u in results["cross_scaffold"]["users"].values() for r in u})
    assert set(ladders_of) == set(reported)
    for (matrix, setting), per_task in ladders_of.items():
        mx = matrices[matrix]
        assert set(per_task) == set(mx.tasks)                       # every task, held out once
        recall, fa = escalation.user_of(setting)
        solved = cost = attempts = 0.0
        for i, t in enumerate(mx.tasks):
            steps = sorted(per_task[t])
            assert [a for a, _ in steps] == list(range(1, len(steps) + 1)) and len(steps) <= 3
            pick = {m: v[i:i + 1] for m, v in mx.outcomes.items()}, {m: v[i:i + 1] for m, v in mx.costs.items()}
            e = simulate([m for _, m in steps], *pick, recall, fa)
            solved, cost, attempts = solved + e.solved[0], cost + e.cost[0], attempts + e.attempts[0]
        r = reported[(matrix, setting)]
        assert (r["solved"], r["cost"], r["attempts"]) == pytest.approx(
            (solved, cost, attempts / len(mx.tasks)), abs=1e-3)


def test_the_benchmark_writes_every_table_and_respects_the_flags(bench_run: tuple[Path, Path, dict]) -> None:
    _data, out, results = bench_run
    for name in ("escalation.md", "escalation.json", "escalation.png", "escalation_decisions.csv"):
        assert (out / name).exists()
    oh = results["matrices"]["openhands"]
    assert oh["n_allowed"] == oh["n_models"] - 1                     # Gemini-3-Pro is unavailable
    for u in oh["users"].values():
        for f in u["folds"]:
            assert "Gemini-3-Pro" not in f["ladder"] and len(f["ladder"]) <= 3
    assert any("1 blank `resolved`" in n for n in oh["notes"])
    swt = results["matrices"]["swt-bench"]
    assert any("1 task(s) not run" in n for n in swt["notes"])
    tb = results["matrices"]["terminal-bench"]
    assert tb["n_tasks"] == 30 and not math.isnan(tb["oracle"]["cost"])
    assert {t["matrix"] for t in results["targets"]} == {"mini-swe-agent", "openhands"}
