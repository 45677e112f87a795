// The controller against responses recorded from the real sidecar (editors/recorded/*.json): what
// the extension sends, and what it shows for what the sidecar really answers.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ChatSession, Controller, STORED_PROVIDERS_KEY } from "../src/controller";
import { answerFooter, previewLine, statusText, usageSummary } from "../src/logic";
import { KiloRpc } from "../src/rpc";
import { FakeClient, recordingView, replay, stubHost } from "./harness";
import { exchanges, notifications, result } from "./recorded";

function setup(name: string, picks: string[] = [], inputs: string[] = []) {
  const client = new FakeClient();
  replay(client, name);
  const { host, calls } = stubHost(picks, inputs);
  return { client, calls, controller: new Controller(host, new KiloRpc(client)) };
}

test("complete.json: the editor's context and the conversation's turns are sent as the sidecar was sent them; the answer streams whole", async () => {
  const { client, calls, controller } = setup("complete");
  const recorded = exchanges("complete", "kilo/complete");
  calls.context = recorded[0].params.context ?? null;
  const view = recordingView();
  const chat = new ChatSession(view);
  const first = await controller.ask(chat, recorded[0].params.text);
  const second = await controller.ask(chat, recorded[1].params.text);
  const sent = client.params("kilo/complete");
  assert.deepEqual(sent[0].context, recorded[0].params.context);
  assert.deepEqual(sent[0].turns, []);
  assert.deepEqual(sent[1].turns, recorded[1].params.turns);        // the first exchange, as the recorder sent it
  assert.equal(sent[1].conversationId, sent[0].conversationId);

  const chunks = notifications(recorded[0].notifications, "kilo/chunk");
  const shown = view.posted.filter((m) => m.type === "chunk").map((m) => (m.type === "chunk" ? m.text : ""));
  assert.equal(shown.slice(0, chunks.length).join(""), first!.text);
  assert.equal(first!.text, result("complete", "kilo/complete", 0).text);
  const done = view.posted.filter((m) => m.type === "done");
  assert.deepEqual(done.map((m) => (m.type === "done" ? m.footer : "")), [answerFooter(first!), answerFooter(second!)]);
  assert.match(answerFooter(first!), new RegExp(`^${first!.modelName.replace(/[()]/g, ".")} via ${first!.provider} · \\$\\d+\\.\\d{4}`));

  const status = notifications(recorded[0].notifications, "kilo/status")[0];
  assert.equal(calls.status.at(-1)!.text, statusText(status, null));
  assert.equal(controller.lastCard?.decisionId, second!.card.decisionId);
});

test("complete-cancelled.json: the chunk that arrived stays, in the panel and in the conversation; then Cancelled", async () => {
  const { controller } = setup("complete-cancelled");
  const recorded = exchanges("complete-cancelled", "kilo/complete")[0];
  const view = recordingView();
  const chat = new ChatSession(view);
  assert.equal(await controller.ask(chat, recorded.params.text), null);
  assert.equal(recorded.error?.code, -32800);
  const arrived = notifications(recorded.notifications, "kilo/chunk").map((c) => c.text).join("");
  assert.ok(arrived.length > 0);
  assert.deepEqual(view.posted.map((m) => m.type), ["start", "chunk", "error"]);
  const last = view.posted.at(-1)!;
  assert.ok(last.type === "error" && last.message === "Cancelled.");
  assert.deepEqual(chat.conversation.turns, [{ role: "user", content: recorded.params.text }, { role: "assistant", content: arrived }]);
});

test("usage.json: the status bar's today and the usage view come from the fields kilo/usage sends", async () => {
  const { client, calls, controller } = setup("usage");
  const all = result("usage", "kilo/usage", 0);
  const today = result("usage", "kilo/usage", 1);
  const day = exchanges("usage", "kilo/usage")[1].params.day!;
  // the controller asks for all days first (the view), then for today (the status bar)
  const summary = await controller.usage();
  assert.ok(summary);
  assert.deepEqual(client.params("kilo/usage")[0], { workspaceUri: "file:///ws" });
  assert.equal(summary.spentUsd, all.costUsd);
  assert.equal(summary.savedVsBalancedUsd, all.savedVsBalancedUsd);
  assert.equal(summary.requests, all.requests);
  assert.ok(summary.spentUsd > 0 && summary.savedVsBalancedUsd > 0);
  assert.deepEqual(summary.days.map((d) => d.day), all.byDay.map((d) => d.day).sort());
  assert.deepEqual(summary.models.map((m) => m.model).sort(), Object.keys(all.models).sort());
  assert.equal(usageSummary(all, day).todayUsd, all.byDay.find((d) => d.day === day)!.costUsd);
  assert.equal(calls.status.at(-1)!.text, `$(zap) Kilo · $${today.costUsd.toFixed(2)} today`);
  assert.match(calls.status.at(-1)!.tooltip, new RegExp(`\\$${today.costUsd.toFixed(4)} for ${today.requests} requests, saved \\$${today.savedVsBalancedUsd.toFixed(4)}`));
});

