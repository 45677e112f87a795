package dev.kilolsp.jetbrains.core

import com.google.gson.Gson
import com.google.gson.JsonElement
import java.util.UUID
import java.util.concurrent.CompletableFuture
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.atomic.AtomicLong

// The plugin's behaviour with no IntelliJ API: what a question sends, how the answer streams into
// the tool window, the conversation, the status text. KiloUi.kt wires it to Swing and LSP4IJ; the
// tests drive it against the real sidecar and against responses recorded from it.

/** The kilo requests the plugin sends (KiloServerApi implements them through LSP4J). */
interface KiloApi {
    fun complete(params: CompleteParams): CompletableFuture<CompleteResult>
    fun route(params: RouteParams): CompletableFuture<DecisionCard>
    fun explain(params: ExplainParams): CompletableFuture<DecisionCard?>
    fun usage(params: UsageParams): CompletableFuture<UsageResult>
    fun setCredentials(params: SetCredentialsParams): CompletableFuture<CredentialsResult>
    fun serverStatus(params: ServerStatusParams): CompletableFuture<ServerStatusResult>
    fun dashboard(params: DashboardParams): CompletableFuture<DashboardResult>
    /** a notification: nothing comes back */
    fun feedback(params: FeedbackParams)
}

/** What the plugin sends as initializationOptions: who it is, and how this IDE sets a key (the
 * sidecar's error texts name that instead of a protocol method). */
fun initializationOptions(version: String): Map<String, Any> = mapOf(
    "editorPluginInfo" to mapOf("name" to "kilo-lsp-jetbrains", "version" to version),
    "editorCommands" to mapOf("setKey" to "Tools › Kilo › ${Actions.SET_KEY}"),
)

/** Where the plugin keeps keys between sessions (the IDE's password safe; a map in the tests). */
interface KeyStore {
    fun providers(): List<String>
    fun get(provider: String): String?
    fun set(provider: String, key: String?)
}

/** Pushes every stored key to a sidecar that just started (a new process holds none); the providers
 * it took. */
fun restoreKeys(api: KiloApi, store: KeyStore): CompletableFuture<List<String>> {
    val pushes = store.providers().mapNotNull { p -> store.get(p)?.let { key ->
        api.setCredentials(SetCredentialsParams(p, key)).handle { r, _ -> r?.provider } } }
    return CompletableFuture.allOf(*pushes.toTypedArray()).thenApply { pushes.mapNotNull { it.join() } }
}

/** The key picker's lines, one per provider the sidecar takes a key for, and the provider each names. */
fun keyChoices(status: ServerStatusResult): List<Pair<String, String>> = status.providers.map { p ->
    p.name to "${p.label} (${p.name})" + if (p.keySet) " — key set" + (p.keySource?.let { " ($it)" } ?: "") else ""
}

/** A JSON-RPC error answer (LSP4J's ResponseErrorException, as KiloUi.kt converts it). */
class RpcFailure(val code: Int, message: String, val data: JsonElement? = null) : RuntimeException(message)

/** The plugin's actions as Find Action and the Tools menu show them; error texts name these. */
object Actions {
    const val ASK = "Kilo: Ask"
    const val SET_KEY = "Kilo: Set API Key"
    const val INSTALL = "Kilo: Install Sidecar"
    const val RESTART = "Kilo: Restart Sidecar"
    const val DASHBOARD = "Kilo: Open Dashboard"
}

/** The dashboard's URL as it may be shown in a log: without its access token. */
fun redactedUrl(url: String): String = url.replace(Regex("([?&]token=)[^&#]*"), "$1…")

/** The dashboard's URL for a project (kilo/dashboard): the usage page, or a conversation's decisions
 * once it has turns. */
fun dashboardUrl(api: KiloApi, workspaceUri: String?, conversation: Conversation? = null): CompletableFuture<String> {
    val mine = conversation?.takeIf { it.turns.isNotEmpty() && workspaceUri != null }
    return api.dashboard(DashboardParams(if (mine != null) "decisions" else null, workspaceUri, mine?.id)).thenApply { it.url }
}

private val gson = Gson()

fun usd(x: Double, digits: Int = 4): String = "$" + "%.${digits}f".format(java.util.Locale.ROOT, x)

/** One editor's state, in the protocol's terms. */
data class EditorSnapshot(val uri: String, val languageId: String, val selection: Range?, val selectedText: String?,
                          val diagnostics: List<Diagnostic>)

const val MAX_DIAGNOSTICS = 50

/** The request's context: errors first, then the diagnostics nearest the selection, at most 50. */
fun editorContext(editor: EditorSnapshot?): EditorContext? {
    if (editor == null) return null
    fun distance(d: Diagnostic): Int {
        val sel = editor.selection ?: return 0
        val r = d.range ?: return 0
        return when {
            r.end.line < sel.start.line -> sel.start.line - r.end.line
            r.start.line > sel.end.line -> r.start.line - sel.end.line
            else -> 0
        }
    }
    val diagnostics = editor.diagnostics.sortedWith(compareBy<Diagnostic>({ it.severity }, { distance(it) })).take(MAX_DIAGNOSTICS)
    return EditorContext(editor.uri, editor.languageId, editor.selection, editor.selectedText.takeIf { editor.selection != null }, diagnostics)
}

