package dev.kilolsp.jetbrains

import com.google.gson.JsonElement
import com.intellij.credentialStore.CredentialAttributes
import com.intellij.credentialStore.Credentials
import com.intellij.credentialStore.generateServiceName
import com.intellij.ide.passwordSafe.PasswordSafe
import com.intellij.ide.util.PropertiesComponent
import com.intellij.ide.impl.isTrusted
import com.redhat.devtools.lsp4ij.ServerStatus
import dev.kilolsp.jetbrains.core.KeyStore
import dev.kilolsp.jetbrains.core.restoreKeys
import com.intellij.ide.plugins.PluginManagerCore
import com.intellij.openapi.components.Service
import com.intellij.openapi.components.service
import com.intellij.openapi.extensions.PluginId
import com.intellij.openapi.project.Project
import com.redhat.devtools.lsp4ij.LanguageServerFactory
import com.redhat.devtools.lsp4ij.LanguageServerManager
import com.redhat.devtools.lsp4ij.client.LanguageClientImpl
import com.redhat.devtools.lsp4ij.server.ProcessStreamConnectionProvider
import com.redhat.devtools.lsp4ij.server.StreamConnectionProvider
import dev.kilolsp.jetbrains.core.Chunk
import dev.kilolsp.jetbrains.core.CompleteParams
import dev.kilolsp.jetbrains.core.CompleteResult
import dev.kilolsp.jetbrains.core.CredentialsResult
import dev.kilolsp.jetbrains.core.DashboardParams
import dev.kilolsp.jetbrains.core.DashboardResult
import dev.kilolsp.jetbrains.core.DecisionCard
import dev.kilolsp.jetbrains.core.ExplainParams
import dev.kilolsp.jetbrains.core.FeedbackParams
import dev.kilolsp.jetbrains.core.Installer
import dev.kilolsp.jetbrains.core.KiloApi
import dev.kilolsp.jetbrains.core.RouteParams
import dev.kilolsp.jetbrains.core.RpcFailure
import dev.kilolsp.jetbrains.core.ServerStatusParams
import dev.kilolsp.jetbrains.core.ServerStatusResult
import dev.kilolsp.jetbrains.core.SessionStatus
import dev.kilolsp.jetbrains.core.initializationOptions
import com.intellij.openapi.vfs.VirtualFile
import dev.kilolsp.jetbrains.core.SetCredentialsParams
import dev.kilolsp.jetbrains.core.UsageParams
import dev.kilolsp.jetbrains.core.UsageResult
import org.eclipse.lsp4j.jsonrpc.ResponseErrorException
import org.eclipse.lsp4j.jsonrpc.services.JsonNotification
import org.eclipse.lsp4j.jsonrpc.services.JsonRequest
import org.eclipse.lsp4j.services.LanguageServer
import java.io.File
import java.util.concurrent.CompletableFuture

const val SERVER_ID = "kilo"

/** The custom kilo requests, typed by the plugin's protocol layer (core/Protocol.kt); LSP4J does the JSON. */
interface KiloServerApi : LanguageServer, KiloApi {
    @JsonRequest("kilo/complete") override fun complete(params: CompleteParams): CompletableFuture<CompleteResult>
    @JsonRequest("kilo/route") override fun route(params: RouteParams): CompletableFuture<DecisionCard>
    @JsonRequest("kilo/explain") override fun explain(params: ExplainParams): CompletableFuture<DecisionCard?>
    @JsonRequest("kilo/usage") override fun usage(params: UsageParams): CompletableFuture<UsageResult>
    @JsonRequest("kilo/setCredentials") override fun setCredentials(params: SetCredentialsParams): CompletableFuture<CredentialsResult>
    @JsonRequest("kilo/serverStatus") override fun serverStatus(params: ServerStatusParams): CompletableFuture<ServerStatusResult>
    @JsonRequest("kilo/dashboard") override fun dashboard(params: DashboardParams): CompletableFuture<DashboardResult>
    @JsonNotification("kilo/feedback") override fun feedback(params: FeedbackParams)
}

