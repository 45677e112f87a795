// What Ask sends about the editor: the file, the selection (any number of lines), its language and
// diagnostics, read from the text editor the user was last in. When the chat webview takes focus VS
// Code has no active text editor any more, so the extension remembers the last one (LastEditor).
import type { Diagnostic, EditorContext, Range } from "./protocol";

/** Documents a user edits (not output channels, the git view or a settings UI). */
export const USER_SCHEMES = ["file", "untitled", "vscode-remote", "vscode-notebook-cell"];

/** A snapshot of one text editor, in the protocol's terms (0-based lines and UTF-16 characters). */
export interface EditorSnapshot {
  uri: string;
  languageId: string;
  /** null when the selection is empty (a cursor) */
  selection: Range | null;
  selectedText: string | null;
  diagnostics: Diagnostic[];
}

/** The most diagnostics sent with a request (the server reads at most 50). */
export const MAX_DIAGNOSTICS = 50;

const distance = (d: Diagnostic, sel: Range | null): number => {
  if (!sel || !d.range) return 0;
  if (d.range.end.line < sel.start.line) return sel.start.line - d.range.end.line;
  if (d.range.start.line > sel.end.line) return d.range.start.line - sel.end.line;
  return 0;
};

/** The request's EditorContext, or null without an editor. Diagnostics: errors first, then those
 * nearest the selection, at most MAX_DIAGNOSTICS. */
export function editorContext(editor: EditorSnapshot | null): EditorContext | null {
  if (!editor) return null;
  const diagnostics = [...editor.diagnostics]
    .sort((a, b) => (a.severity ?? 1) - (b.severity ?? 1) || distance(a, editor.selection) - distance(b, editor.selection))
    .slice(0, MAX_DIAGNOSTICS);
  const context: EditorContext = { activeUri: editor.uri, languageId: editor.languageId, diagnostics };
  if (editor.selection) {
    context.selection = editor.selection;
    context.selectedText = editor.selectedText;
  }
  return context;
}

/** VS Code's DiagnosticSeverity (Error 0 .. Hint 3) as LSP's (1 .. 4). */
export const lspSeverity = (vscodeSeverity: number): number => Math.min(4, Math.max(1, vscodeSeverity + 1));

/**
 * The text editor the user was last in. `update` is fed `window.activeTextEditor` on every change:
 * undefined (a webview or panel took focus) and editors of other schemes leave the last one in place.
 */
export class LastEditor<E extends { document: { uri: { scheme: string }; isClosed: boolean } }> {
  private editor: E | undefined;
  constructor(initial?: E) { this.update(initial); }

  update(editor: E | undefined): void {
    if (editor && USER_SCHEMES.includes(editor.document.uri.scheme)) this.editor = editor;
  }

  /** The last editor, unless its document has been closed since. */
  get(): E | undefined {
    return this.editor && !this.editor.document.isClosed ? this.editor : undefined;
  }
}
