// Where the sidecar comes from, with real processes: scripts and interpreters on disk are probed with
// `--version`, and the extension's own environment is made with the real `python -m venv` and pip
// from a kilo-lsp wheel built from this checkout. KILO_PYTHON is a Python that has kilo-lsp
// (make test-vscode passes the project's .venv).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join, resolve } from "node:path";
import { EnvironmentError, EnvironmentHost, Places, bundledWheel, findServer, managedDir, nodeEnvironmentHost, setupManagedEnvironment, userInstallDir, venvPython } from "../src/environment";

const PY = process.env.KILO_PYTHON;
const skip = !PY && "KILO_PYTHON (a Python with kilo-lsp) is not set; make test-vscode sets it";
const REPO = resolve(__dirname, "..", "..", "..", "..");
const BASE_PATH = ["/usr/bin", "/bin"].join(delimiter);

function script(path: string, body: string): string {
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

function places(over: Partial<Places> = {}): Places {
  const root = mkdtempSync(join(tmpdir(), "kilo-env-"));
  return { serverCommand: [], pythonPath: "", workspaceFolders: [], workspaceTrusted: true, storageDir: join(root, "storage"),
    bundledDir: join(root, "bundled"), ...over };
}

test("settings first and only: a working kilo.server.pythonPath is used, a broken one is reported and nothing else tried", { skip }, async () => {
  const bin = mkdtempSync(join(tmpdir(), "kilo-bin-"));
  script(join(bin, "kilo-lsp"), `exec "${PY}" -m kilo_lsp "$@"`);
  const host = nodeEnvironmentHost({ ...process.env, PATH: bin + delimiter + BASE_PATH });
  const ok = await findServer(places({ pythonPath: PY! }), host);
  assert.equal(ok.found?.source, "setting");
  assert.deepEqual(ok.found?.command, { command: PY, args: ["-m", "kilo_lsp", "--stdio"] });
  assert.match(ok.found!.version, /^\d+\.\d+\.\d+$/);
  const broken = await findServer(places({ pythonPath: "/usr/bin/true" }), host);
  assert.equal(broken.found, undefined);
  assert.match(broken.problem!, /kilo\.server\.pythonPath has no usable kilo-lsp: .*\/usr\/bin\/true -m kilo_lsp.* is not a working kilo-lsp/);
  assert.match(broken.problem!, /"Kilo: Set up the sidecar"/);
});

test("PATH, then README's install, then the trusted workspace's .venv, then the Python extension's interpreter; old and broken ones are passed over", { skip }, async () => {
  const bin = mkdtempSync(join(tmpdir(), "kilo-bin-"));
  script(join(bin, "kilo-lsp"), `echo "kilo-lsp 0.0.9"`);                           // too old
  const host = nodeEnvironmentHost({ ...process.env, PATH: bin + delimiter + BASE_PATH });
  const ws = mkdtempSync(join(tmpdir(), "kilo-ws-"));
  script(venvPython(join(ws, ".venv"), process.platform), `exec "${PY}" "$@"`);

  // README's install (~/.local/share/kilo-lsp/venv) comes right after PATH
  const data = mkdtempSync(join(tmpdir(), "kilo-data-"));
  const installed = userInstallDir({ XDG_DATA_HOME: data }, "/nonexistent-home", process.platform);
  script(venvPython(installed, process.platform), `exec "${PY}" "$@"`);
  const readme = await findServer(places({ workspaceFolders: [ws], userInstallDir: installed }), host);
  assert.equal(readme.found?.source, "user-install");
  assert.equal(readme.found?.where, join(data, "kilo-lsp", "venv"));

  const inWorkspace = await findServer(places({ workspaceFolders: [ws] }), host);
  assert.equal(inWorkspace.found?.source, "workspace");
  assert.equal(inWorkspace.found?.where, venvPython(join(ws, ".venv"), process.platform));
  assert.match(inWorkspace.tried[0], /kilo-lsp on PATH: .* is kilo-lsp 0\.0\.9, older than 0\.1\.0/);

  const untrusted = await findServer(places({ workspaceFolders: [ws], workspaceTrusted: false, pythonExtensionInterpreter: PY }), host);
  assert.equal(untrusted.found?.source, "python-extension");
  assert.ok(untrusted.tried.some((t) => /not used, the workspace is not trusted/.test(t)), untrusted.tried.join("\n"));

  const none = await findServer(places({ pythonExtensionInterpreter: "/usr/bin/false" }), nodeEnvironmentHost({ ...process.env, PATH: BASE_PATH }));
  assert.equal(none.found, undefined);
  assert.equal(none.problem, undefined);
  assert.match(none.tried.join("\n"), /kilo-lsp on PATH: kilo-lsp was not found/);
});

test("first start without a sidecar: the extension's own environment from the bundled wheel, found again next time", { skip, timeout: 300000 }, async () => {
  const where = places();
  mkdirSync(where.bundledDir, { recursive: true });
  execFileSync(PY!, ["-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check", "-q", "-w", where.bundledDir, REPO], { stdio: "ignore" });
  assert.match(bundledWheel(where.bundledDir)!, /kilo_lsp-.*\.whl$/);
  const host = nodeEnvironmentHost({ ...process.env, PATH: BASE_PATH + delimiter + join(PY!, "..") });
  const steps: string[] = [];
  const made = await setupManagedEnvironment({ ...where, pythonExtensionInterpreter: undefined }, host, (s) => steps.push(s));
  assert.equal(made.source, "managed");
  assert.equal(made.command.command, venvPython(managedDir(where.storageDir), process.platform));
  assert.match(steps[0], /Looking for Python/);
  assert.ok(steps.some((s) => s.startsWith("Installing kilo_lsp-")), steps.join("\n"));
  assert.match(steps.at(-1)!, /^kilo-lsp \d+\.\d+\.\d+ is ready\.$/);
  const again = await findServer(where, nodeEnvironmentHost({ ...process.env, PATH: BASE_PATH }));
  assert.equal(again.found?.source, "managed");
  assert.equal(again.found?.version, made.version);

  // a newer bundled wheel (an extension update): the old environment is passed over, to be made anew
  writeFileSync(join(where.bundledDir, "kilo_lsp-99.0.0-py3-none-any.whl"), "");
  const stale = await findServer(where, nodeEnvironmentHost({ ...process.env, PATH: BASE_PATH }));
  assert.equal(stale.found, undefined);
  assert.match(stale.tried.at(-1)!, /the extension bundles kilo_lsp-99\.0\.0-py3-none-any\.whl/);
});

/** A host where no Python exists at all. */
const noPython: EnvironmentHost = {
  platform: "linux", exists: () => false, readText: () => undefined, writeText() {}, remove() {},
  run: async () => ({ code: null, stdout: "", stderr: "", spawnError: "ENOENT" }),
};

test("no bundled wheel or no Python: a clear error saying what to install", async () => {
  await assert.rejects(setupManagedEnvironment(places(), noPython, () => undefined),
    (e: Error) => e instanceof EnvironmentError && /bundles no sidecar/.test(e.message));
  const where = places();
  mkdirSync(where.bundledDir, { recursive: true });
  writeFileSync(join(where.bundledDir, "kilo_lsp-0.1.0-py3-none-any.whl"), "");
  await assert.rejects(setupManagedEnvironment(where, noPython, () => undefined),
    (e: Error) => e instanceof EnvironmentError && /needs Python 3\.11 or newer.*python3: not found.*"Kilo: Set up the sidecar"/.test(e.message));
});
