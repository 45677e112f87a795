"""The prompt of a forwarded request, trimmed to the window of the model it goes to.

Budget (per attempt, so a fall-back model with a smaller window gets a smaller prompt):
``input budget = context window - max output tokens - max(256, 5 % of the window)``, in tokens of
about 4 characters. It is filled in this order, each part taking what is left: the system prompt
and the request itself (kept whole while they fit; a request too long for the window is cut in
the middle), the selection, the diagnostics (at most 50), earlier turns (newest first), the
active document (a window around the selection, at most ``MAX_DOCUMENT_TOKENS``), then the
referenced documents. What was cut is listed in ``prompt.trimmed``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..context import MAX_DOCUMENT_TOKENS, DocumentText, selection_text
from ..protocol import CompleteParams, PromptInfo
from ..providers.base import ChatMessage
from ..tokens import CHARS_PER_TOKEN, estimate_tokens

DEFAULT_SYSTEM = ("You are a coding assistant inside the user's editor. Answer the request directly and "
                  "concisely; put code in fenced blocks with the language named.")
MAX_DIAGNOSTICS = 50


def _tokens(text: str) -> int:
    return estimate_tokens(len(text))


def _cut_middle(text: str, max_tokens: int) -> str:
    chars = max(0, max_tokens * CHARS_PER_TOKEN)
    if len(text) <= chars:
        return text
    half = max(0, chars // 2 - 20)
    return text[:half] + "\n[... cut to fit the context window ...]\n" + text[len(text) - half:]


def _window(text: str, max_tokens: int, focus_line: int | None) -> tuple[str, str | None]:
    """At most ``max_tokens`` of a document, as whole lines around ``focus_line``."""
    if _tokens(text) <= max_tokens:
        return text, None
    lines = text.splitlines(keepends=True)
    budget = max_tokens * CHARS_PER_TOKEN
    focus = min(max(focus_line or 0, 0), max(len(lines) - 1, 0))
    lo = hi = focus
    used = len(lines[focus]) if lines else 0
    while True:
        grew = False
        if hi + 1 < len(lines) and used + len(lines[hi + 1]) <= budget:
            hi += 1
            used += len(lines[hi])
            grew = True
        if lo > 0 and used + len(lines[lo - 1]) <= budget:
            lo -= 1
            used += len(lines[lo])
            grew = True
        if not grew:
            break
    kept = "".join(lines[lo:hi + 1])[:budget]
    return kept, f"lines {lo + 1}-{hi + 1} of {len(lines)}"


@dataclass
class Prompt:
    system: str
    turns: list[ChatMessage]
    context: str                         # the editor context block ("" when none)
    question: str
    info: PromptInfo

    def messages(self, kind: str) -> list[ChatMessage]:
        """Chat messages for an API family: Anthropic gets the context as its own block (so it can
        be cached); OpenAI-compatible servers get one user message (some chat templates insist
        on alternating roles)."""
        msgs = list(self.turns)
        if self.context and kind == "anthropic":
            msgs += [ChatMessage("user", self.context), ChatMessage("user", self.question)]
        elif self.context:
            msgs.append(ChatMessage("user", self.context + "\n\n" + self.question))
        else:
            msgs.append(ChatMessage("user", self.question))
        return msgs


class _Budget:
    """Tokens left for the prompt; each part takes what it needs of them, and what was cut is noted."""

    def __init__(self, total: int) -> None:
        self.total = self.left = total
        self.trimmed: list[str] = []

    def take(self, label: str, text: str, cap: int | None = None) -> str | None:
        """``text`` cut in the middle to what is left (and ``cap``), or None when nothing fits."""
        if not text:
            return None
        allowed = min(self.left, cap) if cap is not None else self.left
        if allowed <= 32:
            self.trimmed.append(f"{label}: left out")
            return None
        if _tokens(text) > allowed:
            text = _cut_middle(text, allowed)
            self.trimmed.append(f"{label}: cut in the middle")
        self.left -= _tokens(text) + 16
        return text


def _question(params: CompleteParams, budget: _Budget) -> str:
    """The request itself, kept whole unless it alone is too long for the window."""
    question = params.text
    if _tokens(question) > max(64, budget.left):
        question = _cut_middle(question, max(64, budget.left))
        budget.trimmed.append("request: cut in the middle")
    budget.left -= _tokens(question) + 8
    return question


def _selection_and_diagnostics(params: CompleteParams, document_text: DocumentText, budget: _Budget) -> list[str]:
    ctx = params.context
    parts: list[str] = []
    sel = budget.take("selection", selection_text(params, document_text))
    if sel:
        where = f" of {ctx.active_uri}" if ctx and ctx.active_uri else ""
        parts.append(f"Selected code{where}:\n```\n{sel}\n```")
    if ctx and ctx.diagnostics:
        lines = []
        for d in ctx.diagnostics[:MAX_DIAGNOSTICS]:
            kind = {1: "error", 2: "warning", 3: "info", 4: "hint"}.get(d.severity, "note")
            at = f" at {d.uri or ctx.active_uri or ''}:{d.range.start.line + 1}" if d.range else ""
            lines.append(f"- {kind}{at}: {d.message}")
        if len(ctx.diagnostics) > MAX_DIAGNOSTICS:
            budget.trimmed.append(f"diagnostics: {len(ctx.diagnostics) - MAX_DIAGNOSTICS} left out")
        diag = budget.take("diagnostics", "\n".join(lines))
        if diag:
            parts.append("Diagnostics:\n" + diag)
    return parts


def _earlier_turns(params: CompleteParams, budget: _Budget) -> list[ChatMessage]:
    """Earlier turns, newest first, whole turns only."""
    kept: list[ChatMessage] = []
    for i, turn in enumerate(reversed(params.turns)):
        cost = _tokens(turn.content) + 8
        if cost > budget.left - 32:
            budget.trimmed.append(f"turns: {len(params.turns) - i} older turn(s) left out")
            break
        kept.insert(0, ChatMessage(turn.role, turn.content))
        budget.left -= cost
    return kept


def _documents(params: CompleteParams, document_text: DocumentText, budget: _Budget) -> list[str]:
    """The active document (a window around the selection), then the referenced ones."""
    ctx = params.context
    if ctx is None:
        return []
    uris = [ctx.active_uri] if ctx.active_uri else []
    uris += [u for u in ctx.referenced_uris if u not in uris]
    parts: list[str] = []
    for n, uri in enumerate(uris):
        text = document_text(uri)
        if text is None:
            continue
        focus = ctx.selection.start.line if (n == 0 and ctx.selection) else None
        cap = min(budget.left - 32, MAX_DOCUMENT_TOKENS)
        if cap <= 32:
            budget.trimmed.append(f"document {uri}: left out")
            continue
        body, cut = _window(text, cap, focus)
        if cut:
            budget.trimmed.append(f"document {uri}: {cut}")
        budget.left -= _tokens(body) + 16
        label = "Active document" if n == 0 and uri == ctx.active_uri else "Referenced document"
        parts.append(f"{label} {uri}:\n```\n{body}\n```")
    return parts


def build_prompt(params: CompleteParams, document_text: DocumentText, context_window: int,
                 max_output: int) -> Prompt:
    """The prompt for one model, trimmed to its window (see the module docstring for the budget)."""
    budget = _Budget(max(256, context_window - max_output - max(256, context_window // 20)))
    system = params.system or DEFAULT_SYSTEM
    budget.left -= _tokens(system) + 8
    question = _question(params, budget)
    parts = _selection_and_diagnostics(params, document_text, budget)
    turns = _earlier_turns(params, budget)
    parts += _documents(params, document_text, budget)
    context = ("Context from the editor:\n\n" + "\n\n".join(parts)) if parts else ""
    info = PromptInfo(budget.total, max(0, budget.total - budget.left), budget.trimmed)
    return Prompt(system, turns, context, question, info)