/** The keys the user set, in the IDE's password safe (the OS keychain where there is one); the
 * provider names in the application's properties. */
object IdeKeyStore : KeyStore {
    private const val PROVIDERS = "dev.kilolsp.jetbrains.keyProviders"
    private fun attributes(provider: String) = CredentialAttributes(generateServiceName("Kilo", provider))
    override fun providers(): List<String> = PropertiesComponent.getInstance().getList(PROVIDERS).orEmpty()
    override fun get(provider: String): String? = PasswordSafe.instance.getPassword(attributes(provider))
    override fun set(provider: String, key: String?) {
        PasswordSafe.instance.set(attributes(provider), key?.let { Credentials(provider, it) })
        val names = (providers().toSet() - provider + listOfNotNull(provider.takeIf { key != null })).sorted()
        PropertiesComponent.getInstance().setList(PROVIDERS, names)
    }
}

/** kilo/status and kilo/chunk go to the state of the project this client belongs to; a sidecar that
 * (re)started gets the stored keys again. */
class KiloLanguageClient(private val project: Project) : LanguageClientImpl(project) {
    override fun handleServerStatusChanged(serverStatus: ServerStatus) {
        super.handleServerStatusChanged(serverStatus)
        if (serverStatus == ServerStatus.started) {
            kiloServer(project).thenCompose { s -> s?.let { restoreKeys(it, IdeKeyStore) } ?: CompletableFuture.completedFuture(emptyList()) }
                .thenRun { project.service<KiloProjectService>().refreshToday() }
        }
    }

    @JsonNotification("kilo/status")
    fun status(params: SessionStatus) = project.service<KiloProjectService>().onStatus(params)

    @JsonNotification("kilo/chunk")
    fun chunk(params: Chunk) = project.service<KiloProjectService>().onChunk(params)
}

/** LSP4J's error answer as the protocol layer reads it. */
fun rpcFailure(t: Throwable): RpcFailure? = (t as? ResponseErrorException)?.responseError?.let {
    RpcFailure(it.code, it.message, it.data as? JsonElement)
}

/** Where the sidecar is looked for and installed: the plugin's bundled/ wheel, the user's data folder. */
fun installer(): Installer {
    val plugin = PluginManagerCore.getPlugin(PluginId.getId("dev.kilolsp.jetbrains"))
    val home = System.getenv("XDG_DATA_HOME")?.let(::File) ?: File(System.getProperty("user.home"), ".local/share")
    return Installer(File(home, "kilo-lsp"), plugin?.pluginPath?.resolve("bundled")?.toFile())
}

/** The project folder whose .venv may run the sidecar: only a trusted project's (it is the project's code). */
fun trustedProjectDir(project: Project): File? = project.basePath?.takeIf { project.isTrusted() }?.let(::File)

/** The project's running kilo server, or null (not started, crashed, not installed). */
fun kiloServer(project: Project): CompletableFuture<KiloApi?> =
    LanguageServerManager.getInstance(project).getLanguageServer(SERVER_ID)
        .thenApply { item -> item?.server as? KiloApi }
        .exceptionally { null }

class KiloServerFactory : LanguageServerFactory {
    override fun createConnectionProvider(project: Project): StreamConnectionProvider =
        object : ProcessStreamConnectionProvider() {
            override fun start() {
                // an existing sidecar, or the one the plugin installed (KiloStartup installs it on first run)
                val (found, tried) = installer().find(trustedProjectDir(project))
                commands = found?.command ?: throw IllegalStateException(
                    "no kilo-lsp found (${tried.joinToString("; ")}). Run \"Kilo: Install Sidecar\".")
                super.start()
            }

            override fun getInitializationOptions(rootUri: VirtualFile?): Any =
                initializationOptions(PluginManagerCore.getPlugin(PluginId.getId("dev.kilolsp.jetbrains"))?.version ?: "0.1.0")
        }

    override fun createLanguageClient(project: Project): LanguageClientImpl = KiloLanguageClient(project)

    override fun getServerInterface(): Class<out LanguageServer> = KiloServerApi::class.java
}
