"""What the session knows about a request: the editor context reduced to signals and a size.

Reads only the documents a request points at (the active one and the referenced ones), never all
open documents, so its cost does not grow with the workspace.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from .classify.base import EditorSignals
from .protocol import RouteParams
from .tokens import CHARS_PER_TOKEN, estimate_tokens

MAX_DOCUMENT_TOKENS = 8_000   # how much of one document a prompt may carry (see protocol.md, budget)

# What counts as a pasted error: a stack trace, a crash report, test-failure output or a compiler
# error, in Python, pytest, the JVM, Go, Rust, JavaScript/TypeScript, .NET, Ruby, PHP and C/C++
# toolchains. Each pattern sits behind a substring that every match of it contains: most text contains
# none of them, substring tests are far cheaper than a regex, and one pattern per scan avoids trying
# them all at every position of a long selection (tests/test_fast_paths.py pins this to the patterns
# as one MULTILINE regex). The third field marks hints that every match has right after a whitespace
# character (``^\s+at ``): prose and code are full of "at " ("that ", "format "), and hopping between
# those with str.find is far cheaper than the MULTILINE regex, which tries every position of the text.
_M = re.MULTILINE
_TRACE_TESTS: tuple[tuple[str, "re.Pattern[str] | None", bool], ...] = (
    ("Traceback (most recent call last)", None, False),                      # Python
    ("panicked at", None, False),                                             # Rust
    ("Exception in thread", None, False),                                     # JVM
    ("Caused by: ", None, False),
    ("Unhandled exception", None, False),                                     # .NET, Node
    ("WARNING: DATA RACE", None, False),                                      # Go's race detector
    ("Segmentation fault", None, False),
    ("File \"", re.compile(r"File \"[^\"]+\", line \d+"), False),
    ("at ", re.compile(r"^\s+at [\w.$<>]+\(.*:\d+\)|^\s+at .+:\d+:\d+\)?$|^\s+at .+ in .+:line \d+$", _M), True),
    ("Error: ", re.compile(r"^\s*(?:Uncaught )?[\w.]*Error: ", _M), False),
    ("Exception: ", re.compile(r"^\s*(?:Unhandled exception\. )?[\w.]*Exception: ", _M), False),
    ("goroutine ", re.compile(r"^goroutine \d+ \[", _M), False),                # Go
    ("panic: ", re.compile(r"^panic: ", _M), False),
    ("error[E", re.compile(r"^error\[E\d{4}\]", _M), False),                    # Rust
    ("--> ", re.compile(r"^\s*--> \S+:\d+:\d+", _M), False),
    ("error TS", re.compile(r"error TS\d+:"), False),                          # TypeScript
    (": error", re.compile(r"^\S+?:\d+(?::\d+)?:? (?:fatal )?error\b", _M), False),  # C, C++, Go, Swift compilers
    ("FAILED ", re.compile(r"^FAILED \S+::", _M), False),                       # pytest
    ("E   ", re.compile(r"^E {3,}\S", _M), False),
    (":in `", re.compile(r":\d+:in `"), False),                                 # Ruby
    ("Fatal error: ", re.compile(r"(?:PHP )?Fatal error: ", _M), False),        # PHP
    ("SQLSTATE[", None, False),                                               # databases
    ("SQL state: ", None, False),
    ("Sanitizer", re.compile(r"ERROR: \w*Sanitizer"), False),                  # ASan, TSan, UBSan
    ("Exception caught by", None, False),                                     # Flutter
    ("FAILURE: Build failed", None, False),                                   # Gradle
    ("e: ", re.compile(r"^e: \S+:\d+:\d+ ", _M), False),                          # Kotlin compiler
    (".go:", re.compile(r"\.go:\d+(?::\d+)?: ", _M), False),                     # Go compiler, vet, tests
    (": line ", re.compile(r"^\S+: line \d+: ", _M), False),                     # shell
    ("error CS", re.compile(r"error CS\d{4}:"), False),                          # C#
    (".ts", re.compile(r"\.tsx?\(\d{4}\)"), False),                                # TypeScript in the editor
    ("error: ", re.compile(r"^error: ", _M), False),                              # Swift, Cargo, git, linkers
    ("ERROR: ", re.compile(r"^ERROR: ", _M), False),                              # pip, PostgreSQL
    ("[ERROR]", None, False),                                                 # Maven
    ("npm ERR!", None, False),
    ("undefined reference to", None, False),                                  # linkers
    ("APPLICATION FAILED TO START", None, False),                             # Spring Boot
)
#: Occurrences of a hint looked at by ``after_whitespace`` before it leaves the answer to the regex.
AFTER_WHITESPACE_LOOKS = 32


def after_whitespace(text: str, hint: str) -> bool:
    """False when no occurrence of ``hint`` follows a whitespace character (``\\s`` and str.isspace are
    the same set); True when one does, or after AFTER_WHITESPACE_LOOKS occurrences (the regex decides)."""
    i = text.find(hint)
    for _ in range(AFTER_WHITESPACE_LOOKS):
        if i < 0:
            return False
        if i > 0 and text[i - 1].isspace():
            return True
        i = text.find(hint, i + 1)
    return i >= 0


def has_stack_trace(text: str) -> bool:
    """Whether ``text`` (its first 200,000 characters) holds a pasted error: one of ``_TRACE_TESTS`` matches."""
    if not text:
        return False
    head = text[:200_000]
    for hint, pattern, spaced in _TRACE_TESTS:
        if hint not in head or (spaced and not after_whitespace(head, hint)):
            continue
        if pattern is None or pattern.search(head) is not None:
            return True
    return False


@dataclass(frozen=True)
class RequestContext:
    signals: EditorSignals
    input_tokens: int             # estimated prompt size of this request
    previous_text: str            # the previous user turn
    active_uri: str = ""          # the document the user is in ("" when the client did not say)


DocumentText = Callable[[str], "str | None"]   # uri -> text of an open document, or None


def _lines_upto(source: str, last: int) -> list[str]:
    """``source.splitlines(keepends=True)[:last + 1]``, splitting only a prefix long enough.

    A selection near the top of a long document costs what its lines cost, not the document's: after
    every keystroke the text is a new string, and splitting 10,000 lines took about a millisecond.
    """
    need = last + 2            # one line more than wanted: the last line of a prefix may be cut short
    size = need * 64
    while size < len(source):
        lines = source[:size].splitlines(keepends=True)
        if len(lines) >= need:
            del lines[last + 1:]
            return lines
        size *= 4
    lines = source.splitlines(keepends=True)
    del lines[last + 1:]
    return lines


def selection_text(params: RouteParams, document_text: DocumentText) -> str:
    ctx = params.context
    if ctx is None or ctx.selection is None:
        return ctx.selected_text or "" if ctx else ""
    if ctx.selected_text is not None:
        return ctx.selected_text
    if not ctx.active_uri:
        return ""
    source = document_text(ctx.active_uri)
    if source is None:
        return ""
    start, end = ctx.selection.start, ctx.selection.end
    if (start.line, start.character) > (end.line, end.character):
        start, end = end, start
    lines = _lines_upto(source, end.line)
    if start.line >= len(lines):
        return ""
    chunk = lines[start.line:end.line + 1]
    if not chunk:
        return ""
    if len(chunk) == 1:
        return chunk[0][start.character:end.character]
    chunk[0] = chunk[0][start.character:]
    chunk[-1] = chunk[-1][:end.character]
    return "".join(chunk)


def read_context(params: RouteParams, document_text: DocumentText, session_turns: int = 0) -> RequestContext:
    """Editor signals and the prompt-size estimate for one request."""
    ctx = params.context
    selected = selection_text(params, document_text)
    sel_lines = selected.count("\n") + 1 if selected.strip() else 0
    uris = []
    if ctx is not None:
        if ctx.active_uri:
            uris.append(ctx.active_uri)
        uris.extend(u for u in ctx.referenced_uris if u not in uris)
    doc_chars = 0
    for uri in uris:
        text = document_text(uri)
        if text is not None:
            doc_chars += min(len(text), MAX_DOCUMENT_TOKENS * CHARS_PER_TOKEN)
    errors = 0
    diag_text = ""
    if ctx is not None and ctx.diagnostics:
        severities = [d.severity for d in ctx.diagnostics]
        errors = severities.count(1)
        diag_text = "\n".join(d.message for d in ctx.diagnostics[:50])
    elif ctx is not None and ctx.diagnostic_counts:
        errors = ctx.diagnostic_counts.errors
    turns = params.turns
    user_turns = [t for t in turns if t.role == "user"]
    previous = user_turns[-1].content if user_turns else ""
    turn_chars = sum([len(t.content) for t in turns])
    # this turn's own: a paste in the text, the selection or the diagnostics (earlier turns are the
    # conversation's, read by the session model)
    trace = has_stack_trace(params.text) or has_stack_trace(selected) or has_stack_trace(diag_text)
    input_tokens = estimate_tokens(len(params.text) + turn_chars + len(selected) + doc_chars + len(diag_text)) + 200
    signals = EditorSignals(
        selection_lines=sel_lines,
        files_involved=max(1, len(uris)),
        diagnostics_errors=errors,
        has_stack_trace=trace,
        conversation_turns=max(len(user_turns), session_turns),
        context_tokens=input_tokens,
        language_id=(ctx.language_id or "") if ctx else "",
    )
    return RequestContext(signals=signals, input_tokens=input_tokens, previous_text=previous,
                          active_uri=(ctx.active_uri or "") if ctx else "")
