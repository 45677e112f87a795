"""Command line: serve LSP (stdio by default), check the configuration, route, read the leaderboard, and
serve the dashboard."""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import signal
import sys
from typing import Any

import msgspec

from . import __version__
from .config import ConfigStore, describe
from .leaderboard.errors import LeaderboardError
from .leaderboard.view import leaderboard_view
from .protocol import DecisionCard, RouteParams
from .redaction import install_log_filter, mask_url
from .routing.engine import Engine


STDERR_LEVELS = ("debug", "info", "warning", "error", "off")


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip()
    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.0f}%"


def format_card(card: DecisionCard) -> str:
    """A decision card as a person reads it in a terminal."""
    flags = [name for name, on in (("sticky", card.sticky), ("escalated", card.escalated),
                                    ("fallback", card.fallback), ("what-if", card.what_if)) if on]
    head = [
        f"model      {card.model} ({card.model_name})" + (f" via {card.provider}" if card.provider else ""),
        f"callable   {'yes' if card.callable else 'no (what-if: no credentials for it)'}",
        f"task       {card.task_type}, difficulty {card.difficulty}, confidence {card.confidence:.2f}"
        f"  [class {card.task_class or '-'}]",
        f"tier/dial  {card.tier} / {card.dial}" + (f"   flags: {', '.join(flags)}" if flags else ""),
        f"reason     [{card.reason_code}] {card.reason}",
        f"cost       ${card.estimated_cost_usd:.4f} this request (~{card.estimated_input_tokens} in, "
        f"~{card.estimated_output_tokens} out); Balanced {card.balanced.model} ${card.balanced.estimated_cost_usd:.4f}; "
        f"Frontier {card.frontier.model} ${card.frontier.estimated_cost_usd:.4f}",
    ]
    if card.ladder:
        up = f"; a failed answer moves it to {card.next_rung.model} (${card.next_rung.estimated_cost_usd:.4f})" \
            if card.next_rung else "; top rung"
        head.append(f"ladder     {' > '.join(card.ladder)}  (rung {card.rung or '-'} of {len(card.ladder)}{up})")
    if card.failed_reason:
        head.append(f"failed     the last answer: {card.failed_reason}")
    if card.signals:
        head.append("signals    " + "; ".join(s.detail for s in card.signals[:4]))
    rows = [[("> " if c.model == card.model else "  ") + c.model, str(c.rung or ""), _pct(c.accuracy),
             f"{_pct(c.ci_low)}-{_pct(c.ci_high)}" if c.ci_low is not None else "-", str(c.samples or "-"),
             (c.source or "-") + (" (borrowed)" if c.borrowed else ""),
             f"{c.yours.accepted}/{c.yours.accepted + c.yours.failed} -> {_pct(c.yours.rate)}" if c.yours else "-",
             "yes" if c.clears_bar else "no", f"${c.estimated_cost_usd:.4f}",
             f"${c.expected_cost_per_task_usd:.3f}" if c.expected_cost_per_task_usd is not None else "-",
             c.provider or "-"]
            for c in card.candidates]
    table = _table(rows, ["candidate", "rung", "solved", "CI", "n", "source", "yours", "clears", "this request",
                          "per task (bench)", "via"])
    return "\n".join(head) + "\n\n" + table + f"\n\nleaderboard {card.leaderboard_version} · classifier {card.classifier} · decision {card.decision_id}"


def _evidence_rows(rows: list[dict[str, Any]], prices: dict[str, dict[str, Any]]) -> list[list[str]]:
    return [[r["model"], r["source"] + (" (borrowed)" if r["borrowed"] else ""), f"{r['solved']}/{r['n']}",
             _pct(r["rate"]), f"{_pct(r['ciLow'])}-{_pct(r['ciHigh'])}",
             f"{100 * r['vsBalanced']['ciLow']:+.1f} pts" if r["vsBalanced"] else "-",
             f"${r['costPerRequest']:.3f}" if r["costPerRequest"] is not None else "-",
             f"${prices[r['model']]['prices']['input']:g}/${prices[r['model']]['prices']['output']:g}",
             "yes" if prices[r["model"]]["callable"] else "no",
             f"{r['yours']['accepted']}/{r['yours']['accepted'] + r['yours']['failed']} -> {_pct(r['yours']['rate'])}"
             if r.get("yours") else "-"]
            for r in rows]


