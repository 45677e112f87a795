// activate() with the VS Code API stubbed: every contributed command is registered, and a missing
// sidecar gives an error naming the install command instead of failing silently.
import { test } from "node:test";
import assert from "node:assert/strict";
import Module from "node:module";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const registered: string[] = [];
const errors: string[] = [];
const config: Record<string, unknown> = { "server.command": ["/nonexistent/kilo-lsp-for-test", "--stdio"] };
const item = () => ({ text: "", tooltip: "", command: "", show() {}, dispose() {} });
const vscodeStub = {
  window: {
    createOutputChannel: () => ({ appendLine() {}, dispose() {} }),
    createStatusBarItem: item,
    showErrorMessage: (m: string) => { errors.push(m); return Promise.resolve(undefined); },
    showInformationMessage: () => Promise.resolve(undefined),
  },
  commands: { registerCommand: (id: string) => { registered.push(id); return { dispose() {} }; }, executeCommand: async () => undefined },
  workspace: {
    getConfiguration: () => ({ get: (k: string, d: unknown) => (k in config ? config[k] : d), update: async () => undefined }),
    onDidChangeConfiguration: () => ({ dispose() {} }),
  },
  env: { clipboard: { writeText: async () => undefined } },
  StatusBarAlignment: { Right: 2 }, ViewColumn: { Beside: -2 }, ConfigurationTarget: { Global: 1 },
};
class FakeLanguageClient { constructor() { throw new Error("must not start a client when the server is missing"); } }

const M = Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown };
const load = M._load;
M._load = function (request: string, ...rest: unknown[]) {
  if (request === "vscode") return vscodeStub;
  if (request === "vscode-languageclient/node") return { LanguageClient: FakeLanguageClient, TransportKind: { stdio: 0 } };
  return load.call(this, request, ...rest);
};

test("activate registers every contributed command and reports a missing sidecar with the install command", async () => {
  const ext = await import("../src/extension");
  const context = { subscriptions: [] as unknown[], extension: { packageJSON: { version: "0.1.0" } },
    secrets: { get: async () => undefined, store: async () => undefined, delete: async () => undefined } };
  await ext.activate(context as never);
  const pkg = JSON.parse(readFileSync(join(__dirname, "..", "..", "package.json"), "utf8"));
  const contributed = pkg.contributes.commands.map((c: { command: string }) => c.command).sort();
  assert.deepEqual([...registered].sort(), contributed);
  assert.equal(errors.length, 1);
  assert.match(errors[0], /not found.*pip install kilo-lsp/);
});
