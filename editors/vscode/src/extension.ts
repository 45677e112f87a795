// The VS Code edge: starts kilo-lsp with vscode-languageclient, implements Host for the Controller,
// registers the commands and the status bar item. Logic lives in logic.ts and controller.ts.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as vscode from "vscode";
import { LanguageClient, LanguageClientOptions, ServerOptions, TransportKind } from "vscode-languageclient/node";
import { chatHtml, usageHtml } from "./chat";
import { ChatView, Controller, Host } from "./controller";
import { KiloConfig, PUSHED_SETTINGS, RESTART_SETTINGS, initializationOptions, serverCommand, serverProblem, versionCommand } from "./logic";

let client: LanguageClient | undefined;
let controller: Controller | undefined;
let status: vscode.StatusBarItem;
let output: vscode.OutputChannel;

function readConfig(): KiloConfig {
  const c = vscode.workspace.getConfiguration("kilo");
  return {
    serverCommand: c.get<string[]>("server.command", []),
    pythonPath: c.get<string>("server.pythonPath", ""),
    tier: c.get<string>("routing.tier", "efficient"),
    dial: c.get<string>("routing.dial", "bill"),
    pin: c.get<string>("routing.pin", ""),
    dailyUsdPerWorkspace: c.get<number>("budget.dailyUsdPerWorkspace", 0),
  };
}

function probeVersion(cmd: { command: string; args: string[] }): Promise<{ out: string | null; error?: string }> {
  const v = versionCommand(cmd);
  return new Promise((resolve) => {
    execFile(v.command, v.args, { timeout: 20000 }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === "ENOENT") resolve({ out: null, error: "ENOENT" });
      else if (err && !stdout) resolve({ out: null, error: (stderr || err.message).trim() });
      else resolve({ out: stdout });
    });
  });
}

function host(context: vscode.ExtensionContext): Host {
  return {
    setStatus(text, tooltip) { status.text = text; status.tooltip = tooltip; status.show(); },
    showError(message) { void vscode.window.showErrorMessage(message, "Open settings").then((a) => {
      if (a) void vscode.commands.executeCommand("workbench.action.openSettings", "kilo."); }); },
    showInfo(message) { void vscode.window.showInformationMessage(message); },
    showMarkdown(title, markdown) {
      const panel = vscode.window.createWebviewPanel("kilo.card", title, vscode.ViewColumn.Beside, {});
      void vscode.commands.executeCommand("markdown.api.render", markdown).then(
        (html) => { panel.webview.html = String(html); },
        () => { panel.webview.html = `<pre>${markdown.replace(/</g, "&lt;")}</pre>`; });
    },
    pick: (placeholder, items) => Promise.resolve(vscode.window.showQuickPick(items, { placeHolder: placeholder })),
    input: (prompt, password) => Promise.resolve(vscode.window.showInputBox({ prompt, password, ignoreFocusOut: true })),
    updateSetting: (key, value) => Promise.resolve(vscode.workspace.getConfiguration("kilo").update(key, value, vscode.ConfigurationTarget.Global)),
    storeSecret: (key, value) => Promise.resolve(value ? context.secrets.store(key, value) : context.secrets.delete(key)),
    getSecret: (key) => Promise.resolve(context.secrets.get(key)),
    workspaceUri() {
      const doc = vscode.window.activeTextEditor?.document;
      const folder = doc ? vscode.workspace.getWorkspaceFolder(doc.uri) : vscode.workspace.workspaceFolders?.[0];
      return folder?.uri.toString();
    },
  };
}

