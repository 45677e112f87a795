package dev.kilolsp.jetbrains

import com.intellij.codeInsight.daemon.impl.DaemonCodeAnalyzerImpl
import com.intellij.ide.BrowserUtil
import com.intellij.lang.annotation.HighlightSeverity
import com.intellij.notification.NotificationGroupManager
import com.intellij.notification.NotificationType
import com.intellij.openapi.actionSystem.AnAction
import com.intellij.openapi.actionSystem.AnActionEvent
import com.intellij.openapi.application.ApplicationManager
import com.intellij.openapi.components.Service
import com.intellij.openapi.components.service
import com.intellij.openapi.editor.Editor
import com.intellij.openapi.fileEditor.FileEditorManager
import com.intellij.openapi.progress.ProgressIndicator
import com.intellij.openapi.progress.ProgressManager
import com.intellij.openapi.progress.Task
import com.intellij.openapi.project.Project
import com.intellij.openapi.startup.ProjectActivity
import com.intellij.openapi.ui.Messages
import com.intellij.openapi.wm.StatusBar
import com.intellij.openapi.wm.StatusBarWidget
import com.intellij.openapi.wm.StatusBarWidgetFactory
import com.intellij.openapi.wm.ToolWindow
import com.intellij.openapi.wm.ToolWindowFactory
import com.intellij.openapi.wm.ToolWindowManager
import com.intellij.ui.components.JBScrollPane
import com.intellij.ui.content.ContentFactory
import com.redhat.devtools.lsp4ij.LanguageServerManager
import dev.kilolsp.jetbrains.core.Actions
import dev.kilolsp.jetbrains.core.ChatView
import dev.kilolsp.jetbrains.core.Chunk
import dev.kilolsp.jetbrains.core.Diagnostic
import dev.kilolsp.jetbrains.core.EditorSnapshot
import dev.kilolsp.jetbrains.core.InstallError
import dev.kilolsp.jetbrains.core.Position
import dev.kilolsp.jetbrains.core.ProjectState
import dev.kilolsp.jetbrains.core.Range
import dev.kilolsp.jetbrains.core.SessionStatus
import dev.kilolsp.jetbrains.core.SERVER_MISSING
import dev.kilolsp.jetbrains.core.ServerStatusParams
import dev.kilolsp.jetbrains.core.SetCredentialsParams
import dev.kilolsp.jetbrains.core.keyChoices
import dev.kilolsp.jetbrains.core.dashboardUrl
import dev.kilolsp.jetbrains.core.UsageParams
import dev.kilolsp.jetbrains.core.editorContext
import java.awt.BorderLayout
import java.awt.FlowLayout
import java.io.File
import java.time.LocalDate
import javax.swing.JButton
import javax.swing.JPanel
import javax.swing.JTextArea

/** Swing side of the chat: appends to the tool window's text area on the event thread. */
class TextAreaChatView(private val area: JTextArea) : ChatView {
    private fun ui(block: () -> Unit) = ApplicationManager.getApplication().invokeLater(block)
    override fun question(text: String, contextLabel: String) = ui { area.append("\n> $text\n  [context: $contextLabel]\n") }
    override fun chunk(text: String) = ui { area.append(text) }
    override fun done(footer: String) = ui { area.append("\n-- $footer\n") }
    override fun error(message: String) = ui { area.append("\n[$message]\n") }
    override fun note(text: String) = ui { area.append("\n($text)\n") }
    override fun cleared() = ui { area.text = "New conversation.\n" }
}

/** The file, selection, language and diagnostics of the editor the user was in (the tool window does
 * not change the selected editor). */
fun snapshot(project: Project): EditorSnapshot? {
    val editor: Editor = FileEditorManager.getInstance(project).selectedTextEditor ?: return null
    val file = FileEditorManager.getInstance(project).selectedFiles.firstOrNull() ?: return null
    val doc = editor.document
    fun pos(offset: Int): Position { val line = doc.getLineNumber(offset); return Position(line, offset - doc.getLineStartOffset(line)) }
    val sel = editor.selectionModel
    val selection = if (sel.hasSelection()) Range(pos(sel.selectionStart), pos(sel.selectionEnd)) else null
    val uri = file.url
    val diagnostics = DaemonCodeAnalyzerImpl.getHighlights(doc, HighlightSeverity.WEAK_WARNING, project).mapNotNull { h ->
        val severity = when {
            h.severity >= HighlightSeverity.ERROR -> 1
            h.severity >= HighlightSeverity.WARNING -> 2
            else -> 3
        }
        h.description?.let { Diagnostic(it, severity, uri, Range(pos(h.startOffset), pos(h.endOffset))) }
    }
    return EditorSnapshot(uri, file.fileType.name.lowercase(), selection, sel.selectedText, diagnostics)
}

