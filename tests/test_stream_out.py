"""The sidecar's stdout (kilo_lsp/lsp/stdout.py): non-blocking, batched once per loop turn, and
kilo/chunk deltas joined while the editor does not read, without losing, reordering or delaying text.

Unit tests write to a real pipe; end-to-end tests drive a real sidecar process against the fake
provider with a client that stops reading for a while, as a busy editor does."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

from lsp_harness import SERVER_WITH_FORWARDING as SERVER, isolated_env

from kilo_lsp.lsp.stdout import ChunkStream, StdoutStream

try:
    from tests.fake_provider import Script, fake, fake_server  # noqa: F401
except ImportError:
    from fake_provider import Script, fake, fake_server  # type: ignore[no-redef]  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.perf.framer import Client  # noqa: E402

KEY = "sk-or-v1-out.0000000000000000000KEY1"


def parse_frames(data: bytes) -> list[dict]:
    out, pos = [], 0
    while pos < len(data):
        head_end = data.index(b"\r\n\r\n", pos)
        length = next(int(line.split(b":")[1]) for line in data[pos:head_end].split(b"\r\n")
                      if line.lower().startswith(b"content-length"))
        body = data[head_end + 4:head_end + 4 + length]
        assert len(body) == length, "a frame was cut"
        out.append(json.loads(body))
        pos = head_end + 4 + length
    return out


def drain(fd: int) -> bytes:
    got = bytearray()
    while True:
        try:
            piece = os.read(fd, 1 << 20)
        except BlockingIOError:
            return bytes(got)
        if not piece:
            return bytes(got)
        got += piece


class Pipe:
    def __init__(self) -> None:
        r, w = os.pipe()
        os.set_blocking(r, False)
        self.r = r
        self.file = os.fdopen(w, "wb")
        self.out = StdoutStream(self.file)

    def read(self) -> list[dict]:
        return parse_frames(drain(self.r))

    def close(self) -> None:
        self.out.close()
        os.close(self.r)


async def turn() -> None:
    await asyncio.sleep(0)
    await asyncio.sleep(0)


async def test_first_chunk_goes_out_at_the_end_of_its_loop_turn() -> None:
    p = Pipe()
    try:
        s = ChunkStream(p.out, "s1")
        s.send("Hel", "m", "p")
        s.send("lo", "m", "p")           # same turn: joined
        await turn()
        msgs = p.read()
        assert msgs == [{"jsonrpc": "2.0", "method": "kilo/chunk",
                         "params": {"streamId": "s1", "seq": 0, "text": "Hello", "model": "m", "provider": "p"}}]
        s.send(" wörld ✓ \"q\"\n", "m", "p")    # a later turn: a notification of its own, JSON-escaped
        await turn()
        assert [m["params"]["text"] for m in p.read()] == [" wörld ✓ \"q\"\n"]
        assert s.seq == 2
    finally:
        p.close()


async def test_a_full_pipe_never_blocks_and_joins_deltas_in_order() -> None:
    p = Pipe()
    try:
        a, b = ChunkStream(p.out, "a"), ChunkStream(p.out, "b")
        sent = {"a": [], "b": []}
        t0 = time.perf_counter()
        for i in range(6000):           # ~1 MB of notifications: far more than a pipe holds
            for name, s in (("a", a), ("b", b)):
                text = f"{name}{i} "
                sent[name].append(text)
                s.send(text, "m", "p")
            await asyncio.sleep(0)
        assert time.perf_counter() - t0 < 5, "the writer blocked on the full pipe"
        got = bytearray()
        for _ in range(2000):           # the reader catches up
            got += drain(p.r)
            await asyncio.sleep(0)
            if not p.out._buf and not p.out._pending and not p.out._waiting:
                break
        got += drain(p.r)
        msgs = parse_frames(bytes(got))
        for name in ("a", "b"):
            mine = [m["params"] for m in msgs if m["params"]["streamId"] == name]
            assert "".join(m["text"] for m in mine) == "".join(sent[name])
            assert [m["seq"] for m in mine] == list(range(len(mine)))
            assert len(mine) < 6000, "nothing was joined while the pipe was full"
    finally:
        p.close()


async def test_other_messages_come_after_the_chunks_sent_before_them() -> None:
    p = Pipe()
    try:
        s = ChunkStream(p.out, "s")
        s.send("one ", "m", "p")
        p.out.write(b'Content-Length: 15\r\n\r\n{"id":1,"r":2}\n')
        s.send("two", "m", "p")
        await turn()
        got = drain(p.r)
        assert got.index(b'"one "') < got.index(b'{"id":1') < got.index(b'"two"')
    finally:
        p.close()


async def test_close_writes_out_everything_pending() -> None:
    p = Pipe()
    s = ChunkStream(p.out, "s")
    s.send("last words", "m", "p")
    p.out.close()                       # before the loop turn ends
    msgs = parse_frames(drain(p.r))
    os.close(p.r)
    assert [m["params"]["text"] for m in msgs] == ["last words"]


# -- through a real sidecar ---------------------------------------------------------------------
def start_sidecar(home: Path, base_url: str) -> Client:
    c = Client([sys.executable, "-c", SERVER], env=isolated_env(home, {
        "OPENROUTER_API_KEY": KEY, "KILO_OPENROUTER_BASE_URL": base_url}), cwd=str(ROOT))
    c.initialize("file:///out/ws")
    return c


def read_until_response(c: Client, rid: int) -> tuple[dict, list[dict]]:
    chunks = []
    while True:
        msg = c.read()
        if msg.get("method") == "kilo/chunk":
            chunks.append(msg["params"])
        elif msg.get("id") == rid and "method" not in msg:
            return msg, chunks


def test_a_slow_editor_gets_every_delta_joined_in_order(fake, tmp_path) -> None:
    texts = tuple(f"t{i} " for i in range(20_000))
    fake.enqueue(Script(texts=("warm",)), Script(texts=texts, usage=(5, 0, len(texts))))
    c = start_sidecar(tmp_path, fake.url(""))
    try:
        c.call("kilo/complete", {"text": "warm up", "maxTokens": 64})
        rid = c.send_request("kilo/complete", {"text": "write a lot", "maxTokens": 100_000})
        time.sleep(1.5)                 # the editor is busy: the pipe fills, the sidecar keeps reading
        msg, chunks = read_until_response(c, rid)
        assert "result" in msg, msg
        assert msg["result"]["text"] == "".join(texts)
        assert "".join(ch["text"] for ch in chunks) == "".join(texts)
        assert [ch["seq"] for ch in chunks] == list(range(len(chunks)))
        assert 1 < len(chunks) < len(texts) // 4, len(chunks)
    finally:
        c.close()


def test_a_cancelled_stream_ends_cleanly_after_its_joined_chunks(fake, tmp_path) -> None:
    texts = tuple(f"tok{i} " for i in range(100_000))     # seconds of stream: cancelled long before its end
    fake.enqueue(Script(texts=("warm",)), Script(texts=texts))
    c = start_sidecar(tmp_path, fake.url(""))
    try:
        c.call("kilo/complete", {"text": "warm up", "maxTokens": 64})
        rid = c.send_request("kilo/complete", {"text": "explain it all", "maxTokens": 100_000})
        time.sleep(0.8)                 # not reading: the pipe fills, deltas are joined
        c.notify("$/cancelRequest", {"id": rid})
        msg, chunks = read_until_response(c, rid)
        assert msg.get("error", {}).get("code") == -32800, msg
        text = "".join(ch["text"] for ch in chunks)
        assert text and text == "".join(f"tok{i} " for i in range(len(text.split())))
        assert [ch["seq"] for ch in chunks] == list(range(len(chunks)))
        assert len(chunks) < len(text.split()), "nothing was joined"
        assert fake.client_closed.wait(3.0), "the upstream stream stayed open"
        usage = c.call("kilo/usage", {})
        assert usage["outcomes"].get("cancelled") == 1
    finally:
        c.close()
