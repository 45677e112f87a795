"""The dashboard's HTTP server: 127.0.0.1 only, a random port, a random token on every request.

- Every request must carry the token (``?token=`` or the ``X-Kilo-Token`` header), compared in
  constant time; without it the answer is 403 and nothing else. The Host header must name this
  server (127.0.0.1 or localhost and its port), so a page on another name that resolves to this
  machine cannot read it.
- Nothing changes on GET. Settings change only by a POST that carries the token, comes from the
  dashboard's own origin (``Origin`` and ``Sec-Fetch-Site`` when the browser sends them) and names
  only the dial and the tier: a field with any other name (an API key, say) is refused.
- No CORS header is ever sent; every page has a Content-Security-Policy without script, and the
  stylesheet is the one shipped in ``static/``. The token is never logged.

It runs in threads of its own (``ThreadingHTTPServer``): its ledger reads use their own SQLite
connection (WAL: they never block the sidecar's writes), and a change of settings is written to the
user config file there and handed to the running configuration by ``Host.use_file``.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import threading
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

from ..config import UserFile
from ..config_write import ConfigWriteError, set_routing
from ..ledger.store import Ledger
from ..routing.engine import Engine
from . import figures, pages

log = logging.getLogger("kilo_lsp.dashboard")

HOST = "127.0.0.1"
TOKEN_HEADER = "X-Kilo-Token"
MAX_BODY = 16 * 1024
MAX_FIELD = 2048
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; "
       "script-src 'none'; connect-src 'none'; frame-src 'none'")
SETTINGS_FIELDS = frozenset({"token", "scope", "dial", "tier"})


@dataclass
class Host:
    """What the dashboard reads and who takes a change of settings."""

    engine: Engine
    ledger_path: Path
    served_by: str = "kilo-lsp dashboard"
    folders: Callable[[], list[str]] = field(default=lambda: [])
    #: takes the user config file as re-read after a change (the sidecar does it on its event loop)
    use_file: Callable[[UserFile], None] | None = None
    #: the engine counts your outcomes as they come (a sidecar); else they are read from the ledger
    live_outcomes: bool = False


class DashboardServer:
    """The server and its thread; ``url`` is what to open."""

    def __init__(self, host: Host, port: int = 0) -> None:
        self.host = host
        self.token = secrets.token_urlsafe(32)
        self.httpd = _Server((HOST, port), _Handler)
        self.httpd.dashboard = self
        self.port = self.httpd.server_address[1]
        self.origins = {f"http://{HOST}:{self.port}", f"http://localhost:{self.port}"}
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()        # one settings change at a time

    def url(self, path: str = "/", **query: object) -> str:
        return f"http://{HOST}:{self.port}" + pages.Context(self.token, "").link(path, **query)

    def start(self) -> "DashboardServer":
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="kilo-dashboard", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.httpd.serve_forever()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- requests -------------------------------------------------------------------------------
    def authorised(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(given.encode("utf-8", "replace"), self.token.encode())

    def context(self) -> pages.Context:
        return pages.Context(self.token, self.host.served_by)

    def ledger(self) -> Any:
        return figures.open_ledger(self.host.ledger_path)

    def get(self, path: str, q: dict[str, str]) -> tuple[int, bytes]:
        ctx, engine = self.context(), self.host.engine
        ledger = self.ledger()
        try:
            if path == "/":
                days = _int(q.get("days"), figures.DEFAULT_PERIOD)
                days = days if days in figures.PERIODS else figures.DEFAULT_PERIOD
                u = figures.usage_figures(ledger, engine.settings, days, self._folders())
                return 200, pages.usage_page(ctx, u, figures.period_replay(ledger, engine, u.since))
            if path == "/leaderboard":
                yours = None if self.host.live_outcomes else figures.outcomes_of(ledger)
                b = figures.board_figures(engine, q.get("class"), q.get("callable") == "1", yours)
                return 200, pages.leaderboard_page(ctx, b)
            if path == "/decisions":
                ws, conv = q.get("workspace"), q.get("conversation")
                if ws is not None and conv is not None:
                    c = figures.conversation_figures(ledger, engine, ws, conv, q.get("dial"))
                    if c is None:
                        return 404, pages.error_page(ctx, "Decisions", "No decision of this conversation is kept.")
                    return 200, pages.conversation_page(ctx, c)
                since = figures.since_day(Ledger.today(), 30)
                convs = ledger.conversations(since) if ledger is not None else []
                return 200, pages.conversations_page(ctx, convs, 30, ws)
            if path == "/settings":
                return 200, self._settings_page(ledger, q.get("saved", ""))
        finally:
            if ledger is not None:
                ledger.close()
        return 404, pages.error_page(ctx, "Not found", "There is no such page.")

    def _folders(self) -> list[str]:
        try:
            return [f for f in self.host.folders() if f]
        except Exception:  # noqa: BLE001 - the sidecar's folders are a nicety here
            return []

    def _settings_page(self, ledger: Any, message: str = "", error: str = "") -> bytes:
        engine = self.host.engine
        scopes = figures.settings_figures(engine, figures.known_workspaces(ledger, self._folders(), engine))
        path = str(engine.config.user_file) if engine.config is not None else "(none)"
        saved = {"1": "Saved.", "": ""}.get(message, "")
        return pages.settings_page(self.context(), scopes, path, saved, error)

    def post_settings(self, form: dict[str, str]) -> tuple[int, bytes | None]:
        """Write the dial and tier of one scope; (303, None) when saved, else the page with the error."""
        engine = self.host.engine
        unknown = sorted(set(form) - SETTINGS_FIELDS)
        ledger = self.ledger()
        try:
            if unknown:
                return 400, self._settings_page(ledger, error="Only the dial and the tier can be set here; refused: "
                                                + ", ".join(n[:40] for n in unknown))
            if engine.config is None:
                return 400, self._settings_page(ledger, error="This sidecar has fixed settings.")
            scope = form.get("scope", "")
            workspace = scope or None
            if workspace is not None and workspace not in figures.known_workspaces(ledger, self._folders(), engine):
                return 400, self._settings_page(ledger, error="Unknown workspace: only the workspaces listed here "
                                                "can be set.")
            changes = {key: (form.get(key) or None) for key in ("dial", "tier") if key in form}
            with self._lock:
                try:
                    set_routing(engine.config.user_file, changes, workspace)
                except ConfigWriteError as exc:
                    return 400, self._settings_page(ledger, error=str(exc))
                read = engine.config.read_file()
                if self.host.use_file is not None:
                    self.host.use_file(read)
                else:
                    engine.config.use_file(read)
            log.info("dashboard: routing %s set for %s", ", ".join(f"{k}={v or '(inherit)'}" for k, v in changes.items()),
                     workspace or "every workspace")
            return 303, None
        finally:
            if ledger is not None:
                ledger.close()


def _int(raw: str | None, default: int) -> int:
    try:
        return int(raw) if raw is not None else default
    except ValueError:
        return default


def _static(name: str) -> bytes | None:
    if name != "dashboard.css":
        return None
    return resources.files("kilo_lsp.dashboard").joinpath("static", name).read_bytes()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False
    dashboard: DashboardServer


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    timeout = 15                        # a client that stalls mid-request is dropped
    server_version = "kilo-lsp-dashboard"
    sys_version = ""

    # -- plumbing -------------------------------------------------------------------------------
    def log_message(self, format: str, *args: Any) -> None:   # the request line holds the token
        pass

    def _send(self, status: int, body: bytes, content_type: str = "text/html; charset=utf-8",
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "same-origin")   # the token never leaves in a Referer; "no-referrer" would make the Origin of a form "null"
        self.send_header("Cache-Control", "no-store")
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        self.send_header("Cross-Origin-Resource-Policy", "same-origin")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _refuse(self, status: int, why: str) -> None:
        self._send(status, (why + "\n").encode(), "text/plain; charset=utf-8")

    def _split(self) -> tuple[str, dict[str, str]]:
        parts = urlsplit(self.path)
        q = {k: v[0][:MAX_FIELD] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        return parts.path, q

    def _host_ok(self) -> bool:
        port = self.server.dashboard.port
        return (self.headers.get("Host") or "") in (f"{HOST}:{port}", f"localhost:{port}")

    def _token(self, q: dict[str, str], form: dict[str, str] | None = None) -> str | None:
        return self.headers.get(TOKEN_HEADER) or q.get("token") or (form or {}).get("token")

    # -- methods --------------------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        d = self.server.dashboard
        path, q = self._split()
        if not self._host_ok():
            return self._refuse(403, "forbidden: unknown host")
        if not d.authorised(self._token(q)):
            return self._refuse(403, "forbidden: this page needs its token (open the URL kilo-lsp printed)")
        if path.startswith("/static/"):
            body = _static(path[len("/static/"):])
            if body is None:
                return self._refuse(404, "not found")
            return self._send(200, body, "text/css; charset=utf-8")
        try:
            status, body = d.get(path, q)
        except Exception as exc:  # noqa: BLE001 - a page that fails says so, the server goes on
            log.warning("dashboard page %s failed: %s: %s", path, type(exc).__name__, exc)
            status, body = 500, pages.error_page(d.context(), "Error", f"This page failed: {type(exc).__name__}.")
        self._send(status, body)

    do_HEAD = do_GET

    def do_POST(self) -> None:  # noqa: N802
        d = self.server.dashboard
        path, q = self._split()
        try:
            length = int(self.headers.get("Content-Length") or "0")
        except ValueError:
            self.close_connection = True
            return self._refuse(400, "bad Content-Length")
        if length < 0 or length > MAX_BODY:
            self.close_connection = True        # its body is left unread
            return self._refuse(413, "request too large")
        raw = self.rfile.read(length) if length else b""      # read first: a refusal then reaches the browser
        if not self._host_ok():
            return self._refuse(403, "forbidden: unknown host")
        origin = self.headers.get("Origin")
        if origin is not None and origin not in d.origins:
            return self._refuse(403, "forbidden: cross-origin request")
        if (self.headers.get("Sec-Fetch-Site") or "same-origin") not in ("same-origin", "none"):
            return self._refuse(403, "forbidden: cross-site request")
        if (self.headers.get("Content-Type") or "").split(";")[0].strip() != "application/x-www-form-urlencoded":
            return self._refuse(415, "a form is expected")
        try:
            form = {k: v[0][:MAX_FIELD] for k, v in parse_qs(raw.decode("utf-8"), keep_blank_values=True,
                                                             strict_parsing=False).items()}
        except UnicodeDecodeError:
            return self._refuse(400, "the form is not UTF-8")
        if not d.authorised(self._token(q, form)):
            return self._refuse(403, "forbidden: this page needs its token")
        if path != "/settings":
            return self._refuse(404, "not found")
        try:
            status, body = d.post_settings(form)
        except Exception as exc:  # noqa: BLE001
            log.warning("dashboard settings change failed: %s: %s", type(exc).__name__, exc)
            status, body = 500, pages.error_page(d.context(), "Error", f"The change failed: {type(exc).__name__}.")
        if status == 303:
            return self._send(303, b"", headers={"Location": d.context().link("/settings", saved=1)})
        self._send(status, body or b"")

    def _unsupported(self) -> None:
        self._refuse(405, "method not allowed")

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _unsupported
