"""The leaderboard as users read it: plain data for kilo/leaderboard and the CLI table."""

from __future__ import annotations

from typing import Any

from ..routing.availability import Reach
from .model import Leaderboard


def leaderboard_view(board: Leaderboard, reach: dict[str, Reach], task_type: str | None = None,
                     difficulty: int | None = None) -> dict[str, Any]:
    models = [{
        "id": m.id, "name": m.name, "maker": m.maker,
        "prices": {"input": m.prices.input, "output": m.prices.output, "cachedInput": m.prices.cached_input},
        "contextWindow": m.context_window, "free": m.free, "local": m.local,
        "callable": m.id in reach, "provider": reach[m.id].provider if m.id in reach else None,
        "routes": dict(m.routes),
    } for m in board.models.values()]
    classes = {}
    for key, c in board.classes.items():
        kind, _, tier = key.partition(":")
        if task_type and kind not in (task_type, "*"):
            continue
        if difficulty and tier != str(difficulty):
            continue
        rows = sorted(c.evidence.items(), key=lambda kv: (-kv[1].rate, kv[1].cost_per_request))
        classes[key] = {
            "label": c.label, "source": c.source, "nTasks": c.n_tasks, "best": c.best,
            "models": [{
                "model": mid, "solved": e.solved, "n": e.n, "rate": round(e.rate, 4),
                "ciLow": round(e.ci_low, 4), "ciHigh": round(e.ci_high, 4),
                "costPerRequest": round(e.cost_per_request, 6),
                "vsBalanced": None if e.vs_balanced is None else {
                    "delta": round(e.vs_balanced.delta, 4), "ciLow": round(e.vs_balanced.ci_low, 4),
                    "ciHigh": round(e.vs_balanced.ci_high, 4)},
            } for mid, e in rows],
        }
    return {
        "version": board.version, "builtAt": board.built_at, "path": board.path,
        "confidenceLevel": board.confidence_level, "balanced": board.balanced, "frontier": board.frontier,
        "sources": list(board.sources), "models": models, "classes": classes,
    }