async function start(context: vscode.ExtensionContext): Promise<void> {
  const cfg = readConfig();
  const cmd = serverCommand(cfg);
  const probe = await probeVersion(cmd);
  const problem = serverProblem(cmd, probe.out, probe.error);
  if (problem) {
    status.text = "$(error) Kilo"; status.tooltip = problem; status.show();
    void vscode.window.showErrorMessage(problem, "Copy install command").then((a) => {
      if (a) void vscode.env.clipboard.writeText("pip install kilo-lsp"); });
    output.appendLine(problem);
    return;
  }
  const serverOptions: ServerOptions = { command: cmd.command, args: cmd.args, transport: TransportKind.stdio };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ scheme: "file" }, { scheme: "untitled" }],
    initializationOptions: initializationOptions(cfg, context.extension.packageJSON.version),
    synchronize: { configurationSection: "kilo" },
    outputChannel: output,
  };
  client = new LanguageClient("kilo", "Kilo", serverOptions, clientOptions);
  controller = new Controller(host(context), client);
  try {
    await client.start();
  } catch (e) {
    void vscode.window.showErrorMessage(`Kilo: the sidecar failed to start: ${(e as Error).message}. ` +
      "See the Kilo output; reinstall with `pip install -U kilo-lsp`.");
    return;
  }
  if (controller.checkServer()) {
    controller.render();
    await controller.restoreCredentials();
    await controller.usage().catch(() => null);
  }
}

async function restart(context: vscode.ExtensionContext): Promise<void> {
  const old = client;
  client = undefined; controller = undefined;
  if (old) await old.stop().catch(() => undefined);
  await start(context);
}

function need(): Controller | undefined {
  if (!controller) void vscode.window.showErrorMessage("Kilo: the sidecar is not running (see the Kilo output).");
  return controller;
}

function openAsk(): void {
  const c = need();
  if (!c) return;
  const panel = vscode.window.createWebviewPanel("kilo.ask", "Kilo: Ask", vscode.ViewColumn.Beside, { enableScripts: true, retainContextWhenHidden: true });
  panel.webview.html = chatHtml(randomBytes(16).toString("hex"), panel.webview.cspSource);
  const view: ChatView = { post: (m) => void panel.webview.postMessage(m) };
  let cts: vscode.CancellationTokenSource | undefined;
  panel.webview.onDidReceiveMessage(async (m: { type: string; text?: string }) => {
    if (m.type === "cancel") cts?.cancel();
    if (m.type === "ask" && m.text) {
      cts = new vscode.CancellationTokenSource();
      const editor = vscode.window.activeTextEditor;
      const context = editor ? { activeUri: editor.document.uri.toString(), languageId: editor.document.languageId,
        selectedText: editor.selection.isEmpty ? null : editor.document.getText(editor.selection) } : null;
      await c.ask(m.text, view, cts.token, { context });
    }
  });
  panel.onDidDispose(() => cts?.cancel());
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel("Kilo");
  status = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Right, 100);
  status.command = "kilo.explainLastRoute";
  status.text = "$(sync~spin) Kilo";
  status.show();
  const reg = (id: string, fn: () => unknown) => context.subscriptions.push(vscode.commands.registerCommand(id, fn));
  reg("kilo.ask", openAsk);
  reg("kilo.explainLastRoute", () => need()?.explainLast());
  reg("kilo.setTier", () => need()?.setTier());
  reg("kilo.setDial", () => need()?.setDial());
  reg("kilo.pinModel", () => need()?.pin());
  reg("kilo.unpinModel", () => need()?.unpin());
  reg("kilo.setApiKey", () => need()?.setApiKey());
  reg("kilo.restartServer", () => restart(context));
  reg("kilo.showUsage", async () => {
    const r = await need()?.usage();
    if (!r) return;
    const panel = vscode.window.createWebviewPanel("kilo.usage", "Kilo: Usage", vscode.ViewColumn.Beside, {});
    panel.webview.html = usageHtml(r.totals, r.bars);
  });
  context.subscriptions.push(status, output, vscode.workspace.onDidChangeConfiguration((e) => {
    // server command changes need a restart; routing/budget are pushed by the client (synchronize)
    if (RESTART_SETTINGS.some((k) => e.affectsConfiguration(k))) void restart(context);
    else if (PUSHED_SETTINGS.some((k) => e.affectsConfiguration(k))) controller?.render();
  }));
  await start(context);
}

export async function deactivate(): Promise<void> {
  await client?.stop();
}
