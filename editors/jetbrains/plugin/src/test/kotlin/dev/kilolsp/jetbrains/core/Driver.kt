package dev.kilolsp.jetbrains.core

import com.google.gson.Gson
import com.google.gson.GsonBuilder
import com.google.gson.JsonElement
import com.google.gson.JsonNull
import com.google.gson.JsonObject
import com.google.gson.JsonParser
import java.io.File
import java.io.InputStream
import java.io.OutputStream
import java.util.concurrent.CompletableFuture
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger

// Drives the plugin's protocol layer (the core package) without an IDE, for tests/test_editors_jetbrains.py.
// In the IDE, LSP4J carries the requests; here a small JSON-RPC client over the sidecar's stdio does,
// with Gson as LSP4J uses it. Every event is printed as one JSON line for the test to check.

private val gson: Gson = GsonBuilder().create()

fun emit(event: String, vararg pairs: Pair<String, Any?>) {
    val o = JsonObject()
    o.addProperty("event", event)
    for ((k, v) in pairs) o.add(k, gson.toJsonTree(v))
    println(gson.toJson(o))
    System.out.flush()
}

/** A JSON-RPC client on the sidecar's stdin/stdout, implementing KiloApi as LSP4J does for the plugin. */
class StdioKiloApi(private val input: InputStream, private val output: OutputStream) : KiloApi {
    private val ids = AtomicInteger()
    private val pending = ConcurrentHashMap<Int, Pair<CompletableFuture<JsonElement?>, Int>>()
    var onChunk: (Chunk) -> Unit = {}
    var onStatus: (SessionStatus) -> Unit = {}
    val reader = Thread { readLoop() }.also { it.isDaemon = true; it.start() }

    @Synchronized private fun write(message: JsonObject) {
        message.addProperty("jsonrpc", "2.0")
        val body = gson.toJson(message).toByteArray(Charsets.UTF_8)
        output.write("Content-Length: ${body.size}\r\n\r\n".toByteArray(Charsets.US_ASCII))
        output.write(body)
        output.flush()
    }

    private fun readLoop() {
        val buf = input.buffered()
        while (true) {
            var length = -1
            while (true) {
                val line = StringBuilder()
                while (true) { val c = buf.read(); if (c < 0) return; if (c == '\n'.code) break; if (c != '\r'.code) line.append(c.toChar()) }
                if (line.isEmpty()) break
                if (line.startsWith("Content-Length:")) length = line.substring(15).trim().toInt()
            }
            val body = ByteArray(length)
            var read = 0
            while (read < length) { val n = buf.read(body, read, length - read); if (n < 0) return; read += n }
            handle(JsonParser.parseString(String(body, Charsets.UTF_8)).asJsonObject)
        }
    }

    private fun handle(m: JsonObject) {
        val method = m.get("method")?.asString
        if (method != null && m.has("id")) {           // a request from the server: workspace/configuration, progress, registrations
            val result: JsonElement = if (method == "workspace/configuration") gson.toJsonTree(m["params"].asJsonObject["items"].asJsonArray.map { JsonNull.INSTANCE }) else JsonNull.INSTANCE
            write(JsonObject().apply { add("id", m["id"]); add("result", result) })
        } else if (method == "kilo/chunk") onChunk(gson.fromJson(m["params"], Chunk::class.java))
        else if (method == "kilo/status") onStatus(gson.fromJson(m["params"], SessionStatus::class.java))
        else if (method == null) {
            val (future, _) = pending.remove(m["id"].asInt) ?: return
            val err = m["error"]
            if (err != null && !err.isJsonNull) {
                val e = err.asJsonObject
                future.completeExceptionally(RpcFailure(e["code"].asInt, e["message"].asString, e["data"]))
            } else future.complete(m["result"])
        }
    }

