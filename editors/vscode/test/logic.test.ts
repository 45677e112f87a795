import { test } from "node:test";
import assert from "node:assert/strict";
import {
  COMMAND_IDS, COMMAND_TITLES, CrashPolicy, StreamBuffer, answerFooter, askErrorText, cardMarkdown, initializationOptions, localDay, previewLine,
  protocolProblem, STATUS_MENU, SettingInspection, pickFromMenu, redactedUrl, statusText, statusTooltip, usageSummary, userSettings,
  versionAtLeast, versionCommand,
} from "../src/logic";
import type { CompleteResult } from "../src/protocol";
import { CARD, CHUNKS, RESULT, USAGE } from "./fixtures";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

test("the settings the user set become initializationOptions, with editorPluginInfo and editorCommands", () => {
  const opts = initializationOptions({ routing: { dial: "bar" }, local: { endpoints: ["http://127.0.0.1:8080/v1"] } }, "0.1.0");
  assert.deepEqual(opts, { routing: { dial: "bar" }, local: { endpoints: ["http://127.0.0.1:8080/v1"] },
    editorPluginInfo: { name: "kilo-lsp-vscode", version: "0.1.0" },
    editorCommands: { setKey: "Kilo: Set API key", settings: "Settings › Extensions › Kilo (kilo.*)" } });
  assert.deepEqual(versionCommand({ command: "/py", args: ["-m", "kilo_lsp", "--stdio"] }), { command: "/py", args: ["-m", "kilo_lsp", "--version"] });
});

/** inspect() as VS Code answers it: package.json's defaults, and values at the levels given (dotted keys). */
function inspector(levels: { global?: Record<string, unknown>; workspace?: Record<string, unknown>; folder?: Record<string, unknown> }) {
  const defaults: Record<string, unknown> = { "routing.tier": "efficient", "routing.dial": "bill", "routing.pin": "",
    "budget.dailyUsdPerWorkspace": 0, "local.endpoints": [] };
  const at = (values: Record<string, unknown> | undefined, key: string): unknown => {
    if (!values) return undefined;
    if (key in values) return values[key];
    const inner = Object.entries(values).filter(([k]) => k.startsWith(`${key}.`));   // a section: its members as an object
    return inner.length ? Object.fromEntries(inner.map(([k, v]) => [k.slice(key.length + 1), v])) : undefined;
  };
  const asked: string[] = [];
  const inspect = (key: string): SettingInspection & { defaultValue?: unknown } => {
    asked.push(key);
    return { defaultValue: at(defaults, key), globalValue: at(levels.global, key), workspaceValue: at(levels.workspace, key),
      workspaceFolderValue: at(levels.folder, key) };
  };
  return { inspect, asked };
}

test("only settings the user set are sent: no default would override the user config file's dial and tier", () => {
  assert.deepEqual(userSettings(inspector({}).inspect), {});
  const { inspect, asked } = inspector({ global: { "routing.dial": "bar" } });
  assert.deepEqual(userSettings(inspect), { routing: { dial: "bar" } });
  assert.ok(!asked.some((k) => k.startsWith("server")), "server.* is never a sidecar setting");
  // a value the user set to what happens to be the default is still the user's: sent
  assert.deepEqual(userSettings(inspector({ global: { "routing.tier": "efficient" } }).inspect), { routing: { tier: "efficient" } });
  // workspace over user settings, folder over workspace; other settings of the section stay
  assert.deepEqual(userSettings(inspector({ global: { "routing.dial": "bar", "routing.tier": "free" }, workspace: { "routing.dial": "bill" },
    folder: { "routing.pin": "gpt-5-mini" } }).inspect), { routing: { dial: "bill", tier: "free", pin: "gpt-5-mini" } });
  // settings the extension does not declare pass through their section; blank endpoints are dropped
  assert.deepEqual(userSettings(inspector({ global: { "routing.minConfidence": 0.7, "local.endpoints": ["http://127.0.0.1:8080/v1", " "],
    "budget.dailyUsdPerWorkspace": 2 } }).inspect),
  { routing: { minConfidence: 0.7 }, local: { endpoints: ["http://127.0.0.1:8080/v1"] }, budget: { dailyUsdPerWorkspace: 2 } });
  // an inspect() that answers nothing for a key (an unknown one)
  assert.deepEqual(userSettings(() => undefined), {});
});

