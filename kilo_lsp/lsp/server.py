"""The sidecar: pygls' server with kilo-lsp's overrides, the objects every feature shares, and assembly.

A request comes in here; ``build_server`` registers the lifecycle handlers and each feature
(``kilo_lsp/features/``), and each feature's handlers call the core: the routing engine
(``routing/engine.py``) decides, the forwarder (``forwarding/``) sends, the ledger records.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import Any

import msgspec
from lsprotocol import types

from .. import PROTOCOL_VERSION, __version__
from ..config import ConfigStore
from ..features import commands, completion, config_file, dashboard, outcomes, routing, settings
from ..files import READ_TIMEOUT
from ..leaderboard.errors import LeaderboardError
from ..protocol import CLIENT_NOTIFICATIONS, NOTIFICATIONS, REQUESTS, STATUS, SessionStatus
from ..redaction import install_log_filter, safe_text
from ..routing.engine import Engine
from .overrides import KiloProtocol, PatchedServer, dict_params_converter
from .requests import Later
from .workspace import canonical_uri

log = logging.getLogger("kilo_lsp")

TIERS = ["efficient", "balanced", "frontier", "free"]
#: initializationOptions members about the client itself, not settings.
CLIENT_OPTIONS = ("editorPluginInfo", "editorCommands")
DIALS = ["bill", "bar"]


class Sidecar(PatchedServer):
    def __init__(self, config: ConfigStore | None = None):
        super().__init__(name="kilo-lsp", version=__version__, protocol_cls=KiloProtocol,
                         converter_factory=dict_params_converter,
                         text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
        self.config = config or ConfigStore()
        self.client_name = ""
        self.plugin_info: Any = None     # initializationOptions.editorPluginInfo
        self.background_tasks: set[asyncio.Task[None]] = set()   # strong references until done
        self._engine: Engine | None = None
        self._forwarder: Any = None
        self._ledger: Any = None
        self._ledger_lock = threading.Lock()
        self.local_discovery: Any = None  # providers.discovery.LocalDiscovery, after `initialized`
        self.editor_commands: dict[str, str] = {}   # initializationOptions.editorCommands
        self.starting: asyncio.Task[None] | None = None  # settings pulled and local servers first probed
        self._shown_problems: set[str] = set()
        self.dashboard: Any = None          # dashboard.server.DashboardServer, at the first kilo/dashboard
        self.dashboard_lock: asyncio.Lock | None = None
        self._board_read: "asyncio.Future[Any] | None" = None

    def kilo_capabilities(self) -> dict[str, Any]:
        """What the sidecar announces under ServerCapabilities.experimental.kilo."""
        return {
            "protocolVersion": PROTOCOL_VERSION,
            "serverVersion": __version__,
            "requests": sorted(m for m in self.protocol.fm.features if m in REQUESTS),
            "notifications": list(NOTIFICATIONS),
            "clientNotifications": sorted(m for m in self.protocol.fm.features if m in CLIENT_NOTIFICATIONS),
            "tiers": TIERS,
            "dials": DIALS,
        }

    # -- the core, built on first use ---------------------------------------------------------
    @property
    def engine(self) -> Engine:
        """The routing engine; it loads the leaderboard and the classifier on its first request."""
        if self._engine is None:
            engine = Engine(config=self.config)
            engine.folder_of = self.folder_of
            engine.canonical_uri = canonical_uri
            # budgets are checked by kilo/route as by kilo/complete: a card and its answer agree
            engine.spent_today = self._spent_today
            engine.on_status = self.send_status
            engine.on_outcome = lambda record: self.write_to_ledger("outcome", lambda book: book.record_outcome(record))
            engine.on_decision = lambda record: self.write_to_ledger("decision",
                                                                     lambda book: book.record_decision(record))
            engine.client.editor = self.client_name
            engine.client.plugin_info = self.plugin_info
            self._engine = engine
        return self._engine

    @property
    def forwarder(self) -> Any:
        """The forwarder (provider clients and the usage ledger), built at the first request that
        needs it."""
        if self._forwarder is None:
            # httpx stays off the start-up path: the editor waits for `initialize`
            from ..forwarding.errors import no_model_advice
            from ..forwarding.forwarder import Forwarder
            self._forwarder = Forwarder(self.engine, self.ledger)
            self._forwarder.no_model_advice = lambda: no_model_advice(
                self.editor_commands, self.local_discovery.servers if self.local_discovery else None,
                self.config.effective().local.discover)
        return self._forwarder

    @property
    def ledger(self) -> Any:
        """The usage ledger (its file is opened at its first read or write)."""
        with self._ledger_lock:       # also reached from a thread: the outcomes are read at start-up
            if self._ledger is None:
                from ..ledger.store import Ledger
                self._ledger = Ledger()
            return self._ledger

    async def load_leaderboard(self) -> None:
        """Have the leaderboard in force read in a worker thread (at most ``READ_TIMEOUT`` seconds), one
        read at a time: its file is named by a setting, and reading it must not stop the event loop."""
        settings = self.engine.settings()
        if self.engine.board_ready(settings):
            return
        if self._board_read is None or self._board_read.done():
            self._board_read = asyncio.ensure_future(asyncio.wait_for(
                asyncio.to_thread(self.engine.leaderboard, settings), READ_TIMEOUT))
        try:
            await asyncio.shield(self._board_read)
        except TimeoutError:
            raise LeaderboardError(f"the leaderboard ({settings.routing.leaderboard_path or 'built-in'}) was not "
                                   f"read within {READ_TIMEOUT:g} s") from None

    def require_leaderboard(self) -> None:
        """For sync handlers: ``Later`` (answer once it is read) when the leaderboard is not loaded yet."""
        if not self.engine.board_ready():
            raise Later(self.load_leaderboard)

    def _spent_today(self, workspace: str) -> float:
        """Today's spend in a workspace, from the ledger (opened when a budget is first checked)."""
        return self.ledger.spent_today(workspace)

    # -- plumbing the features share ------------------------------------------------------------
    def spawn(self, coro: Any) -> asyncio.Task[None]:
        """Run a coroutine in the background; its failure is logged, never lost."""
        task = asyncio.get_running_loop().create_task(coro)
        self.background_tasks.add(task)
        task.add_done_callback(self._background_done)
        return task

    def write_to_ledger(self, what: str, write: Callable[[Any], None]) -> None:
        """Run ``write(ledger)`` on a worker thread (SQLite waits on the disk); a ledger problem is
        logged and never breaks the routing that produced the row."""
        def run() -> None:
            try:
                write(self.ledger)
            except Exception as exc:  # noqa: BLE001
                log.warning("%s not written to the ledger: %s", what, exc)
        try:
            self.spawn(asyncio.to_thread(run))
        except RuntimeError:        # no event loop (an embedding host calling the engine directly)
            run()

    def _background_done(self, task: asyncio.Task[None]) -> None:
        self.background_tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task failed", exc_info=task.exception())

    def document_text(self, uri: str) -> str | None:
        """The text of an open document, whatever spelling of its URI (``lsp/workspace.py``)."""
        return self.workspace.text(uri)

    def folder_of(self, uri: str) -> str | None:
        """The (canonical) URI of the workspace folder holding ``uri``."""
        return self.workspace.folder_of(uri)

    def send_status(self, status: SessionStatus) -> None:
        self.protocol.notify(STATUS, msgspec.to_builtins(status))

    def show(self, message: str, kind: types.MessageType = types.MessageType.Warning) -> None:
        self.window_show_message(types.ShowMessageParams(type=kind, message=f"kilo-lsp: {safe_text(message)}"))

    def settings_problems(self) -> list[str]:
        """The settings problems in force: of the global settings and of every workspace folder."""
        problems = list(self.config.effective().problems)
        for folder in self.config.folder_settings:
            problems += [p for p in self.config.effective(folder).problems if p not in problems]
        return problems

    def report_problems(self) -> None:
        """Show each settings problem once while it lasts (a problem fixed and made again is shown
        again), not at every settings change."""
        current = self.settings_problems()
        self._shown_problems &= set(current)
        for problem in current:
            if problem not in self._shown_problems:
                self._shown_problems.add(problem)
                log.warning("%s", problem)
                self.show(problem)


