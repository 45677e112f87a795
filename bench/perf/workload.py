"""Deterministic workloads: source documents, a long conversation, diagnostics, typing edits."""

from __future__ import annotations

import random
from typing import Any

_LINES = [
    "def {name}(self, items: list[int], limit: int = {n}) -> dict[str, int]:",
    "    \"\"\"Summarise the items that pass the filter and keep a running total.\"\"\"",
    "    total = sum(x for x in items if x % {k} == 0 and x < limit)",
    "    result = {{\"count\": len(items), \"total\": total, \"limit\": limit}}",
    "    if total > limit * {k}:",
    "        raise ValueError(f\"total {{total}} exceeds the limit {{limit}}\")",
    "    for index, value in enumerate(items):",
    "        self.cache[(index, value)] = value * {k} + index",
    "    return result",
    "",
]


def document(lines: int, seed: int = 0) -> str:
    """Python-looking source of exactly ``lines`` lines (about 45 characters a line)."""
    rnd = random.Random(seed)
    out = []
    for i in range(lines):
        tmpl = _LINES[i % len(_LINES)]
        out.append(tmpl.format(name=f"handler_{seed}_{i}", n=rnd.randrange(10, 999), k=rnd.randrange(2, 9)))
    return "\n".join(out) + "\n"


def document_of_size(size: int, seed: int = 0) -> str:
    text = document(size // 40 + 10, seed)
    return text[:size]


REQUESTS = [
    "Fix the failing test in test_parser.py, it raises KeyError on empty input",
    "rename handler_0_12 to summarise_items everywhere",
    "add a docstring to this function",
    "Why does this raise ValueError when the limit is zero? Here is the traceback",
    "Refactor the cache handling in this module into its own class with tests",
    "explain what this selection does",
    "write unit tests for the selected function, including edge cases",
    "for that plan, which step first?",
    "Design a migration of the whole storage layer from SQLite to Postgres with zero downtime",
    "make it faster",
]

_TRACE = ("Traceback (most recent call last):\n  File \"app/main.py\", line 42, in run\n"
          "    result = handler(items)\nValueError: total 1200 exceeds the limit 100\n")


def conversation(turns: int) -> list[dict[str, str]]:
    """``turns`` earlier turns, user and assistant alternating, assistant answers longer."""
    out = []
    for i in range(turns):
        if i % 2 == 0:
            text = REQUESTS[(i // 2) % len(REQUESTS)]
            if i == turns - 4:
                text += "\n" + _TRACE
            out.append({"role": "user", "content": text})
        else:
            body = ("Here is what I changed and why. " * 8 + "\n```python\n" + document(12, i) + "```\n")
            out.append({"role": "assistant", "content": body})
    return out


def diagnostics(uri: str, n: int) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        out.append({"message": f"Argument of type \"str\" cannot be assigned to parameter \"limit\" of type \"int\" ({i})",
                    "severity": 1 if i % 3 == 0 else 2, "uri": uri,
                    "range": {"start": {"line": 10 * i, "character": 4}, "end": {"line": 10 * i, "character": 20}}})
    return out


def route_params(i: int, uris: list[str], workspace: str, history: list[dict[str, str]],
                 diags: list[dict[str, Any]]) -> dict[str, Any]:
    active = uris[i % len(uris)]
    return {
        "text": REQUESTS[i % len(REQUESTS)],
        "conversationId": "perf-session",
        "workspaceUri": workspace,
        "turns": history,
        "context": {
            "activeUri": active,
            "selection": {"start": {"line": 100, "character": 0}, "end": {"line": 140, "character": 0}},
            "languageId": "python",
            "diagnostics": diags,
            "referencedUris": [uris[(i + 1) % len(uris)], uris[(i + 7) % len(uris)]],
        },
    }


def typing_edits(count: int, first_line: int, seed: int = 1) -> list[dict[str, Any]]:
    """Single-character insertions as a person types: a cursor that moves along and wraps lines."""
    rnd = random.Random(seed)
    edits = []
    line, col = first_line, 0
    for _ in range(count):
        ch = rnd.choice("abcdefghijklmnopqrstuvwxyz_ (),.:=")
        edits.append({"range": {"start": {"line": line, "character": col}, "end": {"line": line, "character": col}},
                      "text": ch})
        col += 1
        if col >= 30:
            line, col = line + 1, 0
    return edits
