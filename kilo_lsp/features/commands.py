"""Standard LSP surfaces for clients that cannot send kilo/* requests (JetBrains through LSP4IJ's
user-defined servers, generic LSP clients): ``workspace/executeCommand`` commands and a code action.

- ``kilo.route``  — which model would handle a request, and why (the decision card).
- ``kilo.ask``    — answers a request (usually from a selection) through the forwarder, the code path
  of ``kilo/complete``: it streams as work-done progress (cancellable), then shows the model, the
  cost, the saving against Balanced and the start of the answer with ``window/showMessage`` and logs
  the whole answer with ``window/logMessage``; a client that can show documents also gets the whole
  answer as a Markdown document it opens (``window/showDocument``, ``answers.py``).
  ``$/cancelRequest`` or cancelling the progress closes the upstream stream (-32800). No callable
  model: the decision and why, as a warning.
- ``kilo.explain`` — the last decision card of a session.
- ``kilo.feedback`` — how an answer worked out (the kilo/feedback params: ``decisionId``, ``outcome``
  accepted, rejected or failed, ``reason``), for clients that cannot send a custom notification.
- ``kilo.resetOutcomes`` — forget your own results (the kilo/resetOutcomes params: ``taskClass`` or none).
- a code action "Ask Kilo" on a non-empty selection, and "Kilo: which model would handle this?".

Each command takes one argument: the kilo/route params object (``{"text": ..., "context": ...}``;
for ``kilo.ask`` also the kilo/complete fields such as ``maxTokens``), or just the text as a string.
The answer is plain data (the decision card, and for ``kilo.ask`` the kilo/complete result), and a
summary is shown with ``window/showMessage`` because generic clients do not display command results.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable

import msgspec
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

from ..forwarding.errors import CompletionError
from .completion import forward
from ..lsp.overrides import current_request_future
from ..lsp.progress import Progress
from ..protocol import (AskResult, Chunk, CommandResult, CompleteParams, CompleteResult, DecisionCard,
                        ExplainParams, FeedbackParams, MessageResult, ResetOutcomesParams, ResetOutcomesResult, RouteParams)
from . import outcomes
from ..redaction import safe_text
from ..validation import describe

log = logging.getLogger("kilo_lsp")

ROUTE = "kilo.route"
ASK = "kilo.ask"
EXPLAIN = "kilo.explain"
FEEDBACK = "kilo.feedback"
RESET_OUTCOMES = "kilo.resetOutcomes"
COMMANDS: tuple[str, ...] = (ROUTE, ASK, EXPLAIN, FEEDBACK, RESET_OUTCOMES)

ASK_TITLE = "Ask Kilo"
ROUTE_TITLE = "Kilo: which model would handle this?"
DEFAULT_ASK = "Explain the selected code and suggest improvements"
PREVIEW_CHARS = 300                      # of the answer, in the showMessage notification


def command_params(command: str, args: tuple[Any, ...] | list[Any], cls: type) -> Any:
    """The command's one argument (a params object, or the text as a string) as ``cls``."""
    if len(args) != 1:
        raise JsonRpcInvalidParams(f"{command}: invalid arguments: arguments: expected one argument "
                                   f"(the kilo/route params or a text), got {len(args)}")
    raw = {"text": args[0]} if isinstance(args[0], str) else args[0]
    if not isinstance(raw, dict):
        raise JsonRpcInvalidParams(f"{command}: invalid arguments: arguments[0]: expected an object with "
                                   "'text', or a string")
    try:
        return msgspec.convert(raw, cls)
    except msgspec.ValidationError as exc:
        raise JsonRpcInvalidParams(f"{command}: invalid arguments: {describe(exc, cls)}") from None


def summary(card: DecisionCard) -> str:
    """One line a person reads in a notification balloon."""
    how = f" via {card.provider}" if card.provider else ""
    what_if = " (what-if: no credentials for it)" if card.what_if else ""
    return (f"Kilo: {card.model}{how} for {card.task_type.replace('_', ' ')} (difficulty {card.difficulty}), "
            f"~${card.estimated_cost_usd:.4f}{what_if}. {card.reason}")


def answer_message(result: CompleteResult) -> str:
    """What a person reads in the notification: who answered, what it cost, and the answer's start."""
    saved = result.balanced_cost_usd - result.cost_usd
    text = " ".join(result.text.split())
    preview = text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS - 1].rstrip() + "…"
    state = ""
    if result.error is not None:
        state = f", stopped ({result.error.kind}: {result.error.message})"
    elif result.finish_reason != "stop":
        state = f", {result.finish_reason}"
    return (f"Kilo: {result.model_name} via {result.provider}, ${result.cost_usd:.4f} "
            f"(Balanced {result.card.balanced.model} ${result.balanced_cost_usd:.4f}, saved ${saved:.4f}), "
            f"{result.usage.output_tokens} tokens in {result.total_ms / 1000:.1f} s{state}. {preview}")


