"""The classifier the sidecar routes with: what a developer typed into an editor, read in its context.

Linear models trained offline by ``training/train_editor.py`` (scikit-learn) and served here in pure
Python from ``kilo_lsp/data/editor.json.gz``:

- the task type (11 classes) and the difficulty (P(tier >= 2), >= 3, >= 4) of the request, from TF-IDF
  word and character n-grams of its text and the dense features of its editor context
  (``features.request_features``: selection size, files involved, a pasted error, diagnostics);
- in a conversation, whether the turn continues the conversation's task and whether it says the
  previous answer failed (``session.py``), which mixes the turn's reading with its task's.
"""

from __future__ import annotations

import gzip
import json
import math
import threading
from importlib import resources
from pathlib import Path
from typing import Any

from ..taxonomy import TASK_TYPES
from .base import Classification, ClassifyInput, EditorSignals, Signal
from .features import REQUEST_FEATURES, request_features
from .session import SessionModel, in_conversation, sigmoid
from .tfidf import Block

WEIGHTS_FILE = "editor.json.gz"     # the weights as JSON, gzipped (a third of the size)
TIER_HEADS = 3               # P(tier >= 2), P(tier >= 3), P(tier >= 4), after the type scores


class EditorClassifier:
    """Type, difficulty and the conversation, from editor.json (``weights``, else ``path``, else the
    packaged file), loaded at the first request."""

    def __init__(self, weights: dict[str, Any] | None = None, path: str | Path | None = None) -> None:
        self._raw = weights
        self._path = path
        self._lock = threading.Lock()
        self._loaded = False
        self.name = "editor"

    def _load(self) -> None:
        with self._lock:
            if self._loaded:
                return
            raw = self._raw
            if raw is None:
                data = (Path(self._path).read_bytes() if self._path else
                        resources.files("kilo_lsp.data").joinpath(WEIGHTS_FILE).read_bytes())
                raw = json.loads(gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data)
            req = raw["request"]
            if list(req["classes"]) != list(TASK_TYPES) or list(req["dense"]) != list(REQUEST_FEATURES):
                raise ValueError("editor.json does not match this version's task types or features")
            self._outputs = int(req["outputs"])
            self._blocks = [Block(b, self._outputs) for b in req["blocks"]]
            self._dense = [[float(x) for x in req["dense"][name]] for name in REQUEST_FEATURES]
            self._intercept = [float(x) for x in req["intercept"]]
            self._type_to_tiers = [[float(x) for x in req["type_to_tiers"][t]] for t in TASK_TYPES]
            self._temperature = float(req["temperature"])
            self._session = SessionModel(raw["session"])
            self.name = f"editor/{raw.get('version', '')}"
            self._raw = None
            self._loaded = True

    # -- the protocol --------------------------------------------------------------------------
    def classify(self, item: ClassifyInput) -> Classification:
        if not self._loaded:
            self._load()
        c = self.read(item.text, item.signals or EditorSignals())
        if item.state is None:
            return c
        reading = self._session.read(item.text, (item.signals or EditorSignals()).has_stack_trace, item.state,
                                     c.type_probabilities)
        return in_conversation(c, item.state, reading)

    def read(self, text: str, signals: EditorSignals) -> Classification:
        """The request on its own: type and tier probabilities from its words and editor context."""
        if not self._loaded:
            self._load()
        features = request_features(text, signals)
        scores = list(self._intercept)
        parts = []
        for block in self._blocks:
            block_scores, block_parts = block.scores(text, explain=True)
            if block_scores is not None:
                scores = [a + b for a, b in zip(scores, block_scores)]
                parts += block_parts
        for x, w in zip(features, self._dense):
            if x:
                scores = [a + x * b for a, b in zip(scores, w)]
        n = len(TASK_TYPES)
        z = [s / self._temperature for s in scores[:n]]
        top = max(z)
        e = [math.exp(x - top) for x in z]
        total = sum(e)
        types = [x / total for x in e]
        k = max(range(n), key=types.__getitem__)
        tier_scores = scores[n:n + TIER_HEADS]
        for p, w in zip(types, self._type_to_tiers):       # the type's own pull on the tier
            tier_scores = [a + p * b for a, b in zip(tier_scores, w)]
        ge = [sigmoid(s) for s in tier_scores]
        ge[1], ge[2] = min(ge[1], ge[0]), min(ge[2], ge[1], ge[0])
        tiers = (1 - ge[0], ge[0] - ge[1], ge[1] - ge[2], ge[2])
        tier = max(range(4), key=lambda i: (tiers[i], -i)) + 1
        tier_conf = 1.0 - sum(tiers[tier + 1:])
        reasons = self._reasons(k, parts, text, signals, features, tiers)
        return Classification(
            task_type=TASK_TYPES[k], difficulty=tier, confidence=round(types[k] * tier_conf, 4),
            type_confidence=round(types[k], 4), difficulty_confidence=round(tier_conf, 4), signals=tuple(reasons),
            classifier=self.name,
            tier_probabilities=tuple(round(x, 4) for x in tiers), type_probabilities=tuple(round(x, 4) for x in types))

    def _reasons(self, k: int, parts: list[Any], text: str, signals: EditorSignals, features: list[float],
                 tiers: tuple[float, ...]) -> list[Signal]:
        """The words that weigh most for the type, the editor context that was read (each with how much
        it moved the expected tier), and the tier probabilities."""
        task_type = TASK_TYPES[k]
        ranked = sorted(((v * w[k], t) for t, v, w in parts), reverse=True)[:3]
        out = [Signal(f"term:{t}", f"'{t}' suggests {task_type}", round(c, 3)) for c, t in ranked if c > 0]
        effect = {name: x * sum(w[len(TASK_TYPES):]) for name, x, w in zip(REQUEST_FEATURES, features, self._dense)}
        sel, files, errors = signals.selection_lines, signals.files_involved, signals.diagnostics_errors
        if files >= 2:
            name = "files:4+" if files >= 4 else f"files:{files}"
            out.append(Signal("files_involved", f"{files} files involved", round(effect[name], 3)))
        if sel:
            band = next(b for b, lo, hi in (("1-5", 1, 5), ("6-30", 6, 30), ("31-80", 31, 80), ("81+", 81, 10**9))
                        if lo <= sel <= hi)
            detail = f"small selection ({sel} lines)" if sel <= 5 else f"{sel}-line selection"
            out.append(Signal("selection", detail, round(effect[f"selection:{band}"], 3)))
        if errors:
            out.append(Signal("diagnostics_errors", f"{errors} errors in the diagnostics",
                              round(effect["diagnostics:any"] + effect["diagnostics:3+"], 3)))
        if signals.has_stack_trace:
            out.append(Signal("stack_trace", "a pasted error or stack trace", round(effect["trace"], 3)))
        out.append(Signal("difficulty", "P(tier 1-4) = " + " / ".join(f"{p:.2f}" for p in tiers),
                          round(sum(p * t for t, p in enumerate(tiers, start=1)), 3)))
        return out


def weights_available() -> bool:
    try:
        return resources.files("kilo_lsp.data").joinpath(WEIGHTS_FILE).is_file()
    except (FileNotFoundError, ModuleNotFoundError):
        return False