    @Suppress("UNCHECKED_CAST")
    fun <R> request(method: String, params: Any?, type: Class<*>): CompletableFuture<R> {
        val id = ids.incrementAndGet()
        val raw = CompletableFuture<JsonElement?>()
        pending[id] = raw to id
        write(JsonObject().apply { addProperty("id", id); addProperty("method", method); add("params", gson.toJsonTree(params)) })
        val typed = object : CompletableFuture<R>() {
            override fun cancel(mayInterruptIfRunning: Boolean): Boolean {
                // as LSP4J does: cancelling the future sends $/cancelRequest
                write(JsonObject().apply { addProperty("method", "\$/cancelRequest"); add("params", JsonObject().apply { addProperty("id", id) }) })
                return super.cancel(mayInterruptIfRunning)
            }
        }
        raw.whenComplete { r, e -> if (e != null) typed.completeExceptionally(e) else typed.complete(if (r == null || r.isJsonNull) null as R else gson.fromJson(r, type) as R) }
        return typed
    }

    fun notify(method: String, params: Any?) = write(JsonObject().apply { addProperty("method", method); add("params", gson.toJsonTree(params)) })

    override fun complete(params: CompleteParams) = request<CompleteResult>("kilo/complete", params, CompleteResult::class.java)
    override fun route(params: RouteParams) = request<DecisionCard>("kilo/route", params, DecisionCard::class.java)
    override fun explain(params: ExplainParams) = request<DecisionCard?>("kilo/explain", params, DecisionCard::class.java)
    override fun usage(params: UsageParams) = request<UsageResult>("kilo/usage", params, UsageResult::class.java)
    override fun setCredentials(params: SetCredentialsParams) = request<CredentialsResult>("kilo/setCredentials", params, CredentialsResult::class.java)
    override fun feedback(params: FeedbackParams) = notify("kilo/feedback", params)
    override fun serverStatus(params: ServerStatusParams) = request<ServerStatusResult>("kilo/serverStatus", params, ServerStatusResult::class.java)
    override fun dashboard(params: DashboardParams) = request<DashboardResult>("kilo/dashboard", params, DashboardResult::class.java)
}

class PrintingView : ChatView {
    val answer = StringBuilder()
    override fun question(text: String, contextLabel: String) { answer.setLength(0); emit("question", "text" to text, "context" to contextLabel) }
    override fun chunk(text: String) { answer.append(text); emit("chunk", "text" to text) }
    override fun done(footer: String) = emit("done", "footer" to footer, "answer" to answer.toString())
    override fun error(message: String) = emit("error", "message" to message, "answer" to answer.toString())
    override fun note(text: String) = emit("note", "text" to text)
    override fun cleared() = emit("cleared")
}

