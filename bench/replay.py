"""Replay a fixed set of editor requests through the real sidecar and write every answer, normalised.

Used to show that a change of structure changes no behaviour: record before, record after, and
compare (``python -m bench.replay OUT.jsonl``, then ``diff`` the two files). The set covers routing
(single requests and multi-turn sessions, editor context, tiers, dials, pins, dry runs, what-if and
keyed), the leaderboard, explain, forwarding against a scripted fake provider (a normal answer, a
failover after a 503, a rate limit, a broken stream, an Anthropic-style stream), usage,
credentials, the executeCommand commands and a range of bad params. Random decision ids, stream ids
and timings are replaced by stable placeholders; everything else is written as the sidecar sent it.
"""

from __future__ import annotations

import json
import math
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "reliability"))
from fake_provider import FakeProviderServer, Script  # noqa: E402
from rawlsp import RawSidecar, wait_until  # noqa: E402

KEY = "sk-or-v1-replay.00000000000000000000KEY"
ANTHROPIC_KEY = "sk-ant-" "replay-000000000000000000000000KEY"
TIMING_KEYS = {"ttftMs", "totalMs", "ms"}

DOC_A = "file:///ws/app/orders.py"
DOC_B = "file:///ws/app/pricing.py"
TEXT_A = "".join(f"def f{i}(x):\n    return x + {i}\n\n" for i in range(60))
TEXT_B = "CODES = {'A': 0.1}\n\ndef apply_discount(total, code):\n    return total * (1 - CODES[code])\n"
TRACE = ('Traceback (most recent call last):\n  File "app/orders.py", line 21, in checkout\n'
         '    total = apply_discount(order["total"], code)\nKeyError: None')

REQUESTS = [
    "rename load_order to fetch_order in orders.py",
    "what does checkout return, and when does it commit?",
    "checkout crashes when no discount code is given, fix it",
    "plan the migration of this module to async: the sqlite calls, checkout, and every caller across the codebase",
    "for that plan, which step should come first?",
    "add a docstring to apply_discount",
    "write unit tests for the pricing module",
    "refactor the order pipeline into smaller functions",
    "this loop is slow on large inputs, make it faster",
    "bump the pytest version in pyproject and fix the CI pipeline",
    "review this change for race conditions",
    "update the README with the new configuration options",
    "implement pagination for the orders endpoint",
    "why does this test fail only on CI?",
    "fix typo",
    "explain this regex",
]


def _issue_texts(n: int = 6) -> list[str]:
    path = ROOT.parent / "shared" / "data" / "swebench_verified" / "tasks.jsonl"
    if not path.is_file():
        return []
    out = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            out.append(json.loads(line)["text"])
            if len(out) >= n:
                break
    return out


class Normaliser:
    """Stable placeholders for the random ids and zeros for timings."""

    def __init__(self) -> None:
        self.ids: dict[str, str] = {}

    def id(self, value: str) -> str:
        if value not in self.ids:
            self.ids[value] = f"<id{len(self.ids)}>"
        return self.ids[value]

    def __call__(self, obj: Any) -> Any:
        if isinstance(obj, dict):
            return {k: (0 if k in TIMING_KEYS and isinstance(v, (int, float))
                        else math.ceil(v) if k == "retryAfter" and isinstance(v, float) else self(v))
                    for k, v in obj.items()}
        if isinstance(obj, list):
            return [self(v) for v in obj]
        if isinstance(obj, str):
            obj = re.sub(r"\bd-[0-9a-f]{12}\b", lambda m: self.id(m.group(0)), obj)
            obj = re.sub(r"kilo\.ask-\d+-\d+", "<token>", obj)
            return re.sub(r"in \d+\.\d s\b", "in <t> s", obj)
        return obj


