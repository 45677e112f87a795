"""Task-type model served in pure Python from ``kilo_lsp/data/task_type.json``.

The weights are trained offline by ``training/train_task_type.py`` (scikit-learn) on real
Conventional-Commit subjects plus written editor requests. This module reproduces scikit-learn's
tokenisation (word n-grams with the default token pattern, ``char_wb`` n-grams), sublinear TF, IDF,
per-block L2 normalisation and the linear scores, then adds per-class bias offsets (tuned on inner
folds for macro-F1; already folded into the intercept) and divides by a temperature (fitted on inner
folds) before the softmax. No numpy, no scikit-learn at run time.

Inputs: only the request text. When the text is itself a Conventional-Commit subject with a scope
(``fix(deps): ...``), the scope words are read as a separate block, as in training; editor requests
have no scope, which the model also saw in training (half of the commits carry none). Commit size
(files changed, lines added/deleted) is not a feature: it cannot be known before the change is made.
"""

from __future__ import annotations

import json
import math
import re
import threading
from array import array
from collections import Counter
from importlib import resources
from pathlib import Path
from typing import Any

_TOKEN = re.compile(r"(?u)\b\w\w+\b")
#: ``type(scope)!: description``: the prefix of a Conventional-Commit subject.
_CC_PREFIX = re.compile(r"^\s*[A-Za-z]+\(([^()]*)\)!?:\s*")

WEIGHTS_FILE = "task_type.json"
WORD_CACHE_SIZE = 4096       # words whose in-vocabulary character n-grams are kept (cleared when full)


