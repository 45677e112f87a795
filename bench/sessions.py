"""The session suite: labelled multi-turn editor sessions replayed through the real sidecar.

    python bench/sessions.py                      # every session, every scenario
    python bench/sessions.py --only NAME,NAME --out DIR

Each session in ``bench/sessions/<name>/session.json`` is a conversation as typed into an editor's
chat, with a small workspace (``files/``) its turns point into. For every availability scenario a
fresh sidecar is started (``python -m kilo_lsp --stdio``, isolated from the user's configuration),
initialized with every session workspace as a workspace folder; each session's files are opened with
``textDocument/didOpen`` and its turns are sent in order as ``kilo/route`` in one conversation (the
session's name), with the earlier user turns and a short assistant placeholder after each, and the
turn's editor context. Real turns are never dry runs. Every decision card is kept and scored against
the labels (bench/sessions/README.md).

Scenarios:
  all-keys     a fake key for every provider the sidecar knows (routing needs no network)
  one-key      ANTHROPIC_API_KEY only
  local-only   no keys; a tiny OpenAI-compatible /v1/models server on 127.0.0.1 serving two models,
               given in ``local.endpoints`` with local discovery on

Writes bench/results/sessions.md, sessions.json and sessions_turns.csv (or into --out).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import re
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "reliability"))
from rawlsp import RawSidecar  # noqa: E402

from kilo_lsp.providers.known import KNOWN  # noqa: E402
from kilo_lsp.taxonomy import DIFFICULTIES, TASK_TYPES  # noqa: E402

SESSIONS_DIR = Path(__file__).resolve().parent / "sessions"
RESULTS = Path(__file__).resolve().parent / "results"
SCENARIOS = ("all-keys", "one-key", "local-only")
HEADLINE = "all-keys"
LOCAL_MODELS = ("qwen2.5-coder-7b-instruct", "llama-3.2-3b-instruct")
ASSISTANT_PLACEHOLDER = "(answer)"
ROUTE_TIMEOUT_S = 20.0
DISCOVERY_TIMEOUT_S = 15.0
GUARD = -0.15          # the default eligibility guard against Balanced: 3 x routing.margin (0.05)
CHEAP_SHARE = 0.2      # a "cheap" model: at most 1/5 of Balanced's estimated cost for the turn

LANGUAGE_IDS = {".py": "python", ".ts": "typescript", ".tsx": "typescriptreact", ".js": "javascript",
                ".jsx": "javascriptreact", ".go": "go", ".mod": "go.mod", ".rs": "rust", ".java": "java",
                ".cs": "csharp", ".rb": "ruby", ".erb": "erb", ".gemspec": "ruby", ".kt": "kotlin",
                ".cpp": "cpp", ".h": "cpp", ".sh": "shellscript", ".yml": "yaml", ".yaml": "yaml",
                ".json": "json", ".toml": "toml", ".md": "markdown", ".xml": "xml", ".sql": "sql",
                ".proto": "proto3", ".txt": "plaintext"}
LANGUAGE_BY_NAME = {"Dockerfile": "dockerfile", "Makefile": "makefile", "CMakeLists.txt": "cmake"}

TARGETS = {   # metric -> (description, check: True met, False not met, None when it does not apply)
    "type_accuracy": (">= 0.75", lambda m: m["type_accuracy"] >= 0.75),
    "stuck_share": ("<= 0.10", lambda m: m["stuck"]["share"] <= 0.10),
    "spearman": (">= 0.55, tiers 3 and 4 reachable",
                 lambda m: (m["difficulty"]["spearman"] or 0) >= 0.55
                 and m["difficulty"]["predicted"]["3"] > 0 and m["difficulty"]["predicted"]["4"] > 0),
    "fallback_share": ("<= 0.10", lambda m: m["fallback"]["share"] <= 0.10),
    "unexplained_bounces": ("0", lambda m: m["switches"]["unexplained_bounces"] == 0),
    "trivial_cheap": ("most (> 0.5) where one is eligible",
                      lambda m: None if m["trivial"]["cheap_share_where_eligible"] is None
                      else m["trivial"]["cheap_share_where_eligible"] > 0.5),
}


# -- the suite ----------------------------------------------------------------------------------
def load_sessions(directory: Path = SESSIONS_DIR, only: list[str] | None = None) -> list[dict[str, Any]]:
    """Every session.json under ``directory`` (sorted by name), with its workspace path attached."""
    out = []
    for path in sorted(directory.glob("*/session.json")):
        session = json.loads(path.read_text(encoding="utf-8"))
        if only and session["name"] not in only:
            continue
        session["workspace"] = path.parent / "files"
        out.append(session)
    if only:
        missing = set(only) - {s["name"] for s in out}
        if missing:
            raise SystemExit(f"no such session: {', '.join(sorted(missing))}")
    return out


def language_id(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    if name in LANGUAGE_BY_NAME:
        return LANGUAGE_BY_NAME[name]
    return LANGUAGE_IDS.get(Path(name).suffix, "plaintext")


def file_uri(session: dict[str, Any], rel: str) -> str:
    return (session["workspace"] / rel).as_uri()


def route_params(session: dict[str, Any], index: int) -> dict[str, Any]:
    """The kilo/route params of turn ``index``: its text, the conversation so far and its context."""
    turn = session["turns"][index]
    history: list[dict[str, str]] = []
    for earlier in session["turns"][:index]:
        history += [{"role": "user", "content": earlier["text"]},
                    {"role": "assistant", "content": ASSISTANT_PLACEHOLDER}]
    ctx = turn["context"]
    context: dict[str, Any] = {"referencedUris": [file_uri(session, r) for r in ctx.get("referencedUris", [])]}
    if ctx.get("activeUri"):
        context["activeUri"] = file_uri(session, ctx["activeUri"])
    for key in ("selection", "languageId", "diagnostics"):
        if ctx.get(key) is not None:
            context[key] = ctx[key]
    return {"text": turn["text"], "conversationId": session["name"], "turns": history, "context": context}


# -- scenarios ----------------------------------------------------------------------------------
@contextmanager
def models_server(ids: tuple[str, ...] = LOCAL_MODELS) -> Iterator[str]:
    """A tiny OpenAI-compatible /v1/models endpoint on 127.0.0.1, as a local model server answers."""
    body = json.dumps({"object": "list", "data": [{"id": i, "object": "model", "owned_by": "local"} for i in ids]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            ok = self.path.rstrip("/") == "/v1/models"
            self.send_response(200 if ok else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body) if ok else 0))
            self.end_headers()
            if ok:
                self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    finally:
        httpd.shutdown()
        httpd.server_close()


def fake_key(provider: str) -> str:
    return f"sk-{provider}-sessionsuite-00000000000000000000"


def scenario_env(name: str) -> dict[str, str]:
    if name == "all-keys":
        return {p.key_env: fake_key(p.name) for p in KNOWN.values() if p.key_env}
    if name == "one-key":
        return {"ANTHROPIC_API_KEY": fake_key("anthropic")}
    if name == "local-only":
        return {"KILO_LOCAL_DISCOVER": "1"}
    raise ValueError(name)


def is_local(model: str) -> bool:
    return model.startswith("local:")


def wait_for_local_models(side: RawSidecar, timeout: float = DISCOVERY_TIMEOUT_S) -> float:
    """Dry-run probes until a card names a local model as callable; returns the seconds it took."""
    start = time.monotonic()
    while True:
        answer = side.request("kilo/route", {"text": "rename the variable tmp to total", "conversationId": "probe",
                                             "dryRun": True}, timeout=ROUTE_TIMEOUT_S)
        card = answer.get("result") or {}
        named = [card] + list(card.get("candidates") or [])
        if any(is_local(c.get("model", "")) and c.get("callable") for c in named):
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise RuntimeError(f"the sidecar found no local model within {timeout:.0f} s")
        time.sleep(0.05)


def run_scenario(name: str, sessions: list[dict[str, Any]]) -> dict[str, Any]:
    """One fresh sidecar: open every workspace file and route every turn of every session."""
    with tempfile.TemporaryDirectory(prefix="kilo-sessions-") as home, \
            (models_server() if name == "local-only" else _nothing()) as local_url:
        init: dict[str, Any] = {}
        if local_url:     # only the suite's server: no Ollama or LM Studio this machine may run
            init = {"local": {"endpoints": [local_url], "ollamaUrl": "", "lmstudioUrl": ""}}
        side = RawSidecar(Path(home), scenario_env(name))
        try:
            answer = side.initialize(init_options=init or None,
                                     folders=[s["workspace"].as_uri() for s in sessions])
            if "result" not in answer:
                raise RuntimeError(f"{name}: initialize failed: {answer.get('error')}")
            discovery = wait_for_local_models(side) if local_url else None
            for session in sessions:
                for rel in session["files"]:
                    side.notify("textDocument/didOpen", {"textDocument": {
                        "uri": file_uri(session, rel), "languageId": language_id(rel), "version": 1,
                        "text": (session["workspace"] / rel).read_text(encoding="utf-8")}})
            cards: dict[str, list[dict[str, Any]]] = {}
            for session in sessions:
                cards[session["name"]] = []
                for i in range(len(session["turns"])):
                    answer = side.request("kilo/route", route_params(session, i), timeout=ROUTE_TIMEOUT_S)
                    if "result" not in answer:
                        raise RuntimeError(f"{name}: {session['name']} turn {i + 1}: {answer.get('error')}")
                    cards[session["name"]].append(answer["result"])
        finally:
            side.close()
    return {"scenario": name, "cards": cards, "local_url": local_url, "discovery_s": discovery}


@contextmanager
def _nothing() -> Iterator[None]:
    yield None


# -- metrics ------------------------------------------------------------------------------------
def ranks(values: list[float]) -> list[float]:
    """Average ranks (1-based), ties sharing the mean of their positions."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    out = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return out


