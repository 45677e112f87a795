"""Build ``kilo_lsp/data/leaderboard.json`` from measured benchmark outcomes of several sources.

    python -m training.build_leaderboard [--out PATH] [--confidence 0.9] [--data DIR]

The models are the reviewed table ``training/data/models.csv`` (``training/catalog.py``); the evidence
comes from the sources of ``training/evidence.py``, each a benchmark run by one scaffold, never pooled.
Every class is a task type and a difficulty tier (``bugfix:2``; ``*:t`` for any type) backed by the
benchmark that fits it (``class_plans``); a class no benchmark measures borrows another's evidence and
says which and why in ``borrowed``. Per model and class (see training/README.md, "What the leaderboard
numbers mean"):

- ``source``: the source of the row; ``borrowed``: the row's benchmark does not measure this class's task;
- ``solved`` / ``n`` / ``rate``: tasks solved (a mean over trials or a pass@1 where the source has those,
  rounded), tasks of the class the model has an outcome for, and the success rate;
- ``ci_low`` / ``ci_high``: two-sided Wilson score interval of the rate at ``confidence_level``, n = tasks;
- ``cost_per_request``: mean cost (USD) per task as the source measures it, failures included, at the
  catalog's list prices (``at_list_prices``); null where the source has none;
- ``vs_balanced`` / ``vs_best``: paired difference of rates against the Balanced model and the class's
  best model on the same tasks of the same source, with Newcombe's hybrid score interval for paired
  proportions (Newcombe 1998, "Improved confidence intervals for the difference between binomial
  proportions based on paired data", method 10); null when the reference is not in the row's source or
  the source's outcomes are not 0/1.

``class_matrices`` gives a class's per-task outcomes and costs of one source as arrays, for searches
that need more than the summary figures.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from statistics import NormalDist
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from kilo_lsp.leaderboard.model import SCHEMA_VERSION, parse  # noqa: E402
from kilo_lsp.taxonomy import ANY_TYPE, DIFFICULTIES, DIFFICULTY_LABELS, TASK_TYPES, class_key  # noqa: E402
from training import datasets, ladders  # noqa: E402
from training.catalog import MODELS_CSV, CatalogModel, read_catalog  # noqa: E402
from training.evidence import (  # noqa: E402
    INPUT_FILES, LIVECODEBENCH, SWE_MINI, SWE_OH, SWEBENCH_PRO, SWT_OH, TERMINAL_BENCH, Group,
    SourceRuns, read_sources,
)

BALANCED = "claude-sonnet-4-6"
FRONTIER = "claude-opus-4-8"
#: The mini-SWE-agent matrix (the escalation benchmark's) has neither of the above: its own Balanced
#: and Frontier are the Claude models that matrix has.
SWEBENCH_BALANCED = "claude-sonnet-4-5"
SWEBENCH_FRONTIER = "claude-opus-4-5"

#: Tier classes and the human tiers whose tasks back them (tier 4 has 3 tasks: pooled with tier 3).
CLASS_TIERS: dict[int, tuple[int, ...]] = {1: (1,), 2: (2,), 3: (3,), 4: (3, 4)}
#: Terminal-Bench has no task easier than "medium": its medium tasks back tiers 1-2, its hard ones 3-4.
TERMINAL_BENCH_GROUPS: dict[int, tuple[str, ...]] = {1: ("medium",), 2: ("medium",), 3: ("hard",), 4: ("hard",)}
#: LiveCodeBench's easy and medium problems stand beside small, self-contained feature work.
LIVECODEBENCH_GROUPS: dict[int, tuple[str, ...]] = {1: ("easy",), 2: ("medium",)}
#: SWE-bench Pro's long repository-level tasks stand beside the hard classes of these types.
LONG_WORK_TYPES = ("feature", "refactor", "perf")

#: Why a type without a benchmark of its own borrows SWE-bench Verified ({tiers}: the class's tiers).
BORROWED_NOTES: dict[str, str] = {
    "explain": "no benchmark measures explanations; borrows SWE-bench Verified {tiers} (understanding a "
               "repository's code well enough to find an issue's cause is what explaining that code needs)",
    "small_edit": "no benchmark measures small edits on their own; borrows SWE-bench Verified {tiers} (a correct, "
                  "local change to a real repository, checked by its tests, is what fixing an easy issue is)",
    "docs": "no benchmark measures documentation writing; borrows SWE-bench Verified {tiers} (documenting code "
            "takes the same reading of the repository, and the text must be right about the code)",
    "review": "no benchmark measures code review; borrows SWE-bench Verified {tiers} (finding what is wrong in "
              "code is the localisation half of fixing an issue)",
    "plan": "no benchmark measures plans; borrows SWE-bench Verified {tiers} (planning a change of this size "
            "is the first half of making it)",
    "refactor": "no per-task benchmark of refactoring ran the catalog's models; borrows SWE-bench Verified {tiers} "
                "(a change across a real repository that its tests check, as a refactor's must be)",
    "perf": "no benchmark of performance work ran the catalog's models; borrows SWE-bench Verified {tiers} "
            "(a change across a real repository that its tests check; the speed-up itself is not measured)",
}
#: Why some rows of a class with its own benchmark are borrowed (only when some are).
FILLED_NOTES: dict[str, str] = {
    "test": "SWT-bench has no run of some catalog models; their rows borrow SWE-bench Verified {tiers} (the same "
            "issues, fixed rather than reproduced by a test), marked borrowed",
    "build": "Terminal-Bench ran few of the catalog's models; the others' rows borrow SWE-bench Verified {tiers} "
             "(OpenHands, else mini-SWE-agent: work in a real repository and its toolchain), marked borrowed",
}
PRO_BESIDE_NOTE = "SWE-bench Pro (long repository-level tasks, no tiers) is shown beside for the models it ran"


# ---------------------------------------------------------------------------------------------
# statistics

def _z(confidence: float) -> float:
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def wilson(solved: float, n: int, confidence: float = 0.9) -> tuple[float, float]:
    """Two-sided Wilson score interval of a success rate ``solved / n`` (solved may be a fractional
    count: a sum of per-task means over trials)."""
    if n == 0:
        return 0.0, 1.0
    z = _z(confidence)
    p = solved / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(max(0.0, p * (1 - p)) / n + z * z / (4 * n * n)) / denom
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


def paired_difference(x: list[float], y: list[float], confidence_level: float) -> dict[str, Any]:
    """Rate of x minus rate of y on the same tasks (0/1 outcomes), Newcombe's interval, and the
    discordant counts [only x, only y]."""
    a = sum(1 for i, j in zip(x, y) if i and j)
    b = sum(1 for i, j in zip(x, y) if i and not j)
    c = sum(1 for i, j in zip(x, y) if j and not i)
    d = len(x) - a - b - c
    delta, lo, hi = paired_newcombe(a, b, c, d, confidence_level)
    return {"delta": _r(delta), "ci_low": _r(lo), "ci_high": _r(hi), "discordant": [b, c]}


# ---------------------------------------------------------------------------------------------
# which benchmark backs which class

@dataclass(frozen=True)
class Backing:
    """The tasks of one source, in some of its groups, behind a class."""

    source: str
    groups: tuple[Group, ...]
    borrowed: bool = False          # the source does not measure the class's task


@dataclass(frozen=True)
class ClassPlan:
    key: str
    task_type: str
    tier: int
    backings: tuple[Backing, ...]   # the first is the class's own source; a model's row comes from the first it is in
    beside: tuple[Backing, ...] = ()
    note: str | None = None         # why evidence is borrowed ({tiers} filled in)
    note_always: bool = True        # False: the note applies only when some row is borrowed


def _tiers_phrase(tier: int) -> str:
    tiers = CLASS_TIERS[tier]
    return f"tier {tier}" if len(tiers) == 1 else f"tiers {tiers[0]}-{tiers[-1]} (pooled)"


def _swebench(tier: int, borrowed: bool = False) -> tuple[Backing, Backing]:
    """SWE-bench Verified at a tier: the OpenHands runs, else mini-SWE-agent's for models OpenHands lacks."""
    return Backing(SWE_OH, CLASS_TIERS[tier], borrowed), Backing(SWE_MINI, CLASS_TIERS[tier], borrowed)


