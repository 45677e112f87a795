"""A scriptable fake provider: a real HTTP/1.1 server on 127.0.0.1 in a background thread.

It speaks both API families: POST /v1/chat/completions and /chat/completions (OpenAI-style SSE),
POST /v1/messages (Anthropic-style events), GET /v1/models and /models. What each request gets is
a :class:`Script`: taken from the queue (``fake.enqueue``) if any, else by the request's model name
(``fake.on(model, script)``), else a normal stream. Every request is recorded (method, path,
headers, JSON body), and the server notes when a client closes a stream early.

Use the ``fake`` fixture::

    def test_x(fake):
        fake.on("m", Script(status=429, headers={"Retry-After": "7"}))
        spec = ProviderSpec("p", "openai", fake.url("/v1"), api_key="sk-test")
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import pytest


@dataclass
class Script:
    """What the fake server does for one request."""

    texts: tuple[str, ...] = ("Hello", ", ", "world", "!")
    finish_reason: str = "stop"
    # usage: (prompt tokens, cached prompt tokens, completion tokens); None: send no usage
    usage: tuple[int, int, int] | None = (12, 0, 4)
    cache_write: int = 0                     # Anthropic cache_creation_input_tokens
    status: int = 200                        # != 200: an error response with ``error_body``
    headers: dict[str, str] = field(default_factory=dict)
    error_body: Any = None
    raw_body: bytes | None = None            # with ``status``: sent as is (``content_type``), not as JSON
    content_type: str = "text/html"
    # with ``status``: a body made by this function, sent chunked as it is made (``content_type``,
    # ``headers``, e.g. Content-Encoding: gzip), for bodies too large to hold
    raw_stream: Any = None
    first_byte_delay: float = 0.0            # seconds before the status line
    chunk_delay: float = 0.0                 # seconds between events
    disconnect_after: int | None = None      # close the socket after this many text events
    malformed: str | None = None             # a raw line sent after the first text event
    endless: bool = False                    # text events until the client goes away (max 20 s)
    oversized: int = 0                       # one data line of this many bytes after the first event
    json_body: bool = False                  # answer with one JSON body, not a stream
    split_bytes: int = 0                     # write the stream in pieces of this many bytes
    one_write: bool = False                  # write the whole stream at once (a fast upstream)


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]                  # lower-case names
    body: Any
    peer_port: int | None = None             # the client's port: same port, same (reused) connection


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.open_connections: set[socket.socket] = set()   # dropped by stop(), as a stopped server does
        super().__init__(*args, **kwargs)

    def process_request(self, request: Any, client_address: Any) -> None:
        self.open_connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        self.open_connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a client that drops a kept-alive connection is normal here, not worth a traceback
        import sys
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class FakeProviderServer:
    def __init__(self, tls: "ssl.SSLContext | None" = None, port: int = 0) -> None:
        self.requests: list[Recorded] = []
        self.client_closed = threading.Event()   # set when a client dropped a stream early
        self.models = ["fake-small", "fake-large"]
        self.models_delay = 0.0                  # seconds before GET /models answers
        self.models_script: Script | None = None  # GET /models answered with this script's raw body instead
        self._queue: list[Script] = []
        self._by_model: dict[str, Script] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        handler = type("Handler", (_Handler,), {"fake": self})
        self.httpd = _QuietServer(("127.0.0.1", port), handler)
        if tls is not None:                      # HTTPS with the caller's (self-signed) certificate
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.scheme = "https" if tls is not None else "http"
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-provider", daemon=True)

    def url(self, path: str = "") -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}{path}"

    def start(self) -> "FakeProviderServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        for conn in list(self.httpd.open_connections):   # kept-alive connections end with the server
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def enqueue(self, *scripts: Script) -> None:
        with self._lock:
            self._queue.extend(scripts)

    def on(self, model: str, script: Script) -> None:
        with self._lock:
            self._by_model[model] = script

    def reset(self) -> None:
        with self._lock:
            self._queue.clear()
            self._by_model.clear()
            self.requests.clear()
            self.client_closed.clear()
            self.models_script = None

    def script_for(self, body: Any) -> Script:
        with self._lock:
            if self._queue:
                return self._queue.pop(0)
            model = body.get("model") if isinstance(body, dict) else None
            return self._by_model.get(model or "", Script())


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    fake: FakeProviderServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    # ------------------------------------------------------------ plumbing

    def _record(self, body: Any) -> None:
        with self.fake._lock:
            self.fake.requests.append(Recorded(self.command, self.path,
                                               {k.lower(): v for k, v in self.headers.items()}, body,
                                               self.client_address[1]))

    def _send_json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _send_raw(self, script: Script) -> None:
        """``script.raw_stream()`` sent chunked, piece by piece, as it is made."""
        self.send_response(script.status)
        self.send_header("Content-Type", script.content_type)
        self.send_header("Transfer-Encoding", "chunked")
        for k, v in script.headers.items():
            self.send_header(k, v)
        self.end_headers()
        for piece in script.raw_stream():
            if piece:
                self._chunk(piece)
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _chunk(self, data: bytes, split: int = 0) -> None:
        pieces = [data[i:i + split] for i in range(0, len(data), split)] if split else [data]
        for piece in pieces:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.flush()

    def _abort(self) -> None:
        """Drop the connection without finishing the chunked body."""
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # ------------------------------------------------------------ routes

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        self._record(None)
        if self.path.split("?")[0] in ("/v1/models", "/models") and self.fake.models_script is not None:
            try:
                self._send_raw(self.fake.models_script)
            except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
                self.fake.client_closed.set()
                self.close_connection = True
        elif self.path.split("?")[0] in ("/v1/models", "/models"):
            if self.fake.models_delay:
                time.sleep(self.fake.models_delay)
            self._send_json(200, {"object": "list",
                                  "data": [{"id": m, "object": "model"} for m in self.fake.models]})
        else:
            self._send_json(404, {"error": {"message": "not found"}})

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        try:
            self._post()
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.fake.client_closed.set()
            self.close_connection = True

    def _post(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        self._record(body)
        script = self.fake.script_for(body)
        if script.first_byte_delay:
            time.sleep(script.first_byte_delay)
        path = self.path.split("?")[0]
        anthropic = path == "/v1/messages"
        if path not in ("/v1/chat/completions", "/chat/completions", "/v1/messages"):
            self._send_json(404, {"error": {"message": f"no route {path}"}})
            return
        if script.raw_stream is not None:
            self._send_raw(script)
            return
        if script.raw_body is not None:
            self.send_response(script.status)
            self.send_header("Content-Type", script.content_type)
            self.send_header("Content-Length", str(len(script.raw_body)))
            for k, v in script.headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(script.raw_body)
            return
        if script.status != 200:
            err = script.error_body if script.error_body is not None else {
                "error": {"message": f"scripted {script.status}", "type": "scripted"}}
            self._send_json(script.status, err, script.headers)
            return
        model = body.get("model", "fake") if isinstance(body, dict) else "fake"
        if script.json_body:
            self._send_json(200, _anthropic_json(script, model) if anthropic else _openai_json(script, model))
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        for k, v in script.headers.items():
            self.send_header(k, v)
        self.end_headers()
        events = _anthropic_events(script, model) if anthropic else _openai_events(script, model)
        self._stream(script, events)

    def _stream(self, script: Script, events: Iterator[tuple[str, bytes]]) -> None:
        if script.one_write:
            self._chunk(b"".join(data for _, data in events))
            events = iter(())
        texts_sent = 0
        extra_sent = False
        for kind, data in events:
            self._chunk(data, script.split_bytes)
            if kind == "text":
                texts_sent += 1
                if not extra_sent and (script.malformed or script.oversized):
                    extra_sent = True
                    if script.malformed:
                        self._chunk(script.malformed.encode() + b"\n\n")
                    if script.oversized:
                        self._chunk(b"data: " + b"x" * script.oversized + b"\n\n")
                if script.disconnect_after is not None and texts_sent >= script.disconnect_after:
                    self._abort()
                    return
                if script.chunk_delay:
                    time.sleep(script.chunk_delay)
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


# ------------------------------------------------------------ payloads

def _sse(obj: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return (head + "data: " + (obj if isinstance(obj, str) else json.dumps(obj)) + "\n\n").encode()


def _texts(script: Script) -> Iterator[str]:
    if script.endless:
        deadline = time.monotonic() + 20
        i = 0
        while time.monotonic() < deadline:
            yield f"tok{i} "
            i += 1
            time.sleep(0.01)
        return
    yield from script.texts


def _openai_events(script: Script, model: str) -> Iterator[tuple[str, bytes]]:
    base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1, "model": model}
    yield "meta", _sse({**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": None},
                                             "finish_reason": None}]})
    yield "meta", b": keep-alive\n\n"
    for text in _texts(script):
        yield "text", _sse({**base, "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]})
    yield "meta", _sse({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": script.finish_reason}]})
    if script.usage is not None:
        p, c, o = script.usage
        yield "meta", _sse({**base, "choices": [], "usage": {
            "prompt_tokens": p, "completion_tokens": o, "total_tokens": p + o,
            "prompt_tokens_details": {"cached_tokens": c}}})
    yield "meta", _sse("[DONE]")


def _anthropic_events(script: Script, model: str) -> Iterator[tuple[str, bytes]]:
    p, c, o = script.usage or (0, 0, 0)
    fresh = max(0, p - c - script.cache_write)
    yield "meta", _sse({"type": "message_start", "message": {
        "id": "msg_fake", "type": "message", "role": "assistant", "model": model, "content": [],
        "stop_reason": None, "usage": {"input_tokens": fresh, "cache_read_input_tokens": c,
                                       "cache_creation_input_tokens": script.cache_write, "output_tokens": 1}}},
        "message_start")
    yield "meta", _sse({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
                       "content_block_start")
    yield "meta", _sse({"type": "ping"}, "ping")
    for text in _texts(script):
        yield "text", _sse({"type": "content_block_delta", "index": 0,
                            "delta": {"type": "text_delta", "text": text}}, "content_block_delta")
    yield "meta", _sse({"type": "content_block_stop", "index": 0}, "content_block_stop")
    reason = {"stop": "end_turn", "length": "max_tokens"}.get(script.finish_reason, script.finish_reason)
    yield "meta", _sse({"type": "message_delta", "delta": {"stop_reason": reason, "stop_sequence": None},
                        "usage": {"output_tokens": o}}, "message_delta")
    yield "meta", _sse({"type": "message_stop"}, "message_stop")


def _openai_json(script: Script, model: str) -> dict[str, Any]:
    p, c, o = script.usage or (0, 0, 0)
    out: dict[str, Any] = {"id": "chatcmpl-fake", "object": "chat.completion", "model": model, "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "".join(script.texts)},
         "finish_reason": script.finish_reason}]}
    if script.usage is not None:
        out["usage"] = {"prompt_tokens": p, "completion_tokens": o, "prompt_tokens_details": {"cached_tokens": c}}
    return out


def _anthropic_json(script: Script, model: str) -> dict[str, Any]:
    p, c, o = script.usage or (0, 0, 0)
    return {"id": "msg_fake", "type": "message", "role": "assistant", "model": model,
            "content": [{"type": "text", "text": "".join(script.texts)}], "stop_reason": "end_turn",
            "usage": {"input_tokens": p - c, "cache_read_input_tokens": c, "output_tokens": o}}


# ------------------------------------------------------------ fixture

@pytest.fixture(scope="session")
def fake_server() -> Iterator[FakeProviderServer]:
    server = FakeProviderServer().start()
    yield server
    server.stop()


@pytest.fixture
def fake(fake_server: FakeProviderServer) -> Iterator[FakeProviderServer]:
    """The session's fake server, with scripts and recorded requests cleared for each test."""
    fake_server.reset()
    yield fake_server
    fake_server.reset()


@pytest.fixture(scope="session")
def local_llm_url() -> Iterator[str]:
    """A real llama.cpp server (SmolLM2-135M) on 127.0.0.1, shared by the session; skips with the
    reason when xllamacpp or the model is not installed."""
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from bench.local_llm import start_local_llm, unavailable_reason
    reason = unavailable_reason()
    if reason:
        pytest.skip(f"real local LLM not available: {reason}")
    base_url, stop = start_local_llm(timeout=60)
    yield base_url
    stop()


def self_signed_server(tmp_path) -> FakeProviderServer:
    """A started fake provider on HTTPS with a self-signed certificate (``.cert``, its PEM file): a
    host nobody trusts, as an interceptor would be. Skips the test without the openssl CLI."""
    import shutil
    import subprocess
    if not shutil.which("openssl"):
        pytest.skip("openssl CLI not available to make a self-signed certificate")
    cert, key = tmp_path / "self-signed.pem", tmp_path / "self-signed.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key),
                    "-out", str(cert)], check=True, capture_output=True)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    server = FakeProviderServer(tls=ctx).start()
    server.cert = cert
    return server
