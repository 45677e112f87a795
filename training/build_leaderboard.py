"""Build ``kilo_lsp/data/leaderboard.json`` from measured benchmark outcomes.

    python -m training.build_leaderboard [--out PATH] [--confidence 0.9]

Evidence per model and task class (see training/README.md, "What the leaderboard numbers mean"):

- ``solved`` / ``n`` / ``rate``: tasks of the class the model resolved, tasks of the class, and the ratio;
- ``ci_low`` / ``ci_high``: two-sided Wilson score interval at ``confidence_level``;
- ``cost_per_request``: mean measured API cost (USD) per task of the class, failures included;
- ``vs_balanced`` / ``vs_best``: paired difference of rates against the Balanced model and against the
  best model of the class, on the same tasks, with Newcombe's hybrid score interval for paired
  proportions (Newcombe 1998, "Improved confidence intervals for the difference between binomial
  proportions based on paired data", method 10), at ``confidence_level`` two-sided.

Classes are ``*:1`` .. ``*:4`` (any task type, by difficulty tier). SWE-bench Verified has only 3
tasks in tier 4 (> 4 h), so ``*:4`` pools tiers 3 and 4 and says so in its label and ``tiers``.
No type-specific classes: the only per-type evidence at hand (LiveCodeBench code generation) shares
two older models with this matrix, too few to route on.

The builder is also a function, ``build(outcomes_rows, tasks, prices, task_ids=None)``, so the
routing benchmark can build a leaderboard on training folds only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from collections import defaultdict
from pathlib import Path
from statistics import NormalDist
from typing import Any, Iterable

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from training import datasets  # noqa: E402
from kilo_lsp.taxonomy import ANY_TYPE, DIFFICULTY_LABELS, SWEBENCH_BUCKETS, class_key  # noqa: E402

SCHEMA = 1
BALANCED = "claude-sonnet-4-5"
FRONTIER = "claude-opus-4-5"
SOURCE_NAME = "swebench-verified/mini-swe-agent"

#: Tier classes and the human tiers whose tasks back them (sparse tier 4 pooled with tier 3).
CLASS_TIERS: dict[int, tuple[int, ...]] = {1: (1,), 2: (2,), 3: (3,), 4: (3, 4)}
MIN_TASKS_PER_CLASS = 20


def _or(slug: str) -> dict[str, str]:
    return {"openrouter": slug, "kilo": slug}


#: benchmark folder -> router id, display name, maker, provider routes (provider -> id at provider).
CATALOGUE: dict[str, dict[str, Any]] = {
    "20251124_mini-v1.16.0_claude-opus-4-5-20251101": dict(
        id="claude-opus-4-5", name="Claude Opus 4.5", maker="anthropic",
        routes={"anthropic": "claude-opus-4-5-20251101", **_or("anthropic/claude-opus-4.5")}),
    "20251118_mini-v1.15.0_gemini-3-pro-preview-20251118": dict(
        id="gemini-3-pro", name="Gemini 3 Pro (preview)", maker="google",
        routes={"google": "gemini-3-pro-preview", **_or("google/gemini-3-pro-preview")}),
    "20250929_mini-v1.13.3_sonnet-4-5-20250929": dict(
        id="claude-sonnet-4-5", name="Claude Sonnet 4.5", maker="anthropic",
        routes={"anthropic": "claude-sonnet-4-5-20250929", **_or("anthropic/claude-sonnet-4.5")}),
    "20250802_mini-v1.0.0_claude-4-opus-20250514": dict(
        id="claude-opus-4", name="Claude Opus 4", maker="anthropic",
        routes={"anthropic": "claude-opus-4-20250514", **_or("anthropic/claude-opus-4")}),
    "20251124_mini-v1.16.0_gpt-5.1-codex": dict(
        id="gpt-5-1-codex", name="GPT-5.1 Codex", maker="openai",
        routes={"openai": "gpt-5.1-codex", **_or("openai/gpt-5.1-codex")}),
    "20251120_mini-v1.15.0_gpt-5.1-2025-11-13": dict(
        id="gpt-5-1", name="GPT-5.1", maker="openai",
        routes={"openai": "gpt-5.1-2025-11-13", **_or("openai/gpt-5.1")}),
    "20250807_mini-v1.7.0_gpt-5": dict(
        id="gpt-5", name="GPT-5", maker="openai",
        routes={"openai": "gpt-5-2025-08-07", **_or("openai/gpt-5")}),
    "20250726_mini-v1.0.0_claude-sonnet-4-20250514": dict(
        id="claude-sonnet-4", name="Claude Sonnet 4", maker="anthropic",
        routes={"anthropic": "claude-sonnet-4-20250514", **_or("anthropic/claude-sonnet-4")}),
    "20251124_mini-v1.17.0_minimax-m2": dict(
        id="minimax-m2", name="MiniMax M2", maker="minimax",
        routes={"minimax": "MiniMax-M2", **_or("minimax/minimax-m2")}),
    "20251201_mini-v1.17.1_deepseek-v3.2-reasoner": dict(
        id="deepseek-v3-2-reasoner", name="DeepSeek V3.2 (reasoner)", maker="deepseek",
        routes={"deepseek": "deepseek-reasoner", **_or("deepseek/deepseek-v3.2")}),
    "20250807_mini-v1.7.0_gpt-5-mini": dict(
        id="gpt-5-mini", name="GPT-5 mini", maker="openai",
        routes={"openai": "gpt-5-mini-2025-08-07", **_or("openai/gpt-5-mini")}),
    "20250726_mini-v1.0.0_o3-2025-04-16": dict(
        id="o3", name="o3", maker="openai",
        routes={"openai": "o3-2025-04-16", **_or("openai/o3")}),
    "20251209_mini-v1.17.2_devstral-small-2512": dict(
        id="devstral-small-2512", name="Devstral Small (2512)", maker="mistral",
        routes={"mistral": "devstral-small-2512", **_or("mistralai/devstral-small-2512")}),
    "20250802_mini-v1.0.0_qwen3-coder-480b-a35b-instruct": dict(
        id="qwen3-coder-480b", name="Qwen3-Coder 480B A35B", maker="qwen",
        routes={"qwen": "qwen3-coder-480b-a35b-instruct", **_or("qwen/qwen3-coder")}),
    "20251201_mini-v1.17.1_glm-4.6": dict(
        id="glm-4-6", name="GLM-4.6", maker="zai",
        routes={"zai": "glm-4.6", **_or("z-ai/glm-4.6")}),
    "20250822_mini-v1.9.1_glm-4.5": dict(
        id="glm-4-5", name="GLM-4.5", maker="zai",
        routes={"zai": "glm-4.5", **_or("z-ai/glm-4.5")}),
    "20251209_mini-v1.17.2_devstral-2512": dict(
        id="devstral-2512", name="Devstral 2 (2512)", maker="mistral",
        routes={"mistral": "devstral-2512", **_or("mistralai/devstral-2512")}),
    "20250726_mini-v1.0.0_gemini-2.5-pro": dict(
        id="gemini-2-5-pro", name="Gemini 2.5 Pro", maker="google",
        routes={"google": "gemini-2.5-pro", **_or("google/gemini-2.5-pro")}),
    "20250726_mini-v1.0.0_o4-mini-2025-04-16": dict(
        id="o4-mini", name="o4-mini", maker="openai",
        routes={"openai": "o4-mini-2025-04-16", **_or("openai/o4-mini")}),
    "20250807_mini-v1.7.0_kimi-k2-instruct": dict(
        id="kimi-k2-instruct", name="Kimi K2 Instruct (0711)", maker="moonshot",
        routes={"moonshot": "kimi-k2-0711-preview", **_or("moonshotai/kimi-k2")}),
    "20250807_mini-v1.7.0_gpt-5-nano": dict(
        id="gpt-5-nano", name="GPT-5 nano", maker="openai",
        routes={"openai": "gpt-5-nano-2025-08-07", **_or("openai/gpt-5-nano")}),
    "20250807_mini-v1.7.0_gpt-oss-120b": dict(
        id="gpt-oss-120b", name="gpt-oss-120b", maker="openai",
        routes={"groq": "openai/gpt-oss-120b", **_or("openai/gpt-oss-120b")}),
    "20250720_mini-v0.0.0-Llama-4-Maverick-17B-Instruct": dict(
        id="llama-4-maverick", name="Llama 4 Maverick 17B 128E Instruct", maker="meta",
        routes={"groq": "meta-llama/llama-4-maverick-17b-128e-instruct", **_or("meta-llama/llama-4-maverick")}),
    "20250803_mini-v1.0.0_qwen2-5-coder-32b-instruct": dict(
        id="qwen2-5-coder-32b", name="Qwen2.5-Coder 32B Instruct", maker="qwen",
        routes={"qwen": "qwen2.5-coder-32b-instruct", **_or("qwen/qwen-2.5-coder-32b-instruct")}),
}


def router_id(folder: str) -> str:
    """The router's id of a benchmark folder (unknown folders get a cleaned-up folder name)."""
    entry = CATALOGUE.get(folder)
    if entry:
        return entry["id"]
    tail = folder.split("_", 2)[-1]
    return "".join(ch if ch.isalnum() else "-" for ch in tail.lower()).strip("-")


