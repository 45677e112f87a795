package dev.kilolsp.jetbrains.core

import java.io.File
import java.util.concurrent.TimeUnit

// Where the plugin's sidecar comes from: KILO_LSP_COMMAND, `kilo-lsp` on PATH, the environment
// README's install makes (~/.local/share/kilo-lsp/venv), the project's .venv, the one the plugin made before; otherwise, on first run, the plugin makes one: a
// virtual environment from Python 3.11+ with the kilo-lsp wheel the plugin zip bundles (bundled/).

data class Sidecar(val command: List<String>, val version: String, val where: String)

data class RunResult(val code: Int?, val output: String, val missing: Boolean = false)

class InstallError(message: String) : RuntimeException(message)

const val MIN_SERVER_VERSION = "0.1.0"
const val MIN_PYTHON = "3.11.0"

private fun parseVersion(text: String): List<Int>? =
    Regex("""(\d+)\.(\d+)\.(\d+)""").find(text)?.groupValues?.drop(1)?.map { it.toInt() }

fun versionAtLeast(have: String, min: String): Boolean {
    val a = parseVersion(have) ?: return false
    val b = parseVersion(min) ?: return false
    for (i in 0..2) if (a[i] != b[i]) return a[i] > b[i]
    return true
}

/** Runs a process to completion (stdout and stderr together); `missing` when it does not exist. */
fun runProcess(command: List<String>, env: Map<String, String> = emptyMap(), timeoutSeconds: Long = 60,
               onLine: (String) -> Unit = {}): RunResult = try {
    val p = ProcessBuilder(command).redirectErrorStream(true).also { it.environment().putAll(env) }.start()
    p.outputStream.close()
    val out = StringBuilder()
    val reader = Thread { p.inputStream.bufferedReader().forEachLine { out.appendLine(it); onLine(it) } }.also { it.start() }
    if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) p.destroyForcibly()
    reader.join(5000)
    RunResult(if (p.isAlive) null else p.exitValue(), out.toString())
} catch (e: java.io.IOException) {
    RunResult(null, e.message ?: "", missing = true)
}

