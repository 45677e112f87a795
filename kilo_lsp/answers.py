"""An answer as a document the editor opens (``window/showDocument``), for clients that show no custom
UI: an LSP4IJ template gets the whole answer in an editor tab, not only a notification.

The file is Markdown in the user's data directory (``answers/`` beside the usage ledger), named after
the decision, and holds the question, what it was about, the answer and who answered at what cost;
no key, nothing from the workspace's settings. Only the latest ``KEEP`` answers are kept.
"""

from __future__ import annotations

from pathlib import Path

import platformdirs

from .config import APP_NAME
from .protocol import CompleteParams, CompleteResult

KEEP = 50


def answers_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "answers"


def answer_markdown(params: CompleteParams, result: CompleteResult) -> str:
    """The question, what it was about, the answer, and a footer with the model, the cost and the saving."""
    about = []
    ctx = params.context
    if ctx is not None and ctx.active_uri:
        where = ctx.active_uri.rsplit("/", 1)[-1]
        if ctx.selection is not None:
            first, last = ctx.selection.start.line + 1, ctx.selection.end.line + (0 if ctx.selection.end.character == 0 else 1)
            where += f", line {first}" if first >= last else f", lines {first}-{last}"
        about.append(where)
    quoted = "\n".join("> " + line for line in params.text.splitlines() or [""])
    head = quoted + (f"\n> [{'; '.join(about)}]" if about else "")
    saved = result.balanced_cost_usd - result.cost_usd
    footer = (f"-- {result.model_name} via {result.provider} · ${result.cost_usd:.4f} "
              f"(Balanced {result.card.balanced.model} ${result.balanced_cost_usd:.4f}, saved ${saved:.4f}) · "
              f"{result.finish_reason}")
    if result.error is not None:
        footer += f" · stopped: {result.error.kind}: {result.error.message}"
    return f"{head}\n\n{result.text}\n\n{footer}\n\n_{result.card.reason}_\n"


def write_answer(params: CompleteParams, result: CompleteResult, directory: Path | None = None) -> Path:
    """Write the answer's document and drop all but the latest KEEP; returns its path. Blocking: run
    it off the event loop."""
    directory = directory or answers_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"kilo-answer-{result.decision_id}.md"
    path.write_text(answer_markdown(params, result), encoding="utf-8")
    old = sorted(directory.glob("kilo-answer-*.md"), key=lambda p: p.stat().st_mtime)[:-KEEP]
    for stale in old:
        stale.unlink(missing_ok=True)
    return path
