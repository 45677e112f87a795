"""The sidecar's stdin: framed LSP messages, read by the event loop, surviving framing faults.

pygls reads a header line and accepts it only if it is exactly ``Content-Length: N``. After a wrong
Content-Length, a truncated message or binary noise, the next header arrives glued to the end of the
leftover bytes and was never recognised again: the sidecar kept running but answered nothing. Here a
line ending in a Content-Length header is cut back to that header, so the stream re-synchronises on
the next message. A Content-Length over ``MAX_BODY`` is refused rather than allocated (pygls' read(n)
allocates n bytes up front, and 10**14 killed the process); the request it announced is answered
with -32600 when its id can be read from what has already arrived. A header line is kept to
``MAX_HEADER_LINE`` bytes: a line without end (a megabyte of noise, or a gigabyte) is dropped as it
comes instead of growing a buffer.

``serve`` is the read loop (pygls' ``run_async``, with the limits above); each body goes to the
protocol's ``handle_frame``, which answers what it cannot take (``lsp/envelope.py``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import stat
import threading
from typing import Any, Protocol

log = logging.getLogger("kilo_lsp")

MAX_BODY = 64 * 1024 * 1024
MAX_HEADER_LINE = 64 * 1024
#: What of a refused message is looked at for its id.
REFUSED_HEAD = 64 * 1024
_HEADER = b"Content-Length:"
_CONTENT_LENGTH = re.compile(rb"Content-Length:[ \t]*(\d{1,20})[ \t]*\r?\n")


def resync(line: bytes) -> bytes:
    """A header line cut back to the Content-Length header it ends with (see the module docstring)."""
    cut = line.rfind(_HEADER)
    return line[cut:] if cut > 0 else line


def refuse(n: int) -> bool:
    """Whether a message of ``n`` bytes is refused (logged) rather than read: it is not read, and what
    follows is skipped up to the next header."""
    if n <= MAX_BODY:
        return False
    log.error("a message of %d bytes was refused (limit %d)", n, MAX_BODY)
    return True


class FramedInput:
    """A blocking stdin (a file or a terminal) for pygls' threaded reader, with ``resync``, ``refuse``
    and header lines kept to ``MAX_HEADER_LINE``."""

    def __init__(self, raw: Any):
        self.raw = raw

    def readline(self) -> bytes:
        line = self.raw.readline(MAX_HEADER_LINE)
        while line and not line.endswith(b"\n") and len(line) >= MAX_HEADER_LINE:
            log.warning("a header line longer than %d bytes was dropped", MAX_HEADER_LINE)
            line = line[-len(_HEADER):] + self.raw.readline(MAX_HEADER_LINE)
        return resync(line)

    def read(self, n: int) -> bytes:
        return self.raw.read(n)


class PipeReader(asyncio.Protocol):
    """stdin read by the event loop itself, with ``resync`` and ``refuse``.

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
        self._dropping = False

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
            if len(self._buf) > MAX_HEADER_LINE:
                # no line end in sight: drop what came, keeping enough to recognise a header it ends with
                if not self._dropping:
                    log.warning("a header line longer than %d bytes is being dropped", MAX_HEADER_LINE)
                self._dropping = True
                del self._buf[:len(self._buf) - len(_HEADER)]
            start = len(self._buf)
            await self._more()
        self._dropping = False
        return resync(line)

    def peek(self, n: int) -> bytes:
        """Up to ``n`` bytes that have arrived and are not read yet (left in place)."""
        return bytes(self._buf[:n])

    async def readexactly(self, n: int) -> bytes:
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


class _Reader(Protocol):
    async def readline(self) -> bytes: ...

    async def readexactly(self, n: int) -> bytes: ...


class FrameHandler(Protocol):
    def handle_frame(self, body: bytes) -> None: ...

    def refuse_frame(self, size: int, head: bytes) -> None: ...


async def serve(reader: _Reader, protocol: FrameHandler, stop_event: threading.Event) -> None:
    """Read framed messages until stdin ends (or ``stop_event``): each body to ``handle_frame``, each
    refused one to ``refuse_frame`` with what has arrived of it. A header may end in LF only."""
    length: int | None = None
    while not stop_event.is_set():
        header = await reader.readline()
        if not header:
            break
        match = _CONTENT_LENGTH.fullmatch(header)
        if match:                                 # a later Content-Length (after a broken message) wins
            length = int(match.group(1))
            continue
        if length is None or header.strip():
            continue                              # noise before a header, or another header: ignored
        size, length = length, None
        if size > MAX_BODY:
            peek = getattr(reader, "peek", None)
            refuse(size)
            protocol.refuse_frame(size, peek(REFUSED_HEAD) if peek is not None else b"")
            continue
        body = await reader.readexactly(size) if size else b""
        if len(body) < size:
            break                                 # stdin ended inside the message
        try:
            protocol.handle_frame(body)
        except Exception:  # noqa: BLE001 - one message must never stop the loop
            log.exception("a message could not be handled")
