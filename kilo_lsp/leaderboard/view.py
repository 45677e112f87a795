"""The leaderboard as users read it: the kilo/leaderboard result, also printed by the CLI."""

from __future__ import annotations

from typing import Mapping

from ..protocol import ClassView, EvidenceView, LeaderboardResult, ModelView, PairedView, PricesView, SourceView
from .model import Evidence, Leaderboard


def _evidence(model_id: str, e: Evidence) -> EvidenceView:
    paired = None if e.vs_balanced is None else PairedView(
        round(e.vs_balanced.delta, 4), round(e.vs_balanced.ci_low, 4), round(e.vs_balanced.ci_high, 4))
    cost = None if e.cost_per_request is None else round(e.cost_per_request, 6)
    return EvidenceView(model=model_id, source=e.source, borrowed=e.borrowed, solved=e.solved, n=e.n,
                        rate=round(e.rate, 4), ci_low=round(e.ci_low, 4), ci_high=round(e.ci_high, 4),
                        cost_per_request=cost, vs_balanced=paired)


def _ranked(rows: Mapping[str, Evidence]) -> list[EvidenceView]:
    """Best rate first, then the cheaper (rows without a cost last among equals)."""
    order = sorted(rows.items(), key=lambda kv: (-kv[1].rate, kv[1].cost_per_request is None,
                                                 kv[1].cost_per_request or 0.0))
    return [_evidence(mid, e) for mid, e in order]


def leaderboard_view(board: Leaderboard, callable_via: Mapping[str, str], task_type: str | None = None,
                     difficulty: int | None = None) -> LeaderboardResult:
    """Every model with its prices and the provider it can be called through now (``callable_via``:
    model id -> provider), the sources, and the evidence per class (restricted to one task type and/or
    difficulty when given), best rate first, with the rows of other benchmarks shown beside."""
    models = [ModelView(
        id=m.id, name=m.name, maker=m.maker,
        prices=PricesView(m.prices.input, m.prices.output, m.prices.cached_input),
        context_window=m.context_window, free=m.free, local=m.local, callable=m.id in callable_via,
        provider=callable_via.get(m.id), routes=dict(m.routes),
    ) for m in board.models.values()]
    classes = {}
    for key, c in board.classes.items():
        kind, _, tier = key.partition(":")
        if task_type and kind not in (task_type, "*"):
            continue
        if difficulty and tier != str(difficulty):
            continue
        beside = [row for rows in c.beside.values() for row in _ranked(rows)]
        classes[key] = ClassView(label=c.label, source=c.source, borrowed=c.borrowed, n_tasks=c.n_tasks,
                                 best=c.best, models=_ranked(c.evidence), beside=beside)
    sources = {sid: SourceView(s.label, s.benchmark, s.scaffold, s.tasks, s.url, s.licence, s.cost, s.models)
               for sid, s in board.sources.items()}
    return LeaderboardResult(
        version=board.version, built_at=board.built_at, path=board.path, confidence_level=board.confidence_level,
        balanced=board.balanced, frontier=board.frontier, sources=sources, models=models, classes=classes)
