// Plain logic of the extension, with no VS Code API: settings -> initializationOptions, version and
// protocol checks, decision card, answer footer, usage and status texts. Unit-tested in test/logic.test.ts.
import type { CompleteResult, CompletionErrorData, DayUsage, DecisionCard, ServerStatusResult, SessionStatus, UsageResult } from "./protocol";

export const PLUGIN_NAME = "kilo-lsp-vscode";
export const MIN_SERVER_VERSION = "0.1.0";

/** The extension's commands as the Command Palette shows them; error texts name these. */
export const COMMAND_TITLES = {
  ask: "Kilo: Ask",
  newConversation: "Kilo: New conversation",
  previewRoute: "Kilo: Which model would answer?",
  setApiKey: "Kilo: Set API key",
  restartServer: "Kilo: Restart server",
  setupEnvironment: "Kilo: Set up the sidecar",
  showOutput: "Kilo: Show output",
  showUsage: "Kilo: Show usage",
  openDashboard: "Kilo: Open dashboard",
  explainLastRoute: "Kilo: Explain last route",
  setTier: "Kilo: Set tier",
  setDial: "Kilo: Set dial (bill or bar)",
  menu: "Kilo: Menu",
} as const;

/** The command id of each COMMAND_TITLES entry (package.json's contributes.commands). */
export const COMMAND_IDS: Record<keyof typeof COMMAND_TITLES, string> = {
  ask: "kilo.ask", newConversation: "kilo.newConversation", previewRoute: "kilo.previewRoute", setApiKey: "kilo.setApiKey",
  restartServer: "kilo.restartServer", setupEnvironment: "kilo.setupEnvironment", showOutput: "kilo.showOutput", showUsage: "kilo.showUsage",
  openDashboard: "kilo.openDashboard", explainLastRoute: "kilo.explainLastRoute", setTier: "kilo.setTier", setDial: "kilo.setDial",
  menu: "kilo.menu",
};

/** What clicking the status bar item offers, in this order. */
export const STATUS_MENU: Array<keyof typeof COMMAND_TITLES> = [
  "explainLastRoute", "ask", "openDashboard", "showUsage", "setTier", "setDial", "setApiKey", "showOutput", "restartServer"];

/** The status bar's menu: the command the user picks from STATUS_MENU's titles, if any. */
export async function pickFromMenu(pick: (items: string[]) => Promise<string | undefined>): Promise<keyof typeof COMMAND_TITLES | undefined> {
  const titles: string[] = STATUS_MENU.map((k) => COMMAND_TITLES[k]);
  const picked = await pick(titles);
  const i = picked === undefined ? -1 : titles.indexOf(picked);
  return i >= 0 ? STATUS_MENU[i] : undefined;
}

/** The extension's settings: how to start the sidecar, and the sidecar's settings the user set. */
export interface KiloConfig {
  serverCommand: string[];
  pythonPath: string;
  /** the `kilo` settings the sidecar reads, only those the user set (see userSettings) */
  settings: Record<string, unknown>;
}

export interface ServerCommand { command: string; args: string[] }

/** The same command asking for `--version` instead of serving. */
export function versionCommand(cmd: ServerCommand): ServerCommand {
  return { command: cmd.command, args: [...cmd.args.filter((a) => a !== "--stdio"), "--version"] };
}

/** The command that serves over stdio with a Python that has kilo_lsp. */
export const pythonServerCommand = (python: string): ServerCommand => ({ command: python, args: ["-m", "kilo_lsp", "--stdio"] });

/** What the sidecar receives as initializationOptions: the settings the user set plus who we are. */
export function initializationOptions(settings: Record<string, unknown>, extensionVersion: string): Record<string, unknown> {
  return {
    ...settings,
    editorPluginInfo: { name: PLUGIN_NAME, version: extensionVersion },
    // so that the sidecar's error texts name this editor's ways, not protocol methods
    editorCommands: { setKey: COMMAND_TITLES.setApiKey, settings: "Settings › Extensions › Kilo (kilo.*)" },
  };
}

/** The `kilo` settings sections the sidecar reads (pushed with didChangeConfiguration). */
/**
 * One `kilo` setting as `WorkspaceConfiguration.inspect()` reports it. Only these three levels are
 * values a user set; `defaultValue` (package.json's) is left out on purpose.
 */
export interface SettingInspection { globalValue?: unknown; workspaceValue?: unknown; workspaceFolderValue?: unknown }

/**
 * What `userSettings` inspects: each section the sidecar reads (as an object, so settings the
 * extension does not declare, such as `kilo.routing.minConfidence` written in settings.json, pass
 * too) and each declared setting on its own.
 */
