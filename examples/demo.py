"""The kilo-lsp demo: start the sidecar over stdio and drive it the way an editor does.

It opens a small sample workspace, then plays a multi-turn session (a rename, a question, a bug
fix with a stack trace, the same error again after the fix, a migration plan, a follow-up, and a
plan the user marks as failed) and prints each decision card: a new task starts on the first rung
of its ladder, a follow-up stays, a failed answer moves the task one rung up. No API key is needed:
without credentials the cards show what the router would choose (what-if mode). The sidecar runs
with a data and config directory of its own, in a temporary folder: the demo never reads your
config or writes to your ledger.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

import msgspec
from lsprotocol import types
from pygls.lsp.client import LanguageClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from kilo_lsp.cli import format_card  # noqa: E402
from kilo_lsp.lsp.overrides import dict_params_converter  # noqa: E402
from kilo_lsp.protocol import DecisionCard  # noqa: E402

WORKSPACE = Path(__file__).resolve().parent / "sample_workspace"
ORDERS = (WORKSPACE / "shop" / "orders.py").as_uri()
PRICING = (WORKSPACE / "shop" / "pricing.py").as_uri()
STACK = f'''Traceback (most recent call last):
  File "{WORKSPACE}/shop/orders.py", line 21, in checkout
    total = apply_discount(order["total"], code)
  File "{WORKSPACE}/shop/pricing.py", line 7, in apply_discount
    rate = CODES[code]
KeyError: None'''


def sel(line0: int, line1: int) -> dict:
    return {"start": {"line": line0, "character": 0}, "end": {"line": line1, "character": 0}}


SESSION = [
    ("A quick rename", {"text": "rename load_order to fetch_order in orders.py",
                        "context": {"activeUri": ORDERS, "selection": sel(11, 12)}}),
    ("A question about a function", {"text": "what does checkout return, and when does it commit?",
                                     "context": {"activeUri": ORDERS, "selection": sel(18, 24)}}),
    ("A bug fix with a stack trace", {"text": "checkout crashes when no discount code is given, fix it",
                                      "context": {"activeUri": PRICING, "referencedUris": [ORDERS],
                                                  "diagnostics": [{"message": STACK, "severity": 1}]}}),
    ("The same error after the fix: the answer failed", {
        "text": "still crashing after your change:\n" + STACK.replace("line 7", "line 9"),
        "context": {"activeUri": PRICING}}),
    ("A migration plan", {"text": "plan the migration of this module to async: the sqlite calls, checkout, "
                                  "and every caller across the codebase",
                          "context": {"activeUri": ORDERS, "referencedUris": [PRICING]}}),
    ("A follow-up on the same task", {"text": "for that plan, which step should come first?",
                                      "context": {"activeUri": ORDERS}}),
    ("After the user marks the answer as failed (kilo/feedback)",
     {"text": "redo it so the tests move to async first", "context": {"activeUri": ORDERS}}),
]
#: The turn before which the demo sends kilo/feedback "failed" for the previous answer.
FEEDBACK_BEFORE = 7


async def stream_local_answer(client: LanguageClient) -> None:
    """Start a real local model server (as a user runs LM Studio or Ollama) and stream one answer."""
    from bench.local_llm import start_local_llm, unavailable_reason
    print("\n=== a real answer from a local model (free tier, no API key) ===")
    reason = unavailable_reason()
    if reason:
        print(f"skipped: {reason}")
        return
    base_url, stop = start_local_llm()
    try:
        client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
            settings={"kilo": {"local": {"endpoints": [base_url]}}}))
        await asyncio.sleep(1.0)  # the sidecar asks the new server for its models
        chunks: list[str] = []
        client.feature("kilo/chunk")(lambda params: (chunks.append(params["text"]),
                                                      print(params["text"], end="", flush=True)))
        question = "In one sentence: what does a function named apply_discount most likely do?"
        print(f"> {question}\n")
        raw = await client.protocol.send_request_async("kilo/complete", {
            "text": question, "conversationId": "demo-local", "tier": "free", "maxTokens": 80, "temperature": 0})
        usage = raw["usage"]
        print(f"\n\nanswered by {raw['model']} via {raw['provider']} in {raw['totalMs']:.0f} ms "
              f"(first token after {raw['ttftMs']:.0f} ms), {len(chunks)} chunks; "
              f"{usage['inputTokens']} tokens in, {usage['outputTokens']} out; cost ${raw['costUsd']:.4f} "
              f"(on Balanced ${raw['balancedCostUsd']:.4f}, on Frontier ${raw['frontierCostUsd']:.4f})")
        print(f"reason: {raw['card']['reason']}")
    finally:
        stop()


async def main() -> int:
    client = LanguageClient("kilo-demo", "0.1", converter_factory=dict_params_converter)
    statuses: list[dict] = []
    client.feature("kilo/status")(lambda params: statuses.append(params))
    client.feature("window/logMessage")(lambda params: None)
    client.feature("window/showMessage")(lambda params: print(f"[server] {params.message}"))
    home = tempfile.TemporaryDirectory(prefix="kilo-demo-")
    env = {**os.environ, "XDG_DATA_HOME": f"{home.name}/data", "XDG_CONFIG_HOME": f"{home.name}/config",
           "XDG_STATE_HOME": f"{home.name}/state", "XDG_CACHE_HOME": f"{home.name}/cache",
           "KILO_CONFIG": f"{home.name}/config/kilo-lsp/config.toml"}
    await client.start_io(sys.executable, "-m", "kilo_lsp", "--stdio", env=env)
    result = await client.initialize_async(types.InitializeParams(
        capabilities=types.ClientCapabilities(),
        client_info=types.ClientInfo(name="kilo-demo", version="0.1"),
        workspace_folders=[types.WorkspaceFolder(uri=WORKSPACE.as_uri(), name="sample_workspace")],
        initialization_options={"editorPluginInfo": {"name": "kilo-lsp-demo", "version": "0.1.0"}},
    ))
    client.initialized(types.InitializedParams())
    kilo = result.capabilities.experimental["kilo"]
    print(f"kilo-lsp {result.server_info.version}, protocol {kilo['protocolVersion']}: {', '.join(kilo['requests'])}\n")
    for uri in (ORDERS, PRICING):
        path = Path(uri.removeprefix("file://"))
        client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(
            uri=uri, language_id="python", version=1, text=path.read_text())))
    turns: list[dict] = []
    card = None
    for number, (title, params) in enumerate(SESSION, 1):
        if number == FEEDBACK_BEFORE and card is not None:
            client.protocol.notify("kilo/feedback", {"decisionId": card.decision_id, "outcome": "failed",
                                                     "reason": "the plan leaves the tests synchronous"})
        raw = await client.protocol.send_request_async("kilo/route", {
            **params, "conversationId": "demo", "turns": turns})
        card = msgspec.convert(raw, DecisionCard)
        print(f"=== turn {number}: {title} ===\n> {params['text']}\n")
        print(format_card(card) + "\n")
        turns += [{"role": "user", "content": params["text"]},
                  {"role": "assistant", "content": f"(answer from {card.model})"}]
    print("kilo/status notifications (model changes):",
          " -> ".join(f"{s['model']} ({s['reason']})" for s in statuses))
    await stream_local_answer(client)
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    home.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
