"""The one small interface every classifier implements.

The router never looks inside a classifier: it hands over the request text and the editor
signals, and gets a task type, a difficulty tier, a calibrated confidence and the signals that
drove the answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class EditorSignals:
    """What the editor context says about a request, reduced to numbers a classifier can use."""

    selection_lines: int = 0          # lines in the active selection (0: none)
    files_involved: int = 1           # active document plus referenced documents
    diagnostics_errors: int = 0
    has_stack_trace: bool = False     # in the request, the conversation or the selection
    conversation_turns: int = 0       # earlier turns in this conversation
    context_tokens: int = 0           # estimated tokens of context the request carries
    language_id: str = ""             # of the active document


@dataclass(frozen=True)
class TaskState:
    """The task a conversation is on, as its previous turn left it."""

    task_type: str
    difficulty: int
    text: str                   # the previous user turn
    had_trace: bool = False     # a pasted error in that turn
    same_document: bool | None = None   # this turn is in the same document as that one (None: unknown)


@dataclass(frozen=True)
class ClassifyInput:
    text: str                                   # the request as the user typed it
    signals: EditorSignals = field(default_factory=EditorSignals)
    state: TaskState | None = None              # the task the conversation is on (its last turn's text too)


@dataclass(slots=True)
class Signal:
    """One thing that moved the decision, for the decision card. Read-only by convention, not frozen:
    a classifier builds up to ten per request, and a frozen dataclass costs several times as much."""

    name: str        # e.g. "keyword:rename", "stack_trace", "files_involved"
    detail: str      # a short human sentence
    weight: float    # signed contribution, in the classifier's own units


@dataclass(frozen=True)
class Classification:
    task_type: str                 # one of taxonomy.TASK_TYPES
    difficulty: int                # 1..4
    confidence: float              # 0..1, calibrated: probability that type AND tier are usable
    type_confidence: float         # 0..1, probability of the predicted task type
    difficulty_confidence: float   # 0..1, probability the tier is right or one tier too low at worst
    signals: tuple[Signal, ...] = ()
    classifier: str = ""           # name and version of the classifier that answered
    #: P(tier = 1..4); empty means "a one-hot of ``difficulty``" (classifiers without probabilities).
    tier_probabilities: tuple[float, ...] = ()
    #: P(type) in taxonomy.TASK_TYPES order; empty when the classifier gives only its answer.
    type_probabilities: tuple[float, ...] = ()
    #: In a conversation: P(the turn continues its task) and P(it says the previous answer failed).
    continues: float = 0.0
    previous_failed: float = 0.0

    def tier_distribution(self) -> tuple[float, float, float, float]:
        """P(tier 1..4): the classifier's own, else a one-hot of ``difficulty``."""
        p = tuple(float(x) for x in self.tier_probabilities[:4])
        if len(p) == 4 and sum(p) > 0:
            s = sum(p)
            return (p[0] / s, p[1] / s, p[2] / s, p[3] / s)
        d = min(max(int(self.difficulty), 1), 4)
        return tuple(1.0 if t == d else 0.0 for t in (1, 2, 3, 4))  # type: ignore[return-value]


class Classifier(Protocol):
    """Anything that turns a request into a Classification. Must be fast (p99 <= 1 ms)."""

    name: str

    def classify(self, item: ClassifyInput) -> Classification: ...