test("route.json: a preview is a dryRun route with the conversation's turns, shown as one line, and not a turn", async () => {
  const { client, calls, controller } = setup("route");
  const preview = exchanges("route", "kilo/route").find((e) => e.params.dryRun)!;
  calls.context = preview.params.context ?? null;
  client.answers["kilo/route"] = () => preview.result!;
  const view = recordingView();
  const chat = new ChatSession(view);
  const card = await controller.preview(chat, preview.params.text);
  const sent = client.params("kilo/route")[0];
  assert.equal(sent.dryRun, true);
  assert.deepEqual(sent.context, preview.params.context);
  assert.equal(sent.conversationId, chat.conversation.id);
  assert.deepEqual(view.posted, [{ type: "preview", text: previewLine(card!) }]);
  assert.ok(previewLine(card!).startsWith(`${preview.result!.modelName}`));
  assert.deepEqual(chat.conversation.turns, []);
});

test("no-key.json: no model to answer names VS Code's command for keys; after a key the answer comes", async () => {
  const { controller } = setup("no-key");
  const recorded = exchanges("no-key", "kilo/complete");
  const view = recordingView();
  const chat = new ChatSession(view);
  assert.equal(await controller.ask(chat, recorded[0].params.text), null);
  const err = view.posted.at(-1)!;
  assert.ok(err.type === "error");
  assert.equal(err.action, "setApiKey");
  assert.match(err.message, /Kilo: Set API key/);
  assert.ok(!/kilo\/setCredentials/.test(err.message), err.message);
  assert.deepEqual(chat.conversation.turns, []);
  const answered = await controller.ask(chat, recorded[1].params.text);
  assert.equal(answered!.text, recorded[1].result!.text);
});

test("initialize.json: the recorded capabilities pass the protocol check and give the tier and dial pickers", async () => {
  const { calls, controller } = setup("initialize", ["balanced", "bar"]);
  assert.ok(controller.checkServer());
  await controller.setTier();
  await controller.setDial();
  assert.deepEqual(calls.picked, [["efficient", "balanced", "frontier", "free"], ["bill", "bar"]]);
  assert.deepEqual(calls.settings, [["routing.tier", "balanced"], ["routing.dial", "bar"]]);
});

test("server-status.json: the key picker offers exactly the providers kilo/serverStatus lists; a key is stored once the sidecar took it", async () => {
  const status = result("server-status", "kilo/serverStatus", 0);
  const taken = exchanges("server-status", "kilo/setCredentials")[0];
  const wanted = status.providers.find((p) => p.name === taken.params.provider)!;
  const { client, calls, controller } = setup("server-status", [`${wanted.label} (${wanted.name})`], ["sk-test-key"]);
  await controller.setApiKey();
  assert.deepEqual(calls.picked[0].map((item) => /\(([^()]+)\)(?:$| — )/.exec(item)![1]), status.providers.map((p) => p.name));
  assert.deepEqual(client.params("kilo/setCredentials")[0], { provider: wanted.name, apiKey: "sk-test-key" });
  assert.equal(calls.secrets.get(`kilo.apiKey.${wanted.name}`), "sk-test-key");
  assert.equal(calls.secrets.get(STORED_PROVIDERS_KEY), JSON.stringify([wanted.name]));
  assert.deepEqual(calls.settings, []);
  assert.equal(calls.infos[0], `Kilo: ${taken.result!.provider} key ${taken.result!.apiKey}; ${taken.result!.callableModels} models callable now.`);
  assert.ok(!calls.infos[0].includes("sk-test-key"));
  // the second status shows the key as set from the editor
  const after = result("server-status", "kilo/serverStatus", 1).providers.find((p) => p.name === wanted.name)!;
  assert.equal(after.keySet, true);
  const items = (await controller.keyProviders()).map((p) => p.item);
  assert.ok(items.includes(`${after.label} (${after.name}) — key set (${after.keySource})`), items.join("\n"));

  client.sent.length = 0;
  await controller.restoreCredentials();
  assert.deepEqual(client.params("kilo/setCredentials"), [{ provider: wanted.name, apiKey: "sk-test-key" }]);
});

test("no-key.json: a key for a provider the sidecar does not take is refused and not stored", async () => {
  const refused = exchanges("no-key", "kilo/setCredentials").find((e) => e.error)!;
  const { calls, controller } = setup("no-key");
  // no-key.json's sidecar answers the key it took first, then refuses the next one
  assert.equal(await controller.pushCredentials("openrouter", "sk-1", true), true);
  assert.equal(await controller.pushCredentials(refused.params.provider, "k", true), false);
  assert.equal(calls.errors.at(-1)!.message, `Kilo: ${refused.error!.message}`);
});

