"""Train the learned classifier's difficulty model offline and write its weights and its evaluation.

    python -m training.train_classifier [--no-eval] [--out kilo_lsp/data/classifier.json]

Difficulty: SWE-bench Verified issue texts labelled with the human bucket (tier > 1 and tier >= 3),
plus the SWE-bench Lite issues that OpenAI's annotators bucketed and that are not in Verified
(never scored, so usable in every fold). Evaluated with the routing benchmark's folds
(int(sha1(task_id), 16) % 5); Platt calibration is fitted on inner folds of the training part only.
Never reads gold patches or the annotation scores. The file also carries the bill dial's willingness
to pay (training/policy_calibration.py). The task type is trained apart, by
training/train_task_type.py (kilo_lsp/data/task_type.json).

Writes kilo_lsp/data/classifier.json, bench/results/classifier.md and bench/results/classifier.json.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any, Sequence

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402
from scipy.sparse import hstack  # noqa: E402
from scipy.stats import spearmanr  # noqa: E402

from training import datasets  # noqa: E402
from kilo_lsp.classify.learned import DIFFICULTY_MAX_CHARS  # noqa: E402
from kilo_lsp.taxonomy import SWEBENCH_BUCKETS  # noqa: E402

RESULTS = datasets.REPO_ROOT / "bench" / "results"
OUT = datasets.REPO_ROOT / "kilo_lsp" / "data" / "classifier.json"

DIFF_WORD = dict(analyzer="word", ngram_range=(1, 2), min_df=2, max_features=6000, sublinear_tf=True)
DIFF_C = 3.0
DENSE_SCALE = 1.0
QUANT = 1e-3              # weight quantum in the JSON file


# ---------------------------------------------------------------------------------------------
# data

def load_difficulty_data(root: Path) -> tuple[list[dict[str, Any]], list[tuple[str, int]]]:
    """Verified tasks (id, text, tier) and extra (text, tier) from Lite issues annotated by OpenAI."""
    tasks = [dict(t, tier=SWEBENCH_BUCKETS[t["difficulty"]]) for t in datasets.read_tasks(root)
             if t.get("difficulty") in SWEBENCH_BUCKETS]
    extra: list[tuple[str, int]] = []
    ann_path = root / "swebench_annotations" / "ensembled_annotations_public.csv"
    lite_path = root / "swebench_lite" / "problem_statements.jsonl"
    if ann_path.exists() and lite_path.exists():
        csv.field_size_limit(1 << 30)
        with open(ann_path, newline="", encoding="utf-8") as f:
            bucket = {r["instance_id"]: r["difficulty"] for r in csv.DictReader(f)}   # the label only
        verified = {t["task_id"] for t in tasks}
        with open(lite_path, encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                x = json.loads(line)
                tier = SWEBENCH_BUCKETS.get(bucket.get(x["instance_id"], ""))
                if tier and x["instance_id"] not in verified:
                    extra.append((x["problem_statement"], tier))
    return tasks, extra


# ---------------------------------------------------------------------------------------------
# export

def export_block(vec: TfidfVectorizer, w: np.ndarray, quant: float = QUANT, **extra: Any) -> dict[str, Any]:
    """One TF-IDF block as served by the sidecar. w: (n_terms, outputs) in the vectorizer's column
    order; weights stored as integers of ``quant``; terms with all-zero rows dropped; ``extra`` keys
    (a block's source, its max_chars) are added as given."""
    vocab = vec.vocabulary_
    terms = sorted(vocab, key=vocab.get)
    q = np.rint(w / quant).astype(int)
    keep = [i for i in range(len(terms)) if q[i].any()]
    return {"analyzer": vec.analyzer, "ngram": list(vec.ngram_range), "scale": quant, **extra,
            "terms": [terms[i] for i in keep], "idf": [round(float(vec.idf_[i]), 4) for i in keep],
            "w": [int(x) for i in keep for x in q[i]]}


# ---------------------------------------------------------------------------------------------
# difficulty

def _dense(texts: Sequence[str]) -> np.ndarray:
    return np.log1p(np.array([len(t) for t in texts], float)).reshape(-1, 1)


def _fit_two(texts: Sequence[str], tiers: np.ndarray) -> dict[str, Any]:
    cut = [t[:DIFFICULTY_MAX_CHARS] for t in texts]
    vec = TfidfVectorizer(**DIFF_WORD)
    X = vec.fit_transform(cut)
    d = _dense(texts)
    mu, sd = float(d.mean()), float(d.std() or 1.0)
    Z = hstack([X, (d - mu) / sd * DENSE_SCALE]).tocsr()
    clfs = [LogisticRegression(C=DIFF_C, max_iter=2000, class_weight="balanced").fit(Z, (tiers >= cut_tier).astype(int))
            for cut_tier in (2, 3)]
    return {"vec": vec, "clfs": clfs, "mu": mu, "sd": sd, "platt": [(1.0, 0.0), (1.0, 0.0)]}


def _raw_scores(model: dict[str, Any], texts: Sequence[str]) -> np.ndarray:
    X = model["vec"].transform([t[:DIFFICULTY_MAX_CHARS] for t in texts])
    Z = hstack([X, (_dense(texts) - model["mu"]) / model["sd"] * DENSE_SCALE]).tocsr()
    return np.stack([c.decision_function(Z) for c in model["clfs"]], 1)


def fit_difficulty(texts: Sequence[str], tiers: Sequence[int], inner_groups: Sequence[int]) -> dict[str, Any]:
    """Word TF-IDF (+ log length) logistic regressions for tier > 1 and tier >= 3, Platt-calibrated
    on the scores of inner folds (the training part only)."""
    tiers = np.asarray(tiers)
    model = _fit_two(texts, tiers)
    g = np.asarray(inner_groups)
    oof = np.zeros((len(tiers), 2))
    for k in sorted(set(g)):
        tr, te = np.where(g != k)[0], np.where(g == k)[0]
        m = _fit_two([texts[i] for i in tr], tiers[tr])
        oof[te] = _raw_scores(m, [texts[i] for i in te])
    for j, cut_tier in enumerate((2, 3)):
        cal = LogisticRegression(C=1e6, max_iter=1000).fit(oof[:, j:j + 1], (tiers >= cut_tier).astype(int))
        model["platt"][j] = (float(cal.coef_[0, 0]), float(cal.intercept_[0]))
    a = np.array([p[0] for p in model["platt"]])
    b = np.array([p[1] for p in model["platt"]])
    model["oof_probs"] = 1.0 / (1.0 + np.exp(-(oof * a + b)))      # out-of-fold P(tier>1), P(tier>=3)
    return model


def difficulty_probs(model: dict[str, Any], texts: Sequence[str]) -> np.ndarray:
    s = _raw_scores(model, texts)
    a = np.array([p[0] for p in model["platt"]])
    b = np.array([p[1] for p in model["platt"]])
    return 1.0 / (1.0 + np.exp(-(s * a + b)))


def export_difficulty(model: dict[str, Any]) -> dict[str, Any]:
    vec = model["vec"]
    coef = np.stack([c.coef_[0] for c in model["clfs"]], 1)          # (n_terms + 1, 2)
    return {"outputs": 2, "intercept": [round(float(c.intercept_[0]), 5) for c in model["clfs"]],
            "platt": [[round(a, 5), round(b, 5)] for a, b in model["platt"]],
            "dense": {"log_chars": {"mean": round(model["mu"], 5), "std": round(model["sd"], 5),
                                    "scale": DENSE_SCALE, "w": [round(float(x), 5) for x in coef[-1]]}},
            "blocks": [export_block(vec, coef[:-1])]}


def train_difficulty(tasks: Sequence[dict[str, Any]], extra: Sequence[tuple[str, int]] = ()) -> dict[str, Any]:
    """The difficulty part of classifier.json, trained on the given tasks (dicts with task_id, text, tier)."""
    texts = [t["text"] for t in tasks] + [x[0] for x in extra]
    tiers = np.array([t["tier"] for t in tasks] + [x[1] for x in extra])
    inner = [int(hashlib.sha1(t.encode("utf-8")).hexdigest(), 16) % 4
             for t in [t["task_id"] for t in tasks] + [f"extra-{i}" for i in range(len(extra))]]
    model = fit_difficulty(texts, tiers, inner)
    n_hard = int((tiers >= 3).sum())
    oof = model["oof_probs"][:len(tasks)]
    return {
        "_model": model,
        "_oof": {t["task_id"]: (float(p[0]), float(min(p[0], p[1]))) for t, p in zip(tasks, oof)},
        "json": dict(export_difficulty(model), tier4_share_of_hard=round(float((tiers == 4).sum()) / max(1, n_hard), 4)),
    }


def _difficulty_with_routing(root: Path, tasks, extra) -> dict[str, Any]:
    """The shipped difficulty block plus the bill dial's willingness to pay (training/policy_calibration.py)."""
    from training.policy_calibration import shipped_routing
    trained = train_difficulty(tasks, extra)
    return dict(trained["json"], routing=shipped_routing(root, trained))


def ece(p: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    p, y = np.asarray(p, float), np.asarray(y, float)
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            total += m.sum() / len(p) * abs(p[m].mean() - y[m].mean())
    return float(total)


def evaluate_difficulty(tasks, extra) -> dict[str, Any]:
    fold = np.array([datasets.fold_of(t["task_id"]) for t in tasks])
    tiers = np.array([t["tier"] for t in tasks])
    p_hard = np.zeros(len(tasks))
    p_vhard = np.zeros(len(tasks))
    for k in range(5):
        train = [t for t, f in zip(tasks, fold) if f != k]
        test = [t["text"] for t, f in zip(tasks, fold) if f == k]
        p = difficulty_probs(train_difficulty(train, extra)["_model"], test)
        p_hard[fold == k] = p[:, 0]
        p_vhard[fold == k] = np.minimum(p[:, 0], p[:, 1])
    score = p_hard + p_vhard
    return {
        "n": int(len(tasks)), "n_extra_training": len(extra),
        "spearman_vs_bucket": float(spearmanr(score, tiers).correlation),
        "auc_trivial_vs_rest": float(roc_auc_score(tiers > 1, p_hard)),
        "auc_hard_vs_rest": float(roc_auc_score(tiers >= 3, p_vhard)),
        "ece_p_not_trivial": ece(p_hard, tiers > 1),
        "mean_p_not_trivial": float(p_hard.mean()), "share_not_trivial": float((tiers > 1).mean()),
        "predicted_tier_counts": {str(t): int(c) for t, c in zip(*np.unique(np.where(p_vhard >= 0.5, 3, np.where(p_hard >= 0.5, 2, 1)), return_counts=True))},
    }


# ---------------------------------------------------------------------------------------------

def write_report(metrics: dict[str, Any], path_md: Path) -> None:
    d = metrics["difficulty"]
    lines = ["# Classifier evaluation", "",
             f"Produced by `make bench-classifier` (`python -m training.train_classifier`), weights `{metrics['version']}`,"
             f" file size {metrics['size_bytes'] / 1e6:.2f} MB. The task-type model is evaluated in "
             "[task_type.md](task_type.md) (`python -m training.train_task_type`).", "",
             "## Difficulty (SWE-bench Verified issues, routing-benchmark folds)", "",
             f"5 folds by int(sha1(task_id)) % 5 over {d['n']} issues; each fold's model is trained on the other four "
             f"plus {d['n_extra_training']} annotated SWE-bench Lite issues that are not in Verified.", "",
             "| metric | value | reference (TF-IDF + ridge) | target |", "|---|---:|---:|---:|",
             f"| Spearman (P(not trivial) + P(hard)) vs human bucket | {d['spearman_vs_bucket']:.3f} | 0.24 | >= 0.35 |",
             f"| AUC, \"<15 min\" vs the rest | {d['auc_trivial_vs_rest']:.3f} | 0.64 | >= 0.72 |",
             f"| AUC, 1-4 h and > 4 h vs the rest | {d['auc_hard_vs_rest']:.3f} | | |",
             f"| ECE of P(not trivial), 10 bins | {d['ece_p_not_trivial']:.3f} | | |",
             f"| mean P(not trivial) / share not trivial | {d['mean_p_not_trivial']:.2f} / {d['share_not_trivial']:.2f} | | |", "",
             f"Predicted tiers on held-out issues: {d['predicted_tier_counts']}.", ""]
    if "latency" in metrics:
        lat = metrics["latency"]
        lines += ["## Latency", "", f"classify() in pure Python, {lat['n']} calls: p50 {lat['p50_ms']:.3f} ms, "
                  f"p99 {lat['p99_ms']:.3f} ms (bench/classifier_latency.py).", ""]
    path_md.write_text("\n".join(lines), encoding="utf-8")


def write_weights(weights: dict[str, Any], out: Path) -> str:
    """Version the weights ('clf-' + 12 hex of sha256 over their content) and write them; the text."""
    body = json.dumps(weights, sort_keys=True, separators=(",", ":"))
    weights["version"] = "clf-" + hashlib.sha256(body.encode("utf-8")).hexdigest()[:12]
    text = json.dumps(weights, separators=(",", ":"), ensure_ascii=False)
    out.write_text(text + "\n", encoding="utf-8")
    return text


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="train the learned classifier's difficulty model")
    ap.add_argument("--no-eval", action="store_true", help="skip the cross-validated evaluation")
    ap.add_argument("--out", default=str(OUT))
    ap.add_argument("--data", default=None)
    args = ap.parse_args(argv)
    root = Path(args.data) if args.data else datasets.data_dir()
    t0 = time.time()
    tasks, dextra = load_difficulty_data(root)
    metrics: dict[str, Any] = {}
    if not args.no_eval:
        metrics["difficulty"] = evaluate_difficulty(tasks, dextra)
        print(f"difficulty: {metrics['difficulty']}", file=sys.stderr)
    weights = {"format": 1, "difficulty": _difficulty_with_routing(root, tasks, dextra),
               "trained_on": {"difficulty": f"{len(tasks)} SWE-bench Verified + {len(dextra)} SWE-bench Lite issues"}}
    text = write_weights(weights, Path(args.out))
    print(f"wrote {args.out}: {len(text) / 1e6:.2f} MB, {weights['version']} ({time.time() - t0:.0f}s)", file=sys.stderr)
    if not args.no_eval:
        metrics["version"] = weights["version"]
        metrics["size_bytes"] = len(text)
        try:
            from bench.classifier_latency import measure
            metrics["latency"] = measure(Path(args.out))
        except Exception as exc:  # pragma: no cover - latency is informative only
            print(f"latency not measured: {exc}", file=sys.stderr)
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "classifier.json").write_text(json.dumps(metrics, indent=1) + "\n", encoding="utf-8")
        write_report(metrics, RESULTS / "classifier.md")
    return 0

if __name__ == "__main__":
    raise SystemExit(main())
