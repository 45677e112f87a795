"""The leaderboard builder on a tiny synthetic matrix whose figures can be checked by hand,
and the shipped leaderboard against a rebuild from the real data (skipped when it is absent)."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from training import datasets  # noqa: E402
from training.build_leaderboard import build, build_from_dir, paired_newcombe, wilson  # noqa: E402
from kilo_lsp.leaderboard.model import load, parse  # noqa: E402

SONNET = "20250929_mini-v1.13.3_sonnet-4-5-20250929"
OPUS = "20251124_mini-v1.16.0_claude-opus-4-5-20251101"
CHEAP = "20251201_mini-v1.17.1_deepseek-v3.2-reasoner"

# tier 1: t1, t2; tier 2: t3, t4; tier 4: t5 (pooled with tier 3, which has none here)
TASKS = [
    {"task_id": "t1", "difficulty": "<15 min fix"},
    {"task_id": "t2", "difficulty": "<15 min fix"},
    {"task_id": "t3", "difficulty": "15 min - 1 hour"},
    {"task_id": "t4", "difficulty": "15 min - 1 hour"},
    {"task_id": "t5", "difficulty": ">4 hours"},
]
RESOLVED = {  # model -> resolved per task t1..t5
    SONNET: (1, 0, 1, 0, 0),
    OPUS: (1, 1, 1, 1, 1),
    CHEAP: (0, 1, 0, 0, 0),
}
COST = {SONNET: 0.5, OPUS: 1.0, CHEAP: 0.02}
PRICES = [
    {"benchmark_model": SONNET, "input": 3.0, "output": 15.0, "cached_input": 0.3, "context_window": 200_000},
    {"benchmark_model": OPUS, "input": 5.0, "output": 25.0, "cached_input": None, "context_window": None},
    {"benchmark_model": CHEAP, "input": 0.28, "output": 0.42, "cached_input": 0.028, "context_window": 131_072},
]


def rows():
    out = []
    for model, res in RESOLVED.items():
        for i, r in enumerate(res):
            out.append({"task_id": f"t{i + 1}", "model": model, "resolved": r, "cost_usd": COST[model] * (i + 1)})
    out.append({"task_id": "t1", "model": next(iter(datasets.DROPPED_MODELS)), "resolved": 1, "cost_usd": 1.0})
    return out


def test_synthetic_figures_by_hand():
    lb = build(rows(), TASKS, PRICES)
    parsed = parse(lb)
    assert set(parsed.models) == {"claude-sonnet-4-5", "claude-opus-4-5", "deepseek-v3-2-reasoner"}  # dropped run gone
    assert parsed.balanced == "claude-sonnet-4-5" and parsed.frontier == "claude-opus-4-5"
    assert parsed.models["claude-opus-4-5"].prices.cached_input == 5.0          # missing cache price -> input price
    assert parsed.models["claude-opus-4-5"].context_window == 128_000           # unknown window -> default
    assert parsed.models["claude-sonnet-4-5"].routes["anthropic"] == "claude-sonnet-4-5-20250929"
    assert parsed.models["claude-sonnet-4-5"].routes["kilo"] == parsed.models["claude-sonnet-4-5"].routes["openrouter"]

    c1 = parsed.classes["*:1"]
    assert c1.n_tasks == 2 and c1.best == "claude-opus-4-5"
    s = c1.evidence["claude-sonnet-4-5"]
    assert (s.solved, s.n, s.rate) == (1, 2, 0.5)
    assert s.cost_per_request == pytest.approx((0.5 * 1 + 0.5 * 2) / 2)
    z = 1.6448536
    half = z * math.sqrt(0.25 / 2 + z * z / 16) / (1 + z * z / 2)
    assert s.ci_low == pytest.approx(0.5 - half, abs=1e-4) and s.ci_high == pytest.approx(0.5 + half, abs=1e-4)
    # cheap vs balanced on t1, t2: discordant pairs (cheap only: t2, balanced only: t1) -> delta 0
    d = c1.evidence["deepseek-v3-2-reasoner"].vs_balanced
    assert d.delta == 0.0 and d.ci_low < 0 < d.ci_high
    assert lb["classes"]["*:1"]["models"]["deepseek-v3-2-reasoner"]["vs_balanced"]["discordant"] == [1, 1]
    assert c1.evidence["claude-sonnet-4-5"].vs_balanced.delta == 0.0
    assert c1.evidence["claude-sonnet-4-5"].vs_best.delta == -0.5

    # tier 4 pools tiers 3 and 4 and says so
    c4 = lb["classes"]["*:4"]
    assert c4["pooled"] and c4["tiers"] == [3, 4] and c4["n_tasks"] == 1 and "pooled" in c4["label"]
    assert "*:3" not in lb["classes"]                                           # no tier-3 tasks at all


def test_training_fold_restriction_and_version():
    full = build(rows(), TASKS, PRICES)
    part = build(rows(), TASKS, PRICES, task_ids={"t1", "t3"})
    assert part["classes"]["*:1"]["n_tasks"] == 1 and part["classes"]["*:2"]["n_tasks"] == 1
    assert "*:4" not in part["classes"]
    assert part["version"] != full["version"] and full["version"].startswith("lb-") and len(full["version"]) == 15
    assert build(rows(), TASKS, PRICES)["version"] == full["version"]           # deterministic
    assert build(rows(), TASKS, PRICES, input_hashes={"x": "1"})["version"] != full["version"]


def test_interval_helpers():
    assert wilson(0, 10)[0] == 0.0 and wilson(10, 10)[1] == 1.0
    lo, hi = wilson(5, 10, 0.95)
    assert lo == pytest.approx(0.2366, abs=1e-4) and hi == pytest.approx(0.7634, abs=1e-4)
    delta, lo, hi = paired_newcombe(10, 5, 1, 4, 0.95)
    assert delta == pytest.approx(0.2) and lo < 0.2 < hi and -1 <= lo and hi <= 1


def test_shipped_leaderboard_matches_a_rebuild():
    shipped = load()
    assert shipped.balanced == "claude-sonnet-4-5" and len(shipped.models) == 24
    raw = json.loads((ROOT / "kilo_lsp" / "data" / "leaderboard.json").read_text(encoding="utf-8"))
    assert parse(raw).version == shipped.version
    root = datasets.data_dir(download=False)
    if root is None or not (root / datasets.OUTCOMES).exists():
        pytest.skip("benchmark data not present (../shared/data or KILO_DATA_DIR)")
    assert build_from_dir(root)["version"] == shipped.version
