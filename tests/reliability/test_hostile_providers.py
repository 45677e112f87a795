"""Attacks from the provider's side beyond the bodies: what it says it used, the head of its
response, and an event line that never ends; and files named by the user's own settings that are
pipes, devices or links to them.

A provider's usage figures set what a request costs and what a budget has left: a negative count
would give money back, a count past SQLite's integers would lose the ledger row, and a count that is
not a number broke the answer. Figures that are not counts in range are not believed; the request is
charged the estimate, marked as such. A response head of megabytes fails at once with bounded memory.
An event line trickled a byte at a time never reached the line limit and never let the idle timeout
fire: a line must now end within the idle timeout.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import threading
import time

import pytest

from fake_provider import FakeProviderServer, Script
from rawlsp import RawSidecar
from results import record

KEY = "sk-or-v1-" "hostile000000000000000000000000KEY"
figures: dict = {}


@pytest.fixture(scope="module", autouse=True)
def keep_figures():
    yield
    record("hostile_providers", figures)


@pytest.fixture(scope="module")
def fake():
    server = FakeProviderServer().start()
    yield server
    server.stop()


def user_config(home, text: str) -> None:
    cfg = home / "config" / "kilo-lsp" / "config.toml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(text)
    cfg.chmod(0o600)


def ledger_rows(home) -> list[tuple]:
    conn = sqlite3.connect(home / "data" / "kilo-lsp" / "ledger.sqlite3")
    try:
        return conn.execute("SELECT outcome, input_tokens, cached_input_tokens, output_tokens, usage_estimated,"
                            " cost_usd FROM requests").fetchall()
    finally:
        conn.close()


def usage_line(usage: dict) -> str:
    return "data: " + json.dumps({"id": "chatcmpl-x", "object": "chat.completion.chunk", "choices": [],
                                  "usage": usage})


USAGES = {
    "negative prompt tokens": {"prompt_tokens": -50_000_000, "completion_tokens": 4},
    "negative completion tokens": {"prompt_tokens": 12, "completion_tokens": -9_000_000},
    "more than SQLite's integers": {"prompt_tokens": 10 ** 30, "completion_tokens": 4},
    "cached more than the prompt": {"prompt_tokens": 12, "completion_tokens": 4,
                                    "prompt_tokens_details": {"cached_tokens": 10 ** 9}},
    "a string": {"prompt_tokens": "lots", "completion_tokens": 4},
    "infinite (1e999)": None,          # raw JSON below: Python's json reads 1e999 as inf
    "a fraction": {"prompt_tokens": 12.5, "completion_tokens": 4},
    "usage that is a list": [],
}


@pytest.mark.parametrize("case", list(USAGES))
def test_usage_a_provider_reports_is_not_believed_out_of_range(tmp_path, fake, case):
    """The answer arrives; the request is charged the estimate (never a negative, infinite or lost
    row), and the day's spend stays what the estimate says."""
    line = (usage_line(USAGES[case]) if case != "infinite (1e999)" else
            'data: {"id":"x","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":1e999,'
            '"completion_tokens":4}}')
    fake.reset()
    fake.on("openai/gpt-5-mini", Script(texts=("Hello", " world"), usage=None, malformed=line))
    lsp = RawSidecar(tmp_path, env={"OPENROUTER_API_KEY": KEY, "KILO_OPENROUTER_BASE_URL": fake.url("/v1")})
    try:
        lsp.initialize()
        done = lsp.request("kilo/complete", {"text": "rename a to b", "pin": "gpt-5-mini", "maxTokens": 16},
                           timeout=20)
        usage = lsp.request("kilo/usage", {}, timeout=20)
    finally:
        lsp.close()
    assert "result" in done, done
    res = done["result"]
    assert res["text"] == "Hello world" and res["finishReason"] == "stop", res
    assert res["usage"]["estimated"] is True, res["usage"]
    assert 0 <= res["usage"]["cachedInputTokens"] <= res["usage"]["inputTokens"] < 10 ** 6
    assert 0 < res["costUsd"] < 1, res["costUsd"]
    rows = ledger_rows(tmp_path)
    assert len(rows) == 1 and rows[0][0] == "ok" and rows[0][4] == 1 and 0 < rows[0][5] < 1, rows
    assert usage["result"]["costUsd"] == pytest.approx(rows[0][5], abs=1e-6)
    figures.setdefault("usage not believed", {})[case] = {"charged_usd": res["costUsd"],
                                                          "estimated": res["usage"]["estimated"]}


