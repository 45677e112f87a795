"""The benchmark sections. Each one measures the sidecar and its baseline alternately in one run."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import workload
from .framer import Client, _dumps, frame
from .report import Report, median, pct

ROOT = Path(__file__).resolve().parents[2]
BARE = [sys.executable, str(Path(__file__).with_name("bare_server.py"))]
SIDECAR = [sys.executable, "-m", "kilo_lsp", "--stdio"]
WORKSPACE = "file:///perf/ws"


class Skip(Exception):
    pass


@dataclass
class Context:
    home: Path
    quick: bool
    report: Report
    # the sidecar measured by the forwarding, relay and concurrency sections: this checkout, or
    # another one with its own .venv (a before/after comparison against the same baselines)
    sidecar_root: Path = ROOT
    cleanup: list[Any] = field(default_factory=list)

    @property
    def sidecar_python(self) -> str:
        return sys.executable if self.sidecar_root == ROOT else str(self.sidecar_root / ".venv" / "bin" / "python")

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """The sidecar's environment: no user config, no keys, no proxies, no local discovery."""
        env = {k: v for k, v in os.environ.items()
               if not k.endswith("_API_KEY") and not k.startswith("KILO_") and "PROXY" not in k.upper()}
        env.update(HOME=str(self.home), XDG_CONFIG_HOME=str(self.home / "config"),
                   XDG_DATA_HOME=str(self.home / "data"), KILO_LOCAL_DISCOVER="0",
                   PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""))
        env.update(extra or {})
        return env

    def sidecar(self, extra_env: dict[str, str] | None = None, argv: list[str] | None = None) -> Client:
        c = Client(argv or SIDECAR, env=self.env(extra_env), cwd=str(ROOT))
        c.initialize(WORKSPACE)
        return c

    def bare(self) -> Client:
        c = Client(BARE, env=self.env(), cwd=str(ROOT))
        c.initialize(WORKSPACE)
        return c

    def n(self, full: int, quick: int) -> int:
        return quick if self.quick else full

    def close(self) -> None:
        for fn in reversed(self.cleanup):
            try:
                fn()
            except Exception:
                pass


def ms(seconds: float) -> float:
    return seconds * 1000.0


# -- start-up ---------------------------------------------------------------------------------
WATCH = {  # what must stay off the start-up path, by the module that brings it in
    "httpx2": "httpx2",
    "sqlite3": "sqlite3 (the ledger)",
    "kilo_lsp.ledger": "kilo_lsp.ledger (the ledger)",
    "kilo_lsp.providers.registry": "the provider clients (kilo_lsp.providers.registry)",
    "kilo_lsp.forwarding.forwarder": "kilo_lsp.forwarding.forwarder (forwarding)",
    "kilo_lsp.classify.editor": "the editor classifier",
    "kilo_lsp.classify.heuristic": "the heuristic classifier (its fallback)",
    "numpy": "numpy",
    "sklearn": "scikit-learn",
}
_IMPORT_LINE = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)")


def _imported(stderr: str) -> dict[str, int]:
    """Top-level module -> cumulative microseconds, from -X importtime output."""
    out: dict[str, int] = {}
    for line in stderr.splitlines():
        m = _IMPORT_LINE.match(line)
        if m:
            out[m.group(4)] = int(m.group(2))
    return out