test("the status bar's menu runs the command picked by its title", async () => {
  let offered: string[] = [];
  assert.equal(await pickFromMenu(async (items) => { offered = items; return COMMAND_TITLES.openDashboard; }), "openDashboard");
  assert.deepEqual(offered, STATUS_MENU.map((k) => COMMAND_TITLES[k]));
  assert.equal(await pickFromMenu(async () => undefined), undefined);
});

test("the dashboard's URL is logged without its token", () => {
  assert.equal(redactedUrl("http://127.0.0.1:38397/leaderboard?token=PHNU5n_kd1Sn99sPJbcTbr6ctAQ8FyElZCC-l9XV8v8"),
    "http://127.0.0.1:38397/leaderboard?token=…");
  assert.equal(redactedUrl("http://127.0.0.1:1/decisions?workspace=file%3A%2F%2F%2Fw&token=abc&conversation=c"),
    "http://127.0.0.1:1/decisions?workspace=file%3A%2F%2F%2Fw&token=…&conversation=c");
});

test("every command an error text names is contributed under that title", () => {
  const pkg = JSON.parse(readFileSync(join(__dirname, "..", "..", "package.json"), "utf8"));
  const contributed = new Map<string, string>(pkg.contributes.commands.map((c: { command: string; title: string; category: string }) =>
    [c.command, `${c.category}: ${c.title}`]));
  for (const [key, title] of Object.entries(COMMAND_TITLES)) {
    assert.equal(contributed.get(COMMAND_IDS[key as keyof typeof COMMAND_IDS]), title, key);
  }
});

test("protocol checks", () => {
  assert.ok(versionAtLeast("1.0.0", "0.9.9") && !versionAtLeast("0.1", "0.1.0"));
  assert.match(protocolProblem(undefined, "1.0")!, /did not announce.*"Kilo: Set up the sidecar"/);
  assert.match(protocolProblem("2.0", "1.0")!, /protocol 2.0/);
  assert.equal(protocolProblem("1.3", "1.0"), null);
});

test("status bar text and decision card", () => {
  assert.equal(statusText(null, null), "$(zap) Kilo");
  assert.equal(statusText(null, 0.5), "$(zap) Kilo · $0.50 today");
  const st = { workspace: "w", conversationId: "c", model: "gpt-5-mini", tier: "efficient", reasonCode: "x" };
  assert.equal(statusText(st, 0.1234), "$(zap) gpt-5-mini · efficient · $0.12 today");
  // a model the router would use but cannot call (what-if): said in the text and the tooltip
  assert.equal(statusText({ ...st, callable: false }, 0), "$(warning) gpt-5-mini (not callable) · efficient · $0.00 today");
  assert.match(statusTooltip({ ...st, callable: false }, null), /Not callable: gpt-5-mini .*"Kilo: Set API key"/);
  assert.doesNotMatch(statusTooltip({ ...st, callable: true }, null), /Not callable/);
  const md = cardMarkdown(CARD);
  assert.match(md, new RegExp(`\\*\\*${CARD.modelName}\\*\\* \\(\`${CARD.model}\`\\)`));
  assert.equal(cardMarkdown(null), "No decision yet in this session.");
  assert.match(previewLine(CARD), new RegExp(`^${CARD.modelName}.* would answer: ${CARD.taskType.replace(/_/g, " ")}, difficulty ${CARD.difficulty}`));
});

test("answer footer from a whole kilo/complete result: tokens, time, saving, and a stream that broke", () => {
  const saved = RESULT.balancedCostUsd - RESULT.costUsd;
  assert.equal(answerFooter(RESULT), `${RESULT.modelName} via ${RESULT.provider} · $${RESULT.costUsd.toFixed(4)}` +
    (saved > 0 ? ` (saved $${saved.toFixed(4)} vs Balanced)` : "") +
    ` · ${RESULT.usage.outputTokens} tokens in ${(RESULT.totalMs / 1000).toFixed(1)} s\n${RESULT.card.reason}`);
  const broke: CompleteResult = { ...RESULT, finishReason: "error", usage: { ...RESULT.usage, estimated: true },
    error: { kind: "stream", message: "connection reset", status: null, retryAfter: null } };
  assert.match(answerFooter(broke), / tokens \(estimated\) in .* s · stopped: stream \(connection reset\)\n/);
  assert.match(answerFooter({ ...RESULT, finishReason: "length" }), / s · length\n/);
});

