// Generated from editors/schema/kilo-protocol.schema.json by editors/vscode/scripts/schema_to_ts.py.
// Do not edit by hand: change kilo_lsp/protocol.py, then regenerate (see editors/README.md).
/* eslint-disable */

export const PROTOCOL_VERSION = "1.0";

/** What kilo.ask answers: the kilo/complete result, or why there is none. */
export interface AskResult {
  answered: boolean;
  card: DecisionCard | null;
  /** the summary also shown with window/showMessage */
  message: string;
  /** when answered */
  result?: CompleteResult | null;
  /** when not answered: no_model | budget | all_failed | refused | cancelled */
  reason?: string | null;
  /** when answered and the client can show documents: the file URI of the whole answer, opened with window/showDocument */
  document?: string | null;
}

export interface Attempt {
  model: string;
  provider: string;
  providerModelId: string;
  /** ok | error | cancelled | skipped */
  outcome: string;
  /** ProviderError kind, or "cooling" for a skipped provider */
  errorKind?: string | null;
  status?: number | null;
  /** Default "" */
  message?: string;
  retryAfter?: number | null;
  ttftMs?: number | null;
  /** Default 0.0 */
  ms?: number;
}

export interface Candidate {
  model: string;
  /** provider it would be reached through; None when not callable */
  provider: string | null;
  /** credentials or a local server make it usable now */
  callable: boolean;
  /** proven success rate for the class (None: no evidence) */
  accuracy: number | null;
  ciLow: number | null;
  ciHigh: number | null;
  samples: number;
  /** lower bound of (this model - Balanced) on paired tasks */
  vsBalancedLow: number | null;
  clearsBar: boolean;
  /** this request, from its token estimate and list prices */
  estimatedCostUsd: number;
  /** measured mean on the benchmark class */
  expectedCostPerTaskUsd: number | null;
  /** Default "" */
  note?: string;
  /** the benchmark (one scaffold's run) the evidence comes from */
  source?: string | null;
  /** that benchmark does not measure this class's task (default false) */
  borrowed?: boolean;
  /** place on the task's ladder, from 1 (None: not on it) */
  rung?: number | null;
  /** your own answers on this class and model (None: none yet) */
  yours?: UserResultView | null;
}

/** The kilo/chunk notification: one text delta of a stream. */
export interface Chunk {
  streamId: string;
  /** 0, 1, 2, ... per stream */
  seq: number;
  text: string;
  model: string;
  provider: string;
}

export interface ClassView {
  label: string;
  /** the class's own source (a key of sources) */
  source: string;
  /** why some or all of its evidence comes from a benchmark of another task; None when none does */
  borrowed: string | null;
  /** tasks of the class in its own source */
  nTasks: number;
  best: string;
  /** the rows routing reads, one per model, best rate first */
  models: EvidenceView[];
  /** rows of other benchmarks shown beside, not read by routing */
  beside: EvidenceView[];
  /** dial -> the ladder a task of this class starts on, cheapest first, before keeping the models you can call (default {}) */
  ladders?: { [key: string]: string[] };
  /** the source the ladders were chosen on (default "") */
  ladderSource?: string;
  /** on how many of its tasks (default 0) */
  ladderTasks?: number;
  /** dial -> each rung's benchmark figures (default {}) */
  ladderSteps?: { [key: string]: RungView[] };
}

/** What kilo.route and kilo.explain answer (kilo.explain: null before the session's first route). */
export interface CommandResult {
  card: DecisionCard;
  /** the one-line summary also shown with window/showMessage */
  message: string;
}