def imports(ctx: Context) -> None:
    """-X importtime probes: the --version path and the real server up to `initialize` answered."""
    r = ctx.report
    env = ctx.env()
    p = subprocess.run([sys.executable, "-X", "importtime", "-m", "kilo_lsp", "--version"], env=env,
                       cwd=str(ROOT), capture_output=True, text=True, timeout=60)
    mods = _imported(p.stderr)
    bad = sorted(v for k, v in WATCH.items() if any(m == k or m.startswith(k + ".") for m in mods))
    r.add("imports", "`kilo-lsp --version`: heavy modules imported", len(bad), "modules", target="0",
          met=not bad, note=", ".join(bad))
    # the real server: log imports to a file, initialize, then route once and look again
    log_path = ctx.home / "importtime.log"
    with open(log_path, "w") as err:
        proc = subprocess.Popen([sys.executable, "-X", "importtime", "-m", "kilo_lsp", "--stdio"], env=env,
                                cwd=str(ROOT), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, bufsize=0)
        c = Client.attach(proc)
        c.call("initialize", {"processId": None, "rootUri": WORKSPACE, "capabilities": {},
                              "clientInfo": {"name": "kilo-perf", "version": "1"}})
        at_start = _imported(log_path.read_text())   # what the editor waited for
        c.notify("initialized", {})
        c.call("kilo/explain", {})      # a barrier: `initialized` has been handled
        t = time.perf_counter()
        c.call("kilo/route", {"text": "rename this variable", "conversationId": "probe"})
        first_route = ms(time.perf_counter() - t)
        after_route = _imported(log_path.read_text())
        c.close()
    bad = sorted(v for k, v in WATCH.items() if any(m == k or m.startswith(k + ".") for m in at_start))
    r.add("imports", "server up to `initialize` answered: heavy modules imported", len(bad), "modules",
          target="0", met=not bad, note=", ".join(bad))
    lazy = sorted(v for k, v in WATCH.items()
                  if any(m == k or m.startswith(k + ".") for m in after_route) and v not in bad)
    r.add("imports", "first kilo/route (loads leaderboard and classifier)", first_route, "ms")
    r.note("imports", "kept off start-up: " + (", ".join(sorted(set(WATCH.values()) - set(bad))) or "none")
           + "; imported at the first kilo/route: " + (", ".join(lazy) or "none") + ".")
    total = sum(v for k, v in at_start.items() if k in ("kilo_lsp.cli", "kilo_lsp.lsp.server"))
    lsp = at_start.get("lsprotocol.types", 0)
    r.note("imports", f"import time in the server process (one run, -X importtime): kilo_lsp.cli + "
                      f"kilo_lsp.lsp.server {total / 1000:.0f} ms, of which lsprotocol.types {lsp / 1000:.0f} ms.")


def startup(ctx: Context) -> None:
    """Spawn to `initialize` answered: sidecar vs bare pygls, alternating."""
    import compileall
    # An installed package starts from byte code (pip compiles it at install time), as pygls and
    # lsprotocol do here; a checkout under PYTHONDONTWRITEBYTECODE would compile every start instead.
    compileall.compile_dir(str(ROOT / "kilo_lsp"), quiet=1)
    runs = ctx.n(10, 5)
    side, bare = [], []
    for i in range(runs):
        for kind in (("side", "bare") if i % 2 == 0 else ("bare", "side")):
            c = Client(SIDECAR if kind == "side" else BARE, env=ctx.env(), cwd=str(ROOT))
            c.call("initialize", {"processId": os.getpid(), "rootUri": WORKSPACE, "capabilities": {},
                                  "clientInfo": {"name": "kilo-perf"}})
            (side if kind == "side" else bare).append(ms(time.perf_counter() - c.t_spawn))
            c.notify("initialized", {})
            c.close()
    ratio = median(side) / median(bare)
    ctx.report.add("startup", "spawn to `initialize` answered", median(side), "ms",
                   baseline="bare pygls", baseline_value=median(bare))
    ctx.report.add("startup", "start-up ratio (sidecar / bare)", ratio, "x", target="<= 1.15", met=ratio <= 1.15,
                   note=f"{runs} starts each")
    ctx.report.note("startup", f"{runs} starts of each, alternating; sidecar min {min(side):.0f} ms, "
                               f"bare min {min(bare):.0f} ms; kilo_lsp byte-compiled first, as installing it does.")


