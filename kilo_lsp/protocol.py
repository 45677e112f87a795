"""Every kilo/* method and notification: its name, its params and its result. The one source of truth.

The types are msgspec Structs: they are structured from the JSON params with field-path errors
(``lsp.requests``), encoded to camelCase JSON as they are, and described by the JSON Schema that
``python -m kilo_lsp.schema`` prints (the editors' TypeScript types are generated from it).
protocol.md documents the same types; a test checks that the two agree.

A field's ``Doc`` is its description in the schema and in the generated TypeScript.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from msgspec import Meta, Struct

from .providers.known import KNOWN   # a plain table of provider names: no HTTP code
from .redaction import key_problem     # (no HTTP code either)

# -- method names ---------------------------------------------------------------------------
ROUTE = "kilo/route"
LEADERBOARD = "kilo/leaderboard"
EXPLAIN = "kilo/explain"
COMPLETE = "kilo/complete"
USAGE = "kilo/usage"
SET_CREDENTIALS = "kilo/setCredentials"
RESET_OUTCOMES = "kilo/resetOutcomes"
SERVER_STATUS = "kilo/serverStatus"
DASHBOARD = "kilo/dashboard"
STATUS = "kilo/status"            # server -> client notification: the session's model changed
CHUNK = "kilo/chunk"              # server -> client notification: one streamed text delta
FEEDBACK = "kilo/feedback"        # client -> server notification: how an answer worked out

REQUESTS: tuple[str, ...] = (ROUTE, LEADERBOARD, EXPLAIN, COMPLETE, USAGE, SET_CREDENTIALS, RESET_OUTCOMES,
                             SERVER_STATUS, DASHBOARD)
NOTIFICATIONS: tuple[str, ...] = (STATUS, CHUNK)          # server -> client
CLIENT_NOTIFICATIONS: tuple[str, ...] = (FEEDBACK,)       # client -> server

Tier = Literal["efficient", "balanced", "frontier", "free"]
Dial = Literal["bill", "bar"]


#: The longest text a request may carry (characters): far beyond any prompt, short of a memory problem.
MAX_TEXT = 20_000_000
Text = Annotated[str, Meta(max_length=MAX_TEXT)]


def Doc(text: str) -> Meta:  # noqa: N802 - reads as a type annotation
    """A field's description, for the schema and the generated editor types."""
    return Meta(description=text)


class Wire(Struct, frozen=True, rename="camel"):
    """Base of every protocol type: immutable, camelCase on the wire, unknown fields ignored."""


# -- params ---------------------------------------------------------------------------------
class Position(Wire):
    line: Annotated[int, Meta(ge=0)]
    character: Annotated[int, Meta(ge=0)]


class Range(Wire):
    start: Position
    end: Position


class Diagnostic(Wire):
    message: Text
    severity: Annotated[int, Doc("LSP DiagnosticSeverity: 1 error, 2 warning, 3 info, 4 hint")] = 1
    uri: str | None = None
    range: Range | None = None


class DiagnosticCounts(Wire):
    errors: int = 0
    warnings: int = 0


class EditorContext(Wire):
    active_uri: Annotated[str | None, Doc("the document the user is in")] = None
    selection: Annotated[Range | None, Doc("in the active document")] = None
    selected_text: Annotated[Text | None, Doc("when the client sends it; else read from the document")] = None
    language_id: str | None = None
    diagnostics: Annotated[list[Diagnostic] | None, Doc("full diagnostics, or...")] = None
    diagnostic_counts: Annotated[DiagnosticCounts | None, Doc("...only their counts")] = None
    referenced_uris: Annotated[list[str], Doc("other documents the request refers to")] = []


class Turn(Wire):
    role: Literal["user", "assistant", "system"]
    content: Text