/** A kilo/route request plus what forwarding needs. */
export interface CompleteParams {
  /** the request as the user typed it */
  text: string;
  /** a session key within the workspace folder */
  conversationId?: string | null;
  /** the folder; else found from the active document */
  workspaceUri?: string | null;
  /** earlier turns, oldest first (default []) */
  turns?: Turn[];
  context?: EditorContext | null;
  /** per-request overrides of the settings */
  tier?: ("balanced" | "efficient" | "free" | "frontier") | null;
  dial?: ("bar" | "bill") | null;
  pin?: string | null;
  /** decide without touching session state (default false) */
  dryRun?: boolean;
  /** cap on the answer (default: min(4096, window / 4)) */
  maxTokens?: number | null;
  temperature?: number | null;
  /** replaces the default system prompt */
  system?: string | null;
  /** echoed in kilo/chunk; default: the decision id */
  streamId?: string | null;
  /** LSP work-done progress token: progress while the answer streams */
  workDoneToken?: string | number | null;
}

export interface CompleteResult {
  decisionId: string;
  streamId: string;
  /** the whole answer (partial when ``error`` is set) */
  text: string;
  /** the model that answered (may differ from card.model after failover) */
  model: string;
  modelName: string;
  provider: string;
  providerModelId: string;
  /** stop | length | ... | error | cancelled */
  finishReason: string;
  usage: UsageView;
  costUsd: number;
  /** the same tokens on Balanced / Frontier */
  balancedCostUsd: number;
  frontierCostUsd: number;
  /** from the request to the first token, routing included */
  ttftMs: number | null;
  totalMs: number;
  failedOver: boolean;
  attempts: Attempt[];
  prompt: PromptInfo;
  /** set when the stream broke after the first token */
  error: ErrorView | null;
  card: DecisionCard;
}

/** ``data`` of the -32001 error kilo/complete answers when no model answered. */
export interface CompletionErrorData {
  /** no_model | budget | all_failed | refused */
  code: string;
  retryAfter: number | null;
  attempts: Attempt[];
  decisionId: string | null;
}

export interface CostView {
  model: string;
  estimatedCostUsd: number;
}

export interface CredentialsResult {
  provider: string;
  /** masked: "sk-…abcd", "set" or "unset" */
  apiKey: string;
  /** models callable now, across all providers */
  callableModels: number;
}

export interface DashboardParams {
  /** the page to open (default: usage and savings) */
  page?: ("decisions" | "leaderboard" | "settings" | "usage") | null;
  /** with conversationId: open that conversation's decisions */
  workspaceUri?: string | null;
  conversationId?: string | null;
}

export interface DashboardResult {
  /** http://127.0.0.1:<port>/...?token=...: the dashboard the sidecar serves while it runs; open it in a browser or a webview */
  url: string;
}

export interface DayUsage {
  /** requests (distinct decisions) */
  requests: number;
  /** upstream calls (rows of the ledger) */
  attempts: number;
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
  costUsd: number;
  /** rows whose token counts were estimated */
  estimatedRows: number;
  savedVsBalancedUsd: number;
  savedVsFrontierUsd: number;
  /** what the answered requests would have cost on Balanced */
  balancedCostUsd: number;
  frontierCostUsd: number;
  /** Default "" */
  day?: string;
}

export interface DecisionCard {
  decisionId: string;
  model: string;
  modelName: string;
  provider: string | null;
  providerModelId: string | null;
  /** False in what-if mode (no credentials for the chosen model) */
  callable: boolean;
  /** no callable model was available: the choice is over the whole catalog */
  whatIf: boolean;
  tier: string;
  dial: string;
  taskType: string;
  difficulty: number;
  confidence: number;
  typeConfidence: number;
  difficultyConfidence: number;
  reasonCode: string;
  reason: string;
  /** the conversation stays on the model of its previous turn */
  sticky: boolean;
  /** moved to a model proven stronger than the conversation's */
  escalated: boolean;
  /** went to Balanced, or the strongest callable model when Balanced cannot be called (low confidence, no evidence, an old client) */
  fallback: boolean;
  /** leaderboard class the evidence came from */
  taskClass: string;
  candidates: Candidate[];
  estimatedInputTokens: number;
  estimatedOutputTokens: number;
  estimatedCostUsd: number;
  balanced: CostView;
  frontier: CostView;
  leaderboardVersion: string;
  classifier: string;
  signals: SignalView[];
  workspace: string;
  conversationId: string;
  /** the user's turn in the conversation, from 1 (the client's turns when it sends them) */
  turn: number;
  /** the task's ladder: the models it starts on and moves up through when an answer fails, cheapest first (empty outside routing) (default []) */
  ladder?: string[];
  /** the chosen model's place on the ladder, from 1 */
  rung?: number | null;
  /** the ladder's benchmark figures per rung (empty when your ladder is not the shipped one: the figures depend on the rungs below) (default []) */
  ladderSteps?: RungView[];
  /** the model a failed answer moves to, and this request's cost there (None: at the top) */
  nextRung?: CostView | null;
  /** the turn continues the conversation's task (default false) */
  continuesTask?: boolean;
  /** why the last answer on the task counts as failed (empty: it does not) (default "") */
  failedReason?: string;
}