# -- routing ----------------------------------------------------------------------------------
class Session:
    """A sidecar with a realistic editor session open, and a bare server with the same documents."""

    def __init__(self, ctx: Context, docs: int = 50, lines: int = 2000, turns: int = 40, diags: int = 30):
        self.side = ctx.sidecar()
        self.bare = ctx.bare()
        self.uris = [f"{WORKSPACE}/src/module_{i}.py" for i in range(docs)]
        for i, uri in enumerate(self.uris):
            item = {"uri": uri, "languageId": "python", "version": 1, "text": workload.document(lines, i)}
            self.side.notify("textDocument/didOpen", {"textDocument": item})
            self.bare.notify("textDocument/didOpen", {"textDocument": item})
        self.history = workload.conversation(turns)
        self.diags = workload.diagnostics(self.uris[0], diags)
        self.i = 0
        self.side.call("kilo/explain", {})
        self.bare.call("bench/noop", {})

    def params(self) -> dict[str, Any]:
        self.i += 1
        return workload.route_params(self.i, self.uris, WORKSPACE, self.history, self.diags)

    def close(self) -> None:
        self.side.close()
        self.bare.close()


def _framed_request(c: Client, method: str, params: Any) -> tuple[bytes, int]:
    """A request encoded and framed ahead of time: the client's own JSON encoding (about 0.3 ms
    for a route's 30 KB of params in Python) is not the sidecar's latency."""
    c._next_id += 1
    body = _dumps({"jsonrpc": "2.0", "id": c._next_id, "method": method, "params": params}).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body, c._next_id


def _route_loop(ctx: Context, s: Session, n: int, label: str, active: str | None = None) -> dict[str, float]:
    route, explain, noop, encode = [], [], [], []
    side, bare = s.side, s.bare
    side.keep_notifications = False
    pc = time.perf_counter
    for _ in range(ctx.n(50, 20)):   # warm-up: leaderboard, classifier, caches, the session
        p = s.params()
        side.call("kilo/route", p)
        side.call("kilo/explain", {"conversationId": "nobody"})
        bare.call("bench/noop", {})
    for _ in range(n):
        p = s.params()
        if active:
            p["context"]["activeUri"] = active
        te = pc()
        data, rid = _framed_request(side, "kilo/route", p)
        e_data, e_rid = _framed_request(side, "kilo/explain", {"conversationId": "nobody"})
        n_data, n_rid = _framed_request(bare, "bench/noop", {})
        t0 = pc(); side.send_raw(data); side.wait(rid); t1 = pc()
        side.send_raw(e_data); side.wait(e_rid); t2 = pc()
        bare.send_raw(n_data); bare.wait(n_rid); t3 = pc()
        route.append(ms(t1 - t0)); explain.append(ms(t2 - t1)); noop.append(ms(t3 - t2)); encode.append(ms(t0 - te))
    r = ctx.report
    p50, p99 = median(route), pct(route, 99)
    r.add("route", f"{label}: kilo/route round trip p50", p50, "ms", target="<= 2 ms", met=p50 <= 2)
    r.add("route", f"{label}: kilo/route round trip p99", p99, "ms", target="<= 5 ms", met=p99 <= 5)
    ratio = p50 / median(noop)
    r.add("route", f"{label}: kilo/route / no-op round trip", ratio, "x",
          baseline="bench/noop on bare pygls", baseline_value=median(noop), target="<= 5x", met=ratio <= 5)
    r.add("route", f"{label}: kilo/route / kilo/explain (in-server no-op)", p50 / median(explain), "x",
          baseline="kilo/explain, unknown session", baseline_value=median(explain))
    r.note("route", f"{label}: the client encodes each request before its clock starts (median "
                    f"{median(encode):.2f} ms for the route, explain and no-op requests together).")
    return {"p50": p50, "p99": p99, "noop": median(noop), "explain": median(explain)}


def route(ctx: Context) -> None:
    s = Session(ctx)
    try:
        n = ctx.n(1000, 200)
        _route_loop(ctx, s, n, "50 docs x 2,000 lines, 40 turns, 30 diagnostics")
        ctx.report.note("route", f"{n} sequential requests after warm-up, each followed by kilo/explain "
                                 "(unknown session: answers null) on the sidecar and bench/noop on the bare "
                                 "server; the request carries the 40 earlier turns (~22 KB), 30 diagnostics, "
                                 "a 40-line selection and two referenced documents.")
    finally:
        s.close()


