// The VS Code edge: finds or sets up the sidecar (environment.ts), starts it with
// vscode-languageclient, implements Host for the Controller, and registers the commands, the chat
// panels and the status bar item. Logic lives in logic.ts, context.ts and controller.ts.
import { randomBytes } from "node:crypto";
import { homedir } from "node:os";
import { join } from "node:path";
import * as vscode from "vscode";
import { CloseAction, ErrorAction, LanguageClient, LanguageClientOptions, ServerOptions, State, TransportKind } from "vscode-languageclient/node";
import { chatHtml, chatRequest, usageHtml } from "./chat";
import { EditorSnapshot, LastEditor, editorContext, lspSeverity } from "./context";
import { ChatSession, ChatView, CommandKey, Controller, Host } from "./controller";
import { EnvironmentError, Found, Places, findServer, nodeEnvironmentHost, setupManagedEnvironment, userInstallDir } from "./environment";
import { COMMAND_IDS, COMMAND_TITLES, CrashPolicy, KiloConfig, PUSHED_SETTINGS, RESTART_SETTINGS, initializationOptions, pickFromMenu, userSettings } from "./logic";
import type { Diagnostic } from "./protocol";
import { KiloRpc } from "./rpc";

let client: LanguageClient | undefined;
let controller: Controller | undefined;
let status: vscode.StatusBarItem;
let output: vscode.OutputChannel;
let starting: Promise<void> | undefined;
const crashes = new CrashPolicy();
const lastEditor = new LastEditor<vscode.TextEditor>();
const chats = new Map<vscode.WebviewPanel, ChatSession>();
let activeChat: { panel: vscode.WebviewPanel; chat: ChatSession; cancel?: vscode.CancellationTokenSource } | undefined;

/** The `kilo` settings for the sidecar, for a folder or (no scope) the window: only what the user set. */
function sidecarSettingsFor(scopeUri?: string | null): Record<string, unknown> {
  const c = vscode.workspace.getConfiguration("kilo", scopeUri ? vscode.Uri.parse(scopeUri) : undefined);
  return userSettings((key) => c.inspect(key));
}

function readConfig(): KiloConfig {
  const c = vscode.workspace.getConfiguration("kilo");
  return {
    serverCommand: c.get<string[]>("server.command", []),
    pythonPath: c.get<string>("server.pythonPath", ""),
    settings: sidecarSettingsFor(),
  };
}

/** The part of the Python extension's API used here (ms-python.python exports). */
interface PythonExtensionApi {
  environments?: {
    getActiveEnvironmentPath?(resource?: vscode.Uri): { path: string } | undefined;
    resolveEnvironment?(path: string): Promise<{ executable?: { uri?: vscode.Uri } } | undefined>;
  };
  settings?: { getExecutionDetails?(resource?: vscode.Uri): { execCommand?: string[] } };
}

async function pythonExtensionInterpreter(resource?: vscode.Uri): Promise<string | undefined> {
  const ext = vscode.extensions?.getExtension<PythonExtensionApi>("ms-python.python");
  if (!ext) return undefined;
  try {
    const api = ext.isActive ? ext.exports : await ext.activate();
    const active = api.environments?.getActiveEnvironmentPath?.(resource)?.path;
    if (active) return (await api.environments?.resolveEnvironment?.(active))?.executable?.uri?.fsPath ?? active;
    return api.settings?.getExecutionDetails?.(resource)?.execCommand?.[0];
  } catch (e) {
    output.appendLine(`Kilo: the Python extension's interpreter could not be read: ${(e as Error).message}`);
    return undefined;
  }
}

function snapshot(editor: vscode.TextEditor | undefined): EditorSnapshot | null {
  if (!editor) return null;
  const doc = editor.document;
  const sel = editor.selection;
  const diagnostics: Diagnostic[] = vscode.languages.getDiagnostics(doc.uri).map((d) => ({
    message: d.message, severity: lspSeverity(d.severity), uri: doc.uri.toString(),
    range: { start: { line: d.range.start.line, character: d.range.start.character }, end: { line: d.range.end.line, character: d.range.end.character } },
  }));
  return {
    uri: doc.uri.toString(), languageId: doc.languageId, diagnostics,
    selection: sel.isEmpty ? null : { start: { line: sel.start.line, character: sel.start.character }, end: { line: sel.end.line, character: sel.end.character } },
    selectedText: sel.isEmpty ? null : doc.getText(sel),
  };
}