/** What the tool window shows under a question: which file, lines and diagnostics went with it. */
fun contextLabel(c: EditorContext?): String {
    val uri = c?.activeUri ?: return "no editor"
    val file = java.net.URLDecoder.decode(uri.substringAfterLast('/'), "UTF-8")
    val sel = c.selection?.let {
        val last = if (it.end.character == 0 && it.end.line > it.start.line) it.end.line else it.end.line + 1
        ", lines ${it.start.line + 1}-$last"
    } ?: ""
    val diags = if (c.diagnostics.isNotEmpty()) ", ${c.diagnostics.size} diagnostics" else ""
    return "$file (${c.languageId ?: "?"}$sel$diags)"
}

/** One conversation: its id (the router's session key) and its turns, sent with every question. */
class Conversation(private val prefix: String = "jetbrains-chat") {
    var id: String = newId(); private set
    private val turnList = mutableListOf<Turn>()
    val turns: List<Turn> get() = turnList.toList()

    private fun newId() = "$prefix-${UUID.randomUUID().toString().substring(0, 8)}"

    fun record(question: String, answer: String) {
        turnList += Turn("user", question)
        if (answer.isNotEmpty()) turnList += Turn("assistant", answer)
    }

    fun reset() { id = newId(); turnList.clear() }
}

/** Chunks of the current stream in order; late, repeated and foreign chunks are dropped. */
class StreamBuffer(val streamId: String) {
    private var next = 0
    val text = StringBuilder()
    fun accept(c: Chunk): Boolean {
        if (c.streamId != streamId || c.seq < next) return false
        next = c.seq + 1
        text.append(c.text)
        return true
    }
}

fun answerFooter(r: CompleteResult): String {
    val saved = r.balancedCostUsd - r.costUsd
    val broke = r.error?.let { " · stopped: ${it.kind}" + if (it.message.isNotEmpty()) " (${it.message})" else "" }
        ?: if (r.finishReason != "stop") " · ${r.finishReason}" else ""
    return "${r.modelName} via ${r.provider} · ${usd(r.costUsd)}" +
        (if (saved > 0) " (saved ${usd(saved)} vs Balanced)" else "") +
        " · ${r.usage.outputTokens} tokens" + (if (r.usage.estimated) " (estimated)" else "") +
        " in ${"%.1f".format(java.util.Locale.ROOT, r.totalMs / 1000)} s" + (if (r.failedOver) " · failed over" else "") + broke +
        (r.card?.reason?.takeIf { it.isNotEmpty() }?.let { "\n$it" } ?: "")
}

fun previewLine(card: DecisionCard): String {
    val how = card.provider?.let { " via $it" } ?: ""
    val whatIf = if (card.whatIf) " (what-if: not callable now)" else ""
    return "${card.modelName}$how would answer: ${card.taskType.replace('_', ' ')}, difficulty ${card.difficulty}, " +
        "about ${usd(card.estimatedCostUsd)} (Balanced ${usd(card.balanced.estimatedCostUsd)})$whatIf. ${card.reason}"
}

/** What to tell the user when no answer came, naming the action that fixes it. */
fun askErrorText(e: RpcFailure): String {
    if (e.code == -32800) return "Cancelled."
    val data = e.data?.takeIf { it.isJsonObject }?.let { gson.fromJson(it, CompletionErrorData::class.java) }
    return when (data?.code) {
        // the sidecar names the action itself when it was given editorCommands
        "no_model" -> if (e.message?.contains(Actions.SET_KEY) == true) e.message!! else "No model can answer yet: ${e.message} " +
            "Add a key with \"${Actions.SET_KEY}\", or start a local server (Ollama, LM Studio, or one in the local.endpoints setting)."
        "budget" -> "${e.message} Raise budget.dailyUsdPerWorkspace, or use a local model."
        "all_failed" -> "Every model tried failed: ${e.message}" + (data.retryAfter?.let { " Retry in ${Math.ceil(it).toInt()} s." } ?: "")
        else -> "Error: ${e.message}"
    }
}

/** The status bar text: `Kilo: model · tier · $0.12 today`; `(not callable)` when the model the router
 * chose cannot be called now (what-if mode: no key for it). */
fun statusText(status: SessionStatus?, today: UsageResult?): String {
    val spend = today?.let { " · ${usd(it.costUsd, 2)} today" } ?: ""
    return (status?.let { "Kilo: ${it.model}${if (it.callable) "" else " (not callable)"} · ${it.tier}" } ?: "Kilo") + spend
}

