"""The usage ledger: one SQLite row per attempt of a forwarded request, in the user's data dir.

What is stored: time, workspace, conversation, decision id and attempt number, model, provider,
token counts (and whether they were estimated), the cost, the counterfactual cost of the same
tokens on the Balanced and the Frontier model, and the outcome. No prompt text, no keys. A second
table keeps how each decision's answer worked out (accepted, rejected or failed; said by the user
or read from the next turn, with the reason the user gave), for the per-class figures of the
user's own results.

A third table, ``decisions``, keeps each decision the sidecar made (``kilo/route`` and
``kilo/complete``, not dry runs) for the dashboard's decision cards and its replay under the other
dial: time, workspace, conversation, turn, the chosen model, tier, dial, reason code, whether it
escalated, the task class, and as JSON (``record``) the card's routing fields (the reason, task type,
tier and confidence, the ladder and rung, each candidate's evidence and estimated cost, the Balanced
and Frontier estimates) and what the policy read besides (the conversation's model before it, the
models that could be called, the routing settings, your own results on the class). Never the request
text, the classifier's signals, file names or the words given with a failed answer
(``routing/replay.py``). Rows older than ``DECISIONS_KEPT_DAYS`` are deleted as new ones are written.

- The file is opened on first use, never at import or start-up, in WAL mode (readers never block
  the writer; a crash loses at most the last transaction).
- ``(decision_id, attempt)`` is unique: recording the same attempt twice is a no-op, so a request
  is never charged twice.
- ``time`` is UTC (ISO 8601); ``day`` is the *local* calendar date at the time of the request, so
  "spent today" and daily budgets reset at the user's midnight.
- Writes are single short transactions (well under a millisecond on a local disk); the object is
  safe to share between threads, so it may be called directly from asyncio or via a thread.
"""

from __future__ import annotations

import sqlite3
import threading
import time as _time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import platformdirs

from ..config import APP_NAME
from ..protocol import DayUsage, ModelShare, UsageResult, WorkspaceUsage
from ..routing.outcomes import OUTCOMES as ANSWER_OUTCOMES, SOURCES, OutcomeRecord
from ..routing.replay import DecisionRecord, Spent, decode as decode_decision, encode as encode_decision

