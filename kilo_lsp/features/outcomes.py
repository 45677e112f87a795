"""kilo/feedback and kilo/resetOutcomes: how answers worked out, kept in the ledger and counted per class.

The engine counts each outcome in memory the moment it is known (the next decision reads it); the
ledger keeps it, written off the event loop. At start-up an existing ledger's counts are read off the
event loop too (a ledger that does not exist yet is not created).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import msgspec

from ..protocol import FEEDBACK, RESET_OUTCOMES, FeedbackParams, ResetOutcomesParams, ResetOutcomesResult
from ..routing.outcomes import OutcomeRecord
from ..validation import describe
from ..lsp.requests import kilo_request

log = logging.getLogger("kilo_lsp.outcomes")



def load(ls: Any) -> None:
    """Count the outcomes an existing ledger keeps (run off the event loop)."""
    ledger = ls.ledger
    if not ledger.path.exists():
        return
    try:
        ls.engine.outcomes.load(ledger.outcome_counts())
    except Exception as exc:  # noqa: BLE001 - routing works without the user's own results
        log.warning("cannot read your past outcomes from the ledger: %s", exc)


def feedback(ls: Any, raw: Any) -> OutcomeRecord | None:
    """The user's word on an answer; a bad or unknown one is logged (a notification has no answer)."""
    try:
        params = msgspec.convert(raw if raw is not None else {}, FeedbackParams)
    except msgspec.ValidationError as exc:
        log.warning("%s ignored: invalid params: %s", FEEDBACK, describe(exc, FeedbackParams))
        return None
    record = ls.engine.feedback(params)
    if record is None:
        log.warning("%s ignored: unknown decision %r (decisions are kept for a day, in the sidecar that made "
                    "them)", FEEDBACK, params.decision_id[:80])
    return record


async def reset(ls: Any, params: ResetOutcomesParams) -> ResetOutcomesResult:
    """Forget the user's own results (all, or one class): in memory at once, in the ledger off the loop."""
    ls.engine.outcomes.reset(params.task_class)
    ledger = ls.ledger
    if not ledger.path.exists():
        return ResetOutcomesResult(0)
    return ResetOutcomesResult(await asyncio.to_thread(ledger.reset_outcomes, params.task_class))


def register(server: Any) -> None:
    @server.feature(FEEDBACK)
    def on_feedback(ls: Any, raw: Any) -> None:
        feedback(ls, raw)

    @kilo_request(server, RESET_OUTCOMES)
    async def reset_outcomes(ls: Any, params: ResetOutcomesParams) -> ResetOutcomesResult:
        return await reset(ls, params)
