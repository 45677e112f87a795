// activate() with the VS Code API stubbed at the edge: every contributed command is registered; a
// broken kilo.server.command is reported naming the setting, without starting a client; a Python
// that has kilo-lsp (kilo.server.pythonPath, a real process probe) starts the language client with
// the settings as initializationOptions; Ask reads the editor the user was in before the webview.
import { test } from "node:test";
import assert from "node:assert/strict";
import Module from "node:module";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const registered = new Map<string, () => unknown>();
const errors: string[] = [];
/** What the user set, by dotted key: in user settings (`config`) and in one workspace folder's settings. */
let config: Record<string, unknown> = {};
let folderConfig: Record<string, unknown> = {};
const defaults: Record<string, unknown> = { "routing.tier": "efficient", "routing.dial": "bill", "routing.pin": "", "budget.dailyUsdPerWorkspace": 0,
  "local.endpoints": [], "server.command": [], "server.pythonPath": "" };
/** A value at one level, as VS Code's inspect() reads it: a key's own value, or a section's members as an object. */
const at = (values: Record<string, unknown>, key: string): unknown => {
  if (key in values) return values[key];
  const inner = Object.entries(values).filter(([k]) => k.startsWith(`${key}.`));
  return inner.length ? Object.fromEntries(inner.map(([k, v]) => [k.slice(key.length + 1), v])) : undefined;
};
const outputLines: string[] = [];
const openedExternally: string[] = [];
let configurationListener: ((e: { affectsConfiguration(k: string): boolean }) => void) | undefined;
type Configuration = (params: { items: Array<{ section?: string; scopeUri?: string }> }, token: unknown, next: (p: unknown, t: unknown) => Promise<unknown[]>) => Promise<unknown[]>;
const started: Array<{ serverOptions: { command: string; args: string[] }; clientOptions: { initializationOptions: Record<string, unknown>;
  synchronize?: unknown; middleware: { workspace: { configuration: Configuration } };
  errorHandler: { closed(): { action: number; handled: boolean } } } }> = [];
const sent: Array<{ method: string; params: unknown }> = [];
const notified: Array<{ method: string; params: unknown }> = [];
const DASHBOARD_URL = "http://127.0.0.1:38397/decisions?workspace=file%3A%2F%2F%2Fws&conversation=c&token=SECRET-TOKEN";
const webviews: Array<{ listener?: (m: unknown) => Promise<void>; posted: unknown[] }> = [];
let editorListener: ((e: unknown) => void) | undefined;
const disposable = { dispose() {} };
const item = () => ({ text: "", tooltip: "", command: "", show() {}, dispose() {} });
const fileUri = (path: string) => ({ scheme: "file", fsPath: path, toString: () => `file://${path}` });
const position = (line: number, character: number) => ({ line, character });
const editor = {
  document: { uri: fileUri("/ws/orders.py"), languageId: "python", isClosed: false, getText: () => "line a\nline b\n" },
  selection: { isEmpty: false, start: position(3, 0), end: position(5, 0) },
};
const vscodeStub = {
  window: {
    activeTextEditor: editor as unknown,
    createOutputChannel: () => ({ appendLine(line: string) { outputLines.push(line); }, show() {}, dispose() {} }),
    createStatusBarItem: item,
    showErrorMessage: (m: string) => { errors.push(m); return Promise.resolve(undefined); },
    showInformationMessage: () => Promise.resolve(undefined),
    onDidChangeActiveTextEditor: (f: (e: unknown) => void) => { editorListener = f; return disposable; },
    withProgress: (_o: unknown, task: (p: { report(): void }) => Promise<unknown>) => task({ report() {} }),
    createWebviewPanel: () => {
      const view = { listener: undefined as ((m: unknown) => Promise<void>) | undefined, posted: [] as unknown[] };
      webviews.push(view);
      return { reveal() {}, onDidChangeViewState: () => disposable, onDidDispose: () => disposable,
        webview: { cspSource: "csp", html: "", postMessage: async (m: unknown) => { view.posted.push(m); return true; },
          onDidReceiveMessage: (f: (m: unknown) => Promise<void>) => { view.listener = f; return disposable; } } };
    },
  },
  commands: { registerCommand: (id: string, f: () => unknown) => { registered.set(id, f); return disposable; }, executeCommand: async () => undefined },
  workspace: {
    isTrusted: true, workspaceFolders: [{ uri: fileUri("/ws") }],
    getWorkspaceFolder: () => ({ uri: fileUri("/ws") }),
    getConfiguration: (_section: string, scope?: { toString(): string }) => ({
      get: (k: string, d: unknown) => (k in config ? config[k] : d), update: async () => undefined,
      inspect: (k: string) => ({ defaultValue: at(defaults, k), globalValue: at(config, k),
        workspaceFolderValue: scope?.toString() === "file:///ws" ? at(folderConfig, k) : undefined }),
    }),
    onDidChangeConfiguration: (f: (e: { affectsConfiguration(k: string): boolean }) => void) => { configurationListener = f; return disposable; },
  },
  Uri: { parse: (s: string) => ({ toString: () => s }) },
  languages: { getDiagnostics: () => [{ message: "unused name", severity: 1, range: { start: position(4, 2), end: position(4, 6) } }] },
  extensions: { getExtension: () => undefined },
  env: { clipboard: { writeText: async () => undefined },
    openExternal: async (uri: { toString(): string }) => { openedExternally.push(uri.toString()); return true; } },
  CancellationTokenSource: class { token = {}; cancel() {} },
  StatusBarAlignment: { Right: 2 }, ViewColumn: { Beside: -2 }, ConfigurationTarget: { Global: 1 }, ProgressLocation: { Notification: 15 },
};

