"""kilo/complete, kilo/usage and kilo/setCredentials: answers streamed from the chosen model, what they
cost, and the keys the editor pushes from its secret store.

kilo/complete streams one ``kilo/chunk`` notification per text delta (joined while the editor is not
reading: ``lsp/stdout.py``) and, when the params carry a ``workDoneToken``, work-done progress; its
response carries the whole text, so a client that ignores chunks still works. ``$/cancelRequest`` (or
cancelling the progress) closes the upstream stream at once; pygls answers -32800.
"""

from __future__ import annotations

from typing import Any

from . import settings
from ..forwarding.errors import CompletionError
from ..lsp.progress import Progress
from ..lsp.requests import RequestError, kilo_request
from ..lsp.stdout import chunk_stream
from ..protocol import (COMPLETE, SET_CREDENTIALS, USAGE, Chunk, CompleteParams, CompleteResult,
                        CredentialsResult, SetCredentialsParams, UsageParams, UsageResult)

COMPLETION_ERROR_CODE = -32001           # kilo/complete gave no answer; data says why (code, attempts)


def no_answer(exc: CompletionError) -> RequestError:
    return RequestError(COMPLETION_ERROR_CODE, exc.message, exc.data())


def outcome_of(result: CompleteResult) -> str:
    """The last word of the progress: who answered, how much, what it cost."""
    if result.error is not None:
        return f"{result.model_name}: stopped ({result.error.kind})"
    return f"{result.model_name}: {result.usage.output_tokens} tokens, ${result.cost_usd:.4f}"


async def forward(ls: Any, params: CompleteParams, on_chunk: Any) -> CompleteResult:
    """The forwarder's answer, with the local servers kept in view: the request waits for a probe
    under way; when it gets no answer and the local servers serve something else now (started,
    stopped, restarted), it is routed once more; a failed local call has them probed again."""
    await settings.local_ready(ls)
    try:
        result = await ls.forwarder.complete(params, ls.document_text, on_chunk)
    except CompletionError as exc:
        if not await settings.local_changed_after_failure(ls, exc.code, exc.attempts):
            raise
        result = await ls.forwarder.complete(params, ls.document_text, on_chunk)
    if ls.local_discovery is not None and settings.local_call_failed(result.attempts):
        ls.local_discovery.poke()
    return result


def register(server: Any) -> None:
    @kilo_request(server, COMPLETE)
    async def complete(ls: Any, params: CompleteParams) -> CompleteResult:
        progress = Progress.from_client(ls, params.work_done_token)
        if progress is not None:
            progress.begin("routing…")
        chunks: Any = None
        count = 0

        def on_chunk(chunk: Chunk) -> None:
            nonlocal chunks, count
            if chunks is None:
                chunks = chunk_stream(ls.protocol, chunk.stream_id)
            chunks.send(chunk.text, chunk.model, chunk.provider)
            count += 1
            if progress is not None:
                progress.report(lambda: f"{chunk.model} via {chunk.provider}: {count} chunks")

        outcome = "cancelled"
        try:
            await ls.load_leaderboard()
            result = await forward(ls, params, on_chunk)
            outcome = outcome_of(result)
            return result
        except CompletionError as exc:
            outcome = f"no answer ({exc.code})"
            raise no_answer(exc) from None
        finally:
            if progress is not None:
                progress.end(outcome)

    @kilo_request(server, USAGE)
    async def usage(ls: Any, params: UsageParams) -> UsageResult:
        return await ls.forwarder.usage(params)

    @kilo_request(server, SET_CREDENTIALS)
    async def set_credentials(ls: Any, params: SetCredentialsParams) -> CredentialsResult:
        try:
            return await ls.forwarder.set_credentials(params)
        except CompletionError as exc:
            raise no_answer(exc) from None