function runCommand(key: CommandKey): void {
  void vscode.commands.executeCommand(COMMAND_IDS[key]);
}

function host(context: vscode.ExtensionContext): Host {
  return {
    setStatus(text, tooltip) { status.text = text; status.tooltip = tooltip; status.show(); },
    showError(message, actions = []) {
      output.appendLine(message);
      const titles = actions.map((a) => COMMAND_TITLES[a]);
      void vscode.window.showErrorMessage(message, ...titles).then((picked) => {
        const i = picked ? titles.indexOf(picked as (typeof titles)[number]) : -1;
        if (i >= 0) runCommand(actions[i]);
      });
    },
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
      const doc = lastEditor.get()?.document;
      const folder = doc ? vscode.workspace.getWorkspaceFolder(doc.uri) : vscode.workspace.workspaceFolders?.[0];
      return folder?.uri.toString();
    },
    editorContext: () => editorContext(snapshot(lastEditor.get())),
    // The dashboard opens in the browser, not a webview: its settings page posts forms back to the
    // sidecar's loopback server, which a webview's sandbox does not allow; openExternal also
    // forwards the port when the extension runs on a remote host.
    openExternal: (url) => Promise.resolve(vscode.env.openExternal(vscode.Uri.parse(url, true))).then((ok) => ok, () => false),
    copyToClipboard: (text) => Promise.resolve(vscode.env.clipboard.writeText(text)),
    log: (line) => output.appendLine(line),
  };
}

async function places(context: vscode.ExtensionContext, cfg: KiloConfig): Promise<Places> {
  const folders = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === "file");
  return {
    serverCommand: cfg.serverCommand, pythonPath: cfg.pythonPath,
    workspaceFolders: folders.map((f) => f.uri.fsPath), workspaceTrusted: vscode.workspace.isTrusted !== false,
    pythonExtensionInterpreter: await pythonExtensionInterpreter(folders[0]?.uri),
    userInstallDir: userInstallDir(process.env, homedir(), process.platform),
    storageDir: context.globalStorageUri.fsPath, bundledDir: join(context.extensionPath, "bundled"),
  };
}

function failed(message: string): void {
  status.text = "$(error) Kilo"; status.tooltip = message; status.show();
  output.appendLine(message);
  void vscode.window.showErrorMessage(message, COMMAND_TITLES.showOutput, COMMAND_TITLES.setupEnvironment, "Open settings").then((a) => {
    if (a === COMMAND_TITLES.showOutput) output.show();
    else if (a === COMMAND_TITLES.setupEnvironment) runCommand("setupEnvironment");
    else if (a) void vscode.commands.executeCommand("workbench.action.openSettings", "kilo.server");
  });
}

/** The sidecar to run: an existing one, else the extension's own environment (made now, with progress). */
async function locate(context: vscode.ExtensionContext, cfg: KiloConfig, fresh: boolean): Promise<Found | undefined> {
  const where = await places(context, cfg);
  const env = nodeEnvironmentHost();
  if (!fresh) {
    const search = await findServer(where, env);
    search.tried.forEach((t) => output.appendLine(`Kilo: passed over ${t}`));
    if (search.problem) { failed(search.problem); return undefined; }
    if (search.found) return search.found;
  }
  try {
    return await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: "Kilo: setting up the sidecar" },
      (progress) => setupManagedEnvironment(where, env, (step) => { output.appendLine(`Kilo: ${step}`); progress.report({ message: step }); }));
  } catch (e) {
    failed(e instanceof EnvironmentError ? e.message : `Kilo: setting up the sidecar failed: ${(e as Error).message}`);
    return undefined;
  }
}

