// The extension's behaviour behind a small Host interface, so tests drive it with a stub instead of
// VS Code (test/controller.test.ts). extension.ts implements Host with the real API.
import { Conversation } from "./conversation";
import {
  COMMAND_TITLES, RpcError, StreamBuffer, UsageSummary, answerFooter, askErrorText, cardMarkdown, localDay, previewLine,
  protocolProblem, redactedUrl, statusText, statusTooltip, usageSummary,
} from "./logic";
import type { Chunk, CompleteResult, DashboardParams, DecisionCard, EditorContext, FeedbackParams, ServerStatusResult, SessionStatus, UsageResult } from "./protocol";
import { PROTOCOL_VERSION } from "./protocol";
import { KiloRpc } from "./rpc";

/** What the chat webview is sent. */
export type ChatMessage =
  | { type: "start"; streamId: string; text: string; contextLabel: string }
  | { type: "chunk"; text: string; seq: number }
  | { type: "done"; text: string; footer: string; model: string; decisionId: string; feedback: boolean }
  | { type: "error"; message: string; action?: CommandKey; actionTitle?: string }
  | { type: "preview"; text: string }
  | { type: "cleared"; conversationId: string };

export interface ChatView { post(message: ChatMessage): void }

export type CommandKey = keyof typeof COMMAND_TITLES;

export interface Host {
  setStatus(text: string, tooltip: string): void;
  /** An error with buttons that run the named commands. */
  showError(message: string, actions?: CommandKey[]): void;
  showInfo(message: string): void;
  showMarkdown(title: string, markdown: string): void;
  pick(placeholder: string, items: string[]): Promise<string | undefined>;
  input(prompt: string, password?: boolean): Promise<string | undefined>;
  updateSetting(key: string, value: unknown): Promise<void>;
  storeSecret(key: string, value: string): Promise<void>;
  getSecret(key: string): Promise<string | undefined>;
  workspaceUri(): string | undefined;
  /** The context of the text editor the user was last in (not the webview that has focus now). */
  editorContext(): EditorContext | null;
  /** Opens a URL outside the editor (the browser); false when nothing opened it. */
  openExternal(url: string): Promise<boolean>;
  copyToClipboard(text: string): Promise<void>;
  /** A line in the extension's output channel. */
  log(line: string): void;
}

export const TIERS = ["efficient", "balanced", "frontier", "free"];
export const DIALS = ["bill", "bar"];
/** The secret holding which providers have a stored key (names only), so they can be pushed again. */
export const STORED_PROVIDERS_KEY = "kilo.apiKey.providers";

/** One chat panel: its conversation, and the answer streaming into it, if any. */
export class ChatSession {
  readonly conversation = new Conversation();
  busy = false;
  constructor(readonly view: ChatView) {}

  newConversation(): void {
    this.conversation.reset();
    this.view.post({ type: "cleared", conversationId: this.conversation.id });
  }
}

const contextLabel = (c: EditorContext | null): string => {
  if (!c?.activeUri) return "no editor";
  const file = decodeURIComponent(c.activeUri.split("/").pop() ?? c.activeUri);
  const sel = c.selection ? `, lines ${c.selection.start.line + 1}-${c.selection.end.line + 1 - (c.selection.end.character === 0 && c.selection.end.line > c.selection.start.line ? 1 : 0)}` : "";
  const diags = c.diagnostics?.length ? `, ${c.diagnostics.length} diagnostics` : "";
  return `${file} (${c.languageId ?? "?"}${sel}${diags})`;
};

export class Controller {
  status: SessionStatus | null = null;
  today: UsageResult | null = null;
  /** the last kilo/serverStatus: whether any model can be called at all */
  server: ServerStatusResult | null = null;
  lastCard: DecisionCard | null = null;
  private streams = new Map<string, { buffer: StreamBuffer; view: ChatView }>();
  private counter = 0;

  constructor(private host: Host, private rpc: KiloRpc) {
    rpc.onNotification("kilo/status", (p) => this.onStatus(p));
    rpc.onNotification("kilo/chunk", (p) => this.onChunk(p));
  }

  supports(method: string): boolean {
    return (this.rpc.capabilities()?.requests ?? []).includes(method);
  }

