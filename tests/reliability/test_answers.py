"""Every request gets a JSON-RPC answer, as JSON-RPC 2.0 and LSP say, whatever the frame holds.

Malformed bodies are answered -32700 (with the request's id when it can still be read), malformed
requests -32600, requests before `initialize` -32002 and after `shutdown` -32600; `exit` without
`shutdown` ends the process with code 1. A header line without end and an oversized message cost no
memory and leave the next request answered.
"""

from __future__ import annotations

import json
import queue
import time

import pytest

from rawlsp import RawSidecar, frame
from results import record

ROUTE = {"text": "rename a to b", "dryRun": True}
figures: dict = {}


@pytest.fixture(scope="module", autouse=True)
def keep_figures():
    yield
    record("answers", figures)


@pytest.fixture(scope="module")
def lsp(tmp_path_factory):
    server = RawSidecar(tmp_path_factory.mktemp("home"))
    server.initialize()
    yield server
    server.close()


def expect(lsp: RawSidecar, data: bytes, msg_id, timeout: float = 5.0) -> dict:
    """Write raw bytes; the answer that carries ``msg_id`` (None: ``"id": null``)."""
    with lsp._lock:
        lsp._responses[msg_id] = queue.Queue()
    lsp.write(data)
    return lsp.wait(msg_id, timeout)


def raw_frame(body: bytes) -> bytes:
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


def still_answers(lsp: RawSidecar) -> None:
    assert "result" in lsp.request("kilo/route", ROUTE, timeout=5)


def no_traceback(msg: dict) -> None:
    text = json.dumps(msg)
    assert "Traceback" not in text and "traceback" not in text and 'File \\"' not in text, msg


PARSE_ERRORS = {
    "invalid UTF-8": (b'{"jsonrpc":"2.0","id":"u8","method":"kilo/route","params":{"text":"\xff\xfe rename"}}', "u8"),
    "nested 1,000 deep": (('{"jsonrpc":"2.0","id":"deep","method":"kilo/route","params":{"text":"x","context":'
                           + "[" * 1000 + "]" * 1000 + "}}").encode(), "deep"),
    "nested 100,000 deep": (('{"jsonrpc":"2.0","id":7,"method":"kilo/route","params":'
                             + "[" * 100_000 + "]" * 100_000 + "}").encode(), 7),
    "truncated JSON with an id": (b'{"jsonrpc":"2.0","id":"cut","method":"kilo/route","params":{"text":"a', "cut"),
    "not JSON": (b"hello world", None),
    "empty body": (b"", None),
}


@pytest.mark.parametrize("case", list(PARSE_ERRORS))
def test_a_body_that_cannot_be_parsed_gets_minus_32700(lsp, case):
    body, msg_id = PARSE_ERRORS[case]
    msg = expect(lsp, raw_frame(body), msg_id)
    assert msg["error"]["code"] == -32700, msg
    assert msg["id"] == msg_id
    no_traceback(msg)
    figures.setdefault("parse_errors", {})[case] = msg["error"]["message"][:100]
    still_answers(lsp)


INVALID = {
    "numeric method": ({"jsonrpc": "2.0", "id": "nm", "method": 7, "params": {}}, "nm"),
    "method null": ({"jsonrpc": "2.0", "id": "mn", "method": None, "params": {}}, "mn"),
    "jsonrpc 1.0": ({"jsonrpc": "1.0", "id": "v1", "method": "kilo/route", "params": ROUTE}, "v1"),
    "no jsonrpc member": ({"id": "nj", "method": "kilo/route", "params": ROUTE}, "nj"),
    "id is an object": ({"jsonrpc": "2.0", "id": {"x": 1}, "method": "kilo/route", "params": ROUTE}, None),
    "id is a bool": ({"jsonrpc": "2.0", "id": True, "method": "kilo/route", "params": ROUTE}, None),
    "a JSON scalar": (42, None),
    "JSON null": (None, None),
    "an empty object": ({}, None),
}


@pytest.mark.parametrize("case", list(INVALID))
def test_an_invalid_request_gets_minus_32600(lsp, case):
    message, msg_id = INVALID[case]
    msg = expect(lsp, frame(message), msg_id)
    assert msg["error"]["code"] == -32600, msg
    no_traceback(msg)
    figures.setdefault("invalid_requests", {})[case] = msg["error"]["message"][:100]
    still_answers(lsp)


def test_each_request_of_a_batch_is_answered(lsp):
    batch = [{"jsonrpc": "2.0", "id": f"b{i}", "method": "kilo/route", "params": ROUTE} for i in range(3)]
    with lsp._lock:
        for i in range(3):
            lsp._responses[f"b{i}"] = queue.Queue()
    lsp.write(frame(batch))
    for i in range(3):
        assert lsp.wait(f"b{i}", 5)["error"]["code"] == -32600
    still_answers(lsp)


def test_an_oversized_message_is_answered_with_its_id(lsp):
    body = json.dumps({"jsonrpc": "2.0", "id": "big", "method": "kilo/route", "params": ROUTE}).encode()
    msg = expect(lsp, b"Content-Length: 99999999999999\r\n\r\n" + body, "big")
    assert msg["error"]["code"] == -32600 and "limit" in msg["error"]["message"]
    still_answers(lsp)


def test_a_header_line_without_end_costs_no_memory(lsp):
    """100 MB of noise without a line end, then a request: answered, and the process did not grow
    by the noise (it used to keep every byte of an unfinished line)."""
    before = max(lsp.peak_rss_bytes(), lsp.rss_bytes())
    chunk = b"x" * (1 << 20)
    for _ in range(100):
        lsp.write(chunk)
    lsp.write(b"\r\n")
    started = time.monotonic()
    still_answers(lsp)
    grown = (lsp.peak_rss_bytes() - before) / 1e6
    figures["endless_header_line"] = {"noise_mb": 100, "rss_growth_mb": round(grown, 1),
                                      "answered_after_s": round(time.monotonic() - started, 2)}
    assert grown < 40, f"the sidecar grew by {grown:.0f} MB reading a header line"


def test_lifecycle_before_initialize_and_after_shutdown(tmp_path):
    lsp = RawSidecar(tmp_path)
    try:
        early = lsp.request("kilo/route", ROUTE, timeout=5)
        assert early["error"]["code"] == -32002, early
        assert lsp.request("textDocument/hover", {"textDocument": {"uri": "file:///a"},
                                                  "position": {"line": 0, "character": 0}})["error"]["code"] == -32002
        lsp.notify("textDocument/didOpen", {"textDocument": {"uri": "file:///a", "languageId": "python",
                                                             "version": 1, "text": "x"}})   # dropped, no answer
        assert "result" in lsp.initialize()
        again = lsp.request("initialize", {"processId": None, "capabilities": {}}, timeout=5)
        assert again["error"]["code"] == -32600, again
        still_answers(lsp)
        assert lsp.request("shutdown", None)["result"] is None
        late = lsp.request("kilo/route", ROUTE, timeout=5)
        assert late["error"]["code"] == -32600, late
        assert lsp.request("shutdown", None, timeout=5)["error"]["code"] == -32600
        lsp.notify("exit")
        assert lsp.wait_exit(5) == 0
    finally:
        lsp.close()
    figures["lifecycle"] = {"before_initialize": early["error"]["message"], "after_shutdown": late["error"]["message"]}


def test_exit_without_shutdown_ends_with_code_1(tmp_path):
    lsp = RawSidecar(tmp_path)
    try:
        lsp.initialize()
        still_answers(lsp)
        lsp.notify("exit")
        assert lsp.wait_exit(5) == 1
    finally:
        lsp.close()
