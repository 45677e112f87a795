// A fake language client answering kilo/* requests (with responses the tests pass in) and a stub
// Host recording what the controller shows: the controller's logic without VS Code.
import type { ChatMessage, ChatView, Host } from "../src/controller";
import type { EditorContext, KiloNotification, KiloNotifications, KiloRequest, KiloRequests } from "../src/protocol";
import type { LanguageClientLike } from "../src/rpc";

type Answers = { [M in KiloRequest]?: (params: KiloRequests[M]["params"]) => KiloRequests[M]["result"] | Promise<KiloRequests[M]["result"]> };

export const ALL_REQUESTS = ["kilo/route", "kilo/explain", "kilo/leaderboard", "kilo/complete", "kilo/usage", "kilo/setCredentials"];

export class FakeClient implements LanguageClientLike {
  handlers = new Map<string, (...params: unknown[]) => void>();
  sent: Array<{ method: string; params: unknown }> = [];
  answers: Answers = {};
  experimental: Record<string, unknown> = { kilo: { protocolVersion: "1.0", requests: [...ALL_REQUESTS], tiers: ["efficient", "balanced", "frontier", "free"], dials: ["bill", "bar"] } };
  get initializeResult() { return { capabilities: { experimental: this.experimental } }; }

  onNotification(method: string, handler: (...params: unknown[]) => void) { this.handlers.set(method, handler); }
  notified: Array<{ method: string; params: unknown }> = [];
  sendNotification(method: string, params: unknown) { this.notified.push({ method, params }); }

  notify<N extends KiloNotification>(method: N, params: KiloNotifications[N]): void {
    this.handlers.get(method)?.(params);
  }

  async sendRequest<R>(method: string, params: unknown): Promise<R> {
    this.sent.push({ method, params: JSON.parse(JSON.stringify(params)) });
    const answer = (this.answers as Record<string, ((p: unknown) => unknown) | undefined>)[method];
    if (!answer) throw Object.assign(new Error(`no answer for ${method}`), { code: -32601 });
    return (await answer(params)) as R;
  }

  /** The params of every request of `method`, in order. */
  params<M extends KiloRequest>(method: M): Array<KiloRequests[M]["params"]> {
    return this.sent.filter((s) => s.method === method).map((s) => s.params as KiloRequests[M]["params"]);
  }
}

export function stubHost(picks: string[] = [], inputs: string[] = []) {
  const calls = {
    status: [] as Array<{ text: string; tooltip: string }>, errors: [] as Array<{ message: string; actions: string[] }>,
    infos: [] as string[], markdown: [] as string[], picked: [] as string[][],
    settings: [] as Array<[string, unknown]>, secrets: new Map<string, string>(),
    context: null as EditorContext | null,
    opened: [] as string[], openWorks: true, clipboard: [] as string[], log: [] as string[],
  };
  const host: Host = {
    setStatus: (text, tooltip) => { calls.status.push({ text, tooltip }); },
    showError: (message, actions = []) => { calls.errors.push({ message, actions }); },
    showInfo: (m) => { calls.infos.push(m); }, showMarkdown: (_t, md) => { calls.markdown.push(md); },
    pick: async (_p, items) => { calls.picked.push(items); return picks.shift(); }, input: async () => inputs.shift(),
    updateSetting: async (k, v) => { calls.settings.push([k, v]); },
    storeSecret: async (k, v) => { if (v) calls.secrets.set(k, v); else calls.secrets.delete(k); },
    getSecret: async (k) => calls.secrets.get(k),
    workspaceUri: () => "file:///ws",
    editorContext: () => calls.context,
    openExternal: async (url) => { calls.opened.push(url); return calls.openWorks; },
    copyToClipboard: async (text) => { calls.clipboard.push(text); },
    log: (line) => { calls.log.push(line); },
  };
  return { host, calls };
}

export function recordingView(): ChatView & { posted: ChatMessage[] } {
  const posted: ChatMessage[] = [];
  return { posted, post: (m) => { posted.push(m); } };
}

import { Exchange, experimental, scenario } from "./recorded";

/**
 * Answers kilo requests with what a recorded scenario's sidecar answered, in order per method, and
 * sends the notifications it sent meanwhile. The one change: a kilo/chunk carries the streamId the
 * client under test chose (the recording has the recorder's).
 */
export function replay(client: FakeClient, name: string): void {
  client.experimental = experimental(name) as Record<string, unknown>;
  const queues = new Map<string, Exchange[]>();
  for (const e of scenario(name).exchanges) {
    if (!e.method.startsWith("kilo/") || e.notification) continue;
    queues.set(e.method, [...(queues.get(e.method) ?? []), e]);
  }
  for (const [method, queue] of queues) {
    (client.answers as Record<string, (p: unknown) => unknown>)[method] = (params: unknown) => {
      const e = queue.shift();
      if (!e) throw new Error(`${name}.json has no more ${method} exchanges`);
      const streamId = (params as { streamId?: string } | null)?.streamId;
      for (const n of e.notifications ?? []) {
        if (n.serverRequest || !n.method.startsWith("kilo/")) continue;
        const p = n.method === "kilo/chunk" && streamId ? { ...(n.params as object), streamId } : n.params;
        client.handlers.get(n.method)?.(p);
      }
      if (e.error) throw Object.assign(new Error(e.error.message), e.error);
      return e.result;
    };
  }
}