def class_plan(task_type: str, tier: int) -> ClassPlan:
    """The evidence behind one class (see training/README.md, "Classes and their sources")."""
    key = class_key(task_type, tier)
    beside: tuple[Backing, ...] = ()
    if task_type == "feature" and tier in LIVECODEBENCH_GROUPS:
        beside = (Backing(LIVECODEBENCH, LIVECODEBENCH_GROUPS[tier]),)
    if task_type in LONG_WORK_TYPES and tier >= 3:
        beside = (Backing(SWEBENCH_PRO, ("all",)),)
    if task_type in (ANY_TYPE, "bugfix", "feature"):
        return ClassPlan(key, task_type, tier, _swebench(tier), beside)
    if task_type == "test":
        return ClassPlan(key, task_type, tier, (Backing(SWT_OH, CLASS_TIERS[tier]), *_swebench(tier, True)),
                         beside, FILLED_NOTES["test"], note_always=False)
    if task_type == "build":
        return ClassPlan(key, task_type, tier, (Backing(TERMINAL_BENCH, TERMINAL_BENCH_GROUPS[tier]),
                                                *_swebench(tier, True)),
                         beside, FILLED_NOTES["build"], note_always=False)
    note = BORROWED_NOTES[task_type] + (f"; {PRO_BESIDE_NOTE}" if beside else "")
    return ClassPlan(key, task_type, tier, _swebench(tier, True), beside, note)


