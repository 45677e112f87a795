// Conformance fixtures (tests/conformance/*.json) against the real kilo-lsp sidecar, over
// vscode-jsonrpc: the library VS Code's language client is built on, so this is the VS Code
// extension's wire behaviour without VS Code.
//
//   cd editors/conformance/node && npm ci && node --test run.mjs
//
// KILO_PYTHON picks the interpreter that has kilo-lsp installed (default: python3), or
// KILO_SERVER_COMMAND a whole command line (JSON array). The server runs isolated: HOME and XDG
// dirs in a temp folder, no *_API_KEY, KILO_LOCAL_DISCOVER=0.
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import rpc from "vscode-jsonrpc/node";

const { createMessageConnection, StreamMessageReader, StreamMessageWriter, ResponseError } = rpc;
const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, "..", "..", "..");
const FIXTURE_DIR = join(ROOT, "tests", "conformance");
const SCHEMA = JSON.parse(readFileSync(join(ROOT, "editors", "schema", "kilo-protocol.schema.json"), "utf8"));
const MISSING = Symbol("missing");

export function at(value, path) {
  if (path === "") return value;
  for (const part of path.split(".")) {
    if (Array.isArray(value) && /^\d+$/.test(part) && Number(part) < value.length) value = value[Number(part)];
    else if (value && typeof value === "object" && !Array.isArray(value) && part in value) value = value[part];
    else return MISSING;
  }
  return value;
}

const resolveSaved = (v, saved) => (typeof v === "string" && v.startsWith("$") ? saved[v.slice(1)] : v);
const show = (v) => (v === MISSING ? "(missing)" : JSON.stringify(v)?.slice(0, 200));
const deepEqual = (a, b) => { try { assert.deepStrictEqual(a, b); return true; } catch { return false; } };
const JSON_TYPES = {
  string: (v) => typeof v === "string", boolean: (v) => typeof v === "boolean", null: (v) => v === null,
  integer: (v) => Number.isInteger(v), number: (v) => typeof v === "number",
  array: (v) => Array.isArray(v), object: (v) => v !== null && typeof v === "object" && !Array.isArray(v),
};

// The subset of JSON Schema that kilo_lsp/schema.py emits.
export function validate(value, schema, path = "") {
  const where = path || "(root)";
  if (schema.$ref) return validate(value, SCHEMA.$defs[schema.$ref.split("/").pop()], path);
  if (schema.anyOf) {
    const tries = schema.anyOf.map((s) => validate(value, s, path));
    return tries.some((t) => t.length === 0) ? [] : [`${where}: matches none of the allowed shapes`];
  }
  if (schema.type && !JSON_TYPES[schema.type](value)) return [`${where}: expected ${schema.type}`];
  const errors = [];
  if (schema.enum && !schema.enum.includes(value)) errors.push(`${where}: ${show(value)} not in enum`);
  if (JSON_TYPES.object(value)) {
    for (const key of schema.required ?? []) if (!(key in value)) errors.push(`${where}: missing ${key}`);
    for (const [key, v] of Object.entries(value)) {
      const sub = schema.properties?.[key] ?? (typeof schema.additionalProperties === "object" ? schema.additionalProperties : null);
      if (sub) errors.push(...validate(v, sub, path ? `${path}.${key}` : key));
    }
  }
  if (Array.isArray(value) && schema.items) value.forEach((v, i) => errors.push(...validate(v, schema.items, `${path}[${i}]`)));
  return errors;
}

export function check(expect, value, error, saved, method) {
  if (expect.error) {
    if (!error) return [`expected error ${expect.error.code}, got result ${show(value)}`];
    const fails = error.code === expect.error.code ? [] : [`error code ${error.code}, expected ${expect.error.code}: ${error.message}`];
    if (expect.error.messageContains && !String(error.message).includes(expect.error.messageContains))
      fails.push(`error message ${JSON.stringify(error.message)} does not contain ${JSON.stringify(expect.error.messageContains)}`);
    return fails;
  }
  if (error) return [`unexpected error: ${error.code} ${error.message}`];
  const fails = [];
  if (expect.null && value !== null) fails.push(`expected null, got ${show(value)}`);
  for (const [p, w] of Object.entries(expect.equals ?? {})) {
    const got = at(value, p), want = resolveSaved(w, saved);
    if (!deepEqual(got, want)) fails.push(`${p}: expected ${show(want)}, got ${show(got)}`);
  }
  for (const p of expect.has ?? []) { const got = at(value, p); if (got === MISSING || got === null) fails.push(`${p}: missing`); }
  for (const [p, prefix] of Object.entries(expect.startsWith ?? {})) {
    const got = at(value, p);
    if (typeof got !== "string" || !got.startsWith(prefix)) fails.push(`${p}: ${show(got)} does not start with ${prefix}`);
  }
  for (const [p, item] of Object.entries(expect.contains ?? {})) {
    const got = at(value, p), want = resolveSaved(item, saved);
    if (!((typeof got === "string" || Array.isArray(got)) && got.includes(want))) fails.push(`${p}: ${show(got)} does not contain ${show(want)}`);
  }
  for (const [p, n] of Object.entries(expect.minItems ?? {})) {
    const got = at(value, p);
    if (!Array.isArray(got) || got.length < n) fails.push(`${p}: expected at least ${n} items`);
  }
  for (const [p, options] of Object.entries(expect.oneOf ?? {})) {
    if (!options.some((o) => deepEqual(o, at(value, p)))) fails.push(`${p}: ${show(at(value, p))} not one of ${show(options)}`);
  }
  for (const [p, kind] of Object.entries(expect.type ?? {})) {
    const got = at(value, p);
    if (got === MISSING || !JSON_TYPES[kind](got)) fails.push(`${p}: expected ${kind}, got ${show(got)}`);
  }
  if (expect.schema && method) fails.push(...validate(value, SCHEMA["x-methods"][method].result).map((e) => `schema: ${e}`));
  return fails;
}

