// The extension's behaviour behind a small Host interface, so tests drive it with a stub instead
// of VS Code (test/controller.test.ts). extension.ts implements Host with the real API.
import type { Chunk, CompleteParams, CompleteResult, DecisionCard, SessionStatus } from "./protocol";
import { PROTOCOL_VERSION } from "./protocol";
import { StreamBuffer, answerFooter, cardMarkdown, protocolProblem, statusText, usageBars, usageTotals } from "./logic";

/** The language client as the controller uses it (vscode-languageclient's LanguageClient fits). */
export interface Rpc {
  sendRequest<R>(method: string, params: unknown, token?: unknown): Promise<R>;
  onNotification(method: string, handler: (params: any) => void): { dispose(): void } | void;
  initializeResult?: { capabilities?: { experimental?: unknown } };
}

export interface ChatView {
  post(message: { type: "start" | "chunk" | "done" | "error"; [k: string]: unknown }): void;
}

export interface Host {
  setStatus(text: string, tooltip: string): void;
  showError(message: string): void;
  showInfo(message: string): void;
  showMarkdown(title: string, markdown: string): void;
  pick(placeholder: string, items: string[]): Promise<string | undefined>;
  input(prompt: string, password?: boolean): Promise<string | undefined>;
  updateSetting(key: string, value: unknown): Promise<void>;
  storeSecret(key: string, value: string): Promise<void>;
  getSecret(key: string): Promise<string | undefined>;
  workspaceUri(): string | undefined;
}

export const TIERS = ["efficient", "balanced", "frontier", "free"];
export const DIALS = ["bill", "bar"];
export const PROVIDERS = ["openai", "anthropic", "google", "openrouter", "deepseek", "xai", "mistral", "groq", "together"];

export class Controller {
  status: SessionStatus | null = null;
  todayUsd: number | null = null;
  lastCard: DecisionCard | null = null;
  private streams = new Map<string, { buffer: StreamBuffer; view: ChatView }>();
  private counter = 0;

  constructor(private host: Host, private rpc: Rpc) {
    rpc.onNotification("kilo/status", (p: SessionStatus) => this.onStatus(p));
    rpc.onNotification("kilo/chunk", (p: Chunk) => this.onChunk(p));
  }

  /** experimental.kilo of the running server. */
  kiloCapabilities(): { protocolVersion?: string; requests?: string[] } | undefined {
    return (this.rpc.initializeResult?.capabilities?.experimental as any)?.kilo;
  }

  supports(method: string): boolean {
    return (this.kiloCapabilities()?.requests ?? []).includes(method);
  }

  /** After start: a clear error when the server is not a kilo-lsp this extension can talk to. */
  checkServer(): boolean {
    const problem = protocolProblem(this.rpc.initializeResult?.capabilities?.experimental, PROTOCOL_VERSION);
    if (problem) this.host.showError(problem);
    return problem === null;
  }

  onStatus(p: SessionStatus): void {
    this.status = p;
    this.render();
  }

  render(): void {
    const tip = this.status ? `Kilo: ${this.status.reasonCode} — click for the last decision` : "Kilo: no decision yet";
    this.host.setStatus(statusText(this.status, this.todayUsd), tip);
  }

  onChunk(p: Chunk): void {
    const s = this.streams.get(p.streamId);
    if (s && s.buffer.accept(p)) s.view.post({ type: "chunk", text: p.text, seq: p.seq });
  }

  async explainLast(): Promise<void> {
    try {
      const card = await this.rpc.sendRequest<DecisionCard | null>("kilo/explain", { workspaceUri: this.host.workspaceUri() ?? null });
      if (card) this.lastCard = card;
      this.host.showMarkdown("Kilo: last decision", cardMarkdown(card ?? this.lastCard));
    } catch (e) {
      this.host.showError(`Kilo: ${(e as Error).message}`);
    }
  }

  async setTier(): Promise<void> {
    const tier = await this.host.pick("Routing tier", TIERS);
    if (tier) await this.host.updateSetting("routing.tier", tier);
  }

  async setDial(): Promise<void> {
    const dial = await this.host.pick("bill: cheapest model that clears the bar; bar: strongest proven", DIALS);
    if (dial) await this.host.updateSetting("routing.dial", dial);
  }

