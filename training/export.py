"""What the trainers share: a fitted TF-IDF block in the form the sidecar serves it, and the softmax
temperature of a linear model's scores.

The blocks are read back in pure Python by ``kilo_lsp/classify/tfidf.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer


def export_block(vec: TfidfVectorizer, w: np.ndarray, quant: float, **extra: Any) -> dict[str, Any]:
    """One TF-IDF block as served by the sidecar. w: (n_terms, outputs) in the vectorizer's column
    order; weights stored as integers of ``quant``; terms with all-zero rows dropped; ``extra`` keys
    (a block's source, its max_chars) are added as given."""
    vocab = vec.vocabulary_
    terms = sorted(vocab, key=vocab.get)
    q = np.rint(w / quant).astype(int)
    keep = [i for i in range(len(terms)) if q[i].any()]
    return {"analyzer": vec.analyzer, "ngram": list(vec.ngram_range), "scale": quant, **extra,
            "terms": [terms[i] for i in keep], "idf": [round(float(vec.idf_[i]), 4) for i in keep],
            "w": [int(x) for i in keep for x in q[i]]}


def fit_temperature(scores: np.ndarray, y_idx: np.ndarray, steps: int = 41) -> float:
    """The softmax temperature in [0.2, 5] (``steps`` on a log grid) minimising the log loss."""
    best, best_t = 1e18, 1.0
    for t in np.exp(np.linspace(np.log(0.2), np.log(5.0), steps)):
        z = scores / t
        z = z - z.max(1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(1, keepdims=True))
        nll = -logp[np.arange(len(y_idx)), y_idx].mean()
        if nll < best:
            best, best_t = nll, float(t)
    return best_t
