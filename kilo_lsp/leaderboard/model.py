"""The leaderboard the router reads: models, their prices, and proven accuracy per task class.

The shipped file is built from benchmark outcomes by ``training/build_leaderboard.py``; users may
point ``routing.leaderboardPath`` at their own file of the same shape (see README, "Leaderboard").
Schema 2 names the source of every evidence row and of every class, says when a class borrows
another task's evidence, and lists the sources; schema 1 files (one source, no such fields) still load.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from ..files import read_checked
from ..taxonomy import ANY_TYPE, class_key

SCHEMA_VERSION = 2     # the schema training/build_leaderboard.py writes
#: The largest leaderboard file read (the shipped one is under 1 MB).
MAX_FILE_BYTES = 32 * 1024 * 1024
#: Schemas this loader reads: 1 is a one-source board without sources, borrowed notes or rows beside.
READABLE_SCHEMAS = (1, 2)


from .errors import LeaderboardError  # noqa: E402,F401  (re-exported)


@dataclass(frozen=True)
class Prices:
    """USD per million tokens."""

    input: float
    output: float
    cached_input: float

    def cost(self, input_tokens: int, output_tokens: int, cached_input_tokens: int = 0) -> float:
        fresh = max(0, input_tokens - cached_input_tokens)
        return (fresh * self.input + cached_input_tokens * self.cached_input + output_tokens * self.output) / 1e6


@dataclass(frozen=True)
class Model:
    id: str                          # the router's own id, e.g. "claude-sonnet-4-5"
    name: str                        # display name
    maker: str                       # e.g. "anthropic"
    prices: Prices
    context_window: int
    free: bool = False
    local: bool = False
    routes: dict[str, str] = field(default_factory=dict)   # provider name -> model id at that provider
    benchmark_ids: dict[str, str] = field(default_factory=dict)   # source -> the model's name there


@dataclass(frozen=True)
class Paired:
    """A paired difference of success rates against a reference model on the same tasks."""

    delta: float      # this model's rate minus the reference's
    ci_low: float     # lower confidence bound of the difference
    ci_high: float


@dataclass(frozen=True)
class Evidence:
    """What a benchmark proved of one model on one task class."""

    solved: int
    n: int
    rate: float
    ci_low: float              # Wilson lower bound at the leaderboard's confidence level
    ci_high: float
    # Mean USD per task of this class on the benchmark. A routing row without one reads 0.0, which the
    # policy prices at list prices; only rows shown beside keep None (a source without costs).
    cost_per_request: float | None
    vs_balanced: Paired | None = None   # None: Balanced is not in this row's source
    vs_best: Paired | None = None
    source: str = ""           # the source id of this row (a benchmark run by one scaffold)
    borrowed: bool = False     # the row's benchmark does not measure this class's task


@dataclass(frozen=True)
class Source:
    """A benchmark run by one scaffold, as the leaderboard cites it."""

    label: str
    benchmark: str
    scaffold: str
    tasks: int
    url: str
    licence: str
    cost: str = ""             # how its cost per task is measured, or why it has none
    models: int = 0            # catalog models it ran


@dataclass(frozen=True)
class TaskClass:
    key: str                   # "bugfix:2", "*:3"
    label: str
    source: str                # the class's own source (its primary benchmark)
    n_tasks: int
    best: str                  # model id with the highest rate in the class's own source
    evidence: dict[str, Evidence]                     # the rows routing reads, one per model
    borrowed: str | None = None                       # why (some of) its evidence comes from another task
    beside: dict[str, dict[str, Evidence]] = field(default_factory=dict)   # source -> rows shown beside
    #: dial -> the models a task of this class starts on and moves up through when an answer fails,
    #: cheapest first, chosen on ``ladder_tasks`` tasks of ``ladder_source`` (empty: none chosen)
    ladders: dict[str, tuple[str, ...]] = field(default_factory=dict)
    ladder_source: str = ""
    ladder_tasks: int = 0
    #: dial -> per rung (solved, tried): rung 1 on all ``ladder_tasks``, each rung above on the tasks
    #: every rung below it failed
    ladder_steps: dict[str, tuple[tuple[float, float], ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Leaderboard:
    version: str
    confidence_level: float
    balanced: str
    frontier: str
    models: dict[str, Model]
    classes: dict[str, TaskClass]
    sources: dict[str, Source] = field(default_factory=dict)   # source id -> what it is
    built_at: str = ""
    path: str = ""

    def task_class(self, task_type: str, difficulty: int) -> TaskClass | None:
        """The evidence for a request: its exact class, else the any-type class of its tier."""
        return self.classes.get(class_key(task_type, difficulty)) or self.classes.get(class_key(ANY_TYPE, difficulty))

    def with_models(self, extra: list[Model]) -> "Leaderboard":
        """A copy with more models (discovered local models), without evidence of their own."""
        models = dict(self.models)
        for model in extra:
            models.setdefault(model.id, model)
        return replace(self, models=models)


def _paired(raw: Any) -> Paired | None:
    if raw is None:
        return None
    return Paired(float(raw["delta"]), float(raw["ci_low"]), float(raw["ci_high"]))


def _evidence(e: dict[str, Any], source: str, routing: bool) -> Evidence:
    """One row; a routing row without a cost reads 0.0 (see ``Evidence.cost_per_request``)."""
    cost = e.get("cost_per_request")
    return Evidence(int(e["solved"]), int(e["n"]), float(e["rate"]), float(e["ci_low"]), float(e["ci_high"]),
                    float(cost or 0.0) if routing else (None if cost is None else float(cost)),
                    _paired(e.get("vs_balanced")), _paired(e.get("vs_best")),
                    str(e.get("source", source)), bool(e.get("borrowed", False)))


def _task_class(key: str, c: dict[str, Any], models: dict[str, Model]) -> TaskClass:
    source = c.get("source", "")
    evidence = {mid: _evidence(e, source, True) for mid, e in c["models"].items() if mid in models}
    beside = {sid: {mid: _evidence(e, sid, False) for mid, e in rows.items() if mid in models}
              for sid, rows in c.get("beside", {}).items()}
    ladders, steps = {}, {}
    for dial, rungs in c.get("ladders", {}).items():
        if all(m in models for m in rungs):     # a ladder is whole or not at all: its steps depend on every rung
            ladders[dial] = tuple(rungs)
            raw = c.get("ladder_steps", {}).get(dial, [])
            if len(raw) == len(rungs):
                steps[dial] = tuple((float(a), float(b)) for a, b in raw)
    return TaskClass(key, c.get("label", key), source, int(c.get("n_tasks", 0)), c.get("best", ""), evidence,
                     c.get("borrowed"), beside, ladders, str(c.get("ladder_source", "")), int(c.get("ladder_tasks", 0)),
                     steps)


def _source(s: dict[str, Any]) -> Source:
    return Source(str(s["label"]), str(s.get("benchmark", "")), str(s.get("scaffold", "")), int(s.get("tasks", 0)),
                  str(s.get("url", "")), str(s.get("licence", "")), str(s.get("cost", "")), int(s.get("models", 0)))


def parse(raw: dict[str, Any], path: str = "") -> Leaderboard:
    """Build a Leaderboard from its JSON form; raise LeaderboardError naming what is wrong."""
    try:
        schema = raw.get("schema")
        if schema not in READABLE_SCHEMAS:
            raise LeaderboardError(f"schema {schema!r} is not one of {', '.join(map(str, READABLE_SCHEMAS))}")
        models: dict[str, Model] = {}
        for m in raw["models"]:
            p = m["prices"]
            models[m["id"]] = Model(
                id=m["id"], name=m.get("name", m["id"]), maker=m.get("maker", ""),
                prices=Prices(float(p["input"]), float(p["output"]), float(p.get("cached_input", p["input"]))),
                context_window=int(m.get("context_window", 128_000)),
                free=bool(m.get("free", False)), local=bool(m.get("local", False)),
                routes=dict(m.get("routes", {})),
                benchmark_ids=dict(m.get("benchmark_ids", {})) if schema == 2 else {},
            )
        classes = {key: _task_class(key, c, models) for key, c in raw.get("classes", {}).items()}
        for role in ("balanced", "frontier"):
            if raw[role] not in models:
                raise LeaderboardError(f"{role} model {raw[role]!r} is not among the models")
        sources = {sid: _source(s) for sid, s in raw.get("sources", {}).items()} if schema == 2 else {}
        return Leaderboard(
            version=str(raw["version"]), confidence_level=float(raw.get("confidence_level", 0.9)),
            balanced=raw["balanced"], frontier=raw["frontier"], models=models, classes=classes,
            sources=sources, built_at=str(raw.get("built_at", "")), path=path,
        )
    except LeaderboardError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise LeaderboardError(f"leaderboard {path or '(inline)'}: bad or missing field: {exc}") from exc


def load(path: str | Path | None = None) -> Leaderboard:
    """Load a leaderboard file, or the one shipped in the package when no path is given."""
    if path:
        p = Path(path).expanduser()
        try:   # a regular file of at most MAX_FILE_BYTES (kilo_lsp/files.py: /dev/stdin hung the server)
            text = read_checked(p, "routing.leaderboardPath", MAX_FILE_BYTES).decode("utf-8")
        except OSError as exc:
            raise LeaderboardError(f"cannot read leaderboard: {exc}") from exc
        except UnicodeDecodeError as exc:
            raise LeaderboardError(f"leaderboard {p} is not UTF-8 text") from exc
        where = str(p)
    else:
        text = resources.files("kilo_lsp.data").joinpath("leaderboard.json").read_text(encoding="utf-8")
        where = "(built-in)"
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LeaderboardError(f"leaderboard {where} is not valid JSON: {exc}") from exc
    return parse(raw, where)