  async pin(): Promise<void> {
    let models: string[] = [];
    try {
      const board = await this.rpc.sendRequest<{ models: Array<{ id: string }> }>("kilo/leaderboard", {});
      models = board.models.map((m) => m.id);
    } catch { /* a free-text pin still works */ }
    const model = models.length ? await this.host.pick("Pin a model (every request goes to it)", models)
      : await this.host.input("Model id to pin");
    if (model) await this.host.updateSetting("routing.pin", model);
  }

  async unpin(): Promise<void> {
    await this.host.updateSetting("routing.pin", "");
  }

  /** Key -> SecretStorage -> kilo/setCredentials. Never written to settings.json. */
  async setApiKey(): Promise<void> {
    const provider = await this.host.pick("Provider", PROVIDERS);
    if (!provider) return;
    const key = await this.host.input(`API key for ${provider} (kept in the OS keychain; empty removes it)`, true);
    if (key === undefined) return;
    await this.host.storeSecret(`kilo.apiKey.${provider}`, key);
    await this.pushCredentials(provider, key);
  }

  async pushCredentials(provider: string, key: string): Promise<void> {
    if (!this.supports("kilo/setCredentials")) {
      this.host.showError("Kilo: this kilo-lsp cannot take keys from the editor yet; upgrade with `pip install -U kilo-lsp`, " +
        "or set the provider's environment variable (e.g. OPENAI_API_KEY).");
      return;
    }
    try {
      const r = await this.rpc.sendRequest<{ provider: string; apiKey: string; callableModels: number }>(
        "kilo/setCredentials", { provider, apiKey: key || null });
      this.host.showInfo(`Kilo: ${r.provider} key ${r.apiKey}; ${r.callableModels} models callable now.`);
    } catch (e) {
      this.host.showError(`Kilo: ${(e as Error).message}`);
    }
  }

  /** Push every stored key after a (re)start. */
  async restoreCredentials(): Promise<void> {
    if (!this.supports("kilo/setCredentials")) return;
    for (const p of PROVIDERS) {
      const key = await this.host.getSecret(`kilo.apiKey.${p}`);
      if (key) await this.rpc.sendRequest("kilo/setCredentials", { provider: p, apiKey: key }).catch(() => undefined);
    }
  }

  async usage(): Promise<{ totals: ReturnType<typeof usageTotals>; bars: ReturnType<typeof usageBars> } | null> {
    if (!this.supports("kilo/usage")) {
      this.host.showError("Kilo: this kilo-lsp has no usage ledger yet; upgrade with `pip install -U kilo-lsp`.");
      return null;
    }
    const u = await this.rpc.sendRequest<unknown>("kilo/usage", { workspaceUri: this.host.workspaceUri() ?? null });
    const totals = usageTotals(u);
    if (totals.todayUsd !== null) { this.todayUsd = totals.todayUsd; this.render(); }
    return { totals, bars: usageBars(u) };
  }

  /** Ask: stream the answer into `view`; returns the final result (or null on error / no support). */
  async ask(text: string, view: ChatView, token?: unknown, extra: Partial<CompleteParams> = {}): Promise<CompleteResult | null> {
    if (!this.supports("kilo/complete")) {
      view.post({ type: "error", message: "This kilo-lsp has no kilo/complete yet: upgrade with `pip install -U kilo-lsp`." });
      return null;
    }
    const streamId = `vscode-${Date.now()}-${++this.counter}`;
    this.streams.set(streamId, { buffer: new StreamBuffer(streamId), view });
    view.post({ type: "start", streamId, text });
    try {
      const params: CompleteParams = { workspaceUri: this.host.workspaceUri() ?? null, ...extra, text, streamId };
      const result = await this.rpc.sendRequest<CompleteResult>("kilo/complete", params, token);
      this.lastCard = result.card;
      view.post({ type: "done", text: result.text, footer: answerFooter(result), model: result.model });
      return result;
    } catch (e) {
      const err = e as { code?: number; message?: string };
      view.post({ type: "error", message: err.code === -32800 ? "Cancelled." : `Error: ${err.message}` });
      return null;
    } finally {
      this.streams.delete(streamId);
    }
  }
}
