// The controller with a stub Host and a fake language client: no VS Code needed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ChatSession, Controller } from "../src/controller";
import { localDay } from "../src/logic";
import type { EditorContext } from "../src/protocol";
import { KiloRpc } from "../src/rpc";
import { CARD, CHUNKS, RESULT, TODAY } from "./fixtures";
import { exchanges } from "./recorded";
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

/** What the recorder's editor sent: a multi-line selection with its text and a diagnostic. */
const MULTILINE: EditorContext = exchanges("route", "kilo/route")[0].params.context!;

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
  assert.deepEqual(view.posted.map((m) => m.type), ["start", ...CHUNKS.map(() => "chunk"), "done"]);
  const start = view.posted[0];
  const sel = MULTILINE.selection!;
  assert.ok(start.type === "start" && start.contextLabel ===
    `orders.py (python, lines ${sel.start.line + 1}-${sel.end.line + 1}, ${MULTILINE.diagnostics!.length} diagnostics)`, JSON.stringify(start));
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
  assert.deepEqual(calls.settings, [["routing.tier", "frontier"], ["routing.dial", "bar"], ["routing.pin", undefined]]);   // unpin removes the setting
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