export const INSPECTED_SETTINGS = ["routing", "budget", "local", "network", "log",
  "routing.tier", "routing.dial", "routing.pin", "budget.dailyUsdPerWorkspace", "local.endpoints"];

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/** `value` laid over `base`: objects member by member, anything else replaces. */
function merged(base: unknown, value: unknown): unknown {
  if (!isObject(value)) return value;
  const out: Record<string, unknown> = isObject(base) ? { ...base } : {};
  for (const [k, v] of Object.entries(value)) out[k] = merged(out[k], v);
  return out;
}

/**
 * The `kilo` settings the sidecar is sent (initializationOptions, workspace/configuration,
 * didChangeConfiguration): only values the user set, in user settings, the workspace or the
 * folder (the later wins). A default is never sent: the sidecar has its own, and a value sent
 * would win over the user config file (the dial and tier `kilo-lsp dashboard` writes). `server.*`
 * is not a sidecar setting and is never inspected; blank local endpoints are dropped.
 */
export function userSettings(inspect: (key: string) => SettingInspection | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of INSPECTED_SETTINGS) {
    const seen = inspect(key);
    if (!seen) continue;
    for (const value of [seen.globalValue, seen.workspaceValue, seen.workspaceFolderValue]) {
      if (value === undefined || value === null) continue;
      const path = key.split(".");
      let node = out;
      for (const part of path.slice(0, -1)) {
        if (!isObject(node[part])) node[part] = {};
        node = node[part] as Record<string, unknown>;
      }
      const leaf = path[path.length - 1];
      node[leaf] = merged(node[leaf], value);
    }
  }
  const local = out.local;
  if (isObject(local) && Array.isArray(local.endpoints)) {
    local.endpoints = local.endpoints.filter((e) => typeof e !== "string" || e.trim() !== "");
  }
  for (const [k, v] of Object.entries(out)) if (isObject(v) && Object.keys(v).length === 0) delete out[k];
  return out;
}

/** Settings whose change needs a server restart (the rest are pushed with didChangeConfiguration). */
export const RESTART_SETTINGS = ["kilo.server.command", "kilo.server.pythonPath"];
export const PUSHED_SETTINGS = ["kilo.routing", "kilo.budget", "kilo.local", "kilo.network", "kilo.log"];

export function parseVersion(text: string): [number, number, number] | null {
  const m = /(\d+)\.(\d+)\.(\d+)/.exec(text ?? "");
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : null;
}

export function versionAtLeast(have: string, min: string): boolean {
  const a = parseVersion(have), b = parseVersion(min);
  if (!a || !b) return false;
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] > b[i];
  return true;
}

/** The kilo capabilities a server announced, and whether it speaks our protocol major version. */
export function protocolProblem(protocolVersion: string | undefined, expectedProtocol: string): string | null {
  if (!protocolVersion) {
    return `Kilo: the server did not announce the kilo protocol: it is not kilo-lsp, or a very old one. ` +
      `Clear kilo.server.command and kilo.server.pythonPath and run "${COMMAND_TITLES.setupEnvironment}".`;
  }
  if (protocolVersion.split(".")[0] !== expectedProtocol.split(".")[0]) {
    return `Kilo: the server speaks protocol ${protocolVersion}, this extension ${expectedProtocol}. ` +
      `Update the extension, or run "${COMMAND_TITLES.setupEnvironment}" to use the sidecar it bundles.`;
  }
  return null;
}

export const usd = (x: number | null | undefined, digits = 4): string =>
  x === null || x === undefined ? "-" : `$${x.toFixed(digits)}`;
const pct = (x: number | null | undefined): string => (x === null || x === undefined ? "-" : `${Math.round(100 * x)}%`);

/** Today as the ledger writes days: the local date, YYYY-MM-DD. */
export function localDay(now: Date = new Date()): string {
  const two = (n: number) => String(n).padStart(2, "0");
  return `${now.getFullYear()}-${two(now.getMonth() + 1)}-${two(now.getDate())}`;
}

/** The status bar text: `$(zap) model · tier · $0.12 today`; a warning when the model cannot be called. */
export function statusText(status: SessionStatus | null, todayUsd: number | null, server: ServerStatusResult | null = null): string {
  const spend = todayUsd === null ? "" : ` · ${usd(todayUsd, 2)} today`;
  if (status && status.callable === false) return `$(warning) ${status.model} (not callable) · ${status.tier}${spend}`;
  if (status) return `$(zap) ${status.model} · ${status.tier}${spend}`;
  if (server && server.callableModels === 0) return `$(warning) Kilo: no model callable${spend}`;
  return `$(zap) Kilo${spend}`;
}

