package dev.kilolsp.jetbrains.core

// The kilo types the plugin sends and reads, as in editors/schema/kilo-protocol.schema.json (field
// names are the wire's camelCase). LSP4J (de)serializes them with Gson; every property has a
// default so Gson's no-argument construction keeps them non-null when the server leaves one out.

data class Position(val line: Int = 0, val character: Int = 0)

data class Range(val start: Position = Position(), val end: Position = Position())

/** severity: LSP's 1 error, 2 warning, 3 information, 4 hint. */
data class Diagnostic(val message: String = "", val severity: Int = 1, val uri: String? = null, val range: Range? = null)

data class EditorContext(
    val activeUri: String? = null,
    val languageId: String? = null,
    val selection: Range? = null,
    val selectedText: String? = null,
    val diagnostics: List<Diagnostic> = emptyList(),
)

data class Turn(val role: String = "user", val content: String = "")

data class CompleteParams(
    val text: String = "",
    val conversationId: String? = null,
    val workspaceUri: String? = null,
    val turns: List<Turn> = emptyList(),
    val context: EditorContext? = null,
    val streamId: String? = null,
)

/** kilo/route; the plugin only previews, so dryRun (the decision does not touch the session). */
data class RouteParams(
    val text: String = "",
    val conversationId: String? = null,
    val workspaceUri: String? = null,
    val turns: List<Turn> = emptyList(),
    val context: EditorContext? = null,
    val dryRun: Boolean = true,
)

data class ExplainParams(val workspaceUri: String? = null, val conversationId: String? = null)

data class CostView(val model: String = "", val estimatedCostUsd: Double = 0.0)

data class DecisionCard(
    val decisionId: String = "",
    val model: String = "",
    val modelName: String = "",
    val provider: String? = null,
    val callable: Boolean = false,
    val whatIf: Boolean = false,
    val tier: String = "",
    val dial: String = "",
    val taskType: String = "",
    val difficulty: Int = 0,
    val reasonCode: String = "",
    val reason: String = "",
    val estimatedCostUsd: Double = 0.0,
    val balanced: CostView = CostView(),
    val frontier: CostView = CostView(),
    val conversationId: String = "",
    val turn: Int = 0,
    /** why the last answer on the task counts as failed (empty: it does not) */
    val failedReason: String = "",
)

/** kilo/feedback (client to server): how an answer worked out; outcome accepted, rejected or failed. */
data class FeedbackParams(val decisionId: String = "", val outcome: String = "", val reason: String? = null)

data class UsageView(val inputTokens: Int = 0, val cachedInputTokens: Int = 0, val outputTokens: Int = 0, val estimated: Boolean = false)

data class ErrorView(val kind: String = "", val message: String = "")

data class CompleteResult(
    val decisionId: String = "",
    val streamId: String = "",
    val text: String = "",
    val model: String = "",
    val modelName: String = "",
    val provider: String = "",
    val finishReason: String = "",
    val usage: UsageView = UsageView(),
    val costUsd: Double = 0.0,
    val balancedCostUsd: Double = 0.0,
    val frontierCostUsd: Double = 0.0,
    val ttftMs: Double? = null,
    val totalMs: Double = 0.0,
    val failedOver: Boolean = false,
    val error: ErrorView? = null,
    val card: DecisionCard? = null,
)

/** data of the -32001 error kilo/complete answers when no model answered. */
data class CompletionErrorData(val code: String = "", val retryAfter: Double? = null, val decisionId: String? = null)

data class Chunk(val streamId: String = "", val seq: Int = 0, val text: String = "", val model: String = "", val provider: String = "")

data class SessionStatus(val workspace: String = "", val conversationId: String = "", val model: String = "", val tier: String = "",
                         val reasonCode: String = "", val callable: Boolean = true)

/** kilo/dashboard: `page` one of usage (null), leaderboard, decisions, settings; with workspaceUri and
 * conversationId, that conversation's decisions. */
data class DashboardParams(val page: String? = null, val workspaceUri: String? = null, val conversationId: String? = null)

/** The dashboard's URL on 127.0.0.1; it holds an access token, so it is never logged whole. */
data class DashboardResult(val url: String = "")

data class UsageParams(val workspaceUri: String? = null, val conversationId: String? = null, val day: String? = null)

data class DayUsage(val day: String = "", val requests: Int = 0, val costUsd: Double = 0.0, val savedVsBalancedUsd: Double = 0.0)

data class UsageResult(
    val requests: Int = 0,
    val costUsd: Double = 0.0,
    val savedVsBalancedUsd: Double = 0.0,
    val savedVsFrontierUsd: Double = 0.0,
    val balancedCostUsd: Double = 0.0,
    val byDay: List<DayUsage> = emptyList(),
)

data class SetCredentialsParams(val provider: String = "", val apiKey: String? = null)

data class CredentialsResult(val provider: String = "", val apiKey: String = "", val callableModels: Int = 0)

/** kilo/serverStatus takes no params. */
class ServerStatusParams

/** A provider kilo/setCredentials takes a key for; keySource: "env", "user-file", "editor" or null. */
data class ProviderKeyView(val name: String = "", val label: String = "", val keyEnv: String? = null, val keySet: Boolean = false,
                           val keySource: String? = null)

data class LocalServerView(val name: String = "", val url: String = "", val reachable: Boolean = false, val models: List<String> = emptyList())

data class ServerStatusResult(
    val providers: List<ProviderKeyView> = emptyList(),
    val localDiscovery: String = "",
    val localServers: List<LocalServerView> = emptyList(),
    val localCheckedSecondsAgo: Double? = null,
    val callableModels: Int = 0,
    val settingsProblems: List<String> = emptyList(),
)