class RouteParams(Wire):
    text: Annotated[Text, Doc("the request as the user typed it")]
    conversation_id: Annotated[str | None, Doc("a session key within the workspace folder")] = None
    workspace_uri: Annotated[str | None, Doc("the folder; else found from the active document")] = None
    turns: Annotated[list[Turn], Doc("earlier turns, oldest first")] = []
    context: EditorContext | None = None
    tier: Annotated[Tier | None, Doc("per-request overrides of the settings")] = None
    dial: Dial | None = None
    pin: str | None = None
    dry_run: Annotated[bool, Doc("decide without touching session state")] = False

    def __post_init__(self) -> None:
        if not self.text.strip():
            raise ValueError("text: must not be empty")


class LeaderboardParams(Wire):
    task_type: Annotated[str | None, Doc("restrict to one task type")] = None
    difficulty: int | None = None


class ExplainParams(Wire):
    workspace_uri: str | None = None
    conversation_id: str | None = None


class CompleteParams(RouteParams):
    """A kilo/route request plus what forwarding needs."""

    max_tokens: Annotated[Annotated[int, Meta(ge=1, le=1_000_000)] | None,
                          Doc("cap on the answer (default: min(4096, window / 4))")] = None
    temperature: Annotated[float, Meta(ge=0, le=2)] | None = None
    system: Annotated[str | None, Doc("replaces the default system prompt")] = None
    stream_id: Annotated[str | None, Doc("echoed in kilo/chunk; default: the decision id")] = None
    work_done_token: Annotated[str | int | None, Doc("LSP work-done progress token: progress while the answer streams")] = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.dry_run:
            raise ValueError("dryRun: kilo/complete always forwards; use kilo/route for a dry run")


class UsageParams(Wire):
    workspace_uri: str | None = None
    conversation_id: str | None = None
    day: Annotated[str | None, Doc("YYYY-MM-DD (local date)")] = None


class SetCredentialsParams(Wire):
    provider: str
    api_key: Annotated[str | None, Doc('None or "" forgets the key pushed for this provider')] = None

    def __post_init__(self) -> None:
        if not self.provider.strip():
            raise ValueError("provider: must not be empty")
        if self.provider not in KNOWN:
            takes = ", ".join(sorted(n for n, k in KNOWN.items() if not k.local))
            raise ValueError(f"provider: unknown provider {self.provider!r}; keys are taken for: {takes}")
        if KNOWN[self.provider].local:
            raise ValueError(f"provider: {self.provider} is a local server and takes no key")
        problem = key_problem(self.api_key) if self.api_key else None
        if problem:
            raise ValueError(f"apiKey: {problem}")     # never the key itself


# -- the decision card ------------------------------------------------------------------------
class SignalView(Wire):
    name: str
    detail: str
    weight: float


class UserResultView(Wire):
    """The user's own answers on a class and model, and the benchmark's rate updated with them."""

    accepted: int
    failed: Annotated[int, Doc("rejected or failed answers")]
    rate: Annotated[float, Doc("the benchmark's rate (as a prior worth 10 answers) updated with the user's answers")]
    low: Annotated[float, Doc("80% interval of that rate")]
    high: float


class Candidate(Wire):
    model: str
    provider: Annotated[str | None, Doc("provider it would be reached through; None when not callable")]
    callable: Annotated[bool, Doc("credentials or a local server make it usable now")]
    accuracy: Annotated[float | None, Doc("proven success rate for the class (None: no evidence)")]
    ci_low: float | None
    ci_high: float | None
    samples: int
    vs_balanced_low: Annotated[float | None, Doc("lower bound of (this model - Balanced) on paired tasks")]
    clears_bar: bool
    estimated_cost_usd: Annotated[float, Doc("this request, from its token estimate and list prices")]
    expected_cost_per_task_usd: Annotated[float | None, Doc("measured mean on the benchmark class")]
    note: str = ""
    source: Annotated[str | None, Doc("the benchmark (one scaffold's run) the evidence comes from")] = None
    borrowed: Annotated[bool, Doc("that benchmark does not measure this class's task")] = False
    rung: Annotated[int | None, Doc("place on the task's ladder, from 1 (None: not on it)")] = None
    yours: Annotated[UserResultView | None, Doc("your own answers on this class and model (None: none yet)")] = None