def format_leaderboard(view: dict[str, Any]) -> str:
    """The leaderboard as a person reads it: per class its own source, the borrowed note, a row per
    model with the row's source and n, the rows shown beside; then the sources."""
    out = [f"leaderboard {view['version']} (built {view['builtAt'] or '?'}; {view['confidenceLevel']:.0%} confidence bounds)",
           f"Balanced: {view['balanced']}   Frontier: {view['frontier']}", ""]
    prices = {m["id"]: m for m in view["models"]}
    header = ["model", "source", "solved", "rate", "CI", "vs Balanced (low)", "per task", "$/M in/out", "callable",
              "yours"]
    for key, c in view["classes"].items():
        out.append(f"class {key}: {c['label']} — {c['nTasks']} tasks in {c['source']}")
        if c["borrowed"]:
            out.append(f"borrowed: {c['borrowed']}")
        for dial, rungs in c.get("ladders", {}).items():
            out.append(f"{dial} ladder: {' > '.join(rungs)} (chosen on {c['ladderTasks']} tasks of {c['ladderSource']})")
        out.append(_table(_evidence_rows(c["models"], prices), header))
        if c["beside"]:
            out.append("shown beside (not read by routing):")
            out.append(_table(_evidence_rows(c["beside"], prices), header))
        out.append("")
    for sid, s in view["sources"].items():
        out.append(f"source {sid}: {s['benchmark']}; scaffold {s['scaffold']}; {s['models']} catalog models; "
                   f"cost: {s['cost']}; licence {s['licence']}; {s['url']}")
    return "\n".join(out)


def local_lines(engine: Engine, settings: Any, timeout: float = 1.0) -> list[str]:
    """Ask the local servers the settings name what they serve (as the sidecar does), make their
    models known to ``engine``, and say what was found, server by server."""
    if not settings.local.discover:
        return ["local servers: not asked (local.discover is false)"]
    import asyncio

    from .providers.local import probe_servers   # httpx2: only when there is something to ask
    servers, models = asyncio.run(probe_servers(settings, timeout))
    engine.local_models = models
    if not servers:
        return ["local servers: none named (local.ollamaUrl, local.lmstudioUrl, local.endpoints)"]
    lines = ["local servers:"]
    for server in servers:
        state = (f"{len(server.models)} model{'s' if len(server.models) != 1 else ''}" if server.reachable
                 else "not answering")
        lines.append(f"  {server.name} {server.url}: {state}")
    lines.append("local models: " + (", ".join(m.id for m in models) if models else "none"))
    return lines