async def ask(ls: Any, params: CompleteParams, on_chunk: Callable[[Chunk], None] | None = None) -> AskResult:
    """Answer through the forwarder (the code path of kilo/complete); ``reason`` is the kilo/complete
    error code (no_model, budget, all_failed, refused) when no model answered. Cancelling the calling
    task closes the upstream stream."""
    try:
        await ls.load_leaderboard()
        result = await forward(ls, params, on_chunk)
    except CompletionError as exc:
        card = exc.card
        message = f"Kilo: no answer ({exc.code}). {exc.message}"
        if card is not None and card.model not in exc.message:
            message += f" The choice would be {card.model}."
        return AskResult(answered=False, card=card, message=message, reason=exc.code)
    return AskResult(answered=True, card=result.card, message=answer_message(result), result=result)


async def run_ask(ls: Any, params: CompleteParams) -> AskResult:
    """kilo.ask as a client sees it: work-done progress while the answer streams (when the client
    can show server-initiated progress), then showMessage (the summary) and logMessage (the whole
    answer). Cancelling the progress, or ``$/cancelRequest`` for the command, closes the upstream."""
    task = asyncio.current_task()
    cancelled_request = [False]
    request = current_request_future(ls)
    if request is not None and task is not None:
        def on_request_done(f: Any) -> None:
            if f.cancelled():
                cancelled_request[0] = True
                task.cancel()
        request.add_done_callback(on_request_done)

    progress = await Progress.create(ls, "kilo.ask")
    if progress is not None:
        progress.begin("routing…", task)
    text: list[str] = []

    def on_chunk(chunk: Chunk) -> None:
        text.append(chunk.text)
        if progress is not None:
            progress.report(lambda: f"{chunk.model}: {len(text)} chunks… " + " ".join("".join(text).split())[-60:])

    outcome = "cancelled"
    try:
        result = await ask(ls, params, on_chunk)
        outcome = "answered" if result.answered else "no answer"
    except asyncio.CancelledError:
        if cancelled_request[0] or progress is None or not progress.cancelled:
            raise                        # $/cancelRequest: pygls has answered -32800
        # the user cancelled the progress: the request itself still needs an answer
        result = AskResult(answered=False, card=None, reason="cancelled", message=(
            f"Kilo: cancelled after {len(text)} chunks. {''.join(text)[:PREVIEW_CHARS]}").rstrip())
    finally:
        if progress is not None:
            progress.end(outcome)
    if result.result is not None:
        answer = result.result
        ls.window_log_message(types.LogMessageParams(type=types.MessageType.Info, message=(
            f"kilo.ask answered by {answer.model} via {answer.provider} "
            f"(decision {answer.decision_id}):\n{answer.text}")))
        document = await show_answer(ls, params, answer)
        if document is not None:
            result = msgspec.structs.replace(result, document=document)
    ls.window_show_message(types.ShowMessageParams(
        type=types.MessageType.Info if result.answered else types.MessageType.Warning,
        message=safe_text(result.message)))
    return result


def can_show_documents(ls: Any) -> bool:
    caps = ls.client_capabilities
    window = caps.window if caps is not None else None
    return bool(window and window.show_document and window.show_document.support)


async def show_answer(ls: Any, params: CompleteParams, answer: CompleteResult) -> str | None:
    """The whole answer as a document the client opens (window/showDocument), for a client that
    shows no answer of its own (an LSP4IJ template); its URI, or None when the client cannot."""
    if not can_show_documents(ls):
        return None
    from ..answers import write_answer
    try:
        path = await asyncio.get_running_loop().run_in_executor(None, write_answer, params, answer)
    except OSError as exc:
        log.warning("the answer's document could not be written: %s", exc)
        return None
    uri = path.as_uri()
    ls.spawn(open_document(ls, uri))
    return uri


async def open_document(ls: Any, uri: str) -> None:
    result = await ls.window_show_document_async(types.ShowDocumentParams(uri=uri, take_focus=True))
    if not getattr(result, "success", False):
        log.info("the client did not open the answer's document %s", uri)