test("no-answer errors name the command that fixes them", () => {
  assert.deepEqual(askErrorText({ code: -32800 }), { message: "Cancelled." });
  const noModel = askErrorText({ code: -32001, message: "nothing callable.", data: { code: "no_model", retryAfter: null, attempts: [], decisionId: null } });
  assert.equal(noModel.action, "setApiKey");
  assert.match(noModel.message, /"Kilo: Set API key".*kilo\.local\.endpoints/);
  assert.match(askErrorText({ code: -32001, message: "429.", data: { code: "all_failed", retryAfter: 2.5, attempts: [], decisionId: null } }).message, /Retry in 3 s/);
  assert.match(askErrorText({ code: -32603, message: "boom" }).message, /"Kilo: Show output"/);
});

test("usage summary: totals, today's row, and a labelled bar per day, oldest first", () => {
  const u = usageSummary(USAGE, USAGE.byDay[0].day!);
  assert.equal(u.spentUsd, USAGE.costUsd);
  assert.equal(u.todayUsd, USAGE.byDay[0].costUsd);
  assert.equal(u.todaySavedUsd, USAGE.byDay[0].savedVsBalancedUsd);
  const days = [...USAGE.byDay].sort((a, b) => a.day!.localeCompare(b.day!));
  assert.deepEqual(u.days.map((d) => [d.day, d.costUsd]), days.map((d) => [d.day, d.costUsd]));
  assert.equal(usageSummary(USAGE, "1999-01-01").todayUsd, 0);
  assert.match(localDay(new Date(2026, 0, 5, 23, 59)), /^2026-01-05$/);
});

test("stream buffer rebuilds the result's text from kilo/chunk and drops other, late or repeated chunks", () => {
  const b = new StreamBuffer(CHUNKS[0].streamId);
  for (const c of CHUNKS) assert.ok(b.accept(c));
  assert.equal(b.text, RESULT.text);
  assert.ok(!b.accept({ ...CHUNKS[0], streamId: "other" }));
  assert.ok(!b.accept(CHUNKS[CHUNKS.length - 1]));
  assert.equal(b.text, RESULT.text);
});

test("the settings that name a program to run can only be set per machine, never by a workspace", () => {
  const pkg = JSON.parse(readFileSync(join(__dirname, "..", "..", "package.json"), "utf8"));
  const props = pkg.contributes.configuration.properties;
  for (const key of ["kilo.server.command", "kilo.server.pythonPath"]) {
    assert.equal(props[key].scope, "machine", key);
    assert.ok(pkg.capabilities.untrustedWorkspaces.restrictedConfigurations.includes(key), key);
  }
});

test("a crashing sidecar is restarted three times in three minutes, then stopped with one message", () => {
  const policy = new CrashPolicy();
  const t = 1_000_000;
  assert.deepEqual([0, 1, 2].map((i) => policy.closed(t + i * 1000).restart), [true, true, true]);
  const fourth = policy.closed(t + 3000);
  assert.ok(!fourth.restart && /"Kilo: Restart server"/.test(fourth.message));
  assert.equal(policy.closed(t + 4000).restart, true);                   // counting starts again
  const slow = new CrashPolicy();
  assert.ok([0, 1, 2, 3, 4].every((i) => slow.closed(t + i * 200000).restart));   // far apart: always restarted
});

test("no `any` in the extension's sources: protocol data is typed by the generated protocol.ts", () => {
  const dir = join(__dirname, "..", "..", "src");
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".ts"))) {
    const code = readFileSync(join(dir, file), "utf8").replace(/\/\/.*$/gm, "").replace(/\/\*[\s\S]*?\*\//g, "");
    assert.doesNotMatch(code, /:\s*any\b|\bas any\b|<any>|any\[\]/, file);
  }
});
