"""How a failed answer is read, how the user's outcomes are counted and kept, and what they change."""

from kilo_lsp.classify.base import Classification, ClassifyInput
from kilo_lsp.ledger.store import Ledger
from kilo_lsp.protocol import Diagnostic, EditorContext, FeedbackParams, RouteParams
from kilo_lsp.routing.engine import Engine
from kilo_lsp.routing.failure import TurnEvidence, error_lines, failure_reason
from kilo_lsp.routing.outcomes import OutcomeCounts, OutcomeRecord, posterior, worse_than_promised

PY = 'Traceback (most recent call last):\n  File "a.py", line 4, in f\nKeyError: 0x7f3a'


def test_error_lines_match_the_same_error_with_other_numbers():
    assert error_lines(PY) & error_lines(PY.replace("line 4", "line 19").replace("0x7f3a", "0x11"))
    assert not error_lines(PY) & error_lines("ValueError: bad literal")
    assert error_lines("thanks, that works") == frozenset()


def turn(**kw):
    base = dict(continues=True, said_failed=0.0, errors_now=frozenset(), errors_before=frozenset(),
                diagnostics_now=frozenset(), diagnostics_before=frozenset(), document_changed=False)
    return TurnEvidence(**{**base, **kw})


def test_failure_reasons_in_their_order_and_only_on_the_same_task():
    e = frozenset({"keyerror: #"})
    assert failure_reason("you said it failed", turn(continues=False)) == "you said it failed"
    assert failure_reason("", turn(said_failed=0.9, errors_now=e, errors_before=e)).startswith("this turn says")
    assert failure_reason("", turn(errors_now=e, errors_before=e)) == "the same error was pasted again"
    assert "diagnostics" in failure_reason("", turn(diagnostics_now=e, diagnostics_before=e, document_changed=True))
    assert failure_reason("", turn(diagnostics_now=e, diagnostics_before=e, document_changed=False)) == ""
    assert failure_reason("", turn(continues=False, said_failed=0.9, errors_now=e, errors_before=e)) == ""


def test_the_posterior_starts_at_the_benchmark_and_follows_the_users_answers():
    assert posterior(0.7, 0, 0).rate == 0.7
    down, up = posterior(0.7, 0, 10), posterior(0.7, 10, 0)
    assert down.rate < 0.7 < up.rate and down.low < down.rate < down.high
    assert worse_than_promised(posterior(0.8, 0, 12), 0.75)
    assert not worse_than_promised(posterior(0.8, 0, 2), 0.75)
    assert not worse_than_promised(posterior(0.8, 12, 0), 0.75)


def test_counts_take_back_a_replaced_outcome_and_reset_by_class():
    c = OutcomeCounts()
    c.change("bugfix:1", "m", "failed")
    c.change("bugfix:1", "m", "accepted", previous="failed")
    c.change("test:2", "m", "rejected")
    assert c.of_class("bugfix:1") == {"m": (1, 0)} and c.of_class("test:2") == {"m": (0, 1)}
    c.reset("bugfix:1")
    assert c.of_class("bugfix:1") == {} and c.total() == 1


def test_the_ledger_keeps_the_users_word_over_a_read_one(tmp_path):
    ledger = Ledger(tmp_path / "l.sqlite3")
    rec = OutcomeRecord("d-1", "ws", "c", "bugfix:1", "m", "failed", "implicit", "the same error was pasted again")
    assert ledger.record_outcome(rec)
    assert ledger.record_outcome(OutcomeRecord("d-1", "ws", "c", "bugfix:1", "m", "accepted", "explicit"))
    assert not ledger.record_outcome(rec)                           # read later: the user's word stays
    ledger.record_outcome(OutcomeRecord("d-2", "ws", "c", "bugfix:1", "m", "rejected", "explicit"))
    ledger.record_outcome(OutcomeRecord("d-3", "ws", "c", "test:1", "n", "failed", "implicit"))
    assert ledger.outcome_counts() == {("bugfix:1", "m"): (1, 1), ("test:1", "n"): (0, 1)}
    assert ledger.reset_outcomes("test:1") == 1 and ledger.reset_outcomes() == 2
    assert ledger.outcome_counts() == {}


class Scripted:
    """A classifier that answers what the test says: the session logic alone is under test."""

    name = "scripted"

    def __init__(self):
        self.next = {}

    def classify(self, item: ClassifyInput) -> Classification:
        n = self.next
        return Classification(n.get("type", "bugfix"), n.get("difficulty", 1), 0.9, 0.9, 0.9,
                              continues=n.get("continues", 0.0), previous_failed=n.get("failed", 0.0))


