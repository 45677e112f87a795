"""What the dashboard shows, computed from the routing engine and the ledger: plain values, no HTML.

Spend, savings and answers come from the ledger the sidecar writes (``ledger/store.py``): the day
totals and their Balanced and Frontier counterparts from ``Ledger.usage``, the breakdown per model and
workspace from ``Ledger.daily_spend``, escalations and answers from ``Ledger.daily_answers``. The
leaderboard is the one the engine routes on, with your own results (``leaderboard_view``). Decisions
come from the ledger's ``decisions`` table, replayed with ``routing/replay.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Callable

from ..config import Settings, workspace_key
from ..leaderboard.view import leaderboard_view
from ..ledger.store import Ledger
from ..protocol import ClassView, LeaderboardResult, ModelView
from ..routing.engine import DEFAULT_WORKSPACE, Engine
from ..routing.replay import DecisionRecord, Replay, other_dial, replay

PERIODS = (7, 28, 90)
DEFAULT_PERIOD = 28
DEFAULT_CLASS = "*:2"


# -- the leaderboard --------------------------------------------------------------------------
@dataclass(frozen=True)
class BoardFigures:
    board: LeaderboardResult
    class_key: str
    cls: ClassView
    models: dict[str, ModelView]
    callable_only: bool
    rows: list[Any]                 # EvidenceView rows shown (only the callable ones when asked)


def outcomes_of(ledger: Ledger | None) -> Callable[[str], dict[str, tuple[int, int]]]:
    """The user's own results per class as the ledger keeps them (``kilo-lsp dashboard`` has no sidecar
    that counts them as they come)."""
    counts = ledger.outcome_counts() if ledger is not None else {}
    by_class: dict[str, dict[str, tuple[int, int]]] = {}
    for (task_class, model), (accepted, failed) in counts.items():
        if accepted + failed:
            by_class.setdefault(task_class, {})[model] = (accepted, failed)
    return lambda key: by_class.get(key, {})


def board_figures(engine: Engine, class_key: str | None, callable_only: bool,
                  yours: Callable[[str], dict[str, tuple[int, int]]] | None = None) -> BoardFigures:
    settings = engine.settings()
    board = engine.leaderboard(settings)
    via = {mid: r.provider for mid, r in engine.reachable(board, settings).items()}
    view = leaderboard_view(board, via, yours=yours or engine.outcomes.of_class)
    key = class_key if class_key in view.classes else (DEFAULT_CLASS if DEFAULT_CLASS in view.classes
                                                       else next(iter(view.classes)))
    models = {m.id: m for m in view.models}
    cls = view.classes[key]
    rows = [r for r in cls.models if not callable_only or (r.model in models and models[r.model].callable)]
    return BoardFigures(view, key, cls, models, callable_only, rows)


# -- usage and savings ------------------------------------------------------------------------
@dataclass
class Totals:
    requests: int = 0               # distinct decisions charged (the day totals)
    answered: int = 0               # requests answered (per model: answered by it)
    attempts: int = 0
    errors: int = 0
    cost_usd: float = 0.0
    balanced_cost_usd: float = 0.0
    frontier_cost_usd: float = 0.0

    def add(self, row: dict[str, Any]) -> None:
        self.answered += row["answered"]
        self.attempts += row["attempts"]
        self.errors += row["errors"]
        self.cost_usd += row["cost_usd"]
        self.balanced_cost_usd += row["balanced_cost_usd"]
        self.frontier_cost_usd += row["frontier_cost_usd"]


@dataclass(frozen=True)
class Day:
    day: str
    cost_usd: float
    balanced_cost_usd: float
    frontier_cost_usd: float
    by_model: dict[str, float]
    decisions: int
    escalations: int
    failed: int
    accepted: int
    failovers: int


@dataclass(frozen=True)
class WorkspaceRow:
    workspace: str
    totals: Totals
    budget_usd: float               # 0: none
    spent_today_usd: float

    @property
    def left_today_usd(self) -> float | None:
        return None if self.budget_usd <= 0 else max(0.0, self.budget_usd - self.spent_today_usd)


@dataclass(frozen=True)
class UsageFigures:
    period: int
    since: str
    today: str
    days: list[Day]
    total: Totals
    models: dict[str, Totals]       # by cost, highest first
    workspaces: list[WorkspaceRow]
    escalations: int
    failed: int
    accepted: int
    decisions: int
    has_ledger: bool

    @property
    def saved_vs_balanced_usd(self) -> float:
        return self.total.balanced_cost_usd - self.total.cost_usd

    @property
    def saved_vs_frontier_usd(self) -> float:
        return self.total.frontier_cost_usd - self.total.cost_usd


def days_between(since: str, today: str) -> list[str]:
    start, end = date.fromisoformat(since), date.fromisoformat(today)
    return [(start + timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]


def since_day(today: str, period: int) -> str:
    return (date.fromisoformat(today) - timedelta(days=period - 1)).isoformat()


def open_ledger(path: Path) -> Ledger | None:
    """The ledger to read, or None when there is none yet (viewing never creates one)."""
    return Ledger(path) if path.is_file() else None


def usage_figures(ledger: Ledger | None, settings_of: Callable[[str], Settings], period: int,
                  folders: list[str] = (), today: str | None = None) -> UsageFigures:
    """Spend per day, workspace and model over the last ``period`` days; what the answered requests
    would have cost on Balanced and Frontier; escalations, answers that did not work, failovers; and
    the budget left today per workspace."""
    today = today or Ledger.today()
    since = since_day(today, period)
    if ledger is None:
        return UsageFigures(period, since, today, [Day(d, 0, 0, 0, {}, 0, 0, 0, 0, 0) for d in days_between(since, today)],
                            Totals(), {}, [WorkspaceRow(w, Totals(), settings_of(w).budget.daily_usd_per_workspace, 0.0)
                                           for w in folders], 0, 0, 0, 0, False)
    by_day = {d.day: d for d in ledger.usage().by_day if d.day >= since}
    spend = ledger.daily_spend(since)
    answers = ledger.daily_answers(since)
    per_model: dict[str, dict[str, float]] = {}
    failovers: dict[str, int] = {}
    models: dict[str, Totals] = {}
    spaces: dict[str, Totals] = {}
    total = Totals()
    for row in spend:
        per_model.setdefault(row["day"], {}).setdefault(row["model"], 0.0)
        per_model[row["day"]][row["model"]] += row["cost_usd"]
        failovers[row["day"]] = failovers.get(row["day"], 0) + row["errors"]
        models.setdefault(row["model"], Totals()).add(row)
        spaces.setdefault(row["workspace"], Totals()).add(row)
    days = []
    for d in days_between(since, today):
        u = by_day.get(d)
        a = answers.get(d, {})
        days.append(Day(d, u.cost_usd if u else 0.0, u.balanced_cost_usd if u else 0.0,
                        u.frontier_cost_usd if u else 0.0, per_model.get(d, {}), a.get("decisions", 0),
                        a.get("escalations", 0), a.get("failed", 0), a.get("accepted", 0), failovers.get(d, 0)))
        if u is not None:
            total.requests += u.requests
            total.attempts += u.attempts
            total.cost_usd += u.cost_usd
            total.balanced_cost_usd += u.balanced_cost_usd
            total.frontier_cost_usd += u.frontier_cost_usd
    total.errors = sum(failovers.values())
    total.answered = sum(m.answered for m in models.values())
    names = sorted(set(spaces) | {w for w in folders if w}, key=lambda w: (-spaces.get(w, Totals()).cost_usd, w))
    rows = []
    for w in names:
        budget = settings_of(w).budget.daily_usd_per_workspace
        rows.append(WorkspaceRow(w, spaces.get(w, Totals()), budget, ledger.spent_today(w)))
    ordered = dict(sorted(models.items(), key=lambda kv: (-kv[1].cost_usd, kv[0])))
    return UsageFigures(period, since, today, days, total, ordered, rows,
                        sum(d.escalations for d in days), sum(d.failed for d in days),
                        sum(d.accepted for d in days), sum(d.decisions for d in days), True)


# -- decisions ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class ConversationFigures:
    workspace: str
    conversation: str
    records: list[DecisionRecord]
    replay: Replay
    dial: str                       # the dial the decisions were made on (the latest one's)
    board_version: str
    spent: dict[str, Any] = field(default_factory=dict)


def conversation_figures(ledger: Ledger | None, engine: Engine, workspace: str, conversation: str,
                         dial: str | None = None) -> ConversationFigures | None:
    if ledger is None:
        return None
    records = ledger.decisions(workspace, conversation)
    if not records:
        return None
    board = engine.leaderboard(engine.settings(workspace))
    used = records[-1].dial
    spent = ledger.spent_on([r.decision_id for r in records])
    again = replay(records, board, dial if dial in ("bill", "bar") else other_dial(used), spent)
    return ConversationFigures(workspace, conversation, records, again, used, board.version, spent)


@dataclass(frozen=True)
class PeriodReplay:
    """Every conversation of a period decided again with the other dial of each."""

    conversations: int
    decisions: int
    changed: int
    cost_usd: float
    by_dial: dict[str, tuple[int, float, float]]    # replay dial -> (decisions, cost, replay cost)


def period_replay(ledger: Ledger | None, engine: Engine, since: str) -> PeriodReplay:
    if ledger is None:
        return PeriodReplay(0, 0, 0, 0.0, {})
    records = ledger.decisions_since(since)
    spent = ledger.spent_on([r.decision_id for r in records])
    board = engine.leaderboard(engine.settings())
    groups: dict[tuple[str, str], list[DecisionRecord]] = {}
    for r in records:
        groups.setdefault((r.workspace, r.conversation), []).append(r)
    by_dial: dict[str, tuple[int, float, float]] = {}
    changed = 0
    cost = 0.0
    for recs in groups.values():
        again = replay(recs, board, other_dial(recs[-1].dial), spent)
        n, c, r = by_dial.get(again.dial, (0, 0.0, 0.0))
        by_dial[again.dial] = (n + len(again.steps), c + again.cost_usd, r + again.replay_cost_usd)
        changed += again.changed
        cost += again.cost_usd
    return PeriodReplay(len(groups), sum(n for n, _, _ in by_dial.values()), changed, cost, by_dial)


# -- settings ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Setting:
    value: str                      # in force
    source: str                     # where it comes from ("defaults", "user-file:...", "env", ...)
    in_file: str | None             # what the user config file says for this scope (None: nothing)

    @property
    def overridden(self) -> bool:
        """A source above the file decides: changing the file does not change the value in force."""
        return not (self.source == "defaults" or self.source.startswith("user-file:"))


@dataclass(frozen=True)
class ScopeSettings:
    workspace: str | None           # None: every workspace
    dial: Setting
    tier: Setting


def settings_figures(engine: Engine, workspaces: list[str]) -> list[ScopeSettings]:
    config = engine.config
    out = []
    for ws in [None, *workspaces]:
        s = engine.settings(ws)
        if config is not None:
            table = config.file.values.get("routing", {}) if ws is None else \
                config.file.workspaces.get(workspace_key(ws), {}).get("routing", {})
        else:
            table = {}
        table = table if isinstance(table, dict) else {}
        out.append(ScopeSettings(ws, *(Setting(getattr(s.routing, key), s.sources.get(f"routing.{key}", "defaults"),
                                                 table.get(key) if isinstance(table.get(key), str) else None)
                                         for key in ("dial", "tier"))))
    return out


def known_workspaces(ledger: Ledger | None, folders: list[str], engine: Engine) -> list[str]:
    """The workspace folders the dashboard offers settings for: the sidecar's, the ledger's and the
    config file's own tables."""
    seen = set(folders)
    if ledger is not None:
        seen |= set(ledger.workspaces())
    if engine.config is not None:
        seen |= set(engine.config.file.workspaces)
    seen.discard(DEFAULT_WORKSPACE)
    seen.discard("")
    return sorted(seen)

