// The controller with a stub Host and a fake language client: no VS Code needed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ChatSession, Controller, STORED_PROVIDERS_KEY } from "../src/controller";
import { localDay } from "../src/logic";
import type { EditorContext } from "../src/protocol";
import { KiloRpc } from "../src/rpc";
import { CARD, CHUNKS, RESULT, TODAY, USAGE } from "./fixtures";
import { FakeClient, recordingView, stubHost } from "./harness";

function setup(picks: string[] = [], inputs: string[] = []) {
  const client = new FakeClient();
  const { host, calls } = stubHost(picks, inputs);
  const controller = new Controller(host, new KiloRpc(client));
  return { client, host, calls, controller };
}

/** kilo/complete that streams the recorded chunks under the request's streamId, then answers. */
function streaming(client: FakeClient) {
  client.answers["kilo/complete"] = async (p) => {
    for (const ch of CHUNKS) client.notify("kilo/chunk", { ...ch, streamId: p.streamId ?? "" });
    return { ...RESULT, streamId: p.streamId ?? "" };
  };
}

const MULTILINE: EditorContext = {
  activeUri: "file:///ws/shop/orders.py", languageId: "python",
  selection: { start: { line: 10, character: 0 }, end: { line: 14, character: 0 } },
  selectedText: "def checkout(cart):\n    total = 0\n    for item in cart:\n        total += item.price\n",
  diagnostics: [{ message: "\"item\" is possibly unbound", severity: 2, uri: "file:///ws/shop/orders.py",
    range: { start: { line: 12, character: 8 }, end: { line: 12, character: 12 } } }],
};

test("the status bar shows the session's model and tier, and today's spend from kilo/usage", async () => {
  const { client, calls, controller } = setup();
  client.answers["kilo/usage"] = () => TODAY;
  client.notify("kilo/status", { workspace: "w", conversationId: "c", model: "gpt-5-mini", tier: "efficient", reasonCode: "cheapest_clearing_bar" });
  assert.equal(calls.status.at(-1)!.text, "$(zap) gpt-5-mini · efficient");
  await controller.refreshToday();
  assert.deepEqual(client.params("kilo/usage").at(-1), { workspaceUri: "file:///ws", day: localDay() });
  assert.equal(calls.status.at(-1)!.text, `$(zap) gpt-5-mini · efficient · $${TODAY.costUsd.toFixed(2)} today`);
  assert.match(calls.status.at(-1)!.tooltip, new RegExp(`saved \\$${TODAY.savedVsBalancedUsd.toFixed(4)} vs Balanced`));
  assert.ok(controller.checkServer());
});

test("ask sends the editor's context, the conversation's id and its turns; the answer streams in", async () => {
  const { client, calls, controller } = setup();
  streaming(client);
  calls.context = MULTILINE;
  const view = recordingView();
  const chat = new ChatSession(view);
  const first = await controller.ask(chat, "why can checkout fail?");
  assert.equal(first!.text, RESULT.text);
  const sent = client.params("kilo/complete");
  assert.deepEqual(sent[0].context, MULTILINE);
  assert.equal(sent[0].conversationId, chat.conversation.id);
  assert.deepEqual(sent[0].turns, []);
  assert.match(sent[0].streamId!, /^vscode-/);
  assert.deepEqual(view.posted.map((m) => m.type), ["start", "chunk", "chunk", "chunk", "done"]);
  const start = view.posted[0];
  assert.ok(start.type === "start" && start.contextLabel === "orders.py (python, lines 11-14, 1 diagnostics)", JSON.stringify(start));
  assert.equal(view.posted.flatMap((m) => (m.type === "chunk" ? [m.text] : [])).join(""), RESULT.text);

  await controller.ask(chat, "and how do I fix it?");
  assert.deepEqual(client.params("kilo/complete")[1].turns, [
    { role: "user", content: "why can checkout fail?" }, { role: "assistant", content: RESULT.text }]);
  assert.equal(client.params("kilo/complete")[1].conversationId, chat.conversation.id);
  assert.equal(controller.lastCard, RESULT.card);
});