def classifier(ctx: Context) -> None:
    """The classifier alone, in-process, on the same requests with realistic editor signals."""
    from kilo_lsp.classify.base import ClassifyInput, EditorSignals, TaskState
    from kilo_lsp.context import read_context
    import msgspec

    from kilo_lsp.protocol import RouteParams
    from kilo_lsp.routing.engine import Engine

    engine = Engine()
    clf = engine.classifier
    uris = [f"{WORKSPACE}/src/module_{i}.py" for i in range(50)]
    docs = {u: workload.document(2000, i) for i, u in enumerate(uris)}
    history = workload.conversation(40)
    diags = workload.diagnostics(uris[0], 30)
    inputs = []
    for i in range(len(workload.REQUESTS) * 3):
        params = msgspec.convert(workload.route_params(i, uris, WORKSPACE, history, diags), RouteParams)
        rc = read_context(params, docs.get, 20)
        previous = TaskState("explain", 1, rc.previous_text) if rc.previous_text else None
        inputs.append(ClassifyInput(params.text, rc.signals, previous))
    inputs.append(ClassifyInput("x" * 20_000, EditorSignals(), TaskState("bugfix", 2, "y" * 5_000)))   # a pasted wall
    pc = time.perf_counter
    for inp in inputs * 20:
        clf.classify(inp)
    times, cpu = [], []
    tc = time.thread_time
    for _ in range(ctx.n(300, 60)):
        for inp in inputs:
            c0 = tc(); t = pc(); clf.classify(inp); t1 = pc(); c1 = tc()
            times.append(ms(t1 - t)); cpu.append(ms(c1 - c0))
    p99 = pct(times, 99)
    ctx.report.note("classifier", f"classify() CPU time (thread_time, excludes being preempted by other "
                                  f"processes): p50 {median(cpu):.3f} ms, p99 {pct(cpu, 99):.3f} ms; "
                                  f"max wall {max(times):.2f} ms.")
    ctx.report.add("classifier", f"{getattr(clf, 'name', type(clf).__name__)}: classify() p50", median(times), "ms")
    ctx.report.add("classifier", "classify() p99", p99, "ms", target="<= 1 ms", met=p99 <= 1,
                   note=f"{len(times)} calls")
    # the whole engine in-process, for the share of the round trip that is routing itself
    times = []
    params = [msgspec.convert(workload.route_params(i, uris, WORKSPACE, history, diags), RouteParams)
              for i in range(len(workload.REQUESTS))]
    for p in params * 5:
        engine.route(p, docs.get)
    for _ in range(ctx.n(100, 20)):
        for p in params:
            t = pc(); engine.route(p, docs.get); times.append(ms(pc() - t))
    ctx.report.add("classifier", "Engine.route() in-process p50 (no JSON-RPC)", median(times), "ms")
    ctx.report.add("classifier", "Engine.route() in-process p99", pct(times, 99), "ms")


