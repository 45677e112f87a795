"""The evidence sources of the leaderboard: one benchmark run by one scaffold each.

A source holds, per catalog model and task, the outcome (a success in [0, 1]: a 0/1 resolve, a mean
over trials, or a pass@1) and the cost in USD when the source has one, and puts every task in a
group: the human difficulty tier (1..4) where the benchmark has the SWE-bench buckets, else the
benchmark's own label ("medium", "hard", "easy", or "all"). Sources are never pooled: the builder
takes each evidence row from one source, and the source says how its cost was measured.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from kilo_lsp.taxonomy import SWEBENCH_BUCKETS
from training import datasets
from training.catalog import CatalogModel, ids_by_name

Group = int | str
#: (success in [0, 1], cost in USD or None)
Outcome = tuple[float, float | None]

SWE_OH = "swebench-verified/openhands"
SWE_MINI = "swebench-verified/mini-swe-agent"
SWT_OH = "swt-bench/openhands"
TERMINAL_BENCH = "terminal-bench-1.5/terminus-2"
LIVECODEBENCH = "livecodebench/codegen"
SWEBENCH_PRO = "swebench-pro/swe-agent"

_OPENHANDS_URL = ("https://github.com/OpenHands/openhands-index-results/tree/"
                  "3015ac612e7196f428e6e8a3948965d32d9a3331/results")


@dataclass(frozen=True)
class Source:
    id: str
    label: str
    benchmark: str
    scaffold: str
    tasks: int          # tasks in the benchmark (the classes use those with a group)
    url: str            # where the per-task outcomes come from, at the commit read
    licence: str
    cost: str           # how cost_per_request is measured, or why there is none
    binary: bool        # 0/1 outcome per task: paired differences apply

    def entry(self, models: int) -> dict[str, Any]:
        """The source as the leaderboard lists it, with how many catalog models it ran."""
        return {"label": self.label, "benchmark": self.benchmark, "scaffold": self.scaffold, "tasks": self.tasks,
                "url": self.url, "licence": self.licence, "cost": self.cost, "models": models}


SOURCES: dict[str, Source] = {s.id: s for s in (
    Source(SWE_OH, "SWE-bench Verified, OpenHands",
           "SWE-bench Verified: 500 real GitHub issues of 12 Python repositories, solved when the "
           "repository's hidden tests pass", "OpenHands (OpenHands Index, runs of 2025-2026)", 500,
           _OPENHANDS_URL, "MIT",
           "measured API cost of each run (for some models the index recomputed it from token counts x list price)",
           True),
    Source(SWE_MINI, "SWE-bench Verified, mini-SWE-agent",
           "SWE-bench Verified: 500 real GitHub issues of 12 Python repositories, solved when the "
           "repository's hidden tests pass", "mini-SWE-agent, bash only (the SWE-bench bash-only board, 2025)", 500,
           "https://github.com/SWE-bench/swe-bench.github.io/blob/f1176b65ae29d14f4f52208b48e3d8cfc972bc17/"
           "data/leaderboards.json", "CC BY-NC 4.0", "measured API cost of each run", True),
    Source(SWT_OH, "SWT-bench, OpenHands",
           "SWT-bench on 433 SWE-bench Verified issues: write a test that fails before the fix and passes after",
           "OpenHands (OpenHands Index, runs of 2025-2026)", 433, _OPENHANDS_URL, "MIT",
           "measured API cost of each run", True),
    Source(TERMINAL_BENCH, "Terminal-Bench 1.5, Terminus-2",
           "Terminal-Bench 1.5 (the pre-release of 2.0): 74 tasks in a terminal (build, configure, debug, "
           "systems and data work), human difficulty medium or hard", "Terminus-2, about 5 trials per model and task",
           74, "https://github.com/laude-institute/terminal-bench-experiments/tree/"
           "df50653c4721a5298c6ff54727e461446d660535/notebooks", "Apache-2.0",
           "input and output tokens x the model's list price, mean over trials; the source's token counts are "
           "far below a multi-turn run's, so only the ratios between models mean something", False),
    Source(LIVECODEBENCH, "LiveCodeBench code generation",
           "LiveCodeBench: 1,055 contest problems (2023-05 to 2025-04) solved by one self-contained program, "
           "easy / medium / hard", "none (one generation per problem, pass@1)", 1055,
           "https://github.com/LiveCodeBench/livecodebench.github.io/blob/"
           "83b6481b4890c4951730f53bdde815b25e0f7f3a/src/mocks/performances_generation.json", "not stated",
           "none: the source has no cost", False),
    Source(SWEBENCH_PRO, "SWE-bench Pro, SWE-agent",
           "SWE-bench Pro public set: 730 long repository-level tasks (features, refactors, fixes) in Python, "
           "Go, JavaScript and TypeScript; no difficulty tiers", "SWE-agent 1.1.0 by Scale, 250 turns, no cost cap "
           "(the runs of 2025-10)", 730, "https://github.com/nilenso/swe-bench-pro-cost-token-time-analysis/tree/"
           "adde7eea2c7ab014932f047d63f1b8771c9d9fd7/data", "not stated",
           "measured API cost where the trajectories were costed (616 tasks of the Claude Sonnet 4.5 and "
           "GPT-5 runs), mean over those tasks", True),
)}

#: The data files the sources are read from (their hashes go into the leaderboard's version).
INPUT_FILES = (datasets.TASKS, datasets.OUTCOMES, datasets.OPENHANDS, datasets.OPENHANDS_RUNS, datasets.TERMINAL_BENCH,
               datasets.TERMINAL_BENCH_TASKS, datasets.LIVECODEBENCH, datasets.SWEBENCH_PRO,
               datasets.SWEBENCH_PRO_COSTS)


@dataclass(frozen=True)
class SourceRuns:
    source: Source
    group_of: dict[str, Group]                 # task -> its group
    runs: dict[str, dict[str, Outcome]]        # catalog model id -> task -> outcome

    def tasks(self, groups: Iterable[Group]) -> list[str]:
        """The source's tasks in these groups, sorted."""
        keep = set(groups)
        return sorted(t for t, g in self.group_of.items() if g in keep)


