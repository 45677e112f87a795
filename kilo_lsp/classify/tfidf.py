"""TF-IDF blocks served in pure Python, for the editor classifier (``editor.py``).

A block is what one scikit-learn ``TfidfVectorizer`` and its slice of a linear model's coefficients
become once exported: a vocabulary with each term's idf and weights (one per output). This module
reproduces scikit-learn's tokenisation (word n-grams with the default token pattern, ``char_wb``
n-grams), sublinear TF, IDF, per-block L2 normalisation and the linear scores. No numpy, no
scikit-learn at run time.
"""

from __future__ import annotations

import math
import re
from array import array
from collections import Counter
from typing import Any, Sequence

_TOKEN = re.compile(r"(?u)\b\w\w+\b")

WORD_CACHE_SIZE = 4096       # words whose in-vocabulary character n-grams are kept (cleared when full)


def word_ngrams(text: str, ngram: tuple[int, int]) -> list[str]:
    """scikit-learn's ``word`` analyzer with the default token pattern, lower-cased."""
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


#: (term, value, weights) of one vocabulary term in a text, where value x weights[k] is the term's
#: contribution to output k.
Part = tuple[str, float, Sequence[float]]


class Block:
    """One TF-IDF block: term -> (idf, weights), scored with sublinear tf and the L2 norm.

    A term's weights are kept as idf x scale x coefficient, so a term seen f times adds
    (1 + log f) x those to the scores, before the norm.
    """

    def __init__(self, raw: dict[str, Any], outputs: int) -> None:
        self.analyzer = raw["analyzer"]
        self.ngram = (int(raw["ngram"][0]), int(raw["ngram"][1]))
        self.max_chars = int(raw.get("max_chars", 0)) or None
        scale = float(raw.get("scale", 1.0))
        terms, idf, w = raw["terms"], raw["idf"], raw["w"]
        # term -> (idf, weights): one compact array per term keeps the model small in memory
        # (a tuple of Python floats per term costs several times as much).
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

    def scores(self, text: str, explain: bool = False) -> tuple[list[float] | None, list[Part]]:
        """(this block's contribution to each output, or None when no vocabulary term occurs;
        the terms that made it when ``explain`` and the block reads words). Character n-grams score
        but are never listed: they do not read as reasons.

        Each output sums its terms' contributions in the order the terms first occur in the text."""
        if self.max_chars:
            text = text[:self.max_chars]
        table = self.table
        if self.analyzer == "word":
            counts = Counter(filter(table.__contains__, word_ngrams(text, self.ngram)))
        else:
            counts = Counter(self._char_grams(text))
        if not counts:
            return None, []
        explain = explain and self.analyzer == "word"
        rows, parts, sq = [], [], 0.0
        for t, c in counts.items():
            idf, w = table[t]
            f = 1.0 if c == 1 else 1.0 + math.log(c)
            v = f * idf
            sq += v * v
            # most terms occur once (multiplier 1): their kept row is added as it is
            rows.append(w if c == 1 else [f * x for x in w])
            if explain:
                parts.append((t, f, w))
        inv = 1.0 / (math.sqrt(sq) or 1.0)
        out = [inv * sum(col) for col in zip(*rows)]              # column sums over the rows run in C
        return out, [(t, f * inv, w) for t, f, w in parts]


__all__ = ["Block", "Part", "word_ngrams", "char_wb_ngrams", "WORD_CACHE_SIZE"]