def lsp_diagnostics(diagnostics: list[types.Diagnostic] | None) -> list[dict[str, Any]]:
    """The diagnostics a code action request carries (those at the selection), as EditorContext's."""
    return [{"message": d.message, "severity": int(d.severity or 1),
             "range": {"start": {"line": d.range.start.line, "character": d.range.start.character},
                       "end": {"line": d.range.end.line, "character": d.range.end.character}}}
            for d in (diagnostics or [])[:50]]


def code_actions(ls: Any, params: types.CodeActionParams) -> list[types.CodeAction]:
    """'Ask Kilo' and 'which model' on a non-empty selection; nothing on an empty one."""
    rng = params.range
    if rng.start == rng.end:
        return []
    uri = params.text_document.uri
    selection = {"start": {"line": rng.start.line, "character": rng.start.character},
                 "end": {"line": rng.end.line, "character": rng.end.character}}
    context: dict[str, Any] = {"activeUri": uri, "selection": selection}
    doc = ls.workspace.document(uri)
    if doc is not None:
        context["languageId"] = doc.language_id
    diagnostics = lsp_diagnostics(params.context.diagnostics if params.context else None)
    if diagnostics:
        context["diagnostics"] = diagnostics
    ask_args = {"text": DEFAULT_ASK, "context": context}
    route_args = {"text": DEFAULT_ASK, "context": context, "dryRun": True}
    return [
        types.CodeAction(title=ASK_TITLE, kind=types.CodeActionKind.Empty,
                         command=types.Command(title=ASK_TITLE, command=ASK, arguments=[ask_args])),
        types.CodeAction(title=ROUTE_TITLE, kind=types.CodeActionKind.Empty,
                         command=types.Command(title=ROUTE_TITLE, command=ROUTE, arguments=[route_args])),
    ]


def _object_argument(command: str, args: tuple[Any, ...], cls: type) -> Any:
    """A command's one object argument as ``cls`` (no argument: an empty object), or -32602."""
    raw = args[0] if args and isinstance(args[0], dict) else {}
    try:
        return msgspec.convert(raw, cls)
    except msgspec.ValidationError as exc:
        raise JsonRpcInvalidParams(f"{command}: invalid arguments: {describe(exc, cls)}") from None


def register(server: Any) -> None:
    def shown(result: CommandResult | None) -> CommandResult | None:
        if result is not None:
            server.window_show_message(types.ShowMessageParams(type=types.MessageType.Info, message=result.message))
        return result

    @server.command(ROUTE)
    async def route(ls: Any, *args: Any) -> CommandResult:
        params = command_params(ROUTE, args, RouteParams)
        await ls.load_leaderboard()        # read off the event loop (lsp/server.py)
        card = ls.engine.route(params, ls.document_text)
        return shown(CommandResult(card, summary(card)))

    @server.command(ASK)
    async def ask_command(ls: Any, *args: Any) -> AskResult:
        return await run_ask(ls, command_params(ASK, args, CompleteParams))

    @server.command(EXPLAIN)
    def explain(ls: Any, *args: Any) -> CommandResult | None:
        params = _object_argument(EXPLAIN, args, ExplainParams)
        card = ls.engine.last_card(params.workspace_uri, params.conversation_id)
        return shown(CommandResult(card, summary(card)) if card is not None else None)

    @server.command(FEEDBACK)
    def feedback(ls: Any, *args: Any) -> MessageResult:
        params = _object_argument(FEEDBACK, args, FeedbackParams)
        record = ls.engine.feedback(params)
        if record is None:
            raise JsonRpcInvalidParams(f"{FEEDBACK}: unknown decision {params.decision_id[:80]!r} (decisions are "
                                       "kept for a day, in the sidecar that made them)")
        said = MessageResult(f"Kilo: noted that the answer of {record.model} was {params.outcome} "
                             f"({record.task_class or 'no class'}).")
        server.window_show_message(types.ShowMessageParams(type=types.MessageType.Info, message=said.message))
        return said

    @server.command(RESET_OUTCOMES)
    async def reset_outcomes(ls: Any, *args: Any) -> ResetOutcomesResult:
        params = _object_argument(RESET_OUTCOMES, args, ResetOutcomesParams)
        result = await outcomes.reset(ls, params)
        server.window_show_message(types.ShowMessageParams(
            type=types.MessageType.Info, message=f"Kilo: forgot {result.removed} of your outcomes"
                                                 f"{' on ' + params.task_class if params.task_class else ''}."))
        return result

    @server.feature(types.TEXT_DOCUMENT_CODE_ACTION,
                    types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.Empty]))
    def actions(ls: Any, params: types.CodeActionParams) -> list[types.CodeAction]:
        return code_actions(ls, params)
