// Where the sidecar comes from. An existing environment first, in this order: the
// kilo.server.command / kilo.server.pythonPath settings (only those, when set), `kilo-lsp` on PATH,
// the environment README's install makes (~/.local/share/kilo-lsp/venv), the workspace's .venv (trusted workspaces only: it is the workspace's code), the Python extension's
// interpreter, and the environment this extension made before. Otherwise the extension makes its
// own: a virtual environment in its global storage with the kilo-lsp wheel it bundles (bundled/),
// as Microsoft's Python tools extension template ships its server. No VS Code API here: extension.ts
// passes in what it knows, and the tests drive it with real processes.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { COMMAND_TITLES, MIN_SERVER_VERSION, ServerCommand, parseVersion, pythonServerCommand, versionAtLeast, versionCommand } from "./logic";

/** Python the sidecar needs (pyproject's requires-python). */
export const MIN_PYTHON = "3.11.0";

export interface RunResult { code: number | null; stdout: string; stderr: string; spawnError?: string }

export interface EnvironmentHost {
  platform: NodeJS.Platform;
  run(command: string, args: string[], opts?: { timeoutMs?: number; onLine?: (line: string) => void }): Promise<RunResult>;
  exists(path: string): boolean;
  readText(path: string): string | undefined;
  writeText(path: string, text: string): void;
  remove(path: string): void;
}

/** What the extension knows when it looks for a sidecar. */
export interface Places {
  serverCommand: string[];
  pythonPath: string;
  workspaceFolders: string[];
  workspaceTrusted: boolean;
  /** the Python extension's interpreter for the workspace, when it is installed */
  pythonExtensionInterpreter?: string;
  /** where README's install puts the sidecar's environment: $XDG_DATA_HOME/kilo-lsp/venv, ~/.local/share/kilo-lsp/venv */
  userInstallDir?: string;
  /** the extension's global storage folder (where its own environment goes) */
  storageDir: string;
  /** the extension's bundled/ folder */
  bundledDir: string;
}

export type Source = "setting" | "path" | "user-install" | "workspace" | "python-extension" | "managed";

export interface Found { source: Source; command: ServerCommand; version: string; where: string }

export interface Search { found?: Found; tried: string[]; problem?: string }

export class EnvironmentError extends Error {}

/** Runs the command's `--version`: the kilo-lsp version, or why it cannot be used. */
export async function probe(cmd: ServerCommand, host: EnvironmentHost): Promise<{ version?: string; problem?: string }> {
  const v = versionCommand(cmd);
  const r = await host.run(v.command, v.args, { timeoutMs: 20000 });
  const shown = [cmd.command, ...cmd.args].join(" ");
  if (r.spawnError === "ENOENT") return { problem: `${cmd.command} was not found` };
  if (r.spawnError) return { problem: `\`${shown}\` could not run (${r.spawnError})` };
  const version = /kilo-lsp/i.test(r.stdout) || r.code === 0 ? parseVersion(r.stdout) : null;
  if (r.code !== 0 || !version) {
    const said = (r.stderr || r.stdout).trim().split("\n").slice(-1)[0] ?? "";
    return { problem: `\`${shown}\` is not a working kilo-lsp (${said || `exit ${r.code}`})` };
  }
  const have = version.join(".");
  if (!versionAtLeast(have, MIN_SERVER_VERSION)) return { problem: `\`${shown}\` is kilo-lsp ${have}, older than ${MIN_SERVER_VERSION}` };
  return { version: have };
}

/** The Python of a virtual environment folder. */
export const venvPython = (dir: string, platform: NodeJS.Platform): string =>
  platform === "win32" ? join(dir, "Scripts", "python.exe") : join(dir, "bin", "python");

/** The wheel in bundled/ (kilo_lsp-VERSION-py3-none-any.whl), if the build put one there. */
export function bundledWheel(bundledDir: string): string | undefined {
  try {
    const wheels = readdirSync(bundledDir).filter((f) => /^kilo_lsp-.*\.whl$/.test(f)).sort();
    return wheels.length ? join(bundledDir, wheels[wheels.length - 1]) : undefined;
  } catch {
    return undefined;
  }
}

export const managedDir = (storageDir: string): string => join(storageDir, "sidecar-env");
const MARKER = "kilo-bundled-wheel.txt";

/** Where README's install puts the sidecar's environment. */
export function userInstallDir(env: NodeJS.ProcessEnv, home: string, platform: NodeJS.Platform): string {
  if (platform === "win32" && env.LOCALAPPDATA) return join(env.LOCALAPPDATA, "kilo-lsp", "venv");
  return join(env.XDG_DATA_HOME || join(home, ".local", "share"), "kilo-lsp", "venv");
}

