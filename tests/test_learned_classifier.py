"""The learned classifier on realistic editor requests (shipped weights; no timing here)."""

from __future__ import annotations

import pytest

from kilo_lsp.classify.base import ClassifyInput, EditorSignals
from kilo_lsp.classify.learned import LearnedClassifier, weights_available
from kilo_lsp.classify.tfidf import char_wb_ngrams, word_ngrams
from kilo_lsp.taxonomy import DIFFICULTIES, TASK_TYPES

pytestmark = pytest.mark.skipif(not weights_available(), reason="classifier.json not built")

UNAMBIGUOUS = [
    ("rename foo to bar in utils.py", "small_edit"),
    ("add a docstring to this function", "small_edit"),
    ("why does this function return None?", "explain"),
    ("what does this regex match?", "explain"),
    ("explain how the caching works here", "explain"),
    ("plan the migration of this module to async", "plan"),
    ("design the architecture for a plugin system", "plan"),
    ("review this diff", "review"),
    ("can you review my changes before I push?", "review"),
    ("fix the crash when the list is empty", "bugfix"),
    ("the app crashes on startup with a KeyError", "bugfix"),
    ("add unit tests for parse_date", "test"),
    ("write tests for the login flow", "test"),
    ("implement pagination for the users endpoint", "feature"),
    ("add dark mode support to the settings page", "feature"),
    ("reduce memory usage of the parser", "perf"),
    ("update the README with install instructions", "docs"),
    ("set up GitHub Actions to run pytest on push", "build"),
    ("split this 500-line function into smaller helpers", "refactor"),
    ("why does this return None?", "explain"),
    ("plan the migration to async", "plan"),
    ("write tests for parse_args", "test"),
    ("make this loop faster", "perf"),
    ("bump the httpx dependency", "build"),
]
AMBIGUOUS = ["clean this up", "handle the timeout case too"]


@pytest.fixture(scope="module")
def clf() -> LearnedClassifier:
    return LearnedClassifier()


@pytest.mark.parametrize("text,expected", UNAMBIGUOUS)
def test_editor_requests(clf, text, expected):
    c = clf.classify(ClassifyInput(text))
    assert c.task_type == expected, (text, c)


def test_shape_of_every_answer(clf):
    for text in [t for t, _ in UNAMBIGUOUS] + AMBIGUOUS + ["", "?"]:
        c = clf.classify(ClassifyInput(text))
        assert c.task_type in TASK_TYPES and c.difficulty in DIFFICULTIES
        assert 0 <= c.confidence <= c.type_confidence <= 1 and 0 <= c.hard_probability <= 1
        assert c.classifier.startswith("learned/clf-")
    assert clf.classify(ClassifyInput("rename foo to bar")).signals[0].name.startswith("term:")


def test_editor_signals_move_difficulty(clf):
    text = "fix the failing import in the parser"
    base = clf.classify(ClassifyInput(text))
    big = clf.classify(ClassifyInput(text, EditorSignals(files_involved=4, selection_lines=200, has_stack_trace=True,
                                                          diagnostics_errors=5, conversation_turns=6,
                                                          context_tokens=50_000)))
    tiny = clf.classify(ClassifyInput(text, EditorSignals(selection_lines=2)))
    assert big.hard_probability > base.hard_probability > tiny.hard_probability
    assert big.difficulty >= base.difficulty
    assert any(s.name == "stack_trace" for s in big.signals)
    # a stack trace and error diagnostics push the type towards bugfix, and say so
    c = clf.classify(ClassifyInput("look at this", EditorSignals(has_stack_trace=True, diagnostics_errors=2)))
    assert any(s.name == "stack_trace" and "bugfix" in s.detail for s in c.signals)


def test_short_follow_up_uses_previous_turn(clf):
    c = clf.classify(ClassifyInput("and also here", previous_text="add unit tests for parse_date"))
    assert c.task_type == "test"


def test_tokenisers_match_scikit_learn():
    sk = pytest.importorskip("sklearn.feature_extraction.text")
    for t in ["Rename foo to bar in utils.py", "a  bb ccc dddd\teeeee why?? x", "Héllo wörld_2 it"]:
        assert sk.TfidfVectorizer(ngram_range=(1, 2)).build_analyzer()(t) == word_ngrams(t, (1, 2))
        assert sk.TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5)).build_analyzer()(t) == char_wb_ngrams(t, (2, 5))


def explained_scores(model, text):
    """The difficulty model's scores one term at a time: the intercept plus, for every vocabulary
    term of the text, its normalised tf-idf value times its weights (the plain form of the model)."""
    import math
    from collections import Counter
    s = list(model.intercept)
    for block in model.blocks:
        gen = word_ngrams if block.analyzer == "word" else char_wb_ngrams
        counts = Counter(t for t in gen(text, block.ngram) if t in block.table)
        vals = [(t, (1.0 + math.log(c)) * block.table[t][0]) for t, c in counts.items()]
        norm = math.sqrt(sum(v * v for _, v in vals)) or 1.0
        for t, v in vals:
            s = [a + v / norm * b for a, b in zip(s, block.table[t][1])]
    return s


def test_difficulty_fast_scores_equal_the_explained_sums():
    """The difficulty model's scores (the per-request path) equal the sums of the per-term contributions."""
    clf = LearnedClassifier()
    clf.classify(ClassifyInput("warm up"))
    texts = ["fix the crash when the list is empty", "x", "",
             "Traceback (most recent call last):\n  File 'a.py', line 3\nKeyError: 'user'\n" * 5,
             "the the the parser parser is slow on large files " * 20]
    for text in texts:
        assert clf._diff.scores(text) == pytest.approx(explained_scores(clf._diff, text), abs=1e-12)


def test_type_reasons_are_words_not_character_ngrams():
    """Character n-grams move the scores, but only vocabulary words are shown as reasons
    (they used to show fragments such as 'fac' or 'adm')."""
    clf = LearnedClassifier()
    for text in ("refactoring the serializer", "typo in readme", "docstrings everywhere", "memoize lookups"):
        c = clf.classify(ClassifyInput(text))
        terms = [s.name[len("term:"):] for s in c.signals if s.name.startswith("term:")]
        assert terms, text
        for term in terms:
            assert term == term.strip() and set(term.split()) <= set(text.split()), (text, term)
