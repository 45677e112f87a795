"""Features of an editor request beyond its words: the scope the editor context implies, and how a
turn relates to the one before it in a conversation.

The same functions build the training matrices (``training/train_editor.py``) and score requests in
the sidecar, so a model sees at run time exactly what it was fitted on. Pure Python, microseconds.
"""

from __future__ import annotations

import math
import re

from ..taxonomy import TASK_TYPES
from .base import EditorSignals

# -- a request on its own -----------------------------------------------------------------------
_QUESTION_START = re.compile(r"^\s*(what|why|how|where|when|which|who|whats|is|are|can|could|does|do|did|"
                             r"should|would|will)\b", re.I)

#: Dense features of a request, in the order the model's weights are stored.
REQUEST_FEATURES: tuple[str, ...] = (
    "selection:none", "selection:1-5", "selection:6-30", "selection:31-80", "selection:81+",
    "files:1", "files:2", "files:3", "files:4+", "trace", "diagnostics:any", "diagnostics:3+",
    "question_mark", "question_start", "code_block", "log_words", "long",
)


def request_features(text: str, signals: EditorSignals) -> list[float]:
    """``REQUEST_FEATURES`` of one request: the editor context's scope and the shape of the text."""
    sel, files, errors = signals.selection_lines, max(1, signals.files_involved), signals.diagnostics_errors
    words = len(text.split())
    return [
        float(sel == 0), float(1 <= sel <= 5), float(6 <= sel <= 30), float(31 <= sel <= 80), float(sel > 80),
        float(files == 1), float(files == 2), float(files == 3), float(files >= 4),
        float(signals.has_stack_trace), float(errors > 0), float(errors >= 3),
        float(text.rstrip().endswith("?")), float(_QUESTION_START.match(text) is not None),
        float("```" in text), math.log1p(words) / 5.0, float(words > 150),
    ]


# -- a turn against the one before it ---------------------------------------------------------------
#: First words that often open a follow-up, or a new request; any other first word is "first:other".
FIRST_WORDS: tuple[str, ...] = (
    "and", "also", "now", "ok", "okay", "then", "but", "what", "why", "how", "so", "still", "same",
    "actually", "wait", "can", "could", "please", "thanks", "great", "next", "another", "unrelated",
    "btw", "yes", "no", "nope", "hmm", "perfect", "cool", "do", "make", "use", "add", "write", "fix",
    "rename", "explain", "create", "implement", "it", "that", "this", "instead", "what's", "whats",
)
_FIRST = re.compile(r"[a-z']+")
_ANAPHORA = re.compile(r"\b(it|its|this|that|those|these|them|there|same|above|previous|again|instead|"
                       r"too|the other|the rest|as well)\b", re.I)
_FAILURE = re.compile(r"\b(still|again|same (error|issue|problem|thing|result|exception|failure|crash)|"
                      r"(does|did|do)(n'?t| not) (work|help|fix|change|compile|build|run)|not working|"
                      r"broke|broken|nothing changed|no change|wrong|not what|that's not|thats not|"
                      r"didn'?t|doesn'?t|isn'?t fixed|fails?|failing|error)\b", re.I)
_NEW_TASK = re.compile(r"\b(unrelated|different (question|topic|thing|task)|another (question|thing|task)|"
                       r"new (task|question|feature)|switching (gears|topics?)|btw|by the way|separately|"
                       r"on a different note|next task|moving on)\b", re.I)
_THANKS = re.compile(r"\b(thanks|thank you|thx|great|perfect|works now|that worked|it works|nice|cool|"
                     r"awesome|looks good|lgtm)\b", re.I)
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]{3,}")
_IDENT = re.compile(r"\b(?:[a-z]+_[a-z0-9_]+|[a-z]+[A-Z][A-Za-z0-9]*|[A-Z][a-z]+[A-Z][A-Za-z0-9]*|"
                    r"\w+\.\w+\(?)\b")
_STOP = frozenset("""this that with from have what when where which there their they them then than
into only also just like make sure please would could should will does doesn about after before
some more most other here code file function method class line lines want need using used""".split())

CONTINUATION_FEATURES: tuple[str, ...] = (
    "words<=3", "words<=6", "words<=12", "log_words", "question_mark", "anaphora", "failure_cue",
    "new_task_cue", "thanks_cue", "overlap", "shared_identifiers", "trace_now", "trace_before",
    "same_error", "p_text_previous_type", "p_text_top", "text_points_elsewhere", "same_file", "other_file",
    *(f"first:{w}" for w in FIRST_WORDS), "first:other",
    *(f"previous:{t}" for t in TASK_TYPES),
)


def _content_words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text[:2000])} - _STOP


def _error_lines(text: str) -> set[str]:
    """The words of the lines that name an error (the part of a paste that repeats when it fails again)."""
    out: set[str] = set()
    for line in text[:4000].splitlines():
        if re.search(r"error|exception|panic|fail|assert", line, re.I):
            out |= {w.lower() for w in _WORD.findall(line)}
    return out


def continuation_features(text: str, previous_text: str, previous_type: str, trace_now: bool,
                          trace_before: bool, text_type_probs: dict[str, float],
                          same_file: bool | None = None) -> list[float]:
    """``CONTINUATION_FEATURES`` of a turn against the previous user turn of its conversation, whose
    task was ``previous_type``. ``text_type_probs``: the task-type model's reading of the turn alone;
    ``same_file``: whether the user is in the same document as at the previous turn (None: unknown)."""
    words = len(text.split())
    mine, theirs = _content_words(text), _content_words(previous_text)
    overlap = len(mine & theirs) / len(mine | theirs) if mine and theirs else 0.0
    shared = len(set(_IDENT.findall(text)) & set(_IDENT.findall(previous_text)))
    same_error = 0.0
    if trace_now and trace_before:
        a, b = _error_lines(text), _error_lines(previous_text)
        same_error = len(a & b) / len(a | b) if a and b else 0.0
    p_prev = text_type_probs.get(previous_type, 0.0)
    top_type = max(text_type_probs, key=text_type_probs.__getitem__) if text_type_probs else previous_type
    m = _FIRST.match(text.strip().lower())
    first = m.group(0) if m else ""
    head = text[:300]
    out = [
        float(words <= 3), float(words <= 6), float(words <= 12), math.log1p(words) / 5.0,
        float(text.rstrip().endswith("?")), float(_ANAPHORA.search(head) is not None),
        float(_FAILURE.search(head) is not None), float(_NEW_TASK.search(head) is not None),
        float(_THANKS.search(head) is not None), overlap, min(shared, 3) / 3.0, float(trace_now),
        float(trace_before), same_error, p_prev, max(text_type_probs.values(), default=0.0),
        float(top_type != previous_type), float(same_file is True), float(same_file is False),
    ]
    out += [float(first == w) for w in FIRST_WORDS] + [float(first not in FIRST_WORDS)]
    out += [float(previous_type == t) for t in TASK_TYPES]
    return out