def swebench_tiers(tasks: Iterable[dict[str, Any]]) -> dict[str, Group]:
    """SWE-bench Verified task -> human tier (1..4), for the tasks with a bucket."""
    return {t["task_id"]: SWEBENCH_BUCKETS[t["difficulty"]] for t in tasks
            if SWEBENCH_BUCKETS.get(t.get("difficulty") or "")}


def resolved_runs(rows: Iterable[dict[str, Any]], name_field: str, ids: Mapping[str, str],
                  group_of: Mapping[str, Group]) -> dict[str, dict[str, Outcome]]:
    """model id -> task -> (resolved, cost) from per-task rows, for the named models and the grouped
    tasks; rows without an outcome are left out (the task counts as not run)."""
    runs: dict[str, dict[str, Outcome]] = defaultdict(dict)
    for r in rows:
        mid = ids.get(r[name_field])
        if mid is None or r["resolved"] is None or r["task_id"] not in group_of:
            continue
        runs[mid][r["task_id"]] = (float(r["resolved"]), r["cost_usd"])
    return dict(runs)


def openhands_sources(rows: list[dict[str, Any]], tiers: Mapping[str, Group], ids: Mapping[str, str]
                      ) -> list[SourceRuns]:
    """SWE-bench Verified and SWT-bench as the OpenHands scaffold ran them (same issues, same tiers)."""
    out = []
    for sid, benchmark in ((SWE_OH, "swe-bench"), (SWT_OH, "swt-bench")):
        bench_rows = [r for r in rows if r["benchmark"] == benchmark]
        present = {r["task_id"] for r in bench_rows}
        group_of = {t: g for t, g in tiers.items() if t in present}
        out.append(SourceRuns(SOURCES[sid], group_of, resolved_runs(bench_rows, "model", ids, group_of)))
    return out