OUTCOMES = ("ok", "cancelled", "error")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
    id INTEGER PRIMARY KEY,
    time TEXT NOT NULL,
    day TEXT NOT NULL,
    workspace TEXT NOT NULL DEFAULT '',
    conversation TEXT NOT NULL DEFAULT '',
    decision_id TEXT NOT NULL,
    attempt INTEGER NOT NULL DEFAULT 0,
    model TEXT NOT NULL,
    provider TEXT NOT NULL,
    input_tokens INTEGER NOT NULL DEFAULT 0,
    cached_input_tokens INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    usage_estimated INTEGER NOT NULL DEFAULT 0,
    cost_usd REAL NOT NULL DEFAULT 0,
    balanced_cost_usd REAL NOT NULL DEFAULT 0,
    frontier_cost_usd REAL NOT NULL DEFAULT 0,
    outcome TEXT NOT NULL,
    UNIQUE (decision_id, attempt)
);
CREATE INDEX IF NOT EXISTS requests_day_workspace ON requests (day, workspace);
CREATE INDEX IF NOT EXISTS requests_conversation ON requests (conversation);
CREATE TABLE IF NOT EXISTS outcomes (
    decision_id TEXT PRIMARY KEY,
    time TEXT NOT NULL,
    workspace TEXT NOT NULL DEFAULT '',
    conversation TEXT NOT NULL DEFAULT '',
    task_class TEXT NOT NULL,
    model TEXT NOT NULL,
    outcome TEXT NOT NULL,
    source TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS outcomes_class ON outcomes (task_class, model);
CREATE TABLE IF NOT EXISTS decisions (
    decision_id TEXT PRIMARY KEY,
    time TEXT NOT NULL,
    day TEXT NOT NULL,
    workspace TEXT NOT NULL DEFAULT '',
    conversation TEXT NOT NULL DEFAULT '',
    turn INTEGER NOT NULL DEFAULT 0,
    model TEXT NOT NULL,
    tier TEXT NOT NULL,
    dial TEXT NOT NULL,
    reason_code TEXT NOT NULL,
    escalated INTEGER NOT NULL DEFAULT 0,
    task_class TEXT NOT NULL DEFAULT '',
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS decisions_conversation ON decisions (workspace, conversation, time);
CREATE INDEX IF NOT EXISTS decisions_day ON decisions (day);
"""
_SCHEMA_VERSION = 3
#: Decisions are kept this long (the dashboard's recent conversations and replays).
DECISIONS_KEPT_DAYS = 90
_PRUNE_EVERY_SECONDS = 3600.0

#: The columns of UsageTotals, as SQL aggregates (see Ledger._totals).
_TOTALS = ("COUNT(DISTINCT decision_id), COUNT(*), COALESCE(SUM(input_tokens), 0),"
           " COALESCE(SUM(cached_input_tokens), 0), COALESCE(SUM(output_tokens), 0),"
           " COALESCE(SUM(cost_usd), 0), COALESCE(SUM(usage_estimated), 0),"
           " COALESCE(SUM(CASE WHEN outcome = 'ok' THEN balanced_cost_usd - cost_usd END), 0),"
           " COALESCE(SUM(CASE WHEN outcome = 'ok' THEN frontier_cost_usd - cost_usd END), 0),"
           " COALESCE(SUM(CASE WHEN outcome = 'ok' THEN balanced_cost_usd END), 0),"
           " COALESCE(SUM(CASE WHEN outcome = 'ok' THEN frontier_cost_usd END), 0)")


def default_path() -> Path:
    """ledger.sqlite3 in the user's data directory ($XDG_DATA_HOME/kilo-lsp on Linux, the platform's
    own on macOS and Windows)."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "ledger.sqlite3"


@dataclass
class LedgerEntry:
    decision_id: str
    model: str
    provider: str
    outcome: str = "ok"                       # ok | cancelled | error
    attempt: int = 0                          # 0 for the first provider tried, 1 after one failover, ...
    workspace: str = ""
    conversation: str = ""
    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    usage_estimated: bool = False
    cost_usd: float = 0.0
    balanced_cost_usd: float = 0.0
    frontier_cost_usd: float = 0.0
    time: datetime | None = None              # default: now; stored as UTC


class Ledger:
    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path).expanduser() if path else default_path()
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._pruned_at: float | None = None

    # ----------------------------------------------------------------- connection

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=5.0, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")       # durable across app crashes; fast in WAL
            conn.execute("PRAGMA busy_timeout=5000")         # several editor windows share the file
            conn.executescript(_SCHEMA)
            if conn.execute("PRAGMA user_version").fetchone()[0] < _SCHEMA_VERSION:
                conn.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")
            self._conn = conn
        return self._conn

    @property
    def is_open(self) -> bool:
        return self._conn is not None

    def close(self) -> None:
        """Close the file; the next call opens it again."""
        with self._lock:
            if self._conn is not None:
                conn, self._conn = self._conn, None
                conn.close()

    def journal_mode(self) -> str:
        with self._lock:
            return str(self._connect().execute("PRAGMA journal_mode").fetchone()[0])

    # ----------------------------------------------------------------- writes

    def record(self, entry: LedgerEntry) -> bool:
        """Store one attempt. False if this (decision_id, attempt) was already recorded."""
        if entry.outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {OUTCOMES}, not {entry.outcome!r}")
        when = entry.time or datetime.now(timezone.utc)
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        row = (when.astimezone(timezone.utc).isoformat(timespec="milliseconds"), when.astimezone().date().isoformat(),
               entry.workspace, entry.conversation, entry.decision_id, int(entry.attempt), entry.model,
               entry.provider, int(entry.input_tokens), int(entry.cached_input_tokens), int(entry.output_tokens),
               int(bool(entry.usage_estimated)), float(entry.cost_usd), float(entry.balanced_cost_usd),
               float(entry.frontier_cost_usd), entry.outcome)
        with self._lock:
            cur = self._connect().execute(
                "INSERT OR IGNORE INTO requests (time, day, workspace, conversation, decision_id, attempt, model,"
                " provider, input_tokens, cached_input_tokens, output_tokens, usage_estimated, cost_usd,"
                " balanced_cost_usd, frontier_cost_usd, outcome) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", row)
            return cur.rowcount == 1

    # ----------------------------------------------------------------- reads

    @staticmethod
    def today() -> str:
        return datetime.now().astimezone().date().isoformat()

    def spent_today(self, workspace: str | None = None) -> float:
        """USD spent today (local date), in one workspace or in all."""
        where, args = "day = ?", [self.today()]
        if workspace is not None:
            where += " AND workspace = ?"
            args.append(workspace)
        with self._lock:
            value = self._connect().execute(f"SELECT COALESCE(SUM(cost_usd), 0) FROM requests WHERE {where}",
                                            args).fetchone()[0]
        return float(value)

    def usage(self, workspace: str | None = None, conversation: str | None = None,
              day: str | None = None) -> UsageResult:
        """Totals over the matching rows, plus the same grouped per day and per workspace.

        ``requests`` counts requests (distinct decisions), ``attempts`` counts rows. Cost and tokens
        add up every attempt (a cancelled attempt is charged what the provider received). Savings
        compare answered requests only: the Balanced/Frontier cost of their tokens minus their cost.
        ``models`` gives each model's share of the answered requests.

        SQLite does the grouping (one GROUP BY per grouping, a year of rows in a few hundred
        milliseconds), on a connection of its own opened for this call: it takes no lock the writer
        needs, so a caller may run it in a worker thread while requests are being recorded (WAL lets
        the reader see the last committed rows without blocking the writer).
        """
        clauses, args = [], []
        for column, value in (("workspace", workspace), ("conversation", conversation), ("day", day)):
            if value is not None:
                clauses.append(f"{column} = ?")
                args.append(value)
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        and_where = (where + " AND ") if where else "WHERE "
        with self._lock:
            self._connect()                                 # the file and its schema exist from here on
        conn = sqlite3.connect(self.path, timeout=5.0, isolation_level=None)
        try:
            conn.execute("PRAGMA busy_timeout=5000")
            conn.execute("BEGIN")                           # one snapshot for every query below
            total = self._totals(conn.execute(f"SELECT {_TOTALS} FROM requests {where}", args).fetchone())
            rows = conn.execute(
                f"SELECT model, COUNT(*), SUM(cost_usd) FROM requests {and_where}outcome = 'ok' GROUP BY model "
                "ORDER BY COUNT(*) DESC, model", args).fetchall()
            answered = sum(r[1] for r in rows)
            models = {m: ModelShare(n, round(n / answered, 4) if answered else 0.0, round(c or 0.0, 6))
                      for m, n, c in rows}
            outcomes = dict(conn.execute(f"SELECT outcome, COUNT(*) FROM requests {where} GROUP BY outcome",
                                         args).fetchall())
            by: dict[str, list[Any]] = {}
            for group, cls in (("day", DayUsage), ("workspace", WorkspaceUsage)):
                by[group] = [cls(**{**self._totals(r[1:]), group: r[0]}) for r in conn.execute(
                    f"SELECT {group}, {_TOTALS} FROM requests {where} GROUP BY {group} ORDER BY {group}", args)]
            conn.execute("COMMIT")
        finally:
            conn.close()
        return UsageResult(**total, models=models, outcomes=outcomes, by_day=by["day"],
                           by_workspace=by["workspace"])

    @staticmethod
    def _totals(row: Any) -> dict[str, Any]:
        """The fields of UsageTotals from one row of ``_TOTALS``."""
        return {"requests": row[0], "attempts": row[1], "input_tokens": row[2], "cached_input_tokens": row[3],
                "output_tokens": row[4], "cost_usd": round(row[5], 6), "estimated_rows": row[6],
                "saved_vs_balanced_usd": round(row[7], 6), "saved_vs_frontier_usd": round(row[8], 6),
                "balanced_cost_usd": round(row[9], 6), "frontier_cost_usd": round(row[10], 6)}

    def entries(self, limit: int = 100) -> list[dict[str, Any]]:
        """The latest rows, newest first (for `kilo/usage` details and debugging)."""
        with self._lock:
            cur = self._connect().execute("SELECT * FROM requests ORDER BY id DESC LIMIT ?", (limit,))
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r)) for r in cur.fetchall()]


    # ----------------------------------------------------------------- how answers worked out

    def record_outcome(self, record: OutcomeRecord, when: datetime | None = None) -> bool:
        """Keep a decision's outcome: the user's word replaces a read one, never the other way round.
        False when an earlier one was kept instead."""
        if record.outcome not in ANSWER_OUTCOMES or record.source not in SOURCES:
            raise ValueError(f"outcome must be one of {ANSWER_OUTCOMES} and source one of {SOURCES}")
        stamp = (when or datetime.now(timezone.utc)).astimezone(timezone.utc).isoformat(timespec="milliseconds")
        with self._lock:
            cur = self._connect().execute(
                "INSERT INTO outcomes (decision_id, time, workspace, conversation, task_class, model, outcome,"
                " source, reason) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT (decision_id) DO UPDATE SET"
                " time = excluded.time, model = excluded.model, outcome = excluded.outcome,"
                " source = excluded.source, reason = excluded.reason"
                " WHERE excluded.source = 'explicit' OR outcomes.source = 'implicit'",
                (record.decision_id, stamp, record.workspace, record.conversation, record.task_class,
                 record.model, record.outcome, record.source, record.reason[:500]))
            return cur.rowcount == 1

    def outcome_counts(self) -> dict[tuple[str, str], tuple[int, int]]:
        """(task class, model) -> (accepted, rejected or failed)."""
        with self._lock:
            rows = self._connect().execute(
                "SELECT task_class, model, SUM(outcome = 'accepted'), SUM(outcome != 'accepted') FROM outcomes"
                " GROUP BY task_class, model").fetchall()
        return {(c, m): (int(a), int(f)) for c, m, a, f in rows}

    def reset_outcomes(self, task_class: str | None = None) -> int:
        """Forget the outcomes of one class, or of all; how many were forgotten."""
        with self._lock:
            if task_class is None:
                cur = self._connect().execute("DELETE FROM outcomes")
            else:
                cur = self._connect().execute("DELETE FROM outcomes WHERE task_class = ?", (task_class,))
            return cur.rowcount


    # ----------------------------------------------------------------- decisions

    def record_decision(self, record: DecisionRecord) -> bool:
        """Keep one decision (see the module docstring); False when it was kept already. Decisions
        older than DECISIONS_KEPT_DAYS are deleted at most once an hour, in the same call."""
        when = datetime.fromisoformat(record.time)
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        row = (record.decision_id, when.astimezone(timezone.utc).isoformat(timespec="milliseconds"),
               when.astimezone().date().isoformat(), record.workspace, record.conversation, int(record.turn),
               record.model, record.tier, record.dial, record.reason_code, int(record.escalated), record.task_class,
               encode_decision(record).decode())
        now = _time.monotonic()
        with self._lock:
            conn = self._connect()
            cur = conn.execute(
                "INSERT OR IGNORE INTO decisions (decision_id, time, day, workspace, conversation, turn, model, tier,"
                " dial, reason_code, escalated, task_class, record) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", row)
            if self._pruned_at is None or now - self._pruned_at >= _PRUNE_EVERY_SECONDS:
                self._pruned_at = now
                self._prune(conn, DECISIONS_KEPT_DAYS)
            return cur.rowcount == 1

    def prune_decisions(self, days: int = DECISIONS_KEPT_DAYS) -> int:
        """Delete the decisions older than ``days``; how many went."""
        with self._lock:
            return self._prune(self._connect(), days)

    @staticmethod
    def _prune(conn: sqlite3.Connection, days: int) -> int:
        cutoff = (datetime.now(timezone.utc) - timedelta(days=days)).isoformat(timespec="milliseconds")
        return conn.execute("DELETE FROM decisions WHERE time < ?", (cutoff,)).rowcount

    def decisions(self, workspace: str, conversation: str, limit: int = 200) -> list[DecisionRecord]:
        """A conversation's latest decisions, oldest first."""
        with self._lock:
            rows = self._connect().execute(
                "SELECT record FROM (SELECT record, time, rowid AS n FROM decisions WHERE workspace = ? AND"
                " conversation = ? ORDER BY time DESC, n DESC LIMIT ?) ORDER BY time, n",
                (workspace, conversation, limit)).fetchall()
        return [decode_decision(r[0]) for r in rows]

    def decisions_since(self, day: str, limit: int = 5000) -> list[DecisionRecord]:
        """Every decision from ``day`` (local date) on, oldest first, at most ``limit`` (the latest)."""
        with self._lock:
            rows = self._connect().execute(
                "SELECT record FROM (SELECT record, time, rowid AS n FROM decisions WHERE day >= ?"
                " ORDER BY time DESC, n DESC LIMIT ?) ORDER BY time, n", (day, limit)).fetchall()
        return [decode_decision(r[0]) for r in rows]

    def conversations(self, since_day: str, limit: int = 100) -> list[dict[str, Any]]:
        """The conversations with decisions from ``since_day`` on, latest first: workspace, conversation,
        decisions, escalations, first and last time, the models chosen, and what its requests cost from
        ``since_day`` on."""
        with self._lock:
            rows = self._connect().execute(
                "SELECT d.workspace, d.conversation, COUNT(*), SUM(d.escalated), MIN(d.time), MAX(d.time),"
                " GROUP_CONCAT(DISTINCT d.model),"
                " (SELECT COALESCE(SUM(r.cost_usd), 0) FROM requests r WHERE r.conversation = d.conversation"
                "  AND r.workspace = d.workspace AND r.day >= ?)"
                " FROM decisions d WHERE d.day >= ? GROUP BY d.workspace, d.conversation ORDER BY MAX(d.time) DESC"
                " LIMIT ?", (since_day, since_day, limit)).fetchall()
        return [{"workspace": w, "conversation": c, "decisions": n, "escalations": int(e or 0), "first": a,
                 "last": b, "models": sorted(set((m or "").split(","))), "cost_usd": float(cost)}
                for w, c, n, e, a, b, m, cost in rows]

    def spent_on(self, decision_ids: list[str]) -> dict[str, Spent]:
        """Per decision: the tokens of the attempt that answered (else of its last attempt) and the cost
        of all its attempts. Decisions never forwarded are left out."""
        out: dict[str, Spent] = {}
        with self._lock:
            conn = self._connect()
            for i in range(0, len(decision_ids), 500):
                part = decision_ids[i:i + 500]
                rows = conn.execute(
                    f"SELECT decision_id, attempt, outcome, input_tokens, cached_input_tokens, output_tokens, cost_usd"
                    f" FROM requests WHERE decision_id IN ({','.join('?' * len(part))}) ORDER BY decision_id, attempt",
                    part).fetchall()
                by: dict[str, list[tuple[Any, ...]]] = {}
                for r in rows:
                    by.setdefault(r[0], []).append(r)
                for did, attempts in by.items():
                    used = next((a for a in attempts if a[2] == "ok"), attempts[-1])
                    out[did] = Spent(int(used[3]), int(used[4]), int(used[5]), float(sum(a[6] for a in attempts)))
        return out

    def daily_spend(self, since_day: str) -> list[dict[str, Any]]:
        """From ``since_day`` on, per day, workspace and model: requests it answered, attempts, failed
        attempts, cost, and what the answered requests would have cost on Balanced and Frontier."""
        with self._lock:
            rows = self._connect().execute(
                "SELECT day, workspace, model, COUNT(DISTINCT CASE WHEN outcome = 'ok' THEN decision_id END), COUNT(*),"
                " SUM(outcome = 'error'),"
                " COALESCE(SUM(cost_usd), 0),"
                " COALESCE(SUM(CASE WHEN outcome = 'ok' THEN balanced_cost_usd END), 0),"
                " COALESCE(SUM(CASE WHEN outcome = 'ok' THEN frontier_cost_usd END), 0)"
                " FROM requests WHERE day >= ? GROUP BY day, workspace, model ORDER BY day, workspace, model",
                (since_day,)).fetchall()
        return [{"day": d, "workspace": w, "model": m, "answered": n, "attempts": a, "errors": int(e or 0),
                 "cost_usd": float(c), "balanced_cost_usd": float(b), "frontier_cost_usd": float(f)}
                for d, w, m, n, a, e, c, b, f in rows]

    def daily_answers(self, since_day: str) -> dict[str, dict[str, int]]:
        """From ``since_day`` on, per local day: decisions, escalations, and answers that did not work
        (rejected or failed) and that did (accepted)."""
        out: dict[str, dict[str, int]] = {}
        with self._lock:
            conn = self._connect()
            for day, n, esc in conn.execute(
                    "SELECT day, COUNT(*), SUM(escalated) FROM decisions WHERE day >= ? GROUP BY day", (since_day,)):
                out.setdefault(day, {}).update(decisions=n, escalations=int(esc or 0))
            for day, bad, good in conn.execute(
                    "SELECT date(time, 'localtime') AS d, SUM(outcome != 'accepted'), SUM(outcome = 'accepted')"
                    " FROM outcomes WHERE d >= ? GROUP BY d", (since_day,)):
                out.setdefault(day, {}).update(failed=int(bad or 0), accepted=int(good or 0))
        for counts in out.values():
            for key in ("decisions", "escalations", "failed", "accepted"):
                counts.setdefault(key, 0)
        return out

    def workspaces(self) -> list[str]:
        """Every workspace the ledger has requests or decisions of."""
        with self._lock:
            rows = self._connect().execute(
                "SELECT workspace FROM requests UNION SELECT workspace FROM decisions ORDER BY 1").fetchall()
        return [r[0] for r in rows if r[0]]
