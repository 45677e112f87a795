"""The error of a forwarded request that got no answer, in a module of its own: the LSP layer catches
it without importing the provider clients."""

from __future__ import annotations

from ..protocol import Attempt, CompletionErrorData, DecisionCard


class CompletionError(Exception):
    """No answer: nothing callable, budget spent, or every attempt failed before the first token."""

    def __init__(self, code: str, message: str, *, card: DecisionCard | None = None,
                 attempts: list[Attempt] | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.code = code                 # no_model | budget | all_failed | refused
        self.message = message
        self.card = card
        self.attempts = attempts or []
        self.retry_after = retry_after

    def data(self) -> CompletionErrorData:
        return CompletionErrorData(code=self.code, retry_after=self.retry_after, attempts=self.attempts,
                                   decision_id=self.card.decision_id if self.card else None)