export interface Diagnostic {
  message: string;
  /** LSP DiagnosticSeverity: 1 error, 2 warning, 3 info, 4 hint (default 1) */
  severity?: number;
  uri?: string | null;
  range?: Range | null;
}

export interface DiagnosticCounts {
  /** Default 0 */
  errors?: number;
  /** Default 0 */
  warnings?: number;
}

export interface EditorContext {
  /** the document the user is in */
  activeUri?: string | null;
  /** in the active document */
  selection?: Range | null;
  /** when the client sends it; else read from the document */
  selectedText?: string | null;
  languageId?: string | null;
  /** full diagnostics, or... */
  diagnostics?: Diagnostic[] | null;
  /** ...only their counts */
  diagnosticCounts?: DiagnosticCounts | null;
  /** other documents the request refers to (default []) */
  referencedUris?: string[];
}

export interface ErrorView {
  kind: string;
  message: string;
  status?: number | null;
  retryAfter?: number | null;
}

export interface EvidenceView {
  model: string;
  /** the source of this row: a benchmark run by one scaffold (a key of sources) */
  source: string;
  /** the row's benchmark does not measure this class's task (see the class's borrowed) */
  borrowed: boolean;
  solved: number;
  /** tasks of the class this model has an outcome for in the source */
  n: number;
  rate: number;
  ciLow: number;
  ciHigh: number;
  /** mean USD per task of the class as the source measures it; None when the source has no cost */
  costPerRequest: number | null;
  /** paired difference against Balanced on the same tasks of the same source; None when Balanced is not in the source */
  vsBalanced: PairedView | null;
  /** your own answers on this class and model (None: none yet) */
  yours?: UserResultView | null;
}

export interface ExplainParams {
  workspaceUri?: string | null;
  conversationId?: string | null;
}

/** The kilo/feedback notification: how the answer of a decision worked out. */
export interface FeedbackParams {
  decisionId: string;
  /** accepted: it worked; rejected: not used; failed: used and did not work */
  outcome: "accepted" | "failed" | "rejected";
  /** in the user's words */
  reason?: string | null;
}

export interface LeaderboardParams {
  /** restrict to one task type */
  taskType?: string | null;
  difficulty?: number | null;
}

export interface LeaderboardResult {
  version: string;
  builtAt: string;
  path: string;
  confidenceLevel: number;
  balanced: string;
  frontier: string;
  /** source id -> where the evidence comes from */
  sources: { [key: string]: SourceView };
  models: ModelView[];
  classes: { [key: string]: ClassView };
}

/** A local model server, as last probed. */
export interface LocalServerView {
  /** its provider name: "ollama", "lmstudio", "local:127.0.0.1:8080" */
  name: string;
  url: string;
  /** it answered the last probe */
  reachable: boolean;
  /** the model ids it serves (kilo's ids are name/model) */
  models: string[];
}

/** What kilo.feedback answers. */
export interface MessageResult {
  /** the one-line summary also shown with window/showMessage */
  message: string;
}

/** A model routing.pin takes. */
export interface ModelChoice {
  id: string;
  name: string;
  /** a key or a local server makes it usable now */
  callable: boolean;
  /** served by a local server */
  local: boolean;
}

export interface ModelShare {
  requests: number;
  /** of the answered requests */
  share: number;
  costUsd: number;
}

