"""Provider faults through the real sidecar, against the fake provider on 127.0.0.1.

Every fault has one defined outcome (the table in RESULTS.md is written from these runs). For all
of them: kilo/complete answers (a result, or -32001 with the attempts), within its timeouts; the
text of the answer is exactly the kilo/chunk text the client saw (no partial answer lost); the
ledger has one row per attempt and never two rows for the same attempt (nothing charged twice).
A SIGKILL in the middle of a streamed answer leaves a ledger that opens with every completed
request in it.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from fake_provider import FakeProviderServer, Script, self_signed_server
from rawlsp import RawSidecar, wait_until
from results import record

KEY = "sk-or-v1-rel.iability000000000000000KEY"
TIMEOUTS = {"connect_timeout": 2.0, "first_token_timeout": 1.5, "idle_timeout": 1.5}
outcomes: dict[str, dict] = {}



@pytest.fixture(scope="module", autouse=True)
def keep_figures():
    """The figures this module measured, kept for RESULTS.md when RELIABILITY_FIGURES is set."""
    yield
    record("provider_faults", outcomes)

def write_config(home: Path, extra: str = "") -> None:
    cfg = home / "config" / "kilo-lsp" / "config.toml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text("[network]\n" + "".join(f"{k} = {v}\n" for k, v in TIMEOUTS.items()) + extra)
    cfg.chmod(0o600)


def start(home: Path, base_url: str, extra_env: dict | None = None) -> RawSidecar:
    write_config(home)
    # two gateways, both the fake: a fault at one can fail over to the other
    lsp = RawSidecar(home, env={"OPENROUTER_API_KEY": KEY, "KILO_OPENROUTER_BASE_URL": base_url,
                                "KILO_API_KEY": KEY + "2", "KILO_KILO_BASE_URL": base_url, **(extra_env or {})})
    lsp.initialize()
    return lsp


@pytest.fixture(scope="module")
def fake():
    server = FakeProviderServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def lsp(tmp_path_factory, fake):
    home = tmp_path_factory.mktemp("home")
    server = start(home, fake.url(""))
    server.home = home
    yield server
    server.close()


def ledger_rows(home: Path) -> list[tuple]:
    db = home / "data" / "kilo-lsp" / "ledger.sqlite3"
    if not db.exists():
        return []
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT decision_id, attempt, outcome, output_tokens, cost_usd FROM requests").fetchall()
    finally:
        conn.close()


def complete(lsp: RawSidecar, text: str, timeout: float = 15.0, **extra) -> tuple[dict, list[dict], float]:
    before = len(lsp.notifications("kilo/chunk"))
    start = time.monotonic()
    msg = lsp.request("kilo/complete", {"text": text, "maxTokens": 64, **extra}, timeout=timeout)
    took = time.monotonic() - start
    time.sleep(0.05)                                      # chunks are sent before the answer; let the reader catch up
    chunks = lsp.notifications("kilo/chunk")[before:]
    return msg, chunks, took


FAULTS = {
    # name: (scripts for the attempts, expect an answer text)
    "429 with Retry-After": [Script(status=429, headers={"Retry-After": "7"})],
    "429 without Retry-After": [Script(status=429)],
    "500": [Script(status=500)],
    "503": [Script(status=503, headers={"Retry-After": "1"})],
    "slow first byte past the timeout": [Script(first_byte_delay=2.5)],
    "disconnect mid-stream": [Script(texts=("part", "ial ", "answer", "never", "ends"), disconnect_after=2)],
    "malformed SSE": [Script(malformed="data: {not json")],
    "oversized chunk": [Script(oversized=2_000_000)],
    "error body not JSON": [Script(status=502, error_body="<html>bad gateway</html>")],
    "401 bad key": [Script(status=401)],
    "400 bad request": [Script(status=400)],
}


# Every fault once (a failover can help), and the kinds whose every-attempt outcome differs.
CASES = [(n, False) for n in FAULTS] + [(n, True) for n in ("429 with Retry-After", "500",
                                                            "slow first byte past the timeout")]


@pytest.mark.parametrize("name, persistent", CASES, ids=[f"{n}-{'every' if p else 'once'}" for n, p in CASES])
def test_fault_has_its_defined_outcome(tmp_path, fake, name, persistent):
    """A fresh sidecar per case: cool-downs after a fault are state that would leak into the next."""
    fake.reset()
    lsp = start(tmp_path, fake.url(""))
    lsp.home = tmp_path
    try:
        run_fault(lsp, fake, name, persistent)
    finally:
        lsp.close()


def run_fault(lsp, fake, name, persistent):
    scripts = FAULTS[name] * (6 if persistent else 1)
    fake.enqueue(*scripts)
    rows_before = ledger_rows(lsp.home)
    msg, chunks, took = complete(lsp, f"fix the bug in parser.py ({name}, {persistent})",
                                 conversationId=f"{name}-{persistent}")
    rows = ledger_rows(lsp.home)[len(rows_before):]
    seen = "".join(c["text"] for c in chunks)
    if "result" in msg:
        res = msg["result"]
        assert res["text"] == seen, "the answer must be exactly what was streamed"
        attempts = [a["outcome"] for a in res["attempts"]]
        outcome = {"answer": "ok" if res.get("error") is None else f"partial+{res['error']['kind']}",
                   "finish": res["finishReason"], "attempts": len(attempts),
                   "errors": [a.get("errorKind") or a.get("error", {}).get("kind") if isinstance(a.get("error"), dict)
                              else a.get("errorKind") for a in res["attempts"] if a["outcome"] != "ok"]}
        decision = res["decisionId"]
    else:
        err = msg["error"]
        assert err["code"] == -32001, err
        assert seen == "", "no text may have been streamed for a request that got no answer"
        data = err.get("data") or {}
        outcome = {"answer": f"error {data.get('code', '?')}", "attempts": len(data.get("attempts", [])),
                   "message": err["message"][:120]}
        decision = data.get("decisionId")
    # one ledger row per attempt, never the same attempt twice, at most one 'ok' per decision
    keys = [(r[0], r[1]) for r in rows]
    assert len(keys) == len(set(keys)), "an attempt was charged twice"
    assert sum(r[2] == "ok" for r in rows) <= 1
    assert took < 15
    assert lsp.alive()
    outcome.update(seconds=round(took, 2), ledger_rows=len(rows), upstream_calls=len(fake.requests))
    outcomes[f"{name} ({'every attempt' if persistent else 'once'})"] = outcome


def test_connection_refused(tmp_path):
    import socket
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()                                           # nothing listens there now
    lsp = start(tmp_path, f"http://127.0.0.1:{port}")
    try:
        msg, chunks, took = complete(lsp, "fix the bug in parser.py")
        assert msg["error"]["code"] == -32001 and not chunks
        outcomes["connection refused"] = {"answer": f"error {msg['error'].get('data', {}).get('code')}",
                                          "seconds": round(took, 2),
                                          "message": msg["error"]["message"][:120]}
        assert took < 10
    finally:
        lsp.close()


def test_tls_untrusted_certificate(tmp_path):
    server = self_signed_server(tmp_path)
    lsp = start(tmp_path, server.url(""))
    try:
        msg, chunks, took = complete(lsp, "fix the bug in parser.py")
        assert "error" in msg and not chunks
        assert "tls" in json.dumps(msg["error"]).lower() or "certificate" in json.dumps(msg["error"]).lower()
        outcomes["TLS: untrusted certificate"] = {"answer": f"error {msg['error'].get('data', {}).get('code')}",
                                                  "seconds": round(took, 2),
                                                  "message": msg["error"]["message"][:120]}
    finally:
        lsp.close()
        server.stop()


def test_endless_stream_is_cut(lsp, fake):
    fake.reset()
    fake.enqueue(Script(endless=True))
    msg, chunks, took = complete(lsp, "write a long essay", timeout=30)
    res = msg.get("result")
    outcomes["endless stream"] = {"answer": "ok" if res and not res.get("error") else str(msg)[:100],
                                  "finish": res and res["finishReason"], "seconds": round(took, 2),
                                  "chunks": len(chunks)}
    assert res is not None and res["text"] == "".join(c["text"] for c in chunks)
    assert wait_until(fake.client_closed.is_set, 5), "the upstream stream was left open"
    assert took < 10, f"an endless stream ran for {took:.1f} s: no output cap"


def test_sigkill_mid_stream_keeps_the_ledger(tmp_path, fake):
    fake.reset()
    lsp = start(tmp_path, fake.url(""))
    done = []
    for i in range(5):
        msg, _, _ = complete(lsp, f"rename x{i} to y{i}", conversationId=f"k{i}")
        done.append(msg["result"]["decisionId"])
    fake.enqueue(Script(endless=True))
    lsp.send("kilo/complete", {"text": "write a long essay", "maxTokens": 64})
    assert wait_until(lambda: len(lsp.notifications("kilo/chunk")) > 30, 10)
    lsp.proc.send_signal(signal.SIGKILL)
    lsp.proc.wait(5)
    lsp.close()
    assert wait_until(fake.client_closed.is_set, 5), "the upstream stream outlived the sidecar"
    db = tmp_path / "data" / "kilo-lsp" / "ledger.sqlite3"
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    stored = {r[0] for r in conn.execute("SELECT decision_id FROM requests WHERE outcome = 'ok'")}
    conn.close()
    assert set(done) <= stored
    again = start(tmp_path, fake.url(""))               # the restarted sidecar opens the ledger and reports it
    try:
        usage = again.request("kilo/usage", {})["result"]
        assert usage["requests"] >= len(done)
    finally:
        again.close()
    outcomes["SIGKILL mid-stream"] = {"answer": "restart: ledger opens, integrity ok",
                                      "completed_before_kill": len(done), "found_after": len(set(done) & stored)}


@pytest.mark.parametrize("how", ["exit without shutdown", "stdin closed"])
def test_editor_goes_away_mid_stream(tmp_path, fake, how):
    """The sidecar exits promptly and closes the upstream stream it was reading."""
    fake.reset()
    lsp = start(tmp_path, fake.url(""))
    try:
        fake.enqueue(Script(endless=True))
        lsp.send("kilo/complete", {"text": "write a long essay", "maxTokens": 4000})
        assert wait_until(lambda: len(lsp.notifications("kilo/chunk")) > 10, 10)
        t = time.monotonic()
        if how == "stdin closed":
            lsp.proc.stdin.close()
        else:
            lsp.notify("exit")
        lsp.wait_exit(10)
        took = time.monotonic() - t
        assert wait_until(fake.client_closed.is_set, 5), "an upstream stream outlived the sidecar"
        outcomes[f"editor goes away mid-stream ({how})"] = {"answer": "sidecar exits, upstream closed",
                                                             "seconds": round(took, 2)}
        assert took < 3
    finally:
        lsp.close()
