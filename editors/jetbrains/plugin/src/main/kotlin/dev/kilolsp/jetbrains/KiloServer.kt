package dev.kilolsp.jetbrains

import com.google.gson.JsonObject
import com.intellij.openapi.project.Project
import com.redhat.devtools.lsp4ij.LanguageServerFactory
import com.redhat.devtools.lsp4ij.client.LanguageClientImpl
import com.redhat.devtools.lsp4ij.server.ProcessStreamConnectionProvider
import com.redhat.devtools.lsp4ij.server.StreamConnectionProvider
import org.eclipse.lsp4j.jsonrpc.services.JsonNotification
import org.eclipse.lsp4j.jsonrpc.services.JsonRequest
import org.eclipse.lsp4j.services.LanguageServer
import java.util.concurrent.CompletableFuture
import java.util.concurrent.CopyOnWriteArrayList

/** The custom kilo/* requests (editors/schema/kilo-protocol.schema.json); JSON objects in and out. */
interface KiloServerApi : LanguageServer {
    @JsonRequest("kilo/route") fun route(params: JsonObject): CompletableFuture<JsonObject>
    @JsonRequest("kilo/explain") fun explain(params: JsonObject): CompletableFuture<JsonObject?>
    @JsonRequest("kilo/complete") fun complete(params: JsonObject): CompletableFuture<JsonObject>
    @JsonRequest("kilo/usage") fun usage(params: JsonObject): CompletableFuture<JsonObject>
}

/** Receives kilo/status and kilo/chunk and fans them out to the widget and the tool window. */
class KiloLanguageClient(project: Project) : LanguageClientImpl(project) {
    @JsonNotification("kilo/status")
    fun status(params: JsonObject) = KiloEvents.status(params)

    @JsonNotification("kilo/chunk")
    fun chunk(params: JsonObject) = KiloEvents.chunk(params)
}

object KiloEvents {
    @Volatile var lastStatus: JsonObject? = null
    val statusListeners = CopyOnWriteArrayList<(JsonObject) -> Unit>()
    val chunkListeners = CopyOnWriteArrayList<(JsonObject) -> Unit>()
    fun status(p: JsonObject) { lastStatus = p; statusListeners.forEach { it(p) } }
    fun chunk(p: JsonObject) = chunkListeners.forEach { it(p) }
}

class KiloServerFactory : LanguageServerFactory {
    override fun createConnectionProvider(project: Project): StreamConnectionProvider =
        object : ProcessStreamConnectionProvider() {
            init {
                // KILO_LSP_COMMAND overrides, e.g. "/path/to/python -m kilo_lsp --stdio"
                val custom = System.getenv("KILO_LSP_COMMAND")?.split(" ")?.filter { it.isNotBlank() }
                commands = custom ?: listOf("kilo-lsp", "--stdio")
            }
        }

    override fun createLanguageClient(project: Project): LanguageClientImpl = KiloLanguageClient(project)

    override fun getServerInterface(): Class<out LanguageServer> = KiloServerApi::class.java
}
