"""The leaderboard the router reads: models, their prices, and proven accuracy per task class.

The shipped file is built from benchmark outcomes by ``training/build_leaderboard.py``; users may
point ``routing.leaderboardPath`` at their own file of the same shape (see README, "Leaderboard").
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from ..taxonomy import ANY_TYPE, class_key

SCHEMA_VERSION = 1


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
    benchmark_ids: tuple[str, ...] = ()                     # ids of the model in the source data


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
    cost_per_request: float    # mean measured USD per task of this class on the benchmark
    vs_balanced: Paired | None = None
    vs_best: Paired | None = None


@dataclass(frozen=True)
class TaskClass:
    key: str                   # "bugfix:2", "*:3"
    label: str
    source: str                # which benchmark the evidence comes from
    n_tasks: int
    best: str                  # model id with the highest rate
    evidence: dict[str, Evidence]


@dataclass(frozen=True)
class Leaderboard:
    version: str
    confidence_level: float
    balanced: str
    frontier: str
    models: dict[str, Model]
    classes: dict[str, TaskClass]
    sources: tuple[dict[str, str], ...] = ()
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
        return Leaderboard(self.version, self.confidence_level, self.balanced, self.frontier, models,
                           self.classes, self.sources, self.built_at, self.path)


def _paired(raw: Any) -> Paired | None:
    if raw is None:
        return None
    return Paired(float(raw["delta"]), float(raw["ci_low"]), float(raw["ci_high"]))


def parse(raw: dict[str, Any], path: str = "") -> Leaderboard:
    """Build a Leaderboard from its JSON form; raise LeaderboardError naming what is wrong."""
    try:
        if raw.get("schema") != SCHEMA_VERSION:
            raise LeaderboardError(f"schema {raw.get('schema')!r} is not {SCHEMA_VERSION}")
        models: dict[str, Model] = {}
        for m in raw["models"]:
            p = m["prices"]
            models[m["id"]] = Model(
                id=m["id"], name=m.get("name", m["id"]), maker=m.get("maker", ""),
                prices=Prices(float(p["input"]), float(p["output"]), float(p.get("cached_input", p["input"]))),
                context_window=int(m.get("context_window", 128_000)),
                free=bool(m.get("free", False)), local=bool(m.get("local", False)),
                routes=dict(m.get("routes", {})), benchmark_ids=tuple(m.get("benchmark_ids", ())),
            )
        classes: dict[str, TaskClass] = {}
        for key, c in raw.get("classes", {}).items():
            evidence = {
                mid: Evidence(int(e["solved"]), int(e["n"]), float(e["rate"]), float(e["ci_low"]),
                              float(e["ci_high"]), float(e.get("cost_per_request", 0.0)),
                              _paired(e.get("vs_balanced")), _paired(e.get("vs_best")))
                for mid, e in c["models"].items() if mid in models
            }
            classes[key] = TaskClass(key, c.get("label", key), c.get("source", ""), int(c.get("n_tasks", 0)),
                                     c.get("best", ""), evidence)
        for role in ("balanced", "frontier"):
            if raw[role] not in models:
                raise LeaderboardError(f"{role} model {raw[role]!r} is not among the models")
        return Leaderboard(
            version=str(raw["version"]), confidence_level=float(raw.get("confidence_level", 0.9)),
            balanced=raw["balanced"], frontier=raw["frontier"], models=models, classes=classes,
            sources=tuple(raw.get("sources", ())), built_at=str(raw.get("built_at", "")), path=path,
        )
    except LeaderboardError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise LeaderboardError(f"leaderboard {path or '(inline)'}: bad or missing field: {exc}") from exc


def load(path: str | Path | None = None) -> Leaderboard:
    """Load a leaderboard file, or the one shipped in the package when no path is given."""
    if path:
        p = Path(path).expanduser()
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as exc:
            raise LeaderboardError(f"cannot read leaderboard {p}: {exc.strerror}") from exc
        where = str(p)
    else:
        text = resources.files("kilo_lsp.data").joinpath("leaderboard.json").read_text(encoding="utf-8")
        where = "(built-in)"
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LeaderboardError(f"leaderboard {where} is not valid JSON: {exc}") from exc
    return parse(raw, where)