def class_plans() -> list[ClassPlan]:
    """Every class of the shipped leaderboard: ``*:t`` (any type), then each task type, tiers 1-4."""
    return [class_plan(t, d) for t in (ANY_TYPE, *TASK_TYPES) for d in DIFFICULTIES]


# ---------------------------------------------------------------------------------------------
# the builder

@dataclass(frozen=True)
class BoardInputs:
    catalog: list[CatalogModel]
    sources: dict[str, SourceRuns]
    plans: list[ClassPlan]
    input_hashes: dict[str, str]    # file -> sha256, folded into the version
    #: source -> model -> list input price / the input price the source billed its runs at
    price_scale: dict[str, dict[str, float]] = field(default_factory=dict)


def read_inputs(root: Path, models_csv: Path = MODELS_CSV) -> BoardInputs:
    """The model table and every source in the data folder, with the input files' hashes."""
    missing = [name for name in INPUT_FILES if not (root / name).exists()]
    if missing:
        raise FileNotFoundError(f"the data folder {root} lacks {', '.join(missing)} "
                                "(set KILO_DATA_DIR to a full copy of the data folder)")
    catalog = read_catalog(models_csv)
    hashes = {name: datasets.file_sha256(root / name) for name in INPUT_FILES}
    hashes["training/data/models.csv"] = datasets.file_sha256(models_csv)
    sources = read_sources(root, catalog)
    scale = openhands_price_scale(root, catalog)
    at_list_prices(sources, scale)
    return BoardInputs(catalog, sources, class_plans(), hashes, scale)


def at_list_prices(sources: dict[str, SourceRuns], scale: dict[str, dict[str, float]]) -> None:
    """Rescale each run's cost to the catalog's list prices (in place), so every cost the board shows
    and every ladder it chooses is what a user pays: the OpenHands index billed some models at other
    input prices than their maker's (a promotion, a reseller). Input tokens dominate an agent run's
    cost, so the cost scales with the input price."""
    for sid, factors in scale.items():
        sr = sources.get(sid)
        if sr is None:
            continue
        for mid, f in factors.items():
            runs = sr.runs.get(mid)
            if runs and f != 1.0:
                for task, (outcome, cost) in runs.items():
                    runs[task] = (outcome, None if cost is None else cost * f)


def openhands_price_scale(root: Path, catalog: list[CatalogModel]) -> dict[str, dict[str, float]]:
    """For the OpenHands sources: each catalog model's list input price over the one the index billed."""
    billed: dict[str, float] = {}
    with open(root / datasets.OPENHANDS_RUNS, newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            if r["agent"] == "openhands" and r["input_price"]:
                billed[r["model"]] = float(r["input_price"])
    scale = {m.id: m.input / billed[m.names["openhands"]] for m in catalog
             if billed.get(m.names.get("openhands", "")) and m.input}
    return {SWE_OH: scale, SWT_OH: scale}


def build(inputs: BoardInputs, *, balanced: str = BALANCED, frontier: str = FRONTIER,
          confidence_level: float = 0.9) -> dict[str, Any]:
    """The leaderboard JSON (a dict ``kilo_lsp.leaderboard.model.parse`` accepts)."""
    ids = [m.id for m in inputs.catalog]
    for role, mid in (("balanced", balanced), ("frontier", frontier)):
        if mid not in ids:
            raise ValueError(f"{role} model {mid!r} is not in the model table")
    classes: dict[str, Any] = {}
    ladders = LadderCache(inputs, frontier)
    for plan in inputs.plans:
        entry = class_entry(plan, inputs.sources, ids, balanced, confidence_level)
        if entry is not None:
            entry.update(ladders.of(plan))
            classes[plan.key] = entry
    lb: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "version": "",
        "built_at": max(m.release_date for m in inputs.catalog),
        "confidence_level": confidence_level,
        "balanced": balanced,
        "frontier": frontier,
        "paired_ci_method": "newcombe-hybrid-score (Newcombe 1998, method 10), two-sided",
        "rate_ci_method": "wilson, two-sided",
        "sources": {sid: sr.source.entry(sum(1 for m in ids if m in sr.runs))
                    for sid, sr in inputs.sources.items()},
        "models": [m.entry() for m in inputs.catalog],
        "classes": classes,
    }
    lb["version"] = version_of(lb, inputs.input_hashes)
    return lb


