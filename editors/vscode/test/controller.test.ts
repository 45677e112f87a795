// The controller with a stub Host and a fake language client: no VS Code needed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ChatView, Controller, Host, Rpc } from "../src/controller";
import { CARD, CHUNKS, RESULT } from "./fixtures";

class FakeRpc implements Rpc {
  handlers = new Map<string, (p: any) => void>();
  sent: Array<[string, unknown]> = [];
  answers: Record<string, (params: any) => unknown> = {};
  initializeResult = { capabilities: { experimental: { kilo: { protocolVersion: "1.0",
    requests: ["kilo/route", "kilo/explain", "kilo/leaderboard", "kilo/complete", "kilo/usage", "kilo/setCredentials"] } } } };
  onNotification(method: string, handler: (p: any) => void) { this.handlers.set(method, handler); }
  async sendRequest<R>(method: string, params: unknown): Promise<R> {
    this.sent.push([method, params]);
    const answer = this.answers[method];
    if (!answer) throw Object.assign(new Error(`no answer for ${method}`), { code: -32601 });
    return (await answer(params)) as R;
  }
}

function stubHost(picks: string[] = [], inputs: string[] = []) {
  const calls = { status: [] as string[], errors: [] as string[], infos: [] as string[], markdown: [] as string[],
    settings: [] as Array<[string, unknown]>, secrets: new Map<string, string>() };
  const host: Host = {
    setStatus: (t) => { calls.status.push(t); }, showError: (m) => { calls.errors.push(m); },
    showInfo: (m) => { calls.infos.push(m); }, showMarkdown: (_t, md) => { calls.markdown.push(md); },
    pick: async () => picks.shift(), input: async () => inputs.shift(),
    updateSetting: async (k, v) => { calls.settings.push([k, v]); },
    storeSecret: async (k, v) => { calls.secrets.set(k, v); }, getSecret: async (k) => calls.secrets.get(k),
    workspaceUri: () => "file:///ws",
  };
  return { host, calls };
}

test("kilo/status notifications drive the status bar", () => {
  const rpc = new FakeRpc(); const { host, calls } = stubHost();
  const c = new Controller(host, rpc);
  rpc.handlers.get("kilo/status")!({ workspace: "w", conversationId: "c", model: "gpt-5-mini", tier: "efficient", reasonCode: "x" });
  assert.equal(calls.status.at(-1), "$(zap) gpt-5-mini · efficient");
  assert.ok(c.checkServer());
});

test("explain shows the last card; tier, dial, pin and unpin update settings", async () => {
  const rpc = new FakeRpc(); const { host, calls } = stubHost(["frontier", "bar", "gpt-5-mini"]);
  rpc.answers["kilo/explain"] = () => CARD;
  rpc.answers["kilo/leaderboard"] = () => ({ models: [{ id: "gpt-5-mini" }, { id: "claude-opus-4-5" }] });
  const c = new Controller(host, rpc);
  await c.explainLast();
  assert.deepEqual(rpc.sent[0], ["kilo/explain", { workspaceUri: "file:///ws" }]);
  assert.match(calls.markdown[0], /GPT-5 mini/);
  await c.setTier(); await c.setDial(); await c.pin(); await c.unpin();
  assert.deepEqual(calls.settings, [["routing.tier", "frontier"], ["routing.dial", "bar"], ["routing.pin", "gpt-5-mini"], ["routing.pin", ""]]);
});

test("an API key goes to SecretStorage and kilo/setCredentials, never to settings", async () => {
  const rpc = new FakeRpc(); const { host, calls } = stubHost(["openai"], ["sk-test-1234"]);
  rpc.answers["kilo/setCredentials"] = (p) => ({ provider: p.provider, apiKey: "sk-…1234", callableModels: 7 });
  const c = new Controller(host, rpc);
  await c.setApiKey();
  assert.equal(calls.secrets.get("kilo.apiKey.openai"), "sk-test-1234");
  assert.deepEqual(rpc.sent.at(-1), ["kilo/setCredentials", { provider: "openai", apiKey: "sk-test-1234" }]);
  assert.deepEqual(calls.settings, []);
  assert.match(calls.infos[0], /7 models callable/);
  assert.ok(!calls.infos[0].includes("sk-test-1234"));
});

