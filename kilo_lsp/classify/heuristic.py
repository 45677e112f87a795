"""A hand-built classifier: keyword cues for the task type, editor signals for the difficulty.

It is the fallback when the editor classifier's weights (``kilo_lsp/data/editor.json.gz``) are not
installed: no data file, no dependency. Editor signals (stack traces, files involved, selection size,
diagnostics, conversation depth) move its difficulty by hand-set amounts.
"""

from __future__ import annotations

import math
import re

from ..taxonomy import TASK_TYPES
from .base import Classification, ClassifyInput, EditorSignals, Signal

# (pattern, task type, weight). Patterns are matched on the lower-cased request.
_CUES: tuple[tuple[str, str, float], ...] = (
    (r"\b(rename|renaming)\b", "small_edit", 2.5),
    (r"\b(docstring|type hints?|typo|format|reformat|sort imports|add a comment)\b", "small_edit", 2.0),
    (r"\b(what|why|how|where|when|which)\b.*\?|\bexplain\b|\bwhat does\b|\bhow does\b|\bunderstand\b", "explain", 2.0),
    (r"\?\s*$", "explain", 0.8),
    (r"\b(fix|bug|broken|crash|error|exception|fails?|failing|traceback|regression|wrong)\b", "bugfix", 2.0),
    (r"\b(unit tests?|tests? for|write tests?|test case|pytest|coverage|jest|spec)\b", "test", 2.5),
    (r"\b(implement|add support|add a|new feature|create|build a|endpoint|support for)\b", "feature", 1.5),
    (r"\b(refactor|extract|restructure|split .* into|deduplicate|clean ?up|move .* to)\b", "refactor", 2.2),
    (r"\b(across (the )?(codebase|files|modules)|every (file|module)|all (files|modules|call ?sites))\b", "refactor", 1.0),
    (r"\b(faster|slow|performance|optimi[sz]e|memory|latency|speed ?up)\b", "perf", 2.2),
    (r"\b(ci|pipeline|dockerfile|makefile|dependenc(y|ies)|bump|upgrade|package\.json|pyproject|build)\b", "build", 1.6),
    (r"\b(readme|documentation|docs|changelog|tutorial|guide)\b", "docs", 2.0),
    (r"\b(plan|design|architecture|migrat(e|ion)|strategy|roadmap|trade-?offs?|approach)\b", "plan", 2.4),
    (r"\b(review|critique|feedback on|look over|code smell|is this (good|ok|right))\b", "review", 2.4),
)
_COMPILED = tuple((re.compile(p), t, w) for p, t, w in _CUES)

# Prior difficulty of each task type before editor signals (1..4 scale, continuous).
_BASE_DIFFICULTY = {
    "explain": 1.3, "small_edit": 1.0, "docs": 1.4, "bugfix": 2.0, "test": 1.8, "feature": 2.3,
    "refactor": 2.4, "perf": 2.6, "build": 1.7, "plan": 3.2, "review": 2.0,
}
_HARD_WORDS = re.compile(r"\b(migrat\w*|architecture|concurren\w*|async|distributed|across|whole|entire|"
                         r"security|race condition|deadlock|thread-?safe|backwards?.compatib\w*|schema)\b")
_EASY_WORDS = re.compile(r"\b(rename|typo|docstring|comment|one[- ]line|quick|simple|small)\b")


def _softmax(scores: dict[str, float], temperature: float = 1.0) -> dict[str, float]:
    top = max(scores.values())
    exp = {k: math.exp((v - top) / temperature) for k, v in scores.items()}
    total = sum(exp.values())
    return {k: v / total for k, v in exp.items()}


def signal_adjustment(signals: EditorSignals) -> tuple[float, list[Signal]]:
    """How much the editor context moves difficulty (in tiers), and why."""
    delta = 0.0
    why: list[Signal] = []
    if signals.has_stack_trace:
        delta += 0.3
        why.append(Signal("stack_trace", "a stack trace is attached", 0.3))
    if signals.files_involved >= 3:
        step = min(1.2, 0.3 * (signals.files_involved - 2))
        delta += step
        why.append(Signal("files_involved", f"{signals.files_involved} files involved", step))
    if signals.selection_lines >= 80:
        delta += 0.4
        why.append(Signal("selection_size", f"{signals.selection_lines} lines selected", 0.4))
    elif 0 < signals.selection_lines <= 5:
        delta -= 0.3
        why.append(Signal("selection_size", f"small selection ({signals.selection_lines} lines)", -0.3))
    if signals.diagnostics_errors >= 5:
        delta += 0.3
        why.append(Signal("diagnostics", f"{signals.diagnostics_errors} errors in diagnostics", 0.3))
    if signals.conversation_turns >= 6:
        delta += 0.2
        why.append(Signal("conversation_depth", f"{signals.conversation_turns} turns deep", 0.2))
    return delta, why


class HeuristicClassifier:
    name = "heuristic-1"

    def classify(self, item: ClassifyInput) -> Classification:
        text = item.text.lower()
        scores = {t: 0.0 for t in TASK_TYPES}
        fired: list[Signal] = []
        for pattern, task_type, weight in _COMPILED:
            m = pattern.search(text)
            if m:
                scores[task_type] += weight
                fired.append(Signal(f"keyword:{task_type}", f"'{m.group(0).strip()[:30]}' suggests {task_type}", weight))
        if item.signals.has_stack_trace:
            scores["bugfix"] += 1.5
        if item.signals.diagnostics_errors:
            scores["bugfix"] += 0.5
        if max(scores.values()) == 0.0:
            scores["feature"] += 0.5   # an imperative with no cue is most often new behaviour
        probs = _softmax(scores, temperature=1.0)
        task_type = max(probs, key=probs.__getitem__)
        difficulty_score = _BASE_DIFFICULTY[task_type]
        if _HARD_WORDS.search(text):
            difficulty_score += 0.8
            fired.append(Signal("keyword:hard", "wording points at a large or subtle change", 0.8))
        if _EASY_WORDS.search(text):
            difficulty_score -= 0.5
            fired.append(Signal("keyword:easy", "wording points at a small change", -0.5))
        if len(item.text) > 1500:
            difficulty_score += 0.4
            fired.append(Signal("length", "a long request", 0.4))
        delta, why = signal_adjustment(item.signals)
        difficulty_score += delta
        fired.extend(why)
        difficulty = int(min(4, max(1, round(difficulty_score))))
        # Distance from a tier boundary is how sure the tier is; the type's share of the mass is how
        # sure the type is. Both are shrunk toward 0.5 because this model is hand-set, not fitted.
        frac = abs(difficulty_score - math.floor(difficulty_score) - 0.5)
        difficulty_confidence = 0.55 + 0.8 * frac * 0.5
        type_confidence = 0.5 + 0.5 * (probs[task_type] - 1.0 / len(TASK_TYPES)) / (1 - 1.0 / len(TASK_TYPES))
        confidence = round(min(type_confidence, difficulty_confidence) if max(scores.values()) > 0.5 else 0.35, 4)
        fired.sort(key=lambda s: -abs(s.weight))
        return Classification(task_type, difficulty, confidence, round(type_confidence, 4),
                              round(difficulty_confidence, 4), tuple(fired[:6]), self.name)
