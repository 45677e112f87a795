"""Standard LSP surfaces for clients that cannot send kilo/* requests (JetBrains through LSP4IJ's
user-defined servers, generic LSP clients): ``workspace/executeCommand`` commands and a code action.

- ``kilo.route``  — which model would handle a request, and why (the decision card).
- ``kilo.ask``    — answers a request (usually from a selection) through the sidecar's forwarder, the
  code path of ``kilo/complete``: it streams as work-done progress (cancellable), then shows the
  model, the cost, the saving against Balanced and the start of the answer with ``window/showMessage``
  and logs the whole answer with ``window/logMessage``. ``$/cancelRequest`` or cancelling the progress
  closes the upstream stream (-32800). No callable model: the decision and why, as a warning.
- ``kilo.explain`` — the last decision card of a session.
- a code action "Ask Kilo" on a non-empty selection, and "Kilo: which model would handle this?".

Each command takes one argument: the kilo/route params object (``{"text": ..., "context": ...}``;
for ``kilo.ask`` also the kilo/complete fields such as ``maxTokens``), or just the text as a string.
The answer is plain data (the decision card, and for ``kilo.ask`` the kilo/complete result), and a
summary is shown with ``window/showMessage`` because generic clients do not display command results.

The functions here take the Sidecar and return plain data; ``register_commands(ls)`` wires them.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import TYPE_CHECKING, Any, Callable

from lsprotocol import types

from .wire import ParamError, structure_dataclass, unstructure

if TYPE_CHECKING:
    from .protocol import DecisionCard, ExplainParams, RouteParams

ROUTE = "kilo.route"
ASK = "kilo.ask"
EXPLAIN = "kilo.explain"
COMMANDS: tuple[str, ...] = (ROUTE, ASK, EXPLAIN)

ASK_TITLE = "Ask Kilo"
ROUTE_TITLE = "Kilo: which model would handle this?"
DEFAULT_ASK = "Explain the selected code and suggest improvements"
PREVIEW_CHARS = 300                      # of the answer, in the showMessage notification
PROGRESS_INTERVAL = 0.1                  # seconds between work-done progress reports
_tokens = itertools.count(1)


def route_params(args: tuple[Any, ...] | list[Any]) -> RouteParams:
    """The command's argument (a params object or a text) as RouteParams; ParamError when unusable."""
    if len(args) != 1:
        raise ParamError("arguments", f"expected one argument (the kilo/route params or a text), got {len(args)}")
    raw = args[0]
    if isinstance(raw, str):
        raw = {"text": raw}
    if not isinstance(raw, dict):
        raise ParamError("arguments[0]", "expected an object with 'text', or a string")
    from .protocol import RouteParams
    return structure_dataclass(raw, RouteParams)


def summary(card: DecisionCard) -> str:
    """One line a person reads in a notification balloon."""
    how = f" via {card.provider}" if card.provider else ""
    what_if = " (what-if: no credentials for it)" if card.what_if else ""
    return (f"Kilo: {card.model}{how} for {card.task_type.replace('_', ' ')} (difficulty {card.difficulty}), "
            f"~${card.estimated_cost_usd:.4f}{what_if}. {card.reason}")


def route(ls: Any, params: RouteParams) -> dict[str, Any]:
    card = ls.engine.route(params, ls.document_text)
    return {"card": unstructure(card), "message": summary(card)}


def complete_params(args: tuple[Any, ...] | list[Any]) -> Any:
    """The command's argument as kilo/complete params (CompleteParams); ParamError when unusable."""
    from .complete import CompleteParams
    route_params(args)                   # the shape of the arguments, with the same messages as kilo.route
    raw = args[0] if isinstance(args[0], dict) else {"text": args[0]}
    return structure_dataclass(raw, CompleteParams)


def answer_message(result: Any) -> str:
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


async def ask(ls: Any, params: Any, on_chunk: Callable[[Any], None] | None = None) -> dict[str, Any]:
    """Answer through the sidecar's forwarder (the code path of kilo/complete).

    Returns ``{"answered": True, "card", "result", "message"}`` with ``result`` the kilo/complete
    result as on the wire, or ``{"answered": False, "card", "reason", "message"}`` when no model
    could answer (``reason`` is the kilo/complete error code: no_model, budget, all_failed, refused).
    Cancelling the calling task closes the upstream stream."""
    from .complete import CompletionError
    if getattr(ls, "forwarder", None) is None:
        from .server import register_forwarding
        register_forwarding(ls)
    try:
        result = await ls.forwarder.complete(params, ls.document_text, on_chunk)
    except CompletionError as exc:
        card = exc.card
        message = f"Kilo: no answer ({exc.code}). {exc.message}"
        if card is not None and card.model not in exc.message:
            message += f" The choice would be {card.model}."
        return {"card": unstructure(card) if card is not None else None, "answered": False, "reason": exc.code,
                "message": message}
    return {"card": unstructure(result.card), "answered": True, "result": unstructure(result),
            "message": answer_message(result)}


def explain(ls: Any, params: ExplainParams) -> dict[str, Any] | None:
    card = ls.engine.last_card(params.workspace_uri, params.conversation_id)
    if card is None:
        return None
    return {"card": unstructure(card), "message": summary(card)}