/** What the tool window shows. */
interface ChatView {
    fun question(text: String, contextLabel: String)
    fun chunk(text: String)
    fun done(footer: String)
    fun error(message: String)
    fun note(text: String)
    fun cleared()
}

const val SERVER_MISSING = "The Kilo sidecar is not running. Run \"${Actions.INSTALL}\" to set it up, or \"${Actions.RESTART}\"; " +
    "the Language Servers view (LSP4IJ) shows why it stopped."

/**
 * The tool window's chat for one project: one conversation, one answer streaming at a time. `api`
 * gives the project's running server, or null when there is none (never started, crashed,
 * uninstalled): the chat then says so and keeps its conversation for when the server is back.
 */
class ChatController(
    private val api: () -> CompletableFuture<KiloApi?>,
    private val view: ChatView,
    private val workspaceUri: () -> String?,
    private val context: () -> EditorContext?,
    private val failure: (Throwable) -> RpcFailure? = { it as? RpcFailure },
) {
    val conversation = Conversation()
    @Volatile private var current: Pair<StreamBuffer, CompletableFuture<CompleteResult>>? = null
    private val counter = AtomicLong()
    var lastCard: DecisionCard? = null; private set
    @Volatile var lastAnswer: CompleteResult? = null; private set

    /** kilo/chunk notifications of this project (the language client fans them out). */
    fun onChunk(chunk: Chunk) {
        val (buffer, _) = current ?: return
        if (buffer.accept(chunk)) view.chunk(chunk.text)
    }

    private fun unwrap(t: Throwable): Throwable = if (t is java.util.concurrent.CompletionException && t.cause != null) t.cause!! else t

    fun ask(text: String): CompletableFuture<CompleteResult?> {
        val ctx = context()
        view.question(text, contextLabel(ctx))
        val streamId = "jetbrains-${System.currentTimeMillis()}-${counter.incrementAndGet()}"
        val buffer = StreamBuffer(streamId)
        val params = CompleteParams(text, conversation.id, workspaceUri(), conversation.turns, ctx, streamId)
        return api().thenCompose { server ->
            if (server == null) {
                view.error(SERVER_MISSING)
                CompletableFuture.completedFuture(null)
            } else {
                val request = server.complete(params)
                current = buffer to request
                request.handle { result, err ->
                    current = null
                    if (err == null && result != null) {
                        lastCard = result.card
                        lastAnswer = result
                        conversation.record(text, result.text)
                        if (buffer.text.isEmpty()) view.chunk(result.text)
                        view.done(answerFooter(result))
                        result
                    } else {
                        val cause = err?.let { unwrap(it) }
                        val rpc = cause?.let(failure)
                        val message = when {
                            cause is java.util.concurrent.CancellationException -> "Cancelled."
                            rpc != null -> askErrorText(rpc)
                            else -> "Error: ${cause?.message}"
                        }
                        if (buffer.text.isNotEmpty()) conversation.record(text, buffer.text.toString())
                        view.error(message)
                        null
                    }
                }
            }
        }
    }

    /** The last answer did not work (or did): the sidecar counts it, and a failed one moves the task a rung up. */
    fun feedback(outcome: String, reason: String? = null): CompletableFuture<Boolean> {
        val answer = lastAnswer ?: return CompletableFuture.completedFuture(false)
        return api().thenApply { server ->
            server?.feedback(FeedbackParams(answer.decisionId, outcome, reason))
            if (server != null) view.note(if (outcome == "failed") "Noted: the next answer on this task goes one model up." else "Noted.")
            server != null
        }
    }

    /** Cancel the answer streaming now: LSP4J sends $/cancelRequest and the sidecar closes the upstream. */
    fun cancel(): Boolean = current?.second?.cancel(true) ?: false

    fun newConversation() {
        cancel()
        conversation.reset()
        view.cleared()
    }

    fun preview(text: String): CompletableFuture<DecisionCard?> =
        api().thenCompose { server ->
            if (server == null) { view.error(SERVER_MISSING); CompletableFuture.completedFuture(null) }
            else server.route(RouteParams(text, conversation.id, workspaceUri(), conversation.turns, context(), dryRun = true))
                .handle { card, err ->
                    if (card != null) view.note(previewLine(card)) else view.error("Error: ${err?.let { unwrap(it).message }}")
                    card
                }
        }
}

/** A project's Kilo state: the chat, the last status and today's usage. Lives as long as the project. */
class ProjectState(api: () -> CompletableFuture<KiloApi?>, view: ChatView, workspaceUri: () -> String?,
                   context: () -> EditorContext?, failure: (Throwable) -> RpcFailure? = { it as? RpcFailure }) {
    val chat = ChatController(api, view, workspaceUri, context, failure)
    @Volatile var status: SessionStatus? = null; private set
    @Volatile var today: UsageResult? = null
    val listeners = CopyOnWriteArrayList<() -> Unit>()

    fun onStatus(s: SessionStatus) { status = s; listeners.forEach { it() } }
    fun statusText(): String = statusText(status, today)
}