def word_ngrams(text: str, ngram: tuple[int, int]) -> list[str]:
    tokens = _TOKEN.findall(text.lower())
    lo, hi = ngram
    if hi == 1:
        return tokens
    out = list(tokens) if lo == 1 else []
    for n in range(max(2, lo), hi + 1):
        out.extend(" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1))
    return out


def char_wb_ngrams(text: str, ngram: tuple[int, int]) -> list[str]:
    """scikit-learn's ``char_wb`` analyzer: n-grams inside word boundaries padded with a space.

    scikit-learn first turns runs of whitespace into one space; ``str.split()`` already treats any
    run as one separator (``\\s`` and str.isspace are the same set). A padded word no longer than
    the longest n-gram is counted once whole, after its shorter n-grams."""
    lo, hi = ngram
    out: list[str] = []
    for w in text.lower().split():
        w = " " + w + " "
        wl = len(w)
        out += [w[i:i + n] for n in range(lo, min(hi, wl - 1) + 1) for i in range(wl - n + 1)]
        if wl <= hi:
            out.append(w)
    return out


def split_scope(text: str) -> tuple[str, str]:
    """(scope, rest) when ``text`` starts like ``type(scope): ``; else ("", text)."""
    m = _CC_PREFIX.match(text)
    if not m:
        return "", text
    return m.group(1), text[m.end():]


class _Block:
    def __init__(self, raw: dict[str, Any], outputs: int) -> None:
        self.analyzer = raw["analyzer"]
        self.source = raw.get("source", "text")              # "text" or "scope"
        self.ngram = (int(raw["ngram"][0]), int(raw["ngram"][1]))
        self.max_chars = int(raw.get("max_chars", 0)) or None
        scale = float(raw.get("scale", 1.0))
        terms, idf, w = raw["terms"], raw["idf"], raw["w"]
        # term -> (idf, idf * weights): one compact array per term keeps the model small in memory
        # (two tuples of Python floats per term cost about 30 MB over the vocabulary).
        self.table: dict[str, tuple[float, array]] = {}
        for i, t in enumerate(terms):
            f = float(idf[i]) * scale
            self.table[t] = (float(idf[i]), array("d", [f * x for x in w[i * outputs:(i + 1) * outputs]]))
        # word -> its character n-grams that are in the vocabulary, in order: the same words come
        # back request after request, and generating and looking up their n-grams was most of the cost.
        # The cached n-grams are the vocabulary's own strings (``_term``), not new copies.
        self._word_grams: dict[str, tuple[str, ...]] = {}
        self._term = {t: t for t in self.table} if self.analyzer == "char_wb" else {}

    def _char_grams(self, text: str) -> list[str]:
        """``char_wb_ngrams`` of the text, filtered to the vocabulary, one cached word at a time
        (``char_wb`` n-grams never cross a word, so the sequence is the same)."""
        cache, out = self._word_grams, []
        for w in text.lower().split():
            grams = cache.get(w)
            if grams is None:
                term = self._term
                grams = tuple([term[g] for g in char_wb_ngrams(w, self.ngram) if g in term])
                if len(cache) >= WORD_CACHE_SIZE:
                    cache.clear()
                cache[w] = grams
            out += grams
        return out

    def contributions(self, text: str) -> tuple[list[float] | None, list[tuple[str, float, Any]]]:
        """(this block's scores, [(term, value, weights)]) for the vocabulary terms of the text, where
        value x weights[k] is the term's contribution to class k (value = normalised tf, weights =
        idf x coefficients). Terms are listed for word blocks only: they are the readable reasons.

        Column sums over the matched rows (``zip(*rows)``) keep the inner loop in C."""
        if self.max_chars:
            text = text[:self.max_chars]
        table = self.table
        if self.analyzer == "word":
            counts = Counter(filter(table.__contains__, word_ngrams(text, self.ngram)))
        else:
            counts = Counter(self._char_grams(text))
        if not counts:
            return None, []
        rows, parts, sq = [], [], 0.0
        explain = self.analyzer == "word"         # character n-grams score, but do not read as reasons
        for t, c in counts.items():
            idf, iw = table[t]
            if c == 1:
                f = 1.0
                rows.append(iw)
            else:
                f = 1.0 + math.log(c)
                rows.append([f * x for x in iw])
            v = f * idf
            sq += v * v
            if explain:
                parts.append((t, f, iw))
        inv = 1.0 / (math.sqrt(sq) or 1.0)
        return [inv * sum(col) for col in zip(*rows)], [(t, f * inv, iw) for t, f, iw in parts]


class TaskTypeModel:
    """Linear task-type scores over the request text (the same interface as learned._Linear)."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.classes: list[str] = list(raw["classes"])
        self.outputs = len(self.classes)
        self.intercept = [float(x) for x in raw["intercept"]]
        self.temperature = float(raw.get("temperature", 1.0))
        self.max_chars = int(raw.get("max_chars", 300))
        self.blocks = [_Block(b, self.outputs) for b in raw["blocks"]]
        self.version = str(raw.get("version", ""))

    def scores(self, text: str) -> tuple[list[float], list[tuple[str, str, float, tuple[float, ...]]]]:
        """Raw scores (before the temperature) and the (analyzer, term, value, weights) that made them."""
        scope, rest = split_scope(text)
        rest = rest[:self.max_chars]
        s = list(self.intercept)
        parts: list[tuple[str, str, float, tuple[float, ...]]] = []
        for block in self.blocks:
            src = scope if block.source == "scope" else rest
            if not src:
                continue
            block_scores, contrib = block.contributions(src)
            if block_scores is not None:
                s = [a + b for a, b in zip(s, block_scores)]
                parts.extend((block.analyzer, term, v, w) for term, v, w in contrib)
        return s, parts

    def probabilities(self, text: str) -> dict[str, float]:
        s, _ = self.scores(text)
        z = [x / self.temperature for x in s]
        m = max(z)
        e = [math.exp(x - m) for x in z]
        tot = sum(e)
        return {c: x / tot for c, x in zip(self.classes, e)}


_lock = threading.Lock()
_cache: dict[str, TaskTypeModel | None] = {}


def load(path: str | Path | None = None) -> TaskTypeModel | None:
    """The model from ``path``, or the packaged ``task_type.json``; None when there is none."""
    key = str(path or "")
    with _lock:
        if key not in _cache:
            try:
                if path:
                    text = Path(path).read_text(encoding="utf-8")
                else:
                    ref = resources.files("kilo_lsp.data").joinpath(WEIGHTS_FILE)
                    text = ref.read_text(encoding="utf-8") if ref.is_file() else ""
            except (FileNotFoundError, ModuleNotFoundError):
                text = ""
            _cache[key] = TaskTypeModel(json.loads(text)) if text else None
        return _cache[key]


def available() -> bool:
    try:
        return resources.files("kilo_lsp.data").joinpath(WEIGHTS_FILE).is_file()
    except (FileNotFoundError, ModuleNotFoundError):
        return False


__all__ = ["TaskTypeModel", "load", "available", "split_scope", "word_ngrams", "char_wb_ngrams"]
