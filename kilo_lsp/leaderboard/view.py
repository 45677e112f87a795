"""The leaderboard as users read it: the kilo/leaderboard result, also printed by the CLI."""

from __future__ import annotations

from typing import Callable, Mapping

from ..protocol import (ClassView, EvidenceView, LeaderboardResult, ModelView, PairedView, PricesView, RungView,
                        SourceView, UserResultView)
from ..routing.outcomes import posterior
from .model import Evidence, Leaderboard

#: task class -> model -> (accepted, failed): the user's own answers
Yours = Callable[[str], Mapping[str, tuple[int, int]]]


def _evidence(model_id: str, e: Evidence, mine: tuple[int, int] | None = None) -> EvidenceView:
    paired = None if e.vs_balanced is None else PairedView(
        round(e.vs_balanced.delta, 4), round(e.vs_balanced.ci_low, 4), round(e.vs_balanced.ci_high, 4))
    cost = None if e.cost_per_request is None else round(e.cost_per_request, 6)
    return EvidenceView(model=model_id, source=e.source, borrowed=e.borrowed, solved=e.solved, n=e.n,
                        rate=round(e.rate, 4), ci_low=round(e.ci_low, 4), ci_high=round(e.ci_high, 4),
                        cost_per_request=cost, vs_balanced=paired, yours=_yours(e.rate, mine))


def _yours(rate: float, mine: tuple[int, int] | None) -> UserResultView | None:
    if not mine:
        return None
    y = posterior(rate, *mine)
    return UserResultView(y.accepted, y.failed, round(y.rate, 4), round(y.low, 4), round(y.high, 4))


def _ranked(rows: Mapping[str, Evidence], yours: Mapping[str, tuple[int, int]] | None = None) -> list[EvidenceView]:
    """Best rate first, then the cheaper (rows without a cost last among equals)."""
    order = sorted(rows.items(), key=lambda kv: (-kv[1].rate, kv[1].cost_per_request is None,
                                                 kv[1].cost_per_request or 0.0))
    return [_evidence(mid, e, (yours or {}).get(mid)) for mid, e in order]


def leaderboard_view(board: Leaderboard, callable_via: Mapping[str, str], task_type: str | None = None,
                     difficulty: int | None = None, yours: Yours = lambda key: {}) -> LeaderboardResult:
    """Every model with its prices and the provider it can be called through now (``callable_via``:
    model id -> provider), the sources, and the evidence per class (restricted to one task type and/or
    difficulty when given), best rate first, with the rows of other benchmarks shown beside, the user's
    own results beside the rows routing reads (``yours``), and each class's ladders."""
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
                                 best=c.best, models=_ranked(c.evidence, yours(key)), beside=beside,
                                 ladders={dial: list(rungs) for dial, rungs in c.ladders.items()},
                                 ladder_source=c.ladder_source, ladder_tasks=c.ladder_tasks,
                                 ladder_steps={dial: [RungView(m, a, b) for m, (a, b) in zip(c.ladders[dial], st)]
                                               for dial, st in c.ladder_steps.items()})
    sources = {sid: SourceView(s.label, s.benchmark, s.scaffold, s.tasks, s.url, s.licence, s.cost, s.models)
               for sid, s in board.sources.items()}
    return LeaderboardResult(
        version=board.version, built_at=board.built_at, path=board.path, confidence_level=board.confidence_level,
        balanced=board.balanced, frontier=board.frontier, sources=sources, models=models, classes=classes)
