"""Escalation ladders: start on a lean model and move up when the user says the answer failed.

Reading an issue's text does not tell which model it needs (``bench/results/routing.md``), but a
session does: when an answer fails, the user notices and asks again. A *ladder* is a short sequence
of distinct models ordered by price; attempt 1 uses rung 1 and each further attempt the next rung.

The user is simulated exactly, as expectations rather than coin flips. After an attempt whose
probability of being right is ``o`` (0 or 1 for a measured run, a success rate for repeated trials):

- a wrong answer is noticed with probability ``recall`` (the user asks again, next rung), else the
  user stops with a wrong answer;
- a right answer is wrongly doubted with probability ``false_alarm`` (next rung), else the user
  stops with a right answer;
- after the last rung the user stops.

So the probability of reaching rung ``j + 1`` is ``reach[j] * (o_j * false_alarm + (1 - o_j) *
recall)``; the task is solved at a non-last rung with ``reach[j] * o_j * (1 - false_alarm)`` and at
the last rung with ``reach[-1] * o_last``. Expected cost is ``sum reach[j] * cost_j`` (an attempt is
paid whether or not it is right), expected attempts ``sum reach[j]``. Attempts are independent given
the task, which is exact for 0/1 outcomes and the usual assumption for trial rates.

Two dials choose a ladder on a set of tasks, against the Frontier model alone on the same tasks:

- ``bill``: the cheapest ladder whose expected solved count reaches Frontier's;
- ``bar``: the ladder with the most expected solved whose expected cost stays within Frontier's.

The search is exhaustive over price-ordered ladders of 1 to ``max_rungs`` rungs (each rung's mean
cost on the tasks strictly above the previous one's). It is cheap because every ladder is scored at
once by contracting the per-task arrays (one matrix product per ladder length). No model is pruned
by its aggregate cost and solved count: a model dominated on those can still pay as a rung, because
what it solves is what the rungs below it miss (Claude Sonnet 4.5 is dominated by Gemini 3 Pro on
mini-SWE-agent, and is the third rung of a good ladder there).

A constraint met on training tasks is met only in expectation on new ones, so each dial can hold a
margin: ``bill`` asks for ``margin`` x (number of tasks) solved above Frontier, ``bar`` keeps its cost
within ``(1 - margin)`` x Frontier's. ``fit_margin`` chooses it by leave-one-fold-out over the folds of
the tasks it is given (training folds only); ``choose_ladder`` does that when given ``folds``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

DIALS = ("bill", "bar")
#: Candidate margins. bill: extra solved tasks as a share of the tasks (0 to 3%); bar: share of
#: Frontier's cost left unspent (0 to 20%).
MARGIN_GRID: dict[str, tuple[float, ...]] = {
    "bill": tuple(float(x) for x in np.round(np.arange(0.0, 0.0301, 0.0025), 4)),
    "bar": tuple(float(x) for x in np.round(np.arange(0.0, 0.2001, 0.025), 4)),
}
_EPS = 1e-9


@dataclass(frozen=True)
class Expected:
    """Per-task expectations of one ladder under the simulated user (arrays over tasks)."""

    solved: np.ndarray
    cost: np.ndarray
    attempts: np.ndarray

    @property
    def totals(self) -> tuple[float, float, float]:
        """(solved, cost, attempts per task) over the tasks: the figures a table reports."""
        n = len(self.solved)
        return float(self.solved.sum()), float(self.cost.sum()), float(self.attempts.sum() / n) if n else 0.0


@dataclass(frozen=True)
class Candidates:
    """Every price-ordered ladder on a set of tasks with its expected totals (parallel arrays)."""

    ladders: list[tuple[str, ...]]
    solved: np.ndarray
    cost: np.ndarray
    attempts: np.ndarray                 # total over tasks


@dataclass(frozen=True)
class Choice:
    """A dial's ladder, the margin it was chosen with, and its expected totals on the choosing tasks."""

    ladder: list[str]
    margin: float
    solved: float
    cost: float
    feasible: bool                       # False: no ladder met the constraint; the fallback was taken


def _check_user(recall: float, false_alarm: float) -> None:
    if not (0.0 <= recall <= 1.0 and 0.0 <= false_alarm <= 1.0):
        raise ValueError(f"recall and false_alarm must be probabilities, got {recall}, {false_alarm}")


def continue_probability(outcome: np.ndarray, recall: float, false_alarm: float) -> np.ndarray:
    """P(the user asks again) after an attempt that is right with probability ``outcome``."""
    return outcome * false_alarm + (1.0 - outcome) * recall