# -- typing -----------------------------------------------------------------------------------
def typing(ctx: Context) -> None:
    """10,000 single-character incremental edits on a 10,000-line document, in batches with a barrier."""
    total = ctx.n(10_000, 2_000)
    batch = 100
    s = Session(ctx)
    try:
        uri = f"{WORKSPACE}/src/big.py"
        item = {"uri": uri, "languageId": "python", "version": 1, "text": workload.document(10_000, 99)}
        for c in (s.side, s.bare):
            c.notify("textDocument/didOpen", {"textDocument": item})
        s.side.call("kilo/explain", {})
        s.bare.call("bench/noop", {})
        edits = workload.typing_edits(total, 5_000)
        frames = []
        for k in range(0, total, batch):
            frames.append(b"".join(
                frame("textDocument/didChange", {"textDocument": {"uri": uri, "version": 2 + k + j},
                                                 "contentChanges": [e]})
                for j, e in enumerate(edits[k:k + batch])))
        pc = time.perf_counter
        # barrier cost, measured alone, subtracted from every batch
        bar_side, bar_bare = [], []
        for _ in range(200):
            t = pc(); s.side.call("kilo/explain", {"conversationId": "nobody"}); bar_side.append(pc() - t)
            t = pc(); s.bare.call("bench/noop", {}); bar_bare.append(pc() - t)
        b_side, b_bare = median(bar_side), median(bar_bare)
        side, bare = [], []
        for k, data in enumerate(frames):
            order = (s.side, s.bare) if k % 2 == 0 else (s.bare, s.side)
            for c in order:
                is_side = c is s.side
                t = pc()
                c.send_raw(data)
                if is_side:
                    c.call("kilo/explain", {"conversationId": "nobody"})
                else:
                    c.call("bench/noop", {})
                dt = pc() - t - (b_side if is_side else b_bare)
                (side if is_side else bare).append(ms(dt) / batch)
        r = ctx.report
        ratio = median(side) / median(bare)
        r.add("typing", "cost per single-character edit (10,000-line document)", median(side), "ms",
              baseline="bare pygls", baseline_value=median(bare))
        r.add("typing", "edit cost ratio (sidecar / bare)", ratio, "x", target="<= 2x", met=ratio <= 2)
        r.note("typing", f"{total} edits to each server in batches of {batch} pipelined didChange notifications "
                         "and one barrier request (its own round trip subtracted); batches alternate between "
                         "the servers. The sidecar adds nothing to pygls' own document update: both apply the "
                         "change with pygls' TextDocument, which rebuilds the document (O(lines) per edit).")
        # routing afterwards, with the edited document active
        _route_loop(ctx, s, ctx.n(500, 100), "after typing, 10,000-line document active", active=uri)
    finally:
        s.close()


# -- memory -----------------------------------------------------------------------------------
def memory(ctx: Context) -> None:
    side, bare = ctx.sidecar(), ctx.bare()
    try:
        idle_side, idle_bare = side.rss_kb(), bare.rss_kb()
        for i in range(200):
            item = {"uri": f"{WORKSPACE}/mem/doc_{i}.py", "languageId": "python", "version": 1,
                    "text": workload.document_of_size(50_000, i)}
            side.notify("textDocument/didOpen", {"textDocument": item})
            bare.notify("textDocument/didOpen", {"textDocument": item})
        side.call("kilo/explain", {})
        bare.call("bench/noop", {})
        s_open, b_open = side.rss_kb() / 1024, bare.rss_kb() / 1024
        side.call("kilo/route", workload.route_params(0, [f"{WORKSPACE}/mem/doc_{i}.py" for i in range(200)],
                                                      WORKSPACE, workload.conversation(40), []))
        s_routed = side.rss_kb() / 1024
        r = ctx.report
        r.add("memory", "RSS, 200 open documents of 50 KB", s_open, "MB", baseline="bare pygls", baseline_value=b_open,
              target="<= bare + 30 MB", met=s_open <= b_open + 30)
        r.add("memory", "same, after the first kilo/route (leaderboard and classifier loaded)", s_routed, "MB",
              baseline="bare pygls", baseline_value=b_open, target="<= bare + 30 MB", met=s_routed <= b_open + 30)
        r.note("memory", f"idle after initialize: sidecar {idle_side / 1024:.1f} MB, bare {idle_bare / 1024:.1f} MB; "
                         f"the 200 documents are 10 MB of text.")
    finally:
        side.close()
        bare.close()


# -- forwarding (needs kilo/complete) ---------------------------------------------------------
def forwarding(ctx: Context) -> None:
    from . import forward
    forward.forwarding(ctx, fake=os.environ.get("PERF_SKIP_FAKE") != "1")


def relay(ctx: Context) -> None:
    from . import forward
    forward.relay(ctx)


def concurrency(ctx: Context) -> None:
    from . import forward
    forward.concurrency(ctx)
