"""The editor classifier the sidecar routes with (kilo_lsp/data/editor.json.gz, served in pure Python by
classify/editor.py and classify/tfidf.py), and the hand-built classifier it falls back to."""

from __future__ import annotations

import gzip
import json
import math
import random
from collections import Counter
from importlib import resources

import pytest

from kilo_lsp.classify import editor, tfidf
from kilo_lsp.classify.base import ClassifyInput, EditorSignals, TaskState
from kilo_lsp.classify.editor import EditorClassifier
from kilo_lsp.classify.heuristic import HeuristicClassifier
from kilo_lsp.classify.tfidf import Block, char_wb_ngrams, word_ngrams
from kilo_lsp.routing.engine import default_classifier
from kilo_lsp.taxonomy import DIFFICULTIES, TASK_TYPES

pytestmark = pytest.mark.skipif(not editor.weights_available(), reason="editor.json not built")

#: Editor requests with the type a developer would expect.
EDITOR_REQUESTS = [
    ("rename foo to bar in utils.py", "small_edit"),
    ("add a docstring to this function", "small_edit"),
    ("why does this function return None?", "explain"),
    ("explain how the caching works here", "explain"),
    ("plan the migration of this module to async", "plan"),
    ("design the architecture for a plugin system", "plan"),
    ("review this diff", "review"),
    ("fix the crash when the list is empty", "bugfix"),
    ("the app crashes on startup with a KeyError", "bugfix"),
    ("add unit tests for parse_date", "test"),
    ("implement pagination for the users endpoint", "feature"),
    ("reduce memory usage of the parser", "perf"),
    ("update the README with install instructions", "docs"),
    ("set up GitHub Actions to run pytest on push", "build"),
    ("bump the httpx dependency", "build"),
    ("split this 500-line function into smaller helpers", "refactor"),
    ("extract the validation logic into its own module", "refactor"),
]


@pytest.fixture(scope="module")
def clf() -> EditorClassifier:
    return EditorClassifier()


@pytest.fixture(scope="module")
def raw_blocks() -> tuple[int, list[dict]]:
    raw = json.loads(gzip.decompress(resources.files("kilo_lsp.data").joinpath(editor.WEIGHTS_FILE).read_bytes()))
    return int(raw["request"]["outputs"]), raw["request"]["blocks"]


@pytest.mark.parametrize("text,expected", EDITOR_REQUESTS)
def test_editor_requests(clf, text, expected):
    c = clf.classify(ClassifyInput(text))
    assert c.task_type == expected, (text, c.task_type, c.type_confidence)


def test_shape_of_every_answer(clf):
    state = TaskState("bugfix", 3, "fix the crash in the parser", had_trace=True)
    for text in [t for t, _ in EDITOR_REQUESTS] + ["", "?", "x" * 20_000, "é" * 500]:
        for item in (ClassifyInput(text), ClassifyInput(text, state=state)):
            c = clf.classify(item)
            assert c.task_type in TASK_TYPES and c.difficulty in DIFFICULTIES
            assert 0 <= c.confidence <= c.type_confidence <= 1 and 0 <= c.difficulty_confidence <= 1
            assert math.isclose(sum(c.tier_probabilities), 1, abs_tol=1e-3)
            assert math.isclose(sum(c.type_probabilities), 1, abs_tol=1e-3)
            assert c.classifier.startswith("editor/ed-")
    assert clf.classify(ClassifyInput("rename foo to bar")).signals[0].name.startswith("term:")


def test_editor_context_moves_the_difficulty(clf):
    text = "fix the failing import in the parser"

    def expected_tier(signals: EditorSignals) -> float:
        c = clf.classify(ClassifyInput(text, signals))
        return sum(t * p for t, p in enumerate(c.tier_probabilities, start=1))

    base = expected_tier(EditorSignals())
    big = expected_tier(EditorSignals(files_involved=4, selection_lines=200, has_stack_trace=True, diagnostics_errors=5))
    tiny = expected_tier(EditorSignals(selection_lines=2))
    assert big > base > tiny
    c = clf.classify(ClassifyInput(text, EditorSignals(files_involved=4, has_stack_trace=True)))
    assert {"files_involved", "stack_trace"} <= {s.name for s in c.signals}