def check(config: ConfigStore) -> int:
    """Print the effective configuration; exit 1 with a clear message when something is wrong."""
    settings = config.effective()
    print(f"kilo-lsp {__version__}")
    print(f"config file: {config.user_file} ({'found' if config.user_file.is_file() else 'not found, using defaults'})")
    print(json.dumps(describe(settings), indent=2))
    engine = Engine(config=config)
    status = 0
    try:
        board = engine.leaderboard(settings)
        print(f"leaderboard: {board.version} ({board.path}), {len(board.models)} models, {len(board.classes)} classes")
        keyed = sorted(settings.credentialed_providers())
        print(f"providers with credentials: {', '.join(keyed) if keyed else 'none'}")
        for line in local_lines(engine, settings):
            print(line)
        board = engine.leaderboard(settings)
        reach = engine.reachable(board, settings)
        print(f"callable models: {len(reach)}" + ("" if reach else " (what-if mode: decisions are shown, not callable)"))
        env = config.env
        proxy = env.get("HTTPS_PROXY") or env.get("https_proxy") or "(none)"
        print(f"network: HTTPS_PROXY={mask_url(proxy)} NO_PROXY={env.get('NO_PROXY') or env.get('no_proxy') or '(none)'} "
              f"SSL_CERT_FILE={env.get('SSL_CERT_FILE') or '(none)'} caBundle={settings.network.ca_bundle or '(none)'}")
    except LeaderboardError as exc:
        print(f"error: {exc}", file=sys.stderr)
        status = 1
    for problem in settings.problems:
        print(f"problem: {problem}", file=sys.stderr)
        status = 1
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kilo-lsp", description="An LSP sidecar that routes AI coding requests "
                                     "to the cheapest model proven accurate enough for the task.")
    parser.add_argument("--version", action="version", version=f"kilo-lsp {__version__}")
    parser.add_argument("--stdio", action="store_true", help="serve LSP on stdin/stdout (the default)")
    parser.add_argument("--tcp", metavar="HOST:PORT", help="serve LSP on TCP, for debugging")
    parser.add_argument("--check", action="store_true", help="print the effective configuration and exit")
    parser.add_argument("--stderr-level", choices=STDERR_LEVELS,
                        default=os.environ.get("KILO_STDERR_LEVEL") or None,
                        help="the least severe log records also written to stderr while serving (default: "
                        "$KILO_STDERR_LEVEL, else log.level); they always go to the editor as window/logMessage "
                        "with their level")
    sub = parser.add_subparsers(dest="command")
    route = sub.add_parser("route", help="route one request and print the decision card")
    route.add_argument("text")
    route.add_argument("--tier", choices=["efficient", "balanced", "frontier", "free"])
    route.add_argument("--dial", choices=["bill", "bar"])
    route.add_argument("--pin")
    route.add_argument("--json", action="store_true", help="print the card as JSON")
    board = sub.add_parser("leaderboard", help="print the leaderboard the router uses")
    board.add_argument("--json", action="store_true")
    board.add_argument("--type", dest="task_type")
    board.add_argument("--difficulty", type=int)
    dash = sub.add_parser("dashboard", help="serve the dashboard on 127.0.0.1 and open it in the browser")
    dash.add_argument("--no-browser", action="store_true", help="only print the URL")
    args = parser.parse_args(argv)

    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="kilo-lsp %(levelname)s %(message)s")
    for handler in logging.getLogger().handlers:
        install_log_filter(handler)       # redacted, and tracebacks only at debug level
    config = ConfigStore()
    if args.check:
        return check(config)
    if args.command in ("route", "leaderboard"):
        return _offline(args, config)
    if args.command == "dashboard":
        return dashboard(config, open_browser=not args.no_browser)

    # pygls and lsprotocol: imported only to serve. The modules loaded so far live as long as the
    # process: frozen, the collections that run while lsprotocol's many types load do not walk
    # them again (about 25 ms of start-up), and the server's own are frozen once it is built.
    gc.freeze()
    from .lsp.server import build_server
    level = config.effective().log.level.upper()
    logging.getLogger("kilo_lsp").setLevel(level)
    if args.stderr_level in STDERR_LEVELS:   # an editor that files all of stderr under one level asks for less
        for handler in logging.getLogger().handlers:
            handler.setLevel(logging.CRITICAL + 1 if args.stderr_level == "off" else args.stderr_level.upper())
    ls = build_server(config)
    gc.freeze()
    if args.tcp:
        host, _, port = args.tcp.rpartition(":")
        ls.start_tcp(host or "127.0.0.1", int(port))
    else:
        ls.start_io()
    return ls.exit_code


def dashboard(config: ConfigStore, open_browser: bool = True) -> int:
    """`kilo-lsp dashboard`: serve the dashboard on the user's ledger and config file until interrupted.
    A running sidecar picks up a dial or tier changed here within a second."""
    from .dashboard.server import DashboardServer, Host
    from .ledger.store import default_path
    server = DashboardServer(Host(Engine(config=config), default_path()))
    url = server.url()
    print(f"kilo-lsp dashboard: {url}", flush=True)
    print("(this machine only; the token in the URL is needed for every request. Ctrl-C stops it.)", flush=True)
    if open_browser:
        import webbrowser
        webbrowser.open(url)

    def stop(*_: Any) -> None:
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.httpd.server_close()
    return 0


def _offline(args: argparse.Namespace, config: ConfigStore) -> int:
    """`kilo-lsp route` and `kilo-lsp leaderboard`: the engine without a server."""
    engine = Engine(config=config)
    if args.command == "route":
        try:
            card = engine.route(RouteParams(text=args.text, tier=args.tier, dial=args.dial, pin=args.pin))
        except LeaderboardError as exc:
            print(f"kilo-lsp: {exc}", file=sys.stderr)
            return 1
        print(json.dumps(msgspec.to_builtins(card), indent=2) if args.json else format_card(card))
        return 0
    try:
        settings = config.effective()
        lb = engine.leaderboard(settings)
    except LeaderboardError as exc:
        print(f"kilo-lsp: {exc}", file=sys.stderr)
        return 1
    via = {mid: r.provider for mid, r in engine.reachable(lb, settings).items()}
    view = msgspec.to_builtins(leaderboard_view(lb, via, args.task_type, args.difficulty))
    print(json.dumps(view, indent=2) if args.json else format_leaderboard(view))
    return 0


if __name__ == "__main__":
    sys.exit(main())
