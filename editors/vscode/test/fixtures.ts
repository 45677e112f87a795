// Protocol values for the tests, all taken from responses recorded from the real sidecar
// (editors/recorded/*.json, see recorded.ts): none is written by hand.
import type { Chunk, CompleteResult, CredentialsResult, DecisionCard, UsageResult } from "../src/protocol";
import { exchanges, notifications, result } from "./recorded";

/** A decision card: the first kilo/route of route.json (a multi-line selection and a diagnostic). */
export const CARD: DecisionCard = result("route", "kilo/route", 0);

/** A streamed answer: the first kilo/complete of complete.json, and the chunks it streamed. */
export const RESULT: CompleteResult = result("complete", "kilo/complete", 0);
export const CHUNKS: Chunk[] = notifications(exchanges("complete", "kilo/complete")[0].notifications, "kilo/chunk");

/** kilo/usage over every day, and for today only (usage.json). */
export const USAGE: UsageResult = result("usage", "kilo/usage", 0);
export const TODAY: UsageResult = result("usage", "kilo/usage", 1);

/** kilo/setCredentials taking a key (no-key.json). */
export const CREDENTIALS: CredentialsResult = result("no-key", "kilo/setCredentials", 0);