def test_tokenisers_match_scikit_learn(raw_blocks):
    sk = pytest.importorskip("sklearn.feature_extraction.text")
    _, blocks = raw_blocks
    texts = ["Rename foo to bar in utils.py", "a  bb ccc dddd\teeeee why?? x", "Héllo wörld_2 it", "KeyError: 'user_id'"]
    for b in blocks:
        analyzer = sk.TfidfVectorizer(analyzer=b["analyzer"], ngram_range=tuple(b["ngram"])).build_analyzer()
        ours = word_ngrams if b["analyzer"] == "word" else char_wb_ngrams
        for t in texts:
            assert analyzer(t) == ours(t, tuple(b["ngram"])), (b["analyzer"], t)


def reference_scores(raw: dict, outputs: int, text: str) -> list[float] | None:
    """A block's scores from the file's own numbers, one term at a time: sublinear tf (1 + log c)
    times idf, L2-normalised over the text's vocabulary terms, times the stored weights x scale."""
    text = text[:raw["max_chars"]] if raw.get("max_chars") else text
    index = {t: i for i, t in enumerate(raw["terms"])}
    gen = word_ngrams if raw["analyzer"] == "word" else char_wb_ngrams
    counts = Counter(g for g in gen(text, tuple(raw["ngram"])) if g in index)
    if not counts:
        return None
    values = {t: (1.0 + math.log(c)) * raw["idf"][index[t]] for t, c in counts.items()}
    norm = math.sqrt(sum(v * v for v in values.values()))
    return [sum(v / norm * raw["w"][index[t] * outputs + k] * raw["scale"] for t, v in values.items())
            for k in range(outputs)]


def test_block_scores_equal_the_term_by_term_reference(raw_blocks):
    outputs, blocks = raw_blocks
    rnd = random.Random(17)
    words = "fix the bug bug in parser parser when input is empty add tests docs refactor KeyError: x".split()
    texts = ["", "zzzz", "the the the the", "Traceback (most recent call last):\n  File 'a.py'\n" * 40]
    texts += [" ".join(rnd.choice(words) for _ in range(rnd.randrange(0, 200))) for _ in range(150)]
    for raw in blocks:
        block = Block(raw, outputs)
        for text in texts:
            got, _ = block.scores(text)
            want = reference_scores(raw, outputs, text)
            assert (got is None) == (want is None), text
            if want is not None:
                assert got == pytest.approx(want, rel=1e-9, abs=1e-12), text


def test_cached_character_ngrams_equal_the_filtered_ngrams_of_the_text(raw_blocks, monkeypatch):
    """The char block's per-word cache gives the same n-grams in the same order as filtering the
    text's n-grams, also across a cache clear."""
    outputs, blocks = raw_blocks
    block = Block(next(b for b in blocks if b["analyzer"] == "char_wb"), outputs)
    monkeypatch.setattr(tfidf, "WORD_CACHE_SIZE", 50)
    rnd = random.Random(16)
    words = ["fix", "Parser", "PARSER", "the", "KeyError:", "user_id", "é", "a", "tests", "refactor", "x" * 40]
    spaces = [" ", "  ", "\t", "\n", "\u00a0", "\u2003"]
    for _ in range(2000):
        text = "".join(rnd.choice(words + [f"fix{rnd.randrange(300)}"]) + rnd.choice(spaces)
                       for _ in range(rnd.randrange(0, 30)))
        assert block._char_grams(text) == [g for g in char_wb_ngrams(text, block.ngram) if g in block.table], text
    assert len(block._word_grams) <= 50


def test_without_editor_json_the_router_falls_back_to_the_hand_built_classifier(monkeypatch):
    assert isinstance(default_classifier(), EditorClassifier)
    monkeypatch.setattr(editor, "weights_available", lambda: False)
    fallback = default_classifier()
    assert isinstance(fallback, HeuristicClassifier)
    c = fallback.classify(ClassifyInput("rename foo to bar in utils.py", EditorSignals(selection_lines=2)))
    assert (c.task_type, c.difficulty) == ("small_edit", 1) and c.classifier == fallback.name
