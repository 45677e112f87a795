"""The pygls language server: thin handlers that validate params and call the engine.

Every kilo/* request is answered: params arrive as plain dicts (pygls would otherwise drop a
request whose params fail its own conversion) and are structured by ``wire.structure``; a bad
field becomes JSON-RPC -32602 naming the field.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import stat
import sys
import threading
from typing import TYPE_CHECKING, Any, Callable

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInternalError, JsonRpcInvalidParams
from pygls.io_ import StdinAsyncReader, StdoutWriter, run_async
from pygls.lsp.server import LanguageServer
from pygls.protocol import (JsonRPCNotification, JsonRPCRequestMessage, JsonRPCResponseMessage,
                            LanguageServerProtocol, default_converter, lsp_method)

from . import PROTOCOL_VERSION, __version__, methods
from .config import ConfigStore
from .leaderboard.errors import LeaderboardError
from .commands import register_commands
from .wire import ParamError, structure_dataclass, unstructure

if TYPE_CHECKING:
    from . import protocol

log = logging.getLogger("kilo_lsp")


def dict_params_converter():
    """Keep params and results of custom methods as plain dicts (pygls makes namedtuples).

    A missing ``params`` (or ``result``) member is null, and members JSON-RPC does not define are
    ignored, so neither makes pygls drop the request unanswered.
    """
    conv = default_converter()
    for cls in (JsonRPCRequestMessage, JsonRPCNotification, JsonRPCResponseMessage):
        names = [a.name for a in cls.__attrs_attrs__]
        conv.register_structure_hook(cls, lambda obj, cls, names=names: cls(**{
            n: obj.get(n) for n in names}))
    return conv


def capabilities(requests: Any = methods.REQUESTS) -> dict[str, Any]:
    """What the sidecar announces under ServerCapabilities.experimental.kilo."""
    return {
        "protocolVersion": PROTOCOL_VERSION,
        "serverVersion": __version__,
        "requests": sorted(m for m in requests if m.startswith("kilo/")),
        "notifications": list(methods.NOTIFICATIONS),
        "tiers": ["efficient", "balanced", "frontier", "free"],
        "dials": ["bill", "bar"],
    }


class KiloProtocol(LanguageServerProtocol):
    def set_writer(self, writer: Any, *args: Any, **kwargs: Any) -> None:
        if type(writer).__name__ == "StdoutWriter":
            from .stream_out import StdoutStream   # non-blocking, batched, kilo/chunk coalesced
            writer = StdoutStream(writer._stdout)
        super().set_writer(writer, *args, **kwargs)

    def structure_message(self, data: Any) -> Any:
        # pygls calls this as json.loads' object_hook, i.e. for every object in a message, nested
        # ones included: params holding a "jsonrpc" key were taken for a message and the request
        # was dropped. Keep every object a dict here and structure only the whole message.
        return data

    #: Methods whose handlers answer plain JSON data (``wire.unstructure`` output): their response
    #: is encoded as it is, not walked again by pygls' cattrs converter (~0.4 ms for a route card).
    PLAIN_RESULTS = frozenset(methods.REQUESTS + methods.FORWARDING_REQUESTS)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._plain_ids: set[Any] = set()

    def _send_response(self, msg_id: Any, result: Any = None, error: Any = None) -> None:
        if msg_id in self._plain_ids:
            self._plain_ids.discard(msg_id)
            if error is None:
                self._send_data({"id": msg_id, "jsonrpc": self.VERSION, "result": result})
                return
        super()._send_response(msg_id, result, error)

    def handle_message(self, message: Any) -> None:
        if isinstance(message, dict) and "jsonrpc" in message:
            method, msg_id = message.get("method"), message.get("id")
            if type(method) is str and method in self.PLAIN_RESULTS and isinstance(msg_id, (int, str)):
                self._plain_ids.add(msg_id)
            try:
                message = LanguageServerProtocol.structure_message(self, message)
            except Exception as exc:
                # Params that do not fit an LSP type: answer the request instead of dropping it.
                msg_id = message.get("id")
                if "method" in message and isinstance(msg_id, (int, str)):
                    error = exc if isinstance(exc, JsonRpcException) else JsonRpcInvalidParams()
                    self._send_response(msg_id, error=JsonRpcInvalidParams(
                        f"{message['method']}: invalid params ({error.message})").to_response_error())
                return
        super().handle_message(message)

    @lsp_method(types.INITIALIZE)
    def lsp_initialize(self, params: types.InitializeParams):
        result = yield from super().lsp_initialize(params)
        result.capabilities.experimental = {
            "kilo": capabilities([*self.fm.features, *methods.FORWARDING_REQUESTS])}
        return result


class FramedInput:
    """stdin for pygls' reader, made to survive framing faults.

    pygls reads a header line and accepts it only if it is exactly ``Content-Length: N``. After a
    wrong Content-Length, a truncated message or binary noise, the next header arrives glued to
    the end of the leftover bytes and was never recognised again: the sidecar kept running but
    answered nothing. Here a line ending in a Content-Length header is cut back to that header,
    so the stream re-synchronises on the next message. A Content-Length over MAX_BODY is refused
    rather than allocated (pygls' read(n) allocates n bytes up front, and 10**14 killed the process).
    """

    MAX_BODY = 256 * 1024 * 1024
    _HEADER = b"Content-Length:"

    def __init__(self, raw: Any):
        self.raw = raw

    def readline(self) -> bytes:
        line = self.raw.readline()
        cut = line.rfind(self._HEADER)
        return line[cut:] if cut > 0 else line

    def read(self, n: int) -> bytes:
        if n <= self.MAX_BODY:
            return self.raw.read(n)
        log.error("a message of %d bytes was refused (limit %d)", n, self.MAX_BODY)
        return b"\0"      # not JSON: pygls logs it; what follows is skipped up to the next header


class PipeReader(asyncio.Protocol):
    """stdin read by the event loop itself, with FramedInput's resynchronisation and size limit.

    pygls reads stdin in a worker thread, three hand-offs per message (header, blank line, body),
    each a thread-pool round trip that cost more than the whole of a small request. Used when stdin
    is a pipe or a socket (what editors give); anything else keeps pygls' threaded reader.
    """

    HIGH_WATER = 16 * 1024 * 1024     # stop reading the pipe while this much is unhandled

    def __init__(self) -> None:
        self._buf = bytearray()
        self._eof = False
        self._waiter: asyncio.Future[None] | None = None
        self._transport: Any = None
        self._paused = False

    @classmethod
    async def open(cls, raw: Any) -> "PipeReader | None":
        try:
            mode = os.fstat(raw.fileno()).st_mode
        except (AttributeError, OSError, ValueError):
            return None
        if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
            return None
        reader = cls()
        try:
            await asyncio.get_running_loop().connect_read_pipe(lambda: reader, raw)
        except (OSError, ValueError, NotImplementedError) as exc:
            log.debug("stdin not read by the event loop: %s", exc)
            return None
        return reader

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    # -- asyncio.Protocol --------------------------------------------------------------------
    def connection_made(self, transport: Any) -> None:
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._buf += data
        if len(self._buf) > self.HIGH_WATER and not self._paused:
            self._paused = True
            self._transport.pause_reading()
        self._wake()

    def eof_received(self) -> None:
        self._eof = True
        self._wake()

    def connection_lost(self, exc: Exception | None) -> None:
        self._eof = True
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _more(self) -> None:
        if self._paused:
            self._paused = False
            self._transport.resume_reading()
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    # -- what pygls' run_async calls ---------------------------------------------------------
    async def readline(self) -> bytes:
        start = 0
        while True:
            end = self._buf.find(b"\n", start)
            if end >= 0:
                line = bytes(self._buf[:end + 1])
                del self._buf[:end + 1]
                break
            if self._eof:
                line = bytes(self._buf)
                self._buf.clear()
                break
            start = len(self._buf)
            await self._more()
        cut = line.rfind(FramedInput._HEADER)
        return line[cut:] if cut > 0 else line

    async def readexactly(self, n: int) -> bytes:
        if n > FramedInput.MAX_BODY:
            log.error("a message of %d bytes was refused (limit %d)", n, FramedInput.MAX_BODY)
            return b"\0"
        while len(self._buf) < n and not self._eof:
            await self._more()
        body = bytes(self._buf[:n])
        del self._buf[:n]
        if self._paused and len(self._buf) < self.HIGH_WATER // 2:
            self._paused = False
            self._transport.resume_reading()
        # One loop turn before the message is handled, as pygls' threaded reader always gave: tasks
        # that the previous message started (an async handler's code up to its first await, e.g.
        # new settings) run before this one is dispatched, and a burst of input never starves them.
        await asyncio.sleep(0)
        return body


class Sidecar(LanguageServer):
    def start_io(self, stdin: Any = None, stdout: Any = None) -> None:
        super().start_io(FramedInput(stdin or sys.stdin.buffer), stdout)

    def _start_io_async(self, stdin: Any = None, stdout: Any = None) -> None:
        """pygls' own, but reading a stdin pipe with PipeReader instead of a worker thread."""
        self._stop_event = threading.Event()
        self.protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))
        framed = stdin if isinstance(stdin, FramedInput) else FramedInput(stdin or sys.stdin.buffer)
        try:
            asyncio.run(self._serve_io(framed))
        except BrokenPipeError:
            log.error("Connection to the client is lost! Shutting down the server.")
        except (KeyboardInterrupt, SystemExit):
            pass
        finally:
            self.shutdown()

    async def _serve_io(self, framed: FramedInput) -> None:
        reader: Any = await PipeReader.open(framed.raw)
        try:
            await run_async(stop_event=self._stop_event,
                            reader=reader or StdinAsyncReader(framed, self.thread_pool),
                            protocol=self.protocol, logger=logging.getLogger("pygls.server"),
                            error_handler=self.report_server_error)
        finally:
            if reader is not None:
                reader.close()

    def report_server_error(self, error: Exception, source: Any) -> None:
        # A message that cannot be written because stdout is closed (after `exit`, or when the
        # editor went away) must not be reported by writing another one: pygls recursed here
        # once per failed write, logging ever longer tracebacks for seconds.
        stdout = getattr(getattr(self.protocol, "writer", None), "_stdout", None)
        if stdout is not None and stdout.closed:
            return
        super().report_server_error(error, source)

    def __init__(self, config: ConfigStore | None = None):
        super().__init__(name="kilo-lsp", version=__version__, protocol_cls=KiloProtocol,
                         converter_factory=dict_params_converter,
                         text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
        self.config = config or ConfigStore()
        self._engine: Any = None
        self.client_name = ""
        self.plugin_info: Any = None     # initializationOptions.editorPluginInfo
        self.background_tasks: set[asyncio.Task[None]] = set()   # strong references until done

    def spawn(self, coro: Any) -> None:
        """Run a coroutine in the background; its failure is logged, never lost."""
        task = asyncio.get_running_loop().create_task(coro)
        self.background_tasks.add(task)
        task.add_done_callback(self._background_done)

    def _background_done(self, task: asyncio.Task[None]) -> None:
        self.background_tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task failed", exc_info=task.exception())

    @property
    def engine(self) -> Any:
        """The routing engine, built on first use so that its imports stay off the start-up path."""
        if self._engine is None:
            from .engine import Engine
            engine = Engine(config=self.config)
            engine.folder_of = self.folder_of
            engine.on_status = self.send_status
            engine.client.editor = self.client_name
            engine.client.plugin_info = self.plugin_info
            self._engine = engine
        return self._engine

    # -- plumbing used by handlers ------------------------------------------------------------
    def document_text(self, uri: str) -> str | None:
        doc = self.workspace.text_documents.get(uri)
        return doc.source if doc is not None else None

    def folder_of(self, uri: str) -> str | None:
        best = None
        for folder in self.workspace.folders.values():
            base = folder.uri.rstrip("/") + "/"
            if uri.startswith(base) and (best is None or len(base) > len(best)):
                best = folder.uri
        return best or self.workspace.root_uri

    def send_status(self, status: protocol.SessionStatus) -> None:
        self.protocol.notify(methods.STATUS, unstructure(status))

    def show(self, message: str, kind: types.MessageType = types.MessageType.Warning) -> None:
        self.window_show_message(types.ShowMessageParams(type=kind, message=f"kilo-lsp: {message}"))

    def report_problems(self, folder: str | None = None) -> None:
        for problem in self.config.effective(folder).problems:
            log.warning("%s", problem)
            self.show(problem)





def handler(params_type: str):
    """Structure the params dict into ``protocol.<params_type>``; turn every failure into a JSON-RPC
    error. The type is looked up at the first request: the typed params (a few dozen dataclasses)
    stay off the start-up path."""
    def deco(fn: Callable[[Sidecar, Any], Any]):
        resolved: list[type] = []

        @functools.wraps(fn)
        def wrapper(ls: Sidecar, params: Any):
            if not resolved:
                from . import protocol
                resolved.append(getattr(protocol, params_type))
            try:
                typed = structure_dataclass(params if params is not None else {}, resolved[0])
            except ParamError as exc:
                raise JsonRpcInvalidParams(f"{fn.__name__.replace('_', '/', 1)}: invalid params: {exc}") from exc
            try:
                return fn(ls, typed)
            except ParamError as exc:
                raise JsonRpcInvalidParams(str(exc)) from exc
            except LeaderboardError as exc:
                raise JsonRpcInternalError(str(exc)) from exc
        return wrapper
    return deco


def register(ls: Sidecar) -> None:
    @ls.feature(types.INITIALIZE)
    def on_initialize(ls: Sidecar, params: types.InitializeParams) -> None:
        ls.client_name = params.client_info.name if params.client_info else ""
        options = params.initialization_options if isinstance(params.initialization_options, dict) else {}
        ls.plugin_info = options.get("editorPluginInfo")
        if ls._engine is not None:   # built early (by an embedding host): tell it who the client is
            ls._engine.client.editor, ls._engine.client.plugin_info = ls.client_name, ls.plugin_info
        ls.config.set_init_options({k: v for k, v in options.items() if k != "editorPluginInfo"})

    @ls.feature(types.INITIALIZED)
    def on_initialized(ls: Sidecar, params: types.InitializedParams) -> None:
        # Synchronous on purpose: a request read in the same loop turn as `initialized` is dispatched
        # right after this returns, so forwarding must be registered before then, not in a task.
        register_forwarding(ls)
        asyncio.get_running_loop().run_in_executor(None, ls.engine.warm_up)
        ls.report_problems()
        ls.spawn(after_initialized(ls))

    @ls.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def on_configuration(ls: Sidecar, params: types.DidChangeConfigurationParams) -> None:
        if params.settings is not None:
            ls.config.set_client_settings(params.settings)
        await pull_configuration(ls)
        ls.report_problems()
        await refresh_local_models(ls)

    @ls.feature(methods.ROUTE)
    @handler("RouteParams")
    def kilo_route(ls: Sidecar, params: protocol.RouteParams) -> dict[str, Any]:
        return unstructure(ls.engine.route(params, ls.document_text))

    @ls.feature(methods.LEADERBOARD)
    @handler("LeaderboardParams")
    def kilo_leaderboard(ls: Sidecar, params: protocol.LeaderboardParams) -> dict[str, Any]:
        settings = ls.engine.settings()
        board = ls.engine.leaderboard(settings)
        from .leaderboard.view import leaderboard_view
        return leaderboard_view(board, ls.engine.reachable(board, settings), params.task_type, params.difficulty)

    @ls.feature(methods.EXPLAIN)
    @handler("ExplainParams")
    def kilo_explain(ls: Sidecar, params: protocol.ExplainParams) -> dict[str, Any] | None:
        card = ls.engine.last_card(params.workspace_uri, params.conversation_id)
        return unstructure(card) if card is not None else None


def register_forwarding(ls: Sidecar) -> None:
    if getattr(ls, "forwarder", None) is None:
        from .complete import register
        register(ls)


async def after_initialized(ls: Sidecar) -> None:
    """What `initialized` starts that talks to the client or the network."""
    await pull_configuration(ls)
    await refresh_local_models(ls)


async def pull_configuration(ls: Sidecar) -> None:
    """Ask the client for the global and per-folder 'kilo' settings, when it can answer."""
    caps = ls.client_capabilities
    if not (caps and caps.workspace and caps.workspace.configuration):
        return
    folders = list(ls.workspace.folders.values())
    items = [types.ConfigurationItem(section="kilo")] + [
        types.ConfigurationItem(scope_uri=f.uri, section="kilo") for f in folders]
    try:
        values = await asyncio.wait_for(
            ls.workspace_configuration_async(types.ConfigurationParams(items=items)), timeout=5)
    except Exception as exc:  # a client that cannot answer keeps the settings it has
        log.info("workspace/configuration not answered: %s", exc)
        return
    if not isinstance(values, (list, tuple)) or not values:
        return
    if isinstance(values[0], dict):
        ls.config.set_client_settings({"kilo": values[0]})
    for folder, value in zip(folders, values[1:]):
        if isinstance(value, dict) and value != values[0]:
            ls.config.set_folder_settings(folder.uri, {"kilo": value})
            ls.report_problems(folder.uri)


async def refresh_local_models(ls: Sidecar) -> None:
    """Ask local servers what they serve; their models become callable, free and local."""
    settings = ls.config.effective()
    if not settings.local.discover:
        return
    from .local_models import discover_models   # httpx: off the start-up path
    models = await discover_models(settings)
    if [m.id for m in models] != [m.id for m in ls.engine.local_models]:
        ls.engine.local_models = models
        log.info("local models: %s", ", ".join(m.id for m in models) or "none found")


class LogMessageHandler(logging.Handler):
    """Mirror the sidecar's own log records to the client's output panel (window/logMessage)."""

    LEVELS = {logging.ERROR: types.MessageType.Error, logging.WARNING: types.MessageType.Warning,
              logging.INFO: types.MessageType.Info}

    def __init__(self, ls: Sidecar):
        super().__init__(level=logging.INFO)
        self.ls = ls

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if getattr(self.ls.protocol, "writer", None) is None:
                return
            kind = self.LEVELS.get(record.levelno, types.MessageType.Log)
            self.ls.window_log_message(types.LogMessageParams(type=kind, message=self.format(record)))
        except Exception:  # logging must never break a request
            pass


def build_server(config: ConfigStore | None = None) -> Sidecar:
    ls = Sidecar(config)
    register(ls)
    register_commands(ls)       # workspace/executeCommand and the "Ask Kilo" code action
    logging.getLogger("kilo_lsp").addHandler(LogMessageHandler(ls))
    return ls