const stateListeners: Array<(e: { oldState: number; newState: number }) => void> = [];
class FakeLanguageClient {
  initializeResult = { capabilities: { experimental: { kilo: { protocolVersion: "1.0",
    requests: ["kilo/complete", "kilo/usage", "kilo/setCredentials", "kilo/dashboard"] } } } };
  onDidChangeState(f: (e: { oldState: number; newState: number }) => void) { stateListeners.push(f); return disposable; }
  constructor(_id: string, _name: string, serverOptions: never, clientOptions: never) { started.push({ serverOptions, clientOptions }); }
  onNotification() { return disposable; }
  async sendNotification(method: string, params: unknown) { notified.push({ method, params }); }
  async start() { stateListeners.forEach((f) => f({ oldState: 1, newState: 2 })); }
  async stop() {}
  async sendRequest(method: string, params: unknown) {
    sent.push({ method, params });
    if (method === "kilo/complete") throw Object.assign(new Error("cancelled"), { code: -32800 });
    if (method === "kilo/setCredentials") return { provider: "openai", apiKey: "sk-…abcd", callableModels: 3 };
    if (method === "kilo/dashboard") return { url: DASHBOARD_URL };
    throw Object.assign(new Error("not in this test"), { code: -32601 });
  }
}

const M = Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown };
const load = M._load;
M._load = function (request: string, ...rest: unknown[]) {
  if (request === "vscode") return vscodeStub;
  if (request === "vscode-languageclient/node") {
    return { LanguageClient: FakeLanguageClient, TransportKind: { stdio: 0 }, State: { Stopped: 1, Running: 2, Starting: 3 }, ErrorAction: { Continue: 1, Shutdown: 2 },
      CloseAction: { DoNotRestart: 1, Restart: 2 } };
  }
  return load.call(this, request, ...rest);
};

const secrets: Record<string, string> = { "kilo.apiKey.providers": JSON.stringify(["openai"]), "kilo.apiKey.openai": "sk-test-abcd" };
const context = () => ({ subscriptions: [] as unknown[], extension: { packageJSON: { version: "0.1.0" } },
  extensionPath: mkdtempSync(join(tmpdir(), "kilo-ext-")), globalStorageUri: { fsPath: mkdtempSync(join(tmpdir(), "kilo-storage-")) },
  secrets: { get: async (k: string) => secrets[k], store: async () => undefined, delete: async () => undefined } });

test("activate registers every contributed command and reports a broken kilo.server.command naming the setting", async () => {
  config = { "server.command": ["/nonexistent/kilo-lsp-for-test", "--stdio"] };
  const ext = await import("../src/extension");
  await ext.activate(context() as never);
  const pkg = JSON.parse(readFileSync(join(__dirname, "..", "..", "package.json"), "utf8"));
  const contributed = pkg.contributes.commands.map((c: { command: string }) => c.command).sort();
  assert.deepEqual([...registered.keys()].sort(), contributed);
  assert.equal(started.length, 0);
  assert.equal(errors.length, 1);
  assert.match(errors[0], /kilo\.server\.command does not start a usable sidecar: \/nonexistent\/kilo-lsp-for-test was not found/);
});

