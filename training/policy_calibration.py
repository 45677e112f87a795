"""Fit the ``bill`` dial's willingness to pay (USD per solved task) on training tasks only.

The ``bill`` dial picks, per request, the eligible model minimising ``c(m) - wtp * p(m)`` (see
``kilo_lsp/routing/policy.py``). ``wtp`` is chosen here as the smallest value on a fixed grid at which
routing the training issues - with their *out-of-fold* tier probabilities (inner folds of the
difficulty model, so the probabilities are as blurred as on unseen issues) and the policy's own
scoring functions - is non-inferior to Balanced on a one-sided 95% lower confidence bound of the
*actual* outcomes: with d_i = resolved(chosen model, i) - resolved(Balanced, i) in {-1, 0, 1} for each
training issue i (paired, from the outcome matrix), the bound ``sum d_i - 1.645 * sqrt(n * var(d))``
(``var`` with n - 1 in the denominator) must be at least 0. When no grid value up to the cap
(``GRID[-1]``) reaches it, the cap is used and ``feasible`` is false. The expected solved counts
(sum of p(m)) and the realised cost are reported alongside; the held-out fold is never read. The value
ships in ``kilo_lsp/data/classifier.json`` (``difficulty.routing.wtp_usd``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kilo_lsp.classify.base import Classification, most_likely_tier
from kilo_lsp.classify.learned import tier_probabilities
from kilo_lsp.config import RoutingSettings
from kilo_lsp.leaderboard.model import Leaderboard
from kilo_lsp.routing.policy import clears_bar, expected, floor_margin, request_tiers

CONFIDENCE = 0.95
Z = 1.645                                   # one-sided 95% normal quantile
GRID = np.concatenate([[0.0], np.exp(np.linspace(np.log(0.01), np.log(50.0), 400))])


def noninferiority_bound(d: np.ndarray) -> float:
    """One-sided 95% lower confidence bound of sum(d) for paired per-task differences d in {-1, 0, 1}."""
    n = len(d)
    if n < 2:
        return float(d.sum()) if n else 0.0
    return float(d.sum() - Z * np.sqrt(n * d.var(ddof=1)))


def fit_wtp(board: Leaderboard, oof: dict[str, tuple[float, float]], tier4_share: float,
            resolved: dict[str, dict[str, int]], cost: dict[str, dict[str, float]],
            settings: RoutingSettings | None = None) -> dict[str, Any]:
    """oof: task -> (P(tier>1), P(tier>=3)) out of fold; resolved/cost: router model id -> task -> value."""
    s = settings or RoutingSettings()
    bal = board.balanced
    models = sorted(m for m in board.models if m in resolved)
    tasks = sorted(t for t in oof if all(t in resolved[m] for m in models))
    fm = floor_margin(s)
    P = np.full((len(tasks), len(models)), np.nan)
    C = np.zeros((len(tasks), len(models)))
    for i, t in enumerate(tasks):
        probs = tier_probabilities(oof[t][0], oof[t][1], tier4_share)
        c = Classification("bugfix", most_likely_tier(probs), 1.0, 1.0, 1.0, tier_probabilities=probs)
        pr, classes = request_tiers(c, board)
        top = most_likely_tier(pr)
        for j, m in enumerate(models):
            p_m, c_m = expected(m, pr, classes, 0.0)
            if p_m is not None and clears_bar(m, classes[top].evidence.get(m), bal, s, fm):
                P[i, j], C[i, j] = p_m, c_m
    R = np.array([[resolved[m][t] for m in models] for t in tasks], float)
    K = np.array([[cost[m][t] for m in models] for t in tasks], float)
    ok = ~np.isnan(P)
    rows = np.arange(len(tasks))
    jb = models.index(bal)
    target = float(np.nan_to_num(P)[:, jb].sum())          # Balanced's expected solved count
    picks = []
    for lam in GRID:
        obj = np.where(ok, C - lam * np.nan_to_num(P), np.inf)
        picks.append(obj.argmin(1))
    exp_solved = np.array([np.nan_to_num(P)[rows, pk].sum() for pk in picks])
    lower = np.array([noninferiority_bound(R[rows, pk] - R[:, jb]) for pk in picks])
    feasible = bool((lower >= 0).any())
    idx = int(np.argmax(lower >= 0)) if feasible else len(GRID) - 1
    pk = picks[idx]
    d = R[rows, pk] - R[:, jb]
    return {"wtp_usd": round(float(GRID[idx]), 4), "n_tasks": len(tasks),
            "criterion": f"smallest wtp with one-sided {CONFIDENCE:.0%} lower bound of paired solved difference "
                         "vs Balanced >= 0 (training issues, actual outcomes)",
            "feasible": feasible, "cap_usd": round(float(GRID[-1]), 4),
            "solved_diff": float(d.sum()), "solved_diff_lower_bound": round(float(lower[idx]), 2),
            "balanced_expected_solved": round(target, 2), "expected_solved": round(float(exp_solved[idx]), 2),
            "balanced_solved": float(R[:, jb].sum()), "solved": float(R[rows, pk].sum()),
            "cost": round(float(K[rows, pk].sum()), 2), "balanced_cost": round(float(K[:, jb].sum()), 2)}

def shipped_routing(root: Any, trained: dict[str, Any]) -> dict[str, Any]:
    """The ``routing`` block for the shipped difficulty model: wtp fitted on all 500 issues' out-of-fold
    probabilities against the one-matrix leaderboard of the mini-SWE-agent runs on all of them (the
    matrix whose actual outcomes score the fit)."""
    from training import datasets
    from training.build_leaderboard import router_id, swebench_board
    from training.catalog import read_catalog
    from kilo_lsp.leaderboard.model import parse
    rows = datasets.read_outcomes(root)
    board = parse(swebench_board(rows, datasets.read_tasks(root), datasets.read_prices(root)))
    catalog = read_catalog()
    resolved: dict[str, dict[str, int]] = {}
    cost: dict[str, dict[str, float]] = {}
    for r in rows:
        if r["model"] in datasets.DROPPED_MODELS:
            continue
        mid = router_id(r["model"], catalog)
        resolved.setdefault(mid, {})[r["task_id"]] = int(r["resolved"])
        cost.setdefault(mid, {})[r["task_id"]] = float(r["cost_usd"])
    return fit_wtp(board, trained["_oof"], trained["json"]["tier4_share_of_hard"], resolved, cost)


def main() -> int:
    """Retrain the difficulty block of kilo_lsp/data/classifier.json, with its routing block."""
    import hashlib
    import json
    import sys

    from training import datasets
    from training.train_classifier import OUT, load_difficulty_data, train_difficulty
    root = datasets.data_dir()
    tasks, extra = load_difficulty_data(root)
    trained = train_difficulty(tasks, extra)
    weights = json.loads(OUT.read_text(encoding="utf-8"))
    weights.pop("version", None)
    weights["difficulty"] = dict(trained["json"], routing=shipped_routing(root, trained))
    body = json.dumps(weights, sort_keys=True, separators=(",", ":"))
    weights["version"] = "clf-" + hashlib.sha256(body.encode("utf-8")).hexdigest()[:12]
    OUT.write_text(json.dumps(weights, separators=(",", ":"), ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{weights['version']}: routing {weights['difficulty']['routing']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
