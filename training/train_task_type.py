"""Train the task-type model offline and write its weights and its evaluation.

    python -m training.train_task_type [--no-eval] [--out kilo_lsp/data/task_type.json]

Data: commit subjects of 25 repositories (commits/commits.csv), the author's Conventional-Commit type
mapped onto the taxonomy (fix->bugfix, feat->feature, docs->docs, refactor+style->refactor, test->test,
perf->perf, build+ci+chore->build; revert is dropped), plus training/data/extra_examples.jsonl for explain,
plan, review and small_edit (repeated so they weigh as a small repository).

Model: TF-IDF blocks (word 1-2-grams and char_wb n-grams of the description; the words of the commit
scope as a separate block) -> multinomial log-loss linear model (SGD, balanced class weights), then
per-class bias offsets that maximise macro-F1 and a softmax temperature, both fitted on inner folds of
the training part only. Served in pure Python by kilo_lsp/classify/task_type.py.

Evaluation: 5-fold GroupKFold with whole repositories held out. The headline figure feeds the model what
it reads at inference from a commit subject (scope + description); the same models are also scored on
the description alone (what an editor request looks like: no scope). Commit size (files changed,
insertions, deletions) is measured as an ablation only and is not shipped: an editor request has no
size before the work is done.

Writes kilo_lsp/data/task_type.json, bench/results/task_type.md and bench/results/task_type.json.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import re
import sys
import time
from pathlib import Path
from typing import Any, Sequence

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from scipy.sparse import hstack  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.linear_model import SGDClassifier  # noqa: E402
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score  # noqa: E402
from sklearn.model_selection import GroupKFold  # noqa: E402

from training import datasets  # noqa: E402
from training.train_classifier import ece, export_block  # noqa: E402
from kilo_lsp.taxonomy import TASK_TYPES  # noqa: E402

HERE = Path(__file__).resolve().parent
EXTRA = HERE / "data" / "extra_examples.jsonl"
RESULTS = datasets.REPO_ROOT / "bench" / "results"
OUT = datasets.REPO_ROOT / "kilo_lsp" / "data" / "task_type.json"

COMMIT_MAP, COMMIT_CLASSES = datasets.COMMIT_MAP, datasets.COMMIT_CLASSES

MAX_CHARS = 300           # the description is cut here (intent sits at the start; keeps p99 low)
CONFIG: dict[str, Any] = {
    "word": dict(analyzer="word", ngram_range=(1, 2), min_df=3, max_features=20000),
    "char": dict(analyzer="char_wb", ngram_range=(3, 5), min_df=5, max_features=12000),
    "char_max_chars": 120,
    "scope": dict(analyzer="word", ngram_range=(1, 1), min_df=5, max_features=2000),
    "alpha": 2e-5,
    "epochs": 12,
}
EXTRA_REPEAT = 8
QUANT = 2e-3             # weight quantum in the JSON file (keeps it well under 2 MB)
INNER_FOLDS = 3
NO_SCOPE_MODEL = False    # also train and score a model that never saw scopes (doubles the run time)


# ---------------------------------------------------------------------------------------------
# data

def load_commits(root: Path) -> list[dict[str, Any]]:
    out = []
    with open(root / datasets.COMMITS, newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            t = COMMIT_MAP.get(r["type"])
            if t and r["description"].strip():
                out.append({"text": r["description"], "scope": r["scope"], "label": t, "repo": r["repo"],
                            "size": (float(r["files_changed"] or 0), float(r["insertions"] or 0),
                                     float(r["deletions"] or 0))})
    return out


def load_extra() -> list[dict[str, Any]]:
    out = []
    with open(EXTRA, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                e = json.loads(line)
                assert e["task_type"] in TASK_TYPES, e
                out.append({"text": e["text"], "scope": "", "label": e["task_type"], "repo": "_extra"})
    return out


def scope_text(scope: str) -> str:
    return " ".join(re.findall(r"\w+", scope))


# ---------------------------------------------------------------------------------------------
# model

class TypeModel:
    """Vectorizers + SGD log-loss model + bias offsets + temperature."""

    def __init__(self, config: dict[str, Any], use_scope: bool = True) -> None:
        self.config = config
        self.use_scope = use_scope
        self.bias: np.ndarray | None = None
        self.temperature = 1.0

    def _blocks(self) -> list[tuple[str, TfidfVectorizer]]:
        c = self.config
        out = [("text", TfidfVectorizer(**c["word"], sublinear_tf=True, dtype=np.float32))]
        if c.get("char"):
            out.append(("char", TfidfVectorizer(**c["char"], sublinear_tf=True, dtype=np.float32)))
        if self.use_scope and c.get("scope"):
            out.append(("scope", TfidfVectorizer(**c["scope"], sublinear_tf=True, dtype=np.float32)))
        return out

    def _inputs(self, rows: Sequence[dict[str, Any]], source: str, with_scope: bool = True) -> list[str]:
        if source == "scope":
            return [scope_text(r["scope"]) if with_scope else "" for r in rows]
        if source == "char":
            return [r["text"][:MAX_CHARS][:self.config["char_max_chars"]] for r in rows]
        return [r["text"][:MAX_CHARS] for r in rows]

    def fit(self, rows: Sequence[dict[str, Any]]) -> "TypeModel":
        self.vecs = self._blocks()
        X = hstack([v.fit_transform(self._inputs(rows, s)) for s, v in self.vecs]).tocsr()
        self.clf = SGDClassifier(loss="log_loss", alpha=self.config["alpha"], class_weight="balanced",
                                 max_iter=self.config["epochs"], tol=None, random_state=0)
        self.clf.fit(X, [r["label"] for r in rows])
        self.classes = list(self.clf.classes_)
        return self

    def raw_scores(self, rows: Sequence[dict[str, Any]], with_scope: bool = True) -> np.ndarray:
        X = hstack([v.transform(self._inputs(rows, s, with_scope)) for s, v in self.vecs]).tocsr()
        return self.clf.decision_function(X)

    def scores(self, rows: Sequence[dict[str, Any]], with_scope: bool = True) -> np.ndarray:
        s = self.raw_scores(rows, with_scope)
        return s + self.bias if self.bias is not None else s


def fit_temperature(scores: np.ndarray, y_idx: np.ndarray, steps: int = 41) -> float:
    """The softmax temperature in [0.2, 5] (``steps`` on a log grid) minimising the log loss."""
    best, best_t = 1e18, 1.0
    for t in np.exp(np.linspace(np.log(0.2), np.log(5.0), steps)):
        z = scores / t
        z = z - z.max(1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(1, keepdims=True))
        nll = -logp[np.arange(len(y_idx)), y_idx].mean()
        if nll < best:
            best, best_t = nll, float(t)
    return best_t


def macro_f1_idx(y_idx: np.ndarray, pred_idx: np.ndarray, k7: Sequence[int]) -> float:
    f = []
    for k in k7:
        tp = np.sum((pred_idx == k) & (y_idx == k))
        p = np.sum(pred_idx == k)
        t = np.sum(y_idx == k)
        f.append(0.0 if tp == 0 else 2 * tp / (p + t))
    return float(np.mean(f))


def tune_bias(scores: np.ndarray, y_idx: np.ndarray, k7: Sequence[int], passes: int = 3) -> np.ndarray:
    """Per-class additive offsets (on the 7 commit classes) maximising macro-F1, coordinate ascent."""
    bias = np.zeros(scores.shape[1])
    grid = np.linspace(-2.0, 2.0, 41)
    best = macro_f1_idx(y_idx, scores.argmax(1), k7)
    for _ in range(passes):
        improved = False
        for k in k7:
            keep = bias[k]
            for b in grid:
                bias[k] = b
                f = macro_f1_idx(y_idx, (scores + bias).argmax(1), k7)
                if f > best + 1e-6:
                    best, keep, improved = f, b, True
            bias[k] = keep
        if not improved:
            break
    return bias


def fit_full(rows: list[dict[str, Any]], extra: list[dict[str, Any]], config: dict[str, Any],
             use_scope: bool = True, tune: bool = True, log: str = "") -> TypeModel:
    """Fit on commit rows + extra; bias offsets and temperature from inner repository folds."""
    model = TypeModel(config, use_scope).fit(rows + extra * EXTRA_REPEAT)
    if not tune:
        return model
    groups = [r["repo"] for r in rows]
    oof = np.zeros((len(rows), len(model.classes)))
    for k, (tr, te) in enumerate(GroupKFold(INNER_FOLDS).split(rows, groups=groups)):
        t0 = time.time()
        m = TypeModel(config, use_scope).fit([rows[i] for i in tr] + extra * EXTRA_REPEAT)
        assert m.classes == model.classes
        oof[te] = m.raw_scores([rows[i] for i in te])
        print(f"  {log} inner fold {k}: {time.time() - t0:.0f}s", file=sys.stderr, flush=True)
    y_idx = np.array([model.classes.index(r["label"]) for r in rows])
    k7 = [model.classes.index(c) for c in COMMIT_CLASSES]
    model.bias = tune_bias(oof, y_idx, k7)
    model.temperature = fit_temperature(oof + model.bias, y_idx, steps=61)
    model.inner_macro_f1 = (macro_f1_idx(y_idx, oof.argmax(1), k7), macro_f1_idx(y_idx, (oof + model.bias).argmax(1), k7))
    return model


# ---------------------------------------------------------------------------------------------
# evaluation

def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def summarise(labels: np.ndarray, scores: np.ndarray, classes: list[str], temperature: float) -> dict[str, Any]:
    pred = np.array(classes)[scores.argmax(1)]
    p = _softmax(scores / temperature)
    top = p.max(1)
    correct = (pred == labels).astype(float)
    order = list(COMMIT_CLASSES) + [c for c in classes if c not in COMMIT_CLASSES]
    f = f1_score(labels, pred, labels=list(COMMIT_CLASSES), average=None)
    return {
        "macro_f1_7": float(f.mean()),
        "accuracy": float(accuracy_score(labels, pred)),
        "per_class_f1": {c: round(float(x), 4) for c, x in zip(COMMIT_CLASSES, f)},
        "confusion_labels": order,
        "confusion": confusion_matrix(labels, pred, labels=order)[:len(COMMIT_CLASSES)].tolist(),
        "ece_top_class": ece(top, correct),
        "mean_confidence": float(top.mean()),
    }


def evaluate(rows: list[dict[str, Any]], extra: list[dict[str, Any]], config: dict[str, Any]) -> dict[str, Any]:
    labels = np.array([r["label"] for r in rows])
    groups = [r["repo"] for r in rows]
    variants = {"scope+description": (True, True), "description only (no scope)": (True, False)}
    if NO_SCOPE_MODEL:
        variants["description only, model trained without scope"] = (False, False)
    out: dict[str, Any] = {"n": len(rows), "repos": len(set(groups)), "folds": []}
    scores = {v: None for v in variants}
    raw = {v: None for v in variants}
    temps = {v: [] for v in variants}
    classes = None
    for k, (tr, te) in enumerate(GroupKFold(5).split(rows, groups=groups)):
        t0 = time.time()
        test = [rows[i] for i in te]
        held = sorted(set(groups[i] for i in te))
        models = {}
        for name, (use_scope, with_scope) in variants.items():
            if use_scope not in models:
                models[use_scope] = fit_full([rows[i] for i in tr], extra, config, use_scope, log=f"fold {k}")
            m = models[use_scope]
            classes = m.classes
            if scores[name] is None:
                scores[name] = np.zeros((len(rows), len(classes)))
                raw[name] = np.zeros((len(rows), len(classes)))
            raw[name][te] = m.raw_scores(test, with_scope)
            scores[name][te] = raw[name][te] + m.bias
            temps[name].append(m.temperature)
        out["folds"].append({"held_out": held, "n": len(te), "bias": models[True].bias.round(3).tolist(),
                             "temperature": models[True].temperature, "inner_macro_f1_before_after_bias":
                             [round(x, 4) for x in models[True].inner_macro_f1]})
        print(f"fold {k}: {len(held)} repos held out, {time.time() - t0:.0f}s", file=sys.stderr, flush=True)
    # scores of each held-out fold get the temperature fitted inside its own training part
    fold_of = np.zeros(len(rows), int)
    for k, (_tr, te) in enumerate(GroupKFold(5).split(rows, groups=groups)):
        fold_of[te] = k
    out["classes"] = classes
    out["variants"] = {}
    for name in variants:
        t = np.array(temps[name])[fold_of][:, None]
        s = summarise(labels, scores[name] * 1.0, classes, 1.0)
        p = _softmax(scores[name] / t)
        pred = np.array(classes)[p.argmax(1)]
        s["ece_top_class"] = ece(p.max(1), (pred == labels).astype(float))
        s["mean_confidence"] = float(p.max(1).mean())
        s["ece_uncalibrated_T1"] = summarise(labels, scores[name], classes, 1.0)["ece_top_class"]
        nb = summarise(labels, raw[name], classes, 1.0)
        s["without_bias_offsets"] = {"macro_f1_7": nb["macro_f1_7"], "accuracy": nb["accuracy"]}
        out["variants"][name] = s
    return out


# ---------------------------------------------------------------------------------------------
# export

def export(model: TypeModel) -> dict[str, Any]:
    coef = model.clf.coef_
    blocks = []
    offset = 0
    for source, vec in model.vecs:
        n = len(vec.vocabulary_)
        extra: dict[str, Any] = {"source": "scope" if source == "scope" else "text"}
        if source == "char":
            extra["max_chars"] = model.config["char_max_chars"]
        blocks.append(export_block(vec, coef[:, offset:offset + n].T, QUANT, **extra))
        offset += n
    bias = model.bias if model.bias is not None else np.zeros(len(model.classes))
    return {"format": 1, "classes": model.classes, "max_chars": MAX_CHARS,
            "intercept": [round(float(a + b), 5) for a, b in zip(model.clf.intercept_, bias)],
            "bias_offsets": [round(float(b), 4) for b in bias],
            "temperature": round(model.temperature, 4), "blocks": blocks}


# ---------------------------------------------------------------------------------------------
# report

def write_report(m: dict[str, Any], path: Path) -> None:
    L = ["# Task-type model evaluation", "",
         f"Produced by `python -m training.train_task_type`; weights `{m.get('version', '?')}` "
         f"(kilo_lsp/data/task_type.json, {m.get('size_bytes', 0) / 1e6:.2f} MB).", "",
         f"5-fold GroupKFold over {m['n']:,} commit subjects of {m['repos']} repositories: every repository is "
         "wholly in one held-out fold. Bias offsets and the softmax temperature of each fold's model are fitted on "
         f"{INNER_FOLDS} inner repository folds of its training part only.", "",
         "What the model reads: the commit description (cut to 300 characters) and the scope words as a separate "
         "block. An editor request has no scope, so the description-only rows are the figure to expect there. "
         "Commit size is not an input (unknown before the change).", ""]
    L += _variants_section(m["variants"])
    if m.get("ablations"):
        L += _ablations_section(m["ablations"])
    L += _folds_section(m["folds"])
    if "latency" in m:
        L += _latency_section(m["latency"], m.get("latency_split"))
    L.append("")
    path.write_text("\n".join(L), encoding="utf-8")


def _variants_section(variants: dict[str, Any]) -> list[str]:
    """The headline table (one row per input variant), then each variant's per-class F1 and confusion."""
    L = ["| input at evaluation | macro-F1 (7 classes) | accuracy | macro-F1 without bias offsets | ECE (top class) |",
         "|---|---:|---:|---:|---:|"]
    for name, v in variants.items():
        L.append(f"| {name} | {v['macro_f1_7']:.3f} | {v['accuracy']:.3f} | {v['without_bias_offsets']['macro_f1_7']:.3f} "
                 f"| {v['ece_top_class']:.3f} (T=1: {v['ece_uncalibrated_T1']:.3f}) |")
    L += ["", "Reference: TF-IDF word 1-2-grams + LR on the description: macro-F1 0.51, accuracy 0.57; "
          "previous shipped type model (classifier.json): 0.525 / 0.582. Target >= 0.60.", ""]
    for name, v in variants.items():
        L += [f"## {name}", "", "Per-class F1: " + ", ".join(f"{c} {x:.2f}" for c, x in v["per_class_f1"].items()), "",
              "Confusion matrix (rows: author's type, columns: predicted):", "",
              "| true \\ predicted | " + " | ".join(v["confusion_labels"]) + " |",
              "|---|" + "---:|" * len(v["confusion_labels"])]
        for c, row in zip(COMMIT_CLASSES, v["confusion"]):
            L.append(f"| {c} | " + " | ".join(str(x) for x in row) + " |")
        L.append("")
    return L