async function start(context: vscode.ExtensionContext, fresh = false): Promise<void> {
  const cfg = readConfig();
  status.text = "$(sync~spin) Kilo"; status.show();
  const found = await locate(context, cfg, fresh);
  if (!found) return;
  output.appendLine(`Kilo: kilo-lsp ${found.version} from ${found.where}: ${[found.command.command, ...found.command.args].join(" ")}`);
  const serverOptions: ServerOptions = { command: found.command.command, args: found.command.args, transport: TransportKind.stdio };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ scheme: "file" }, { scheme: "untitled" }],
    // Only the settings the user set, never package.json's defaults: a default sent here or below
    // would win over the user config file (the dial and tier the dashboard writes). For the same
    // reason there is no `synchronize.configurationSection` (it sends every section with its
    // defaults): a change is sent by onDidChangeConfiguration in activate().
    initializationOptions: initializationOptions(cfg.settings, context.extension.packageJSON.version),
    middleware: {
      workspace: {
        // the sidecar asks for the `kilo` section, globally and per folder: the values the user set there
        configuration: async (params, token, next) => {
          const others = params.items.some((i) => i.section !== "kilo") ? await next(params, token) : [];
          if (!Array.isArray(others)) return others;
          return params.items.map((item, i) => (item.section === "kilo" ? sidecarSettingsFor(item.scopeUri) : others[i]));
        },
      },
    },
    outputChannel: output,
    errorHandler: {
      error: () => ({ action: ErrorAction.Continue }),
      closed: () => {
        const next = crashes.closed();
        if (next.restart) return { action: CloseAction.Restart, handled: true };
        failed(next.message);
        return { action: CloseAction.DoNotRestart, handled: true };
      },
    },
  };
  const lc = new LanguageClient("kilo", "Kilo", serverOptions, clientOptions);
  client = lc;
  const ctl = new Controller(host(context), new KiloRpc(lc));
  controller = ctl;
  // every time a sidecar process is up (the first start, and after a restart that follows a crash):
  // it holds no keys yet, so the stored ones are pushed again
  lc.onDidChangeState((e) => {
    if (e.newState === State.Running && controller === ctl && ctl.checkServer(false)) {
      void ctl.restoreCredentials().then(() => Promise.all([ctl.refreshToday(), ctl.refreshServerStatus()]));
    }
  });
  try {
    await lc.start();
  } catch (e) {
    controller = undefined;
    failed(`Kilo: the sidecar (${found.where}) failed to start: ${(e as Error).message}. Try "${COMMAND_TITLES.restartServer}", ` +
      `or "${COMMAND_TITLES.setupEnvironment}" to reinstall the one the extension bundles.`);
    return;
  }
  if (ctl.checkServer()) ctl.render();
}

function restart(context: vscode.ExtensionContext, fresh = false): Promise<void> {
  const run = async () => {
    const old = client;
    controller?.dispose();
    client = undefined; controller = undefined;
    if (old) await old.stop().catch(() => undefined);
    await start(context, fresh);
  };
  starting = (starting ?? Promise.resolve()).then(run, run);
  return starting;
}

function need(): Controller | undefined {
  if (!controller) {
    void vscode.window.showErrorMessage(`Kilo: the sidecar is not running. See "${COMMAND_TITLES.showOutput}", then try ` +
      `"${COMMAND_TITLES.restartServer}".`, COMMAND_TITLES.showOutput).then((a) => { if (a) output.show(); });
  }
  return controller;
}

