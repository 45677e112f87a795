import type { DecisionCard } from "../src/protocol";

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
