"""A learned classifier served in pure Python: linear models over TF-IDF n-grams.

Both models are trained offline with scikit-learn and served from JSON; their TF-IDF blocks
(``tfidf.py``) reproduce scikit-learn's tokenisation, sublinear TF, IDF, per-block L2 normalisation
and the linear scores. No numpy, no scikit-learn at run time.

- Task type: ``task_type.py``, weights ``kilo_lsp/data/task_type.json`` (trained by
  ``training/train_task_type.py``): a linear model over word and character n-grams of real
  Conventional-Commit subjects plus written examples for the types commits cannot carry (explain,
  plan, review, small_edit); softmax with a temperature fitted on inner folds.
- Difficulty: ``kilo_lsp/data/classifier.json`` (trained by ``training/train_classifier.py``):
  logistic regressions over word n-grams of SWE-bench issue texts, for P(tier > 1) and P(tier >= 3),
  Platt-calibrated on inner folds. The editor signals (files involved, selection size, diagnostics,
  stack trace, conversation depth, context size) then shift the logits by fixed amounts
  (``EDITOR_ADJUSTMENTS``): there is no labelled editor traffic to learn them from yet. The same file
  carries the bill dial's willingness to pay (``difficulty.routing.wtp_usd``).
"""

from __future__ import annotations

import json
import math
import threading
from importlib import resources
from pathlib import Path
from typing import Any

from .base import Classification, ClassifyInput, EditorSignals, Signal, most_likely_tier
from .task_type import WEIGHTS_FILE, TaskTypeModel
from .task_type import load as load_task_type
from .tfidf import Block


#: Type text is cut to this many characters (intent sits at the start; keeps p99 under 1 ms).
TYPE_MAX_CHARS = 300
#: Difficulty text is cut to this many characters.
DIFFICULTY_MAX_CHARS = 1000
#: Requests shorter than this many words are "type-led": their type's confidence enters the confidence.
TYPE_LED_WORDS = 40

#: Fixed logit shifts of P(not trivial) from the editor context (hand-set, see module docstring).
EDITOR_ADJUSTMENTS = {
    "files_per_extra_file": 0.35,     # per file beyond the first, at most 4 files counted
    "large_selection": 0.4,           # selection of more than 80 lines
    "tiny_selection": -0.5,           # selection of 1-5 lines in a single file
    "diagnostics_errors": 0.3,        # 3 or more error diagnostics
    "stack_trace": 0.25,
    "long_conversation": 0.3,         # 4 or more earlier turns
    "large_context": 0.4,             # more than 20k tokens of context
}
#: Logit shift of P(not trivial) from the predicted task type (questions and one-liners are cheap).
TYPE_DIFFICULTY_PRIOR = {"explain": -1.0, "small_edit": -1.5, "docs": -0.3, "review": -0.2,
                         "plan": 0.5, "refactor": 0.3, "feature": 0.2, "perf": 0.2}
#: Extra logit shift of P(1-4 h or more) only: work that spans modules or plans a change is large by
#: nature (hand-set like the rest; per file beyond the first, at most 4 files counted).
HARD_EXTRA = {"plan": 1.0, "files_per_extra_file": 0.25}
#: Logit shift of task types from the editor context.
TYPE_SIGNAL_BOOST = {"stack_trace": ("bugfix", 1.0), "diagnostics_errors": ("bugfix", 0.5)}