def route_cases() -> list[tuple[str, dict[str, Any]]]:
    sel = {"start": {"line": 3, "character": 0}, "end": {"line": 9, "character": 4}}
    big = {"start": {"line": 0, "character": 0}, "end": {"line": 150, "character": 0}}
    cases: list[tuple[str, dict[str, Any]]] = []
    for i, text in enumerate(REQUESTS):
        cases.append(("kilo/route", {"text": text, "conversationId": f"single-{i}", "dryRun": i % 4 == 3}))
    for i, text in enumerate(_issue_texts()):
        cases.append(("kilo/route", {"text": text, "conversationId": f"issue-{i}"}))
    context_variants = [
        {"activeUri": DOC_A, "selection": sel, "languageId": "python"},
        {"activeUri": DOC_A, "selection": big, "referencedUris": [DOC_B]},
        {"activeUri": DOC_B, "diagnostics": [{"message": TRACE, "severity": 1}, {"message": "unused", "severity": 2}]},
        {"activeUri": DOC_B, "diagnosticCounts": {"errors": 7, "warnings": 2}, "referencedUris": [DOC_A, DOC_B]},
        {"selectedText": "x = 1\ny = 2\n", "languageId": "go"},
    ]
    for i, ctx in enumerate(context_variants):
        cases.append(("kilo/route", {"text": REQUESTS[i * 3 % len(REQUESTS)], "conversationId": f"ctx-{i}",
                                     "context": ctx}))
    turns: list[dict[str, str]] = []
    for i, text in enumerate(REQUESTS[:8]):
        cases.append(("kilo/route", {"text": text, "conversationId": "session", "turns": list(turns),
                                     "context": {"activeUri": DOC_A}}))
        turns += [{"role": "user", "content": text}, {"role": "assistant", "content": "done"}]
    for tier in ("balanced", "frontier", "free"):
        cases.append(("kilo/route", {"text": REQUESTS[2], "conversationId": f"tier-{tier}", "tier": tier}))
    cases.append(("kilo/route", {"text": REQUESTS[3], "conversationId": "bar", "dial": "bar"}))
    cases.append(("kilo/route", {"text": REQUESTS[0], "conversationId": "pin", "pin": "gpt-5-mini"}))
    cases.append(("kilo/route", {"text": REQUESTS[0], "conversationId": "pin", "pin": "no-such-model"}))
    cases.append(("kilo/route", {"text": REQUESTS[5], "workspaceUri": "file:///other", "conversationId": "session"}))
    cases.append(("kilo/explain", {"conversationId": "session"}))
    cases.append(("kilo/explain", {"conversationId": "never"}))
    cases.append(("kilo/leaderboard", {}))
    cases.append(("kilo/leaderboard", {"taskType": "bugfix", "difficulty": 2}))
    bad = [("kilo/route", {}), ("kilo/route", {"text": "  "}), ("kilo/route", {"text": 5}),
           ("kilo/route", {"text": "x", "context": {"selection": {"start": {"line": -1, "character": 0},
                                                                  "end": {"line": 0, "character": 0}}}}),
           ("kilo/route", {"text": "x", "tier": "gold"}), ("kilo/route", {"text": "x", "turns": [{"role": "bot"}]}),
           ("kilo/route", None), ("kilo/route", [1, 2]), ("kilo/leaderboard", {"difficulty": "hard"}),
           ("kilo/complete", {"text": "x", "maxTokens": 0}), ("kilo/complete", {"text": "x", "dryRun": True}),
           ("kilo/setCredentials", {"provider": "nobody", "apiKey": "k"}),
           ("kilo/setCredentials", {"provider": "ollama", "apiKey": "k"}), ("kilo/usage", {"day": 3})]
    cases += bad
    return cases