function openChat(): { panel: vscode.WebviewPanel; chat: ChatSession } {
  if (activeChat) { activeChat.panel.reveal(); return activeChat; }
  const panel = vscode.window.createWebviewPanel("kilo.ask", "Kilo: Ask", { viewColumn: vscode.ViewColumn.Beside, preserveFocus: false },
    { enableScripts: true, retainContextWhenHidden: true });
  panel.webview.html = chatHtml(randomBytes(16).toString("hex"), panel.webview.cspSource);
  const view: ChatView = { post: (m) => void panel.webview.postMessage(m) };
  const chat = new ChatSession(view);
  const entry: { panel: vscode.WebviewPanel; chat: ChatSession; cancel?: vscode.CancellationTokenSource } = { panel, chat };
  chats.set(panel, chat);
  activeChat = entry;
  panel.onDidChangeViewState((e) => { if (e.webviewPanel.active) activeChat = entry; });
  panel.webview.onDidReceiveMessage(async (raw: unknown) => {
    const m = chatRequest(raw);
    if (!m) return;
    if (m.type === "cancel") entry.cancel?.cancel();
    else if (m.type === "new") { entry.cancel?.cancel(); chat.newConversation(); }
    else if (m.type === "command" && m.command in COMMAND_IDS) runCommand(m.command as CommandKey);
    else if (m.type === "feedback") controller?.feedback(m.decisionId, m.outcome);
    else if (m.type === "decisions") { const c = need(); if (c) await c.openDecisions(chat); }
    else if (m.type === "preview") { const c = need(); if (c) await c.preview(chat, m.text); }
    else if (m.type === "ask") {
      const c = need();
      if (!c) return;
      entry.cancel?.cancel();
      entry.cancel = new vscode.CancellationTokenSource();
      await c.ask(chat, m.text, entry.cancel.token);
    }
  });
  panel.onDidDispose(() => { entry.cancel?.cancel(); chats.delete(panel); if (activeChat === entry) activeChat = [...chats.entries()].map(([p, s]) => ({ panel: p, chat: s }))[0]; });
  return entry;
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel("Kilo");
  status = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Right, 100);
  status.command = "kilo.menu";
  status.text = "$(sync~spin) Kilo";
  status.show();
  lastEditor.update(vscode.window.activeTextEditor);
  const reg = (id: string, fn: () => unknown) => context.subscriptions.push(vscode.commands.registerCommand(id, fn));
  reg("kilo.ask", () => { openChat(); });
  reg("kilo.newConversation", () => { const e = openChat(); e.chat.newConversation(); });
  reg("kilo.previewRoute", async () => {
    const c = need();
    if (!c) return;
    const text = await vscode.window.showInputBox({ prompt: "Which model would answer this? (nothing is sent to a model)" });
    if (text) await c.preview(openChat().chat, text);
  });
  reg("kilo.explainLastRoute", () => need()?.explainLast(activeChat?.chat.conversation.id));
  reg("kilo.setTier", () => need()?.setTier());
  reg("kilo.setDial", () => need()?.setDial());
  reg("kilo.pinModel", () => need()?.pin());
  reg("kilo.unpinModel", () => need()?.unpin());
  reg("kilo.setApiKey", () => need()?.setApiKey());
  reg("kilo.restartServer", () => restart(context));
  reg("kilo.setupEnvironment", () => restart(context, true));
  reg("kilo.showOutput", () => output.show());
  reg("kilo.openDashboard", () => need()?.openDashboard());
  reg("kilo.menu", async () => {
    const picked = await pickFromMenu((items) => Promise.resolve(vscode.window.showQuickPick(items, { placeHolder: "Kilo" })));
    if (picked) runCommand(picked);
  });
  reg("kilo.showUsage", async () => {
    const u = await need()?.usage();
    if (!u) return;
    const panel = vscode.window.createWebviewPanel("kilo.usage", "Kilo: Usage", vscode.ViewColumn.Beside, {});
    panel.webview.html = usageHtml(u);
  });
  context.subscriptions.push(status, output,
    vscode.window.onDidChangeActiveTextEditor((e) => lastEditor.update(e)),
    vscode.workspace.onDidChangeConfiguration((e) => {
      // server settings need a restart; routing, budget and local are pushed by the client (synchronize)
      if (RESTART_SETTINGS.some((k) => e.affectsConfiguration(k))) void restart(context);
      else if (PUSHED_SETTINGS.some((k) => e.affectsConfiguration(k))) {
        // what the user set now (a value removed is no longer sent); the sidecar then asks per folder
        void client?.sendNotification("workspace/didChangeConfiguration", { settings: { kilo: sidecarSettingsFor() } });
        controller?.render();
      }
    }));
  await restart(context);
}

export async function deactivate(): Promise<void> {
  await client?.stop();
}