def code_actions(ls: Any, params: types.CodeActionParams) -> list[types.CodeAction]:
    """'Ask Kilo' and 'which model' on a non-empty selection; nothing on an empty one."""
    rng = params.range
    if rng.start == rng.end:
        return []
    uri = params.text_document.uri
    selection = {"start": {"line": rng.start.line, "character": rng.start.character},
                 "end": {"line": rng.end.line, "character": rng.end.character}}
    context = {"activeUri": uri, "selection": selection}
    doc = ls.workspace.text_documents.get(uri)
    if doc is not None:
        context["languageId"] = doc.language_id
    ask_args = {"text": DEFAULT_ASK, "context": context}
    route_args = {"text": DEFAULT_ASK, "context": context, "dryRun": True}
    return [
        types.CodeAction(title=ASK_TITLE, kind=types.CodeActionKind.Empty,
                         command=types.Command(title=ASK_TITLE, command=ASK, arguments=[ask_args])),
        types.CodeAction(title=ROUTE_TITLE, kind=types.CodeActionKind.Empty,
                         command=types.Command(title=ROUTE_TITLE, command=ROUTE, arguments=[route_args])),
    ]


def register_commands(ls: Any) -> None:
    """Register the commands and the code action on the Sidecar (call from server.register).

    Idempotent: a second call on the same server does nothing.
    """
    from pygls.exceptions import JsonRpcInvalidParams

    if ROUTE in ls.protocol.fm.commands:
        return

    def shown(result: dict[str, Any] | None) -> dict[str, Any] | None:
        if result and result.get("message"):
            ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Info, message=result["message"]))
        return result

    def invalid(name: str, exc: ParamError) -> JsonRpcInvalidParams:
        return JsonRpcInvalidParams(f"{name}: invalid arguments: {exc}")

    @ls.command(ROUTE)
    def kilo_route(ls, *args: Any):
        try:
            params = route_params(args)
        except ParamError as exc:
            raise invalid(ROUTE, exc) from exc
        return shown(route(ls, params))

    @ls.command(ASK)
    async def kilo_ask(ls, *args: Any):
        try:
            params = complete_params(args)
        except ParamError as exc:
            raise invalid(ASK, exc) from exc
        return await run_ask(ls, params)

    @ls.command(EXPLAIN)
    def kilo_explain(ls, *args: Any):
        raw = args[0] if args else {}
        try:
            from .protocol import ExplainParams
            params = structure_dataclass(raw if isinstance(raw, dict) else {}, ExplainParams)
        except ParamError as exc:
            raise invalid(EXPLAIN, exc) from exc
        return shown(explain(ls, params))

    @ls.feature(types.TEXT_DOCUMENT_CODE_ACTION,
                types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.Empty]))
    def kilo_code_actions(ls, params: types.CodeActionParams):
        return code_actions(ls, params)


async def run_ask(ls: Any, params: Any) -> dict[str, Any]:
    """kilo.ask as a client sees it: work-done progress while the answer streams (when the client
    can show server-initiated progress), then showMessage (the summary) and logMessage (the whole
    answer). Cancelling the progress, or ``$/cancelRequest`` for the command, closes the upstream."""
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()

    why: list[str] = []

    def cancel_on(future: Any, reason: str) -> None:
        def done(f: Any) -> None:
            if f.cancelled() and task is not None:
                why.append(reason)
                loop.call_soon_threadsafe(task.cancel)
        if future is not None:
            future.add_done_callback(done)

    # pygls answers -32800 for a cancelled executeCommand but does not cancel the command's own task
    # (it runs under an inner id): follow the request's future, found by the id pygls keeps in context
    msg_id = getattr(ls.protocol, "msg_id", None)
    cancel_on(getattr(ls.protocol, "_request_futures", {}).get(msg_id) if msg_id is not None else None, "request")

    token: str | None = None
    caps = ls.client_capabilities
    if caps and caps.window and caps.window.work_done_progress:
        token = f"kilo.ask-{next(_tokens)}-{time.monotonic_ns()}"
        try:
            await asyncio.wait_for(ls.work_done_progress.create_async(token), 5)
        except Exception:  # a client that refuses progress still gets the answer
            token = None
    if token is not None:
        ls.work_done_progress.begin(token, types.WorkDoneProgressBegin(
            title="Kilo", message="routing…", cancellable=True))
        cancel_on(ls.work_done_progress.tokens.get(token), "progress")
    last = [0.0]
    text: list[str] = []

    def on_chunk(chunk: Any) -> None:
        text.append(chunk.text)
        now = time.monotonic()
        if token is not None and now - last[0] >= PROGRESS_INTERVAL:
            last[0] = now
            tail = " ".join("".join(text).split())[-60:]
            ls.work_done_progress.report(token, types.WorkDoneProgressReport(
                message=f"{chunk.model}: {len(text)} chunks… {tail}"))

    outcome = "cancelled"
    try:
        result = await ask(ls, params, on_chunk)
        outcome = "answered" if result["answered"] else "no answer"
    except asyncio.CancelledError:
        if why != ["progress"]:
            raise                        # $/cancelRequest: pygls has answered -32800
        # the user cancelled the progress: the request itself still needs an answer
        result = {"card": None, "answered": False, "reason": "cancelled",
                  "message": f"Kilo: cancelled after {len(text)} chunks. {''.join(text)[:PREVIEW_CHARS]}".rstrip()}
    finally:
        if token is not None:
            ls.work_done_progress.end(token, types.WorkDoneProgressEnd(message=outcome))
            ls.work_done_progress.tokens.pop(token, None)
    if result["answered"]:
        answer = result["result"]
        ls.window_log_message(types.LogMessageParams(type=types.MessageType.Info, message=(
            f"kilo.ask answered by {answer['model']} via {answer['provider']} "
            f"(decision {answer['decisionId']}):\n{answer['text']}")))
    ls.window_show_message(types.ShowMessageParams(
        type=types.MessageType.Info if result["answered"] else types.MessageType.Warning, message=result["message"]))
    return result