test("with a Python that has kilo-lsp, the client starts; Ask sends the editor the user was in, not the webview", { skip: !process.env.KILO_PYTHON && "KILO_PYTHON (a Python with kilo-lsp) is not set; make test-vscode sets it" }, async () => {
  config = { "server.pythonPath": process.env.KILO_PYTHON, "local.endpoints": ["http://127.0.0.1:8080/v1"], "routing.tier": "free" };
  folderConfig = { "routing.dial": "bar" };
  errors.length = 0;
  const ext = await import("../src/extension");
  await ext.activate(context() as never);
  assert.deepEqual(errors, []);
  const pushes = () => sent.filter((s) => s.method === "kilo/setCredentials").map((s) => s.params);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(pushes(), [{ provider: "openai", apiKey: "sk-test-abcd" }]);   // the stored key, once, at start
  stateListeners.at(-1)!({ oldState: 3, newState: 2 });                          // restarted after a crash: pushed again
  await new Promise((r) => setImmediate(r));
  assert.equal(pushes().length, 2);
  const last = started.at(-1)!;
  assert.deepEqual(last.serverOptions.args, ["-m", "kilo_lsp", "--stdio"]);
  assert.equal(last.serverOptions.command, process.env.KILO_PYTHON);
  // only what the user set: no dial, no budget, no pin (the defaults would win over the user config file)
  const init = last.clientOptions.initializationOptions;
  assert.deepEqual({ routing: init.routing, local: init.local, budget: init.budget, server: init.server },
    { routing: { tier: "free" }, local: { endpoints: ["http://127.0.0.1:8080/v1"] }, budget: undefined, server: undefined });
  assert.equal(last.clientOptions.synchronize, undefined);   // it would send every section with its defaults
  // workspace/configuration: the user's values globally, and the folder's on top for the folder; other sections from VS Code
  const answered = await last.clientOptions.middleware.workspace.configuration(
    { items: [{ section: "kilo" }, { section: "kilo", scopeUri: "file:///ws" }, { section: "editor" }] }, {},
    async () => [{ routing: { tier: "efficient", dial: "bill" } }, { routing: { tier: "efficient", dial: "bill" } }, { tabSize: 4 }]);
  assert.deepEqual(answered, [{ routing: { tier: "free" }, local: { endpoints: ["http://127.0.0.1:8080/v1"] } },
    { routing: { tier: "free", dial: "bar" }, local: { endpoints: ["http://127.0.0.1:8080/v1"] } }, { tabSize: 4 }]);
  // a change: the user's values are pushed, a value removed is no longer among them
  delete config["local.endpoints"];
  configurationListener!({ affectsConfiguration: (k: string) => k === "kilo.local" });
  assert.deepEqual(notified.filter((n) => n.method === "workspace/didChangeConfiguration").at(-1)!.params,
    { settings: { kilo: { routing: { tier: "free" } } } });
  // the sidecar dies: restarted three times, then stopped with one message naming what to do
  const closes = [1, 2, 3, 4].map(() => last.clientOptions.errorHandler.closed().action);
  assert.deepEqual(closes, [2, 2, 2, 1]);
  assert.equal(errors.length, 1);
  assert.match(errors[0], /stopped 4 times .*"Kilo: Show output".*"Kilo: Restart server"/);
  errors.length = 0;

  await registered.get("kilo.ask")!();
  editorListener!(undefined);                 // the chat webview takes focus: no active text editor
  vscodeStub.window.activeTextEditor = undefined;
  await webviews.at(-1)!.listener!({ type: "ask", text: "what does this do?" });
  const complete = sent.find((s) => s.method === "kilo/complete")!.params as { context: Record<string, unknown>; conversationId: string; turns: unknown[] };
  assert.equal(complete.context.activeUri, "file:///ws/orders.py");
  assert.equal(complete.context.languageId, "python");
  assert.deepEqual(complete.context.selection, { start: { line: 3, character: 0 }, end: { line: 5, character: 0 } });
  assert.equal(complete.context.selectedText, "line a\nline b\n");
  assert.deepEqual((complete.context.diagnostics as Array<{ severity: number }>).map((d) => d.severity), [2]);
  assert.match(complete.conversationId, /^vscode-chat-/);
  assert.deepEqual(webviews.at(-1)!.posted.map((m) => (m as { type: string }).type), ["start", "error"]);

  // the chat's Decisions button: that conversation's decisions in the dashboard, in the browser; the
  // token never reaches the output channel
  await webviews.at(-1)!.listener!({ type: "decisions" });
  const dash = sent.filter((s) => s.method === "kilo/dashboard").at(-1)!.params;
  // (this chat's only question was cancelled before any text: it has no turn, so the workspace's decisions)
  assert.deepEqual(dash, { page: "decisions", workspaceUri: "file:///ws", conversationId: null });
  assert.deepEqual(openedExternally, [DASHBOARD_URL]);
  await registered.get("kilo.openDashboard")!();
  assert.deepEqual(sent.filter((s) => s.method === "kilo/dashboard").at(-1)!.params, { page: null, workspaceUri: "file:///ws", conversationId: null });
  assert.ok(outputLines.some((l) => l.includes("127.0.0.1:38397")), outputLines.join("\n"));
  assert.ok(!outputLines.some((l) => l.includes("SECRET-TOKEN")), outputLines.join("\n"));
});
