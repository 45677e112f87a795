"""Where a turn stands in its conversation: the task it continues or a new one, and whether it says
the previous answer failed.

A conversation is on a task (its type and difficulty, from the turn that started or last changed
it). Each new turn either continues that task (a clarification, "why?", "still failing", the same
change elsewhere) or starts another one, which may be easier. P(continues) comes from a logistic
model over ``features.continuation_features``. A turn with P(continues) >= 0.5 keeps its task's type;
one below reads its type from its own words and context. The probabilities behind both are mixed
by P(continues):

    P(type)  = P(continues) x [the task's type]          + (1 - P(continues)) x P(type | the turn)
    P(tier)  = P(continues) x P(tier | the turn, never below the task's tier) + (1 - P(continues)) x P(tier | the turn)

so a continuing turn never lowers its task's tier, and a new task is read on its own. (Deciding the
type by the threshold rather than by the mixture's largest term keeps a new task from being shown
with the old one's type when the turn reads as a new task but its own type is unsure: on written
conversations the model never saw, it left a third fewer new tasks stuck on the old type.)
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Sequence

from ..taxonomy import TASK_TYPES
from .base import Classification, Signal, TaskState
from .features import CONTINUATION_FEATURES, continuation_features


@dataclass(frozen=True)
class TurnReading:
    continues: float            # P(the turn continues the task)
    failed: float               # P(the turn says the previous answer failed)


def sigmoid(x: float) -> float:
    """The logistic function, without overflow for large negative x."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


class _Logistic:
    def __init__(self, raw: dict[str, Any], n: int) -> None:
        self.intercept = float(raw["intercept"])
        self.w = [float(x) for x in raw["w"]]
        if len(self.w) != n:
            raise ValueError(f"session model: {len(self.w)} weights for {n} features")

    def __call__(self, x: Sequence[float]) -> float:
        return sigmoid(self.intercept + sum(a * b for a, b in zip(self.w, x)))


class SessionModel:
    """The two conversation models of editor.json's ``session`` block."""

    def __init__(self, raw: dict[str, Any]) -> None:
        if list(raw["features"]) != list(CONTINUATION_FEATURES):
            raise ValueError("session model: its features are not the ones this version computes")
        n = len(CONTINUATION_FEATURES)
        self._continues = _Logistic(raw["continues"], n)
        self._failed = _Logistic(raw["failed"], n)

    def read(self, text: str, trace_now: bool, state: TaskState, type_probs: Sequence[float]) -> TurnReading:
        x = continuation_features(text, state.text, state.task_type, trace_now, state.had_trace,
                                  dict(zip(TASK_TYPES, type_probs)), state.same_document)
        return TurnReading(self._continues(x), self._failed(x))


def in_conversation(c: Classification, state: TaskState, reading: TurnReading) -> Classification:
    """The turn's classification mixed with the task it may continue (see the module docstring)."""
    p = reading.continues
    own = c.type_probabilities or tuple(1.0 if t == c.task_type else 0.0 for t in TASK_TYPES)
    types = [(1 - p) * q for q in own]
    if state.task_type in TASK_TYPES:
        types[TASK_TYPES.index(state.task_type)] += p
    if p >= 0.5 and state.task_type in TASK_TYPES:
        k = TASK_TYPES.index(state.task_type)
    else:
        k = max(range(len(own)), key=own.__getitem__)
    tiers = c.tier_distribution()
    floor = min(max(state.difficulty, 1), 4)
    raised = [0.0] * 4
    for t, q in enumerate(tiers, start=1):
        raised[max(t, floor) - 1] += q
    mixed = tuple(p * a + (1 - p) * b for a, b in zip(raised, tiers))
    tier = max(range(4), key=lambda i: (mixed[i], -i)) + 1
    tier_conf = 1.0 - sum(mixed[tier + 1:])
    if p >= 0.5:
        why = Signal("conversation", f"continues the {state.task_type} task of this conversation "
                     f"(P = {p:.2f})", round(p, 4))
    else:
        why = Signal("conversation", f"a new task in this conversation (P(continues) = {p:.2f})", round(p, 4))
    extra = [why]
    if reading.failed >= 0.5:
        extra.append(Signal("previous_failed", f"says the previous answer did not work (P = {reading.failed:.2f})",
                            round(reading.failed, 4)))
    return dataclasses.replace(
        c, task_type=TASK_TYPES[k], difficulty=tier, type_confidence=round(types[k], 4),
        difficulty_confidence=round(tier_conf, 4), confidence=round(types[k] * tier_conf, 4),
        tier_probabilities=tuple(round(x, 4) for x in mixed), type_probabilities=tuple(round(x, 4) for x in types),
        signals=(*extra, *c.signals), continues=round(p, 4), previous_failed=round(reading.failed, 4))