def simulate(ladder: Sequence[str], outcomes: Mapping[str, np.ndarray], costs: Mapping[str, np.ndarray],
             recall: float = 0.8, false_alarm: float = 0.1) -> Expected:
    """Expected solved, cost and attempts per task of ``ladder`` under the simulated user.

    ``outcomes[m]`` is per task the probability that model m's answer is right (0/1 for one measured
    run), ``costs[m]`` the cost of one attempt. A single-model ladder is the model alone: one
    attempt, paid once, solved when right.
    """
    _check_user(recall, false_alarm)
    if not ladder or len(set(ladder)) != len(ladder):
        raise ValueError(f"a ladder is a non-empty sequence of distinct models, got {list(ladder)}")
    n = len(np.asarray(outcomes[ladder[0]]))
    reach = np.ones(n)
    solved, cost, attempts = np.zeros(n), np.zeros(n), np.zeros(n)
    for j, model in enumerate(ladder):
        o = np.asarray(outcomes[model], dtype=float)
        attempts += reach
        cost += reach * np.asarray(costs[model], dtype=float)
        last = j == len(ladder) - 1
        solved += reach * o * (1.0 if last else 1.0 - false_alarm)
        reach = reach * continue_probability(o, recall, false_alarm)
    return Expected(solved, cost, attempts)


def price_order(costs: Mapping[str, np.ndarray], models: Sequence[str]) -> list[str]:
    """Models from cheapest to dearest by mean cost per task (ties broken by name, for stability)."""
    return sorted(models, key=lambda m: (float(np.mean(costs[m])), m))


def all_ladders(outcomes: Mapping[str, np.ndarray], costs: Mapping[str, np.ndarray], models: Sequence[str],
                recall: float = 0.8, false_alarm: float = 0.1, max_rungs: int = 3) -> Candidates:
    """Score every price-ordered ladder of 1..max_rungs rungs drawn from ``models`` on these tasks.

    With ``stay[a] = o_a (1 - fa)`` (solved by stopping on a at a non-last rung) and ``go[a]`` the
    probability of asking again after a, the totals over tasks are sums of products of these arrays:
    e.g. for (a, b, c) solved = sum stay[a] + go[a].stay[b] + (go[a] go[b]).o[c]. The pairwise products
    go[a] go[b] over all pairs, times the matrix of outcomes (or costs), give every 3-rung ladder in one
    matrix product, of which only the strictly price-ordered (a, b, c) are read.
    """
    _check_user(recall, false_alarm)
    if not 1 <= max_rungs <= 3:
        raise ValueError("max_rungs must be 1, 2 or 3")
    order = price_order(costs, models)
    O = np.array([np.asarray(outcomes[m], dtype=float) for m in order])          # (models, tasks)
    C = np.array([np.asarray(costs[m], dtype=float) for m in order])
    mean = C.mean(axis=1)
    go = continue_probability(O, recall, false_alarm)
    stay = O * (1.0 - false_alarm)
    go_o, go_c, go_stay, go_go = go @ O.T, go @ C.T, go @ stay.T, go @ go.T   # [a, b]: sums over tasks
    n_tasks = O.shape[1]
    ladders: list[tuple[str, ...]] = [(m,) for m in order]
    solved, cost = [O.sum(1)], [C.sum(1)]
    attempts = [np.full(len(order), float(n_tasks))]
    rising = mean[:, None] < mean[None, :]                                        # [a, b]: a strictly cheaper
    if max_rungs >= 2:
        a, b = np.nonzero(rising)
        ladders += [(order[i], order[j]) for i, j in zip(a, b)]
        solved.append(stay.sum(1)[a] + go_o[a, b])
        cost.append(C.sum(1)[a] + go_c[a, b])
        attempts.append(n_tasks + go.sum(1)[a])
    if max_rungs >= 3:
        m = len(order)
        pair_go = (go[:, None, :] * go[None, :, :]).reshape(m * m, n_tasks)       # go[a] go[b], per task
        via_o = (pair_go @ O.T).reshape(m, m, m)
        via_c = (pair_go @ C.T).reshape(m, m, m)
        a, b, c = np.nonzero(rising[:, :, None] & rising[None, :, :])
        ladders += [(order[i], order[j], order[k]) for i, j, k in zip(a, b, c)]
        solved.append(stay.sum(1)[a] + go_stay[a, b] + via_o[a, b, c])
        cost.append(C.sum(1)[a] + go_c[a, b] + via_c[a, b, c])
        attempts.append(n_tasks + go.sum(1)[a] + go_go[a, b])
    return Candidates(ladders, np.concatenate(solved), np.concatenate(cost), np.concatenate(attempts))


def pick(cands: Candidates, dial: str, frontier_solved: float, frontier_cost: float, n_tasks: int,
         margin: float = 0.0) -> tuple[int, bool]:
    """Index of the dial's ladder among ``cands`` and whether its constraint was met.

    bill: least cost among ladders with solved >= Frontier's + margin x n_tasks (ties: more solved,
    then fewer rungs); none: the ladder with the most solved. bar: most solved among ladders costing
    at most (1 - margin) x Frontier's (ties: less cost, then fewer rungs); none: the cheapest ladder.
    """
    rungs = np.array([len(lad) for lad in cands.ladders])
    if dial == "bill":
        ok = cands.solved >= frontier_solved + margin * n_tasks - _EPS
        if not ok.any():
            return int(np.lexsort((rungs, cands.cost, -cands.solved))[0]), False
        idx = np.flatnonzero(ok)
        return int(idx[np.lexsort((rungs[idx], -cands.solved[idx], cands.cost[idx]))[0]]), True
    if dial == "bar":
        ok = cands.cost <= (1.0 - margin) * frontier_cost + _EPS
        if not ok.any():
            return int(np.lexsort((rungs, -cands.solved, cands.cost))[0]), False
        idx = np.flatnonzero(ok)
        return int(idx[np.lexsort((rungs[idx], cands.cost[idx], -cands.solved[idx]))[0]]), True
    raise ValueError(f"unknown dial {dial!r}; expected one of {DIALS}")