/** `live WORKSPACE FILE`: a chat session against the sidecar this process starts (KILO_PYTHON). */
fun live(workspace: File, file: File) {
    val python = System.getenv("KILO_PYTHON") ?: error("KILO_PYTHON is not set")
    val process = ProcessBuilder(python, "-m", "kilo_lsp", "--stdio").redirectError(ProcessBuilder.Redirect.INHERIT).start()
    val api = StdioKiloApi(process.inputStream, process.outputStream)
    val init = api.request<JsonObject>("initialize", mapOf("processId" to null, "rootUri" to workspace.toURI().toString(), "capabilities" to emptyMap<String, Any>(),
        "initializationOptions" to initializationOptions("0.1.0")), JsonObject::class.java)
        .get(30, TimeUnit.SECONDS)
    emit("initialized", "protocol" to init["capabilities"].asJsonObject["experimental"].asJsonObject["kilo"].asJsonObject["protocolVersion"].asString)
    api.notify("initialized", emptyMap<String, Any>())

    var server: KiloApi? = null
    val view = PrintingView()
    val uri = file.toURI().toString().replace("file:/", "file:///").replace("file:////", "file:///")
    val lines = file.readLines()
    val snapshot = EditorSnapshot(uri, "python", Range(Position(1, 0), Position(4, 0)), lines.subList(1, 4).joinToString("\n") + "\n",
        listOf(Diagnostic("\"item\" is possibly unbound", 2, uri, Range(Position(3, 8), Position(3, 12)))))
    val state = ProjectState({ CompletableFuture.completedFuture(server) }, view, { workspace.toURI().toString() }, { editorContext(snapshot) })
    api.onChunk = state.chat::onChunk
    api.onStatus = { s -> state.onStatus(s); emit("status", "text" to state.statusText()) }

    fun ask(text: String) = state.chat.ask(text).get(60, TimeUnit.SECONDS)

    ask("before the sidecar is up")                                     // the server is missing: said so, nothing lost
    emit("turns", "conversation" to state.chat.conversation.id, "turns" to state.chat.conversation.turns)
    server = api
    val first = ask("why can checkout fail?")
    emit("result", "decisionId" to first?.decisionId, "turn" to first?.card?.turn, "conversation" to first?.card?.conversationId)
    state.chat.feedback("failed", "it still raises").get(30, TimeUnit.SECONDS)         // the user says the first answer did not work
    val second = ask("and how do I fix it?")
    emit("result", "decisionId" to second?.decisionId, "turn" to second?.card?.turn, "conversation" to second?.card?.conversationId,
        "failedReason" to second?.card?.failedReason)
    state.chat.preview("rewrite it with sum()").get(30, TimeUnit.SECONDS)
    val last = api.explain(ExplainParams(workspace.toURI().toString(), state.chat.conversation.id)).get(30, TimeUnit.SECONDS)
    emit("explain", "decisionId" to last?.decisionId, "turn" to last?.turn)
    state.today = api.usage(UsageParams(workspace.toURI().toString())).get(30, TimeUnit.SECONDS)
    emit("statusText", "text" to state.statusText(), "costUsd" to state.today?.costUsd, "requests" to state.today?.requests)

    // cancel once the first chunk of a long answer arrived
    val firstChunk = CompletableFuture<Unit>()
    api.onChunk = { c -> state.chat.onChunk(c); firstChunk.complete(Unit) }
    val pendingAsk = state.chat.ask("write a long story")
    firstChunk.get(30, TimeUnit.SECONDS)
    emit("cancelling", "cancelled" to state.chat.cancel())
    pendingAsk.get(30, TimeUnit.SECONDS)
    emit("turns", "conversation" to state.chat.conversation.id, "turns" to state.chat.conversation.turns)
    api.onChunk = state.chat::onChunk

    state.chat.newConversation()
    val fresh = ask("a new question")
    emit("result", "decisionId" to fresh?.decisionId, "turn" to fresh?.card?.turn, "conversation" to fresh?.card?.conversationId)
    emit("turns", "conversation" to state.chat.conversation.id, "turns" to state.chat.conversation.turns)

    val status = api.serverStatus(ServerStatusParams()).get(30, TimeUnit.SECONDS)
    emit("keyChoices", "choices" to keyChoices(status).map { it.second }, "providers" to status.providers.map { it.name })
    // keys the plugin stored, pushed as after a restart: the sidecar reports them set from the editor
    val store = object : KeyStore {
        val keys = mutableMapOf("anthropic" to "sk-ant-" + "test-0000000000000000KEY", "no-such-provider" to "x")
        override fun providers() = keys.keys.toList()
        override fun get(provider: String) = keys[provider]
        override fun set(provider: String, key: String?) { if (key == null) keys.remove(provider) else keys[provider] = key }
    }
    val took = restoreKeys(api, store).get(30, TimeUnit.SECONDS)
    val after = api.serverStatus(ServerStatusParams()).get(30, TimeUnit.SECONDS).providers.first { it.name == "anthropic" }
    emit("restored", "took" to took, "keySet" to after.keySet, "keySource" to after.keySource)
    api.request<JsonElement?>("shutdown", null, JsonElement::class.java).get(30, TimeUnit.SECONDS)
    api.notify("exit", null)
    process.waitFor(10, TimeUnit.SECONDS)
    emit("end")
}

