"""`kilo/usage` on a year of ledger rows does not stall the streams in flight.

The ledger is seeded through the Ledger API with 100,000 rows in a real SQLite file (a year of heavy
use: 365 days, 12 workspaces, 8 models, failovers and cancellations). The totals are grouped in SQL
and computed in a worker thread on a connection of their own; a stream that runs meanwhile keeps
its pace. The previous way (one query per day and per workspace, on the event loop) is kept here as
the reference: the result must be the same, field for field, and both are timed in the same run.
"""

from __future__ import annotations

import random
import shutil
import sqlite3
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import msgspec
import pytest

from fake_provider import FakeProviderServer, Script
from rawlsp import RawSidecar, wait_until
from results import record

from kilo_lsp.ledger.store import Ledger, LedgerEntry
from kilo_lsp.protocol import DayUsage, ModelShare, UsageResult, WorkspaceUsage

KEY = "sk-or-v1-" "usage0000000000000000000000000KEY"
ROWS = 100_000
MODELS = ("gpt-5-mini", "claude-sonnet-4-6", "deepseek-v3.2", "gemini-2.5-flash", "qwen3-coder",
          "gpt-5", "claude-opus-4-1", "glm-4.6")
figures: dict = {}


@pytest.fixture(scope="module", autouse=True)
def keep_figures():
    yield
    record("usage", figures)


@pytest.fixture(scope="module")
def year_of_rows(tmp_path_factory) -> Path:
    """A ledger file with ROWS rows over the last 365 days, written with Ledger.record."""
    path = tmp_path_factory.mktemp("ledger") / "ledger.sqlite3"
    rng = random.Random(15)
    book = Ledger(path)
    now = datetime.now(timezone.utc)
    started = time.perf_counter()
    n = decision = 0
    while n < ROWS:
        decision += 1
        when = now - timedelta(seconds=rng.uniform(0, 365 * 86400))
        attempts = 1 if rng.random() < 0.95 else 2
        for attempt in range(attempts):
            outcome = "ok" if attempt == attempts - 1 else "error"
            if outcome == "ok" and rng.random() < 0.04:
                outcome = "cancelled"
            inp, out = rng.randint(200, 30000), rng.randint(10, 2000)
            book.record(LedgerEntry(
                decision_id=f"d{decision}", attempt=attempt, model=rng.choice(MODELS), provider="openrouter",
                outcome=outcome, workspace=f"file:///home/u/project{rng.randrange(12)}",
                conversation=f"c{rng.randrange(3000)}", input_tokens=inp, cached_input_tokens=inp // 3,
                output_tokens=out, usage_estimated=rng.random() < 0.05, cost_usd=inp * 1e-6 + out * 4e-6,
                balanced_cost_usd=inp * 3e-6 + out * 15e-6, frontier_cost_usd=inp * 15e-6 + out * 75e-6,
                time=when))
            n += 1
    book.close()
    figures["seeding"] = {"rows": n, "seconds": round(time.perf_counter() - started, 2)}
    return path


def usage_one_query_per_group(path: Path, workspace: str | None = None) -> UsageResult:
    """The reference: the totals as kilo/usage computed them before, one full query per day and per
    workspace (a year of rows: over 370 queries)."""
    totals = ("SELECT COUNT(DISTINCT decision_id), COUNT(*), COALESCE(SUM(input_tokens), 0),"
              " COALESCE(SUM(cached_input_tokens), 0), COALESCE(SUM(output_tokens), 0),"
              " COALESCE(SUM(cost_usd), 0), COALESCE(SUM(usage_estimated), 0),"
              " COALESCE(SUM(CASE WHEN outcome = 'ok' THEN balanced_cost_usd - cost_usd END), 0),"
              " COALESCE(SUM(CASE WHEN outcome = 'ok' THEN frontier_cost_usd - cost_usd END), 0),"
              " COALESCE(SUM(CASE WHEN outcome = 'ok' THEN balanced_cost_usd END), 0),"
              " COALESCE(SUM(CASE WHEN outcome = 'ok' THEN frontier_cost_usd END), 0) FROM requests ")

    def fields(row: Any) -> dict[str, Any]:
        return {"requests": row[0], "attempts": row[1], "input_tokens": row[2], "cached_input_tokens": row[3],
                "output_tokens": row[4], "cost_usd": round(row[5], 6), "estimated_rows": row[6],
                "saved_vs_balanced_usd": round(row[7], 6), "saved_vs_frontier_usd": round(row[8], 6),
                "balanced_cost_usd": round(row[9], 6), "frontier_cost_usd": round(row[10], 6)}

    where, args = ("WHERE workspace = ?", [workspace]) if workspace else ("", [])
    and_where = (where + " AND ") if where else "WHERE "
    conn = sqlite3.connect(path)
    try:
        total = fields(conn.execute(totals + where, args).fetchone())
        rows = conn.execute(f"SELECT model, COUNT(*), SUM(cost_usd) FROM requests {and_where}outcome = 'ok' "
                            "GROUP BY model ORDER BY COUNT(*) DESC, model", args).fetchall()
        answered = sum(r[1] for r in rows)
        models = {m: ModelShare(k, round(k / answered, 4) if answered else 0.0, round(c or 0.0, 6))
                  for m, k, c in rows}
        outcomes = dict(conn.execute(f"SELECT outcome, COUNT(*) FROM requests {where} GROUP BY outcome",
                                     args).fetchall())
        by: dict[str, list[Any]] = {}
        for group, cls in (("day", DayUsage), ("workspace", WorkspaceUsage)):
            keys = [r[0] for r in conn.execute(f"SELECT DISTINCT {group} FROM requests {where} ORDER BY {group}",
                                               args).fetchall()]
            by[group] = [cls(**{**fields(conn.execute(totals + f"{and_where}{group} = ?", [*args, key]).fetchone()),
                                group: key}) for key in keys]
    finally:
        conn.close()
    return UsageResult(**total, models=models, outcomes=outcomes, by_day=by["day"], by_workspace=by["workspace"])


