"""The task-type model (kilo_lsp/data/task_type.json) served in pure Python by classify/task_type.py."""

from __future__ import annotations

import math

import pytest

from kilo_lsp.classify import task_type, tfidf
from kilo_lsp.classify.base import ClassifyInput
from kilo_lsp.classify.learned import LearnedClassifier, weights_available
from kilo_lsp.taxonomy import TASK_TYPES

needs_weights = pytest.mark.skipif(not weights_available(), reason="task_type.json not built")


def probabilities(model: task_type.TaskTypeModel, text: str) -> dict[str, float]:
    """P(class) as the classifier computes it: softmax of the scores over the temperature."""
    s, _ = model.scores(text)
    z = [x / model.temperature for x in s]
    m = max(z)
    e = [math.exp(x - m) for x in z]
    return {c: x / sum(e) for c, x in zip(model.classes, e)}

#: Editor requests with the type a developer would expect.
EDITOR_REQUESTS = [
    ("rename foo to bar in utils.py", "small_edit"),
    ("why does this return None?", "explain"),
    ("plan the migration to async", "plan"),
    ("write tests for parse_args", "test"),
    ("make this loop faster", "perf"),
    ("bump the httpx dependency", "build"),
    ("upgrade pytest to the latest version", "build"),
    ("the CI workflow fails on windows, fix the yaml", "build"),
    ("fix the off-by-one error in the pagination", "bugfix"),
    ("add a --verbose flag to the CLI", "feature"),
    ("document the config options in the README", "docs"),
    ("extract the validation logic into its own module", "refactor"),
    ("speed up the startup time by caching the index", "perf"),
]


def test_split_scope():
    assert task_type.split_scope("fix(deps): bump httpx") == ("deps", "bump httpx")
    assert task_type.split_scope("feat(ui)!: new menu") == ("ui", "new menu")
    assert task_type.split_scope("rename foo to bar") == ("", "rename foo to bar")
    assert task_type.split_scope("why does f(x): return None") == ("", "why does f(x): return None")


def test_tokenisers_match_scikit_learn():
    sk = pytest.importorskip("sklearn.feature_extraction.text")
    for t in ["Rename foo to bar in utils.py", "a  bb ccc dddd\teeeee why?? x", "Héllo wörld_2 it"]:
        assert sk.TfidfVectorizer(ngram_range=(1, 2)).build_analyzer()(t) == tfidf.word_ngrams(t, (1, 2))
        assert sk.TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5)).build_analyzer()(t) == tfidf.char_wb_ngrams(t, (3, 5))


@needs_weights
@pytest.mark.parametrize("text,expected", EDITOR_REQUESTS)
def test_editor_requests(text, expected):
    c = LearnedClassifier().classify(ClassifyInput(text))
    assert c.task_type == expected, (text, c.task_type, c.type_confidence)


@needs_weights
def test_model_shape_and_probabilities():
    m = task_type.load()
    assert m is not None and set(m.classes) <= set(TASK_TYPES) and m.temperature > 0
    for text in ["", "?", "x" * 5000, "fix(ci): retry flaky upload step", "docs: typo"]:
        p = probabilities(m, text)
        assert math.isclose(sum(p.values()), 1.0, rel_tol=1e-9)
    # a scope, when the text carries one, is read: ci/deps scopes point to build
    assert max(probabilities(m, "chore(ci): update the node version").items(), key=lambda kv: kv[1])[0] == "build"
    c = LearnedClassifier().classify(ClassifyInput("rename foo to bar"))
    assert "+tt-" in c.classifier and c.signals[0].name.startswith("term:")