class LogMessageHandler(logging.Handler):
    """Mirror the sidecar's own log records to the client's output panel (window/logMessage)."""

    LEVELS = {logging.ERROR: types.MessageType.Error, logging.WARNING: types.MessageType.Warning,
              logging.INFO: types.MessageType.Info}

    def __init__(self, ls: Sidecar):
        super().__init__(level=logging.INFO)
        self.ls = ls
        install_log_filter(self)           # redacted, and tracebacks only at debug level

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if getattr(self.ls.protocol, "writer", None) is None:
                return
            kind = self.LEVELS.get(record.levelno, types.MessageType.Log)
            self.ls.window_log_message(types.LogMessageParams(type=kind, message=self.format(record)))
        except Exception:  # logging must never break a request
            pass


def register_lifecycle(ls: Sidecar) -> None:
    @ls.feature(types.INITIALIZE)
    def on_initialize(ls: Sidecar, params: types.InitializeParams) -> None:
        ls.client_name = params.client_info.name if params.client_info else ""
        options = params.initialization_options if isinstance(params.initialization_options, dict) else {}
        ls.plugin_info = options.get("editorPluginInfo")
        commands = options.get("editorCommands")
        ls.editor_commands = ({k: v for k, v in commands.items() if isinstance(k, str) and isinstance(v, str)}
                              if isinstance(commands, dict) else {})
        if ls._engine is not None:   # built early (by an embedding host): tell it who the client is
            ls._engine.client.editor, ls._engine.client.plugin_info = ls.client_name, ls.plugin_info
        ls.config.set_init_options({k: v for k, v in options.items() if k not in CLIENT_OPTIONS})

    @ls.feature(types.INITIALIZED)
    def on_initialized(ls: Sidecar, params: types.InitializedParams) -> None:
        loop = asyncio.get_running_loop()
        loop.run_in_executor(None, ls.engine.warm_up)
        loop.run_in_executor(None, outcomes.load, ls)
        ls.report_problems()
        ls.starting = ls.spawn(settings.after_initialized(ls))
        ls.spawn(config_file.watch(ls))


def build_server(config: ConfigStore | None = None) -> Sidecar:
    ls = Sidecar(config)
    register_lifecycle(ls)
    for feature in (routing, completion, commands, settings, outcomes, dashboard):
        feature.register(ls)
    logging.getLogger("kilo_lsp").addHandler(LogMessageHandler(ls))
    return ls
