"""Every place kilo-lsp changes what pygls does, in one module, each with the behaviour it works around.

Written for pygls 2.1 (pinned to ``>=2.1.1,<2.2`` in pyproject.toml): these reach into pygls'
internals (``_send_response``, ``_start_io_async``, ``_request_futures``), which a minor release may
change. Each override names the test that shows the behaviour it fixes.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from typing import Any

import msgspec
from lsprotocol import types
from pygls.exceptions import FeatureRequestError, JsonRpcException, JsonRpcInvalidParams
from pygls.io_ import StdinAsyncReader, StdoutWriter
from pygls.lsp.server import LanguageServer
from pygls.protocol import (JsonRPCNotification, JsonRPCRequestMessage, JsonRPCResponseMessage,
                            LanguageServerProtocol, default_converter, lsp_method)

from ..redaction import safe_text
from . import envelope
from .requests import Deferred
from .stdin import MAX_BODY, FramedInput, PipeReader, serve
from .stdout import StdoutStream
from .workspace import KiloWorkspace

log = logging.getLogger("kilo_lsp")


def dict_params_converter():
    """pygls' converter, keeping the params and results of custom methods as plain dicts.

    pygls structures the params of a method it has no type for into namedtuples, and drops a message
    with a missing ``params`` (or ``result``) member or a member JSON-RPC does not define. Here a
    missing member is null and unknown members are ignored, so every request is answered
    (tests/reliability/test_bad_input.py: no ``params`` member, extra envelope members).
    """
    conv = default_converter()
    for cls in (JsonRPCRequestMessage, JsonRPCNotification, JsonRPCResponseMessage):
        names = [a.name for a in cls.__attrs_attrs__]
        conv.register_structure_hook(cls, lambda obj, cls, names=names: cls(**{
            n: obj.get(n) for n in names}))
    return conv


#: How long an error message sent to the editor may be (after redaction).
ERROR_MESSAGE_CHARS = 2000


class KiloProtocol(LanguageServerProtocol):
    #: `initialize` was handled: requests before it get -32002 (LSP), a second one -32600.
    initialize_received = False

    # -- frames, before pygls sees them ----------------------------------------------------------
    def handle_frame(self, body: bytes) -> None:
        """One message body from stdin: answered with a JSON-RPC error when it is not a message the
        server may take now (``lsp/envelope.py``; tests/reliability/test_answers.py), else handled."""
        message, refusal = envelope.parse(body)
        refusals = [refusal] if refusal is not None else envelope.check(message)
        if not refusals:
            handled, refusal = self._lifecycle(message)
            if handled:
                self.handle_message(message)
                return
            refusals = [refusal] if refusal is not None else []
        for r in refusals:
            log.warning("%s", r.message)
            self.send_refusal(r)

    def refuse_frame(self, size: int, head: bytes) -> None:
        """A message over the size limit is not read; it is answered -32600, with its id when that
        is in what has arrived of it."""
        msg_id = envelope.top_level_id(head.decode("utf-8", "replace"))
        self.send_refusal(envelope.Refusal(msg_id, envelope.INVALID_REQUEST, (
            f"Invalid Request: a message of {size} bytes is over the limit of {MAX_BODY} bytes")))

    def _lifecycle(self, message: dict[str, Any]) -> tuple[bool, envelope.Refusal | None]:
        """Whether LSP's lifecycle lets the server handle ``message`` now, and the answer when it does
        not: a request before `initialize` gets -32002, a second `initialize` or a request after
        `shutdown` -32600; a notification then is dropped (but `exit`), with no answer."""
        method = message.get("method")
        if method is None or method == types.EXIT:
            return True, None                          # a response to one of our requests, or exit
        request = "id" in message
        name = envelope.method_name(message)
        if not self.initialize_received and method != types.INITIALIZE:
            if not request:
                log.debug("notification %s before initialize dropped", name)
                return False, None
            return False, envelope.Refusal(message["id"], envelope.SERVER_NOT_INITIALIZED,
                                           f"Server not initialized: {name} before initialize")
        if method == types.INITIALIZE and self.initialize_received:
            return False, envelope.Refusal(message.get("id"), envelope.INVALID_REQUEST,
                                           "Invalid Request: initialize was already received") if request else None
        if self._shutdown:
            if not request:
                log.debug("notification %s after shutdown dropped", name)
                return False, None
            return False, envelope.Refusal(message["id"], envelope.INVALID_REQUEST,
                                           f"Invalid Request: {name} after shutdown; only exit is accepted")
        return True, None

    def send_refusal(self, refusal: envelope.Refusal) -> None:
        self.send_encoded(refusal.encode())

    def set_writer(self, writer: Any, *args: Any, **kwargs: Any) -> None:
        """stdout written without blocking the event loop (pygls writes and flushes each message,
        so an editor that reads slowly stalled every request: tests/test_stream_out.py)."""
        if isinstance(writer, StdoutWriter):
            writer = StdoutStream(writer._stdout)
        super().set_writer(writer, *args, **kwargs)

    def handle_message(self, message: Any) -> None:
        """Structure the message (parsed to plain dicts by ``handle_frame``: params holding a "jsonrpc"
        key were once taken for a message of their own), answering -32602 when its params do not fit
        the method's LSP type (pygls drops such a request unanswered: tests/reliability/test_bad_input.py)."""
        if isinstance(message, dict) and "jsonrpc" in message:
            try:
                message = LanguageServerProtocol.structure_message(self, message)
            except Exception as exc:
                msg_id = message.get("id")
                if "method" in message and isinstance(msg_id, (int, str)):
                    error = exc if isinstance(exc, JsonRpcException) else JsonRpcInvalidParams()
                    self._send_response(msg_id, error=JsonRpcInvalidParams(
                        f"{message['method']}: invalid params ({error.message})").to_response_error())
                return
        super().handle_message(message)

    def _send_response(self, msg_id: Any, result: Any = None, error: Any = None) -> None:
        """kilo/* results are msgspec Structs: encoded straight to JSON, not walked by pygls' cattrs
        converter (which cannot read them, and cost ~0.4 ms for a decision card). An error's message
        is redacted before it is cut, and the traceback pygls puts in the data of -32603 stays out
        (logged at debug level): tests/reliability/test_redaction.py."""
        if error is not None:
            error = sanitized(error)
        elif isinstance(result, Deferred):           # a sync handler that must wait first (requests.py)
            result.start(lambda res, err: self._send_response(msg_id, res, err))
            return
        elif isinstance(result, msgspec.Struct):
            self.send_encoded(msgspec.json.encode({"jsonrpc": self.VERSION, "id": msg_id, "result": result}))
            return
        super()._send_response(msg_id, result, error)

    def send_encoded(self, body: bytes) -> None:
        """Write one message already encoded as JSON (with the header pygls writes)."""
        if self.writer is None:
            log.error("unable to send data: no transport")
            return
        self.writer.write(b"Content-Length: %d\r\nContent-Type: %s; charset=%s\r\n\r\n%s" % (
            len(body), self.CONTENT_TYPE.encode(), self.CHARSET.encode(), body))

    @lsp_method(types.INITIALIZE)
    def lsp_initialize(self, params: types.InitializeParams):
        """pygls builds the initialize result itself; the kilo protocol is announced under
        ``capabilities.experimental.kilo`` (tests/test_lsp_lifecycle.py). Its workspace becomes a
        ``KiloWorkspace``: pygls keys documents by their URI with escapes decoded, and a request that
        names the document as VS Code spells it never found it (tests/reliability/test_uris.py)."""
        self.initialize_received = True
        result = yield from super().lsp_initialize(params)
        # documents and folders stored and found under one canonical URI (lsp/workspace.py)
        self._workspace = KiloWorkspace.replacing(self._workspace)
        result.capabilities.experimental = {"kilo": self._server.kilo_capabilities()}
        return result


