"""The sidecar's stdin: framed LSP messages, read by the event loop, surviving framing faults.

pygls reads a header line and accepts it only if it is exactly ``Content-Length: N``. After a wrong
Content-Length, a truncated message or binary noise, the next header arrives glued to the end of the
leftover bytes and was never recognised again: the sidecar kept running but answered nothing. Here a
line ending in a Content-Length header is cut back to that header, so the stream re-synchronises on
the next message. A Content-Length over ``MAX_BODY`` is refused rather than allocated (pygls' read(n)
allocates n bytes up front, and 10**14 killed the process).
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
from typing import Any

log = logging.getLogger("kilo_lsp")

MAX_BODY = 256 * 1024 * 1024
_HEADER = b"Content-Length:"
#: Not JSON: pygls logs it, and what follows is skipped up to the next header.
REFUSED = b"\0"


def resync(line: bytes) -> bytes:
    """A header line cut back to the Content-Length header it ends with (see the module docstring)."""
    cut = line.rfind(_HEADER)
    return line[cut:] if cut > 0 else line


def refuse(n: int) -> bool:
    """Whether a message of ``n`` bytes is refused (logged) rather than read."""
    if n <= MAX_BODY:
        return False
    log.error("a message of %d bytes was refused (limit %d)", n, MAX_BODY)
    return True


class FramedInput:
    """A blocking stdin (a file or a terminal) for pygls' threaded reader, with ``resync`` and ``refuse``."""

    def __init__(self, raw: Any):
        self.raw = raw

    def readline(self) -> bytes:
        return resync(self.raw.readline())

    def read(self, n: int) -> bytes:
        return REFUSED if refuse(n) else self.raw.read(n)


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
        return resync(line)

    async def readexactly(self, n: int) -> bytes:
        if refuse(n):
            return REFUSED
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
