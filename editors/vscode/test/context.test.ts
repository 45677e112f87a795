import { test } from "node:test";
import assert from "node:assert/strict";
import { LastEditor, MAX_DIAGNOSTICS, editorContext, lspSeverity } from "../src/context";
import type { Diagnostic } from "../src/protocol";

const diag = (line: number, severity: number): Diagnostic =>
  ({ message: `d${line}`, severity, range: { start: { line, character: 0 }, end: { line, character: 1 } } });

test("a multi-line selection goes with its text, language and the file's diagnostics, errors first then nearest", () => {
  const c = editorContext({ uri: "file:///ws/a.py", languageId: "python", selectedText: "a\nb\nc\n",
    selection: { start: { line: 40, character: 0 }, end: { line: 43, character: 0 } },
    diagnostics: [diag(1, 2), diag(90, 1), diag(41, 2), diag(42, 4)] });
  assert.deepEqual(c, { activeUri: "file:///ws/a.py", languageId: "python", selectedText: "a\nb\nc\n",
    selection: { start: { line: 40, character: 0 }, end: { line: 43, character: 0 } },
    diagnostics: [diag(90, 1), diag(41, 2), diag(1, 2), diag(42, 4)] });
  const many = editorContext({ uri: "u", languageId: "go", selection: null, selectedText: null,
    diagnostics: Array.from({ length: 80 }, (_, i) => diag(i, 1)) });
  assert.equal(many!.diagnostics!.length, MAX_DIAGNOSTICS);
  assert.equal(many!.selection, undefined);
  assert.equal(editorContext(null), null);
  assert.deepEqual([0, 1, 2, 3].map(lspSeverity), [1, 2, 3, 4]);
});

test("the last editor survives a webview taking focus, ignores output panes, forgets a closed document", () => {
  const ed = (scheme: string, name: string) => ({ name, document: { uri: { scheme }, isClosed: false } });
  const a = ed("file", "a");
  const last = new LastEditor(a);
  last.update(undefined);                     // the chat webview took focus
  assert.equal(last.get(), a);
  last.update(ed("output", "log"));           // the Output panel
  assert.equal(last.get(), a);
  const b = ed("untitled", "b");
  last.update(b);
  assert.equal(last.get(), b);
  b.document.isClosed = true;
  assert.equal(last.get(), undefined);
});

test("messages from the chat webview are checked before use", async () => {
  const { chatRequest } = await import("../src/chat");
  assert.deepEqual(chatRequest({ type: "ask", text: "why?" }), { type: "ask", text: "why?" });
  assert.equal(chatRequest({ type: "ask", text: "  " }), null);
  assert.deepEqual(chatRequest({ type: "feedback", decisionId: "d-1", outcome: "failed" }), { type: "feedback", decisionId: "d-1", outcome: "failed" });
  assert.equal(chatRequest({ type: "feedback", decisionId: "d-1", outcome: "deleted" }), null);
  assert.equal(chatRequest({ type: "feedback", decisionId: 7, outcome: "failed" }), null);
  assert.equal(chatRequest("ask"), null);
});