export interface ModelView {
  id: string;
  name: string;
  maker: string;
  prices: PricesView;
  contextWindow: number;
  free: boolean;
  local: boolean;
  callable: boolean;
  /** the provider it is called through now; None when not callable */
  provider: string | null;
  /** provider name -> model id at that provider */
  routes: { [key: string]: string };
}

export interface PairedView {
  delta: number;
  ciLow: number;
  ciHigh: number;
}

export interface Position {
  line: number;
  character: number;
}

/** USD per million tokens. */
export interface PricesView {
  input: number;
  output: number;
  cachedInput: number;
}

export interface PromptInfo {
  /** input budget for the model that answered */
  budgetTokens: number;
  /** what the prompt sent is estimated at */
  estimatedTokens: number;
  /** what was cut or left out, e.g. "document file:///a.py: 1200 of 9000 lines" */
  trimmed: string[];
}

/** A provider kilo/setCredentials takes a key for. */
export interface ProviderKeyView {
  /** what kilo/setCredentials' provider names it */
  name: string;
  /** a name to show a person */
  label: string;
  /** the environment variable the sidecar reads its key from */
  keyEnv: string | null;
  /** the sidecar has a key for it */
  keySet: boolean;
  /** where the key comes from: "env", "user-file", "editor"; None without a key */
  keySource: string | null;
}

export interface Range {
  start: Position;
  end: Position;
}

export interface ResetOutcomesParams {
  /** one class (e.g. bugfix:2); None: every class */
  taskClass?: string | null;
}

export interface ResetOutcomesResult {
  /** outcomes forgotten */
  removed: number;
}

export interface RouteParams {
  /** the request as the user typed it */
  text: string;
  /** a session key within the workspace folder */
  conversationId?: string | null;
  /** the folder; else found from the active document */
  workspaceUri?: string | null;
  /** earlier turns, oldest first (default []) */
  turns?: Turn[];
  context?: EditorContext | null;
  /** per-request overrides of the settings */
  tier?: ("balanced" | "efficient" | "free" | "frontier") | null;
  dial?: ("bar" | "bill") | null;
  pin?: string | null;
  /** decide without touching session state (default false) */
  dryRun?: boolean;
}

/** A rung of a ladder and what its benchmark says about it. */
export interface RungView {
  model: string;
  /** tasks it solved: rung 1 of all the tasks the ladder was chosen on, each rung above of the tasks every rung below it failed (expected counts over trials) */
  solved: number;
  tried: number;
}

/** kilo/serverStatus takes no params (an empty object or null). */
export interface ServerStatusParams {
}

export interface ServerStatusResult {
  /** every provider kilo/setCredentials accepts, in a stable order */
  providers: ProviderKeyView[];
  /** off: local.discover is false; starting: before the first probe; probing: a probe is under way */
  localDiscovery: "idle" | "off" | "probing" | "starting";
  /** the local servers the settings name, as last probed */
  localServers: LocalServerView[];
  /** since the last probe finished; None before the first */
  localCheckedSecondsAgo: number | null;
  /** models callable now, across all providers and local servers */
  callableModels: number;
  /** every model id routing.pin takes: the catalog and the local models, callable ones first */
  models: ModelChoice[];
  /** the settings problems in force (each also sent once with window/showMessage) */
  settingsProblems: string[];
}

/** The kilo/status notification: the model of a session changed. */
export interface SessionStatus {
  workspace: string;
  conversationId: string;
  model: string;
  tier: string;
  reasonCode: string;
  /** why, in a few words (e.g. "escalated after a failed answer") (default "") */
  reason?: string;
  /** False in what-if mode: the model the router would use with a key for it (default true) */
  callable?: boolean;
}

export interface SetCredentialsParams {
  provider: string;
  /** None or "" forgets the key pushed for this provider */
  apiKey?: string | null;
}

export interface SignalView {
  name: string;
  detail: string;
  weight: number;
}

export interface SourceView {
  label: string;
  benchmark: string;
  scaffold: string;
  tasks: number;
  url: string;
  licence: string;
  /** how its cost per task is measured, or why it has none */
  cost: string;
  /** catalog models it ran */
  models: number;
}

