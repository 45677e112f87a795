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
let config: Record<string, unknown> = {};
type Configuration = (params: { items: Array<{ section?: string }> }, token: unknown, next: (p: unknown, t: unknown) => Promise<unknown[]>) => Promise<unknown[]>;
const started: Array<{ serverOptions: { command: string; args: string[] }; clientOptions: { initializationOptions: Record<string, unknown>;
  synchronize: { configurationSection: string[] }; middleware: { workspace: { configuration: Configuration } };
  errorHandler: { closed(): { action: number; handled: boolean } } } }> = [];
const sent: Array<{ method: string; params: unknown }> = [];
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
    createOutputChannel: () => ({ appendLine() {}, show() {}, dispose() {} }),
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
    getConfiguration: () => ({ get: (k: string, d: unknown) => (k in config ? config[k] : d), update: async () => undefined }),
    onDidChangeConfiguration: () => disposable,
  },
  languages: { getDiagnostics: () => [{ message: "unused name", severity: 1, range: { start: position(4, 2), end: position(4, 6) } }] },
  extensions: { getExtension: () => undefined },
  env: { clipboard: { writeText: async () => undefined } },
  CancellationTokenSource: class { token = {}; cancel() {} },
  StatusBarAlignment: { Right: 2 }, ViewColumn: { Beside: -2 }, ConfigurationTarget: { Global: 1 }, ProgressLocation: { Notification: 15 },
};

const stateListeners: Array<(e: { oldState: number; newState: number }) => void> = [];
class FakeLanguageClient {
  initializeResult = { capabilities: { experimental: { kilo: { protocolVersion: "1.0", requests: ["kilo/complete", "kilo/usage", "kilo/setCredentials"] } } } };
  onDidChangeState(f: (e: { oldState: number; newState: number }) => void) { stateListeners.push(f); return disposable; }
  constructor(_id: string, _name: string, serverOptions: never, clientOptions: never) { started.push({ serverOptions, clientOptions }); }
  onNotification() { return disposable; }
  async sendNotification() {}
  async start() { stateListeners.forEach((f) => f({ oldState: 1, newState: 2 })); }
  async stop() {}
  async sendRequest(method: string, params: unknown) {
    sent.push({ method, params });
    if (method === "kilo/complete") throw Object.assign(new Error("cancelled"), { code: -32800 });
    if (method === "kilo/setCredentials") return { provider: "openai", apiKey: "sk-…abcd", callableModels: 3 };
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
  assert.deepEqual(last.clientOptions.initializationOptions.local, { endpoints: ["http://127.0.0.1:8080/v1"] });
  assert.equal((last.clientOptions.initializationOptions.routing as { tier: string }).tier, "free");
  assert.deepEqual(last.clientOptions.synchronize.configurationSection, ["kilo.routing", "kilo.budget", "kilo.local"]);
  const answered = await last.clientOptions.middleware.workspace.configuration({ items: [{ section: "kilo" }, { section: "editor" }] }, {},
    async () => [{ server: { pythonPath: "/py" }, routing: { tier: "free" } }, { server: 1 }]);
  assert.deepEqual(answered, [{ routing: { tier: "free" } }, { server: 1 }]);
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
});