  /** After start: a clear error when the server is not a kilo-lsp this extension can talk to. */
  checkServer(tell = true): boolean {
    const problem = protocolProblem(this.rpc.capabilities()?.protocolVersion, PROTOCOL_VERSION);
    if (problem && tell) this.host.showError(problem, ["setupEnvironment"]);
    return problem === null;
  }

  onStatus(p: SessionStatus): void {
    this.status = p;
    this.render();
  }

  render(): void {
    this.host.setStatus(statusText(this.status, this.today ? this.today.costUsd : null, this.server),
      statusTooltip(this.status, this.today, this.server));
  }

  onChunk(p: Chunk): void {
    const s = this.streams.get(p.streamId);
    if (s && s.buffer.accept(p)) s.view.post({ type: "chunk", text: p.text, seq: p.seq });
  }

  private upgradeNote(what: string): string {
    return `Kilo: this kilo-lsp has no ${what}: it is older than this extension. Run "${COMMAND_TITLES.setupEnvironment}" ` +
      "to use the sidecar the extension bundles.";
  }

  async explainLast(conversationId?: string): Promise<void> {
    try {
      const card = await this.rpc.request("kilo/explain", { workspaceUri: this.host.workspaceUri() ?? null, conversationId: conversationId ?? null });
      if (card) this.lastCard = card;
      this.host.showMarkdown("Kilo: last decision", cardMarkdown(card ?? this.lastCard));
    } catch (e) {
      this.host.showError(`Kilo: ${(e as RpcError).message}`, ["showOutput"]);
    }
  }

  async setTier(): Promise<void> {
    const tiers = this.rpc.capabilities()?.tiers;
    const tier = await this.host.pick("Routing tier", tiers?.length ? tiers : TIERS);
    if (tier) await this.host.updateSetting("routing.tier", tier);
  }

  async setDial(): Promise<void> {
    const dials = this.rpc.capabilities()?.dials;
    const dial = await this.host.pick("bill: cheapest model that clears the bar; bar: strongest proven", dials?.length ? dials : DIALS);
    if (dial) await this.host.updateSetting("routing.dial", dial);
  }

  async pin(): Promise<void> {
    let models: string[] = [];
    try {
      const board = await this.rpc.request("kilo/leaderboard", {});
      models = board.models.map((m) => m.id);
    } catch { /* a free-text pin still works */ }
    const model = models.length ? await this.host.pick("Pin a model (every request goes to it)", models)
      : await this.host.input("Model id to pin");
    if (model) await this.host.updateSetting("routing.pin", model);
  }

  /** Removes the pin from user settings (not set to "": nothing is left to send). */
  async unpin(): Promise<void> {
    await this.host.updateSetting("routing.pin", undefined);
  }

  /** The providers the running server takes keys for (kilo/serverStatus), as the picker shows them. */
  async keyProviders(): Promise<Array<{ name: string; item: string }>> {
    if (!this.supports("kilo/serverStatus")) return [];
    const status = await this.rpc.request("kilo/serverStatus", {});
    return status.providers.map((p) => ({ name: p.name,
      item: `${p.label} (${p.name})${p.keySet ? ` — key set${p.keySource ? ` (${p.keySource})` : ""}` : ""}` }));
  }

  /** Key -> SecretStorage -> kilo/setCredentials. Never written to settings.json. */
  async setApiKey(): Promise<void> {
    if (!this.supports("kilo/setCredentials")) {
      this.host.showError(this.upgradeNote("way to take keys from the editor"), ["setupEnvironment"]);
      return;
    }
    let providers: Array<{ name: string; item: string }> = [];
    try {
      providers = await this.keyProviders();
    } catch (e) {
      this.host.showError(`Kilo: ${(e as RpcError).message}`, ["showOutput"]);
      return;
    }
    const picked = providers.length ? await this.host.pick("Provider", providers.map((p) => p.item))
      : await this.host.input("Provider (as `kilo-lsp --check` lists them, e.g. openai)");
    const provider = providers.length ? providers.find((p) => p.item === picked)?.name : picked;
    if (!provider) return;
    const key = await this.host.input(`API key for ${provider} (kept in the OS keychain; empty removes it)`, true);
    if (key === undefined) return;
    const ok = await this.pushCredentials(provider, key, true);
    if (!ok) return;
    await this.host.storeSecret(`kilo.apiKey.${provider}`, key);
    const stored = new Set(JSON.parse((await this.host.getSecret(STORED_PROVIDERS_KEY)) ?? "[]") as string[]);
    if (key) stored.add(provider); else stored.delete(provider);
    await this.host.storeSecret(STORED_PROVIDERS_KEY, JSON.stringify([...stored].sort()));
  }