test("local-model.json: an answer from a local server, free, its tokens estimated, counted in usage", async () => {
  const { calls, controller } = setup("local-model");
  const recorded = exchanges("local-model", "kilo/complete")[0];
  const view = recordingView();
  const answered = await controller.ask(new ChatSession(view), recorded.params.text);
  assert.equal(answered!.text, recorded.result!.text);
  assert.equal(answered!.costUsd, 0);
  const footer = answerFooter(answered!);
  assert.ok(footer.startsWith(`${answered!.modelName} via ${answered!.provider} · $0.0000 (saved $`), footer);
  assert.match(footer, /tokens \(estimated\)/);
  // after the answer the status bar asks for today's usage: the local answer counts, at no cost
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(controller.today, result("local-model", "kilo/usage", 0));
  assert.equal(controller.today!.costUsd, 0);
  assert.equal(controller.today!.requests, 1);
  assert.match(calls.status.at(-1)!.text, / · \$0\.00 today$/);
});

test("dashboard.json: Open dashboard sends kilo/dashboard and opens the URL the sidecar answers; the log has it without its token", async () => {
  const { client, calls, controller } = setup("dashboard");
  const recorded = exchanges("dashboard", "kilo/dashboard");
  // the first recorded answer (a page); the controller's own params are checked, the URL opened is the sidecar's
  assert.equal(await controller.openDashboard("leaderboard"), recorded[0].result!.url);
  assert.deepEqual(client.params("kilo/dashboard")[0], { page: "leaderboard", workspaceUri: "file:///ws", conversationId: null });
  // a chat's Decisions once it has asked something: its conversation and workspace, as the recorder sent them
  const chat = new ChatSession(recordingView());
  chat.conversation.record("rename checkout to place_order", "done");
  await controller.openDecisions(chat);
  assert.deepEqual(client.params("kilo/dashboard")[1], { page: "decisions", workspaceUri: "file:///ws", conversationId: chat.conversation.id });
  assert.deepEqual(calls.opened, recorded.map((e) => e.result!.url));
  assert.match(calls.opened[1], /\/decisions\?.*conversation=chat-1/);
  assert.ok(calls.log.length === 2 && calls.log.every((l) => l.includes("127.0.0.1:") && !l.includes("TOKEN")), calls.log.join("\n"));
});

test("dashboard.json: with no browser, the URL goes to the clipboard and nowhere else", async () => {
  const { calls, controller } = setup("dashboard");
  calls.openWorks = false;
  assert.equal(await controller.openDashboard(), null);
  const url = exchanges("dashboard", "kilo/dashboard")[0].result!.url;
  assert.deepEqual(calls.clipboard, [url]);
  assert.ok(!calls.infos.concat(calls.errors.map((e) => e.message), calls.log).some((t) => t.includes("TOKEN")));
});

test("no-key.json: the status bar says when no model can be called, and when the chosen one cannot", async () => {
  const { calls, controller } = setup("no-key");
  await controller.refreshServerStatus();
  assert.equal(result("no-key", "kilo/serverStatus").callableModels, 0);
  assert.equal(calls.status.at(-1)!.text, "$(warning) Kilo: no model callable");
  assert.match(calls.status.at(-1)!.tooltip, /No model can be called now: add a key with "Kilo: Set API key"/);
  // kilo/complete's kilo/status names the model the router would use, callable false
  const status = notifications(exchanges("no-key", "kilo/complete")[0].notifications, "kilo/status")[0];
  assert.equal(status.callable, false);
  await controller.ask(new ChatSession(recordingView()), exchanges("no-key", "kilo/complete")[0].params.text);
  assert.equal(calls.status.at(-1)!.text, statusText(status, null, controller.server));
  assert.match(calls.status.at(-1)!.text, new RegExp(`^\\$\\(warning\\) ${status.model} \\(not callable\\)`));
  // a key taken: the count from kilo/setCredentials's answer reaches the status bar
  await controller.pushCredentials("openrouter", "sk-1");
  assert.equal(controller.server!.callableModels, result("no-key", "kilo/setCredentials").callableModels);
  controller.dispose();
});

test("while no model is callable, kilo/serverStatus is asked again until one is", async () => {
  const { client, calls, controller } = setup("no-key");
  const none = result("no-key", "kilo/serverStatus");
  const answers = [none, none, { ...none, callableModels: 1 }];
  client.answers["kilo/serverStatus"] = () => answers.shift()!;
  controller.serverPollMs = 20;
  await controller.refreshServerStatus();
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(client.params("kilo/serverStatus").length, 3);       // and no more once one is callable
  assert.equal(calls.status.at(-1)!.text, "$(zap) Kilo");
});
