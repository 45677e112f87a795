"""The session model: a turn continues its conversation's task or starts a new one, and the router
keeps a conversation on a model that works.

The mixing rule is checked exactly on made-up readings; the shipped classifier and the engine on
conversations written for these tests (none of them is in the session suite or the training data).
"""

from __future__ import annotations

import pytest

from kilo_lsp.classify.base import Classification, ClassifyInput, EditorSignals, TaskState
from kilo_lsp.classify.editor import EditorClassifier
from kilo_lsp.classify.session import TurnReading, in_conversation
from kilo_lsp.config import RoutingSettings, Settings
from kilo_lsp.leaderboard.model import load
from kilo_lsp.protocol import RouteParams, Turn
from kilo_lsp.routing.availability import Reach
from kilo_lsp.routing.engine import Engine
from kilo_lsp.taxonomy import TASK_TYPES


def reading(task_type: str, tiers: tuple[float, ...]) -> Classification:
    probs = tuple(0.9 if t == task_type else 0.01 for t in TASK_TYPES)
    return Classification(task_type, max(range(4), key=tiers.__getitem__) + 1, 0.8, 0.9, 0.9,
                          tier_probabilities=tiers, type_probabilities=probs)


def test_a_continuing_turn_keeps_the_task_and_never_lowers_its_tier():
    state = TaskState("bugfix", 3, "the importer deadlocks under load")
    c = in_conversation(reading("explain", (0.9, 0.1, 0.0, 0.0)), state, TurnReading(0.95, 0.1))
    assert c.task_type == "bugfix" and c.difficulty == 3
    assert abs(sum(c.tier_probabilities) - 1) < 1e-3 and c.continues == 0.95
    assert any(s.name == "conversation" and "continues the bugfix task" in s.detail for s in c.signals)


def test_a_new_task_is_read_on_its_own_and_may_be_easier():
    state = TaskState("plan", 4, "plan the move of every service to the new queue")
    c = in_conversation(reading("small_edit", (0.95, 0.05, 0.0, 0.0)), state, TurnReading(0.05, 0.0))
    assert c.task_type == "small_edit" and c.difficulty == 1
    assert any(s.name == "conversation" and "a new task" in s.detail for s in c.signals)


def test_a_failure_report_is_a_signal():
    state = TaskState("bugfix", 2, "fix the off-by-one in paginate()")
    c = in_conversation(reading("bugfix", (0.1, 0.8, 0.1, 0.0)), state, TurnReading(0.9, 0.8))
    assert c.previous_failed == 0.8 and any(s.name == "previous_failed" for s in c.signals)


# -- the shipped classifier ---------------------------------------------------------------------
CLF = EditorClassifier()


def turn(text: str, state: TaskState | None = None, **signals) -> Classification:
    return CLF.classify(ClassifyInput(text, EditorSignals(**signals), state))


def state_of(text: str, c: Classification) -> TaskState:
    return TaskState(c.task_type, c.difficulty, text)


def test_a_question_then_its_follow_up_then_a_new_task():
    q = "what does the retry decorator in http_client.py actually do with the backoff?"
    first = turn(q, selection_lines=14)
    assert first.task_type == "explain"
    follow = turn("and why does it sleep before the very first attempt?", state_of(q, first))
    assert follow.task_type == "explain" and follow.continues >= 0.5
    new = turn("ok, now add unit tests for the retry decorator", state_of(q, first))
    assert new.task_type == "test" and new.continues < 0.5


def test_a_fix_that_still_fails_continues_and_says_so():
    ask = ("the invoice export crashes with KeyError: 'currency' when a customer has no billing "
           "address, fix it")
    first = turn(ask)
    assert first.task_type == "bugfix"
    again = turn("still failing, same KeyError: 'currency' in export_row", state_of(ask, first))
    assert again.task_type == "bugfix" and again.continues >= 0.5 and again.previous_failed >= 0.5


def test_hard_then_easy():
    plan = ("plan the migration of every service from REST to gRPC, including the auth layer, the "
            "public clients and a rollout without downtime")
    first = turn(plan)
    assert first.task_type == "plan" and first.difficulty >= 3
    easy = turn("unrelated: rename the variable cnt to count in utils.py", state_of(plan, first),
                selection_lines=1)
    assert easy.task_type == "small_edit" and easy.difficulty == 1 and easy.continues < 0.5


# -- the engine: affinity and availability --------------------------------------------------------
BOARD = load()


class Scripted:
    """A classifier that answers each request from a table (the engine's own behaviour is under test)."""

    name = "scripted"

    def __init__(self, table: dict[str, Classification]) -> None:
        self.table = table

    def classify(self, item: ClassifyInput) -> Classification:
        return self.table[item.text]


def test_a_conversation_stays_on_its_model_through_a_low_confidence_turn():
    sure = Classification("bugfix", 2, 0.9, 0.9, 0.9, classifier="scripted")
    unsure = Classification("bugfix", 2, 0.2, 0.3, 0.7, classifier="scripted")
    engine = Engine(settings=Settings(), leaderboard=BOARD, available=None,
                    classifier=Scripted({"fix the race in the cache": sure, "hm, and the other one?": unsure}))
    first = engine.route(RouteParams(text="fix the race in the cache", conversation_id="c"))
    second = engine.route(RouteParams(text="hm, and the other one?", conversation_id="c",
                                      turns=[Turn("user", "fix the race in the cache"), Turn("assistant", "…")]))
    assert second.model == first.model and second.sticky and not second.fallback
    assert second.reason_code == "low_confidence_kept" and second.turn == 2
    alone = engine.route(RouteParams(text="hm, and the other one?", conversation_id="other"))
    assert alone.fallback and alone.model == BOARD.balanced and alone.reason_code == "low_confidence"


@pytest.mark.parametrize("reach_of", ["local only", "one key"])
def test_a_user_who_cannot_call_balanced_still_gets_a_model_they_can_call(reach_of):
    unsure = Classification("bugfix", 2, 0.1, 0.2, 0.5, classifier="scripted")
    if reach_of == "local only":
        from kilo_lsp.leaderboard.model import Model, Prices
        local = Model("ollama/qwen-coder", "qwen-coder (local)", "local", Prices(0, 0, 0), 8192, free=True,
                      local=True, routes={"ollama": "qwen-coder"})
        board = BOARD.with_models([local])
        reach = {"ollama/qwen-coder": Reach("ollama", "qwen-coder")}
    else:
        board = BOARD
        cheap = min((m for m in board.models.values() if m.id != board.balanced), key=lambda m: m.prices.input)
        reach = {cheap.id: Reach(next(iter(cheap.routes)), next(iter(cheap.routes.values())))}
    engine = Engine(settings=Settings(routing=RoutingSettings()), leaderboard=board, available=reach,
                    classifier=Scripted({"hmm": unsure}))
    card = engine.route(RouteParams(text="hmm"))
    assert card.callable and card.model in reach
    if reach_of == "one key":      # a model with evidence: the floor sends the request to the strongest one
        assert card.fallback and "cannot be called" in card.reason
    else:                          # nothing callable has evidence: the floor has nothing to guard
        assert not card.fallback and card.reason_code == "no_model_clears_bar" and "evidence" in card.reason
