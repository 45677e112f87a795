"""Hostile provider bodies: a huge answer, a gzip bomb (a small body that inflates to half a
gigabyte), an endless event stream, on every path a body is read (answers, error bodies, streams,
local model discovery). The sidecar reads a bounded number of bytes, after decompression, answers
with a clear error and stays small."""

from __future__ import annotations

import time
import zlib
from functools import lru_cache

import pytest

from fake_provider import FakeProviderServer, Script
from rawlsp import RawSidecar, wait_until
from results import record

KEY = "sk-or-v1-" "bodies000000000000000000000000KEY"
INFLATED = 512 * 1024 * 1024           # what a bomb inflates to
figures: dict = {}


@pytest.fixture(scope="module", autouse=True)
def keep_figures():
    yield
    record("hostile_bodies", figures)


@lru_cache(maxsize=None)
def bomb(line: bytes) -> bytes:
    """``line`` repeated to INFLATED bytes, gzip-compressed (about a thousandth of that)."""
    z = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = line * (1024 * 1024 // len(line))
    out = [z.compress(block) for _ in range(INFLATED // len(block))]
    out.append(z.flush())
    return b"".join(out)


def pieces(data: bytes, size: int = 65536):
    return lambda: (data[i:i + size] for i in range(0, len(data), size))


def huge_json(total: int):
    """A JSON answer of ``total`` bytes, made as it is sent."""
    def make():
        yield b'{"choices": [{"message": {"content": "'
        block = b"x" * (1 << 20)
        for _ in range(total // len(block)):
            yield block
        yield b'"}}]}'
    return make


GZIP = {"Content-Encoding": "gzip"}
# case: (what the provider sends, what the error must say)
CASES = {
    "200 JSON answer of 300 MB": (Script(raw_stream=huge_json(300 * 1024 * 1024), content_type="application/json"),
                                  "larger than"),
    "200 JSON answer, gzip bomb": (Script(raw_stream=pieces(bomb(b" " * 64)), content_type="application/json",
                                          headers=GZIP), "larger than"),
    "500 error body, gzip bomb": (Script(status=500, raw_stream=pieces(bomb(b"error ")), content_type="text/plain",
                                         headers=GZIP), "HTTP 500"),
    "event stream of comments, gzip bomb": (Script(raw_stream=pieces(bomb(b": keep-alive\n")),
                                                   content_type="text/event-stream", headers=GZIP), "larger than"),
    "event stream without a line end, gzip bomb": (Script(raw_stream=pieces(bomb(b"data: x")),
                                                          content_type="text/event-stream", headers=GZIP), "longer than"),
}


@pytest.fixture(scope="module")
def fake():
    server = FakeProviderServer().start()
    yield server
    server.stop()


@pytest.mark.parametrize("case", list(CASES))
def test_a_hostile_answer_is_cut_with_a_clear_error(tmp_path, fake, case):
    script, says = CASES[case]
    fake.reset()
    fake.enqueue(*([script] * 4))
    lsp = RawSidecar(tmp_path, env={"OPENROUTER_API_KEY": KEY, "KILO_OPENROUTER_BASE_URL": fake.url("/v1")})
    try:
        lsp.initialize()
        assert "result" in lsp.request("kilo/route", {"text": "warm up", "dryRun": True}, timeout=30)
        before = lsp.peak_rss_bytes()
        start = time.monotonic()
        msg = lsp.request("kilo/complete", {"text": "fix the bug in parser.py", "maxTokens": 64}, timeout=60)
        took = time.monotonic() - start
        grown = (lsp.peak_rss_bytes() - before) / 1e6
        after = lsp.request("kilo/route", {"text": "rename a to b", "dryRun": True}, timeout=10)
    finally:
        lsp.close()
    text = str(msg)
    figures[case] = {"seconds": round(took, 2), "peak_rss_growth_mb": round(grown, 1),
                     "answer": text[:160]}
    assert "result" in after
    assert grown < 120, f"{case}: the sidecar grew by {grown:.0f} MB"
    assert "error" in msg and says in text, text[:500]
    assert took < 30


@pytest.mark.parametrize("case", ["300 MB model list", "gzip bomb model list"])
def test_local_model_discovery_reads_a_bounded_body(tmp_path, fake, case):
    """Local servers are asked again on every settings change: the second time, the server answers
    with a hostile model list (after the sidecar has warmed up, so that its growth is the list's)."""
    fake.reset()
    cfg = tmp_path / "config" / "kilo-lsp" / "config.toml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text(f'[local]\nendpoints = ["{fake.url("/v1")}"]\nollama_url = ""\nlmstudio_url = ""\n')
    lsp = RawSidecar(tmp_path, env={"KILO_LOCAL_DISCOVER": "1"})
    try:
        lsp.initialize()
        assert wait_until(lambda: "local models:" in lsp.messages_text(), 10)
        assert "result" in lsp.request("kilo/route", {"text": "rename a to b", "dryRun": True}, timeout=30)
        time.sleep(1)
        fake.models_script = (Script(raw_stream=huge_json(300 * 1024 * 1024), content_type="application/json")
                              if case.startswith("300") else
                              Script(raw_stream=pieces(bomb(b" " * 64)), content_type="application/json",
                                     headers=GZIP))
        before = lsp.peak_rss_bytes()
        asked = len(fake.requests)
        lsp.notify("workspace/didChangeConfiguration", {"settings": {}})
        assert wait_until(lambda: len(fake.requests) > asked, 10)
        time.sleep(2)
        grown = (lsp.peak_rss_bytes() - before) / 1e6
        assert "result" in lsp.request("kilo/route", {"text": "rename a to b", "dryRun": True}, timeout=10)
    finally:
        lsp.close()
    figures[f"discovery: {case}"] = {"peak_rss_growth_mb": round(grown, 1)}
    assert grown < 40, f"{case}: the sidecar grew by {grown:.0f} MB"
