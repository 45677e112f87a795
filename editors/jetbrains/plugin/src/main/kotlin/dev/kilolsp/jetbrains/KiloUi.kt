package dev.kilolsp.jetbrains

import com.google.gson.JsonObject
import com.intellij.openapi.application.ApplicationManager
import com.intellij.openapi.project.Project
import com.intellij.openapi.ui.Messages
import com.intellij.openapi.wm.StatusBar
import com.intellij.openapi.wm.StatusBarWidget
import com.intellij.openapi.wm.StatusBarWidgetFactory
import com.intellij.openapi.wm.ToolWindow
import com.intellij.openapi.wm.ToolWindowFactory
import com.intellij.ui.components.JBScrollPane
import com.intellij.ui.content.ContentFactory
import com.redhat.devtools.lsp4ij.LanguageServerManager
import java.awt.BorderLayout
import java.util.UUID
import java.util.concurrent.CompletableFuture
import javax.swing.JButton
import javax.swing.JPanel
import javax.swing.JTextArea
import javax.swing.JTextField

/** The kilo server of a project, started on demand by LSP4IJ. */
fun kiloServer(project: Project): CompletableFuture<KiloServerApi?> =
    LanguageServerManager.getInstance(project).getLanguageServer("kilo")
        .thenApply { item -> item?.server as? KiloServerApi }

/** Status bar: "Kilo: <model> · <tier>"; click shows the last decision (kilo/explain). */
class KiloStatusWidget(private val project: Project) : StatusBarWidget, StatusBarWidget.TextPresentation {
    private var bar: StatusBar? = null
    private val listener: (JsonObject) -> Unit = { ApplicationManager.getApplication().invokeLater { bar?.updateWidget(ID()) } }

    override fun ID() = "kilo.status"
    override fun install(statusBar: StatusBar) { bar = statusBar; KiloEvents.statusListeners.add(listener) }
    override fun dispose() { KiloEvents.statusListeners.remove(listener) }
    override fun getPresentation() = this
    override fun getText(): String = KiloEvents.lastStatus?.let {
        "Kilo: ${it.get("model").asString} · ${it.get("tier").asString}"
    } ?: "Kilo"
    override fun getTooltipText() = "Kilo: click for the last routing decision"
    override fun getAlignment() = 0f
    override fun getClickConsumer() = com.intellij.util.Consumer<java.awt.event.MouseEvent> {
        kiloServer(project).thenCompose { s -> s?.explain(JsonObject()) ?: CompletableFuture.completedFuture(null) }
            .thenAccept { card ->
                val text = card?.let { "${it["modelName"].asString} (${it["model"].asString})\n${it["reason"].asString}\n" +
                    "Estimated cost: $${"%.4f".format(it["estimatedCostUsd"].asDouble)}" } ?: "No decision yet."
                ApplicationManager.getApplication().invokeLater { Messages.showInfoMessage(project, text, "Kilo: last decision") }
            }
    }
}

class KiloStatusWidgetFactory : StatusBarWidgetFactory {
    override fun getId() = "kilo.status"
    override fun getDisplayName() = "Kilo"
    override fun createWidget(project: Project): StatusBarWidget = KiloStatusWidget(project)
}

/** Ask tool window: a prompt, the streamed answer (kilo/chunk), then who answered, why and the cost. */
class KiloToolWindowFactory : ToolWindowFactory {
    override fun createToolWindowContent(project: Project, toolWindow: ToolWindow) {
        val output = JTextArea().apply { isEditable = false; lineWrap = true }
        val prompt = JTextField()
        val ask = JButton("Ask")
        var streamId = ""
        KiloEvents.chunkListeners.add { p ->
            if (p["streamId"].asString == streamId) {
                ApplicationManager.getApplication().invokeLater { output.append(p["text"].asString) }
            }
        }
        ask.addActionListener {
            val text = prompt.text.trim()
            if (text.isEmpty()) return@addActionListener
            streamId = "jetbrains-" + UUID.randomUUID()
            output.append("\n> $text\n")
            val params = JsonObject().apply { addProperty("text", text); addProperty("streamId", streamId) }
            kiloServer(project).thenCompose { s -> s!!.complete(params) }.whenComplete { r, err ->
                ApplicationManager.getApplication().invokeLater {
                    if (err != null) output.append("\n[error] ${err.message}\n")
                    else output.append("\n-- ${r["modelName"].asString} via ${r["provider"].asString} · " +
                        "$${"%.4f".format(r["costUsd"].asDouble)}\n${r["card"].asJsonObject["reason"].asString}\n")
                }
            }
        }
        val panel = JPanel(BorderLayout()).apply {
            add(JBScrollPane(output), BorderLayout.CENTER)
            add(JPanel(BorderLayout()).apply { add(prompt, BorderLayout.CENTER); add(ask, BorderLayout.EAST) }, BorderLayout.SOUTH)
        }
        toolWindow.contentManager.addContent(ContentFactory.getInstance().createContent(panel, "Ask", false))
    }
}