function isolatedEnv(home) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.endsWith("_API_KEY") || k.startsWith("KILO_") || k.toUpperCase().includes("PROXY")) continue;
    env[k] = v;
  }
  return { ...env, HOME: home, XDG_CONFIG_HOME: join(home, "config"), XDG_DATA_HOME: join(home, "data"),
    PYTHONPATH: ROOT, KILO_LOCAL_DISCOVER: "0" };
}

function serverCommand() {
  if (process.env.KILO_SERVER_COMMAND) return JSON.parse(process.env.KILO_SERVER_COMMAND);
  return [process.env.KILO_PYTHON || "python3", "-m", "kilo_lsp", "--stdio"];
}

const notes = new Map(); // method -> params[]
let child, conn, home, initResult;

before(async () => {
  home = mkdtempSync(join(tmpdir(), "kilo-conformance-"));
  const [cmd, ...args] = serverCommand();
  child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"], env: isolatedEnv(home), cwd: ROOT });
  child.stderr.on("data", () => {}); // the server logs there; keep the pipe drained
  conn = createMessageConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
  conn.onNotification((method, params) => { if (!notes.has(method)) notes.set(method, []); notes.get(method).push(params); });
  conn.onRequest("workspace/configuration", (p) => p.items.map(() => null));
  conn.onRequest("window/workDoneProgress/create", () => null);
  conn.onRequest("client/registerCapability", () => null);
  conn.listen();
  initResult = await conn.sendRequest("initialize", {
    processId: process.pid, rootUri: null, workspaceFolders: null,
    capabilities: { workspace: { configuration: true } },
    clientInfo: { name: "node-vscode-jsonrpc", version: process.version },
    initializationOptions: { editorPluginInfo: { name: "kilo-lsp-conformance-node", version: "0.1.0" } },
  });
  conn.sendNotification("initialized", {});
});

after(async () => {
  if (conn) {
    await conn.sendRequest("shutdown").catch(() => {});
    conn.sendNotification("exit");
    const code = await new Promise((res) => { child.on("exit", res); setTimeout(() => { child.kill(); res("killed"); }, 3000); });
    conn.dispose();
    if (home) rmSync(home, { recursive: true, force: true });
    assert.equal(code, 0, "sidecar exits 0 after shutdown + exit");
  }
});

const matches = (params, match, saved) => Object.entries(match ?? {}).every(([k, v]) => deepEqual(at(params, k), resolveSaved(v, saved)));

async function play(testCase) {
  const saved = {};
  for (const [i, step] of testCase.steps.entries()) {
    let value = null, error = null, method = null;
    if (step.initializeResult) value = initResult;
    else if (step.request) {
      method = step.request;
      try { value = await conn.sendRequest(method, step.params ?? {}); }
      catch (e) { if (e instanceof ResponseError) error = e; else throw e; }
    } else if (step.notify) { conn.sendNotification(step.notify, step.params ?? {}); continue; }
    else if (step.awaitNotification) {
      const deadline = Date.now() + 5000;
      for (;;) {
        const found = (notes.get(step.awaitNotification) ?? []).filter((p) => matches(p, step.match, saved));
        if (found.length) { value = found.at(-1); break; }
        if (Date.now() > deadline) return [`step ${i}: no ${step.awaitNotification} matching ${show(step.match)}`];
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    const fails = check(step.expect ?? {}, value, error, saved, method);
    if (fails.length) return fails.map((f) => `step ${i} (${step.request ?? step.awaitNotification ?? "initialize"}): ${f}`);
    for (const [name, path] of Object.entries(step.save ?? {})) saved[name] = at(value, path);
  }
  return [];
}

const files = readdirSync(FIXTURE_DIR).filter((f) => f.endsWith(".json")).sort();
for (const file of files) {
  const doc = JSON.parse(readFileSync(join(FIXTURE_DIR, file), "utf8"));
  test(file.replace(/\.json$/, ""), async (t) => {
    for (const c of doc.cases) {
      await t.test(c.name, async () => {
        const fails = await play(c);
        assert.deepEqual(fails, [], fails.join("\n"));
      });
    }
  });
}

test("matcher rejects wrong answers", () => {
  const value = { a: { b: [1, "x"] }, s: "lb-1" };
  assert.deepEqual(check({ equals: { "a.b.1": "$v" }, contains: { "a.b": "x" }, type: { "a.b.0": "integer" } }, value, null, { v: "x" }), []);
  assert.equal(check({ equals: { "a.b.0": 2 }, startsWith: { s: "x" }, has: ["zz"], minItems: { "a.b": 3 } }, value, null, {}).length, 4);
  assert.ok(check({ error: { code: -32602 } }, value, null, {}).length);
  assert.ok(check({ schema: true }, { decisionId: 1 }, null, {}, "kilo/route").length);
});