class RungView(Wire):
    """A rung of a ladder and what its benchmark says about it."""

    model: str
    solved: Annotated[float, Doc("tasks it solved: rung 1 of all the tasks the ladder was chosen on, each rung "
                                 "above of the tasks every rung below it failed (expected counts over trials)")]
    tried: float


class CostView(Wire):
    model: str
    estimated_cost_usd: float


class DecisionCard(Wire):
    decision_id: str
    model: str
    model_name: str
    provider: str | None
    provider_model_id: str | None
    callable: Annotated[bool, Doc("False in what-if mode (no credentials for the chosen model)")]
    what_if: Annotated[bool, Doc("no callable model was available: the choice is over the whole catalog")]
    tier: str
    dial: str
    task_type: str
    difficulty: int
    confidence: float
    type_confidence: float
    difficulty_confidence: float
    reason_code: str
    reason: str
    sticky: Annotated[bool, Doc("the conversation stays on the model of its previous turn")]
    escalated: Annotated[bool, Doc("moved to a model proven stronger than the conversation's")]
    fallback: Annotated[bool, Doc("went to Balanced, or the strongest callable model when Balanced cannot be called "
                                   "(low confidence, no evidence, an old client)")]
    task_class: Annotated[str, Doc("leaderboard class the evidence came from")]
    candidates: list[Candidate]
    estimated_input_tokens: int
    estimated_output_tokens: int
    estimated_cost_usd: float
    balanced: CostView
    frontier: CostView
    leaderboard_version: str
    classifier: str
    signals: list[SignalView]
    workspace: str
    conversation_id: str
    turn: Annotated[int, Doc("the user's turn in the conversation, from 1 (the client's turns when it sends them)")]
    ladder: Annotated[list[str], Doc("the task's ladder: the models it starts on and moves up through when an "
                                     "answer fails, cheapest first (empty outside routing)")] = []
    rung: Annotated[int | None, Doc("the chosen model's place on the ladder, from 1")] = None
    ladder_steps: Annotated[list[RungView], Doc("the ladder's benchmark figures per rung (empty when your ladder "
                                                "is not the shipped one: the figures depend on the rungs below)")] = []
    next_rung: Annotated[CostView | None, Doc("the model a failed answer moves to, and this request's cost "
                                              "there (None: at the top)")] = None
    continues_task: Annotated[bool, Doc("the turn continues the conversation's task")] = False
    failed_reason: Annotated[str, Doc("why the last answer on the task counts as failed (empty: it does not)")] = ""


class SessionStatus(Wire):
    """The kilo/status notification: the model of a session changed."""

    workspace: str
    conversation_id: str
    model: str
    tier: str
    reason_code: str
    reason: Annotated[str, Doc("why, in a few words (e.g. \"escalated after a failed answer\")")] = ""
    callable: Annotated[bool, Doc("False in what-if mode: the model the router would use with a key for it")] = True


# -- the leaderboard ----------------------------------------------------------------------------
class PricesView(Wire):
    """USD per million tokens."""

    input: float
    output: float
    cached_input: float


class ModelView(Wire):
    id: str
    name: str
    maker: str
    prices: PricesView
    context_window: int
    free: bool
    local: bool
    callable: bool
    provider: Annotated[str | None, Doc("the provider it is called through now; None when not callable")]
    routes: Annotated[dict[str, str], Doc("provider name -> model id at that provider")]


class PairedView(Wire):
    delta: float
    ci_low: float
    ci_high: float


