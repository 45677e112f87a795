// The Ask panel's HTML: a small chat that renders streamed text and a footer (model, cost, why).
export function chatHtml(nonce: string, cspSource: string): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${cspSource} 'unsafe-inline'; script-src 'nonce-${nonce}';">
<style>
 body { font-family: var(--vscode-font-family); color: var(--vscode-foreground); }
 .q { font-weight: bold; margin-top: 1em; } .a { white-space: pre-wrap; font-family: var(--vscode-editor-font-family); }
 .f { opacity: .75; font-size: .9em; white-space: pre-wrap; border-top: 1px solid var(--vscode-panel-border); margin-top: .4em; }
 form { display: flex; gap: .5em; position: sticky; bottom: 0; background: var(--vscode-editor-background); padding: .5em 0; }
 textarea { flex: 1; } .err { color: var(--vscode-errorForeground); }
</style></head><body>
<div id="log"></div>
<form id="f"><textarea id="t" rows="3" placeholder="Ask Kilo…"></textarea><button>Ask</button><button type="button" id="c">Cancel</button></form>
<script nonce="${nonce}">
 const vscode = acquireVsCodeApi(); const log = document.getElementById('log'); let cur = null;
 document.getElementById('f').addEventListener('submit', (e) => { e.preventDefault(); const t = document.getElementById('t');
   if (t.value.trim()) { vscode.postMessage({ type: 'ask', text: t.value }); t.value = ''; } });
 document.getElementById('c').addEventListener('click', () => vscode.postMessage({ type: 'cancel' }));
 window.addEventListener('message', (ev) => { const m = ev.data;
   if (m.type === 'start') { const q = document.createElement('div'); q.className = 'q'; q.textContent = m.text; log.append(q);
     cur = document.createElement('div'); cur.className = 'a'; log.append(cur); }
   else if (m.type === 'chunk' && cur) { cur.textContent += m.text; }
   else if (m.type === 'done') { if (cur && !cur.textContent) cur.textContent = m.text;
     const f = document.createElement('div'); f.className = 'f'; f.textContent = m.footer; log.append(f); cur = null; }
   else if (m.type === 'error') { const e = document.createElement('div'); e.className = 'err'; e.textContent = m.message; log.append(e); cur = null; }
   window.scrollTo(0, document.body.scrollHeight); });
</script></body></html>`;
}

/** The usage view: spend, savings and a bar per day. */
export function usageHtml(totals: { spentUsd: number | null; savedUsd: number | null; todayUsd: number | null },
  bars: Array<{ label: string; value: number; heightPct: number }>): string {
  const money = (x: number | null) => (x === null ? "-" : "$" + x.toFixed(4));
  const cols = bars.map((b) => `<div class="b" title="${b.label}: ${money(b.value)}"><div style="height:${b.heightPct}%"></div><span>${b.label.slice(5)}</span></div>`).join("");
  return `<!DOCTYPE html><html><head><meta charset="UTF-8"><meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline';">
<style>body{font-family:var(--vscode-font-family);color:var(--vscode-foreground)} .c{display:flex;align-items:flex-end;gap:4px;height:160px}
.b{flex:1;display:flex;flex-direction:column;justify-content:flex-end;height:100%;font-size:.7em;text-align:center}
.b div{background:var(--vscode-charts-blue)}</style></head><body>
<h3>Kilo usage</h3><p>Today ${money(totals.todayUsd)} · total ${money(totals.spentUsd)} · saved ${money(totals.savedUsd)} vs Balanced</p>
<div class="c">${cols || "<em>No spend recorded yet.</em>"}</div></body></html>`;
}