def sanitized(error: types.ResponseError) -> types.ResponseError:
    """An error response as the editor may see it: message redacted, then cut; no traceback."""
    data = error.data
    if isinstance(data, dict) and "traceback" in data:
        log.debug("%s\n%s", error.message, "".join(data.get("traceback") or ()))
        data = {k: v for k, v in data.items() if k != "traceback"} or None
    return types.ResponseError(code=error.code, message=safe_text(str(error.message), ERROR_MESSAGE_CHARS),
                               data=data)


class PatchedServer(LanguageServer):
    """pygls' LanguageServer with kilo-lsp's own stdin, the exit code LSP asks for, and the error
    report that cannot recurse."""

    #: The process's exit code once the server stops: 1 after `exit` without `shutdown`.
    exit_code = 0

    def start_io(self, stdin: Any = None, stdout: Any = None) -> None:
        super().start_io(FramedInput(stdin or sys.stdin.buffer), stdout)

    def _start_io_async(self, stdin: Any = None, stdout: Any = None) -> None:
        """pygls' own, but reading a stdin pipe with PipeReader instead of a worker thread (three
        thread hand-offs per message cost more than a small request: bench/perf) and surviving
        framing faults (tests/reliability/test_framing.py). pygls ends the loop on `exit` with
        SystemExit(1) when `shutdown` did not come first, as LSP says, and then swallows it: the
        code is kept in ``exit_code`` (tests/reliability/test_crash.py)."""
        self._stop_event = threading.Event()
        self.protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))
        framed = stdin if isinstance(stdin, FramedInput) else FramedInput(stdin or sys.stdin.buffer)
        try:
            asyncio.run(self._serve_io(framed))
        except BrokenPipeError:
            log.error("Connection to the client is lost! Shutting down the server.")
        except SystemExit as exc:
            self.exit_code = exc.code if isinstance(exc.code, int) else 0
        except KeyboardInterrupt:
            pass
        finally:
            self.shutdown()

    async def _serve_io(self, framed: FramedInput) -> None:
        reader: Any = await PipeReader.open(framed.raw)
        try:
            await serve(reader or StdinAsyncReader(framed, self.thread_pool), self.protocol, self._stop_event)
        finally:
            if reader is not None:
                reader.close()

    def report_server_error(self, error: Exception, source: Any) -> None:
        """A message that cannot be written because stdout is closed (after `exit`, or when the
        editor went away) must not be reported by writing another one: pygls recursed here once per
        failed write, logging ever longer tracebacks for seconds (tests/reliability/test_crash.py).
        What pygls shows in a balloon is redacted, without a traceback (test_redaction.py)."""
        stdout = getattr(getattr(self.protocol, "writer", None), "_stdout", None)
        if stdout is not None and stdout.closed:
            return
        log.error("%s", safe_text(str(error), ERROR_MESSAGE_CHARS))
        if source is FeatureRequestError:
            return                                     # a request is answered; nothing more to show
        self.window_show_message(types.ShowMessageParams(
            message=f"Error in server: {safe_text(str(error), ERROR_MESSAGE_CHARS)}", type=types.MessageType.Error))


def current_request_future(server: LanguageServer) -> "asyncio.Future[Any] | None":
    """The future of the request being handled. pygls answers -32800 when the client cancels an
    ``executeCommand``, but does not cancel the command's own task (it runs under an inner id):
    following this future is how a command learns that it was cancelled
    (tests/test_editors_commands.py, cancelling kilo.ask)."""
    msg_id = server.protocol.msg_id
    return server.protocol._request_futures.get(msg_id) if msg_id is not None else None
