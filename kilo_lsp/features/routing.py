"""kilo/route, kilo/leaderboard and kilo/explain: decisions, the evidence behind them, the last one again."""

from __future__ import annotations

from typing import Any

from ..leaderboard.view import leaderboard_view
from ..lsp.requests import kilo_request
from ..protocol import (EXPLAIN, LEADERBOARD, ROUTE, DecisionCard, ExplainParams, LeaderboardParams,
                        LeaderboardResult, RouteParams)


def register(server: Any) -> None:
    @kilo_request(server, ROUTE)
    def route(ls: Any, params: RouteParams) -> DecisionCard:
        ls.require_leaderboard()           # read off the event loop first, once (lsp/server.py)
        return ls.engine.route(params, ls.document_text)

    @kilo_request(server, LEADERBOARD)
    async def leaderboard(ls: Any, params: LeaderboardParams) -> LeaderboardResult:
        await ls.load_leaderboard()
        settings = ls.engine.settings()
        board = ls.engine.leaderboard(settings)
        via = {mid: r.provider for mid, r in ls.engine.reachable(board, settings).items()}
        return leaderboard_view(board, via, params.task_type, params.difficulty, ls.engine.outcomes.of_class)

    @kilo_request(server, EXPLAIN)
    def explain(ls: Any, params: ExplainParams) -> DecisionCard | None:
        return ls.engine.last_card(params.workspace_uri, params.conversation_id)
