"""The leaderboard builder on a tiny synthetic data folder whose figures can be checked by hand, the
class -> source plan, and the shipped leaderboard against a rebuild from the real data (skipped when
it is absent)."""

from __future__ import annotations

import csv
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from training import datasets  # noqa: E402
from training.build_leaderboard import (  # noqa: E402
    BALANCED, FRONTIER, build, build_from_dir, class_matrices, class_plan, paired_newcombe, read_inputs, source_matrices,
    wilson,
)
from training.catalog import SOURCE_COLUMNS  # noqa: E402
from training.evidence import (  # noqa: E402
    LIVECODEBENCH, SWE_MINI, SWE_OH, SWEBENCH_PRO, SWT_OH, TERMINAL_BENCH,
)
import msgspec  # noqa: E402

from kilo_lsp.cli import format_leaderboard  # noqa: E402
from kilo_lsp.leaderboard.model import load, parse  # noqa: E402
from kilo_lsp.leaderboard.view import leaderboard_view  # noqa: E402
from kilo_lsp.taxonomy import TASK_TYPES  # noqa: E402

Z90 = 1.6448536

# ---------------------------------------------------------------------------------------------
# a tiny data folder: four models, six SWE-bench Verified issues (tiers 1, 1, 2, 2, 3, 4)

MODELS = [  # id, OpenHands name, mini-SWE-agent folder, Terminal-Bench, LiveCodeBench, SWE-bench Pro, prices
    ("bal", "Bal-1", "", "", "", "", (3.0, 15.0)),
    ("big", "Big-1", "", "", "", "big__lb", (5.0, 25.0)),
    ("both", "Both-1", "20250101_mini_both", "", "", "", (1.0, 2.0)),
    ("cheap", "", "20250101_mini_cheap", "cheap-tb", "Cheap (High)", "", (0.1, 0.4)),
]
TIERS = {"t1": "<15 min fix", "t2": "<15 min fix", "t3": "15 min - 1 hour", "t4": "15 min - 1 hour",
         "t5": "1-4 hours", "t6": ">4 hours"}
SWE = {  # OpenHands swe-bench: model -> resolved on t1..t6 (None: no outcome), cost per task
    "Bal-1": ((1, 0, 1, 1, 0, 0), 1.0),
    "Big-1": ((1, 1, 1, 1, 1, 0), 2.0),
    "Both-1": ((0, 1, 0, 1, None, 0), 0.5),
}
SWT = {"Bal-1": {"t1": 1, "t3": 0, "t5": 0}, "Big-1": {"t1": 1, "t3": 1, "t5": 1}}
MINI = {"20250101_mini_cheap": ((1, 1, 0, 0, 0, 0), 0.01), "20250101_mini_both": ((1, 1, 1, 1, 1, 1), 0.1),
        "20250101_mini_other": ((1, 1, 1, 1, 1, 1), 0.2), next(iter(datasets.DROPPED_MODELS)): ((1,) * 6, 9.0)}