class Installer(
    private val dataDir: File,
    private val bundledDir: File?,
    private val env: Map<String, String> = System.getenv(),
    private val windows: Boolean = System.getProperty("os.name").lowercase().startsWith("windows"),
) {
    val managedDir = File(dataDir, "jetbrains-env")
    /** where README's install puts the sidecar (~/.local/share/kilo-lsp/venv): used, never replaced */
    val userInstallDir = File(dataDir, "venv")
    private val marker = File(managedDir, "kilo-bundled-wheel.txt")

    fun venvPython(dir: File): File = if (windows) File(dir, "Scripts/python.exe") else File(dir, "bin/python")

    private fun onPath(name: String): String? = (env["PATH"] ?: "").split(File.pathSeparator).filter { it.isNotEmpty() }
        .flatMap { d -> listOf(name, "$name.exe").map { File(d, it) } }.firstOrNull { it.canExecute() }?.path

    /** The version `--version` printed, or why this command is no usable sidecar. */
    fun probe(command: List<String>): Pair<String?, String?> {
        val r = runProcess(command.filter { it != "--stdio" } + "--version", env, 30)
        val shown = command.joinToString(" ")
        if (r.missing) return null to "$shown was not found"
        val v = parseVersion(r.output)?.joinToString(".")
        return when {
            r.code != 0 || v == null || !r.output.contains("kilo-lsp") ->
                null to "`$shown` is not a working kilo-lsp (${r.output.trim().lines().lastOrNull() ?: "exit ${r.code}"})"
            !versionAtLeast(v, MIN_SERVER_VERSION) -> null to "`$shown` is kilo-lsp $v, older than $MIN_SERVER_VERSION"
            else -> v to null
        }
    }

    fun bundledWheel(): File? = bundledDir?.listFiles { f -> f.name.matches(Regex("kilo_lsp-.*\\.whl")) }?.maxByOrNull { it.name }

    /** An existing sidecar, and what was passed over on the way. */
    fun find(projectDir: File?): Pair<Sidecar?, List<String>> {
        val tried = mutableListOf<String>()
        fun accept(command: List<String>, where: String): Sidecar? {
            val (v, problem) = probe(command)
            if (v != null) return Sidecar(command, v, where)
            tried += "$where: $problem"
            return null
        }
        env["KILO_LSP_COMMAND"]?.split(" ")?.filter { it.isNotBlank() }?.takeIf { it.isNotEmpty() }?.let { custom ->
            return accept(custom, "KILO_LSP_COMMAND") to tried
        }
        onPath("kilo-lsp")?.let { accept(listOf(it, "--stdio"), "kilo-lsp on PATH")?.let { s -> return s to tried } }
            ?: tried.add("kilo-lsp on PATH: not found")
        venvPython(userInstallDir).takeIf { it.exists() }?.let { py ->
            accept(listOf(py.path, "-m", "kilo_lsp", "--stdio"), userInstallDir.path)?.let { return it to tried }
        }
        projectDir?.let { venvPython(File(it, ".venv")) }?.takeIf { it.exists() }?.let { py ->
            accept(listOf(py.path, "-m", "kilo_lsp", "--stdio"), py.path)?.let { return it to tried }
        }
        val managed = venvPython(managedDir)
        if (managed.exists()) {
            val wheel = bundledWheel()
            val installed = marker.takeIf { it.exists() }?.readText()?.trim()
            if (wheel != null && installed != wheel.name) tried += "$managedDir: holds ${installed ?: "an unknown build"}, the plugin bundles ${wheel.name}"
            else accept(listOf(managed.path, "-m", "kilo_lsp", "--stdio"), managedDir.path)?.let { return it to tried }
        }
        return null to tried
    }

    /** First run: the plugin's own environment with the bundled wheel; `report` gets each step. */
    fun install(report: (String) -> Unit, pipArgs: List<String> = emptyList()): Sidecar {
        val wheel = bundledWheel() ?: throw InstallError("This build of the plugin bundles no sidecar and none was found: " +
            "build the plugin with the wheel (see its README), or set KILO_LSP_COMMAND.")
        report("Looking for Python 3.11 or newer…")
        val tried = mutableListOf<String>()
        val base = (if (windows) listOf("py", "python") else listOf("python3", "python")).firstOrNull { py ->
            val args = if (py == "py") listOf(py, "-3") else listOf(py)
            val r = runProcess(args + listOf("-c", "import sys, venv; print('%d.%d.%d' % sys.version_info[:3])"), env, 30)
            val v = parseVersion(r.output)?.joinToString(".")
            when {
                r.missing -> { tried += "$py: not found"; false }
                r.code != 0 || v == null -> { tried += "$py: ${r.output.trim().lines().lastOrNull()}"; false }
                !versionAtLeast(v, MIN_PYTHON) -> { tried += "$py: Python $v, older than $MIN_PYTHON"; false }
                else -> true
            }
        } ?: throw InstallError("The sidecar needs Python 3.11 or newer with venv, and none was found (${tried.joinToString("; ")}). " +
            "Install Python 3.11+, then run \"${Actions.INSTALL}\".")
        managedDir.deleteRecursively()
        report("Creating an environment with $base…")
        val made = runProcess((if (base == "py") listOf(base, "-3") else listOf(base)) + listOf("-m", "venv", managedDir.path), env, 120)
        if (made.code != 0) throw InstallError("`$base -m venv` failed: ${made.output.trim().lines().takeLast(2).joinToString(" ")}. " +
            "On Debian and Ubuntu install python3-venv.")
        val python = venvPython(managedDir).path
        report("Installing ${wheel.name}…")
        val pip = runProcess(listOf(python, "-m", "pip", "install", "--disable-pip-version-check", "--no-input") + pipArgs + wheel.path,
            env, 600) { line -> Regex("^(Collecting|Installing collected packages|Successfully installed)\\s*(.*)").find(line.trim())
                ?.let { report("${it.groupValues[1]} ${it.groupValues[2]}".take(120)) } }
        if (pip.code != 0) throw InstallError("Installing the sidecar failed: ${pip.output.trim().lines().takeLast(3).joinToString(" ")}. " +
            "pip needs its package index for kilo-lsp's dependencies (HTTPS_PROXY, PIP_INDEX_URL), then run \"${Actions.INSTALL}\".")
        val command = listOf(python, "-m", "kilo_lsp", "--stdio")
        val (v, problem) = probe(command)
        if (v == null) throw InstallError("The new environment does not run the sidecar: $problem")
        marker.writeText(wheel.name + "\n")
        report("kilo-lsp $v is ready.")
        return Sidecar(command, v, managedDir.path)
    }
}
