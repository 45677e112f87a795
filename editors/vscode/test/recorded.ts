// Responses recorded from the real sidecar by tests/test_recorded_responses.py (editors/recorded/*.json,
// rewritten on every run of the Python suite; format in editors/README.md). The client tests read
// these instead of writing response shapes by hand, so a server change that the client does not
// follow fails here.
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { KiloNotification, KiloNotifications, KiloRequest, KiloRequests } from "../src/protocol";

export const RECORDED_DIR = resolve(__dirname, "..", "..", "..", "recorded");

export interface RecordedError { code: number; message: string; data?: unknown }
export interface RecordedMessage { method: string; params: unknown; serverRequest?: boolean }
export interface Exchange {
  method: string;
  params?: unknown;
  result?: unknown;
  error?: RecordedError;
  notification?: boolean;
  cancelled?: boolean;
  note?: string;
  notifications?: RecordedMessage[];
}
export interface Scenario { format: number; scenario: string; description: string; exchanges: Exchange[] }

export function scenario(name: string): Scenario {
  return JSON.parse(readFileSync(join(RECORDED_DIR, `${name}.json`), "utf8")) as Scenario;
}

/** The exchanges of one kilo request, in order; their params and results typed as the protocol says. */
export function exchanges<M extends KiloRequest>(name: string, method: M): Array<{
  params: KiloRequests[M]["params"]; result?: KiloRequests[M]["result"]; error?: RecordedError; notifications: RecordedMessage[]; note?: string;
}> {
  return scenario(name).exchanges.filter((e) => e.method === method).map((e) => ({
    params: e.params as KiloRequests[M]["params"], result: e.result as KiloRequests[M]["result"] | undefined,
    error: e.error, notifications: e.notifications ?? [], note: e.note,
  }));
}

/** The answer of the `index`-th `method` exchange of a scenario (it must have one). */
export function result<M extends KiloRequest>(name: string, method: M, index = 0): KiloRequests[M]["result"] {
  const e = exchanges(name, method)[index];
  if (!e || e.result === undefined) throw new Error(`${name}.json has no result for ${method} #${index}`);
  return e.result;
}

/** The kilo notifications the sidecar sent during an exchange, typed. */
export function notifications<N extends KiloNotification>(messages: RecordedMessage[], method: N): Array<KiloNotifications[N]> {
  return messages.filter((m) => m.method === method).map((m) => m.params as KiloNotifications[N]);
}

/** `capabilities.experimental` of the recorded initialize answer. */
export function experimental(name = "initialize"): unknown {
  const init = scenario(name).exchanges[0].result as { capabilities?: { experimental?: unknown } };
  return init.capabilities?.experimental;
}