class EvidenceView(Wire):
    model: str
    source: Annotated[str, Doc("the source of this row: a benchmark run by one scaffold (a key of sources)")]
    borrowed: Annotated[bool, Doc("the row's benchmark does not measure this class's task (see the class's borrowed)")]
    solved: int
    n: Annotated[int, Doc("tasks of the class this model has an outcome for in the source")]
    rate: float
    ci_low: float
    ci_high: float
    cost_per_request: Annotated[float | None, Doc("mean USD per task of the class as the source measures it; "
                                                  "None when the source has no cost")]
    vs_balanced: Annotated[PairedView | None, Doc("paired difference against Balanced on the same tasks of the "
                                                  "same source; None when Balanced is not in the source")]
    yours: Annotated[UserResultView | None, Doc("your own answers on this class and model (None: none yet)")] = None


class ClassView(Wire):
    label: str
    source: Annotated[str, Doc("the class's own source (a key of sources)")]
    borrowed: Annotated[str | None, Doc("why some or all of its evidence comes from a benchmark of another task; "
                                        "None when none does")]
    n_tasks: Annotated[int, Doc("tasks of the class in its own source")]
    best: str
    models: Annotated[list[EvidenceView], Doc("the rows routing reads, one per model, best rate first")]
    beside: Annotated[list[EvidenceView], Doc("rows of other benchmarks shown beside, not read by routing")]
    ladders: Annotated[dict[str, list[str]], Doc("dial -> the ladder a task of this class starts on, cheapest "
                                                 "first, before keeping the models you can call")] = {}
    ladder_source: Annotated[str, Doc("the source the ladders were chosen on")] = ""
    ladder_tasks: Annotated[int, Doc("on how many of its tasks")] = 0
    ladder_steps: Annotated[dict[str, list[RungView]], Doc("dial -> each rung's benchmark figures")] = {}


class SourceView(Wire):
    label: str
    benchmark: str
    scaffold: str
    tasks: int
    url: str
    licence: str
    cost: Annotated[str, Doc("how its cost per task is measured, or why it has none")]
    models: Annotated[int, Doc("catalog models it ran")]


class LeaderboardResult(Wire):
    version: str
    built_at: str
    path: str
    confidence_level: float
    balanced: str
    frontier: str
    sources: Annotated[dict[str, SourceView], Doc("source id -> where the evidence comes from")]
    models: list[ModelView]
    classes: dict[str, ClassView]


# -- forwarding -------------------------------------------------------------------------------
class Chunk(Wire):
    """The kilo/chunk notification: one text delta of a stream."""

    stream_id: str
    seq: Annotated[int, Doc("0, 1, 2, ... per stream")]
    text: str
    model: str
    provider: str


class Attempt(Wire):
    model: str
    provider: str
    provider_model_id: str
    outcome: Annotated[str, Doc("ok | error | cancelled | skipped")]
    error_kind: Annotated[str | None, Doc('ProviderError kind, or "cooling" for a skipped provider')] = None
    status: int | None = None
    message: str = ""
    retry_after: float | None = None
    ttft_ms: float | None = None
    ms: float = 0.0


class UsageView(Wire):
    input_tokens: int
    cached_input_tokens: int
    output_tokens: int
    estimated: bool


class PromptInfo(Wire):
    budget_tokens: Annotated[int, Doc("input budget for the model that answered")]
    estimated_tokens: Annotated[int, Doc("what the prompt sent is estimated at")]
    trimmed: Annotated[list[str], Doc('what was cut or left out, e.g. "document file:///a.py: 1200 of 9000 lines"')]


class ErrorView(Wire):
    kind: str
    message: str
    status: int | None = None
    retry_after: float | None = None