def class_entry(plan: ClassPlan, sources: dict[str, SourceRuns], ids: list[str], balanced: str,
                confidence_level: float) -> dict[str, Any] | None:
    """One class: a row per model from the first backing that has it, the rows shown beside, and the
    note when any evidence is borrowed; None when the class's own source has no task for it."""
    own = sources.get(plan.backings[0].source)
    if own is None or not own.tasks(plan.backings[0].groups):
        return None
    rows: dict[str, dict[str, Any]] = {}
    for mid in ids:
        for b in plan.backings:
            sr = sources.get(b.source)
            row = evidence_row(sr, b.groups, mid, balanced, confidence_level) if sr else None
            if row is not None:
                rows[mid] = dict(row, borrowed=b.borrowed)
                break
    ranked = [m for m in rows if rows[m]["source"] == own.source.id]
    best = max(ranked, key=lambda m: (rows[m]["rate"], -(rows[m]["cost_per_request"] or math.inf)), default="")
    for mid, row in rows.items():
        same = bool(best) and row["source"] == rows[best]["source"]
        row["vs_best"] = paired_vs(sources[row["source"]], plan, mid, best, confidence_level) if same else None
    beside: dict[str, dict[str, Any]] = {}
    for b in plan.beside:
        sr = sources.get(b.source)
        found = {mid: row for mid in ids
                 if sr and (row := evidence_row(sr, b.groups, mid, balanced, confidence_level)) is not None}
        if found:
            beside[b.source] = found
    borrowed = any(r["borrowed"] for r in rows.values())
    note = plan.note.format(tiers=_tiers_phrase(plan.tier)) if plan.note and (plan.note_always or borrowed) else None
    first = plan.backings[0]
    return {
        "label": class_label(plan, own), "task_type": plan.task_type, "tier": plan.tier,
        "source": first.source, "borrowed": note, "n_tasks": len(own.tasks(first.groups)),
        "groups": list(first.groups), "pooled": len(first.groups) > 1, "best": best,
        "models": dict(sorted(rows.items())), "beside": beside,
    }


def class_label(plan: ClassPlan, own: SourceRuns) -> str:
    """The tier's label, and which of the source's tasks back it when that is not plain."""
    groups = plan.backings[0].groups
    label = DIFFICULTY_LABELS[plan.tier]
    counts = {g: len(own.tasks((g,))) for g in groups}
    if all(isinstance(g, int) for g in groups):
        if len(groups) > 1:
            parts = ", ".join(f"{counts[g]} tier-{g}" for g in groups)
            label += f" - pooled with its neighbour: {parts} tasks ({counts.get(plan.tier, 0)} of its own)"
        return label
    return label + f" - {own.source.label}: its {', '.join(map(str, groups))} tasks ({sum(counts.values())})"


def evidence_row(sr: SourceRuns, groups: tuple[Group, ...], mid: str, balanced: str,
                 confidence_level: float) -> dict[str, Any] | None:
    """A model's figures on the source's tasks of these groups; None when it ran none of them."""
    runs = sr.runs.get(mid, {})
    have = [t for t in sr.tasks(groups) if t in runs]
    if not have:
        return None
    success = sum(runs[t][0] for t in have)
    n = len(have)
    lo, hi = wilson(success, n, confidence_level)
    costs = [c for t in have if (c := runs[t][1]) is not None]
    return {"source": sr.source.id, "solved": math.floor(success + 0.5), "n": n, "rate": _r(success / n),
            "ci_low": _r(lo), "ci_high": _r(hi),
            "cost_per_request": _r(sum(costs) / len(costs), 5) if costs else None,
            "vs_balanced": paired_vs_on(sr, have, mid, balanced, confidence_level)}