def engine():
    e = Engine(available=None, classifier=Scripted())
    kept = []
    e.on_outcome = kept.append
    return e, e.classifier, kept


def test_the_next_turn_records_the_last_answers_outcome_once():
    e, c, kept = engine()
    first = e.route(RouteParams(text="fix a", conversation_id="x"))
    c.next = {"continues": 0.9, "failed": 0.9}
    second = e.route(RouteParams(text="still broken", conversation_id="x"))
    assert second.failed_reason and second.rung == 2
    c.next = {"type": "docs", "continues": 0.1}
    e.route(RouteParams(text="write the changelog", conversation_id="x"))
    assert [(k.decision_id, k.outcome, k.source) for k in kept] == [
        (first.decision_id, "failed", "implicit"), (second.decision_id, "accepted", "implicit")]
    assert e.outcomes.of_class(first.task_class) == {first.model: (0, 1), second.model: (1, 0)}


def test_the_users_word_replaces_a_read_outcome_and_is_not_read_over():
    e, c, kept = engine()
    first = e.route(RouteParams(text="fix a", conversation_id="x"))
    e.feedback(FeedbackParams(first.decision_id, "accepted"))
    c.next = {"continues": 0.9, "failed": 0.9}
    e.route(RouteParams(text="still broken?", conversation_id="x"))
    assert [(k.outcome, k.source) for k in kept] == [("accepted", "explicit")]
    e.feedback(FeedbackParams(first.decision_id, "failed", "no"))
    assert e.outcomes.of_class(first.task_class) == {first.model: (0, 1)}
    assert e.feedback(FeedbackParams("d-unknown", "failed")) is None


def test_persisting_diagnostics_count_only_after_the_document_changed():
    e, c, _ = engine()
    docs = {"file:///a.py": "x = y\n"}
    ctx = EditorContext(active_uri="file:///a.py", diagnostics=[Diagnostic("undefined name 'y'", 1),
                                                                Diagnostic("line too long", 2)])
    e.route(RouteParams(text="fix it", conversation_id="x", context=ctx), docs.get)
    c.next = {"continues": 0.9}
    same = e.route(RouteParams(text="and now?", conversation_id="x", context=ctx), docs.get)
    assert not same.failed_reason
    docs["file:///a.py"] = "x = yy\n"
    changed = e.route(RouteParams(text="and now?", conversation_id="x", context=ctx), docs.get)
    assert "diagnostics" in changed.failed_reason and changed.escalated


def test_a_dry_run_neither_reads_nor_moves_the_task():
    e, c, kept = engine()
    first = e.route(RouteParams(text="fix a", conversation_id="x"))
    c.next = {"continues": 0.9, "failed": 0.9}
    preview = e.route(RouteParams(text="still broken", conversation_id="x", dry_run=True))
    assert preview.rung == 2 and kept == []
    again = e.route(RouteParams(text="still broken", conversation_id="x"))
    assert again.rung == 2 and e.last_card(None, "x").decision_id == again.decision_id != first.decision_id


def test_a_failover_gives_the_outcome_to_the_model_that_answered():
    e, c, kept = engine()
    first = e.route(RouteParams(text="fix a", conversation_id="x"))
    e.answered_by(first.decision_id, "other-model")
    e.feedback(FeedbackParams(first.decision_id, "failed"))
    assert kept[-1].model == "other-model"


class Recording(Scripted):
    def classify(self, item: ClassifyInput) -> Classification:
        self.state = item.state
        return super().classify(item)


def test_a_selection_elsewhere_in_the_same_document_is_other_code():
    from kilo_lsp.protocol import Position, Range
    e = Engine(available=None, classifier=Recording())

    def at(first, last, text="x"):
        ctx = EditorContext(active_uri="file:///a.py", selection=Range(Position(first, 0), Position(last, 3)))
        e.route(RouteParams(text=text, conversation_id="s", context=ctx))
        return e.classifier.state.same_document if e.classifier.state else None

    assert at(10, 12) is None                       # the first turn has nothing to compare with
    assert at(11, 20) is True                       # overlapping lines: the same code
    assert at(40, 45) is False                      # another part of the file
    e.route(RouteParams(text="y", conversation_id="s", context=EditorContext(active_uri="file:///a.py")))
    assert e.classifier.state.same_document is True  # no selection now: the same document is all we know