  /** Hands one key to the sidecar; true when it took it. */
  async pushCredentials(provider: string, key: string, tell = false): Promise<boolean> {
    try {
      const r = await this.rpc.request("kilo/setCredentials", { provider, apiKey: key || null });
      if (tell) this.host.showInfo(`Kilo: ${r.provider} key ${r.apiKey}; ${r.callableModels} models callable now.`);
      if (this.server) {       // the answer says how many models are callable now: the status bar follows
        this.server = { ...this.server, callableModels: r.callableModels };
        this.render();
      }
      return true;
    } catch (e) {
      if (tell) this.host.showError(`Kilo: ${(e as RpcError).message}`);
      return false;
    }
  }

  /** Push every stored key after a (re)start. */
  async restoreCredentials(): Promise<void> {
    if (!this.supports("kilo/setCredentials")) return;
    const stored = JSON.parse((await this.host.getSecret(STORED_PROVIDERS_KEY)) ?? "[]") as string[];
    for (const p of stored) {
      const key = await this.host.getSecret(`kilo.apiKey.${p}`);
      if (key) await this.pushCredentials(p, key);
    }
  }

  /** How often kilo/serverStatus is asked again while no model is callable (milliseconds). */
  serverPollMs = 10000;
  private serverPoll: ReturnType<typeof setTimeout> | undefined;

  /**
   * kilo/serverStatus for the status bar (no callable model at all is shown there). While nothing
   * is callable it is asked again every serverPollMs, so that a local server started later (or a
   * key set outside the editor) clears the warning; a sidecar that stopped answering ends that.
   */
  async refreshServerStatus(): Promise<void> {
    if (!this.supports("kilo/serverStatus")) return;
    try {
      this.server = await this.rpc.request("kilo/serverStatus", {});
      this.render();
    } catch {
      return;        // the status bar keeps what it had
    }
    if (this.server.callableModels === 0 && this.serverPoll === undefined) {
      this.serverPoll = setTimeout(() => { this.serverPoll = undefined; void this.refreshServerStatus(); }, this.serverPollMs);
      this.serverPoll.unref?.();
    }
  }

  /** Stops asking (the sidecar this controller talks to is being replaced). */
  dispose(): void {
    if (this.serverPoll !== undefined) clearTimeout(this.serverPoll);
    this.serverPoll = undefined;
  }

  /**
   * Opens the dashboard the sidecar serves (kilo/dashboard) in the browser: a page, or, given a
   * conversation, that conversation's decisions. The URL carries an access token: it is never
   * written to the output channel whole. Returns the URL, or null when nothing was opened.
   */
  async openDashboard(page?: DashboardParams["page"], conversationId?: string): Promise<string | null> {
    if (!this.supports("kilo/dashboard")) {
      this.host.showError(this.upgradeNote("dashboard"), ["setupEnvironment"]);
      return null;
    }
    const workspaceUri = this.host.workspaceUri() ?? null;
    let url: string;
    try {
      url = (await this.rpc.request("kilo/dashboard", { page: page ?? null, workspaceUri,
        conversationId: conversationId && workspaceUri ? conversationId : null })).url;
    } catch (e) {
      this.host.showError(`Kilo: the dashboard could not be started: ${(e as RpcError).message}`, ["showOutput"]);
      return null;
    }
    this.host.log(`Kilo: opening the dashboard at ${redactedUrl(url)}`);
    if (await this.host.openExternal(url)) return url;
    await this.host.copyToClipboard(url);
    this.host.showInfo("Kilo: no browser could be opened. The dashboard's address is on the clipboard: paste it into a " +
      "browser on this machine (it holds an access token: do not share it).");
    return null;
  }