def best_of(runs: int, fn) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def test_grouped_in_sql_gives_the_same_result(year_of_rows):
    """Same UsageResult, field for field, as one query per group (5 queries instead of over 370); both
    timed in the same run for the figures."""
    book = Ledger(year_of_rows)
    try:
        before, expected = best_of(3, lambda: usage_one_query_per_group(year_of_rows))
        after, got = best_of(3, book.usage)
        ws = "file:///home/u/project3"
        assert msgspec.json.encode(book.usage(workspace=ws)) == msgspec.json.encode(
            usage_one_query_per_group(year_of_rows, ws))
    finally:
        book.close()
    figures["kilo/usage on 100,000 rows (best of 3, ms)"] = {
        "one query per day and workspace (before)": round(before * 1000), "grouped in SQL (after)": round(after * 1000)}
    assert got.attempts == ROWS and len(got.by_day) >= 360 and len(got.by_workspace) == 12
    assert msgspec.json.encode(got) == msgspec.json.encode(expected)


class TimedSidecar(RawSidecar):
    """Keeps the time each message arrived, to measure the gaps in a stream."""

    def __init__(self, *a: Any, **kw: Any) -> None:
        self.arrivals: list[tuple[float, dict[str, Any]]] = []
        super().__init__(*a, **kw)

    def _dispatch(self, msg: dict[str, Any]) -> None:
        self.arrivals.append((time.monotonic(), msg))
        super()._dispatch(msg)


def test_a_stream_keeps_flowing_while_usage_runs(tmp_path, year_of_rows):
    """A stream of one event every 10 ms: the longest pause between its chunks while three
    kilo/usage requests run on the year of rows stays far below the time one of them takes."""
    db = tmp_path / "data" / "kilo-lsp" / "ledger.sqlite3"
    db.parent.mkdir(parents=True)
    shutil.copy(year_of_rows, db)
    fake = FakeProviderServer().start()
    fake.on("openai/gpt-5-mini", Script(texts=tuple(f"t{i} " for i in range(600)), chunk_delay=0.01))
    lsp = TimedSidecar(tmp_path, env={"OPENROUTER_API_KEY": KEY, "KILO_OPENROUTER_BASE_URL": fake.url("/v1")})
    try:
        lsp.initialize()
        stream = lsp.send("kilo/complete", {"text": "rename a to b", "pin": "gpt-5-mini", "maxTokens": 4000})
        assert wait_until(lambda: len(lsp.notifications("kilo/chunk")) >= 20, 20)
        windows, answers = [], []
        for _ in range(3):
            t0 = time.monotonic()
            answers.append(lsp.request("kilo/usage", {}, timeout=60))
            windows.append((t0, time.monotonic()))
        done = lsp.wait(stream, 60)
    finally:
        lsp.close()
        fake.stop()
    assert all("result" in a for a in answers), answers[0]
    assert answers[0]["result"]["attempts"] == ROWS and len(answers[0]["result"]["byDay"]) >= 360
    assert "result" in done, done
    chunks = [t for t, m in lsp.arrivals if m.get("method") == "kilo/chunk"]
    gaps_during = [b - a for a, b in zip(chunks, chunks[1:]) if any(s <= b and a <= e for s, e in windows)]
    gaps_before = [b - a for a, b in zip(chunks, chunks[1:]) if b < windows[0][0]]
    usage_ms = [round((e - s) * 1000) for s, e in windows]
    assert len(gaps_during) >= 3, "the stream ended before kilo/usage answered"
    figures["stream while kilo/usage runs on 100,000 rows"] = {
        "kilo/usage round trips (ms)": usage_ms,
        "longest pause between chunks before (ms)": round(max(gaps_before) * 1000),
        "longest pause between chunks during (ms)": round(max(gaps_during) * 1000),
        "chunks during": len(gaps_during)}
    assert max(gaps_during) < max(0.15, min(usage_ms) / 1000 / 2), (max(gaps_during), usage_ms)
