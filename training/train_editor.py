"""Train the editor classifier offline and write its weights and its evaluation.

    python -m training.train_editor [--no-eval] [--out kilo_lsp/data/editor.json.gz]

Three models, served in pure Python by kilo_lsp/classify/editor.py and kilo_lsp/classify/session.py:

- **Task type** of a request from its words and the editor context: multinomial logistic regression
  over TF-IDF word 1-2-grams (the first 1,000 characters), character 2-5-grams (the first 300) and
  the dense features of ``classify.features.request_features`` (selection size, files involved, a
  pasted error, diagnostics, the shape of the text). Data: the written editor requests and the
  new-task turns of the written conversations (training/data), the written examples of
  training/data/extra_examples.jsonl, and a sample of real Conventional-Commit subjects at a low
  weight (their vocabulary of code changes; they do not read like editor chat). Classes are balanced
  over the editor rows; a softmax temperature is fitted on out-of-fold scores.
- **Difficulty** (tiers 1-4): three logistic regressions on the same features for P(tier >= 2),
  P(tier >= 3), P(tier >= 4). Data: the editor rows and the SWE-bench Lite issues that have a human
  difficulty bucket and are not in SWE-bench Verified (the benchmarks' issues stay unseen).
- **The conversation**: two logistic regressions over ``classify.features.continuation_features`` of
  a turn against the previous user turn: P(the turn continues the task) and P(the turn says the
  previous answer failed). Data: the written conversations, plus as many pairs of unrelated written
  requests (a conversation that moves on). The task-type reading of each turn they use comes from
  type models that never saw that turn (out of fold).

Evaluation: 5-fold cross-validation; the written conversations are split by their first turn, so a
conversation and its opener never sit on both sides. Writes kilo_lsp/data/editor.json.gz,
bench/results/editor_classifier.md and .json.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, Sequence

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from scipy.sparse import csr_matrix, hstack  # noqa: E402
from scipy.stats import spearmanr  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, roc_auc_score  # noqa: E402

from kilo_lsp.classify.base import EditorSignals  # noqa: E402
from kilo_lsp.classify.features import (CONTINUATION_FEATURES, REQUEST_FEATURES,  # noqa: E402
                                        continuation_features, request_features)
from kilo_lsp.context import has_stack_trace  # noqa: E402
from kilo_lsp.taxonomy import SWEBENCH_BUCKETS, TASK_TYPES  # noqa: E402
from training import datasets  # noqa: E402
from training.export import export_block, fit_temperature  # noqa: E402

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
RESULTS = datasets.REPO_ROOT / "bench" / "results"
OUT = datasets.REPO_ROOT / "kilo_lsp" / "data" / "editor.json.gz"

WORD = dict(analyzer="word", ngram_range=(1, 2), min_df=2, max_features=20000, sublinear_tf=True)
CHAR = dict(analyzer="char_wb", ngram_range=(2, 5), min_df=3, max_features=15000, sublinear_tf=True)
WORD_CHARS, CHAR_CHARS = 800, 300       # how much of the text each block reads
TYPE_C, DIFFICULTY_C, SESSION_C = 10.0, 1.0, 1.0
#: Share of the written requests trained with a bare editor context (one file, no selection, no
#: diagnostics): the written contexts follow their texts closely (a migration plan "involves" six
#: files), while a real request often comes with little context; the words must carry it too.
BARE_CONTEXT = 0.5
COMMITS, COMMIT_WEIGHT = 12000, 0.2     # commit subjects sampled, and their weight against an editor row
EXTRA_WEIGHT = 1.0
UNRELATED_PAIRS = 800                   # unrelated request pairs added as "a new task" to the conversations
UNRELATED_WEIGHT = 0.25                 # ... at a weight that keeps the written conversations' own balance
QUANT = 2e-3
FOLDS = 5
SEED = 7
OUTPUTS = len(TASK_TYPES) + 3           # the type scores, then P(tier >= 2), >= 3, >= 4
EDITOR_SOURCES = ("editor", "follow_up", "conversation")   # rows written as editor requests


# ---------------------------------------------------------------------------------------------
# data

def _signals(ctx: dict[str, Any], text: str) -> EditorSignals:
    """The editor signals of a written request (a pasted error is also found in its text, as the
    sidecar finds it)."""
    return EditorSignals(selection_lines=int(ctx.get("selection_lines", 0)), files_involved=int(ctx.get("files", 1)),
                         diagnostics_errors=int(ctx.get("diagnostics_errors", 0)),
                         has_stack_trace=bool(ctx.get("trace")) or has_stack_trace(text))


def _conversations() -> list[dict[str, Any]]:
    """The written conversations of both sets (their ids are distinct: c.... and k....)."""
    return [*_jsonl(DATA / "conversations.jsonl"), *_jsonl(DATA / "conversations_writers.jsonl")]


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def load_rows(root: Path | None) -> list[dict[str, Any]]:
    """Every labelled request: text, signals, type (or None), difficulty (or None), weight, group, source."""
    rows: list[dict[str, Any]] = []
    rng = random.Random(SEED)

    def context(ctx: dict[str, Any], text: str) -> EditorSignals:
        return _signals({} if rng.random() < BARE_CONTEXT else ctx, text)

    for name in ("editor_requests.jsonl", "editor_requests_writers.jsonl"):
        for r in _jsonl(DATA / name):
            rows.append(dict(text=r["text"], signals=context(r["context"], r["text"]), type=r["task_type"],
                             difficulty=r["difficulty"], weight=1.0, group=f"request:{r['text']}", source="editor"))
    for r in _jsonl(DATA / "follow_ups.jsonl"):
        if not r["same_task"]:          # a continuing turn's type is its task's, not its text's
            rows.append(dict(text=r["text"], signals=context(r["context"], r["text"]), type=r["task_type"],
                             difficulty=r["difficulty"], weight=1.0, group=f"request:{r['previous'][0]}",
                             source="follow_up"))
    for conv in _conversations():
        for i, t in enumerate(conv["turns"]):
            if i == 0 or not t["labels"]["same_task"]:
                rows.append(dict(text=t["text"], signals=context(t["context"], t["text"]),
                                 type=t["labels"]["task_type"], difficulty=t["labels"]["difficulty"], weight=1.0,
                                 group=f"conversation:{conv['id']}", source="conversation"))
    for r in _jsonl(DATA / "extra_examples.jsonl"):
        rows.append(dict(text=r["text"], signals=EditorSignals(has_stack_trace=has_stack_trace(r["text"])),
                         type=r["task_type"], difficulty=None, weight=EXTRA_WEIGHT, group=f"extra:{r['text']}",
                         source="extra"))
    if root is not None:
        rows += _commit_rows(root) + _issue_rows(root)
    return rows


def _commit_rows(root: Path) -> list[dict[str, Any]]:
    commits = [c for c in datasets.read_commits(root) if datasets.COMMIT_MAP.get(c["type"])]
    random.Random(SEED).shuffle(commits)
    return [dict(text=c["description"], signals=EditorSignals(), type=datasets.COMMIT_MAP[c["type"]], difficulty=None,
                 weight=COMMIT_WEIGHT, group=f"repo:{c['repo']}", source="commit") for c in commits[:COMMITS]]


def _issue_rows(root: Path) -> list[dict[str, Any]]:
    """SWE-bench Lite issues with a human difficulty bucket, except those in SWE-bench Verified."""
    ann_path = root / "swebench_annotations" / "ensembled_annotations_public.csv"
    lite_path = root / "swebench_lite" / "problem_statements.jsonl"
    if not (ann_path.exists() and lite_path.exists()):
        return []
    csv.field_size_limit(1 << 30)
    with open(ann_path, newline="", encoding="utf-8") as f:
        bucket = {r["instance_id"]: r["difficulty"] for r in csv.DictReader(f)}
    verified = {t["task_id"] for t in datasets.read_tasks(root)}
    out = []
    for x in _jsonl(lite_path):
        tier = SWEBENCH_BUCKETS.get(bucket.get(x["instance_id"], ""))
        if tier and x["instance_id"] not in verified:
            text = x["problem_statement"]
            out.append(dict(text=text, signals=EditorSignals(has_stack_trace=has_stack_trace(text)), type=None,
                            difficulty=tier, weight=1.0, group=f"issue:{x['instance_id']}", source="issue"))
    return out


def load_turns() -> list[dict[str, Any]]:
    """Turns against the previous user turn: the written follow-ups and conversations, then unrelated
    request pairs."""
    turns = []
    for r in _jsonl(DATA / "follow_ups.jsonl"):
        prev = r["previous"][-1]
        turns.append(dict(text=r["text"], previous=prev, previous_type=r["previous_type"], same=int(r["same_task"]),
                          failure=int(r["failure"]), trace_now=_signals(r["context"], r["text"]).has_stack_trace,
                          trace_before=has_stack_trace(prev), same_file=None, group=f"request:{r['previous'][0]}"))
    for conv in _conversations():
        ts = conv["turns"]
        for before, t in zip(ts, ts[1:]):
            turns.append(dict(text=t["text"], previous=before["text"], previous_type=before["labels"]["task_type"],
                              same=int(t["labels"]["same_task"]), failure=int(t["labels"]["failure"]),
                              trace_now=_signals(t["context"], t["text"]).has_stack_trace,
                              trace_before=_signals(before["context"], before["text"]).has_stack_trace,
                              same_file=t["context"].get("same_file_as_previous"), group=f"conversation:{conv['id']}"))
    requests = _jsonl(DATA / "editor_requests.jsonl")
    rng = random.Random(SEED)
    for _ in range(UNRELATED_PAIRS):
        a, b = rng.sample(requests, 2)
        turns.append(dict(text=b["text"], previous=a["text"], previous_type=a["task_type"], same=0, failure=0,
                          trace_now=_signals(b["context"], b["text"]).has_stack_trace,
                          trace_before=has_stack_trace(a["text"]), same_file=None, group=f"request:{b['text']}",
                          unrelated=True))
    return turns


def folds_of(groups: Sequence[str], k: int = FOLDS) -> np.ndarray:
    """A fold per group, stable across runs (the hash of the group's name)."""
    return np.array([int(hashlib.sha1(g.encode()).hexdigest(), 16) % k for g in groups])


# ---------------------------------------------------------------------------------------------
# the request model (type and difficulty)

class RequestModel:
    """The TF-IDF blocks, the dense features and the linear heads of type and difficulty. The tier
    heads also read the type probabilities (a rename is quick whatever its words): out-of-fold ones
    when they are trained, the model's own when it is served."""

    def __init__(self, rows: Sequence[dict[str, Any]]) -> None:
        self.word = TfidfVectorizer(**WORD).fit([r["text"][:WORD_CHARS] for r in rows])
        self.char = TfidfVectorizer(**CHAR).fit([r["text"][:CHAR_CHARS] for r in rows])
        self.type = LogisticRegression(C=TYPE_C, max_iter=3000)
        self.tiers = [LogisticRegression(C=DIFFICULTY_C, max_iter=3000) for _ in range(3)]
        self.temperature = 1.0

    def matrix(self, rows: Sequence[dict[str, Any]]) -> Any:
        w = self.word.transform([r["text"][:WORD_CHARS] for r in rows])
        c = self.char.transform([r["text"][:CHAR_CHARS] for r in rows])
        d = csr_matrix(np.array([request_features(r["text"], r["signals"]) for r in rows]))
        return hstack([w, c, d]).tocsr()

    def fit_type(self, X: Any, rows: Sequence[dict[str, Any]]) -> "RequestModel":
        typed = [i for i, r in enumerate(rows) if r["type"]]
        y = np.array([TASK_TYPES.index(rows[i]["type"]) for i in typed])
        w = np.array([rows[i]["weight"] for i in typed])
        editor = np.array([rows[i]["source"] in EDITOR_SOURCES for i in typed])
        counts = Counter(y[editor])      # balanced over the editor rows, which are what it will read
        w = w * np.array([len(y[editor]) / (len(TASK_TYPES) * max(counts.get(k, 1), 1)) for k in y])
        self.type.fit(X[typed], y, sample_weight=w)
        return self

    def fit_tiers(self, X: Any, rows: Sequence[dict[str, Any]], type_probs: np.ndarray) -> "RequestModel":
        graded = [i for i, r in enumerate(rows) if r["difficulty"]]
        d = np.array([rows[i]["difficulty"] for i in graded])
        Xt = hstack([X[graded], csr_matrix(type_probs[graded])]).tocsr()
        for k, model in enumerate(self.tiers):
            model.fit(Xt, (d >= k + 2).astype(int))
        return self

    def type_scores(self, X: Any) -> np.ndarray:
        return self.type.decision_function(X)

    def tier_probs(self, X: Any, type_probs: np.ndarray) -> np.ndarray:
        """P(tier 1..4), from the three cumulative heads made monotone."""
        Xt = hstack([X, csr_matrix(type_probs)]).tocsr()
        ge = np.column_stack([m.predict_proba(Xt)[:, 1] for m in self.tiers])
        ge = np.minimum.accumulate(ge, axis=1)
        return np.column_stack([1 - ge[:, 0], ge[:, 0] - ge[:, 1], ge[:, 1] - ge[:, 2], ge[:, 2]])

    def export(self) -> dict[str, Any]:
        n_word, n_char = len(self.word.vocabulary_), len(self.char.vocabulary_)
        n_text = n_word + n_char + len(REQUEST_FEATURES)
        tier_coef = [m.coef_[0] for m in self.tiers]
        coef = np.vstack([self.type.coef_, *[c[:n_text] for c in tier_coef]]).T    # (features, outputs)
        intercept = [*self.type.intercept_, *[m.intercept_[0] for m in self.tiers]]
        dense = coef[n_word + n_char:]
        return {
            "classes": list(TASK_TYPES), "outputs": OUTPUTS, "temperature": round(self.temperature, 4),
            "intercept": [round(float(x), 5) for x in intercept],
            "blocks": [export_block(self.word, coef[:n_word], QUANT, max_chars=WORD_CHARS),
                       export_block(self.char, coef[n_word:n_word + n_char], QUANT, max_chars=CHAR_CHARS)],
            "dense": {name: [round(float(x), 5) for x in dense[i]] for i, name in enumerate(REQUEST_FEATURES)},
            "type_to_tiers": {t: [round(float(c[n_text + j]), 5) for c in tier_coef] for j, t in enumerate(TASK_TYPES)},
        }


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# ---------------------------------------------------------------------------------------------
# the conversation model

def turn_matrix(turns: Sequence[dict[str, Any]], type_probs: np.ndarray) -> np.ndarray:
    return np.array([continuation_features(t["text"], t["previous"], t["previous_type"], t["trace_now"],
                                           t["trace_before"], dict(zip(TASK_TYPES, p)), t["same_file"])
                     for t, p in zip(turns, type_probs)])


def fit_session(X: np.ndarray, turns: Sequence[dict[str, Any]]) -> tuple[LogisticRegression, LogisticRegression]:
    w = [UNRELATED_WEIGHT if t["group"].startswith("request:") and t.get("unrelated") else 1.0 for t in turns]
    same = LogisticRegression(C=SESSION_C, max_iter=3000).fit(X, [t["same"] for t in turns], sample_weight=w)
    failure = LogisticRegression(C=SESSION_C, max_iter=3000).fit(X, [t["failure"] for t in turns], sample_weight=w)
    return same, failure


def export_session(same: LogisticRegression, failure: LogisticRegression) -> dict[str, Any]:
    return {"features": list(CONTINUATION_FEATURES),
            "continues": {"intercept": round(float(same.intercept_[0]), 5),
                          "w": [round(float(x), 5) for x in same.coef_[0]]},
            "failed": {"intercept": round(float(failure.intercept_[0]), 5),
                       "w": [round(float(x), 5) for x in failure.coef_[0]]}}


# ---------------------------------------------------------------------------------------------
# evaluation and the shipped model

def out_of_fold(rows: list[dict[str, Any]], turns: list[dict[str, Any]]) -> dict[str, Any]:
    """Type scores, the temperature, and tier probabilities of every row, and the type scores of every
    turn, each from a model that never saw it (nor its conversation). The tier heads of each fold read
    the out-of-fold type probabilities of its training rows."""
    fold = folds_of([r["group"] for r in rows])
    tfold = folds_of([t["group"] for t in turns])
    scores = np.zeros((len(rows), len(TASK_TYPES)))
    turn_scores = np.zeros((len(turns), len(TASK_TYPES)))
    models = []
    for k in range(FOLDS):
        t0 = time.time()
        train = [r for r, f in zip(rows, fold) if f != k]
        model = RequestModel(train)
        model.fit_type(model.matrix(train), train)
        scores[fold == k] = model.type_scores(model.matrix([r for r, f in zip(rows, fold) if f == k]))
        tt = [dict(text=t["text"], signals=EditorSignals(has_stack_trace=t["trace_now"])) for t, f in zip(turns, tfold)
              if f == k]
        turn_scores[tfold == k] = model.type_scores(model.matrix(tt))
        models.append(model)
        print(f"  fold {k}: {time.time() - t0:.0f} s", flush=True)
    typed = np.array([r["type"] is not None for r in rows])
    temperature = fit_temperature(scores[typed], np.array([TASK_TYPES.index(r["type"]) for r in rows if r["type"]]))
    probs = _softmax(scores / temperature)
    tiers = np.zeros((len(rows), 4))
    for k, model in enumerate(models):
        train = [r for r, f in zip(rows, fold) if f != k]
        model.fit_tiers(model.matrix(train), train, probs[fold != k])
        tiers[fold == k] = model.tier_probs(model.matrix([r for r, f in zip(rows, fold) if f == k]), probs[fold == k])
    return {"fold": fold, "scores": scores, "probs": probs, "temperature": temperature, "tiers": tiers,
            "turn_scores": turn_scores, "tfold": tfold}


def evaluate(rows: list[dict[str, Any]], turns: list[dict[str, Any]], oof: dict[str, Any]) -> dict[str, Any]:
    temperature = oof["temperature"]
    m: dict[str, Any] = {"temperature": temperature, "rows": dict(Counter(r["source"] for r in rows))}
    editor = [i for i, r in enumerate(rows) if r["source"] in EDITOR_SOURCES]
    y = np.array([TASK_TYPES.index(rows[i]["type"]) for i in editor])
    pred = oof["scores"][editor].argmax(axis=1)
    m["type"] = {"n": len(editor), "accuracy": round(float(accuracy_score(y, pred)), 4),
                 "macro_f1": round(float(f1_score(y, pred, average="macro")), 4),
                 "per_class_f1": {t: round(float(x), 3) for t, x in
                                  zip(TASK_TYPES, f1_score(y, pred, average=None, labels=range(len(TASK_TYPES))))},
                 "confusion": confusion_matrix(y, pred, labels=range(len(TASK_TYPES))).tolist()}
    for source in ("editor", "conversation", "issue"):
        idx = [i for i, r in enumerate(rows) if r["source"] == source and r["difficulty"]]
        if not idx:
            continue
        d = np.array([rows[i]["difficulty"] for i in idx])
        p = oof["tiers"][idx]
        expected = p @ np.arange(1, 5)
        tier = p.argmax(axis=1) + 1
        m[f"difficulty_{source}"] = {
            "n": len(idx), "spearman": round(float(spearmanr(expected, d).correlation), 4),
            "exact": round(float((tier == d).mean()), 4), "within_one": round(float((abs(tier - d) <= 1).mean()), 4),
            "auc_not_trivial": round(float(roc_auc_score(d > 1, p[:, 1:].sum(axis=1))), 4),
            "predicted": dict(Counter(int(x) for x in tier)), "confusion": confusion_matrix(d, tier, labels=[1, 2, 3, 4]).tolist()}
    probs = _softmax(oof["turn_scores"] / temperature)
    X = turn_matrix(turns, probs)
    same_p, fail_p = np.zeros(len(turns)), np.zeros(len(turns))
    for k in range(FOLDS):
        train, test = oof["tfold"] != k, oof["tfold"] == k
        s, f = fit_session(X[train], [t for t, on in zip(turns, train) if on])
        same_p[test], fail_p[test] = s.predict_proba(X[test])[:, 1], f.predict_proba(X[test])[:, 1]
    ys, yf = np.array([t["same"] for t in turns]), np.array([t["failure"] for t in turns])
    m["continues"] = {"n": len(turns), "auc": round(float(roc_auc_score(ys, same_p)), 4),
                      "accuracy": round(float(((same_p >= 0.5) == ys).mean()), 4),
                      "accuracy_written": round(float(((same_p >= 0.5) == ys)[:len(turns) - UNRELATED_PAIRS].mean()), 4),
                      "accuracy_conversations": round(float(((same_p >= 0.5) == ys)[
                          [t["group"].startswith("conversation:") for t in turns]].mean()), 4)}
    m["failed"] = {"n": int(yf.sum()), "auc": round(float(roc_auc_score(yf, fail_p)), 4)}
    return m


def write_report(m: dict[str, Any], path: Path) -> None:
    t = m["type"]
    lines = ["# Editor classifier: cross-validated figures", "",
             "`python -m training.train_editor` (5 folds; written conversations split by their first turn).",
             "Training rows by source: " + ", ".join(f"{k} {v}" for k, v in sorted(m["rows"].items())) + ".", "",
             f"**Task type** on the written editor requests and new-task turns ({t['n']}): accuracy "
             f"{t['accuracy']:.3f}, macro-F1 {t['macro_f1']:.3f}; temperature {m['temperature']:.2f}.", "",
             "| type | " + " | ".join(TASK_TYPES) + " |", "|---|" + "---|" * len(TASK_TYPES),
             "| F1 | " + " | ".join(f"{t['per_class_f1'][k]:.2f}" for k in TASK_TYPES) + " |", ""]
    for source, label in (("editor", "written editor requests"), ("conversation", "written conversations' new tasks"),
                          ("issue", "SWE-bench Lite issues (not Verified)")):
        d = m.get(f"difficulty_{source}")
        if d:
            lines += [f"**Difficulty** on the {label} ({d['n']}): Spearman {d['spearman']:.3f} (expected tier against "
                      f"the label), exact tier {d['exact']:.3f}, within one tier {d['within_one']:.3f}, AUC of "
                      f"P(not trivial) {d['auc_not_trivial']:.3f}; predicted tiers "
                      + ", ".join(f"{k}: {v}" for k, v in sorted(d["predicted"].items())) + ".", ""]
    c, f = m["continues"], m["failed"]
    lines += [f"**Continues the task** ({c['n']} turns, {UNRELATED_PAIRS} of them unrelated request pairs): AUC "
              f"{c['auc']:.3f}, accuracy {c['accuracy']:.3f} ({c['accuracy_written']:.3f} on the written "
              f"turns alone, {c['accuracy_conversations']:.3f} on the whole conversations). **Says the previous answer failed** ({f['n']} such turns): AUC {f['auc']:.3f}.", ""]
    path.write_text("\n".join(lines), encoding="utf-8")


def fit_all(rows: list[dict[str, Any]], turns: list[dict[str, Any]], oof: dict[str, Any]) -> dict[str, Any]:
    """The served weights: the request model on every row (its tier heads on the out-of-fold type
    probabilities), the conversation models on every turn."""
    model = RequestModel(rows)
    X = model.matrix(rows)
    model.fit_type(X, rows).fit_tiers(X, rows, oof["probs"])
    model.temperature = oof["temperature"]
    probs = _softmax(oof["turn_scores"] / model.temperature)
    same, failure = fit_session(turn_matrix(turns, probs), turns)
    weights: dict[str, Any] = {"request": model.export(), "session": export_session(same, failure)}
    body = json.dumps(weights, sort_keys=True, separators=(",", ":"))
    weights["version"] = "ed-" + hashlib.sha256(body.encode()).hexdigest()[:12]
    return weights


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-eval", action="store_true")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    root = datasets.data_dir()
    rows, turns = load_rows(root), load_turns()
    print(f"{len(rows)} rows, {len(turns)} turns", flush=True)
    oof = out_of_fold(rows, turns)
    metrics = evaluate(rows, turns, oof)
    if not args.no_eval:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "editor_classifier.json").write_text(json.dumps(metrics, indent=1), encoding="utf-8")
        write_report(metrics, RESULTS / "editor_classifier.md")
    weights = fit_all(rows, turns, oof)
    body = (json.dumps(weights, separators=(",", ":")) + "\n").encode("utf-8")
    args.out.write_bytes(gzip.compress(body, mtime=0) if args.out.suffix == ".gz" else body)   # mtime 0: same weights, same bytes
    print(json.dumps({k: v for k, v in metrics.items() if k != "type"}, indent=1)[:3000])
    print("type", {k: metrics["type"][k] for k in ("accuracy", "macro_f1")}, f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
