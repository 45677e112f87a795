"""The model table: the models the router knows, their prices and routes, and their names in every source.

``training/data/models.csv`` is the one place where a model's identity across the benchmarks is
decided: each row names the model in every source that ran it, and its ``note`` says why where the
match is not obvious. ``training/data/models_left_out.csv`` says why each other model of the two
sources that define the catalog (the OpenHands index and mini-SWE-agent) is not in it. The rule is in
training/README.md, "The model table"; tests check the table against it and against the data.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MODELS_CSV = Path(__file__).resolve().parent / "data" / "models.csv"

#: The columns that name a model in a source: mini-SWE-agent folder, OpenHands index ``model``,
#: Terminal-Bench ``model``, LiveCodeBench ``model``, aider ``model``, SWE-bench Pro ``run``.
SOURCE_COLUMNS = ("mini_swe_agent", "openhands", "terminal_bench", "livecodebench", "aider", "swebench_pro")

#: OpenRouter-compatible gateways: both take the table's ``gateway_model`` (``vendor/model``).
GATEWAYS = ("openrouter", "kilo")


@dataclass(frozen=True)
class CatalogModel:
    id: str                          # the router's id, e.g. "claude-sonnet-4-6"
    name: str
    maker: str
    release_date: str
    context_window: int | None       # None: no price table lists it
    input: float                     # USD per million tokens
    output: float
    cached_input: float | None       # None: no cached-input price is listed
    price_source: str                # "litellm 1.110.2", "litellm 1.80.0" or "openhands_index/runs.csv"
    routes: dict[str, str]           # provider -> the model's id there
    names: dict[str, str]            # source column -> the model's name in that source

    def entry(self) -> dict[str, Any]:
        """The model as the leaderboard lists it (a missing cached price is the input price, a missing
        window the loader's default)."""
        out: dict[str, Any] = {
            "id": self.id, "name": self.name, "maker": self.maker, "release_date": self.release_date,
            "prices": {"input": self.input, "output": self.output,
                       "cached_input": self.input if self.cached_input is None else self.cached_input},
            "price_source": self.price_source, "routes": dict(self.routes), "benchmark_ids": dict(self.names),
        }
        if self.context_window is not None:
            out["context_window"] = self.context_window
        return out


def _routes(row: dict[str, str]) -> dict[str, str]:
    routes = {row["provider"]: row["provider_model"]} if row["provider"] else {}
    if row["gateway_model"]:
        routes.update({g: row["gateway_model"] for g in GATEWAYS})
    return routes


def read_catalog(path: Path = MODELS_CSV) -> list[CatalogModel]:
    """The rows of the model table, in its order."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [CatalogModel(
        id=r["id"], name=r["name"], maker=r["maker"], release_date=r["release_date"],
        context_window=int(r["context_window"]) if r["context_window"] else None,
        input=float(r["input"]), output=float(r["output"]),
        cached_input=float(r["cached_input"]) if r["cached_input"] else None,
        price_source=r["price_source"], routes=_routes(r),
        names={c: r[c] for c in SOURCE_COLUMNS if r.get(c)},
    ) for r in rows]


def ids_by_name(catalog: list[CatalogModel], column: str) -> dict[str, str]:
    """A source's model names -> catalog ids; a name claimed by two models is an error of the table."""
    out: dict[str, str] = {}
    for m in catalog:
        name = m.names.get(column)
        if name is None:
            continue
        if name in out:
            raise ValueError(f"{column} name {name!r} maps to both {out[name]} and {m.id}")
        out[name] = m.id
    return out
