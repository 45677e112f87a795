"""Latency of the shipped classifier's classify() in pure Python: p50 / p99 over realistic requests.

    python -m bench.classifier_latency

Inputs: editor-style requests (short), and the first 2,000 characters of real issue texts when the
data is present (long requests with pasted code and tracebacks). Weights are loaded before timing.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kilo_lsp.classify.base import ClassifyInput, EditorSignals  # noqa: E402
from kilo_lsp.classify.base import Classifier, TaskState  # noqa: E402
from kilo_lsp.routing.engine import default_classifier  # noqa: E402

REQUESTS = [
    "rename foo to bar in utils.py", "why does this function return None?",
    "plan the migration of this module to async", "fix the crash when the list is empty",
    "add unit tests for parse_date", "implement pagination for the users endpoint",
    "make this loop faster", "update the README with install instructions",
    "review this diff", "set up GitHub Actions to run pytest on push",
    "refactor this class to use composition instead of inheritance",
    "TypeError: 'NoneType' object is not subscriptable when calling load_config() with an empty file",
]


def _timed(clf: Classifier, inputs: list[ClassifyInput], rounds: int) -> dict:
    times = []
    for _ in range(max(1, rounds * 24 // len(inputs))):
        for item in inputs:
            t0 = time.perf_counter()
            clf.classify(item)
            times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return {"n": len(times), "p50_ms": round(statistics.median(times), 3),
            "p99_ms": round(times[int(0.99 * (len(times) - 1))], 3), "max_ms": round(times[-1], 3),
            "inputs": len(inputs)}


def measure(rounds: int = 200) -> dict:
    """p50/p99 over all inputs, and per group: editor-length requests (alone and as a turn of a
    conversation), and issue texts (when the data is present)."""
    clf = default_classifier()
    editor = [ClassifyInput(t) for t in REQUESTS]
    editor += [ClassifyInput(t, EditorSignals(selection_lines=40, files_involved=3, has_stack_trace=True)) for t in REQUESTS]
    state = TaskState("bugfix", 2, REQUESTS[-1], True)
    editor += [ClassifyInput(t, state=state) for t in REQUESTS]
    issues: list[ClassifyInput] = []
    try:
        from training import datasets
        root = datasets.data_dir(download=False)
        if root is not None:
            issues = [ClassifyInput(t["text"][:2000]) for t in datasets.read_tasks(root)[:100]]
    except Exception:
        pass
    clf.classify(editor[0])                      # load the weights outside the timing
    out = _timed(clf, editor + issues, rounds)   # all inputs together, as the trainers report it
    out["groups"] = {"editor requests": _timed(clf, editor, rounds)}
    if issues:
        out["groups"]["issue texts (first 2,000 characters)"] = _timed(clf, issues, rounds)
    return out


if __name__ == "__main__":
    print(json.dumps(measure(), indent=1))