def _write_csv(path: Path, header: list[str], rows: list[list[object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def make_data(root: Path) -> Path:
    """The data folder, and the model table (returned) beside it."""
    (root / "swebench_verified").mkdir(parents=True)
    (root / datasets.TASKS).write_text("".join(json.dumps({"task_id": t, "repo": "r", "text": "x", "difficulty": d})
                                               + "\n" for t, d in TIERS.items()))
    tasks = list(TIERS)
    _write_csv(root / datasets.OUTCOMES, ["task_id", "model", "model_id", "resolved", "cost_usd", "api_calls"],
               [[t, f, f, r, cost, 1] for f, (res, cost) in MINI.items() for t, r in zip(tasks, res)])
    oh = [["swe-bench", t, m, "openhands", m, "" if r is None else r, cost]
          for m, (res, cost) in SWE.items() for t, r in zip(tasks, res)]
    oh += [["swt-bench", t, m, "openhands", m, r, 0.3] for m, res in SWT.items() for t, r in res.items()]
    oh += [["swe-bench", t, "acp-claude/Bal-1", "acp-claude", "Bal-1", 1, 0.0] for t in tasks]   # another scaffold
    _write_csv(root / datasets.OPENHANDS, ["benchmark", "task_id", "run_id", "agent", "model", "resolved", "cost_usd"], oh)
    # the index billed Both-1 at half its list input price
    _write_csv(root / datasets.OPENHANDS_RUNS, ["run_id", "agent", "model", "input_price"],
               [["openhands/Bal-1", "openhands", "Bal-1", 3.0], ["openhands/Big-1", "openhands", "Big-1", 5.0],
                ["openhands/Both-1", "openhands", "Both-1", 0.5], ["acp-claude/Bal-1", "acp-claude", "Bal-1", 9.0]])
    _write_csv(root / datasets.TERMINAL_BENCH, ["trial_id", "model", "provider", "task_id", "success", "n_input_tokens",
                                                "n_output_tokens", "execution_time_sec"],
               [[1, "cheap-tb", "p", "m1", 1, 1_000_000, 0, 1], [2, "cheap-tb", "p", "m1", 0, 0, 1_000_000, 1],
                [3, "cheap-tb", "p", "h1", 0, 0, 0, 1], [4, "cheap-tb", "p", "h1", 0, 0, 0, 1],
                [5, "other-tb", "p", "m1", 1, 5, 5, 1]])
    _write_csv(root / datasets.TERMINAL_BENCH_TASKS, ["task_id", "human_difficulty"], [["m1", "medium"], ["h1", "hard"]])
    _write_csv(root / datasets.LIVECODEBENCH, ["task_id", "model", "pass_at_1_pct", "difficulty", "platform", "contest_date"],
               [["p1", "Cheap (High)", 100.0, "easy", "x", "d"], ["p2", "Cheap (High)", 50.0, "easy", "x", "d"],
                ["p3", "Cheap (High)", 0.0, "medium", "x", "d"], ["p1", "Other", 100.0, "easy", "x", "d"]])
    _write_csv(root / datasets.SWEBENCH_PRO, ["task_id", "run", "docent_label", "resolved", "turns"],
               [["x1", "big__lb", "l", 1, 5], ["x2", "big__lb", "l", 0, 5], ["x1", "big__paper", "l", 0, 5]])
    _write_csv(root / datasets.SWEBENCH_PRO_COSTS, ["task_id", "run", "resolved_nilenso", "submitted", "steps", "cost_usd",
                                                    "tokens_sent", "api_calls", "output_tokens_recounted"],
               [["x1", "big__lb", 1, 1, 5, 3.0, 1, 1, 1]])
    table = root / "models.csv"
    _write_csv(table, ["id", "name", "maker", "release_date", "context_window", "input", "output", "cached_input",
                       "price_source", "price_key", "window_key", "provider", "provider_model", "gateway_model",
                       *SOURCE_COLUMNS, "note"],
               [[mid, mid.title(), "m", f"2026-01-0{i + 1}", "", pin, pout, "", "openhands_index/runs.csv", "", "",
                 "openai", mid, f"v/{mid}", mini, oh_name, tb, lcb, "", pro, ""]
                for i, (mid, oh_name, mini, tb, lcb, pro, (pin, pout)) in enumerate(MODELS)])
    return table


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    table = make_data(root)
    inputs = read_inputs(root, table)
    return inputs, build(inputs, balanced="bal", frontier="big")


def half_width(p: float, n: int) -> float:
    return Z90 * math.sqrt(p * (1 - p) / n + Z90 * Z90 / (4 * n * n)) / (1 + Z90 * Z90 / n)


def test_swebench_rows_come_from_openhands_else_mini_swe_agent_never_both(synthetic):
    _, lb = synthetic
    c1 = lb["classes"]["*:1"]
    assert (c1["source"], c1["n_tasks"], c1["best"], c1["borrowed"]) == (SWE_OH, 2, "big", None)
    bal, both, cheap = c1["models"]["bal"], c1["models"]["both"], c1["models"]["cheap"]
    assert (bal["source"], bal["solved"], bal["n"], bal["rate"], bal["cost_per_request"]) == (SWE_OH, 1, 2, 0.5, 1.0)
    assert bal["vs_balanced"] == {"delta": 0.0, "ci_low": 0.0, "ci_high": 0.0}
    # both ran in OpenHands and mini-SWE-agent: its row is OpenHands's 1/2, never mini-SWE-agent's 2/2 nor a mix
    assert (both["source"], both["solved"], both["n"]) == (SWE_OH, 1, 2)
    assert both["vs_balanced"]["delta"] == 0.0 and both["vs_balanced"]["discordant"] == [1, 1]
    # cheap is only in mini-SWE-agent: its own row, and no paired difference (Balanced is not there)
    assert (cheap["source"], cheap["solved"], cheap["n"], cheap["cost_per_request"]) == (SWE_MINI, 2, 2, 0.01)
    assert cheap["vs_balanced"] is None and cheap["vs_best"] is None and not cheap["borrowed"]
    h = half_width(0.5, 2)
    assert bal["ci_low"] == pytest.approx(0.5 - h, abs=1e-4) and bal["ci_high"] == pytest.approx(0.5 + h, abs=1e-4)
    assert c1["models"]["bal"]["vs_best"]["delta"] == -0.5           # against big on t1, t2


def test_tier_four_pools_tier_three_and_a_task_without_outcome_is_not_run(synthetic):
    _, lb = synthetic
    c4 = lb["classes"]["bugfix:4"]
    assert c4["pooled"] and c4["groups"] == [3, 4] and c4["n_tasks"] == 2
    assert "1 tier-3, 1 tier-4 tasks (1 of its own)" in c4["label"]
    assert (c4["models"]["both"]["solved"], c4["models"]["both"]["n"]) == (0, 1)     # t5 has no outcome


def test_test_classes_read_swt_bench_and_borrow_for_the_models_it_lacks(synthetic):
    _, lb = synthetic
    t1 = lb["classes"]["test:1"]
    assert t1["source"] == SWT_OH and t1["n_tasks"] == 1
    assert (t1["models"]["bal"]["source"], t1["models"]["bal"]["solved"], t1["models"]["bal"]["n"]) == (SWT_OH, 1, 1)
    both = t1["models"]["both"]                                      # not in SWT-bench: SWE-bench tier 1, borrowed
    assert (both["source"], both["solved"], both["n"], both["borrowed"]) == (SWE_OH, 1, 2, True)
    assert both["vs_balanced"]["discordant"] == [1, 1]               # against Balanced's SWE-bench row, same tasks
    assert t1["models"]["cheap"]["source"] == SWE_MINI and t1["models"]["cheap"]["borrowed"]
    assert "SWT-bench" in t1["borrowed"]


def test_build_classes_read_terminal_bench_trials(synthetic):
    _, lb = synthetic
    b1, b3 = lb["classes"]["build:1"], lb["classes"]["build:3"]
    cheap = b1["models"]["cheap"]
    # m1: trials 1 and 0 -> 0.5; cost: 1M input tokens x $0.1 and 1M output tokens x $0.4 -> mean $0.25
    assert (cheap["source"], cheap["solved"], cheap["n"], cheap["rate"]) == (TERMINAL_BENCH, 1, 1, 0.5)
    assert cheap["cost_per_request"] == 0.25 and cheap["vs_balanced"] is None and cheap["vs_best"] is None
    assert b1["best"] == "cheap" and b1["n_tasks"] == 1 and "medium tasks (1)" in b1["label"]
    bal = b1["models"]["bal"]
    assert (bal["source"], bal["borrowed"], bal["n"]) == (SWE_OH, True, 2) and b1["borrowed"]
    assert (b3["models"]["cheap"]["rate"], b3["models"]["cheap"]["cost_per_request"]) == (0.0, 0.0)
    assert "hard tasks (1)" in b3["label"]


def test_rows_beside_livecodebench_and_swebench_pro(synthetic):
    _, lb = synthetic
    lcb = lb["classes"]["feature:1"]["beside"][LIVECODEBENCH]["cheap"]
    assert (lcb["solved"], lcb["n"], lcb["rate"], lcb["cost_per_request"]) == (2, 2, 0.75, None)   # pass@1 1.0, 0.5
    assert lb["classes"]["feature:2"]["beside"][LIVECODEBENCH]["cheap"]["rate"] == 0.0
    pro = lb["classes"]["feature:3"]["beside"][SWEBENCH_PRO]["big"]
    assert (pro["solved"], pro["n"], pro["cost_per_request"], pro["vs_balanced"]) == (1, 2, 3.0, None)
    assert lb["classes"]["feature:3"]["borrowed"] is None
    assert "SWE-bench Pro" in lb["classes"]["refactor:3"]["borrowed"]
    assert set(lb["classes"]["bugfix:3"]["beside"]) == set()


def test_borrowed_classes_and_their_notes(synthetic):
    _, lb = synthetic
    explain = lb["classes"]["explain:1"]
    assert explain["borrowed"].startswith("no benchmark measures explanations; borrows SWE-bench Verified tier 1 (")
    assert all(r["borrowed"] for r in explain["models"].values())
    assert explain["models"]["bal"] == dict(lb["classes"]["*:1"]["models"]["bal"], borrowed=True)
    assert lb["classes"]["plan:4"]["borrowed"].count("tiers 3-4 (pooled)") == 1
    for key, c in lb["classes"].items():
        assert c["borrowed"] or not any(r["borrowed"] for r in c["models"].values()), key


def test_sources_and_models(synthetic):
    _, lb = synthetic
    assert {k: v["models"] for k, v in lb["sources"].items()} == {
        SWE_OH: 3, SWT_OH: 2, SWE_MINI: 2, TERMINAL_BENCH: 1, LIVECODEBENCH: 1, SWEBENCH_PRO: 1}
    parsed = parse(lb)
    assert parsed.sources[TERMINAL_BENCH].tasks == 74 and parsed.balanced == "bal"
    assert parsed.models["both"].routes == {"openai": "both", "openrouter": "v/both", "kilo": "v/both"}
    assert parsed.models["bal"].prices.cached_input == 3.0                          # none listed -> input price
    assert parsed.models["bal"].context_window == 128_000                            # none listed -> default
    assert parsed.models["cheap"].benchmark_ids["terminal_bench"] == "cheap-tb"
    e = parsed.classes["test:1"].evidence["both"]
    assert e.source == SWE_OH and e.borrowed and parsed.classes["test:1"].source == SWT_OH
    assert parsed.classes["feature:1"].beside[LIVECODEBENCH]["cheap"].cost_per_request is None
    assert parsed.task_class("build", 2).key == "build:2" and parsed.task_class("other", 2).key == "*:2"


def test_view_and_cli_show_every_row_source_and_n_and_the_borrowed_note(synthetic):
    _, lb = synthetic
    view = msgspec.to_builtins(leaderboard_view(parse(lb), {"bal": "openai"}, task_type="build", difficulty=1))
    assert set(view["classes"]) == {"*:1", "build:1"} and view["sources"][TERMINAL_BENCH]["models"] == 1
    b1 = view["classes"]["build:1"]
    assert b1["borrowed"] and b1["source"] == TERMINAL_BENCH and b1["beside"] == []
    assert [(r["model"], r["source"], r["borrowed"], r["n"]) for r in b1["models"]][:1] == [
        ("big", SWE_OH, True, 2)]
    text = format_leaderboard(view)
    assert f"borrowed: {b1['borrowed']}" in text
    assert any(line.startswith("cheap ") and TERMINAL_BENCH in line and " 1/1 " in line for line in text.splitlines())
    assert any(line.startswith("bal ") and f"{SWE_OH} (borrowed)" in line and " 1/2 " in line
               for line in text.splitlines())
    feature = msgspec.to_builtins(leaderboard_view(parse(lb), {}, task_type="feature", difficulty=1))
    beside = feature["classes"]["feature:1"]["beside"]
    assert [(r["model"], r["source"], r["costPerRequest"]) for r in beside] == [("cheap", LIVECODEBENCH, None)]
    assert "shown beside (not read by routing):" in format_leaderboard(feature)


def test_class_matrices(synthetic):
    inputs, _ = synthetic
    m = class_matrices(inputs, "*:4")
    assert m.source == SWE_OH and m.task_ids == ("t5", "t6")
    assert np.isnan(m.outcomes["both"][0]) and m.outcomes["both"][1] == 0 and list(m.outcomes["big"]) == [1, 0]
    assert list(m.costs["bal"]) == [1.0, 1.0] and set(m.outcomes) == {"bal", "big", "both"}
    tb = class_matrices(inputs, "build:2")
    assert tb.source == TERMINAL_BENCH and list(tb.outcomes["cheap"]) == [0.5] and list(tb.costs["cheap"]) == [0.25]
    mini = class_matrices(inputs, "bugfix:1", source=SWE_MINI)
    assert list(mini.outcomes["cheap"]) == [1, 1] and list(mini.outcomes["both"]) == [1, 1]
    assert np.isnan(class_matrices(inputs, "feature:1", source=LIVECODEBENCH).costs["cheap"]).all()


def test_version_is_reproducible_and_follows_the_inputs(synthetic, tmp_path):
    inputs, lb = synthetic
    assert lb["version"].startswith("lb-") and len(lb["version"]) == 15
    assert build(inputs, balanced="bal", frontier="big")["version"] == lb["version"]
    changed = type(inputs)(inputs.catalog, inputs.sources, inputs.plans, dict(inputs.input_hashes, x="1"))
    assert build(changed, balanced="bal", frontier="big")["version"] != lb["version"]
    with pytest.raises(ValueError, match="balanced"):
        build(inputs)                                                 # the shipped Balanced is not in this table
    with pytest.raises(FileNotFoundError, match="lacks"):
        read_inputs(tmp_path, tmp_path / "models.csv")


def test_class_to_source_plan():
    own = {"*": SWE_OH, "bugfix": SWE_OH, "feature": SWE_OH, "test": SWT_OH, "build": TERMINAL_BENCH}
    for task_type in ("*", *TASK_TYPES):
        for tier in (1, 2, 3, 4):
            plan = class_plan(task_type, tier)
            first = plan.backings[0]
            assert first.source == own.get(task_type, SWE_OH), plan.key
            assert first.borrowed == (task_type not in own), plan.key
            assert all(b.source in (SWE_OH, SWE_MINI) for b in plan.backings[1:]), plan.key
            assert (plan.note is None) == (task_type in ("*", "bugfix", "feature")), plan.key
            beside = [b.source for b in plan.beside]
            if task_type == "feature" and tier <= 2:
                assert beside == [LIVECODEBENCH]
            elif task_type in ("feature", "refactor", "perf") and tier >= 3:
                assert beside == [SWEBENCH_PRO]
            else:
                assert beside == [], plan.key
    assert class_plan("build", 1).backings[0].groups == ("medium",)
    assert class_plan("build", 4).backings[0].groups == ("hard",)
    assert class_plan("bugfix", 4).backings[0].groups == (3, 4)


def test_interval_helpers():
    assert wilson(0, 10)[0] == 0.0 and wilson(10, 10)[1] == 1.0
    lo, hi = wilson(5, 10, 0.95)
    assert lo == pytest.approx(0.2366, abs=1e-4) and hi == pytest.approx(0.7634, abs=1e-4)
    lo, hi = wilson(2.5, 5)                                                      # a fractional count: rate 0.5
    assert lo + hi == pytest.approx(1.0) and hi - lo == pytest.approx(2 * half_width(0.5, 5))
    delta, lo, hi = paired_newcombe(10, 5, 1, 4, 0.95)
    assert delta == pytest.approx(0.2) and lo < 0.2 < hi and -1 <= lo and hi <= 1


# ---------------------------------------------------------------------------------------------
# the shipped leaderboard

def test_shipped_leaderboard_loads_and_matches_a_rebuild():
    shipped = load()
    assert (shipped.balanced, shipped.frontier) == (BALANCED, FRONTIER) == ("claude-sonnet-4-6", "claude-opus-4-8")
    assert shipped.sources[SWE_OH].models >= 30 and shipped.classes["bugfix:2"].source == SWE_OH
    for key, c in shipped.classes.items():
        assert c.borrowed or not any(e.borrowed for e in c.evidence.values()), key
        for mid, e in c.evidence.items():
            assert e.source in shipped.sources, (key, mid)
            assert e.source != c.source or e.n <= c.n_tasks, (key, mid)
    root = datasets.data_dir(download=False)
    if root is None or not (root / datasets.OPENHANDS).exists():
        pytest.skip("benchmark data not present (../shared/data or KILO_DATA_DIR)")
    assert build_from_dir(root)["version"] == shipped.version


def test_openhands_costs_are_rescaled_to_list_prices(synthetic):
    inputs, _ = synthetic
    scale = inputs.price_scale[SWE_OH]
    assert scale == {"bal": 1.0, "big": 1.0, "both": 2.0}      # the acp-claude run's price is not the index's
    _, lb = synthetic
    both = lb["classes"]["*:2"]["models"]["both"]
    assert (both["source"], both["cost_per_request"]) == (SWE_OH, 1.0)      # billed $0.5 a task at half price


def test_every_class_has_a_ladder_per_dial_of_its_own_models_cheapest_first(synthetic):
    inputs, lb = synthetic
    for key, c in lb["classes"].items():
        assert set(c["ladders"]) == {"bill", "bar"}, key
        assert c["ladder_tasks"] > 0 and c["ladder_source"], key
        for dial, rungs in c["ladders"].items():
            assert rungs and len(rungs) == len(set(rungs)), (key, dial)
            assert set(rungs) <= {m["id"] for m in lb["models"]}, (key, dial)
            outcomes, costs = source_matrices(inputs, c["ladder_source"],
                                              tuple(sorted(inputs.sources[c["ladder_source"]].group_of)))
            priced = [costs[m].mean() for m in rungs if m in costs]
            assert priced == sorted(priced), (key, dial, rungs)
            left = [1.0] * c["ladder_tasks"]            # tasks every rung below failed
            for m, (solved, tried) in zip(rungs, c["ladder_steps"][dial]):
                assert tried == pytest.approx(sum(left)) and solved == pytest.approx(
                    sum(l * o for l, o in zip(left, outcomes[m])))
                left = [l * (1 - o) for l, o in zip(left, outcomes[m])]
