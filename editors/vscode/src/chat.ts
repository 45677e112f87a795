// The webviews' HTML: the Ask chat (streamed text, a footer with model, cost and why; New
// conversation, Which model, Cancel) and the usage view. Text is always set with textContent.
import type { UsageSummary } from "./logic";

/** Messages the chat webview sends back to the extension. */
export type ChatRequest =
  | { type: "ask"; text: string }
  | { type: "preview"; text: string }
  | { type: "cancel" }
  | { type: "new" }
  | { type: "decisions" }
  | { type: "feedback"; decisionId: string; outcome: "accepted" | "failed" }
  | { type: "command"; command: string };

/** Checks a message from the webview (it is untrusted input like any other). */
export function chatRequest(m: unknown): ChatRequest | null {
  const r = m as { type?: unknown; text?: unknown; command?: unknown } | null;
  if (!r || typeof r !== "object") return null;
  if ((r.type === "ask" || r.type === "preview") && typeof r.text === "string" && r.text.trim()) return { type: r.type, text: r.text };
  if (r.type === "cancel" || r.type === "new" || r.type === "decisions") return { type: r.type };
  if (r.type === "command" && typeof r.command === "string") return { type: "command", command: r.command };
  const f = m as { decisionId?: unknown; outcome?: unknown };
  if (r.type === "feedback" && typeof f.decisionId === "string" && (f.outcome === "accepted" || f.outcome === "failed")) {
    return { type: "feedback", decisionId: f.decisionId, outcome: f.outcome };
  }
  return null;
}

export function chatHtml(nonce: string, cspSource: string): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${cspSource} 'unsafe-inline'; script-src 'nonce-${nonce}';">
<style>
 body { font-family: var(--vscode-font-family); color: var(--vscode-foreground); }
 .q { font-weight: bold; margin-top: 1em; } .ctx { opacity: .7; font-size: .85em; }
 .a { white-space: pre-wrap; font-family: var(--vscode-editor-font-family); }
 .f, .p { opacity: .75; font-size: .9em; white-space: pre-wrap; border-top: 1px solid var(--vscode-panel-border); margin-top: .4em; }
 form { display: flex; gap: .5em; position: sticky; bottom: 0; background: var(--vscode-editor-background); padding: .5em 0; }
 textarea { flex: 1; } .err { color: var(--vscode-errorForeground); } .note { opacity: .7; font-style: italic; }
</style></head><body>
<div id="log"></div>
<form id="f"><textarea id="t" rows="3" placeholder="Ask Kilo about the code you are in…"></textarea>
<button>Ask</button><button type="button" id="w" title="Which model would answer, without asking (dry run)">Which model?</button>
<button type="button" id="c">Cancel</button><button type="button" id="n">New conversation</button>
<button type="button" id="d" title="This conversation's decision cards in the dashboard (your browser)">Decisions</button></form>
<script nonce="${nonce}">
 const vscode = acquireVsCodeApi(); const log = document.getElementById('log'); const t = document.getElementById('t'); let cur = null;
 const add = (cls, text) => { const d = document.createElement('div'); d.className = cls; d.textContent = text; log.append(d); return d; };
 document.getElementById('f').addEventListener('submit', (e) => { e.preventDefault();
   if (t.value.trim()) { vscode.postMessage({ type: 'ask', text: t.value }); t.value = ''; } });
 document.getElementById('w').addEventListener('click', () => { if (t.value.trim()) vscode.postMessage({ type: 'preview', text: t.value }); });
 document.getElementById('c').addEventListener('click', () => vscode.postMessage({ type: 'cancel' }));
 document.getElementById('n').addEventListener('click', () => vscode.postMessage({ type: 'new' }));
 document.getElementById('d').addEventListener('click', () => vscode.postMessage({ type: 'decisions' }));
 window.addEventListener('message', (ev) => { const m = ev.data;
   if (m.type === 'start') { add('q', m.text); add('ctx', 'context: ' + m.contextLabel); cur = add('a', ''); }
   else if (m.type === 'chunk' && cur) { cur.textContent += m.text; }
   else if (m.type === 'done') { if (cur && !cur.textContent) cur.textContent = m.text; const f = add('f', m.footer); cur = null;
     if (m.feedback) { const row = document.createElement('div');
       for (const [label, outcome] of [['It worked', 'accepted'], ['It did not work', 'failed']]) {
         const b = document.createElement('button'); b.textContent = label;
         b.addEventListener('click', () => { vscode.postMessage({ type: 'feedback', decisionId: m.decisionId, outcome });
           row.textContent = outcome === 'failed' ? 'Noted: the next answer on this task goes one model up.' : 'Noted.'; });
         row.append(b); }
       f.append(row); } }
   else if (m.type === 'preview') { add('p', m.text); }
   else if (m.type === 'cleared') { log.textContent = ''; add('note', 'New conversation.'); cur = null; }
   else if (m.type === 'error') { const e = add('err', m.message); cur = null;
     if (m.action) { const b = document.createElement('button'); b.textContent = m.actionTitle || m.action;
       b.addEventListener('click', () => vscode.postMessage({ type: 'command', command: m.action })); e.append(' ', b); } }
   window.scrollTo(0, document.body.scrollHeight); });
</script></body></html>`;
}

const esc = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const money = (x: number, digits = 4): string => "$" + x.toFixed(digits);

/** The usage view: spend and savings (total and today), a labelled bar per day, each model's share. */
export function usageHtml(u: UsageSummary): string {
  const cols = u.days.map((d) => `<div class="b" title="${esc(d.day)}: ${money(d.costUsd)} for ${d.requests} requests, saved ${money(d.savedUsd)}">` +
    `<span class="v">${money(d.costUsd, 2)}</span><div style="height:${d.heightPct}%"></div><span>${esc(d.day.slice(5))}</span></div>`).join("");
  const models = u.models.map((m) => `<tr><td>${esc(m.model)}</td><td>${m.requests}</td><td>${Math.round(100 * m.share)}%</td><td>${money(m.costUsd)}</td></tr>`).join("");
  return `<!DOCTYPE html><html><head><meta charset="UTF-8"><meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline';">
<style>body{font-family:var(--vscode-font-family);color:var(--vscode-foreground)} .c{display:flex;align-items:flex-end;gap:4px;height:180px}
.b{flex:1;display:flex;flex-direction:column;justify-content:flex-end;height:100%;font-size:.7em;text-align:center}
.b div{background:var(--vscode-charts-blue);min-height:1px} td,th{padding:0 .6em;text-align:left}</style></head><body>
<h3>Kilo usage in this workspace</h3>
<p>Today: spent ${money(u.todayUsd)}, saved ${money(u.todaySavedUsd)} vs Balanced.</p>
<p>In all: spent ${money(u.spentUsd)} on ${u.requests} requests; Balanced would have cost ${money(u.balancedCostUsd)}:
saved ${money(u.savedVsBalancedUsd)} vs Balanced, ${money(u.savedVsFrontierUsd)} vs Frontier.</p>
<h4>Spend per day</h4><div class="c">${cols || "<em>No spend recorded yet.</em>"}</div>
${models ? `<h4>Models</h4><table><tr><th>model</th><th>requests</th><th>share</th><th>cost</th></tr>${models}</table>` : ""}
</body></html>`;
}