export interface Turn {
  role: "assistant" | "system" | "user";
  content: string;
}

export interface UsageParams {
  workspaceUri?: string | null;
  conversationId?: string | null;
  /** YYYY-MM-DD (local date) */
  day?: string | null;
}

export interface UsageResult {
  /** requests (distinct decisions) */
  requests: number;
  /** upstream calls (rows of the ledger) */
  attempts: number;
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
  costUsd: number;
  /** rows whose token counts were estimated */
  estimatedRows: number;
  savedVsBalancedUsd: number;
  savedVsFrontierUsd: number;
  /** what the answered requests would have cost on Balanced */
  balancedCostUsd: number;
  frontierCostUsd: number;
  /** model id -> its share of the answered requests */
  models: { [key: string]: ModelShare };
  /** ok | error | cancelled -> rows */
  outcomes: { [key: string]: number };
  byDay: DayUsage[];
  byWorkspace: WorkspaceUsage[];
}

export interface UsageTotals {
  /** requests (distinct decisions) */
  requests: number;
  /** upstream calls (rows of the ledger) */
  attempts: number;
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
  costUsd: number;
  /** rows whose token counts were estimated */
  estimatedRows: number;
  savedVsBalancedUsd: number;
  savedVsFrontierUsd: number;
  /** what the answered requests would have cost on Balanced */
  balancedCostUsd: number;
  frontierCostUsd: number;
}

export interface UsageView {
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
  estimated: boolean;
}

/** The user's own answers on a class and model, and the benchmark's rate updated with them. */
export interface UserResultView {
  accepted: number;
  /** rejected or failed answers */
  failed: number;
  /** the benchmark's rate (as a prior worth 10 answers) updated with the user's answers */
  rate: number;
  /** 80% interval of that rate */
  low: number;
  high: number;
}

export interface WorkspaceUsage {
  /** requests (distinct decisions) */
  requests: number;
  /** upstream calls (rows of the ledger) */
  attempts: number;
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
  costUsd: number;
  /** rows whose token counts were estimated */
  estimatedRows: number;
  savedVsBalancedUsd: number;
  savedVsFrontierUsd: number;
  /** what the answered requests would have cost on Balanced */
  balancedCostUsd: number;
  frontierCostUsd: number;
  /** Default "" */
  workspace?: string;
}

/** Every kilo/* request: its params and its result. */
export interface KiloRequests {
  "kilo/complete": { params: CompleteParams; result: CompleteResult };
  "kilo/dashboard": { params: DashboardParams; result: DashboardResult };
  "kilo/explain": { params: ExplainParams; result: DecisionCard | null };
  "kilo/leaderboard": { params: LeaderboardParams; result: LeaderboardResult };
  "kilo/resetOutcomes": { params: ResetOutcomesParams; result: ResetOutcomesResult };
  "kilo/route": { params: RouteParams; result: DecisionCard };
  "kilo/serverStatus": { params: ServerStatusParams; result: ServerStatusResult };
  "kilo/setCredentials": { params: SetCredentialsParams; result: CredentialsResult };
  "kilo/usage": { params: UsageParams; result: UsageResult };
}

/** Every kilo/* notification and its params. */
export interface KiloNotifications {
  "kilo/chunk": Chunk;
  "kilo/feedback": FeedbackParams;
  "kilo/status": SessionStatus;
}

export const KILO_REQUESTS = ["kilo/complete", "kilo/dashboard", "kilo/explain", "kilo/leaderboard", "kilo/resetOutcomes", "kilo/route", "kilo/serverStatus", "kilo/setCredentials", "kilo/usage"] as const;
export const KILO_NOTIFICATIONS = ["kilo/chunk", "kilo/feedback", "kilo/status"] as const;
export const SERVER_TO_CLIENT_NOTIFICATIONS = ["kilo/chunk", "kilo/status"] as const;
export type KiloRequest = keyof KiloRequests;
export type KiloNotification = keyof KiloNotifications;
