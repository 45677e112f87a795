"""Forwarding: time to first token, stream relay and concurrent streams, sidecar vs a direct client.

The sidecar reaches the upstream as the OpenRouter provider with its base URL pointed at it (the
upstream accepts any model name). The direct client is httpx2, kept alive, sending the same
messages (system prompt + the request) to the same server.
"""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

from .framer import Client
from .report import median, pct

ROOT = Path(__file__).resolve().parents[2]
KEY = "sk-or-v1-per.f0000000000000000000000KEY"
SYSTEM = "Be brief."
SERVER = "import sys; from kilo_lsp.cli import main; sys.exit(main(['--stdio']))"


class Upstream:
    """bench/perf/upstream.py in its own process."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("upstream.py"))],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=str(ROOT))
        self.base = self.proc.stdout.readline().strip()
        if not self.base.startswith("http"):
            raise RuntimeError("the fake upstream did not start")

    def close(self) -> None:
        try:
            self.proc.stdin.close()
            self.proc.wait(5)
        except Exception:
            self.proc.kill()


def sidecar(ctx: Any, base_url: str) -> Client:
    cfg = ctx.home / "perf-config.toml"
    cfg.write_text("[network]\nfirst_token_timeout = 15\nidle_timeout = 15\n")
    root = ctx.sidecar_root
    c = Client([ctx.sidecar_python, "-c", SERVER],
               env=ctx.env({"OPENROUTER_API_KEY": KEY, "KILO_CONFIG": str(cfg), "KILO_OPENROUTER_BASE_URL": base_url,
                            "PYTHONPATH": str(root)}), cwd=str(root))
    c.initialize("file:///perf/ws")
    c.keep_notifications = False
    return c


def complete_params(text: str, stream_id: str, max_tokens: int) -> dict[str, Any]:
    return {"text": text, "conversationId": f"perf-{stream_id}", "streamId": stream_id, "maxTokens": max_tokens,
            "temperature": 0, "system": SYSTEM}


def through_sidecar(c: Client, text: str, max_tokens: int = 8) -> tuple[float, float, int]:
    """(time to first kilo/chunk, time to the response, chunks) for one kilo/complete."""
    t0 = time.perf_counter()
    rid = c.send_request("kilo/complete", complete_params(text, "s", max_tokens))
    first = None
    chunks = 0
    while True:
        msg = c.read()
        if msg.get("method") == "kilo/chunk":
            chunks += 1
            if first is None:
                first = time.perf_counter()
        elif msg.get("id") == rid and "method" not in msg:
            if "error" in msg:
                raise RuntimeError(f"kilo/complete failed: {msg['error']}")
            end = time.perf_counter()
            return (first or end) - t0, end - t0, chunks


class Direct:
    """A plain httpx2 client streaming the same request from the same server."""

    def __init__(self, base_url: str, keep_alive: bool = True) -> None:
        import httpx2
        self.url = base_url.rstrip("/") + "/chat/completions"
        headers = {"authorization": f"Bearer {KEY}"}
        if not keep_alive:
            headers["connection"] = "close"
        self.client = httpx2.Client(timeout=15, headers=headers)
        self.retries = 0

    def body(self, text: str, max_tokens: int) -> dict[str, Any]:
        return {"model": "direct", "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": text}],
                "stream": True, "stream_options": {"include_usage": True}, "max_tokens": max_tokens, "temperature": 0}

    def stream(self, text: str, max_tokens: int = 8) -> tuple[float, float, int]:
        import httpx2
        try:
            return self._stream(text, max_tokens)
        except httpx2.TransportError:   # e.g. a kept-alive connection the server had just closed
            self.retries += 1
            return self._stream(text, max_tokens)

    def _stream(self, text: str, max_tokens: int) -> tuple[float, float, int]:
        t0 = time.perf_counter()
        first = None
        chunks = 0
        with self.client.stream("POST", self.url, json=self.body(text, max_tokens),
                                headers={"accept": "text/event-stream"}) as resp:
            for line in resp.iter_lines():
                if _has_text(line):
                    chunks += 1
                    if first is None:
                        first = time.perf_counter()
        end = time.perf_counter()
        return (first or end) - t0, end - t0, chunks

    def close(self) -> None:
        self.client.close()


def _has_text(line: str) -> bool:
    if not line.startswith("data: {"):
        return False
    obj = json.loads(line[6:])
    choices = obj.get("choices") or []
    return bool(choices and (choices[0].get("delta") or {}).get("content"))


def _alternate(n: int, a: Callable[[], tuple[float, float, int]], b: Callable[[], tuple[float, float, int]]):
    ra, rb = [], []
    for i in range(n):
        if i % 2 == 0:
            ra.append(a()); rb.append(b())
        else:
            rb.append(b()); ra.append(a())
    return ra, rb


def _ttft_pair(ctx: Any, label: str, base: str, text: str, n: int, warm: int, max_tokens: int,
               keep_alive: bool = True) -> None:
    c = sidecar(ctx, base)
    d = Direct(base, keep_alive)
    failures: list[str] = []

    def side() -> Any:
        try:
            return through_sidecar(c, text, max_tokens)
        except RuntimeError as exc:          # counted and reported; the pair is dropped
            failures.append(str(exc))
            time.sleep(2.5)                  # let the provider's cool-down pass
            return None

    try:
        _alternate(warm, side, lambda: d.stream(text, max_tokens))
        rs, rd = _alternate(n, side, lambda: d.stream(text, max_tokens))
    finally:
        c.close()
        d.close()
    pairs = [(a, b) for a, b in zip(rs, rd) if a is not None]
    s = [1000 * a[0] for a, _ in pairs]
    dd = [1000 * b[0] for _, b in pairs]
    r = ctx.report
    if not pairs:
        r.add("forwarding", f"{label}: kilo/complete failures", len(failures), "failures", target="0", met=False)
        r.note("forwarding", f"{label}: every request failed; the first: {failures[0][:300]}")
        return
    added = median(s) - median(dd)
    paired = median([a - b for a, b in zip(s, dd)])
    r.add("forwarding", f"{label}: time to first token through the sidecar", median(s), "ms",
          baseline="direct httpx2 client", baseline_value=median(dd))
    r.add("forwarding", f"{label}: added time to first token (median)", added, "ms", target="<= 3 ms",
          met=added <= 3)
    r.note("forwarding", f"{label}: {len(pairs)} alternating pairs after {warm} warm-up pairs; median of paired "
                         f"differences {paired:.2f} ms; p90 {pct(s, 90):.1f} ms through the sidecar, "
                         f"{pct(dd, 90):.1f} ms direct.")
    if d.retries:
        r.note("forwarding", f"{label}: the direct client met {d.retries} kept-alive connection(s) the server had "
                             "already closed and retried at once on a new one (timed afresh).")
    if failures:
        r.add("forwarding", f"{label}: kilo/complete failures", len(failures), "failures", target="0", met=False)
        r.note("forwarding", f"{label}: {len(failures)} of {warm + n} kilo/complete requests failed (pair dropped); "
                             f"the first: {failures[0][:300]}")


def forwarding(ctx: Any, fake: bool = True) -> None:
    if fake:
        up = Upstream()
        try:
            _ttft_pair(ctx, "fake upstream (answers at once)", up.base, "perf-ttft say hello", ctx.n(200, 40),
                       ctx.n(20, 5), 8)
        finally:
            up.close()
    try:
        sys.path.insert(0, str(ROOT))
        from bench.local_llm import start_local_llm, unavailable_reason
    except ImportError as exc:
        ctx.report.note("forwarding", f"local llama.cpp not measured: {exc}")
        return
    reason = unavailable_reason()
    if reason:
        ctx.report.note("forwarding", f"local llama.cpp not measured: {reason}")
        return
    # The direct client asks for `Connection: close`: kept alive, its connection was closed under it
    # by llama-server every few requests, and requests through the sidecar then hung to their timeout.
    base, stop = start_local_llm(timeout=60)
    try:
        _ttft_pair(ctx, "local llama.cpp (SmolLM2-135M, prompt cached)", base,
                   "What is 2+2? Answer with a number only.", ctx.n(40, 15), ctx.n(4, 3), 4, keep_alive=False)
    except Exception as exc:  # noqa: BLE001 - reported, the other sections still run
        ctx.report.add("forwarding", "local llama.cpp: comparison completed", 0, "runs", target="1", met=False)
        ctx.report.note("forwarding", "local llama.cpp: the server stopped answering part-way through the "
                                      "alternating run (the direct client timed out too: "
                                      f"{type(exc).__name__}); no figure. See the report for what is known.")
    finally:
        stop()


def relay(ctx: Any) -> None:
    n = ctx.n(50_000, 10_000)
    up = Upstream()
    c = sidecar(ctx, up.base)
    d = Direct(up.base)
    text = f"perf-relay {n}"
    cpu = {"side": 0.0, "direct": 0.0}

    def side() -> tuple[float, float, int]:
        t = c.cpu_seconds()
        out = _relay_sidecar(c, text)
        cpu["side"] += c.cpu_seconds() - t
        return out

    def direct() -> tuple[float, float, int]:
        t = time.process_time()
        out = d.stream(text, 4096)
        cpu["direct"] += time.process_time() - t
        return out

    try:
        through_sidecar(c, "perf-relay 1000", 4096)
        d.stream("perf-relay 1000")
        rs, rd = _alternate(ctx.n(3, 1), side, direct)
    finally:
        c.close()
        d.close()
        up.close()
    side_rates = [x[2] / (x[1] - x[0]) for x in rs if x[1] > x[0]]
    direct_rates = [x[2] / (x[1] - x[0]) for x in rd if x[1] > x[0]]
    got = rs[-1][2]
    rate = median(side_rates)
    ctx.report.add("relay", f"relay of a {n:,}-chunk stream through the sidecar", rate, "chunks/s",
                   baseline="direct httpx2 client reading the same stream", baseline_value=median(direct_rates),
                   target=">= 20,000 chunks/s", met=rate >= 20_000 and got == n)
    ctx.report.add("relay", "CPU per relayed chunk, sidecar process", round(1e6 * cpu["side"] / sum(x[2] for x in rs), 1),
                   "µs", baseline="direct httpx2 client reading and parsing the stream, per chunk",
                   baseline_value=round(1e6 * cpu["direct"] / sum(x[2] for x in rd), 1))
    ctx.report.note("relay", f"upstream chunks per second between the first and the last kilo/chunk as the "
                             f"client receives them ({got:,} of {n:,} arrived, counted in the text: the sidecar "
                             "joins the deltas that arrive while the client is not reading into one kilo/chunk); the "
                             "direct figure is the same stream read with httpx2 and parsed in the benchmark's process.")


def _relay_sidecar(c: Client, text: str) -> tuple[float, float, int]:
    """Upstream chunks relayed per second. The sidecar may join several deltas into one kilo/chunk,
    so the upstream chunks ("tok " each) are counted in the text that arrives."""
    t0 = time.perf_counter()
    rid = c.send_request("kilo/complete", complete_params(text, "relay", 100_000))
    first = last = None
    chunks = 0
    while True:
        msg = c.read()
        if msg.get("method") == "kilo/chunk":
            chunks += msg["params"]["text"].count("tok ")
            last = time.perf_counter()
            if first is None:
                first = last
        elif msg.get("id") == rid and "method" not in msg:
            if "error" in msg:
                raise RuntimeError(f"kilo/complete failed: {msg['error']}")
            return (first or t0) - t0, (last or t0) - t0, chunks


WAIT_MS = 50        # the upstream's own time to first token in the concurrency sections
DRIP_GAP_MS = 20    # sustained streams: one token every 20 ms (50 tokens/s, a model's pace)
BURSTS = (1, 8, 50)     # requests written at once: a user's sidecar rarely has more than 8 streams
SUSTAINED = (8, 50)     # streams kept in flight
TARGETED = 50           # the streams the added-time target (<= 20 ms) is set for


def concurrency(ctx: Any) -> None:
    text = f"perf-wait {WAIT_MS} write a haiku"
    up = Upstream()
    c = sidecar(ctx, up.base)
    runner = asyncio.Runner()
    direct = runner.run(_DirectAsync.open(up.base))
    try:
        _concurrent_sidecar(c, text, 50)      # warm-up: connections, ledger, classifier
        runner.run(direct.round(text, 50))
        for n in BURSTS:
            _burst(ctx, c, runner, direct, text, n)
        for n in SUSTAINED:
            _sustained(ctx, c, runner, direct, n)
    finally:
        c.close()
        runner.run(direct.close())
        runner.close()
        up.close()
    ctx.report.note("concurrency", "CPU per request: the sidecar process's user and system time (all threads) over "
                                   "the requests of that pattern, against this process's own CPU time while its "
                                   "direct httpx2 client ran the same requests.")
    ctx.report.note("concurrency", "the upstream (bench/perf/upstream.py) is its own process on raw asyncio streams "
                                   "with pre-encoded responses, so neither side is measured against the upstream's "
                                   "CPU.")


def _burst(ctx: Any, c: Client, runner: asyncio.Runner, direct: "_DirectAsync", text: str, n: int) -> None:
    """``n`` requests written at once, in rounds alternating with the direct client's ``n`` at once."""
    rounds = max(ctx.n(10, 3), -(-ctx.n(120, 30) // n))
    side: list[float] = []
    base: list[float] = []
    cpu_side = cpu_base = 0.0
    for i in range(rounds):
        for who in (("side", "base") if i % 2 == 0 else ("base", "side")):
            if who == "side":
                t = c.cpu_seconds()
                side += _concurrent_sidecar(c, text, n)
                cpu_side += c.cpu_seconds() - t
            else:
                t = time.process_time()
                base += runner.run(direct.round(text, n))
                cpu_base += time.process_time() - t
    label = f"burst: {n} requests written at once" if n > 1 else "one request at a time"
    _rows(ctx, label, "same burst", side, base, 1000 * cpu_side / len(side), 1000 * cpu_base / len(base),
          n == TARGETED)
    ctx.report.note("concurrency", f"{label}: {rounds} rounds of {n} kilo/complete requests written at once (sidecar) "
                                   f"and {n} concurrent streams from one kept-alive httpx2 AsyncClient (direct), "
                                   f"alternating. The upstream answers after {WAIT_MS} ms; the added time is counted "
                                   f"over those {WAIT_MS} ms, so it includes the queueing of requests that arrive in "
                                   "the same instant (the direct client, in the benchmark's own interpreter, queues "
                                   "them too).")


def _sustained(ctx: Any, c: Client, runner: asyncio.Runner, direct: "_DirectAsync", n: int) -> None:
    """``n`` long streams kept in flight, each ended one followed by a new request, alternating."""
    warm = ctx.n(3.0, 2.5)
    window = ctx.n(6.0, 3.0) * (2 if n < 50 else 1)      # fewer streams, fewer new requests per second
    side: list[float] = []
    base: list[float] = []
    cpu_side = cpu_base = 0.0
    sent_side = sent_base = 0
    for i in range(ctx.n(2, 1)):
        seed = 1000 + i                       # the same stream lengths for both
        for who in (("side", "base") if i % 2 == 0 else ("base", "side")):
            if who == "side":
                t = c.cpu_seconds()
                ttft, sent = _sustained_sidecar(c, n, warm, window, seed)
                cpu_side += c.cpu_seconds() - t
                side += ttft
                sent_side += sent
            else:
                t = time.process_time()
                ttft, sent = runner.run(direct.sustained(n, warm, window, seed))
                cpu_base += time.process_time() - t
                base += ttft
                sent_base += sent
    label = f"sustained: {n} streams in flight"
    _rows(ctx, label, "same pattern", side, base, 1000 * cpu_side / sent_side, 1000 * cpu_base / sent_base,
          n == TARGETED)
    ctx.report.note("concurrency", f"{label}: long streams (each {DRIP_GAP_MS} ms between tokens, 0.8 to 2.4 s long, "
                                   "the same lengths for both); as one ends the next request is sent, so requests keep "
                                   f"arriving while {n} others stream. Counted: the time to first token of every "
                                   f"request sent after a {warm:g} s warm-up, for {window:g} s ({len(side)} through "
                                   f"the sidecar, {len(base)} direct); p99 direct {pct(base, 99):.1f} ms.")


def _rows(ctx: Any, label: str, same: str, side: list[float], base: list[float], cpu_side: float,
          cpu_base: float, targeted: bool) -> None:
    r = ctx.report
    added99 = pct(side, 99) - WAIT_MS
    r.add("concurrency", f"{label}: time to first token through the sidecar, p99", pct(side, 99), "ms",
          baseline=f"direct httpx2 (asyncio), {same}, p99", baseline_value=pct(base, 99))
    r.add("concurrency", f"{label}: time to first token through the sidecar, p50", median(side), "ms",
          baseline="direct, p50", baseline_value=median(base))
    r.add("concurrency", f"{label}: added time to first token p99 (over the upstream's {WAIT_MS} ms)", added99, "ms",
          target="<= 20 ms" if targeted else "", met=added99 <= 20 if targeted else None)
    r.add("concurrency", f"{label}: CPU per request, sidecar process", cpu_side, "ms",
          baseline="direct httpx2 client, per request", baseline_value=cpu_base)


def _sustained_sidecar(c: Client, streams: int, warm: float, window: float, seed: int) -> tuple[list[float], int]:
    """TTFT (ms) of each request sent after ``warm`` s while ``streams`` long streams stay in flight,
    and the number of requests sent."""
    rng = random.Random(seed)
    sent: dict[str, tuple[float, bool]] = {}
    rid_of: dict[int, str] = {}
    seen: set[str] = set()
    out: list[float] = []
    t_start = time.perf_counter()
    count = [0]

    def launch() -> None:
        sid = f"u{count[0]}"
        count[0] += 1
        text = f"perf-drip {WAIT_MS} {rng.randint(40, 120)} {DRIP_GAP_MS} write it"
        now = time.perf_counter()
        sent[sid] = (now, now - t_start >= warm)
        rid_of[c.send_request("kilo/complete", complete_params(text, sid, 4096))] = sid

    for _ in range(streams):
        launch()
    while rid_of:
        msg = c.read()
        if msg.get("method") == "kilo/chunk":
            sid = msg["params"]["streamId"]
            if sid not in seen:
                seen.add(sid)
                t0, measured = sent[sid]
                if measured:
                    out.append(1000 * (time.perf_counter() - t0))
        elif "method" not in msg and msg.get("id") in rid_of:
            if "error" in msg:
                raise RuntimeError(f"kilo/complete failed: {msg['error']}")
            rid_of.pop(msg["id"])
            if time.perf_counter() - t_start < warm + window:
                launch()
    return out, count[0]


def _concurrent_sidecar(c: Client, text: str, n: int) -> list[float]:
    sent: dict[str, float] = {}
    first: dict[str, float] = {}
    ids = set()
    for i in range(n):
        sid = f"c{i}"
        sent[sid] = time.perf_counter()
        ids.add(c.send_request("kilo/complete", complete_params(text, sid, 8)))
    while ids:
        msg = c.read()
        if msg.get("method") == "kilo/chunk":
            sid = msg["params"]["streamId"]
            first.setdefault(sid, time.perf_counter())
        elif "method" not in msg and msg.get("id") in ids:
            if "error" in msg:
                raise RuntimeError(f"kilo/complete failed: {msg['error']}")
            ids.discard(msg["id"])
    return [1000 * (first[s] - sent[s]) for s in sent]


class _DirectAsync:
    @classmethod
    async def open(cls, base: str) -> "_DirectAsync":
        import httpx2
        self = cls()
        self.url = base.rstrip("/") + "/chat/completions"
        self.client = httpx2.AsyncClient(timeout=60, headers={"authorization": f"Bearer {KEY}"},
                                         limits=httpx2.Limits(max_connections=200, max_keepalive_connections=200))
        return self

    async def one(self, body: dict[str, Any]) -> float:
        t0 = time.perf_counter()
        t = None
        async with self.client.stream("POST", self.url, json=body, headers={"accept": "text/event-stream"}) as resp:
            async for line in resp.aiter_lines():
                if t is None and _has_text(line):
                    t = time.perf_counter()
        return 1000 * ((t or time.perf_counter()) - t0)

    async def sustained(self, streams: int, warm: float, window: float, seed: int) -> tuple[list[float], int]:
        """The pattern of ``_sustained_sidecar``: ``streams`` workers, each sending its next long
        stream as its last one ends; the TTFT of each request sent after ``warm`` s, and the number
        of requests sent."""
        rng = random.Random(seed)
        out: list[float] = []
        sent = [0]
        t_start = time.perf_counter()

        async def worker() -> None:
            while time.perf_counter() - t_start < warm + window:
                text = f"perf-drip {WAIT_MS} {rng.randint(40, 120)} {DRIP_GAP_MS} write it"
                measured = time.perf_counter() - t_start >= warm
                sent[0] += 1
                ms = await self.one(Direct.body(None, text, 4096))  # type: ignore[arg-type]
                if measured:
                    out.append(ms)

        await asyncio.gather(*(worker() for _ in range(streams)))
        return out, sent[0]

    async def round(self, text: str, n: int) -> list[float]:
        body = Direct.body(None, text, 8)  # type: ignore[arg-type]
        return list(await asyncio.gather(*(self.one(body) for _ in range(n))))

    async def close(self) -> None:
        await self.client.aclose()