/** Looks for an existing sidecar; `tried` says what was looked at and why it was passed over. */
export async function findServer(places: Places, host: EnvironmentHost): Promise<Search> {
  const tried: string[] = [];
  const accept = async (source: Source, cmd: ServerCommand, where: string): Promise<Found | undefined> => {
    const p = await probe(cmd, host);
    if (p.version) return { source, command: cmd, version: p.version, where };
    tried.push(`${where}: ${p.problem}`);
    return undefined;
  };

  const custom = places.serverCommand.filter((s) => s.trim() !== "");
  if (custom.length) {
    const cmd = { command: custom[0], args: custom.slice(1) };
    const p = await probe(cmd, host);
    return p.version ? { found: { source: "setting", command: cmd, version: p.version, where: "kilo.server.command" }, tried }
      : { tried, problem: `Kilo: kilo.server.command does not start a usable sidecar: ${p.problem}. ` +
      `Fix the setting, or clear it and run "${COMMAND_TITLES.setupEnvironment}".` };
  }
  if (places.pythonPath.trim()) {
    const cmd = pythonServerCommand(places.pythonPath.trim());
    const p = await probe(cmd, host);
    return p.version ? { found: { source: "setting", command: cmd, version: p.version, where: "kilo.server.pythonPath" }, tried }
      : { tried, problem: `Kilo: kilo.server.pythonPath has no usable kilo-lsp: ${p.problem}. ` +
      `Install it there (pip install <the kilo-lsp wheel>), or clear the setting and run "${COMMAND_TITLES.setupEnvironment}".` };
  }

  let found = await accept("path", { command: "kilo-lsp", args: ["--stdio"] }, "kilo-lsp on PATH");
  if (found) return { found, tried };
  if (places.userInstallDir && host.exists(venvPython(places.userInstallDir, host.platform))) {
    found = await accept("user-install", pythonServerCommand(venvPython(places.userInstallDir, host.platform)), places.userInstallDir);
    if (found) return { found, tried };
  }
  for (const folder of places.workspaceFolders) {
    const python = venvPython(join(folder, ".venv"), host.platform);
    if (!host.exists(python)) continue;
    if (!places.workspaceTrusted) { tried.push(`${python}: not used, the workspace is not trusted`); continue; }
    found = await accept("workspace", pythonServerCommand(python), python);
    if (found) return { found, tried };
  }
  if (places.pythonExtensionInterpreter) {
    found = await accept("python-extension", pythonServerCommand(places.pythonExtensionInterpreter),
      `the Python extension's interpreter ${places.pythonExtensionInterpreter}`);
    if (found) return { found, tried };
  }
  const managed = managedDir(places.storageDir);
  const python = venvPython(managed, host.platform);
  if (host.exists(python)) {
    const wheel = bundledWheel(places.bundledDir);
    const installed = host.readText(join(managed, MARKER))?.trim();
    if (wheel && installed !== basename(wheel)) tried.push(`${managed}: holds ${installed ?? "an unknown build"}, the extension bundles ${basename(wheel)}`);
    else {
      found = await accept("managed", pythonServerCommand(python), managed);
      if (found) return { found, tried };
    }
  }
  return { tried };
}

/** A Python that can make the environment: 3.11 or newer, with venv. */
export async function basePython(places: Places, host: EnvironmentHost): Promise<{ python?: string; tried: string[] }> {
  const candidates = [places.pythonExtensionInterpreter, ...(host.platform === "win32" ? ["py", "python"] : ["python3", "python"])]
    .filter((c): c is string => !!c);
  const tried: string[] = [];
  for (const python of candidates) {
    const args = python === "py" ? ["-3", "-c"] : ["-c"];
    const r = await host.run(python, [...args, "import sys, venv; print('%d.%d.%d' % sys.version_info[:3])"], { timeoutMs: 20000 });
    if (r.spawnError) { tried.push(`${python}: not found`); continue; }
    const version = parseVersion(r.stdout);
    if (r.code !== 0 || !version) { tried.push(`${python}: ${(r.stderr || r.stdout).trim().split("\n").slice(-1)[0] || "failed"}`); continue; }
    if (!versionAtLeast(version.join("."), MIN_PYTHON)) { tried.push(`${python}: Python ${version.join(".")}, older than ${MIN_PYTHON}`); continue; }
    return { python, tried };
  }
  return { tried };
}

/**
 * Makes the extension's own environment: a venv in global storage with the bundled wheel (its
 * dependencies come from the package index pip is configured with). `report` gets each step.
 */