class RawHTTP:
    """A one-purpose HTTP server on 127.0.0.1 that answers every request with ``respond(conn)``."""

    def __init__(self, respond) -> None:
        self.respond = respond
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.stopped = threading.Event()
        self.requests = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        try:
            data = b""
            while b"\r\n\r\n" not in data:
                part = conn.recv(65536)
                if not part:
                    return
                data += part
            self.requests += 1
            self.respond(conn, self.stopped)
        except OSError:
            pass
        finally:
            conn.close()

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def stop(self) -> None:
        self.stopped.set()
        self.sock.close()


def huge_header(conn, stopped) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nX-Padding: ")
    for _ in range(1024):                 # 64 MiB of one header value, unless the client stops reading
        if stopped.is_set():
            return
        conn.sendall(b"a" * 65536)


def many_headers(conn, stopped) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n")
    for i in range(0, 1_000_000, 1000):
        if stopped.is_set():
            return
        conn.sendall(b"".join(b"X-H%d: v\r\n" % j for j in range(i, i + 1000)))


def trickled_line(conn, stopped) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
    conn.sendall(b"6\r\ndata: \r\n")
    while not stopped.is_set():           # one byte every 0.2 s, the line never ends
        conn.sendall(b"1\r\nx\r\n")
        time.sleep(0.2)


def fast_endless_line(conn, stopped) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
    conn.sendall(b"6\r\ndata: \r\n")
    piece = b"%x\r\n%s\r\n" % (65536, b"x" * 65536)
    while not stopped.is_set():
        conn.sendall(piece)


HEADS = {"one header of 64 MiB": huge_header, "a million headers": many_headers,
         "an event line a byte every 0.2 s, never ending": trickled_line,
         "an event line at full speed, never ending": fast_endless_line}


@pytest.mark.parametrize("case", list(HEADS))
def test_a_response_that_never_ends_its_head_or_line_fails_in_time(tmp_path, case):
    """A clear error within a few seconds (idle timeout 1.5 s), the sidecar's memory bounded, and the
    next request answered."""
    server = RawHTTP(HEADS[case])
    user_config(tmp_path, "[network]\nconnect_timeout = 2.0\nfirst_token_timeout = 3.0\nidle_timeout = 1.5\n")
    lsp = RawSidecar(tmp_path, env={"OPENROUTER_API_KEY": KEY, "KILO_OPENROUTER_BASE_URL": server.url()})
    try:
        lsp.initialize()
        start = time.monotonic()
        done = lsp.request("kilo/complete", {"text": "rename a to b", "pin": "gpt-5-mini", "maxTokens": 16},
                           timeout=60)
        took = time.monotonic() - start
        peak = lsp.peak_rss_bytes()
        after = lsp.request("kilo/route", {"text": "rename a to b", "dryRun": True}, timeout=10)
    finally:
        lsp.close()
        server.stop()
    assert server.requests >= 1
    assert "result" in after
    message = json.dumps(done)
    assert took < 10, f"{case}: {took:.1f} s"
    assert peak < 400e6, f"{case}: the sidecar grew to {peak / 1e6:.0f} MB"
    res = done.get("result")
    if res is not None:                   # the line started after the head: the answer says why it stopped
        assert res["finishReason"] == "error" and res["text"] == "", res
    else:
        assert done["error"]["code"] == -32001, done
    if "head" in case or "headers" in case:
        assert "too large" in message, message
    else:
        assert "line" in message, message
    figures.setdefault("never-ending responses", {})[case] = {
        "seconds": round(took, 2), "peak_rss_mb": round(peak / 1e6), "message": message[:300]}


@pytest.mark.parametrize("figures_in, believed", [
    ((12, 0, 4), True), ((12.0, 3, 4), True), ((None, None, 4), True), ((-1, 0, 4), False),
    ((12, 13, 4), False), ((10 ** 30, 0, 4), False), ((float("inf"), 0, 4), False), ((float("nan"), 0, 4), False),
    (("12", 0, 4), False), ((True, 0, 4), False), ((12, 0, 12.5), False)])
def test_reported_usage_takes_only_counts_in_range(figures_in, believed):
    """The one function both API families (OpenAI-compatible and Anthropic) go through."""
    from kilo_lsp.providers.anthropic import _usage
    from kilo_lsp.providers.base import reported_usage, token_count
    assert (reported_usage(*figures_in) is not None) is believed
    fresh, cached, out = figures_in
    counts = [token_count(v) for v in (fresh, cached, 0, out)]
    anthropic = None if None in counts else _usage(*counts)
    if believed:
        assert anthropic is not None and anthropic.input_tokens == (fresh or 0) + (cached or 0)
    elif not (isinstance(fresh, int) and isinstance(cached, int) and fresh >= 0 and cached > fresh):
        assert anthropic is None          # Anthropic counts cached tokens apart: 12 fresh + 13 read is fine