def _ablations_section(ablations: list[dict[str, Any]]) -> list[str]:
    L = ["## Ablations (same folds, no bias offsets unless stated)", "", "Measured while choosing the inputs (word/char/scope/body/size variants, balanced SGD); recorded in bench/results/task_type.json by hand, not re-run by this script.", "", "| variant | macro-F1 | accuracy |", "|---|---:|---:|"]
    for a in ablations:
        L.append(f"| {a['name']} | {a['macro_f1_7']:.3f} | {a['accuracy']:.3f} |")
    L.append("")
    return L


def _folds_section(folds: list[dict[str, Any]]) -> list[str]:
    L = ["## Per fold", "", "| held-out repositories | n | inner macro-F1 before / after bias | temperature |", "|---|---:|---:|---:|"]
    for f in folds:
        L.append(f"| {', '.join(f['held_out'])} | {f['n']} | {f['inner_macro_f1_before_after_bias'][0]:.3f} / "
                 f"{f['inner_macro_f1_before_after_bias'][1]:.3f} | {f['temperature']:.2f} |")
    return L


def _latency_section(lat: dict[str, Any], split: dict[str, Any] | None) -> list[str]:
    L = ["", "## Latency", "", f"LearnedClassifier.classify() with this type model, pure Python, {lat['n']} calls: "
         f"p50 {lat['p50_ms']:.3f} ms, p99 {lat['p99_ms']:.3f} ms (bench/classifier_latency.py: editor requests and "
         "the first 2,000 characters of 100 issue texts; classify() includes the difficulty model)."]
    if split:
        L += ["", f"Split by input length (load average {split.get('load_average', 0):.1f} on a 2-core machine):", "",
              "| type model | editor requests p50 / p99 | 2,000-char issue texts p50 / p99 |", "|---|---:|---:|"]
        for name, v in split.items():
            if isinstance(v, dict):
                e, i = v["editor_requests"], v["issue_texts_2000_chars"]
                L.append(f"| {name} | {e['p50_ms']:.3f} / {e['p99_ms']:.3f} ms | {i['p50_ms']:.3f} / {i['p99_ms']:.3f} ms |")
        L += ["", "The char_wb block reads only the first 120 characters, the word block the first 300; the extra cost on "
              "long texts is the char block and the scope parse."]
    return L


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="train the task-type model")
    ap.add_argument("--no-eval", action="store_true")
    ap.add_argument("--out", default=str(OUT))
    ap.add_argument("--data", default=None)
    args = ap.parse_args(argv)
    root = Path(args.data) if args.data else datasets.data_dir()
    t0 = time.time()
    rows, extra = load_commits(root), load_extra()
    metrics: dict[str, Any] = {"config": json.loads(json.dumps(CONFIG, default=list)), "extra_examples": len(extra)}
    if not args.no_eval:
        metrics.update(evaluate(rows, extra, CONFIG))
        print(f"eval: {json.dumps({k: v['macro_f1_7'] for k, v in metrics['variants'].items()})} "
              f"({time.time() - t0:.0f}s)", file=sys.stderr)
    model = fit_full(rows, extra, CONFIG, use_scope=True, log="final")
    weights = export(model)
    weights["trained_on"] = f"{len(rows)} commit subjects (25 repos) + {len(extra)} written examples"
    body = json.dumps(weights, sort_keys=True, separators=(",", ":"))
    weights["version"] = "tt-" + hashlib.sha256(body.encode("utf-8")).hexdigest()[:12]
    text = json.dumps(weights, separators=(",", ":"), ensure_ascii=False)
    Path(args.out).write_text(text + "\n", encoding="utf-8")
    print(f"wrote {args.out}: {len(text) / 1e6:.2f} MB, {weights['version']} ({time.time() - t0:.0f}s)", file=sys.stderr)
    if not args.no_eval:
        metrics["version"] = weights["version"]
        metrics["size_bytes"] = len(text)
        metrics["final_bias_offsets"] = dict(zip(model.classes, weights["bias_offsets"]))
        metrics["final_temperature"] = weights["temperature"]
        try:
            from bench.classifier_latency import measure
            metrics["latency"] = measure()
        except Exception as exc:  # pragma: no cover
            print(f"latency not measured: {exc}", file=sys.stderr)
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "task_type.json").write_text(json.dumps(metrics, indent=1) + "\n", encoding="utf-8")
        write_report(metrics, RESULTS / "task_type.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