/** A project's Kilo state: its chat (one conversation, survives a missing or restarted server) and status. */
@Service(Service.Level.PROJECT)
class KiloProjectService(private val project: Project) {
    val area = JTextArea().apply { isEditable = false; lineWrap = true; wrapStyleWord = true }
    val state = ProjectState({ kiloServer(project) }, TextAreaChatView(area), { project.basePath?.let { File(it).toURI().toString() } },
        { editorContext(snapshot(project)) }, ::rpcFailure)

    fun onStatus(status: SessionStatus) = state.onStatus(status)
    fun onChunk(chunk: Chunk) = state.chat.onChunk(chunk)

    /** Today's spend for the status bar, after every answer. */
    fun refreshToday() {
        kiloServer(project).thenCompose { s -> s?.usage(UsageParams(project.basePath?.let { File(it).toURI().toString() }, day = LocalDate.now().toString()))
            ?: java.util.concurrent.CompletableFuture.completedFuture(null) }
            .thenAccept { u -> if (u != null) { state.today = u; state.listeners.forEach { it() } } }
    }

    fun ask(text: String) { state.chat.ask(text).thenRun { refreshToday() } }
}

/** Kilo tool window: a question box, Ask / Which model? / Cancel / New conversation, the streamed answers. */
class KiloToolWindowFactory : ToolWindowFactory {
    override fun createToolWindowContent(project: Project, toolWindow: ToolWindow) {
        val kilo = project.service<KiloProjectService>()
        val prompt = JTextArea(3, 40).apply { lineWrap = true }
        fun button(title: String, action: () -> Unit) = JButton(title).apply { addActionListener { action() } }
        val buttons = JPanel(FlowLayout(FlowLayout.LEFT)).apply {
            add(button("Ask") { prompt.text.trim().takeIf { it.isNotEmpty() }?.let { kilo.ask(it); prompt.text = "" } })
            add(button("Which model?") { prompt.text.trim().takeIf { it.isNotEmpty() }?.let { kilo.state.chat.preview(it) } })
            add(button("Cancel") { kilo.state.chat.cancel() })
            add(button("New conversation") { kilo.state.chat.newConversation() })
            add(button("It did not work") { kilo.state.chat.feedback("failed") })
        }
        val panel = JPanel(BorderLayout()).apply {
            add(JBScrollPane(kilo.area), BorderLayout.CENTER)
            add(JPanel(BorderLayout()).apply { add(JBScrollPane(prompt), BorderLayout.CENTER); add(buttons, BorderLayout.SOUTH) }, BorderLayout.SOUTH)
        }
        toolWindow.contentManager.addContent(ContentFactory.getInstance().createContent(panel, "Ask", false))
    }
}

/** Status bar: `Kilo: model · tier · $0.12 today`; a click shows the last decision. */
class KiloStatusWidget(private val project: Project) : StatusBarWidget, StatusBarWidget.TextPresentation {
    private var bar: StatusBar? = null
    private val listener: () -> Unit = { ApplicationManager.getApplication().invokeLater { bar?.updateWidget(ID()) } }
    private val state get() = project.service<KiloProjectService>().state

    override fun ID() = "kilo.status"
    override fun install(statusBar: StatusBar) { bar = statusBar; state.listeners.add(listener) }
    override fun dispose() { state.listeners.remove(listener) }
    override fun getPresentation() = this
    override fun getText(): String = state.statusText()
    override fun getTooltipText() = "Kilo: today's spend in this project; click for the last routing decision"
    override fun getAlignment() = 0f
    override fun getClickConsumer() = com.intellij.util.Consumer<java.awt.event.MouseEvent> {
        val card = state.chat.lastCard
        val text = card?.let { "${it.modelName} (${it.model})\n${it.reason}" } ?: "No decision yet."
        Messages.showInfoMessage(project, text, "Kilo: last decision")
    }
}

class KiloStatusWidgetFactory : StatusBarWidgetFactory {
    override fun getId() = "kilo.status"
    override fun getDisplayName() = "Kilo"
    override fun createWidget(project: Project): StatusBarWidget = KiloStatusWidget(project)
}

private fun notify(project: Project?, text: String, type: NotificationType) =
    NotificationGroupManager.getInstance().getNotificationGroup("Kilo").createNotification(text, type).notify(project)

