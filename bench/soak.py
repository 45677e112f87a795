"""Soak run: one sidecar, 20,000 kilo/route and 2,000 kilo/complete requests against the fake
provider on 127.0.0.1, over a few minutes. Reports RSS over time (growth over the last half),
latency, lost answers and whether session state stayed within routing.maxSessions.

    .venv/bin/python bench/soak.py [--routes 20000] [--completions 2000] [--out figures.json]

Not part of `make test` (it takes minutes). Every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests" / "reliability"), str(ROOT / "tests")]

from fake_provider import FakeProviderServer  # noqa: E402
from test_provider_faults import start  # noqa: E402

SESSIONS = 1000          # distinct (workspace, conversation) pairs: twice the default maxSessions (512)
MAX_SESSIONS = 512
WINDOW = 64              # requests in flight at once


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--routes", type=int, default=20_000)
    ap.add_argument("--completions", type=int, default=2_000)
    ap.add_argument("--time-limit", type=float, default=900.0, help="seconds; the run stops early past this")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()

    fake = FakeProviderServer().start()
    home = Path(tempfile.mkdtemp(prefix="kilo-soak-"))
    lsp = start(home, fake.url(""))
    total = args.routes + args.completions
    every = max(1, total // args.completions) if args.completions else total + 1
    samples: list[tuple[int, float, int]] = []          # (requests done, seconds, RSS bytes)
    latency = {"route": [], "complete": []}
    lost = errors = 0
    t0 = time.monotonic()
    pending: dict = {}
    sent = done = 0
    routes_sent = completes_sent = 0

    def collect(block: bool) -> None:
        nonlocal lost, errors, done
        for msg_id in list(pending):
            kind, t = pending[msg_id]
            try:
                msg = lsp.wait(msg_id, 30 if block else 0.0001)
            except TimeoutError:
                if block:
                    lost += 1
                    pending.pop(msg_id)
                continue
            pending.pop(msg_id)
            latency[kind].append(time.monotonic() - t)
            errors += "error" in msg
            done += 1
            if done % 1000 == 0:
                samples.append((done, time.monotonic() - t0, lsp.rss_bytes()))
            if not block:
                return

    while sent < total and time.monotonic() - t0 < args.time_limit:
        s = sent % SESSIONS
        params = {"text": f"rename the variable v{sent % 97} in module m{s % 13} to total",
                  "workspaceUri": f"file:///soak/ws{s % 20}", "conversationId": f"c{s}"}
        if sent % every == every - 1 and completes_sent < args.completions:
            pending[lsp.send("kilo/complete", {**params, "maxTokens": 32})] = ("complete", time.monotonic())
            completes_sent += 1
        else:
            pending[lsp.send("kilo/route", params)] = ("route", time.monotonic())
            routes_sent += 1
        sent += 1
        while len(pending) >= WINDOW:
            collect(block=True)
        if len(lsp.frames) > 50_000:        # keep the harness's own memory flat
            del lsp.frames[:40_000]
    while pending:
        collect(block=True)
    elapsed = time.monotonic() - t0
    kept = sum(1 for s in range(SESSIONS) if lsp.request("kilo/explain", {
        "workspaceUri": f"file:///soak/ws{s % 20}", "conversationId": f"c{s}"}, timeout=10).get("result"))
    usage = lsp.request("kilo/usage", {}, timeout=30)["result"]
    lsp.close()
    fake.stop()

    half = [r for n, _, r in samples if n >= done / 2]
    growth = (half[-1] - half[0]) / 1e6 if len(half) >= 2 else 0.0
    pct = lambda xs, q: round(1000 * sorted(xs)[min(len(xs) - 1, int(q * len(xs)))], 2) if xs else None
    figures = {
        "routes": routes_sent, "completions": completes_sent, "answered": done, "lost": lost, "errors": errors,
        "seconds": round(elapsed, 1), "requests_per_s": round(done / elapsed, 1),
        "rss_mb_first": round(samples[0][2] / 1e6, 1) if samples else None,
        "rss_mb_last": round(samples[-1][2] / 1e6, 1) if samples else None,
        "rss_growth_last_half_mb": round(growth, 2),
        "route_ms_median": pct(latency["route"], 0.5), "route_ms_p99": pct(latency["route"], 0.99),
        "complete_ms_median": pct(latency["complete"], 0.5), "complete_ms_p99": pct(latency["complete"], 0.99),
        "sessions_touched": SESSIONS, "sessions_kept": kept, "max_sessions": MAX_SESSIONS,
        "ledger_requests": usage.get("requests"),
        "rss_samples_mb": [round(r / 1e6, 1) for _, _, r in samples],
    }
    print(json.dumps(figures, indent=2))
    if args.out:
        args.out.write_text(json.dumps(figures, indent=2))
    ok = lost == 0 and kept <= MAX_SESSIONS and usage.get("requests") == completes_sent
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