def spearman(x: list[float], y: list[float]) -> float | None:
    """Spearman's rank correlation with ties (Pearson on average ranks); None when undefined."""
    if len(x) != len(y) or len(x) < 2:
        return None
    rx, ry = ranks(x), ranks(y)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    vx = sum((a - mx) ** 2 for a in rx)
    vy = sum((b - my) ** 2 for b in ry)
    if vx == 0 or vy == 0:
        return None
    return cov / math.sqrt(vx * vy)


def model_label(model: str) -> str:
    """A model id without the suite server's port, so that runs compare line by line."""
    return re.sub(r"^local:127\.0\.0\.1:\d+/", "local/", model)


def turn_rows(sessions: list[dict[str, Any]], run: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for session in sessions:
        for i, (turn, card) in enumerate(zip(session["turns"], run["cards"][session["name"]])):
            labels = turn["labels"]
            signals = {s["name"] for s in card.get("signals") or []}
            rows.append({
                "scenario": run["scenario"], "session": session["name"], "language": session["language"],
                "turn": i + 1, **labels,
                "predicted_type": card["taskType"], "predicted_difficulty": card["difficulty"],
                "confidence": card["confidence"], "type_confidence": card["typeConfidence"],
                "model": model_label(card["model"]), "reason_code": card["reasonCode"],
                "fallback": card["fallback"], "sticky": card["sticky"], "escalated": card["escalated"],
                "callable": card["callable"], "estimated_cost_usd": card["estimatedCostUsd"],
                "balanced_model": card["balanced"]["model"], "balanced_cost_usd": card["balanced"]["estimatedCostUsd"],
                "frontier_cost_usd": card["frontier"]["estimatedCostUsd"],
                "cheap_eligible": any(c["callable"] and c["vsBalancedLow"] is not None and c["vsBalancedLow"] >= GUARD
                                      and c["estimatedCostUsd"] <= card["balanced"]["estimatedCostUsd"] * CHEAP_SHARE
                                      for c in card["candidates"]),
                "context_checks": context_checks(session, turn, card),
            })
    return rows


def context_checks(session: dict[str, Any], turn: dict[str, Any], card: dict[str, Any]) -> dict[str, bool]:
    """Whether what the runner sent shows up on the card, where the card can show it: the session's
    workspace folder, error diagnostics (a type signal), referenced files (``files_involved``) and a
    small selection in a single file (its line count)."""
    ctx = turn["context"]
    details = {s["name"]: s["detail"] for s in card.get("signals") or []}
    out = {"workspace": card["workspace"] == session["workspace"].as_uri()}
    if any(d["severity"] == 1 for d in ctx.get("diagnostics") or []):
        out["diagnostics"] = "diagnostics_errors" in details
    if ctx.get("referencedUris"):
        files = len({ctx["activeUri"], *ctx["referencedUris"]}) if ctx.get("activeUri") else len(ctx["referencedUris"])
        out["files"] = details.get("files_involved") == f"{files} files involved"
    sel = ctx.get("selection")
    if sel and not ctx.get("referencedUris"):
        lines = sel["end"]["line"] - sel["start"]["line"] + 1
        if lines <= 5:
            out["selection"] = details.get("selection") == f"small selection ({lines} lines)"
    return out


def share(n: int, d: int) -> float | None:
    return round(n / d, 4) if d else None


def metrics(rows: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(rows)
    prev: dict[str, Any] = {}
    confusion = {t: {p: 0 for p in TASK_TYPES} for t in TASK_TYPES}
    diff_matrix = {str(d): {str(p): 0 for p in DIFFICULTIES} for d in DIFFICULTIES}
    stuck = stuck_n = 0
    switches = on_new = on_follow = bounces = unexplained = needless = 0
    new_tasks = follow_ups = 0
    for r in rows:
        confusion[r["task_type"]][r["predicted_type"]] += 1
        diff_matrix[str(r["difficulty"])][str(r["predicted_difficulty"])] += 1
        p = prev.get(r["session"])
        if p is not None:
            if r["same_task"]:
                follow_ups += 1
            else:
                new_tasks += 1
            if not r["same_task"] and r["task_type"] != p["task_type"]:
                stuck_n += 1
                stuck += r["predicted_type"] == p["predicted_type"]
            if r["model"] != p["model"]:
                switches += 1
                if r["same_task"]:
                    on_follow += 1
                else:
                    on_new += 1
                bounce = r["balanced_model"] in (r["model"], p["model"])
                bounces += bounce
                unwarranted = r["same_task"] and r["difficulty"] <= p["difficulty"] and not r["previous_failed"]
                needless += unwarranted
                unexplained += bounce and unwarranted
        prev[r["session"]] = r
    correct = sum(r["predicted_type"] == r["task_type"] for r in rows)
    by_kind = {}
    for kind, keep in (("first_turns", lambda r: r["turn"] == 1), ("new_tasks", lambda r: r["turn"] > 1 and not r["same_task"]),
                       ("follow_ups", lambda r: r["same_task"])):
        sel = [r for r in rows if keep(r)]
        by_kind[kind] = {"n": len(sel), "accuracy": share(sum(r["predicted_type"] == r["task_type"] for r in sel), len(sel))}
    per_type = {t: {"n": sum(confusion[t].values()), "recall": share(confusion[t][t], sum(confusion[t].values())),
                    "precision": share(confusion[t][t], sum(confusion[u][t] for u in TASK_TYPES))} for t in TASK_TYPES}
    trivial = [r for r in rows if r["trivial"]]
    cheap = [r for r in trivial if r["estimated_cost_usd"] <= r["balanced_cost_usd"] * CHEAP_SHARE]
    eligible = [r for r in trivial if r["cheap_eligible"]]
    cheap_eligible = [r for r in eligible if r["estimated_cost_usd"] <= r["balanced_cost_usd"] * CHEAP_SHARE]
    fallbacks = sum(r["fallback"] or r["reason_code"] == "low_confidence" for r in rows)
    rho = spearman([r["difficulty"] for r in rows], [r["predicted_difficulty"] for r in rows])
    cost = sum(r["estimated_cost_usd"] for r in rows)
    balanced = sum(r["balanced_cost_usd"] for r in rows)
    frontier = sum(r["frontier_cost_usd"] for r in rows)
    return {
        "turns": n,
        "type_accuracy": share(correct, n),
        "type_accuracy_by_kind": by_kind,
        "per_type": per_type,
        "confusion": confusion,
        "difficulty": {
            "spearman": None if rho is None else round(rho, 4),
            "exact": share(sum(r["difficulty"] == r["predicted_difficulty"] for r in rows), n),
            "predicted": {str(d): sum(r["predicted_difficulty"] == d for r in rows) for d in DIFFICULTIES},
            "labelled": {str(d): sum(r["difficulty"] == d for r in rows) for d in DIFFICULTIES},
            "matrix": diff_matrix,
        },
        "stuck": {"count": stuck, "eligible": stuck_n, "share": share(stuck, stuck_n)},
        "fallback": {"count": fallbacks, "share": share(fallbacks, n)},
        "switches": {"model_switches": switches, "labelled_new_tasks": new_tasks, "labelled_follow_ups": follow_ups,
                     "on_new_tasks": on_new, "on_follow_ups": on_follow, "bounces": bounces,
                     "unexplained_bounces": unexplained, "needless_on_follow_ups": needless},
        "trivial": {"turns": len(trivial), "on_cheap_model": len(cheap), "cheap_share": share(len(cheap), len(trivial)),
                    "cheap_eligible": len(eligible), "on_cheap_where_eligible": len(cheap_eligible),
                    "cheap_share_where_eligible": share(len(cheap_eligible), len(eligible))},
        "not_callable": sum(not r["callable"] for r in rows),
        "sticky": sum(r["sticky"] for r in rows),
        "escalated": sum(r["escalated"] for r in rows),
        "cost": {"routed_usd": round(cost, 6), "balanced_usd": round(balanced, 6), "frontier_usd": round(frontier, 6),
                 "vs_balanced": share_f(cost, balanced), "vs_frontier": share_f(cost, frontier)},
        "reason_codes": dict(sorted(Counter(r["reason_code"] for r in rows).items())),
        "models": dict(sorted(Counter(r["model"] for r in rows).items(), key=lambda kv: (-kv[1], kv[0]))),
        "context_checks": {k: {"checked": sum(k in r["context_checks"] for r in rows),
                               "ok": sum(r["context_checks"].get(k, False) for r in rows)}
                           for k in ("workspace", "diagnostics", "files", "selection")},
    }


def share_f(a: float, b: float) -> float | None:
    return round(a / b, 4) if b else None


def suite_counts(sessions: list[dict[str, Any]]) -> dict[str, Any]:
    turns = [t for s in sessions for t in s["turns"]]
    labels = [t["labels"] for t in turns]
    return {
        "sessions": len(sessions), "turns": len(turns),
        "task_type": {t: sum(lab["task_type"] == t for lab in labels) for t in TASK_TYPES},
        "difficulty": {str(d): sum(lab["difficulty"] == d for lab in labels) for d in DIFFICULTIES},
        "language": dict(sorted(Counter(s["language"] for s in sessions).items(), key=lambda kv: (-kv[1], kv[0]))),
        "same_task": {"true": sum(lab["same_task"] for lab in labels), "false": sum(not lab["same_task"] for lab in labels)},
        "previous_failed": sum(lab["previous_failed"] for lab in labels),
        "trivial": sum(lab["trivial"] for lab in labels),
        "turns_per_session": dict(sorted(Counter(str(len(s["turns"])) for s in sessions).items())),
    }


# -- reports ------------------------------------------------------------------------------------
def _f(x: Any, digits: int = 2) -> str:
    if x is None:
        return "n/a"
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return str(x)


def _met(ok: bool | None) -> str:
    return "n/a" if ok is None else "yes" if ok else "no"


def table_rows(results: dict[str, dict[str, Any]]) -> list[tuple[str, list[str], str, str]]:
    """(metric, value per scenario, target, met per scenario) for the summary table."""
    names = list(results)

    def met(key: str) -> str:
        return " / ".join(_met(TARGETS[key][1](results[n])) for n in names)

    def row(label: str, fmt: Any, key: str | None = None) -> tuple[str, list[str], str, str]:
        return (label, [fmt(results[n]) for n in names], TARGETS[key][0] if key else "", met(key) if key else "")

    return [
        row("task type accuracy", lambda m: _f(m["type_accuracy"]), "type_accuracy"),
        row("  on first turns / new tasks / follow-ups", lambda m: " / ".join(
            _f(m["type_accuracy_by_kind"][k]["accuracy"]) for k in ("first_turns", "new_tasks", "follow_ups"))),
        row("stuck on the previous type (count / eligible, share)",
            lambda m: f"{m['stuck']['count']} / {m['stuck']['eligible']} ({_f(m['stuck']['share'])})", "stuck_share"),
        row("difficulty: Spearman (labelled vs predicted)", lambda m: _f(m["difficulty"]["spearman"]), "spearman"),
        row("  predicted tier 1 / 2 / 3 / 4", lambda m: " / ".join(str(m["difficulty"]["predicted"][str(d)]) for d in DIFFICULTIES)),
        row("  exact tier", lambda m: _f(m["difficulty"]["exact"])),
        row("fallback to Balanced (count, share)", lambda m: f"{m['fallback']['count']} ({_f(m['fallback']['share'])})",
            "fallback_share"),
        row("model switches (on new tasks / on follow-ups)", lambda m: f"{m['switches']['model_switches']} "
            f"({m['switches']['on_new_tasks']} / {m['switches']['on_follow_ups']})"),
        row("  labelled task switches / follow-ups", lambda m: f"{m['switches']['labelled_new_tasks']} / "
            f"{m['switches']['labelled_follow_ups']}"),
        row("  bounces to or from Balanced", lambda m: str(m["switches"]["bounces"])),
        row("  bounces without a reason", lambda m: str(m["switches"]["unexplained_bounces"]), "unexplained_bounces"),
        row("  needless switches on follow-ups", lambda m: str(m["switches"]["needless_on_follow_ups"])),
        row("trivial turns on a model <= 1/5 of Balanced's price", lambda m: f"{m['trivial']['on_cheap_model']} / "
            f"{m['trivial']['turns']} ({_f(m['trivial']['cheap_share'])})"),
        row("  where such a model is callable and eligible", lambda m: f"{m['trivial']['on_cheap_where_eligible']} / "
            f"{m['trivial']['cheap_eligible']} ({_f(m['trivial']['cheap_share_where_eligible'])})", "trivial_cheap"),
        row("cards with no callable model", lambda m: str(m["not_callable"])),
        row("sticky / escalated cards", lambda m: f"{m['sticky']} / {m['escalated']}"),
        row("estimated cost: routed / Balanced / Frontier (USD)", lambda m: f"{m['cost']['routed_usd']:.3f} / "
            f"{m['cost']['balanced_usd']:.3f} / {m['cost']['frontier_usd']:.3f}"),
        row("  routed vs Balanced / vs Frontier", lambda m: f"{_f(m['cost']['vs_balanced'])} / {_f(m['cost']['vs_frontier'])}"),
    ]


def markdown(suite: dict[str, Any], results: dict[str, dict[str, Any]]) -> str:
    names = list(results)
    head = results.get(HEADLINE) or results[names[0]]
    headline = HEADLINE if HEADLINE in results else names[0]
    lines = [
        "# Session suite",
        "",
        f"`make bench-sessions` (`bench/sessions.py`): {suite['sessions']} labelled editor sessions, {suite['turns']} turns, "
        "replayed through the real sidecar as `kilo/route` requests, one conversation per session. The suite and its "
        "labelling guide: [bench/sessions/README.md](../sessions/README.md). Per-turn decisions: `sessions_turns.csv`; "
        "every figure: `sessions.json`.",
        "",
        f"Scenarios (a fresh sidecar each): `all-keys` (a fake key for every known provider; the headline), `one-key` "
        f"(ANTHROPIC_API_KEY only), `local-only` (no keys, a local server with two models).",
        "",
        "| metric | " + " | ".join(f"`{n}`" for n in names) + " | target | met (" + " / ".join(names) + ") |",
        "|---|" + "---:|" * len(names) + "---|---|",
    ]
    for label, values, target, met in table_rows(results):
        if label.startswith("  "):
            label = "&emsp;" + label.strip()
        lines.append(f"| {label} | " + " | ".join(values) + f" | {target} | {met} |")
    lines += [
        "",
        "Definitions. *Stuck*: turns labelled as a new task whose labelled type differs from the previous turn's, where "
        "the card repeats the previous card's type. *Fallback*: `fallback` true or reason `low_confidence`. *Switch*: the "
        "card's model differs from the previous card's in the session; a *bounce* has Balanced (`balanced.model`) on "
        "one side; a switch on a follow-up is *needless* when the labelled difficulty did not rise and the previous "
        "answer did not fail, and a bounce is *without a reason* under the same condition. *Eligible cheap model*: a "
        "callable candidate on the card at most 1/5 of Balanced's estimated cost for the turn, within the default guard "
        "(paired lower bound of its success rate minus Balanced's >= -15 points). A target that does not apply "
        "(no such model) reads n/a.",
        "",
        f"## Task types (`{headline}`): labelled (rows) x predicted (columns)",
        "",
        "| labelled | " + " | ".join(t.replace("_", " ") for t in TASK_TYPES) + " | recall |",
        "|---|" + "---:|" * (len(TASK_TYPES) + 1),
    ]
    for t in TASK_TYPES:
        row = head["confusion"][t]
        lines.append(f"| {t} | " + " | ".join(str(row[p]) if row[p] else "." for p in TASK_TYPES)
                     + f" | {_f(head['per_type'][t]['recall'])} |")
    lines.append("| precision | " + " | ".join(_f(head["per_type"][p]["precision"]) for p in TASK_TYPES) + " | |")
    lines += [
        "",
        f"## Difficulty (`{headline}`): labelled (rows) x predicted (columns)",
        "",
        "| labelled | 1 | 2 | 3 | 4 |",
        "|---|---:|---:|---:|---:|",
    ]
    for d in DIFFICULTIES:
        row = head["difficulty"]["matrix"][str(d)]
        lines.append(f"| {d} | " + " | ".join(str(row[str(p)]) for p in DIFFICULTIES) + " |")
    lines += ["", "## Reason codes and models", ""]
    for n in names:
        m = results[n]
        lines.append(f"- `{n}`: " + ", ".join(f"{k} {v}" for k, v in m["reason_codes"].items())
                     + "; models: " + ", ".join(f"{k} {v}" for k, v in m["models"].items()) + ".")
    checks = {n: results[n]["context_checks"] for n in names}
    lines += ["", "## What reached the sidecar", "",
              "Where a card can show the context it was sent, it does (checked / shown, per scenario): "
              + "; ".join(f"`{n}` " + ", ".join(f"{k} {c['ok']}/{c['checked']}" for k, c in checks[n].items())
                          for n in names) + ".", ""]
    return "\n".join(lines)


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    fields = ["scenario", "session", "language", "turn", "task_type", "difficulty", "same_task", "trivial", "previous_failed",
              "predicted_type", "predicted_difficulty", "confidence", "type_confidence", "model", "reason_code",
              "fallback", "sticky", "escalated", "callable", "estimated_cost_usd", "balanced_cost_usd", "frontier_cost_usd"]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({k: (str(v).lower() if isinstance(v, bool) else v) for k, v in r.items()})


def print_table(results: dict[str, dict[str, Any]]) -> None:
    names = list(results)
    rows = [("metric", names, "target", "met")] + [(a, b, c, d) for a, b, c, d in table_rows(results)]
    w0 = max(len(r[0]) for r in rows)
    ws = [max(len(r[1][i]) for r in rows) for i in range(len(names))]
    wt = max(len(r[2]) for r in rows)
    for label, values, target, met in rows:
        print(f"{label:<{w0}}  " + "  ".join(f"{v:>{ws[i]}}" for i, v in enumerate(values)) + f"  {target:<{wt}}  {met}")


def run(sessions: list[dict[str, Any]], scenarios: tuple[str, ...] = SCENARIOS,
        out: Path = RESULTS) -> dict[str, Any]:
    """Run the scenarios (concurrently: each is its own sidecar), score them and write the reports."""
    with ThreadPoolExecutor(max_workers=len(scenarios)) as pool:
        runs = list(pool.map(lambda name: run_scenario(name, sessions), scenarios))
    rows_by = {r["scenario"]: turn_rows(sessions, r) for r in runs}
    results = {name: metrics(rows_by[name]) for name in scenarios}
    suite = suite_counts(sessions)
    out.mkdir(parents=True, exist_ok=True)
    (out / "sessions.md").write_text(markdown(suite, results), encoding="utf-8")
    (out / "sessions.json").write_text(json.dumps({
        "suite": suite, "scenarios": results,
        "targets": {k: v[0] for k, v in TARGETS.items()},
        "met": {name: {k: v[1](results[name]) for k, v in TARGETS.items()} for name in scenarios},
    }, indent=1) + "\n", encoding="utf-8")
    write_csv(out / "sessions_turns.csv", [r for name in scenarios for r in rows_by[name]])
    return {"suite": suite, "results": results, "rows": rows_by}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=Path, default=SESSIONS_DIR, help="directory of sessions")
    parser.add_argument("--only", default="", help="comma-separated session names")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated: " + ", ".join(SCENARIOS))
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the reports go")
    args = parser.parse_args(argv)
    scenarios = tuple(s for s in args.scenarios.split(",") if s)
    unknown = set(scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario: {', '.join(sorted(unknown))}")
    sessions = load_sessions(args.sessions, [s for s in args.only.split(",") if s] or None)
    start = time.monotonic()
    report = run(sessions, scenarios, args.out)
    print(f"{report['suite']['sessions']} sessions, {report['suite']['turns']} turns, {len(scenarios)} scenarios "
          f"in {time.monotonic() - start:.1f} s\n")
    print_table(report["results"])
    bad = {name: {k: f"{c['ok']}/{c['checked']}" for k, c in m["context_checks"].items() if c["ok"] != c["checked"]}
           for name, m in report["results"].items()}
    bad = {k: v for k, v in bad.items() if v}
    if bad:
        print(f"\nwarning: context sent but not shown on the card: {bad}")
    print(f"\nwrote {args.out / 'sessions.md'}, sessions.json, sessions_turns.csv")
    return 0


if __name__ == "__main__":
    sys.exit(main())
