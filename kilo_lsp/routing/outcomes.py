"""What the user's own answers say about a model: the benchmark's rate as a prior, their results as evidence.

An answer's outcome is *accepted*, *rejected* or *failed* (the last two both count as not working).
It comes from the user (``kilo/feedback``) or is read from the conversation (``failure.py``): a turn
that says the answer did not work, or errors that persist, counts as failed; moving on to a new task
without such a sign counts as accepted. One outcome per decision: the user's own word replaces a read
one, never the other way round.

Per task class and model, the accepted and failed answers update the benchmark's success rate as a
Beta-Binomial: the prior is the benchmark's rate with the weight of ``PRIOR_STRENGTH`` answers (the
benchmark's tasks are not the user's, so a handful of the user's own answers should count), the
posterior mean and an 80% interval are shown beside the benchmark's figures. A ladder drops a rung
whose posterior upper bound falls below the benchmark's lower bound: the user's work says that model
does worse on it than the benchmark promised.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

OUTCOMES = ("accepted", "rejected", "failed")
SOURCES = ("explicit", "implicit")
#: The benchmark's rate weighs as much as this many of the user's own answers.
PRIOR_STRENGTH = 10.0
#: One-sided 80% normal quantile for the posterior's interval.
Z80 = 1.2816


@dataclass(frozen=True)
class OutcomeRecord:
    """One decision's outcome, as the ledger keeps it."""

    decision_id: str
    workspace: str
    conversation: str
    task_class: str
    model: str          # the model that answered
    outcome: str        # one of OUTCOMES
    source: str         # explicit (the user said) or implicit (read from the next turn)
    reason: str = ""


def is_failure(outcome: str) -> bool:
    return outcome in ("rejected", "failed")


@dataclass(frozen=True)
class UserResult:
    """The user's answers on one class and model, and the benchmark's rate updated with them."""

    accepted: int
    failed: int
    rate: float         # posterior mean
    low: float          # posterior 80% interval (normal approximation of the Beta)
    high: float


def posterior(benchmark_rate: float | None, accepted: int, failed: int) -> UserResult:
    """Beta(prior a + accepted, prior b + failed) with the prior centred on the benchmark's rate (0.5 when the
    model has no evidence on the class)."""
    p = 0.5 if benchmark_rate is None else min(max(benchmark_rate, 0.0), 1.0)
    a, b = p * PRIOR_STRENGTH + accepted, (1 - p) * PRIOR_STRENGTH + failed
    mean = a / (a + b)
    sd = math.sqrt(mean * (1 - mean) / (a + b + 1))
    return UserResult(accepted, failed, mean, max(0.0, mean - Z80 * sd), min(1.0, mean + Z80 * sd))


def worse_than_promised(result: UserResult, benchmark_low: float) -> bool:
    """The user's answers put the model clearly under the benchmark's lower bound."""
    return result.failed > 0 and result.high < benchmark_low


class OutcomeCounts:
    """task class -> model -> [accepted, failed], in memory; the ledger keeps them across restarts.
    Thread-safe: the sidecar loads it off the event loop and updates it from handlers."""

    def __init__(self) -> None:
        self._counts: dict[str, dict[str, list[int]]] = {}
        self._lock = threading.Lock()

    def load(self, counts: dict[tuple[str, str], tuple[int, int]]) -> None:
        with self._lock:
            for (task_class, model), (acc, fail) in counts.items():
                got = self._counts.setdefault(task_class, {}).setdefault(model, [0, 0])
                got[0] += acc
                got[1] += fail

    def change(self, task_class: str, model: str, outcome: str, previous: str | None = None) -> None:
        """Count one outcome, taking back ``previous`` when the same decision had one."""
        with self._lock:
            got = self._counts.setdefault(task_class, {}).setdefault(model, [0, 0])
            if previous is not None:
                i = int(is_failure(previous))
                got[i] = max(0, got[i] - 1)
            got[int(is_failure(outcome))] += 1

    def of_class(self, task_class: str) -> dict[str, tuple[int, int]]:
        with self._lock:
            return {m: (a, f) for m, (a, f) in self._counts.get(task_class, {}).items() if a + f}

    def reset(self, task_class: str | None = None) -> None:
        with self._lock:
            if task_class is None:
                self._counts.clear()
            else:
                self._counts.pop(task_class, None)

    def total(self) -> int:
        with self._lock:
            return sum(a + f for models in self._counts.values() for a, f in models.values())