def _subset(arrays: Mapping[str, np.ndarray], mask: np.ndarray) -> dict[str, np.ndarray]:
    return {m: np.asarray(v)[mask] for m, v in arrays.items()}


def _allowed_models(outcomes: Mapping[str, np.ndarray], allowed: set[str] | None) -> list[str]:
    models = sorted(outcomes if allowed is None else set(outcomes) & set(allowed))
    if not models:
        raise ValueError("no model is allowed in a ladder")
    return models


def fit_margin(outcomes: Mapping[str, np.ndarray], costs: Mapping[str, np.ndarray], frontier: str, dial: str,
               folds: np.ndarray, recall: float = 0.8, false_alarm: float = 0.1, max_rungs: int = 3,
               allowed: set[str] | None = None, grid: Sequence[float] | None = None) -> float:
    """The dial's margin, chosen by leave-one-fold-out over ``folds`` (labels of the given tasks only).

    For each margin on the grid, a ladder is chosen on all folds but one and scored on that one; the
    held-out figures are summed over the folds. bill takes the smallest margin whose held-out solved
    reaches Frontier's on the same tasks; bar the smallest whose held-out cost stays within Frontier's.
    When no margin does, the largest (the most cautious) is returned.
    """
    grid = tuple(grid if grid is not None else MARGIN_GRID[dial])
    models = _allowed_models(outcomes, allowed)
    folds = np.asarray(folds)
    got = np.zeros(len(grid))                    # held-out solved (bill) or cost (bar), per margin
    ref = 0.0                                    # Frontier's, on the same held-out tasks
    for f in np.unique(folds):
        train, test = folds != f, folds == f
        tr_o, tr_c = _subset(outcomes, train), _subset(costs, train)
        cands = all_ladders(tr_o, tr_c, models, recall, false_alarm, max_rungs)
        fs, fc = float(tr_o[frontier].sum()), float(tr_c[frontier].sum())
        te_o, te_c = _subset(outcomes, test), _subset(costs, test)
        ref += float((te_o if dial == "bill" else te_c)[frontier].sum())
        for g, margin in enumerate(grid):
            i, _ = pick(cands, dial, fs, fc, int(train.sum()), margin)
            solved, cost, _ = simulate(cands.ladders[i], te_o, te_c, recall, false_alarm).totals
            got[g] += solved if dial == "bill" else cost
    meets = got >= ref - _EPS if dial == "bill" else got <= ref + _EPS
    return float(grid[int(np.argmax(meets))]) if meets.any() else float(grid[-1])


def choose(outcomes: Mapping[str, np.ndarray], costs: Mapping[str, np.ndarray], frontier: str, dial: str,
           recall: float = 0.8, false_alarm: float = 0.1, max_rungs: int = 3, allowed: set[str] | None = None,
           folds: np.ndarray | None = None, margin: float | None = None) -> Choice:
    """The dial's ladder on these tasks, with its margin (given, fitted on ``folds``, or 0)."""
    if margin is None:
        margin = 0.0 if folds is None else fit_margin(outcomes, costs, frontier, dial, folds, recall,
                                                      false_alarm, max_rungs, allowed)
    models = _allowed_models(outcomes, allowed)
    cands = all_ladders(outcomes, costs, models, recall, false_alarm, max_rungs)
    n = len(np.asarray(outcomes[frontier]))
    i, feasible = pick(cands, dial, float(np.sum(outcomes[frontier])), float(np.sum(costs[frontier])), n, margin)
    return Choice(list(cands.ladders[i]), margin, float(cands.solved[i]), float(cands.cost[i]), feasible)


def choose_ladder(outcomes: dict[str, np.ndarray], costs: dict[str, np.ndarray], frontier: str, dial: str,
                  recall: float = 0.8, false_alarm: float = 0.1, max_rungs: int = 3,
                  allowed: set[str] | None = None, folds: np.ndarray | None = None) -> list[str]:
    """The ladder a dial ships: ``bill`` or ``bar`` against ``frontier`` alone, models from ``allowed``.

    ``outcomes`` and ``costs`` map each model to per-task arrays over the same tasks. With ``folds``
    (one label per task) the dial's margin is fitted by leave-one-fold-out over them; without, the
    constraint is taken as is (margin 0).
    """
    return choose(outcomes, costs, frontier, dial, recall, false_alarm, max_rungs, allowed, folds).ladder