test("New conversation: a fresh conversation id and no turns; another panel keeps its own", async () => {
  const { client, controller } = setup();
  streaming(client);
  const a = new ChatSession(recordingView());
  const b = new ChatSession(recordingView());
  await controller.ask(a, "first question");
  await controller.ask(b, "other panel");
  const before = a.conversation.id;
  a.newConversation();
  assert.notEqual(a.conversation.id, before);
  assert.deepEqual(a.view instanceof Object && (a.view as ReturnType<typeof recordingView>).posted.at(-1), { type: "cleared", conversationId: a.conversation.id });
  await controller.ask(a, "fresh");
  await controller.ask(b, "still the other");
  const sent = client.params("kilo/complete");
  assert.deepEqual(sent[2].turns, []);
  assert.equal(sent[2].conversationId, a.conversation.id);
  assert.notEqual(sent[3].conversationId, a.conversation.id);
  assert.deepEqual(sent[3].turns!.map((t) => t.content), ["other panel", RESULT.text]);
});

test("a preview is a dry run with the conversation's turns and does not become a turn", async () => {
  const { client, calls, controller } = setup();
  streaming(client);
  client.answers["kilo/route"] = () => CARD;
  calls.context = MULTILINE;
  const view = recordingView();
  const chat = new ChatSession(view);
  await controller.ask(chat, "why can checkout fail?");
  const card = await controller.preview(chat, "rewrite it with sum()");
  assert.equal(card, CARD);
  const route = client.params("kilo/route")[0];
  assert.equal(route.dryRun, true);
  assert.equal(route.conversationId, chat.conversation.id);
  assert.equal(route.turns!.length, 2);
  assert.deepEqual(route.context, MULTILINE);
  const shown = view.posted.at(-1)!;
  assert.ok(shown.type === "preview" && shown.text.startsWith(`${CARD.modelName} via ${CARD.provider} would answer`), JSON.stringify(shown));
  assert.equal(chat.conversation.turns.length, 2);
});

test("the key picker offers exactly the providers the server announces; a key is stored only once the server took it", async () => {
  const { client, calls, controller } = setup(["deepseek", "zai"], ["sk-test-1234", "bad"]);
  (client.experimental.kilo as Record<string, unknown>).keyProviders = ["anthropic", "deepseek", "openai", "zai"];
  client.answers["kilo/setCredentials"] = (p) => {
    if (p.apiKey === "bad") throw Object.assign(new Error("kilo/setCredentials: refused"), { code: -32602 });
    return { provider: p.provider, apiKey: "sk-…1234", callableModels: 7 };
  };
  await controller.setApiKey();
  assert.deepEqual(calls.picked[0], ["anthropic", "deepseek", "openai", "zai"]);
  assert.equal(calls.secrets.get("kilo.apiKey.deepseek"), "sk-test-1234");
  assert.equal(calls.secrets.get(STORED_PROVIDERS_KEY), JSON.stringify(["deepseek"]));
  assert.deepEqual(client.params("kilo/setCredentials")[0], { provider: "deepseek", apiKey: "sk-test-1234" });
  assert.deepEqual(calls.settings, []);
  assert.match(calls.infos[0], /7 models callable/);
  assert.ok(!calls.infos[0].includes("sk-test-1234"));
  await controller.setApiKey();
  assert.equal(calls.secrets.get("kilo.apiKey.zai"), undefined);
  assert.match(calls.errors.at(-1)!.message, /refused/);

  client.sent.length = 0;
  await controller.restoreCredentials();
  assert.deepEqual(client.params("kilo/setCredentials"), [{ provider: "deepseek", apiKey: "sk-test-1234" }]);
});

test("no model to answer: the error names VS Code's command for keys, not a protocol method", async () => {
  const { client, controller } = setup();
  client.answers["kilo/complete"] = () => {
    throw Object.assign(new Error("no callable model: add a key or start a local server"), { code: -32001,
      data: { code: "no_model", retryAfter: null, attempts: [], decisionId: "d-1" } });
  };
  const view = recordingView();
  const chat = new ChatSession(view);
  assert.equal(await controller.ask(chat, "hi"), null);
  const err = view.posted.at(-1)!;
  assert.ok(err.type === "error");
  assert.match(err.message, /"Kilo: Set API key"/);
  assert.ok(!/kilo\/setCredentials/.test(err.message));
  assert.equal(err.action, "setApiKey");
  assert.equal(err.actionTitle, "Kilo: Set API key");
  assert.deepEqual(chat.conversation.turns, []);
});