# ---------------------------------------------------------------------------------------------
# statistics

def _z(confidence: float) -> float:
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def wilson(solved: int, n: int, confidence: float = 0.9) -> tuple[float, float]:
    """Two-sided Wilson score interval of a binomial proportion."""
    if n == 0:
        return 0.0, 1.0
    z = _z(confidence)
    p = solved / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def paired_newcombe(a: int, b: int, c: int, d: int, confidence: float = 0.9) -> tuple[float, float, float]:
    """Difference p1 - p2 of paired proportions with Newcombe's hybrid score interval (method 10).

    a: both solved, b: only the first solved, c: only the second solved, d: neither.
    Returns (delta, low, high).
    """
    n = a + b + c + d
    if n == 0:
        return 0.0, -1.0, 1.0
    p1, p2 = (a + b) / n, (a + c) / n
    l1, u1 = wilson(a + b, n, confidence)
    l2, u2 = wilson(a + c, n, confidence)
    den = (a + b) * (c + d) * (a + c) * (b + d)
    phi = (a * d - b * c) / math.sqrt(den) if den > 0 else 0.0
    delta = p1 - p2
    dl = math.sqrt(max(0.0, (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2))
    du = math.sqrt(max(0.0, (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2))
    return delta, max(-1.0, delta - dl), min(1.0, delta + du)


def _r(x: float, nd: int = 4) -> float:
    return round(float(x), nd)


# ---------------------------------------------------------------------------------------------
# the builder

def build(outcomes_rows: Iterable[dict[str, Any]], tasks: Iterable[dict[str, Any]], prices: Iterable[dict[str, Any]],
          task_ids: Iterable[str] | None = None, *, confidence_level: float = 0.9,
          balanced: str = BALANCED, frontier: str = FRONTIER,
          input_hashes: dict[str, str] | None = None) -> dict[str, Any]:
    """The leaderboard JSON (a dict ``kilo_lsp.leaderboard.model.parse`` accepts).

    outcomes_rows: dicts with task_id, model (benchmark folder), resolved (0/1), cost_usd.
    tasks: dicts with task_id and difficulty (a SWE-bench bucket such as "<15 min fix").
    prices: dicts with benchmark_model, input, output, cached_input (None -> input), context_window.
    task_ids: restrict the evidence to these tasks (training folds), None for all.
    input_hashes: sha256 of the input files, folded into the version (the CLI passes them).
    """
    tier_of = task_tiers(tasks, task_ids)
    outcome = model_outcomes(outcomes_rows, tier_of)
    folder_of, models_json = model_entries(outcome, prices)
    for role, mid in (("balanced", balanced), ("frontier", frontier)):
        if mid not in folder_of:
            raise ValueError(f"{role} model {mid!r} has no outcomes")
    classes: dict[str, Any] = {}
    for cls_tier, tiers in CLASS_TIERS.items():
        entry = task_class(cls_tier, tiers, tier_of, {mid: outcome[f] for mid, f in folder_of.items()},
                           balanced, confidence_level)
        if entry is not None:
            classes[class_key(ANY_TYPE, cls_tier)] = entry

    as_of = max((f[:8] for f in folder_of.values() if f[:8].isdigit()), default="")
    lb: dict[str, Any] = {
        "schema": SCHEMA,
        "version": "",
        "built_at": f"{as_of[:4]}-{as_of[4:6]}-{as_of[6:]}" if as_of else "",
        "confidence_level": confidence_level,
        "balanced": balanced,
        "frontier": frontier,
        "paired_ci_method": "newcombe-hybrid-score (Newcombe 1998, method 10), two-sided",
        "rate_ci_method": "wilson, two-sided",
        "n_tasks": len(tier_of),
        "models": models_json,
        "classes": classes,
        "sources": [dict(v, file=k) for k, v in datasets.SOURCES.items() if k != datasets.COMMITS],
    }
    lb["version"] = version_of(lb, input_hashes)
    return lb


#: folder (or router id) -> task -> (resolved, cost)
Runs = dict[str, tuple[int, float]]


def task_tiers(tasks: Iterable[dict[str, Any]], task_ids: Iterable[str] | None) -> dict[str, int]:
    """task -> human tier (1..4), for the tasks with a bucket (and among ``task_ids`` when given)."""
    keep = set(task_ids) if task_ids is not None else None
    tier_of: dict[str, int] = {}
    for t in tasks:
        if keep is not None and t["task_id"] not in keep:
            continue
        tier = SWEBENCH_BUCKETS.get(t.get("difficulty") or "")
        if tier:
            tier_of[t["task_id"]] = tier
    return tier_of


def model_outcomes(outcomes_rows: Iterable[dict[str, Any]], tier_of: dict[str, int]) -> dict[str, Runs]:
    """benchmark folder -> its runs on the tiered tasks (dropped models left out)."""
    outcome: dict[str, Runs] = defaultdict(dict)
    for r in outcomes_rows:
        if r["model"] in datasets.DROPPED_MODELS or r["task_id"] not in tier_of:
            continue
        outcome[r["model"]][r["task_id"]] = (int(r["resolved"]), float(r["cost_usd"]))
    if not outcome:
        raise ValueError("no outcomes for the selected tasks")
    return outcome


def model_entries(outcome: dict[str, Runs], prices: Iterable[dict[str, Any]]
                  ) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """(router id -> benchmark folder, the leaderboard's model entries in router-id order)."""
    price_of = {p["benchmark_model"]: p for p in prices}
    folder_of: dict[str, str] = {}
    models_json: list[dict[str, Any]] = []
    for folder in sorted(outcome, key=lambda f: router_id(f)):
        mid = router_id(folder)
        if mid in folder_of:
            raise ValueError(f"two benchmark runs map to router id {mid!r}: {folder_of[mid]}, {folder}")
        folder_of[mid] = folder
        cat = CATALOGUE.get(folder, {})
        p = price_of.get(folder)
        if p is None:
            raise ValueError(f"no price for {folder}")
        runs = outcome[folder]
        solved_all = sum(v[0] for v in runs.values())
        models_json.append({
            "id": mid, "name": cat.get("name", mid), "maker": cat.get("maker", p.get("provider", "")),
            "prices": {"input": p["input"], "output": p["output"],
                       "cached_input": p["cached_input"] if p.get("cached_input") is not None else p["input"]},
            "context_window": int(p.get("context_window") or 128_000),
            "routes": dict(cat.get("routes", {})),
            "benchmark_ids": [folder],
            # optional, informative: the whole-benchmark figures of this run
            "benchmark": {"solved": solved_all, "n": len(runs), "cost_usd": _r(sum(v[1] for v in runs.values()), 2)},
        })
    return folder_of, models_json


def task_class(cls_tier: int, tiers: tuple[int, ...], tier_of: dict[str, int], runs_of: dict[str, Runs],
               balanced: str, confidence_level: float) -> dict[str, Any] | None:
    """The class of tier ``cls_tier`` backed by the tasks of ``tiers`` (runs_of: router id -> runs);
    None when it has no task."""
    ids = sorted(t for t, tier in tier_of.items() if tier in tiers)
    if not ids:
        return None
    counts = {t: sum(1 for x in ids if tier_of[x] == t) for t in tiers}
    evid, vec = class_evidence(ids, runs_of, confidence_level)
    best = max(evid, key=lambda m: (evid[m]["solved"] / evid[m]["n"], -evid[m]["cost_per_request"]))
    for mid, e in evid.items():
        for key, ref in (("vs_balanced", balanced), ("vs_best", best)):
            if mid == ref:
                e[key] = {"delta": 0.0, "ci_low": 0.0, "ci_high": 0.0}
            elif mid in vec and ref in vec:
                e[key] = paired_difference(vec[mid], vec[ref], confidence_level)
    label = DIFFICULTY_LABELS[cls_tier]
    if len(tiers) > 1:
        parts = ", ".join(f"{counts[t]} tier-{t}" for t in tiers)
        label += f" - pooled with its neighbour: {parts} tasks ({counts[cls_tier]} of its own)"
    return {
        "label": label, "source": SOURCE_NAME, "n_tasks": len(ids), "tiers": list(tiers),
        "pooled": len(tiers) > 1, "sparse": counts.get(cls_tier, 0) < MIN_TASKS_PER_CLASS,
        "best": best, "models": dict(sorted(evid.items())),
    }


def class_evidence(ids: list[str], runs_of: dict[str, Runs], confidence_level: float
                   ) -> tuple[dict[str, dict[str, Any]], dict[str, list[int]]]:
    """(router id -> solved, n, rate with its Wilson interval, mean cost on the class's tasks;
    router id -> resolved per task, for the models that ran every task of the class)."""
    vec: dict[str, list[int]] = {}
    evid: dict[str, dict[str, Any]] = {}
    for mid, runs in runs_of.items():
        have = [t for t in ids if t in runs]
        if not have:
            continue
        solved = sum(runs[t][0] for t in have)
        n = len(have)
        lo, hi = wilson(solved, n, confidence_level)
        evid[mid] = {"solved": solved, "n": n, "rate": _r(solved / n), "ci_low": _r(lo), "ci_high": _r(hi),
                     "cost_per_request": _r(sum(runs[t][1] for t in have) / n, 5)}
        if len(have) == len(ids):
            vec[mid] = [runs[t][0] for t in ids]
    return evid, vec


def paired_difference(x: list[int], y: list[int], confidence_level: float) -> dict[str, Any]:
    """Rate of x minus rate of y on the same tasks, Newcombe's interval, and the discordant counts."""
    a = sum(1 for i, j in zip(x, y) if i and j)
    b = sum(1 for i, j in zip(x, y) if i and not j)
    c = sum(1 for i, j in zip(x, y) if j and not i)
    d = len(x) - a - b - c
    delta, lo, hi = paired_newcombe(a, b, c, d, confidence_level)
    return {"delta": _r(delta), "ci_low": _r(lo), "ci_high": _r(hi), "discordant": [b, c]}


def version_of(lb: dict[str, Any], input_hashes: dict[str, str] | None = None) -> str:
    """'lb-' + 12 hex of sha256 over the canonical content (minus version) and the input files' hashes."""
    body = {k: v for k, v in lb.items() if k != "version"}
    h = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8"))
    for name, digest in sorted((input_hashes or {}).items()):
        h.update(f"\n{name}:{digest}".encode("utf-8"))
    return "lb-" + h.hexdigest()[:12]


def build_from_dir(root: Path, confidence_level: float = 0.9, task_ids: Iterable[str] | None = None) -> dict[str, Any]:
    inputs = (datasets.OUTCOMES, datasets.TASKS, datasets.PRICES) + datasets.LITELLM_PRICES
    hashes = {name: datasets.file_sha256(root / name) for name in inputs if (root / name).exists()}
    return build(datasets.read_outcomes(root), datasets.read_tasks(root), datasets.read_prices(root),
                 task_ids=task_ids, confidence_level=confidence_level, input_hashes=hashes)


def dumps(lb: dict[str, Any]) -> str:
    return json.dumps(lb, indent=1, sort_keys=False, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(datasets.REPO_ROOT / "kilo_lsp" / "data" / "leaderboard.json"))
    ap.add_argument("--confidence", type=float, default=0.9)
    ap.add_argument("--data", default=None, help="data folder (default: $KILO_DATA_DIR, ../shared/data, download)")
    args = ap.parse_args(argv)
    root = Path(args.data) if args.data else datasets.data_dir()
    lb = build_from_dir(root, args.confidence)
    from kilo_lsp.leaderboard.model import parse
    parsed = parse(lb)
    Path(args.out).write_text(dumps(lb), encoding="utf-8")
    print(f"{parsed.version}: {len(parsed.models)} models, classes "
          + ", ".join(f"{k} (n={c.n_tasks}, best {c.best})" for k, c in parsed.classes.items())
          + f" -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
