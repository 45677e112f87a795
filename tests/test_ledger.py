"""The SQLite usage ledger: lazy open, WAL, totals and savings, no double charge, reopen."""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from kilo_lsp.ledger.store import Ledger, LedgerEntry, default_path
from kilo_lsp.protocol import ModelShare


def entry(decision: str, attempt: int = 0, **kw) -> LedgerEntry:
    base = dict(model="cheap", provider="openrouter", workspace="/ws/a", conversation="c1", input_tokens=1000,
                cached_input_tokens=200, output_tokens=100, cost_usd=0.001, balanced_cost_usd=0.01,
                frontier_cost_usd=0.05, outcome="ok")
    base.update(kw)
    return LedgerEntry(decision_id=decision, attempt=attempt, **base)


def test_default_path_uses_xdg_data_home(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr("sys.platform", "linux")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_path() == tmp_path / "kilo-lsp" / "ledger.sqlite3"


def test_lazy_open_and_wal(tmp_path) -> None:
    path = tmp_path / "sub" / "ledger.sqlite3"
    ledger = Ledger(path)
    assert not path.exists() and not ledger.is_open          # nothing touched before first use
    assert ledger.record(entry("d1"))
    assert path.exists() and ledger.journal_mode() == "wal"
    ledger.close()


def test_totals_savings_and_shares(tmp_path) -> None:
    ledger = Ledger(tmp_path / "l.sqlite3")
    ledger.record(entry("d1"))
    ledger.record(entry("d2", model="mid", cost_usd=0.004, output_tokens=50))
    ledger.record(entry("d3", outcome="error", cost_usd=0.0, input_tokens=0, cached_input_tokens=0, output_tokens=0))
    ledger.record(entry("d3", attempt=1, model="mid", cost_usd=0.002, usage_estimated=True))   # failover
    ledger.record(entry("d4", outcome="cancelled", cost_usd=0.0005, workspace="/ws/b", conversation="c2"))
    u = ledger.usage()
    assert u.requests == 4 and u.attempts == 5 and u.estimated_rows == 1
    assert u.cost_usd == pytest.approx(0.001 + 0.004 + 0.002 + 0.0005)
    assert u.input_tokens == 4000 and u.output_tokens == 350
    # savings over answered requests only: 3 ok rows
    assert u.saved_vs_balanced_usd == pytest.approx(3 * 0.01 - (0.001 + 0.004 + 0.002))
    assert u.saved_vs_frontier_usd == pytest.approx(3 * 0.05 - (0.001 + 0.004 + 0.002))
    assert u.models == {"mid": ModelShare(requests=2, share=0.6667, cost_usd=0.006),
                        "cheap": ModelShare(requests=1, share=0.3333, cost_usd=0.001)}
    assert u.outcomes == {"ok": 3, "error": 1, "cancelled": 1}
    assert [w.workspace for w in u.by_workspace] == ["/ws/a", "/ws/b"]
    assert u.by_workspace[1].cost_usd == pytest.approx(0.0005)
    assert len(u.by_day) == 1 and u.by_day[0].day == Ledger.today()
    assert ledger.usage(workspace="/ws/b").requests == 1
    assert ledger.usage(conversation="c1").requests == 3
    assert ledger.usage(day="1999-01-01").requests == 0
    assert ledger.spent_today("/ws/a") == pytest.approx(0.007)
    assert ledger.spent_today() == pytest.approx(0.0075)
    ledger.close()


def test_same_attempt_is_never_charged_twice(tmp_path) -> None:
    ledger = Ledger(tmp_path / "l.sqlite3")
    assert ledger.record(entry("d1")) is True
    assert ledger.record(entry("d1", cost_usd=99.0)) is False
    assert ledger.usage().cost_usd == pytest.approx(0.001)
    ledger.close()


def test_reopen_after_close_keeps_rows(tmp_path) -> None:
    path = tmp_path / "l.sqlite3"
    ledger = Ledger(path)
    ledger.record(entry("d1"))
    ledger.close()
    assert not ledger.is_open
    ledger.record(entry("d2"))                   # reopens on use
    assert Ledger(path).usage().requests == 2
    ledger.close()


def test_days_are_local_and_yesterday_is_not_today(tmp_path) -> None:
    ledger = Ledger(tmp_path / "l.sqlite3")
    ledger.record(entry("old", time=datetime.now(timezone.utc) - timedelta(days=1, hours=1)))
    ledger.record(entry("new"))
    assert ledger.spent_today() == pytest.approx(0.001)
    assert len(ledger.usage().by_day) == 2
    row = ledger.entries(1)[0]
    assert row["time"].endswith("+00:00") and "prompt" not in " ".join(row)
    ledger.close()


def test_no_prompt_or_key_columns(tmp_path) -> None:
    ledger = Ledger(tmp_path / "l.sqlite3")
    ledger.record(entry("d1"))
    columns = {r[1] for r in sqlite3.connect(tmp_path / "l.sqlite3").execute("PRAGMA table_info(requests)")}
    ledger.close()
    assert columns and not {c for c in columns if any(w in c for w in ("prompt", "text", "key", "content"))}


def test_bad_outcome_is_refused(tmp_path) -> None:
    with pytest.raises(ValueError):
        Ledger(tmp_path / "l.sqlite3").record(entry("d1", outcome="maybe"))


def test_writes_are_fast_and_thread_safe(tmp_path) -> None:
    ledger = Ledger(tmp_path / "l.sqlite3")
    ledger.record(entry("warm"))
    t0 = time.perf_counter()
    for i in range(200):
        ledger.record(entry(f"w{i}"))
    per_write = (time.perf_counter() - t0) / 200
    assert per_write < 0.005, f"{per_write * 1000:.2f} ms per write"

    def writer(n: int) -> None:
        for i in range(50):
            ledger.record(entry(f"t{n}-{i}"))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert ledger.usage().requests == 1 + 200 + 200
    # a second connection (another editor window) reads while this one is open
    other = sqlite3.connect(tmp_path / "l.sqlite3")
    assert other.execute("SELECT COUNT(*) FROM requests").fetchone()[0] == 401
    other.close()
    ledger.close()
