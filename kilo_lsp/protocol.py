"""Typed params and results of every kilo/* method and notification: the one source of truth.

Params are structured with ``wire.structure`` inside the handlers; results are dataclasses turned
into camelCase JSON with ``wire.unstructure``. protocol.md documents the same types, and a test
checks the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from .wire import ParamError

Tier = Literal["efficient", "balanced", "frontier", "free"]
Dial = Literal["bill", "bar"]

# -- methods and notifications (named in methods.py) ------------------------------------------
from .methods import CHUNK, EXPLAIN, LEADERBOARD, NOTIFICATIONS, REQUESTS, ROUTE, STATUS  # noqa: E402,F401


# -- params ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Position:
    line: int
    character: int

    def validate(self, path: str) -> None:
        if self.line < 0 or self.character < 0:
            raise ParamError(path, "line and character must be >= 0")


@dataclass(frozen=True)
class Range:
    start: Position
    end: Position


@dataclass(frozen=True)
class Diagnostic:
    message: str
    severity: int = 1                 # LSP DiagnosticSeverity: 1 error, 2 warning, 3 info, 4 hint
    uri: str | None = None
    range: Range | None = None


@dataclass(frozen=True)
class DiagnosticCounts:
    errors: int = 0
    warnings: int = 0


@dataclass(frozen=True)
class EditorContext:
    active_uri: str | None = None                  # the document the user is in
    selection: Range | None = None                 # in the active document
    selected_text: str | None = None               # when the client sends it; else read from the document
    language_id: str | None = None
    diagnostics: list[Diagnostic] | None = None    # full diagnostics, or...
    diagnostic_counts: DiagnosticCounts | None = None  # ...only their counts
    referenced_uris: list[str] = field(default_factory=list)  # other documents the request refers to


@dataclass(frozen=True)
class Turn:
    role: Literal["user", "assistant", "system"]
    content: str


@dataclass(frozen=True)
class RouteParams:
    text: str                                      # the request as the user typed it
    conversation_id: str | None = None             # a session key within the workspace folder
    workspace_uri: str | None = None               # the folder; else found from the active document
    turns: list[Turn] = field(default_factory=list)  # earlier turns, oldest first
    context: EditorContext | None = None
    tier: Tier | None = None                       # per-request overrides of the settings
    dial: Dial | None = None
    pin: str | None = None
    dry_run: bool = False                          # decide without touching session state

    def validate(self, path: str) -> None:
        if not self.text.strip():
            raise ParamError("text", "must not be empty")


@dataclass(frozen=True)
class LeaderboardParams:
    task_type: str | None = None                   # restrict to one task type
    difficulty: int | None = None


@dataclass(frozen=True)
class ExplainParams:
    workspace_uri: str | None = None
    conversation_id: str | None = None


# -- results --------------------------------------------------------------------------------
@dataclass(frozen=True)
class SignalView:
    name: str
    detail: str
    weight: float


@dataclass(frozen=True)
class Candidate:
    model: str
    provider: str | None            # provider it would be reached through; None when not callable
    callable: bool                  # credentials or a local server make it usable now
    accuracy: float | None          # proven success rate for the class (None: no evidence)
    ci_low: float | None
    ci_high: float | None
    samples: int
    vs_balanced_low: float | None   # lower bound of (this model - Balanced) on paired tasks
    clears_bar: bool
    estimated_cost_usd: float       # this request, from its token estimate and list prices
    expected_cost_per_task_usd: float | None  # measured mean on the benchmark class
    note: str = ""


@dataclass(frozen=True)
class CostView:
    model: str
    estimated_cost_usd: float


@dataclass(frozen=True)
class DecisionCard:
    decision_id: str
    model: str
    model_name: str
    provider: str | None
    provider_model_id: str | None
    callable: bool                  # False in what-if mode (no credentials for the chosen model)
    what_if: bool                   # no callable model was available: the choice is over the whole catalog
    tier: str
    dial: str
    task_type: str
    difficulty: int
    confidence: float
    type_confidence: float
    difficulty_confidence: float
    reason_code: str
    reason: str
    sticky: bool                    # the session's incumbent was kept
    escalated: bool                 # moved to a stronger model than the incumbent
    fallback: bool                  # went to Balanced (low confidence, old client, nothing clears)
    task_class: str                 # leaderboard class the evidence came from
    candidates: list[Candidate]
    estimated_input_tokens: int
    estimated_output_tokens: int
    estimated_cost_usd: float
    balanced: CostView
    frontier: CostView
    leaderboard_version: str
    classifier: str
    signals: list[SignalView]
    workspace: str
    conversation_id: str
    turn: int


@dataclass(frozen=True)
class SessionStatus:
    workspace: str
    conversation_id: str
    model: str
    tier: str
    reason_code: str