/** `nokey WORKSPACE`: a sidecar without keys or local servers: the no-model error as the tool window shows it. */
fun nokey(workspace: File) {
    val python = System.getenv("KILO_PYTHON") ?: error("KILO_PYTHON is not set")
    val process = ProcessBuilder(python, "-m", "kilo_lsp", "--stdio").redirectError(ProcessBuilder.Redirect.INHERIT).start()
    val api = StdioKiloApi(process.inputStream, process.outputStream)
    api.request<JsonObject>("initialize", mapOf("processId" to null, "rootUri" to workspace.toURI().toString(), "capabilities" to emptyMap<String, Any>(),
        "initializationOptions" to initializationOptions("0.1.0")), JsonObject::class.java).get(30, TimeUnit.SECONDS)
    api.notify("initialized", emptyMap<String, Any>())
    val view = PrintingView()
    val chat = ChatController({ CompletableFuture.completedFuture(api) }, view, { workspace.toURI().toString() }, { null })
    api.onStatus = { s -> emit("status", "text" to statusText(s, null), "callable" to s.callable) }
    chat.ask("why does checkout fail?").get(60, TimeUnit.SECONDS)
    // Open Dashboard: the URL the sidecar answers, fetched with and without its token (never printed)
    val url = dashboardUrl(api, workspace.toURI().toString(), chat.conversation).get(30, TimeUnit.SECONDS)
    fun status(u: String): Int = (java.net.URI(u).toURL().openConnection() as java.net.HttpURLConnection).run {
        connectTimeout = 10000; readTimeout = 10000; try { responseCode } finally { disconnect() } }
    val token = Regex("[?&]token=([^&]+)").find(url)?.groupValues?.get(1) ?: ""
    emit("dashboard", "loopback" to url.startsWith("http://127.0.0.1:"), "withToken" to status(url),
        "withoutToken" to status(url.replace(Regex("[?&]token=[^&]+"), "")), "redacted" to redactedUrl(url),
        "redactedHasToken" to (token.isNotEmpty() && redactedUrl(url).contains(token)))
    api.request<JsonElement?>("shutdown", null, JsonElement::class.java).get(30, TimeUnit.SECONDS)
    api.notify("exit", null)
    process.waitFor(10, TimeUnit.SECONDS)
    emit("end")
}

/** `recorded FILE...`: each recorded kilo response read into the plugin's types, and what the plugin shows for it. */
fun recorded(files: List<File>) {
    for (f in files) {
        val doc = JsonParser.parseString(f.readText()).asJsonObject
        emit("file", "name" to f.name)
        for (entry in doc["exchanges"]?.asJsonArray ?: continue) {
            val e = entry.asJsonObject
            val method = e["method"]?.asString ?: continue
            val result = e["result"] ?: continue
            if (result.isJsonNull) continue
            when (method) {
                "kilo/complete" -> emit("complete", "id" to e["id"]?.asString, "footer" to answerFooter(gson.fromJson(result, CompleteResult::class.java)))
                "kilo/usage" -> { val u = gson.fromJson(result, UsageResult::class.java)
                    emit("usage", "id" to e["id"]?.asString, "status" to statusText(null, u), "days" to u.byDay.map { it.day }) }
                "kilo/serverStatus" -> emit("serverStatus", "choices" to keyChoices(gson.fromJson(result, ServerStatusResult::class.java)).map { it.first })
                "kilo/route" -> emit("route", "id" to e["id"]?.asString, "preview" to previewLine(gson.fromJson(result, DecisionCard::class.java)))
            }
        }
    }
}

/** `install DATA BUNDLED [PROJECT]`: find an existing sidecar, else set one up from the bundled wheel. */
fun install(dataDir: File, bundledDir: File, projectDir: File?) {
    val installer = Installer(dataDir, bundledDir)
    val (found, tried) = installer.find(projectDir)
    emit("find", "found" to found, "tried" to tried)
    if (found != null) return
    try {
        val made = installer.install({ step -> emit("step", "text" to step) })
        emit("installed", "sidecar" to made)
        emit("find", "found" to installer.find(projectDir).first)
    } catch (e: InstallError) {
        emit("installError", "message" to e.message)
    }
}

fun main(args: Array<String>) {
    System.setOut(java.io.PrintStream(java.io.FileOutputStream(java.io.FileDescriptor.out), true, "UTF-8"))
    when (args.firstOrNull()) {
        "live" -> live(File(args[1]), File(args[2]))
        "nokey" -> nokey(File(args[1]))
        "recorded" -> recorded(args.drop(1).map(::File))
        "install" -> install(File(args[1]), File(args[2]), args.getOrNull(3)?.let(::File))
        else -> error("usage: live WORKSPACE FILE | recorded FILE... | install DATA BUNDLED [PROJECT]")
    }
    System.exit(0)
}