class CompleteResult(Wire):
    decision_id: str
    stream_id: str
    text: Annotated[str, Doc("the whole answer (partial when ``error`` is set)")]
    model: Annotated[str, Doc("the model that answered (may differ from card.model after failover)")]
    model_name: str
    provider: str
    provider_model_id: str
    finish_reason: Annotated[str, Doc("stop | length | ... | error | cancelled")]
    usage: UsageView
    cost_usd: float
    balanced_cost_usd: Annotated[float, Doc("the same tokens on Balanced / Frontier")]
    frontier_cost_usd: float
    ttft_ms: Annotated[float | None, Doc("from the request to the first token, routing included")]
    total_ms: float
    failed_over: bool
    attempts: list[Attempt]
    prompt: PromptInfo
    error: Annotated[ErrorView | None, Doc("set when the stream broke after the first token")]
    card: DecisionCard


class CompletionErrorData(Wire):
    """``data`` of the -32001 error kilo/complete answers when no model answered."""

    code: Annotated[str, Doc("no_model | budget | all_failed | refused")]
    retry_after: float | None
    attempts: list[Attempt]
    decision_id: str | None


class CredentialsResult(Wire):
    provider: str
    api_key: Annotated[str, Doc('masked: "sk-…abcd", "set" or "unset"')]
    callable_models: Annotated[int, Doc("models callable now, across all providers")]


# -- usage --------------------------------------------------------------------------------------
class UsageTotals(Wire):
    requests: Annotated[int, Doc("requests (distinct decisions)")]
    attempts: Annotated[int, Doc("upstream calls (rows of the ledger)")]
    input_tokens: int
    cached_input_tokens: int
    output_tokens: int
    cost_usd: float
    estimated_rows: Annotated[int, Doc("rows whose token counts were estimated")]
    saved_vs_balanced_usd: float
    saved_vs_frontier_usd: float
    balanced_cost_usd: Annotated[float, Doc("what the answered requests would have cost on Balanced")]
    frontier_cost_usd: float


class DayUsage(UsageTotals):
    day: str = ""


class WorkspaceUsage(UsageTotals):
    workspace: str = ""


class ModelShare(Wire):
    requests: int
    share: Annotated[float, Doc("of the answered requests")]
    cost_usd: float


class UsageResult(UsageTotals):
    models: Annotated[dict[str, ModelShare], Doc("model id -> its share of the answered requests")]
    outcomes: Annotated[dict[str, int], Doc("ok | error | cancelled -> rows")]
    by_day: list[DayUsage]
    by_workspace: list[WorkspaceUsage]


# -- the sidecar's state --------------------------------------------------------------------------
class ServerStatusParams(Wire):
    """kilo/serverStatus takes no params (an empty object or null)."""


class ProviderKeyView(Wire):
    """A provider kilo/setCredentials takes a key for."""

    name: Annotated[str, Doc("what kilo/setCredentials' provider names it")]
    label: Annotated[str, Doc("a name to show a person")]
    key_env: Annotated[str | None, Doc("the environment variable the sidecar reads its key from")]
    key_set: Annotated[bool, Doc("the sidecar has a key for it")]
    key_source: Annotated[str | None, Doc('where the key comes from: "env", "user-file", "editor"; None without a key')]


class LocalServerView(Wire):
    """A local model server, as last probed."""

    name: Annotated[str, Doc('its provider name: "ollama", "lmstudio", "local:127.0.0.1:8080"')]
    url: str
    reachable: Annotated[bool, Doc("it answered the last probe")]
    models: Annotated[list[str], Doc("the model ids it serves (kilo's ids are name/model)")]


class ModelChoice(Wire):
    """A model routing.pin takes."""

    id: str
    name: str
    callable: Annotated[bool, Doc("a key or a local server makes it usable now")]
    local: Annotated[bool, Doc("served by a local server")]


class ServerStatusResult(Wire):
    providers: Annotated[list[ProviderKeyView], Doc("every provider kilo/setCredentials accepts, in a stable order")]
    local_discovery: Annotated[Literal["off", "starting", "probing", "idle"], Doc(
        "off: local.discover is false; starting: before the first probe; probing: a probe is under way")]
    local_servers: Annotated[list[LocalServerView], Doc("the local servers the settings name, as last probed")]
    local_checked_seconds_ago: Annotated[float | None, Doc("since the last probe finished; None before the first")]
    callable_models: Annotated[int, Doc("models callable now, across all providers and local servers")]
    models: Annotated[list[ModelChoice], Doc("every model id routing.pin takes: the catalog and the local models, "
                                             "callable ones first")]
    settings_problems: Annotated[list[str], Doc("the settings problems in force (each also sent once with "
                                                "window/showMessage)")]