def paired_vs(sr: SourceRuns, plan: ClassPlan, mid: str, ref: str, confidence_level: float) -> dict[str, Any] | None:
    """``paired_vs_on`` over the tasks of the class that the source backs the model's row with."""
    groups = next(b.groups for b in (*plan.backings, *plan.beside) if b.source == sr.source.id)
    runs = sr.runs.get(mid, {})
    return paired_vs_on(sr, [t for t in sr.tasks(groups) if t in runs], mid, ref, confidence_level)


def paired_vs_on(sr: SourceRuns, tasks: list[str], mid: str, ref: str, confidence_level: float
                 ) -> dict[str, Any] | None:
    """The model against a reference on the tasks both ran in this source; None when the reference is
    not in the source, they share no task, or the outcomes are not 0/1."""
    ref_runs = sr.runs.get(ref)
    if not sr.source.binary or ref_runs is None:
        return None
    if mid == ref:
        return {"delta": 0.0, "ci_low": 0.0, "ci_high": 0.0}
    common = [t for t in tasks if t in ref_runs]
    if not common:
        return None
    runs = sr.runs[mid]
    return paired_difference([runs[t][0] for t in common], [ref_runs[t][0] for t in common], confidence_level)


def version_of(lb: dict[str, Any], input_hashes: dict[str, str] | None = None) -> str:
    """'lb-' + 12 hex of sha256 over the canonical content (minus version) and the input files' hashes."""
    body = {k: v for k, v in lb.items() if k != "version"}
    h = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8"))
    for name, digest in sorted((input_hashes or {}).items()):
        h.update(f"\n{name}:{digest}".encode("utf-8"))
    return "lb-" + h.hexdigest()[:12]


# ---------------------------------------------------------------------------------------------
# per-task matrices of a class

@dataclass(frozen=True)
class ClassMatrices:
    """One source's per-task figures behind a class: success per task (0/1, a mean over trials or a
    pass@1) and cost per task in USD; NaN where a model did not run the task or the source has no cost."""

    source: str
    task_ids: tuple[str, ...]
    outcomes: dict[str, np.ndarray]     # model id -> success per task
    costs: dict[str, np.ndarray]        # model id -> USD per task


def class_matrices(inputs: BoardInputs, key: str, source: str | None = None) -> ClassMatrices:
    """The outcome and cost matrices of a class over its tasks in ``source`` (default: the class's own
    source), for every catalog model that source ran; the hook a search over model ladders reads."""
    plan = next(p for p in inputs.plans if p.key == key)
    backing = next(b for b in (*plan.backings, *plan.beside) if source in (None, b.source))
    sr = inputs.sources[backing.source]
    tasks = sr.tasks(backing.groups)
    outcomes: dict[str, np.ndarray] = {}
    costs: dict[str, np.ndarray] = {}
    for m in inputs.catalog:
        runs = sr.runs.get(m.id)
        if not runs:
            continue
        got = [runs.get(t) for t in tasks]
        outcomes[m.id] = np.array([np.nan if o is None else o[0] for o in got])
        costs[m.id] = np.array([np.nan if o is None or o[1] is None else o[1] for o in got])
    return ClassMatrices(backing.source, tuple(tasks), outcomes, costs)


# ---------------------------------------------------------------------------------------------
# ladders

#: A class with fewer tasks than this takes the ladders chosen on all the tasks of its source: a search
#: over thousands of ladders on a few dozen tasks would fit their noise.
LADDER_MIN_TASKS = 100
#: A source that ran fewer catalog models than this cannot ladder the catalog: the class takes its
#: ladders from the first source behind it that ran more (Terminal-Bench ran three of them).
LADDER_MIN_MODELS = 8
#: The simulated user the ladders are chosen for (bench/escalation.py reports the others).
LADDER_USER = (0.8, 0.1)