test("ask streams kilo/chunk into the view and ends with who answered", async () => {
  const rpc = new FakeRpc(); const { host } = stubHost();
  const c = new Controller(host, rpc);
  rpc.answers["kilo/complete"] = async (p) => {
    const chunk = rpc.handlers.get("kilo/chunk")!;
    chunk({ streamId: p.streamId, seq: 0, text: "Hello", model: "m", provider: "openai" });
    chunk({ streamId: "someone-else", seq: 1, text: "XX", model: "m", provider: "openai" });
    chunk({ streamId: p.streamId, seq: 1, text: " world", model: "m", provider: "openai" });
    return { text: "Hello world", model: "gpt-5-mini", modelName: "GPT-5 mini", provider: "openai", costUsd: 0.001,
      balancedCostUsd: 0.002, failedOver: false, finishReason: "stop", card: CARD };
  };
  const posted: any[] = [];
  const view: ChatView = { post: (m) => posted.push(m) };
  const result = await c.ask("say hello", view);
  assert.equal(result!.text, "Hello world");
  assert.deepEqual(posted.map((m) => m.type), ["start", "chunk", "chunk", "done"]);
  assert.equal(posted.filter((m) => m.type === "chunk").map((m) => m.text).join(""), "Hello world");
  assert.match(posted.at(-1).footer, /GPT-5 mini via openai · \$0\.0010 \(saved \$0\.0010 vs Balanced\)/);
  assert.equal(c.lastCard, CARD);
});

test("a server without kilo/complete, kilo/usage or a kilo protocol says so, never silently", async () => {
  const rpc = new FakeRpc(); const { host, calls } = stubHost(["openai"], ["k"]);
  rpc.initializeResult.capabilities.experimental.kilo.requests = ["kilo/route"];
  const c = new Controller(host, rpc);
  const posted: any[] = [];
  assert.equal(await c.ask("hi", { post: (m) => posted.push(m) }), null);
  assert.match(posted[0].message, /pip install -U kilo-lsp/);
  assert.equal(await c.usage(), null);
  await c.setApiKey();
  assert.equal(calls.errors.length, 2);
  (rpc.initializeResult.capabilities as any).experimental = {};
  assert.ok(!c.checkServer());
  assert.match(calls.errors.at(-1)!, /did not announce the kilo protocol/);
});

test("ask with the protocol's shapes: chunks carry the stream id, the result's text is not shown twice", async () => {
  const rpc = new FakeRpc(); const { host } = stubHost();
  const c = new Controller(host, rpc);
  let sent: any;
  rpc.answers["kilo/complete"] = async (p) => {
    sent = p;
    for (const ch of CHUNKS) rpc.handlers.get("kilo/chunk")!({ ...ch, streamId: p.streamId });
    rpc.handlers.get("kilo/chunk")!({ ...CHUNKS[0], streamId: p.streamId }); // repeated: dropped
    return { ...RESULT, streamId: p.streamId };
  };
  const posted: any[] = [];
  const result = await c.ask("what does checkout return?", { post: (m) => posted.push(m) }, undefined,
    { maxTokens: 256, streamId: "not-this-one" });
  assert.equal(sent.maxTokens, 256);
  assert.match(sent.streamId, /^vscode-/);
  assert.equal(posted.filter((m) => m.type === "chunk").map((m) => m.text).join(""), result!.text);
  assert.deepEqual(posted.filter((m) => m.type === "chunk").map((m) => m.seq), [0, 1, 2]);
  assert.equal(posted.at(-1).type, "done");
  assert.equal(posted.at(-1).model, RESULT.model);
  assert.match(posted.at(-1).footer, /^qwen2\.5-coder-7b \(local, lmstudio\) via lmstudio · \$0\.0000 .* 57 tokens in 0\.5 s/);
});

test("an ask cancelled mid-stream keeps the streamed text and reports Cancelled", async () => {
  const rpc = new FakeRpc(); const { host } = stubHost();
  rpc.answers["kilo/complete"] = async (p) => {
    rpc.handlers.get("kilo/chunk")!({ ...CHUNKS[0], streamId: p.streamId });
    throw Object.assign(new Error("Request cancelled"), { code: -32800 });
  };
  const c = new Controller(host, rpc);
  const posted: any[] = [];
  assert.equal(await c.ask("x", { post: (m) => posted.push(m) }), null);
  assert.deepEqual(posted.map((m) => m.type), ["start", "chunk", "error"]);
  assert.deepEqual(posted.at(-1), { type: "error", message: "Cancelled." });
  c.onChunk({ ...CHUNKS[1], streamId: posted[0].streamId }); // a late chunk after the cancel: not shown
  assert.equal(posted.length, 3);
});

test("a cancelled ask reports Cancelled", async () => {
  const rpc = new FakeRpc(); const { host } = stubHost();
  rpc.answers["kilo/complete"] = () => { throw Object.assign(new Error("cancelled"), { code: -32800 }); };
  const posted: any[] = [];
  await new Controller(host, rpc).ask("x", { post: (m) => posted.push(m) });
  assert.deepEqual(posted.at(-1), { type: "error", message: "Cancelled." });
});
