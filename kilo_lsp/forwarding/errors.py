"""The error of a forwarded request that got no answer, in a module of its own: the LSP layer catches
it without importing the provider clients."""

from __future__ import annotations

from typing import Any

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


def no_model_advice(editor_commands: dict[str, str], servers: list[Any] | None, discover: bool) -> str:
    """What a user can do when no model can be called, in the editor's own words.

    ``editor_commands`` comes from ``initializationOptions.editorCommands`` (``setKey``: how this
    editor sets a key, ``settings``: where its kilo settings are edited); ``servers`` are the local
    servers as last probed (``providers.local.LocalServer``), ``None`` when none were probed yet.
    """
    set_key = editor_commands.get("setKey")
    keys = (f"Add an API key with {set_key}" if set_key else
            "Add an API key (an environment variable such as OPENROUTER_API_KEY or ANTHROPIC_API_KEY, or "
            "the user config file that `kilo-lsp --check` names)")
    where = editor_commands.get("settings")
    endpoints = "local.endpoints" + (f" ({where})" if where else "")
    if not discover:
        local = f"or turn local.discover on{f' ({where})' if where else ''} to use a local server"
    elif servers is None:
        local = "or start a local server (Ollama, LM Studio, llama.cpp)"
    elif not servers:
        local = f"or start a local server and name it in {endpoints}"
    else:
        empty = [s for s in servers if s.reachable and not s.models]
        down = [s for s in servers if not s.reachable]
        parts = []
        if empty:
            parts.append("; ".join(f"{s.name} at {s.url} answers but serves no model: load one" for s in empty))
        if down:
            parts.append("no local server answers at " + ", ".join(s.url for s in down)
                         + f": start one, or name yours in {endpoints}")
        local = "or use a local server: " + "; ".join(parts)
    return f"{keys}, {local}."