class LadderCache:
    """Each class's ladders per dial, chosen by ``training.ladders`` on the per-task outcomes and costs of
    the class's own source, against the Frontier model alone on the same tasks (or the source's
    strongest model when Frontier did not run it); the dial's margin is fitted over the tasks' folds.
    Classes backed by the same tasks share their ladders."""

    def __init__(self, inputs: BoardInputs, frontier: str) -> None:
        self.inputs, self.frontier = inputs, frontier
        self._done: dict[tuple[str, tuple[str, ...]], tuple[dict[str, list[str]], int]] = {}

    def of(self, plan: ClassPlan) -> dict[str, Any]:
        """The class entry's ladder fields: ``ladders`` ({dial: ladder}), ``ladder_tasks`` and
        ``ladder_source`` (what they were chosen on) and ``ladder_steps`` ({dial: per rung [solved, n]}:
        rung 1 on all those tasks, each rung above on the tasks every rung below it failed)."""
        for backing in plan.backings:
            m = class_matrices(self.inputs, plan.key, backing.source)
            if len(m.outcomes) >= LADDER_MIN_MODELS:
                break
        tasks = m.task_ids if len(m.task_ids) >= LADDER_MIN_TASKS else tuple(sorted(self.inputs.sources[m.source].group_of))
        chosen, steps = self._ladders(m.source, tasks)
        return {"ladders": chosen, "ladder_tasks": len(tasks), "ladder_source": m.source, "ladder_steps": steps}

    def _ladders(self, source: str, task_ids: tuple[str, ...]
                 ) -> tuple[dict[str, list[str]], dict[str, list[list[float]]]]:
        key = (source, task_ids)
        if key not in self._done:
            outcomes, costs = source_matrices(self.inputs, source, task_ids)
            frontier = self.frontier if self.frontier in outcomes else max(outcomes, key=lambda k: outcomes[k].mean())
            folds = np.array([datasets.fold_of(t) for t in task_ids])
            chosen = {dial: ladders.choose_ladder(outcomes, costs, frontier, dial, *LADDER_USER, folds=folds)
                      for dial in ladders.DIALS}
            self._done[key] = (chosen, {dial: ladder_steps(outcomes, rungs) for dial, rungs in chosen.items()})
        return self._done[key]


def ladder_steps(outcomes: dict[str, np.ndarray], rungs: list[str]) -> list[list[float]]:
    """Per rung, [tasks solved, tasks tried]: rung 1 on every task, each rung above on the tasks every
    rung below it failed (expected counts where an outcome is a mean over trials)."""
    left = np.ones_like(next(iter(outcomes.values())))
    steps = []
    for mid in rungs:
        o = outcomes[mid]
        steps.append([_r(float((left * o).sum()), 2), _r(float(left.sum()), 2)])
        left = left * (1.0 - o)
    return steps


def source_matrices(inputs: BoardInputs, source: str, task_ids: tuple[str, ...]
                    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Outcomes and costs over ``task_ids`` of the catalog models that ran most of them (at least 90%):
    a task a model did not run counts as unsolved, a missing cost is the model's mean (costs are at
    list prices: ``at_list_prices``)."""
    sr = inputs.sources[source]
    outcomes: dict[str, np.ndarray] = {}
    costs: dict[str, np.ndarray] = {}
    for m in inputs.catalog:
        runs = sr.runs.get(m.id) or {}
        got = [runs.get(t) for t in task_ids]
        if sum(o is not None for o in got) < 0.9 * len(task_ids):
            continue
        outcomes[m.id] = np.array([0.0 if o is None else float(o[0]) for o in got])
        c = np.array([np.nan if o is None or o[1] is None else float(o[1]) for o in got])
        if np.isnan(c).all():
            continue
        costs[m.id] = np.where(np.isnan(c), np.nanmean(c), c)
    return {k: v for k, v in outcomes.items() if k in costs}, costs


# ---------------------------------------------------------------------------------------------
# the mini-SWE-agent matrix's model ids

def router_id(folder: str, catalog: list[CatalogModel]) -> str:
    """The router's id of a mini-SWE-agent folder: the model table's, else a cleaned-up folder name."""
    for m in catalog:
        if m.names.get("mini_swe_agent") == folder:
            return m.id
    tail = folder.split("_", 2)[-1]
    return "".join(ch if ch.isalnum() else "-" for ch in tail.lower()).strip("-")


# ---------------------------------------------------------------------------------------------

def build_from_dir(root: Path, confidence_level: float = 0.9, models_csv: Path = MODELS_CSV) -> dict[str, Any]:
    return build(read_inputs(root, models_csv), confidence_level=confidence_level)


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
    parsed = parse(lb)
    Path(args.out).write_text(dumps(lb), encoding="utf-8")
    print(f"{parsed.version}: {len(parsed.models)} models, {len(parsed.classes)} classes, sources "
          + ", ".join(f"{sid} ({s['models']} models)" for sid, s in lb["sources"].items())
          + f" -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
