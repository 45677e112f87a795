import type { Chunk, CompleteResult, DecisionCard, UsageResult } from "../src/protocol";

export const CARD: DecisionCard = {
  decisionId: "d-1", model: "gpt-5-mini", modelName: "GPT-5 mini", provider: "openai", providerModelId: "gpt-5-mini",
  callable: true, whatIf: false, tier: "efficient", dial: "bill", taskType: "small_edit", difficulty: 1, confidence: 0.9,
  typeConfidence: 0.9, difficultyConfidence: 0.9, reasonCode: "cheapest_clearing_bar", reason: "Cheapest proven model.",
  sticky: true, escalated: false, fallback: false, taskClass: "small_edit:1",
  candidates: [
    { model: "gpt-5-mini", provider: "openai", callable: true, accuracy: 0.8, ciLow: 0.7, ciHigh: 0.9, samples: 10,
      vsBalancedLow: null, clearsBar: true, estimatedCostUsd: 0.001, expectedCostPerTaskUsd: null },
    { model: "claude-sonnet-4-5", provider: null, callable: false, accuracy: null, ciLow: null, ciHigh: null, samples: 0,
      vsBalancedLow: null, clearsBar: false, estimatedCostUsd: 0.005, expectedCostPerTaskUsd: null },
  ],
  estimatedInputTokens: 100, estimatedOutputTokens: 50, estimatedCostUsd: 0.001,
  balanced: { model: "claude-sonnet-4-5", estimatedCostUsd: 0.005 }, frontier: { model: "claude-opus-4-5", estimatedCostUsd: 0.02 },
  leaderboardVersion: "lb-abc", classifier: "rules", signals: [], workspace: "file:///ws", conversationId: "c", turn: 2,
};

/** A kilo/complete stream as protocol.md describes it: every field, typed (no cast), so a change
 * to the generated protocol.ts that the panel does not follow fails the build. */
export const CHUNKS: Chunk[] = ["checkout ", "returns ", "the total"].map((text, seq) =>
  ({ streamId: "s-1", seq, text, model: "lmstudio/qwen2.5-coder-7b", provider: "lmstudio" }));

export const RESULT: CompleteResult = {
  decisionId: "d-4f1c2a9b7e01", streamId: "s-1", text: "checkout returns the total",
  model: "lmstudio/qwen2.5-coder-7b", modelName: "qwen2.5-coder-7b (local, lmstudio)", provider: "lmstudio",
  providerModelId: "qwen2.5-coder-7b", finishReason: "stop",
  usage: { inputTokens: 412, cachedInputTokens: 0, outputTokens: 57, estimated: false },
  costUsd: 0, balancedCostUsd: 0.002091, frontierCostUsd: 0.003485, ttftMs: 41.2, totalMs: 512.7, failedOver: false,
  attempts: [{ model: "lmstudio/qwen2.5-coder-7b", provider: "lmstudio", providerModelId: "qwen2.5-coder-7b",
    outcome: "ok", errorKind: null, status: 200, message: "", retryAfter: null, ttftMs: 40.8, ms: 505.1 }],
  prompt: { budgetTokens: 3840, estimatedTokens: 412, trimmed: [] }, error: null, card: CARD,
};

/** A kilo/usage result for one workspace over two days. */
export const USAGE: UsageResult = {
  requests: 3, attempts: 3, inputTokens: 1200, cachedInputTokens: 0, outputTokens: 300, costUsd: 0.0042, estimatedRows: 0,
  savedVsBalancedUsd: 0.0101, savedVsFrontierUsd: 0.0301, balancedCostUsd: 0.0143, frontierCostUsd: 0.0343,
  models: { "gpt-5-mini": { requests: 2, share: 0.6667, costUsd: 0.0042 }, "lmstudio/qwen2.5-coder-7b": { requests: 1, share: 0.3333, costUsd: 0 } },
  outcomes: { ok: 3 },
  byDay: [
    { day: "2026-11-29", requests: 1, attempts: 1, inputTokens: 400, cachedInputTokens: 0, outputTokens: 100, costUsd: 0.0012, estimatedRows: 0,
      savedVsBalancedUsd: 0.0031, savedVsFrontierUsd: 0.0091, balancedCostUsd: 0.0043, frontierCostUsd: 0.0103 },
    { day: "2026-11-28", requests: 2, attempts: 2, inputTokens: 800, cachedInputTokens: 0, outputTokens: 200, costUsd: 0.003, estimatedRows: 0,
      savedVsBalancedUsd: 0.007, savedVsFrontierUsd: 0.021, balancedCostUsd: 0.01, frontierCostUsd: 0.024 },
  ],
  byWorkspace: [],
};

/** kilo/usage for one day (`day` set): the same shape, one day's rows. */
export const TODAY: UsageResult = { ...USAGE, ...USAGE.byDay[0], models: { "gpt-5-mini": { requests: 1, share: 1, costUsd: 0.0012 } },
  byDay: [USAGE.byDay[0]] };
