"""A TF-IDF block exported by the trainers (training/export.py) scores in the sidecar
(kilo_lsp/classify/tfidf.py) as scikit-learn scores it, and the temperature fit finds the
temperature that generated the scores."""

from __future__ import annotations

import random

import pytest

np = pytest.importorskip("numpy")
pytest.importorskip("sklearn")

from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402

from kilo_lsp.classify.tfidf import Block  # noqa: E402
from training.export import export_block, fit_temperature  # noqa: E402

WORDS = ("fix the crash in parser when input is empty add tests for parse_date rename foo to bar plan "
         "migration async why does this return None make loop faster update README review diff bump ci "
         "KeyError: user_id é Straße").split()


def corpus(rnd: random.Random, n: int) -> list[str]:
    return [" ".join(rnd.choice(WORDS) for _ in range(rnd.randrange(1, 25))) for _ in range(n)]


@pytest.mark.parametrize("config", [
    dict(analyzer="word", ngram_range=(1, 2), min_df=2, sublinear_tf=True),
    dict(analyzer="char_wb", ngram_range=(2, 5), min_df=3, sublinear_tf=True),
])
def test_an_exported_block_scores_as_scikit_learn_does(config):
    rnd = random.Random(5)
    vec = TfidfVectorizer(**config).fit(corpus(rnd, 300))
    outputs, quant = 5, 2e-3
    w = np.random.default_rng(5).normal(0.0, 0.5, (len(vec.vocabulary_), outputs))
    raw = export_block(vec, w, quant, max_chars=200)
    assert raw["analyzer"] == config["analyzer"] and raw["ngram"] == list(config["ngram_range"])
    assert raw["max_chars"] == 200 and len(raw["w"]) == outputs * len(raw["terms"]) == outputs * len(vec.vocabulary_)
    block = Block(raw, outputs)
    wq = np.rint(w / quant) * quant                         # the weights as stored
    texts = corpus(rnd, 200) + ["", "zzz qqq", "the the the the parser"]
    expected = vec.transform(texts) @ wq
    for text, want in zip(texts, expected):
        got, _ = block.scores(text)
        if got is None:                                     # no vocabulary term in the text
            assert not np.abs(want).any(), text
        else:
            # idf is stored to 4 decimals: relative differences of about 1e-4
            assert got == pytest.approx(list(want), rel=2e-3, abs=2e-3), text


def test_terms_without_weight_are_left_out():
    vec = TfidfVectorizer().fit(["fix the parser", "add tests for the parser", "rename the thing"])
    w = np.full((len(vec.vocabulary_), 2), 0.01)
    w[vec.vocabulary_["the"]] = [0.0, 4e-4]                 # rounds to zero at this quantum
    raw = export_block(vec, w, 1e-3)
    assert "the" not in raw["terms"] and len(raw["terms"]) == len(vec.vocabulary_) - 1
    assert raw["w"] == [10] * 2 * len(raw["terms"]) and raw["scale"] == 1e-3 and "max_chars" not in raw


def test_fit_temperature_recovers_the_temperature_of_the_scores():
    rng = np.random.default_rng(9)
    logits = rng.normal(0.0, 2.0, (4000, 6))
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    y = np.array([rng.choice(6, p=row) for row in p])        # labels drawn at temperature 1
    for t in (0.5, 1.0, 2.0):
        fitted = fit_temperature(logits * t, y, steps=61)    # scores t times too sharp need t
        assert fitted == pytest.approx(t, rel=0.12)