export async function setupManagedEnvironment(places: Places, host: EnvironmentHost, report: (step: string) => void,
  pipArgs: string[] = []): Promise<Found> {
  const wheel = bundledWheel(places.bundledDir);
  if (!wheel) {
    throw new EnvironmentError("Kilo: this build of the extension bundles no sidecar, and none was found. Install kilo-lsp " +
      "(`make dist` in a kilo-lsp checkout, then pip install the wheel from dist/) and set kilo.server.pythonPath.");
  }
  report("Looking for Python 3.11 or newer…");
  const base = await basePython(places, host);
  if (!base.python) {
    throw new EnvironmentError(`Kilo: the sidecar needs Python ${MIN_PYTHON.slice(0, 4)} or newer with venv, and none was found ` +
      `(${base.tried.join("; ")}). Install Python 3.11+ (or select one with the Python extension), then run "${COMMAND_TITLES.setupEnvironment}".`);
  }
  const dir = managedDir(places.storageDir);
  if (host.exists(dir)) host.remove(dir);
  report(`Creating an environment with ${base.python}…`);
  const venvArgs = base.python === "py" ? ["-3", "-m", "venv", dir] : ["-m", "venv", dir];
  const made = await host.run(base.python, venvArgs, { timeoutMs: 120000 });
  if (made.code !== 0) {
    throw new EnvironmentError(`Kilo: \`${base.python} -m venv\` failed: ${(made.stderr || made.stdout || made.spawnError || "").trim().split("\n").slice(-2).join(" ")}. ` +
      "On Debian and Ubuntu install python3-venv.");
  }
  const python = venvPython(dir, host.platform);
  report(`Installing ${basename(wheel)}…`);
  const pip = await host.run(python, ["-m", "pip", "install", "--disable-pip-version-check", "--no-input", ...pipArgs, wheel], {
    timeoutMs: 600000,
    onLine: (line) => { const m = /^(Collecting|Downloading|Installing collected packages|Successfully installed)\s*(.*)/.exec(line.trim()); if (m) report(`${m[1]} ${m[2]}`.slice(0, 120)); },
  });
  if (pip.code !== 0) {
    const tail = (pip.stderr || pip.stdout).trim().split("\n").slice(-3).join(" ");
    throw new EnvironmentError(`Kilo: installing the sidecar failed: ${tail}. pip needs to reach its package index for ` +
      `kilo-lsp's dependencies (a proxy: set HTTPS_PROXY; a mirror: PIP_INDEX_URL), then run "${COMMAND_TITLES.setupEnvironment}".`);
  }
  const checked = await probe(pythonServerCommand(python), host);
  if (!checked.version) throw new EnvironmentError(`Kilo: the new environment does not run the sidecar: ${checked.problem}.`);
  host.writeText(join(dir, MARKER), basename(wheel) + "\n");
  report(`kilo-lsp ${checked.version} is ready.`);
  return { source: "managed", command: pythonServerCommand(python), version: checked.version, where: dir };
}

/** The host on a real machine: child processes and the file system. */
export function nodeEnvironmentHost(env: NodeJS.ProcessEnv = process.env): EnvironmentHost {
  return {
    platform: process.platform,
    run(command, args, opts = {}) {
      return new Promise((resolve) => {
        let stdout = "", stderr = "", pending = "";
        let child;
        try {
          child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"], windowsHide: true });
        } catch (e) {
          resolve({ code: null, stdout, stderr, spawnError: (e as NodeJS.ErrnoException).code ?? String(e) });
          return;
        }
        const timer = opts.timeoutMs ? setTimeout(() => child.kill(), opts.timeoutMs) : undefined;
        child.stdout.on("data", (b: Buffer) => {
          const s = b.toString(); stdout += s;
          if (opts.onLine) { pending += s; const lines = pending.split("\n"); pending = lines.pop() ?? ""; lines.forEach(opts.onLine); }
        });
        child.stderr.on("data", (b: Buffer) => { stderr += b.toString(); });
        child.on("error", (e: NodeJS.ErrnoException) => { if (timer) clearTimeout(timer); resolve({ code: null, stdout, stderr, spawnError: e.code ?? e.message }); });
        child.on("close", (code) => { if (timer) clearTimeout(timer); resolve({ code, stdout, stderr }); });
      });
    },
    exists: (path) => existsSync(path),
    readText: (path) => { try { return readFileSync(path, "utf8"); } catch { return undefined; } },
    writeText: (path, text) => { mkdirSync(join(path, ".."), { recursive: true }); writeFileSync(path, text); },
    remove: (path) => rmSync(path, { recursive: true, force: true }),
  };
}
