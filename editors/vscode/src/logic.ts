// Plain logic of the extension, with no VS Code API: server command and version checks, settings ->
// initializationOptions, decision card and usage formatting. Unit-tested in test/logic.test.ts.
import type { DecisionCard, SessionStatus, CompleteResult } from "./protocol";

export const PLUGIN_NAME = "kilo-lsp-vscode";
export const MIN_SERVER_VERSION = "0.1.0";
export const INSTALL_COMMAND = "pip install kilo-lsp";
export const UPGRADE_COMMAND = "pip install -U kilo-lsp";

/** The extension's settings, as read from the `kilo` configuration section. */
export interface KiloConfig {
  serverCommand: string[];
  pythonPath: string;
  tier: string;
  dial: string;
  pin: string;
  dailyUsdPerWorkspace: number;
}

export interface ServerCommand { command: string; args: string[] }

/** `kilo.server.command` wins; else `pythonPath -m kilo_lsp --stdio`; else `kilo-lsp --stdio` from PATH. */
export function serverCommand(cfg: Pick<KiloConfig, "serverCommand" | "pythonPath">): ServerCommand {
  const custom = (cfg.serverCommand ?? []).filter((s) => s.trim() !== "");
  if (custom.length > 0) return { command: custom[0], args: custom.slice(1) };
  if (cfg.pythonPath?.trim()) return { command: cfg.pythonPath.trim(), args: ["-m", "kilo_lsp", "--stdio"] };
  return { command: "kilo-lsp", args: ["--stdio"] };
}

/** The same command asking for `--version` instead of serving. */
export function versionCommand(cmd: ServerCommand): ServerCommand {
  return { command: cmd.command, args: [...cmd.args.filter((a) => a !== "--stdio"), "--version"] };
}

/** What the sidecar receives as initializationOptions: its `kilo` settings plus who we are. */
export function initializationOptions(cfg: KiloConfig, extensionVersion: string): Record<string, unknown> {
  return {
    routing: { tier: cfg.tier, dial: cfg.dial, pin: cfg.pin },
    budget: { dailyUsdPerWorkspace: cfg.dailyUsdPerWorkspace },
    editorPluginInfo: { name: PLUGIN_NAME, version: extensionVersion },
  };
}

/** Settings whose change needs a server restart (the rest are pushed with didChangeConfiguration). */
export const RESTART_SETTINGS = ["kilo.server.command", "kilo.server.pythonPath"];
export const PUSHED_SETTINGS = ["kilo.routing", "kilo.budget"];

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

/**
 * The message for a server that cannot be used, or null when it can. `versionOutput` is what
 * `--version` printed; `spawnError` the error code when it could not run at all (ENOENT...).
 */
export function serverProblem(cmd: ServerCommand, versionOutput: string | null, spawnError?: string): string | null {
  const shown = [cmd.command, ...cmd.args].join(" ");
  if (spawnError === "ENOENT") {
    return `Kilo: the sidecar was not found (${cmd.command}). Install it with \`${INSTALL_COMMAND}\`, ` +
      "or set kilo.server.pythonPath / kilo.server.command.";
  }
  if (spawnError) return `Kilo: could not start \`${shown}\` (${spawnError}). Install or repair it with \`${INSTALL_COMMAND}\`.`;
  const version = parseVersion(versionOutput ?? "");
  if (!version) {
    return `Kilo: \`${shown}\` did not report a kilo-lsp version (${(versionOutput ?? "").trim() || "no output"}). ` +
      `Install it with \`${INSTALL_COMMAND}\`.`;
  }
  if (!versionAtLeast(version.join("."), MIN_SERVER_VERSION)) {
    return `Kilo: kilo-lsp ${version.join(".")} is too old (this extension needs ${MIN_SERVER_VERSION} or newer). ` +
      `Upgrade with \`${UPGRADE_COMMAND}\`.`;
  }
  return null;
}

/** The kilo capabilities a server announced, and whether it speaks our protocol major version. */
export function protocolProblem(experimental: unknown, expectedProtocol: string): string | null {
  const kilo = (experimental as { kilo?: { protocolVersion?: string } } | undefined)?.kilo;
  if (!kilo?.protocolVersion) return `Kilo: the server did not announce the kilo protocol. Upgrade with \`${UPGRADE_COMMAND}\`.`;
  if (kilo.protocolVersion.split(".")[0] !== expectedProtocol.split(".")[0]) {
    return `Kilo: the server speaks protocol ${kilo.protocolVersion}, this extension ${expectedProtocol}. ` +
      `Upgrade both (\`${UPGRADE_COMMAND}\` and the extension).`;
  }
  return null;
}

export const usd = (x: number | null | undefined, digits = 4): string =>
  x === null || x === undefined ? "-" : `$${x.toFixed(digits)}`;
const pct = (x: number | null | undefined): string => (x === null || x === undefined ? "-" : `${Math.round(100 * x)}%`);

/** The status bar text: `$(zap) model · tier · $0.12 today`. */
export function statusText(status: SessionStatus | null, todayUsd: number | null): string {
  if (!status) return "$(zap) Kilo";
  const spend = todayUsd === null ? "" : ` · ${usd(todayUsd, 2)} today`;
  return `$(zap) ${status.model} · ${status.tier}${spend}`;
}

/** A decision card as Markdown (hover, webview, notification detail). */
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

export interface UsageBar { label: string; value: number; heightPct: number }

/**
 * Bars for the usage chart from a kilo/usage answer. Accepts `days: [{day, costUsd}]`, or
 * `byDay`/`perDay` maps of day -> cost (the ledger's shapes), sorted by day; the tallest is 100%.
 */
export function usageBars(usage: unknown, maxBars = 14): UsageBar[] {
  const u = (usage ?? {}) as Record<string, unknown>;
  let rows: Array<[string, number]> = [];
  if (Array.isArray(u.days)) {
    rows = (u.days as Array<Record<string, unknown>>).map((d) => [String(d.day ?? d.date ?? "?"), Number(d.costUsd ?? d.cost ?? 0)]);
  } else {
    const map = (u.byDay ?? u.perDay) as Record<string, unknown> | undefined;
    if (map && typeof map === "object") {
      rows = Object.entries(map).map(([k, v]) =>
        [k, typeof v === "number" ? v : Number((v as Record<string, unknown>)?.costUsd ?? 0)]);
    }
  }
  rows.sort((a, b) => a[0].localeCompare(b[0]));
  rows = rows.slice(-maxBars);
  const max = Math.max(0, ...rows.map((r) => r[1]));
  return rows.map(([label, value]) => ({ label, value, heightPct: max > 0 ? Math.round((100 * value) / max) : 0 }));
}

/** Spend and savings headline numbers from a kilo/usage answer (null when absent). */
export function usageTotals(usage: unknown): { spentUsd: number | null; savedUsd: number | null; todayUsd: number | null } {
  const u = (usage ?? {}) as Record<string, unknown>;
  const num = (...keys: string[]): number | null => {
    for (const k of keys) if (typeof u[k] === "number") return u[k] as number;
    const totals = u.totals as Record<string, unknown> | undefined;
    for (const k of keys) if (totals && typeof totals[k] === "number") return totals[k] as number;
    return null;
  };
  return {
    spentUsd: num("costUsd", "totalUsd", "spentUsd"),
    savedUsd: num("savedUsd", "savingsUsd", "savedVsBalancedUsd"),
    todayUsd: num("todayUsd", "spentTodayUsd"),
  };
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