/** The status bar tooltip: the session's reason, whether its model can be called, today's spend and saving. */
export function statusTooltip(status: SessionStatus | null, today: UsageResult | null, server: ServerStatusResult | null = null): string {
  const head = status ? `Kilo: ${status.model} (${status.reasonCode.replace(/_/g, " ")})` : "Kilo: no decision yet";
  const fix = `add a key with "${COMMAND_TITLES.setApiKey}", or start a local model server (Ollama, LM Studio, or one in kilo.local.endpoints)`;
  const callable = status && status.callable === false
    ? `\nNot callable: ${status.model} is the model the router would use, and it cannot be called now; ${fix}.`
    : (!status && server && server.callableModels === 0 ? `\nNo model can be called now: ${fix}.` : "");
  const spend = today ? `\nToday in this workspace: ${usd(today.costUsd)} for ${today.requests} requests, ` +
    `saved ${usd(today.savedVsBalancedUsd)} vs Balanced` : "";
  return `${head}${callable}${spend}\nClick for the Kilo menu.`;
}

/** The dashboard's URL as it may be shown in a log: without its access token. */
export function redactedUrl(url: string): string {
  return url.replace(/([?&]token=)[^&#]*/g, "$1…");
}

/** A decision card as Markdown (webview, notification detail). */
export function cardMarkdown(card: DecisionCard | null): string {
  if (!card) return "No decision yet in this session.";
  const flags = [card.sticky && "sticky", card.escalated && "escalated", card.fallback && "fallback", card.whatIf && "what-if"]
    .filter(Boolean).join(", ");
  const lines = [
    `**${card.modelName}** (\`${card.model}\`)${card.provider ? ` via ${card.provider}` : ""}${flags ? ` — ${flags}` : ""}`,
    "",
    `Task: ${card.taskType.replace(/_/g, " ")}, difficulty ${card.difficulty}, confidence ${card.confidence.toFixed(2)} · tier ${card.tier}, dial ${card.dial}`,
    "",
    `Why: ${card.reason}`,
    "",
    `Cost: ${usd(card.estimatedCostUsd)} (Balanced ${card.balanced.model} ${usd(card.balanced.estimatedCostUsd)}, Frontier ${card.frontier.model} ${usd(card.frontier.estimatedCostUsd)})`,
    "",
    "| candidate | solved | CI | clears | this request |",
    "|---|---|---|---|---|",
    ...card.candidates.slice(0, 8).map((c) =>
      `| ${c.model === card.model ? "**" + c.model + "**" : c.model} | ${pct(c.accuracy)} | ${c.ciLow === null ? "-" : pct(c.ciLow) + "–" + pct(c.ciHigh)} | ${c.clearsBar ? "yes" : "no"} | ${usd(c.estimatedCostUsd)} |`),
    "",
    `leaderboard ${card.leaderboardVersion} · decision ${card.decisionId}`,
  ];
  return lines.join("\n");
}

/** A one-line preview of a decision (dry run): which model would answer, what it would cost, why. */
export function previewLine(card: DecisionCard): string {
  const how = card.provider ? ` via ${card.provider}` : "";
  const whatIf = card.whatIf ? " (what-if: not callable now)" : "";
  return `${card.modelName}${how} would answer: ${card.taskType.replace(/_/g, " ")}, difficulty ${card.difficulty}, ` +
    `about ${usd(card.estimatedCostUsd)} (Balanced ${usd(card.balanced.estimatedCostUsd)})${whatIf}. ${card.reason}`;
}

/** The footer under an answer: who answered, what it cost, how long it took, and why that model. */
export function answerFooter(result: CompleteResult): string {
  const saved = result.balancedCostUsd - result.costUsd;
  const why = result.card ? result.card.reason : "";
  const u = result.usage;
  const size = u ? ` · ${u.outputTokens} tokens${u.estimated ? " (estimated)" : ""}` : "";
  const time = typeof result.totalMs === "number" ? ` in ${(result.totalMs / 1000).toFixed(1)} s` : "";
  // a stream that broke after the first token: the text above is partial, say what broke
  const broke = result.error ? ` · stopped: ${result.error.kind}${result.error.message ? ` (${result.error.message})` : ""}`
    : (result.finishReason !== "stop" ? ` · ${result.finishReason}` : "");
  return `${result.modelName} via ${result.provider} · ${usd(result.costUsd)}` +
    (saved > 0 ? ` (saved ${usd(saved)} vs Balanced)` : "") + size + time +
    (result.failedOver ? " · failed over" : "") + broke +
    (why ? `\n${why}` : "");
}

/** A JSON-RPC error as the language client rejects with it. */
export interface RpcError { code?: number; message?: string; data?: unknown }

/** The -32001 error's data (no answer could be had), when it has the documented shape. */
export function completionErrorData(data: unknown): CompletionErrorData | null {
  const d = data as Partial<CompletionErrorData> | null | undefined;
  return d && typeof d === "object" && typeof d.code === "string"
    ? { code: d.code, retryAfter: typeof d.retryAfter === "number" ? d.retryAfter : null,
        attempts: Array.isArray(d.attempts) ? d.attempts : [], decisionId: typeof d.decisionId === "string" ? d.decisionId : null }
    : null;
}

/** What to tell the user when kilo/complete gave no answer, naming the command that fixes it. */
export function askErrorText(err: RpcError): { message: string; action?: keyof typeof COMMAND_TITLES } {
  if (err.code === -32800) return { message: "Cancelled." };
  const data = completionErrorData(err.data);
  const base = err.message ?? "no answer";
  switch (data?.code) {
    case "no_model":
      // the sidecar names "Kilo: Set API key" itself when it was given editorCommands
      return { message: base.includes(COMMAND_TITLES.setApiKey) ? base : `No model can answer yet: ${base} Add a key with ` +
        `"${COMMAND_TITLES.setApiKey}", or start a local server (Ollama, LM Studio, or one in the kilo.local.endpoints setting).`,
        action: "setApiKey" };
    case "budget":
      return { message: `${base} Raise kilo.budget.dailyUsdPerWorkspace, or use a local model.` };
    case "all_failed":
      return { message: `Every model tried failed: ${base}${data.retryAfter ? ` Retry in ${Math.ceil(data.retryAfter)} s.` : ""}` };
    default:
      if (err.code === -32001 || err.code === undefined) return { message: `Error: ${base}` };
      return { message: `Error: ${base} (see "${COMMAND_TITLES.showOutput}")`, action: "showOutput" };
  }
}

/** The usage view's figures, all from a kilo/usage result. */
export interface UsageSummary {
  spentUsd: number;
  savedVsBalancedUsd: number;
  savedVsFrontierUsd: number;
  balancedCostUsd: number;
  requests: number;
  todayUsd: number;
  todaySavedUsd: number;
  days: UsageBar[];
  models: Array<{ model: string; requests: number; share: number; costUsd: number }>;
}

export interface UsageBar { day: string; costUsd: number; savedUsd: number; requests: number; heightPct: number }

/** Spend, savings, today's figures and a bar per day (the last `maxBars` days with usage). */
export function usageSummary(usage: UsageResult, today: string, maxBars = 14): UsageSummary {
  const days: DayUsage[] = [...usage.byDay].filter((d) => d.day).sort((a, b) => (a.day ?? "").localeCompare(b.day ?? "")).slice(-maxBars);
  const max = Math.max(0, ...days.map((d) => d.costUsd));
  const todayRow = usage.byDay.find((d) => d.day === today);
  return {
    spentUsd: usage.costUsd, savedVsBalancedUsd: usage.savedVsBalancedUsd, savedVsFrontierUsd: usage.savedVsFrontierUsd,
    balancedCostUsd: usage.balancedCostUsd, requests: usage.requests,
    todayUsd: todayRow?.costUsd ?? 0, todaySavedUsd: todayRow?.savedVsBalancedUsd ?? 0,
    days: days.map((d) => ({ day: d.day ?? "", costUsd: d.costUsd, savedUsd: d.savedVsBalancedUsd, requests: d.requests,
      heightPct: max > 0 ? Math.round((100 * d.costUsd) / max) : 0 })),
    models: Object.entries(usage.models).map(([model, m]) => ({ model, requests: m.requests, share: m.share, costUsd: m.costUsd }))
      .sort((a, b) => b.requests - a.requests),
  };
}

/**
 * What to do when the sidecar's process ends without being asked to: restart it, up to `limit`
 * times in `windowMs`; past that, stop and tell the user once, naming the commands that help.
 */
export class CrashPolicy {
  private crashes: number[] = [];
  constructor(private readonly limit = 3, private readonly windowMs = 180000) {}

  /** `restart`, or a message for the user when the sidecar should stay stopped. */
  closed(now: number = Date.now()): { restart: true } | { restart: false; message: string } {
    this.crashes = [...this.crashes.filter((t) => now - t < this.windowMs), now];
    if (this.crashes.length <= this.limit) return { restart: true };
    this.crashes = [];
    return { restart: false, message: `Kilo: the sidecar stopped ${this.limit + 1} times in ${Math.round(this.windowMs / 60000)} minutes ` +
      `and is not restarted. See "${COMMAND_TITLES.showOutput}" for why, then "${COMMAND_TITLES.restartServer}"; ` +
      `"${COMMAND_TITLES.setupEnvironment}" reinstalls the sidecar the extension bundles.` };
  }
}

/** Chunks can arrive late or twice after a cancel: keep the ones in order for the current stream. */
export class StreamBuffer {
  private next = 0;
  text = "";
  constructor(readonly streamId: string) {}
  accept(chunk: { streamId: string; seq: number; text: string }): boolean {
    if (chunk.streamId !== this.streamId || chunk.seq < this.next) return false;
    this.next = chunk.seq + 1;
    this.text += chunk.text;
    return true;
  }
}
