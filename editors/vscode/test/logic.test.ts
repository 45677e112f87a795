import { test } from "node:test";
import assert from "node:assert/strict";
import {
  INSTALL_COMMAND, StreamBuffer, answerFooter, cardMarkdown, initializationOptions, protocolProblem, serverCommand,
  serverProblem, statusText, usageBars, usageTotals, versionAtLeast, versionCommand,
} from "../src/logic";
import type { CompleteResult } from "../src/protocol";
import { CARD, CHUNKS, RESULT } from "./fixtures";


test("server command: explicit command, then pythonPath, then kilo-lsp on PATH", () => {
  assert.deepEqual(serverCommand({ serverCommand: ["/opt/kilo", "--stdio"], pythonPath: "/py" }), { command: "/opt/kilo", args: ["--stdio"] });
  assert.deepEqual(serverCommand({ serverCommand: [], pythonPath: " /py " }), { command: "/py", args: ["-m", "kilo_lsp", "--stdio"] });
  assert.deepEqual(serverCommand({ serverCommand: [""], pythonPath: "" }), { command: "kilo-lsp", args: ["--stdio"] });
  assert.deepEqual(versionCommand({ command: "/py", args: ["-m", "kilo_lsp", "--stdio"] }), { command: "/py", args: ["-m", "kilo_lsp", "--version"] });
});

test("settings become initializationOptions with editorPluginInfo", () => {
  const opts = initializationOptions({ serverCommand: [], pythonPath: "", tier: "frontier", dial: "bar", pin: "", dailyUsdPerWorkspace: 2 }, "0.1.0");
  assert.deepEqual(opts, { routing: { tier: "frontier", dial: "bar", pin: "" }, budget: { dailyUsdPerWorkspace: 2 },
    editorPluginInfo: { name: "kilo-lsp-vscode", version: "0.1.0" } });
});

test("a missing, broken or old server gives a message with the install command", () => {
  const cmd = { command: "kilo-lsp", args: ["--stdio"] };
  assert.match(serverProblem(cmd, null, "ENOENT")!, /not found.*pip install kilo-lsp/);
  assert.match(serverProblem(cmd, "", undefined)!, new RegExp(INSTALL_COMMAND));
  assert.match(serverProblem(cmd, "kilo-lsp 0.0.9\n")!, /too old.*pip install -U kilo-lsp/);
  assert.equal(serverProblem(cmd, "kilo-lsp 0.1.0\n"), null);
  assert.ok(versionAtLeast("1.0.0", "0.9.9") && !versionAtLeast("0.1", "0.1.0"));
  assert.match(protocolProblem({}, "1.0")!, /did not announce/);
  assert.match(protocolProblem({ kilo: { protocolVersion: "2.0" } }, "1.0")!, /protocol 2.0/);
  assert.equal(protocolProblem({ kilo: { protocolVersion: "1.3" } }, "1.0"), null);
});

test("status bar text and decision card", () => {
  assert.equal(statusText(null, null), "$(zap) Kilo");
  const st = { workspace: "w", conversationId: "c", model: "gpt-5-mini", tier: "efficient", reasonCode: "x" };
  assert.equal(statusText(st, 0.1234), "$(zap) gpt-5-mini · efficient · $0.12 today");
  const md = cardMarkdown(CARD);
  assert.match(md, /\*\*GPT-5 mini\*\* \(`gpt-5-mini`\) via openai — sticky/);
  assert.match(md, /small edit, difficulty 1/);
  assert.match(md, /\| \*\*gpt-5-mini\*\* \| 80% \| 70%–90% \| yes \| \$0\.0010 \|/);
  assert.match(md, /\| claude-sonnet-4-5 \| - \| - \| no \|/);
  assert.equal(cardMarkdown(null), "No decision yet in this session.");
});

test("answer footer says who answered, what it cost and the saving", () => {
  const r = { modelName: "GPT-5 mini", provider: "openai", costUsd: 0.001, balancedCostUsd: 0.004, failedOver: false,
    finishReason: "stop", card: CARD } as unknown as CompleteResult;
  assert.equal(answerFooter(r), "GPT-5 mini via openai · $0.0010 (saved $0.0030 vs Balanced)\nCheapest proven model.");
});

test("answer footer from a whole kilo/complete result: tokens, time, and a stream that broke", () => {
  assert.equal(answerFooter(RESULT), "qwen2.5-coder-7b (local, lmstudio) via lmstudio · $0.0000 (saved $0.0021 vs Balanced)" +
    " · 57 tokens in 0.5 s\nCheapest proven model.");
  const broke: CompleteResult = { ...RESULT, finishReason: "error", usage: { ...RESULT.usage, estimated: true },
    error: { kind: "stream", message: "connection reset", status: null, retryAfter: null } };
  assert.match(answerFooter(broke), / · 57 tokens \(estimated\) in 0\.5 s · stopped: stream \(connection reset\)\n/);
  assert.match(answerFooter({ ...RESULT, finishReason: "length" }), / in 0\.5 s · length\n/);
});

test("stream buffer rebuilds the result's text from kilo/chunk", () => {
  const b = new StreamBuffer(RESULT.streamId);
  for (const c of CHUNKS) assert.ok(b.accept(c));
  assert.equal(b.text, RESULT.text);
});

test("usage chart bars and totals from the ledger's shapes", () => {
  const bars = usageBars({ days: [{ day: "2026-01-02", costUsd: 1 }, { day: "2026-01-01", costUsd: 4 }] });
  assert.deepEqual(bars, [{ label: "2026-01-01", value: 4, heightPct: 100 }, { label: "2026-01-02", value: 1, heightPct: 25 }]);
  assert.deepEqual(usageBars({ byDay: { "2026-01-01": { costUsd: 0 } } }), [{ label: "2026-01-01", value: 0, heightPct: 0 }]);
  assert.deepEqual(usageBars(null), []);
  assert.deepEqual(usageTotals({ totals: { costUsd: 2, savedUsd: 1 }, todayUsd: 0.5 }), { spentUsd: 2, savedUsd: 1, todayUsd: 0.5 });
});

test("stream buffer drops other streams and late or repeated chunks", () => {
  const b = new StreamBuffer("s1");
  assert.ok(b.accept({ streamId: "s1", seq: 0, text: "Hel" }));
  assert.ok(!b.accept({ streamId: "s2", seq: 1, text: "x" }));
  assert.ok(b.accept({ streamId: "s1", seq: 1, text: "lo" }));
  assert.ok(!b.accept({ streamId: "s1", seq: 1, text: "lo" }));
  assert.equal(b.text, "Hello");
});