class _Linear:
    """The difficulty model's linear scores over TF-IDF blocks (outputs: tier > 1, tier >= 3)."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.outputs = int(raw.get("outputs", 1))
        self.blocks = [Block(b, self.outputs, idf_in_weights=False) for b in raw["blocks"]]
        self.intercept = [float(x) for x in raw["intercept"]]

    def scores(self, text: str) -> list[float]:
        s = list(self.intercept)
        for block in self.blocks:
            block_scores, _ = block.scores(text)
            if block_scores is not None:
                s = [a + b for a, b in zip(s, block_scores)]
        return s


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _softmax(xs: list[float]) -> list[float]:
    m = max(xs)
    e = [math.exp(x - m) for x in xs]
    s = sum(e)
    return [x / s for x in e]


class LearnedClassifier:
    """Task type and difficulty from linear models trained on real text; pure-Python inference.

    The difficulty model comes from ``weights`` (the parsed JSON), else the file at ``path``, else the
    packaged classifier.json; the task type from ``task_type``, else the packaged task_type.json."""

    def __init__(self, weights: dict[str, Any] | None = None, path: str | Path | None = None,
                 task_type: TaskTypeModel | None = None) -> None:
        self._raw = weights
        self._path = path
        self._type_model = task_type
        self._lock = threading.Lock()
        self._loaded = False
        self.version = ""
        self.name = "learned"

    # -- loading -------------------------------------------------------------------------------
    def _load(self) -> None:
        with self._lock:
            if self._loaded:
                return
            raw = self._raw
            if raw is None:
                if self._path:
                    text = Path(self._path).read_text(encoding="utf-8")
                else:
                    text = resources.files("kilo_lsp.data").joinpath("classifier.json").read_text(encoding="utf-8")
                raw = json.loads(text)
            tt = self._type_model or load_task_type()
            if tt is None:
                raise FileNotFoundError("no task-type model: kilo_lsp/data/task_type.json is not installed")
            self._classes, self._type, self._temperature = tt.classes, tt, tt.temperature
            d = raw["difficulty"]
            self._diff = _Linear(d)                      # outputs: [tier > 1, tier >= 3]
            self._platt = [tuple(p) for p in d["platt"]]
            self._len = d.get("dense", {}).get("log_chars")
            self._tier4_share = float(d.get("tier4_share_of_hard", 0.1))
            self._wtp = float(d.get("routing", {}).get("wtp_usd", 0.0))
            self.version = str(raw.get("version", ""))
            self.name = f"learned/{self.version}" if self.version else "learned"
            if tt.version:
                self.name += f"+{tt.version}"
            self._raw = None
            self._loaded = True

    # -- the protocol --------------------------------------------------------------------------
    def classify(self, item: ClassifyInput) -> Classification:
        if not self._loaded:
            self._load()
        text = item.text or ""
        sig = item.signals or EditorSignals()
        words = len(text.split())
        type_text = text
        if words < 4 and item.previous_text:
            type_text = text + " " + item.previous_text          # short follow-ups lean on the previous turn
        task_type, type_conf, signals = self._task_type(type_text, sig)
        # The type's prior moves the tier of short (type-led) requests only; an issue-length text is
        # read by the difficulty model, whose probabilities are calibrated without it.
        type_led = words < TYPE_LED_WORDS
        p_hard, p_vhard, logit, why = self._difficulty(text, sig, task_type, type_led)
        probs4 = tier_probabilities(p_hard, p_vhard, self._tier4_share)
        tier = most_likely_tier(probs4)
        # P(the tier is right or too high, or one tier too low at worst)
        diff_conf = 1.0 - sum(probs4[tier + 1:])
        # The type enters the confidence only where it carries the tier: in a short request the type's
        # prior (TYPE_DIFFICULTY_PRIOR) is most of what the classifier knows about the tier; an
        # issue-length text is read by the difficulty model itself, and the leaderboard has no
        # type-specific classes, so an unsure type does not make its routing unsure.
        confidence = type_conf * diff_conf if type_led else diff_conf
        signals.extend(why)
        signals.append(Signal("difficulty", f"P(not trivial) = {p_hard:.2f}, P(1-4 h or more) = {p_vhard:.2f}",
                              round(logit, 3)))
        return Classification(
            task_type=task_type, difficulty=tier, confidence=round(confidence, 4),
            type_confidence=round(type_conf, 4), difficulty_confidence=round(diff_conf, 4),
            signals=tuple(signals), classifier=self.name, hard_probability=round(p_hard, 4),
            tier_probabilities=tuple(round(x, 4) for x in probs4), wtp_usd=self._wtp,
        )

    def _task_type(self, type_text: str, sig: EditorSignals) -> tuple[str, float, list[Signal]]:
        """The most likely task type, its probability, and the signals behind it: the editor context's
        boosts, then the words that weigh most for it."""
        scores, parts = self._type.scores(type_text[:TYPE_MAX_CHARS])
        signals: list[Signal] = []
        for key, (cls, boost) in TYPE_SIGNAL_BOOST.items():
            on = sig.has_stack_trace if key == "stack_trace" else sig.diagnostics_errors > 0
            if on and cls in self._classes:
                scores[self._classes.index(cls)] += boost
                signals.append(Signal(key, f"{key.replace('_', ' ')} in the editor context points to {cls}", boost))
        probs = _softmax([s / self._temperature for s in scores])
        k = max(range(len(probs)), key=probs.__getitem__)
        task_type = self._classes[k]
        # top words/n-grams for the predicted type (the word blocks' terms: they read as reasons)
        for c, term in sorted([(v * w[k], term) for _an, term, v, w in parts], reverse=True)[:3]:
            if c > 0:
                signals.append(Signal(f"term:{term}", f"'{term}' suggests {task_type}", round(c, 3)))
        return task_type, probs[k], signals

    def _difficulty(self, text: str, sig: EditorSignals, task_type: str, type_led: bool
                    ) -> tuple[float, float, float, list[Signal]]:
        """(P(tier > 1), P(tier >= 3), the calibrated text logit of the first, the signals that shifted
        them): the text's scores, then the editor context and, for a type-led request, the type's prior."""
        h, v = self._diff.scores(text[:DIFFICULTY_MAX_CHARS])
        if self._len:
            z = (math.log1p(len(text)) - self._len["mean"]) / self._len["std"] * self._len.get("scale", 1.0)
            h += z * self._len["w"][0]
            v += z * self._len["w"][1]
        (a, b), (va, vb) = self._platt
        logit = a * h + b
        shift, why = self._editor_shift(sig)
        prior = TYPE_DIFFICULTY_PRIOR.get(task_type, 0.0) if type_led else 0.0
        if prior:
            why.append(Signal(f"type:{task_type}", f"{task_type} requests are usually "
                              + ("quick" if prior < 0 else "larger"), prior))
        p_hard = _sigmoid(logit + shift + prior)
        extra = (HARD_EXTRA.get(task_type, 0.0) if type_led else 0.0) + HARD_EXTRA["files_per_extra_file"] * (min(max(sig.files_involved, 1), 4) - 1)
        p_vhard = min(p_hard, _sigmoid(va * v + vb + shift + prior + extra))
        return p_hard, p_vhard, logit, why

    @staticmethod
    def _editor_shift(sig: EditorSignals) -> tuple[float, list[Signal]]:
        adj = EDITOR_ADJUSTMENTS
        out: list[Signal] = []
        extra_files = min(max(sig.files_involved, 1), 4) - 1
        if extra_files:
            out.append(Signal("files_involved", f"{sig.files_involved} files involved", adj["files_per_extra_file"] * extra_files))
        if sig.selection_lines > 80:
            out.append(Signal("selection", f"{sig.selection_lines}-line selection", adj["large_selection"]))
        elif 0 < sig.selection_lines <= 5 and sig.files_involved <= 1:
            out.append(Signal("selection", f"small selection ({sig.selection_lines} lines)", adj["tiny_selection"]))
        if sig.diagnostics_errors >= 3:
            out.append(Signal("diagnostics", f"{sig.diagnostics_errors} errors in the diagnostics", adj["diagnostics_errors"]))
        if sig.has_stack_trace:
            out.append(Signal("stack_trace", "a stack trace is in the context", adj["stack_trace"]))
        if sig.conversation_turns >= 4:
            out.append(Signal("conversation", f"{sig.conversation_turns} earlier turns", adj["long_conversation"]))
        if sig.context_tokens > 20_000:
            out.append(Signal("context", f"~{sig.context_tokens} tokens of context", adj["large_context"]))
        return sum(s.weight for s in out), out


def tier_probabilities(p_hard: float, p_vhard: float, tier4_share: float) -> tuple[float, float, float, float]:
    """P(tier 1..4) from P(tier > 1) and P(tier >= 3); tier 4 takes ``tier4_share`` of the hard mass."""
    p_hard = min(max(p_hard, 0.0), 1.0)
    p_vhard = min(max(p_vhard, 0.0), p_hard)
    return (1.0 - p_hard, p_hard - p_vhard, p_vhard * (1.0 - tier4_share), p_vhard * tier4_share)


__all__ = ["LearnedClassifier", "tier_probabilities", "weights_available"]


def weights_available() -> bool:
    """True when the trained weights ship with the package (kilo_lsp/data/classifier.json and
    task_type.json)."""
    try:
        data = resources.files("kilo_lsp.data")
        return data.joinpath("classifier.json").is_file() and data.joinpath(WEIGHTS_FILE).is_file()
    except (FileNotFoundError, ModuleNotFoundError):
        return False
