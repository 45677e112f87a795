"""Standard LSP surfaces for clients that cannot send kilo/* requests (JetBrains through LSP4IJ's
user-defined servers, generic LSP clients): ``workspace/executeCommand`` commands and a code action.

- ``kilo.route``  — which model would handle a request, and why (the decision card).
- ``kilo.ask``    — the same from a selection; answers through ``kilo/complete`` once the sidecar has
  it, until then shows the decision.
- ``kilo.explain`` — the last decision card of a session.
- a code action "Ask Kilo" on a non-empty selection, and "Kilo: which model would handle this?".

Each command takes one argument: the kilo/route params object (``{"text": ..., "context": ...}``),
or just the text as a string. The answer is the decision card as plain data, and a one-line summary
is shown with ``window/showMessage`` because generic clients do not display command results.

The functions here take the Sidecar and return plain data; ``register_commands(ls)`` wires them.
"""

from __future__ import annotations

from typing import Any

from lsprotocol import types

from .protocol import DecisionCard, ExplainParams, RouteParams
from .wire import ParamError, structure_dataclass, unstructure

ROUTE = "kilo.route"
ASK = "kilo.ask"
EXPLAIN = "kilo.explain"
COMMANDS: tuple[str, ...] = (ROUTE, ASK, EXPLAIN)

ASK_TITLE = "Ask Kilo"
ROUTE_TITLE = "Kilo: which model would handle this?"
DEFAULT_ASK = "Explain the selected code and suggest improvements"


def route_params(args: tuple[Any, ...] | list[Any]) -> RouteParams:
    """The command's argument (a params object or a text) as RouteParams; ParamError when unusable."""
    if len(args) != 1:
        raise ParamError("arguments", f"expected one argument (the kilo/route params or a text), got {len(args)}")
    raw = args[0]
    if isinstance(raw, str):
        raw = {"text": raw}
    if not isinstance(raw, dict):
        raise ParamError("arguments[0]", "expected an object with 'text', or a string")
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


def ask(ls: Any, params: RouteParams) -> dict[str, Any]:
    """Route the request; answer it when the sidecar can complete (kilo/complete), else say so."""
    card = ls.engine.route(params, ls.document_text)
    complete = getattr(ls, "complete_for_command", None)
    if complete is not None:  # provided by the sidecar once kilo/complete exists
        return complete(params, card)
    return {"card": unstructure(card), "answered": False,
            "message": summary(card) + " Answering needs kilo/complete, which this kilo-lsp does not have yet."}


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
    def kilo_ask(ls, *args: Any):
        try:
            params = route_params(args)
        except ParamError as exc:
            raise invalid(ASK, exc) from exc
        return shown(ask(ls, params))

    @ls.command(EXPLAIN)
    def kilo_explain(ls, *args: Any):
        raw = args[0] if args else {}
        try:
            params = structure_dataclass(raw if isinstance(raw, dict) else {}, ExplainParams)
        except ParamError as exc:
            raise invalid(EXPLAIN, exc) from exc
        return shown(explain(ls, params))

    @ls.feature(types.TEXT_DOCUMENT_CODE_ACTION,
                types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.Empty]))
    def kilo_code_actions(ls, params: types.CodeActionParams):
        return code_actions(ls, params)