/** Installs the sidecar with progress, then (re)starts the project's server. */
fun installSidecar(project: Project) {
    ProgressManager.getInstance().run(object : Task.Backgroundable(project, "Kilo: setting up the sidecar", false) {
        override fun run(indicator: ProgressIndicator) {
            try {
                val made = installer().install({ step -> indicator.text = step })
                notify(project, "Kilo: kilo-lsp ${made.version} is ready (${made.where}).", NotificationType.INFORMATION)
                LanguageServerManager.getInstance(project).stop(SERVER_ID)
                LanguageServerManager.getInstance(project).start(SERVER_ID)
            } catch (e: InstallError) {
                notify(project, "Kilo: ${e.message}", NotificationType.ERROR)
            }
        }
    })
}

/** First run: no sidecar found anywhere, so install it (the server starts once it is there). */
class KiloStartup : ProjectActivity {
    override suspend fun execute(project: Project) {
        val (found, _) = installer().find(trustedProjectDir(project))
        if (found == null) installSidecar(project)
    }
}

class AskAction : AnAction(Actions.ASK) {
    override fun actionPerformed(e: AnActionEvent) {
        val project = e.project ?: return
        ToolWindowManager.getInstance(project).getToolWindow("Kilo")?.show()
    }
}

class InstallAction : AnAction(Actions.INSTALL) {
    override fun actionPerformed(e: AnActionEvent) { e.project?.let(::installSidecar) }
}

class RestartAction : AnAction(Actions.RESTART) {
    override fun actionPerformed(e: AnActionEvent) {
        val manager = LanguageServerManager.getInstance(e.project ?: return)
        manager.stop(SERVER_ID)
        manager.start(SERVER_ID)
    }
}

/** Set API Key: a provider from the ones the sidecar takes (kilo/serverStatus; typed when the sidecar
 * cannot list them), the key typed masked and handed to the sidecar, then kept in the IDE's password
 * safe (never in a project file) and pushed again whenever the sidecar starts. */
class SetKeyAction : AnAction(Actions.SET_KEY) {
    override fun actionPerformed(e: AnActionEvent) {
        val project = e.project ?: return
        kiloServer(project).thenCompose { s -> s?.serverStatus(ServerStatusParams())?.exceptionally { null }
            ?: java.util.concurrent.CompletableFuture.completedFuture(null) }
            .thenAccept { status ->
                ApplicationManager.getApplication().invokeLater {
                    val choices = status?.let(::keyChoices).orEmpty()
                    val provider = if (choices.isNotEmpty()) {
                        val picked = Messages.showChooseDialog(project, "Provider", Actions.SET_KEY, null, choices.map { it.second }.toTypedArray(),
                            choices.first().second)
                        if (picked < 0) return@invokeLater
                        choices[picked].first
                    } else Messages.showInputDialog(project, "Provider (as kilo-lsp --check lists them, e.g. openai)", Actions.SET_KEY, null)
                        ?: return@invokeLater
                    val key = Messages.showPasswordDialog(project, "API key for $provider (kept in the IDE's password safe; empty forgets it)", Actions.SET_KEY, null)
                        ?: return@invokeLater
                    kiloServer(project).thenCompose { s -> s?.setCredentials(SetCredentialsParams(provider, key))
                        ?: java.util.concurrent.CompletableFuture.failedFuture(IllegalStateException(SERVER_MISSING)) }
                        .whenComplete { r, failure ->
                            // kept (password safe) only once the sidecar took it; an empty key forgets it
                            if (r != null) IdeKeyStore.set(provider, key.ifEmpty { null })
                            if (r != null) notify(project, "Kilo: ${r.provider} key ${r.apiKey}; ${r.callableModels} models callable now.", NotificationType.INFORMATION)
                            else notify(project, "Kilo: ${failure?.cause?.message ?: failure?.message}", NotificationType.ERROR)
                        }
                }
            }
    }
}

/** Open Dashboard: the dashboard the sidecar serves (kilo/dashboard), in the browser; the project's
 * conversation's decisions once it has asked something. The URL holds a token: it is not logged. */
class DashboardAction : AnAction(Actions.DASHBOARD) {
    override fun actionPerformed(e: AnActionEvent) {
        val project = e.project ?: return
        val kilo = project.service<KiloProjectService>()
        val workspace = project.basePath?.let { File(it).toURI().toString() }
        kiloServer(project).thenCompose { s -> s?.let { dashboardUrl(it, workspace, kilo.state.chat.conversation) }
            ?: java.util.concurrent.CompletableFuture.failedFuture(IllegalStateException(SERVER_MISSING)) }
            .whenComplete { url, failure ->
                if (url != null) BrowserUtil.browse(url)
                else notify(project, "Kilo: the dashboard could not be opened: ${failure?.cause?.message ?: failure?.message}", NotificationType.ERROR)
            }
    }
}