# -- executeCommand results (kilo.route, kilo.explain, kilo.ask) ---------------------------------
class CommandResult(Wire):
    """What kilo.route and kilo.explain answer (kilo.explain: null before the session's first route)."""

    card: DecisionCard
    message: Annotated[str, Doc("the one-line summary also shown with window/showMessage")]


class MessageResult(Wire):
    """What kilo.feedback answers."""

    message: Annotated[str, Doc("the one-line summary also shown with window/showMessage")]


class AskResult(Wire, omit_defaults=True):
    """What kilo.ask answers: the kilo/complete result, or why there is none."""

    answered: bool
    card: DecisionCard | None
    message: Annotated[str, Doc("the summary also shown with window/showMessage")]
    result: Annotated[CompleteResult | None, Doc("when answered")] = None
    reason: Annotated[str | None, Doc("when not answered: no_model | budget | all_failed | refused | cancelled")] = None
    document: Annotated[str | None, Doc("when answered and the client can show documents: the file URI of the "
                                        "whole answer, opened with window/showDocument")] = None


#: Each request's params and result types, by method: what the handlers structure and answer, and
#: what the schema describes. ``None`` as a result: the method may answer null.
class FeedbackParams(Wire):
    """The kilo/feedback notification: how the answer of a decision worked out."""

    decision_id: Annotated[str, Meta(min_length=1, max_length=200)]
    outcome: Annotated[Literal["accepted", "rejected", "failed"],
                       Doc("accepted: it worked; rejected: not used; failed: used and did not work")]
    reason: Annotated[Annotated[str, Meta(max_length=2000)] | None, Doc("in the user's words")] = None


class ResetOutcomesParams(Wire):
    task_class: Annotated[str | None, Doc("one class (e.g. bugfix:2); None: every class")] = None


class ResetOutcomesResult(Wire):
    removed: Annotated[int, Doc("outcomes forgotten")]


# -- the dashboard ------------------------------------------------------------------------------
class DashboardParams(Wire):
    page: Annotated[Literal["usage", "leaderboard", "decisions", "settings"] | None,
                    Doc("the page to open (default: usage and savings)")] = None
    workspace_uri: Annotated[Annotated[str, Meta(max_length=2048)] | None,
                             Doc("with conversationId: open that conversation's decisions")] = None
    conversation_id: Annotated[str, Meta(max_length=2048)] | None = None


class DashboardResult(Wire):
    url: Annotated[str, Doc("http://127.0.0.1:<port>/...?token=...: the dashboard the sidecar serves while it runs; "
                            "open it in a browser or a webview")]


METHOD_TYPES: dict[str, tuple[type, Any]] = {
    ROUTE: (RouteParams, DecisionCard),
    LEADERBOARD: (LeaderboardParams, LeaderboardResult),
    EXPLAIN: (ExplainParams, DecisionCard | None),
    COMPLETE: (CompleteParams, CompleteResult),
    USAGE: (UsageParams, UsageResult),
    SET_CREDENTIALS: (SetCredentialsParams, CredentialsResult),
    RESET_OUTCOMES: (ResetOutcomesParams, ResetOutcomesResult),
    SERVER_STATUS: (ServerStatusParams, ServerStatusResult),
    DASHBOARD: (DashboardParams, DashboardResult),
}
NOTIFICATION_TYPES: dict[str, type] = {STATUS: SessionStatus, CHUNK: Chunk}
CLIENT_NOTIFICATION_TYPES: dict[str, type] = {FEEDBACK: FeedbackParams}
