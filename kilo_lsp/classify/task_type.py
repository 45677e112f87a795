"""Task-type model served in pure Python from ``kilo_lsp/data/task_type.json``.

The weights are trained offline by ``training/train_task_type.py`` (scikit-learn) on real
Conventional-Commit subjects plus written editor requests. The scores are linear over TF-IDF blocks
(``tfidf.py``: word 1-2-grams and ``char_wb`` n-grams of the text, the scope words apart) plus an
intercept holding per-class bias offsets (tuned on inner folds for macro-F1); the classifier divides
them by a temperature (fitted on inner folds) before the softmax. No numpy, no scikit-learn at run
time.

Inputs: only the request text. When the text is itself a Conventional-Commit subject with a scope
(``fix(deps): ...``), the scope words are read as a separate block, as in training; editor requests
have no scope, which the model also saw in training (half of the commits carry none). Commit size
(files changed, lines added/deleted) is not a feature: it cannot be known before the change is made.
"""

from __future__ import annotations

import json
import re
import threading
from importlib import resources
from typing import Any, Sequence

from .tfidf import Block

#: ``type(scope)!: description``: the prefix of a Conventional-Commit subject.
_CC_PREFIX = re.compile(r"^\s*[A-Za-z]+\(([^()]*)\)!?:\s*")

WEIGHTS_FILE = "task_type.json"


def split_scope(text: str) -> tuple[str, str]:
    """(scope, rest) when ``text`` starts like ``type(scope): ``; else ("", text)."""
    m = _CC_PREFIX.match(text)
    if not m:
        return "", text
    return m.group(1), text[m.end():]


#: (analyzer, term, value, weights): value x weights[k] is the term's contribution to class k.
Reason = tuple[str, str, float, Sequence[float]]


class TaskTypeModel:
    """Linear task-type scores over the request text, and the readable terms that made them."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.classes: list[str] = list(raw["classes"])
        self.outputs = len(self.classes)
        self.intercept = [float(x) for x in raw["intercept"]]
        self.temperature = float(raw.get("temperature", 1.0))
        self.max_chars = int(raw.get("max_chars", 300))
        self.blocks = [Block(b, self.outputs) for b in raw["blocks"]]
        self.version = str(raw.get("version", ""))

    def scores(self, text: str) -> tuple[list[float], list[Reason]]:
        """Raw scores (before the temperature) and the word-block terms that made them."""
        scope, rest = split_scope(text)
        rest = rest[:self.max_chars]
        s = list(self.intercept)
        parts: list[Reason] = []
        for block in self.blocks:
            src = scope if block.source == "scope" else rest
            if not src:
                continue
            block_scores, contrib = block.scores(src, explain=True)
            if block_scores is not None:
                s = [a + b for a, b in zip(s, block_scores)]
                parts.extend((block.analyzer, term, v, w) for term, v, w in contrib)
        return s, parts


_lock = threading.Lock()
_cache: list[TaskTypeModel | None] = []


def load() -> TaskTypeModel | None:
    """The packaged model (``kilo_lsp/data/task_type.json``), read once; None when it is not installed."""
    with _lock:
        if not _cache:
            try:
                ref = resources.files("kilo_lsp.data").joinpath(WEIGHTS_FILE)
                text = ref.read_text(encoding="utf-8") if ref.is_file() else ""
            except (FileNotFoundError, ModuleNotFoundError):
                text = ""
            _cache.append(TaskTypeModel(json.loads(text)) if text else None)
        return _cache[0]


__all__ = ["TaskTypeModel", "load", "split_scope"]
