"""Whether the last answer on a conversation's task did not work, read from the turn after it.

The user may say so (``kilo/feedback``); otherwise, on a turn that continues the task:

- the classifier reads that the turn reports a failure ("still failing", "that broke the build"),
- the same error is pasted again (the error lines of both turns match once numbers are masked),
- the errors in the diagnostics of the last turn are still there after the document changed (the
  answer was applied and did not fix them).

A turn that starts a new task never counts the last answer as failed: the user moved on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: P(the turn says the previous answer failed) from which the classifier's reading counts.
FAILED_PROBABILITY = 0.5

_ERROR_LINE = re.compile(
    r"\b(?:error|exception|panic|fatal|failed|failure|traceback|segmentation fault|undefined|cannot|"
    r"not found|[A-Z]\d{3,5})\b", re.IGNORECASE)
_NUMBERS = re.compile(r"0x[0-9a-f]+|\d+", re.IGNORECASE)
_SPACE = re.compile(r"\s+")
MAX_ERROR_LINES = 40


def _normal(line: str) -> str:
    return _SPACE.sub(" ", _NUMBERS.sub("#", line.strip().lower()))[:160]


def error_lines(text: str) -> frozenset[str]:
    """The lines of ``text`` that read as an error message, numbers masked (line numbers and addresses
    change between runs of the same error)."""
    found: set[str] = set()
    for line in text.splitlines():
        if _ERROR_LINE.search(line) and len(line.strip()) >= 8:
            found.add(_normal(line))
            if len(found) >= MAX_ERROR_LINES:
                break
    return frozenset(found)


def diagnostic_errors(messages: list[str]) -> frozenset[str]:
    """Error diagnostics as a set of masked messages."""
    return frozenset(_normal(m) for m in messages[:MAX_ERROR_LINES] if m.strip())


@dataclass(frozen=True)
class TurnEvidence:
    """What the turn after an answer shows."""

    continues: bool                     # it continues the task the answer was for
    said_failed: float                  # P(the turn says the answer failed), from the classifier
    errors_now: frozenset[str]          # error lines pasted in this turn
    errors_before: frozenset[str]       # ... and in the turn the answer was for
    diagnostics_now: frozenset[str]     # error diagnostics sent with this turn
    diagnostics_before: frozenset[str]  # ... and with the turn the answer was for
    document_changed: bool              # the active document changed since that turn


def failure_reason(explicit: str, turn: TurnEvidence) -> str:
    """Why the last answer counts as failed, or "" when it does not."""
    if explicit:
        return explicit
    if not turn.continues:
        return ""
    if turn.said_failed >= FAILED_PROBABILITY:
        return "this turn says the last answer did not work"
    if turn.errors_now & turn.errors_before:
        return "the same error was pasted again"
    if turn.document_changed and turn.diagnostics_now & turn.diagnostics_before:
        return "the same errors are still in the diagnostics after the file changed"
    return ""