  /** A chat's Decisions: that conversation's decision cards once it has asked something; before, the workspace's. */
  openDecisions(chat: ChatSession): Promise<string | null> {
    return this.openDashboard("decisions", chat.conversation.turns.length > 0 ? chat.conversation.id : undefined);
  }

  /** Today's figures for this workspace, for the status bar. */
  async refreshToday(): Promise<void> {
    if (!this.supports("kilo/usage")) return;
    try {
      this.today = await this.rpc.request("kilo/usage", { workspaceUri: this.host.workspaceUri() ?? null, day: localDay() });
      this.render();
    } catch { /* the status bar keeps the last figure */ }
  }

  /** The usage view's figures for this workspace, all days. */
  async usage(): Promise<UsageSummary | null> {
    if (!this.supports("kilo/usage")) {
      this.host.showError(this.upgradeNote("usage ledger"), ["setupEnvironment"]);
      return null;
    }
    try {
      const u = await this.rpc.request("kilo/usage", { workspaceUri: this.host.workspaceUri() ?? null });
      const summary = usageSummary(u, localDay());
      await this.refreshToday();
      return summary;
    } catch (e) {
      this.host.showError(`Kilo: ${(e as RpcError).message}`, ["showOutput"]);
      return null;
    }
  }

  takesFeedback(): boolean {
    return (this.rpc.capabilities()?.clientNotifications ?? []).includes("kilo/feedback");
  }

  /** How an answer worked out, in the user's words: a failed one moves the task a rung up its ladder. */
  feedback(decisionId: string, outcome: FeedbackParams["outcome"], reason?: string): void {
    if (!this.takesFeedback()) return;
    this.rpc.notify("kilo/feedback", { decisionId, outcome, reason: reason ?? null });
  }

  /** Which model would answer `text` in this chat, without counting as a turn (dryRun). */
  async preview(chat: ChatSession, text: string): Promise<DecisionCard | null> {
    try {
      const card = await this.rpc.request("kilo/route", {
        text, conversationId: chat.conversation.id, turns: chat.conversation.history(), workspaceUri: this.host.workspaceUri() ?? null,
        context: this.host.editorContext(), dryRun: true });
      chat.view.post({ type: "preview", text: previewLine(card) });
      return card;
    } catch (e) {
      chat.view.post({ type: "error", message: `Error: ${(e as RpcError).message}` });
      return null;
    }
  }

  /** Ask in a chat: the editor's context and the conversation's turns go with the question; the
   * answer streams into the chat's view; the exchange becomes the conversation's next turns. */
  async ask(chat: ChatSession, text: string, token?: unknown): Promise<CompleteResult | null> {
    const view = chat.view;
    if (!this.supports("kilo/complete")) {
      view.post({ type: "error", message: this.upgradeNote("kilo/complete"), action: "setupEnvironment",
        actionTitle: COMMAND_TITLES.setupEnvironment });
      return null;
    }
    const streamId = `vscode-${Date.now()}-${++this.counter}`;
    const buffer = new StreamBuffer(streamId);
    this.streams.set(streamId, { buffer, view });
    const context = this.host.editorContext();
    view.post({ type: "start", streamId, text, contextLabel: contextLabel(context) });
    chat.busy = true;
    const turns = chat.conversation.history();
    try {
      const result = await this.rpc.request("kilo/complete", {
        text, conversationId: chat.conversation.id, turns, workspaceUri: this.host.workspaceUri() ?? null, context, streamId,
      }, token);
      this.lastCard = result.card;
      chat.conversation.record(text, result.text);
      view.post({ type: "done", text: result.text, footer: answerFooter(result), model: result.model, decisionId: result.decisionId,
        feedback: this.takesFeedback() });
      void this.refreshToday();
      return result;
    } catch (e) {
      const shown = askErrorText(e as RpcError);
      // a cancelled or broken answer that had begun is part of the conversation; no answer at all is not
      if (buffer.text) chat.conversation.record(text, buffer.text);
      view.post({ type: "error", message: shown.message, action: shown.action,
        actionTitle: shown.action ? COMMAND_TITLES[shown.action] : undefined });
      void this.refreshToday();
      return null;
    } finally {
      chat.busy = false;
      this.streams.delete(streamId);
    }
  }
}
