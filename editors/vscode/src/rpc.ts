// The language client as the extension uses it, typed by the generated protocol: a kilo/* method
// name fixes its params and its result, so protocol data never passes through `any`.
import type { KiloNotification, KiloNotifications, KiloRequest, KiloRequests } from "./protocol";

/** What vscode-languageclient's LanguageClient offers, narrowed to what the extension calls. */
export interface LanguageClientLike {
  sendRequest<R>(method: string, params: unknown, token?: unknown): Promise<R>;
  onNotification(method: string, handler: (...params: unknown[]) => void): unknown;
  sendNotification(method: string, params: unknown): unknown;
  initializeResult?: { capabilities?: { experimental?: unknown } };
}

/** The `experimental.kilo` object a kilo-lsp announces in its initialize result. */
export interface KiloCapabilities {
  protocolVersion?: string;
  serverVersion?: string;
  requests: string[];
  notifications: string[];
  /** notifications the server takes from the client (kilo/feedback) */
  clientNotifications: string[];
  tiers: string[];
  dials: string[];
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);
const text = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
const record = (v: unknown): Record<string, unknown> | undefined =>
  v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

/** Reads `experimental.kilo` from an initialize result, checking each member's type. */
export function kiloCapabilities(experimental: unknown): KiloCapabilities | undefined {
  const kilo = record(record(experimental)?.kilo);
  if (!kilo) return undefined;
  return {
    protocolVersion: text(kilo.protocolVersion), serverVersion: text(kilo.serverVersion),
    requests: strings(kilo.requests), notifications: strings(kilo.notifications),
    clientNotifications: strings(kilo.clientNotifications),
    tiers: strings(kilo.tiers), dials: strings(kilo.dials),
  };
}

/** kilo/* requests and notifications with the generated types. */
export class KiloRpc {
  constructor(private readonly client: LanguageClientLike) {}

  request<M extends KiloRequest>(method: M, params: KiloRequests[M]["params"], token?: unknown): Promise<KiloRequests[M]["result"]> {
    return this.client.sendRequest<KiloRequests[M]["result"]>(method, params, token);
  }

  onNotification<N extends KiloNotification>(method: N, handler: (params: KiloNotifications[N]) => void): void {
    this.client.onNotification(method, handler as (...params: unknown[]) => void);
  }

  notify<N extends KiloNotification>(method: N, params: KiloNotifications[N]): void {
    void this.client.sendNotification(method, params);
  }

  capabilities(): KiloCapabilities | undefined {
    return kiloCapabilities(this.client.initializeResult?.capabilities?.experimental);
  }
}
