"""Keys never leak through error text: a hostile or buggy provider echoing the key in every shape, an
HTTP library printing a header, credentials in a base URL, the kilo.ask command's balloon, and
tracebacks. The key, or any 10-character piece of it, must appear nowhere the user or a log can see:
results, error responses, window/showMessage, window/logMessage, stderr (at info and at debug level)
and ``kilo-lsp --check``."""

from __future__ import annotations

import json
import secrets
import socket
import subprocess
import sys
import time

import pytest

from fake_provider import FakeProviderServer, Script
from rawlsp import RawSidecar, wait_until
from results import record

figures: dict = {}


@pytest.fixture(scope="module", autouse=True)
def keep_figures():
    yield
    record("redaction", figures)


def canary() -> str:
    return f"sk-canary-redact-{secrets.token_hex(16)}"


def leaks(text: str | bytes, key: str) -> bool:
    """Whether ``key``, or any 10-character piece of its random part, occurs in ``text``."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    core = key.rsplit("-", 1)[1]
    return key in text or any(core[i:i + 10] in text for i in range(len(core) - 9))


@pytest.fixture(scope="module")
def fake():
    server = FakeProviderServer().start()
    yield server
    server.stop()


def config(home, text: str = "") -> None:
    cfg = home / "config" / "kilo-lsp" / "config.toml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text("[network]\nconnect_timeout = 2.0\nfirst_token_timeout = 3.0\nidle_timeout = 3.0\n" + text)
    cfg.chmod(0o600)


def start(home, env: dict[str, str], level: str = "info") -> RawSidecar:
    config(home)
    lsp = RawSidecar(home, env={"KILO_LOG_LEVEL": level, **env})
    lsp.initialize(capabilities={"window": {"showMessage": {}}})
    return lsp


def everything(lsp: RawSidecar) -> str:
    return bytes(lsp.stdout_bytes).decode("utf-8", "replace") + "\n" + bytes(lsp.stderr_bytes).decode("utf-8", "replace")


def echoes(key: str) -> dict[str, list[Script]]:
    """What a hostile provider sends back, each case holding the key in another shape. Where text used
    to be cut (an error message at 500 characters, a body's start at 300, a body at 4,096 bytes), the
    key straddles the cut with 20 characters of its random part before it."""
    before_cut = len("sk-canary-redact-") + 20
    return {
        "401 JSON error, key across the 500th character": [Script(status=401, error_body={"error": {
            "message": "x" * (500 - 1 - before_cut) + f" {key} is not valid"}})],
        "502 HTML page, key across the 300th character": [Script(status=502, raw_body=(
            "<html><body>" + "y" * (300 - 12 - 1 - before_cut) + f" {key} </body></html>").encode())],
        "error body over 4 KB, key across the 4,096th byte": [Script(status=500, raw_body=(
            "z" * (4096 - 1 - before_cut) + f" {key} ").encode(), content_type="text/plain")],
        "Authorization header echoed, key cut at 40": [Script(status=400, error_body={"error": {
            "message": f"bad header: Authorization: Bearer {key[:40]}"}})],
        "key in a query string, without its prefix": [Script(status=404, error_body={"error": {
            "message": f"see https://errors.example/?api-key={key[3:]}&x=1"}})],
        "malformed SSE line holding the key": [Script(malformed=json.dumps({"error": f"invalid key {key}"}))],
        "SSE data that is not JSON": [Script(malformed=f"data: {{oops {key}")],
        "error event in the stream": [Script(malformed="data: " + json.dumps({"error": {"message": f"revoked: {key}", "code": 401}}))],
        "redirect with the key in the location": [Script(status=302, headers={"Location": f"https://evil.example/?api-key={key}"},
                                                         raw_body=b"moved")],
    }


CASES = list(echoes("sk-x-y"))


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("path", ["kilo/complete", "kilo.ask"])
def test_a_key_echoed_by_the_provider_never_shows(tmp_path, fake, case, path):
    key = canary()
    fake.reset()
    fake.enqueue(*(echoes(key)[case] * 4))
    lsp = start(tmp_path, {"OPENROUTER_API_KEY": key, "KILO_OPENROUTER_BASE_URL": fake.url("/v1")})
    try:
        if path == "kilo/complete":
            msg = lsp.request("kilo/complete", {"text": "fix the bug in parser.py", "maxTokens": 32}, timeout=20)
        else:
            msg = lsp.request("workspace/executeCommand", {"command": "kilo.ask", "arguments": [
                {"text": "fix the bug in parser.py", "maxTokens": 32}]}, timeout=20)
            assert wait_until(lambda: lsp.notifications("window/showMessage"), 5)
        assert "result" in msg or "error" in msg
        assert fake.requests, "the provider was not called"
        sent = fake.requests[0].headers.get("authorization", "")
        assert sent == f"Bearer {key}"                     # the key itself went to its provider...
        time.sleep(0.2)
        shown = everything(lsp)
    finally:
        lsp.close()
    shown += everything(lsp)
    figures.setdefault("echo_cases", []).append(f"{case} ({path})")
    assert not leaks(shown, key), f"{case}: the key (or a piece) reached the editor or stderr via {path}"


@pytest.mark.parametrize("level", ["info", "debug"])
def test_a_key_with_a_newline_pushed_by_the_editor_is_refused_without_echo(tmp_path, fake, level):
    """A key pasted with its line end: refused with a clear error; it never reaches a header, where the
    HTTP library printed it escaped (so the exact key no longer matched)."""
    key = canary()
    fake.reset()
    lsp = start(tmp_path, {"KILO_OPENROUTER_BASE_URL": fake.url("/v1")}, level=level)
    try:
        msg = lsp.request("kilo/setCredentials", {"provider": "openrouter", "apiKey": key + "\n"})
        assert msg.get("error", {}).get("code") == -32602, msg
        assert "whitespace" in msg["error"]["message"] or "control" in msg["error"]["message"]
        done = lsp.request("kilo/complete", {"text": "fix the bug in parser.py", "maxTokens": 16}, timeout=20)
        assert "error" in done and not fake.requests      # nothing was sent with it
    finally:
        lsp.close()
    assert not leaks(everything(lsp), key)
    figures["newline_key_refused"] = msg["error"]["message"]


@pytest.mark.parametrize("shape", ["trailing newline", "space inside", "tab", "control character"])
def test_a_key_with_control_characters_in_the_environment_is_refused(tmp_path, fake, shape):
    key = canary()
    bad = {"trailing newline": key + "\n", "space inside": key[:12] + " " + key[12:], "tab": key + "\t",
           "control character": key[:20] + "\x01" + key[20:]}[shape]
    fake.reset()
    lsp = start(tmp_path, {"OPENROUTER_API_KEY": bad, "KILO_OPENROUTER_BASE_URL": fake.url("/v1")})
    try:
        assert wait_until(lambda: any("apiKey" in (p or {}).get("message", "")
                                      for p in lsp.notifications("window/showMessage")), 5)
        done = lsp.request("kilo/complete", {"text": "fix the bug in parser.py", "maxTokens": 16}, timeout=20)
        assert "error" in done and not fake.requests
    finally:
        lsp.close()
    assert not leaks(everything(lsp), key)


def test_credentials_in_a_base_url_are_masked_in_errors_and_check(tmp_path):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()                                          # nothing listens there: the error names the URL
    password, query_key = "S3cret" + secrets.token_hex(8), "q" + secrets.token_hex(12)
    env = {"OPENROUTER_API_KEY": canary(),
           "KILO_OPENROUTER_BASE_URL": f"http://me:{password}@127.0.0.1:{port}/v1?api-version=2&api-key={query_key}"}
    lsp = start(tmp_path, env)
    try:
        msg = lsp.request("kilo/complete", {"text": "fix the bug in parser.py", "maxTokens": 16}, timeout=20)
        assert msg["error"]["code"] == -32001
        assert "127.0.0.1" in json.dumps(msg)               # the error still says where
    finally:
        lsp.close()
    from lsp_harness import isolated_env
    check = subprocess.run([sys.executable, "-m", "kilo_lsp", "--check"], capture_output=True, text=True,
                           env=isolated_env(tmp_path, env), timeout=60)
    for where, text in (("the sidecar", everything(lsp)), ("--check", check.stdout + check.stderr)):
        assert password not in text and query_key not in text, f"a credential in the base URL shows in {where}"
    assert "127.0.0.1" in check.stdout


def test_no_traceback_in_errors_and_only_at_debug_on_stderr(tmp_path):
    """An unexpected failure of a command (a leaderboard file that is not JSON) answers -32603 with a
    one-line message: no traceback in the answer, none on stderr at info level."""
    broken = tmp_path / "board.json"
    broken.write_text("{not json")
    outcomes = {}
    for level in ("info", "debug"):
        home = tmp_path / level
        home.mkdir()
        config(home, f'[routing]\nleaderboard_path = "{broken}"\n')
        lsp = RawSidecar(home, env={"KILO_LOG_LEVEL": level})
        try:
            lsp.initialize()
            msg = lsp.request("workspace/executeCommand", {"command": "kilo.route", "arguments": ["rename a to b"]},
                              timeout=20)
            nm = lsp.request("kilo/route", {"text": "x"}, msg_id="nm")
            lsp.write(b'Content-Length: 53\r\n\r\n{"jsonrpc":"2.0","id":"n2","method":7,"params":null}')
            time.sleep(0.3)
        finally:
            lsp.close()
        assert msg["error"]["code"] == -32603 and "leaderboard" in msg["error"]["message"], msg
        assert "data" not in msg["error"] and "Traceback (most recent" not in json.dumps(msg), msg
        assert "error" in nm
        stderr = bytes(lsp.stderr_bytes).decode("utf-8", "replace")
        outcomes[level] = "Traceback (most recent call last)" in stderr
        if level == "info":
            assert "Traceback (most recent call last)" not in stderr, stderr[-2000:]
        assert "Traceback" not in bytes(lsp.stdout_bytes).decode("utf-8", "replace")
    figures["tracebacks_on_stderr"] = outcomes