def mini_swe_source(rows: list[dict[str, Any]], tiers: Mapping[str, Group], ids: Mapping[str, str]) -> SourceRuns:
    """SWE-bench Verified as mini-SWE-agent ran it (the run with inconsistent per-instance data left out)."""
    kept = [r for r in rows if r["model"] not in datasets.DROPPED_MODELS]
    return SourceRuns(SOURCES[SWE_MINI], dict(tiers), resolved_runs(kept, "model", ids, tiers))


def terminal_bench_source(trials: list[dict[str, Any]], difficulty: Mapping[str, str], ids: Mapping[str, str],
                          prices: Mapping[str, tuple[float, float]]) -> SourceRuns:
    """Terminal-Bench 1.5: per model and task the mean success over its trials, and the mean of
    tokens x list price (``prices``: model id -> USD per million input and output tokens)."""
    per: dict[tuple[str, str], list[tuple[int, float]]] = defaultdict(list)
    for r in trials:
        mid = ids.get(r["model"])
        if mid is None or r["task_id"] not in difficulty:
            continue
        pin, pout = prices[mid]
        per[(mid, r["task_id"])].append((r["success"], (r["input_tokens"] * pin + r["output_tokens"] * pout) / 1e6))
    runs: dict[str, dict[str, Outcome]] = defaultdict(dict)
    for (mid, task), xs in per.items():
        runs[mid][task] = (sum(s for s, _ in xs) / len(xs), sum(c for _, c in xs) / len(xs))
    return SourceRuns(SOURCES[TERMINAL_BENCH], dict(difficulty), dict(runs))


def livecodebench_source(rows: list[dict[str, Any]], ids: Mapping[str, str]) -> SourceRuns:
    """LiveCodeBench code generation: pass@1 per problem, grouped by its difficulty; no cost."""
    group_of: dict[str, Group] = {r["task_id"]: r["difficulty"] for r in rows}
    runs: dict[str, dict[str, Outcome]] = defaultdict(dict)
    for r in rows:
        mid = ids.get(r["model"])
        if mid is not None:
            runs[mid][r["task_id"]] = (r["pass_at_1"], None)
    return SourceRuns(SOURCES[LIVECODEBENCH], group_of, dict(runs))


def swebench_pro_source(rows: list[dict[str, Any]], ids: Mapping[str, str]) -> SourceRuns:
    """SWE-bench Pro: resolved per run and task, all tasks in one group (the benchmark has no tiers)."""
    group_of: dict[str, Group] = {r["task_id"]: "all" for r in rows}
    return SourceRuns(SOURCES[SWEBENCH_PRO], group_of, resolved_runs(rows, "run", ids, group_of))


def read_sources(root: Path, catalog: list[CatalogModel]) -> dict[str, SourceRuns]:
    """Every evidence source in the data folder, for the catalog's models."""
    tiers = swebench_tiers(datasets.read_tasks(root))
    trials, tb_difficulty = datasets.read_terminal_bench(root)
    prices = {m.id: (m.input, m.output) for m in catalog}
    runs = [
        *openhands_sources(datasets.read_openhands(root), tiers, ids_by_name(catalog, "openhands")),
        mini_swe_source(datasets.read_outcomes(root), tiers, ids_by_name(catalog, "mini_swe_agent")),
        terminal_bench_source(trials, tb_difficulty, ids_by_name(catalog, "terminal_bench"), prices),
        livecodebench_source(datasets.read_livecodebench(root), ids_by_name(catalog, "livecodebench")),
        swebench_pro_source(datasets.read_swebench_pro(root), ids_by_name(catalog, "swebench_pro")),
    ]
    return {r.source.id: r for r in runs}
