"""The faster forms of the routing code path give exactly what the plain forms give."""

import random

from kilo_lsp import context
from kilo_lsp.classify.base import Classification
from kilo_lsp.classify.tfidf import char_wb_ngrams
from kilo_lsp.config import RoutingSettings
from kilo_lsp.leaderboard.model import parse
from kilo_lsp.routing.availability import Reach
from kilo_lsp.routing.policy import Incumbent, Policy, PolicyInput
from test_fast_paths import STACK_TRACE  # the one-regex form of the stack-trace test


# -- policy ------------------------------------------------------------------------------------
def random_board(rnd: random.Random, version: str):
    ids = [f"m{i}" for i in range(rnd.randrange(3, 9))]
    models = [{"id": m, "prices": {"input": rnd.choice([0, 0.1, 3.0]), "output": rnd.choice([0, 0.4, 15.0])},
               "routes": {"p": m}, "free": rnd.random() < 0.2} for m in ids]
    classes = {}
    for t in rnd.sample([1, 2, 3, 4], rnd.randrange(1, 5)):
        ev = {}
        for m in ids:
            if rnd.random() < 0.8:
                rate = rnd.random()
                ev[m] = {"solved": int(rate * 50), "n": 50, "rate": rate, "ci_low": rate - rnd.random() * 0.2,
                         "ci_high": rate + 0.05, "cost_per_request": rnd.choice([0.0, rnd.random()]),
                         "vs_balanced": None if rnd.random() < 0.1 else
                         {"delta": 0.0, "ci_low": -rnd.random() * 0.3, "ci_high": 0.1}}
        ladders = {dial: rnd.sample(ids, rnd.randrange(1, 4)) for dial in ("bill", "bar") if rnd.random() < 0.9}
        classes[f"*:{t}"] = {"n_tasks": rnd.randrange(1, 100), "models": ev, "ladders": ladders}
    return parse({"schema": 1, "version": version, "balanced": ids[0], "frontier": ids[-1],
                  "models": models, "classes": classes})


def test_a_policy_kept_across_boards_and_settings_decides_as_a_new_one():
    rnd = random.Random(12)
    kept = Policy()
    boards = [random_board(rnd, f"b{k}") for k in range(6)]
    for _ in range(400):
        board = rnd.choice(boards)
        s = RoutingSettings(dial=rnd.choice(["bill", "bar"]), margin=rnd.choice([0.0, 0.05, 0.2]),
                            floor=rnd.choice([0.0, 0.4]), min_confidence=0.0,
                            balanced_model=rnd.choice(["", *board.models]))
        raw = [rnd.random() for _ in range(4)]
        c = Classification("bugfix", rnd.randrange(1, 5), 0.9, 0.9, 0.9,
                           tier_probabilities=tuple(x / sum(raw) for x in raw))
        reach = {m: Reach("p", m) for m in board.models if rnd.random() < 0.8}
        ladder = tuple(rnd.sample(list(board.models), 2))
        inc = None if rnd.random() < 0.3 else Incumbent(rnd.choice(list(board.models)), rnd.randrange(0, 100_000),
                                                         f"*:{rnd.randrange(1, 5)}", ladder, rnd.randrange(0, 2))
        pi = PolicyInput(c, board, s, reach, rnd.randrange(100, 50_000), inc, continues=rnd.random() < 0.5,
                         failed=rnd.choice(["", "it failed"]))
        assert kept.decide(pi) == Policy().decide(pi)


# -- context -----------------------------------------------------------------------------------
SPACED_PARTS = ["format ", "that ", "at ", " at ", "\tat ", "\u2003at ", "\x1cat ", "\u00a0at ", "\u200bat ",
                "\nat f (x:1:2)", "  at com.x.Y.run(Y.java:10)", "  at run (app.js:1:2)", "\n", "at f (x:1:2)",
                "what at g (h:1:1)", "x"]


def test_stack_trace_test_with_many_candidates_equals_the_one_regex():
    rnd = random.Random(13)
    for _ in range(3000):
        n = rnd.choice([3, 10, 40, 80])
        text = "".join(rnd.choice(SPACED_PARTS[:3] if rnd.random() < 0.5 else SPACED_PARTS) for _ in range(n))
        expected_ = STACK_TRACE.search(text) is not None
        assert context.has_stack_trace(text) == expected_, repr(text)


# -- classifier --------------------------------------------------------------------------------
def char_wb_reference(text: str, ngram: tuple[int, int]) -> list[str]:
    """scikit-learn's char_wb analyzer written as scikit-learn writes it."""
    import re
    text = re.sub(r"\s\s+", " ", text.lower())
    lo, hi = ngram
    out = []
    for w in text.split():
        w = " " + w + " "
        for n in range(lo, hi + 1):
            offset = 0
            out.append(w[offset:offset + n])
            while offset + n < len(w):
                offset += 1
                out.append(w[offset:offset + n])
            if offset == 0:
                break
    return out


def test_char_wb_ngrams_equal_the_reference_on_any_whitespace():
    rnd = random.Random(14)
    alphabet = "ab Yé \t\n\r\x0b\x0c\x1c\x1d\x85\u00a0\u2003\u2028\u200b"
    for _ in range(5000):
        text = "".join(rnd.choice(alphabet) for _ in range(rnd.randrange(0, 24)))
        for ngram in ((3, 5), (2, 5), (1, 1), (2, 2), (4, 6)):
            assert char_wb_ngrams(text, ngram) == char_wb_reference(text, ngram), (text, ngram)