test("an ask cancelled mid-stream keeps the streamed text, in the view and in the conversation", async () => {
  const { client, controller } = setup();
  client.answers["kilo/complete"] = async (p) => {
    client.notify("kilo/chunk", { ...CHUNKS[0], streamId: p.streamId ?? "" });
    throw Object.assign(new Error("Request cancelled"), { code: -32800 });
  };
  const view = recordingView();
  const chat = new ChatSession(view);
  assert.equal(await controller.ask(chat, "x"), null);
  assert.deepEqual(view.posted.map((m) => m.type), ["start", "chunk", "error"]);
  assert.deepEqual(view.posted.at(-1), { type: "error", message: "Cancelled.", action: undefined, actionTitle: undefined });
  assert.deepEqual(chat.conversation.turns, [{ role: "user", content: "x" }, { role: "assistant", content: CHUNKS[0].text }]);
  const start = view.posted[0];
  controller.onChunk({ ...CHUNKS[1], streamId: start.type === "start" ? start.streamId : "" }); // late: not shown
  assert.equal(view.posted.length, 3);
});

test("usage shows spend and savings from kilo/usage's own fields", async () => {
  const { client, controller } = setup();
  client.answers["kilo/usage"] = () => USAGE;
  const u = await controller.usage();
  assert.ok(u);
  assert.equal(u.spentUsd, USAGE.costUsd);
  assert.equal(u.savedVsBalancedUsd, USAGE.savedVsBalancedUsd);
  assert.deepEqual(u.days.map((d) => d.day), [...USAGE.byDay].map((d) => d.day).sort());
  assert.equal(Math.max(...u.days.map((d) => d.heightPct)), 100);
  assert.deepEqual(u.models.map((m) => m.model), Object.keys(USAGE.models));
});

test("a server without kilo/complete, kilo/usage, kilo/setCredentials or a kilo protocol says so and names the command that fixes it", async () => {
  const { client, calls, controller } = setup();
  client.experimental = { kilo: { protocolVersion: "1.0", requests: ["kilo/route"] } };
  const view = recordingView();
  assert.equal(await controller.ask(new ChatSession(view), "hi"), null);
  const err = view.posted[0];
  assert.ok(err.type === "error" && /"Kilo: Set up the sidecar"/.test(err.message));
  assert.equal(await controller.usage(), null);
  await controller.setApiKey();
  assert.equal(calls.errors.length, 2);
  assert.ok(calls.errors.every((e) => e.actions.includes("setupEnvironment")));
  client.experimental = {};
  assert.ok(!controller.checkServer());
  assert.match(calls.errors.at(-1)!.message, /did not announce the kilo protocol/);
});

test("explain, tier, dial, pin and unpin", async () => {
  const { client, calls, controller } = setup(["frontier", "bar", "gpt-5-mini"]);
  client.answers["kilo/explain"] = () => CARD;
  await controller.explainLast("chat-7");
  assert.deepEqual(client.params("kilo/explain")[0], { workspaceUri: "file:///ws", conversationId: "chat-7" });
  assert.match(calls.markdown[0], new RegExp(CARD.modelName));
  client.answers["kilo/leaderboard"] = () => { throw new Error("unused"); };
  await controller.setTier(); await controller.setDial();
  assert.deepEqual(calls.picked[0], ["efficient", "balanced", "frontier", "free"]);
  await controller.pin(); await controller.unpin();
  assert.deepEqual(calls.settings, [["routing.tier", "frontier"], ["routing.dial", "bar"], ["routing.pin", ""]]);
});

test("an answer can be marked as failed: kilo/feedback with its decision, only to a server that takes it", async () => {
  const { client, controller } = setup();
  streaming(client);
  const view = recordingView();
  (client.experimental.kilo as Record<string, unknown>).clientNotifications = ["kilo/feedback"];
  const answered = await controller.ask(new ChatSession(view), "fix it");
  const done = view.posted.at(-1)!;
  assert.ok(done.type === "done" && done.decisionId === answered!.decisionId && done.feedback);
  controller.feedback(answered!.decisionId, "failed", "still raises KeyError");
  assert.deepEqual(client.notified, [{ method: "kilo/feedback", params: { decisionId: answered!.decisionId, outcome: "failed", reason: "still raises KeyError" } }]);
  (client.experimental.kilo as Record<string, unknown>).clientNotifications = [];
  controller.feedback(answered!.decisionId, "accepted");
  assert.equal(client.notified.length, 1);
});