def record(out_path: Path) -> None:
    fake = FakeProviderServer().start()
    norm = Normaliser()
    lines: list[str] = []

    def write(kind: str, sent: Any, got: Any) -> None:
        lines.append(json.dumps({"kind": kind, "sent": sent, "got": norm(got)}, sort_keys=True))

    with tempfile.TemporaryDirectory() as home:
        env = {"OPENROUTER_API_KEY": KEY, "KILO_OPENROUTER_BASE_URL": fake.url(""),
               "ANTHROPIC_API_KEY": ANTHROPIC_KEY, "KILO_ANTHROPIC_BASE_URL": fake.url("")}
        for keyed, extra in (("what-if", {}), ("keyed", env)):
            side = RawSidecar(Path(home), extra)
            try:
                init = side.initialize({"window": {"workDoneProgress": True}})
                write(f"{keyed}:initialize", None, init.get("result", {}).get("capabilities", {}).get("experimental"))
                for uri, text in ((DOC_A, TEXT_A), (DOC_B, TEXT_B)):
                    side.notify("textDocument/didOpen", {"textDocument": {
                        "uri": uri, "languageId": "python", "version": 1, "text": text}})
                for method, params in route_cases():
                    answer = side.request(method, params, timeout=20)
                    write(f"{keyed}:{method}", params, {k: answer[k] for k in ("result", "error") if k in answer})
                if keyed == "keyed":
                    forward(side, fake, write)
                for method, args in (("kilo.route", ["fix the flaky test"]), ("kilo.explain", [{"conversationId": "session"}]),
                                     ("kilo.route", [5]), ("kilo.route", [])):
                    answer = side.request("workspace/executeCommand", {"command": method, "arguments": args}, timeout=20)
                    write(f"{keyed}:command", [method, args], {k: answer[k] for k in ("result", "error") if k in answer})
                write(f"{keyed}:status", None, side.notifications("kilo/status"))
                write(f"{keyed}:shown", None, [p.get("message") for p in side.notifications("window/showMessage")])
            finally:
                side.close()
    fake.stop()
    out_path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def forward(side: RawSidecar, fake: FakeProviderServer, write: Any) -> None:
    """kilo/complete against the fake provider: each script is what the next upstream call gets."""
    scripts = [
        ("plain", [Script()]),
        ("no usage sent", [Script(usage=None, texts=("a", "b"))]),
        ("503 then another route", [Script(status=503), Script(texts=("after", " failover"))]),
        ("broken after the first token", [Script(disconnect_after=1)]),
        ("429 with Retry-After", [Script(status=429, headers={"Retry-After": "3"})] * 6),
    ]
    for i, (name, queue) in enumerate(scripts):
        fake.reset()
        fake.enqueue(*queue)
        params = {"text": REQUESTS[i], "conversationId": f"fwd-{i}", "maxTokens": 64, "workDoneToken": f"tok-{i}",
                  "context": {"activeUri": DOC_B}}
        answer = side.request("kilo/complete", params, timeout=30)
        wait_until(lambda: False, 0.05)
        write("complete", [name, params], {k: answer[k] for k in ("result", "error") if k in answer})
        write("upstream", name, [(r.path, (r.body or {}).get("model"), len(json.dumps(r.body))) for r in fake.requests])
    fake.reset()
    fake.enqueue(Script(texts=("ask", " answer")))
    answer = side.request("workspace/executeCommand", {"command": "kilo.ask", "arguments": [
        {"text": "explain apply_discount", "conversationId": "ask", "maxTokens": 32}]}, timeout=30)
    write("command:kilo.ask", None, {k: answer[k] for k in ("result", "error") if k in answer})
    answer = side.request("kilo/usage", {}, timeout=10)
    write("usage", {}, {k: answer[k] for k in ("result", "error") if k in answer})
    answer = side.request("kilo/setCredentials", {"provider": "deepseek", "apiKey": "sk-" "replay-deepseek-000000000KEY"})
    write("setCredentials", "deepseek", {k: answer[k] for k in ("result", "error") if k in answer})
    write("chunks", None, side.notifications("kilo/chunk"))


if __name__ == "__main__":
    record(Path(sys.argv[1] if len(sys.argv) > 1 else "replay.jsonl"))
