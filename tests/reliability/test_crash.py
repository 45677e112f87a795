"""Crashes: SIGKILL during ledger writes loses nothing that was reported written and leaves no
half-written row; an editor that goes away (exit without shutdown, closed pipes) takes the sidecar
with it promptly."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from rawlsp import RawSidecar
from results import record

ROOT = Path(__file__).resolve().parents[2]
KILLS = 12
figures: dict = {}

WRITER = textwrap.dedent("""
    import sys
    from kilo_lsp.ledger.store import Ledger, LedgerEntry
    ledger = Ledger(sys.argv[1])
    start = int(sys.argv[2])
    for i in range(start, start + 100000):
        entry = LedgerEntry(decision_id=f"d-{i}", model="m", provider="p", workspace=f"ws{i % 7}",
                            conversation=f"c{i % 3}", input_tokens=i, output_tokens=2 * i, cost_usd=i / 1e6,
                            balanced_cost_usd=i / 1e5, frontier_cost_usd=i / 1e4)
        ledger.record(entry)
        print(i, flush=True)          # reported only once record() has returned
""")



@pytest.fixture(scope="module", autouse=True)
def keep_figures():
    """The figures this module measured, kept for RESULTS.md when RELIABILITY_FIGURES is set."""
    yield
    record("crash", figures)

def test_sigkill_during_ledger_writes(tmp_path):
    db = tmp_path / "ledger.sqlite3"
    rng = random.Random(7)
    reported: list[int] = []
    next_id = 0
    for _ in range(KILLS):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(db), str(next_id)], stdout=subprocess.PIPE,
                                text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
        first = proc.stdout.readline()          # it has opened the ledger and written a row
        assert first.strip()
        time.sleep(rng.uniform(0.0, 0.15))
        proc.send_signal(signal.SIGKILL)
        out = proc.stdout.read()                # (not communicate(timeout=...): it skips what readline buffered)
        proc.wait(10)
        ids = [int(first)] + [int(x) for x in out.split()]
        reported.extend(ids)
        next_id = ids[-1] + 1                   # a row in flight may or may not be there; never reuse its id
        next_id += 1
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = conn.execute("SELECT decision_id, input_tokens, output_tokens, cost_usd, workspace FROM requests").fetchall()
    stored = {r[0]: r for r in rows}
    missing = [i for i in reported if f"d-{i}" not in stored]
    assert not missing, f"{len(missing)} reported writes lost, e.g. {missing[:5]}"
    for did, inp, out, cost, ws in rows:          # nothing half-written: every field is what was written
        i = int(did[2:])
        assert (inp, out, ws) == (i, 2 * i, f"ws{i % 7}") and abs(cost - i / 1e6) < 1e-12
    extra = len(rows) - len(reported)
    assert 0 <= extra <= KILLS                      # at most the one in flight at each kill
    figures.update(ledger_kills=KILLS, ledger_rows_reported=len(reported), ledger_rows_lost=len(missing),
                   ledger_rows_in_flight_kept=extra)
    conn.close()
    # the ledger opens normally afterwards and its totals add up
    from kilo_lsp.ledger.store import Ledger
    assert Ledger(db).usage().attempts == len(rows)


def started(tmp_path) -> RawSidecar:
    lsp = RawSidecar(tmp_path)
    lsp.initialize()
    assert "result" in lsp.request("kilo/route", {"text": "rename a to b"})
    return lsp


def timed_exit(lsp: RawSidecar, name: str, limit: float = 3.0) -> int:
    start = time.monotonic()
    try:
        code = lsp.wait_exit(10)
    finally:
        took = time.monotonic() - start
        figures[f"exit_after_{name}_s"] = round(took, 3)
    assert took < limit, f"{name}: still running after {took:.1f} s"
    return code


def test_exit_without_shutdown(tmp_path):
    lsp = started(tmp_path)
    lsp.notify("exit")
    assert timed_exit(lsp, "exit_without_shutdown") == 1     # LSP: 1 when `shutdown` did not come first
    lsp.close()


def test_stdin_closed(tmp_path):
    lsp = started(tmp_path)
    lsp.proc.stdin.close()
    timed_exit(lsp, "stdin_closed")
    lsp.close()


def bare_sidecar(home: Path) -> subprocess.Popen:
    """A sidecar with no reader thread on our side, so its pipes can be closed under it."""
    from lsp_harness import isolated_env
    from rawlsp import frame
    proc = subprocess.Popen([sys.executable, "-m", "kilo_lsp", "--stdio"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=isolated_env(home), cwd=home)
    proc.stdin.write(frame({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                            "params": {"processId": None, "capabilities": {}}}))
    proc.stdin.write(frame({"jsonrpc": "2.0", "method": "initialized", "params": {}}))
    proc.stdin.flush()
    header = proc.stdout.readline()               # the initialize answer arrived: the server is up
    assert header.startswith(b"Content-Length")
    return proc


def settled_cpu(pid: int, quiet: float = 0.3, limit: float = 6.0) -> float:
    """The process's CPU seconds once it has stopped using CPU for ``quiet`` seconds."""
    deadline = time.monotonic() + limit
    last = cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(quiet)
        now = cpu_seconds(pid)
        if now - last < 0.02:
            return now
        last = now
    return last


def timed_proc_exit(proc: subprocess.Popen, name: str, limit: float) -> None:
    start = time.monotonic()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
    took = time.monotonic() - start
    figures[f"exit_after_{name}_s"] = round(took, 3)
    assert took < limit, f"{name}: still running after {took:.1f} s"


def test_editor_killed_both_pipes_close(tmp_path):
    proc = bare_sidecar(tmp_path)
    proc.stdout.close()           # nobody reads any more...
    proc.stdin.close()            # ...and nobody writes
    timed_proc_exit(proc, "both_pipes_closed", 3.0)


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_stdout_closed_while_answering(tmp_path):
    """The editor stops reading but keeps stdin open: answers hit a broken pipe. Outcome: pygls
    logs the lost answers and keeps serving stdin (no spinning); it exits when stdin closes."""
    from rawlsp import frame
    proc = bare_sidecar(tmp_path)
    proc.stdout.close()
    cpu = settled_cpu(proc.pid)   # after the one-time warm-up that follows `initialized`
    for i in range(10):
        proc.stdin.write(frame({"jsonrpc": "2.0", "id": 100 + i, "method": "kilo/route",
                                "params": {"text": "rename a to b"}}))
        proc.stdin.flush()
        time.sleep(0.1)
    time.sleep(1.0)
    used = cpu_seconds(proc.pid) - cpu
    figures["cpu_with_stdout_closed_2s"] = round(used, 3)
    assert used < 0.5
    proc.stdin.close()
    timed_proc_exit(proc, "stdout_then_stdin_closed", 3.0)


def test_shutdown_then_exit_code_zero(tmp_path):
    lsp = started(tmp_path)
    start = time.monotonic()
    assert lsp.shutdown() == 0
    figures["shutdown_exit_s"] = round(time.monotonic() - start, 3)
    lsp.close()
