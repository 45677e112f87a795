"""The reviewed model table (training/data/models.csv): consistent on its own, true to the data it
cites, and following the catalog rule of training/README.md ("The model table"). The checks against
the data are skipped when the data folder is absent."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from training import datasets  # noqa: E402
from training.catalog import GATEWAYS, MODELS_CSV, SOURCE_COLUMNS, ids_by_name, read_catalog  # noqa: E402
from kilo_lsp.providers.known import KNOWN  # noqa: E402

LEFT_OUT_CSV = ROOT / "training" / "data" / "models_left_out.csv"
CATALOG = read_catalog()
ROWS = list(csv.DictReader(open(MODELS_CSV, newline="", encoding="utf-8")))
LEFT_OUT = list(csv.DictReader(open(LEFT_OUT_CSV, newline="", encoding="utf-8")))
REASONS = {"unavailable", "not_listed", "not_maker_api", "no_cheaper_tier", "dominated"}
#: litellm providers that are a maker's own API (the rest are hosts of open weights or gateways)
MAKER_APIS = {"anthropic", "openai", "gemini", "vertex_ai", "deepseek", "mistral", "zai", "moonshot", "minimax"}


def test_every_model_has_prices_and_a_route_to_a_known_provider():
    assert len({m.id for m in CATALOG}) == len(CATALOG)
    for m in CATALOG:
        assert m.input > 0 and m.output > 0 and (m.cached_input is None or 0 < m.cached_input <= m.input), m.id
        assert m.routes and set(m.routes) <= set(KNOWN), m.id
        assert m.price_source in ("litellm 1.110.2", "litellm 1.80.0", "openhands_index/runs.csv"), m.id
        gateway = {m.routes.get(g) for g in GATEWAYS}
        assert len(gateway) == 1 and "/" in gateway.pop(), m.id          # OpenRouter-style vendor/model, both gateways
        assert m.release_date[:2] == "20" and len(m.release_date) == 10, m.id


def test_balanced_and_frontier_are_in_the_table():
    assert {"claude-sonnet-4-6", "claude-opus-4-8"} <= {m.id for m in CATALOG}


def test_every_source_name_maps_to_at_most_one_model():
    for column in SOURCE_COLUMNS:
        ids_by_name(CATALOG, column)                                      # raises on a name claimed twice
    assert all(m.names.get("openhands") or m.names.get("mini_swe_agent") for m in CATALOG)


def test_matches_across_sources_have_a_review_note():
    for r in ROWS:
        named = [c for c in SOURCE_COLUMNS if r[c]]
        if len(named) > 1 or r["price_source"] == "openhands_index/runs.csv":
            assert r["note"], r["id"]


def test_left_out_models_say_why_and_are_not_in_the_table():
    names = {(c, m.names[c]) for m in CATALOG for c in m.names}
    for r in LEFT_OUT:
        assert r["reason"] in REASONS and r["note"] and (r["source"], r["name"]) not in names, r["name"]


# ---------------------------------------------------------------------------------------------
# against the data

DATA = datasets.data_dir(download=False)
needs_data = pytest.mark.skipif(DATA is None or not (DATA / datasets.OPENHANDS).exists(),
                                reason="benchmark data not present (../shared/data or KILO_DATA_DIR)")


def _csv(name: str) -> list[dict[str, str]]:
    with open(DATA / name, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _litellm() -> list[dict]:
    return [json.loads((DATA / name).read_text(encoding="utf-8")) for name in datasets.LITELLM_PRICES]


@needs_data
def test_prices_and_windows_are_those_of_the_named_source():
    new, old = _litellm()
    runs = {r["model"]: r for r in _csv("openhands_index/runs.csv") if r["agent"] == "openhands"}
    for r in ROWS:
        if r["price_source"].startswith("litellm"):
            e = (new if r["price_source"] == "litellm 1.110.2" else old)[r["price_key"]]
            want = (e["input_cost_per_token"] * 1e6, e["output_cost_per_token"] * 1e6,
                    (e.get("cache_read_input_token_cost") or 0) * 1e6 or None)
        else:
            o = runs[r["price_key"]]
            want = (float(o["input_price"]), float(o["output_price"]),
                    float(o["cache_read_price"]) if o["cache_read_price"] else None)
        got = (float(r["input"]), float(r["output"]), float(r["cached_input"]) if r["cached_input"] else None)
        assert got == pytest.approx(want), r["id"]
        window = (new.get(r["window_key"]) or old.get(r["window_key"]) or {}).get("max_input_tokens")
        assert (int(r["context_window"]) if r["context_window"] else None) == window, r["id"]


@needs_data
def test_every_name_exists_in_its_source():
    present = {
        "mini_swe_agent": {r["folder"] for r in _csv("swebench_verified/models_mini_swe_agent.csv")},
        "openhands": {r["model"] for r in _csv(datasets.OPENHANDS) if r["agent"] == "openhands"},
        "terminal_bench": {r["model"] for r in _csv(datasets.TERMINAL_BENCH)},
        "livecodebench": {r["model"] for r in _csv(datasets.LIVECODEBENCH)},
        "aider": {r["model"] for r in _csv("aider/polyglot_leaderboard.csv") + _csv("aider/edit_leaderboard.csv")},
        "swebench_pro": {r["run"] for r in _csv("swebench_pro/runs.csv")},
    }
    for m in CATALOG:
        for column, name in m.names.items():
            assert name in present[column], (m.id, column, name)
    assert not (set(ids_by_name(CATALOG, "swebench_pro")) & {r["run"] for r in _csv("swebench_pro/runs.csv")
                                                              if r["run"].endswith("__paper")})


@needs_data
def test_catalog_is_every_public_openhands_model():
    runs = [r for r in _csv("openhands_index/runs.csv") if r["agent"] == "openhands" and r["swe-bench_n"] != "0"]
    public = {r["model"] for r in runs if r["available"] == "True"}
    assert public == set(ids_by_name(CATALOG, "openhands"))
    assert {r["model"] for r in runs if r["available"] != "True"} == {
        r["name"] for r in LEFT_OUT if r["source"] == "openhands" and r["reason"] == "unavailable"}


@needs_data
def test_mini_swe_agent_models_follow_the_catalog_rule():
    """A mini-SWE-agent model joins when (1) OpenHands has no run of it, (2) its maker's own API still
    lists it (its price key, from a maker's API, is in the newer price table), (3) it is a cheaper tier:
    output price at most half that of its maker's cheapest OpenHands model in the table, or its maker
    has none there, and (4) no other model of its maker passing (1)-(3) is cheaper and solved more."""
    models = {r["folder"]: r for r in _csv("swebench_verified/models_mini_swe_agent.csv") if r["n_per_instance"] != "0"}
    models = {f: r for f, r in models.items() if f not in datasets.DROPPED_MODELS}
    prices = {r["benchmark_model"]: r for r in _csv(datasets.PRICES)}
    new, _old = _litellm()
    in_table = {m.names["mini_swe_agent"]: m for m in CATALOG if "mini_swe_agent" in m.names}
    left = {r["name"]: r for r in LEFT_OUT if r["source"] == "mini_swe_agent"}
    assert set(models) == set(in_table) | set(left) and not set(in_table) & set(left)
    oh_cheapest: dict[str, float] = {}
    for m in CATALOG:
        if "openhands" in m.names:
            oh_cheapest[m.maker] = min(m.output, oh_cheapest.get(m.maker, float("inf")))
    maker = {f: (in_table[f].maker if f in in_table else left[f]["maker"]) for f in models}

    def listed(f: str) -> bool:
        p = prices[f]
        return p["provider"] in MAKER_APIS and p["litellm_key"] in new

    def cheaper_tier(f: str) -> bool:
        return float(prices[f]["output_usd_per_mtok"]) <= oh_cheapest.get(maker[f], float("inf")) / 2

    passing = [f for f in models if f not in in_table or "openhands" not in in_table[f].names]
    passing = [f for f in passing if f not in left or left[f]["reason"] != "unavailable"]
    for f in passing:
        reason = left[f]["reason"] if f in left else None
        if reason == "not_listed":
            assert prices[f]["litellm_key"] not in new, f
            continue
        if reason == "not_maker_api":
            assert prices[f]["provider"] not in MAKER_APIS, f
            continue
        assert listed(f), f
        assert cheaper_tier(f) == (reason != "no_cheaper_tier"), f
    candidates = [f for f in passing if listed(f) and cheaper_tier(f)]
    for f in candidates:
        out = float(prices[f]["output_usd_per_mtok"])
        dominated = any(maker[g] == maker[f] and float(prices[g]["output_usd_per_mtok"]) < out
                        and int(models[g]["per_instance_resolved"]) > int(models[f]["per_instance_resolved"])
                        for g in candidates)
        assert dominated == (f in left and left[f]["reason"] == "dominated"), f
        assert dominated or f in in_table, f
