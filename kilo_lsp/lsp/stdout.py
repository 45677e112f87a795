"""The sidecar's stdout: written without blocking the event loop, flushed once per loop turn, with
the text of ``kilo/chunk`` notifications coalesced while the editor is not reading.

pygls writes each message with a blocking ``write`` + ``flush`` on stdout. When the editor reads
slower than a stream arrives, the pipe fills and that write stops the whole event loop (every other
request and stream with it), one notification at a time. Here:

- Messages are buffered and written once per loop turn (a burst reaches the pipe in one write).
- On a pipe or socket, stdout is written non-blocking: what the pipe does not take waits in the
  buffer and goes out when the pipe is writable again; the loop never waits for the editor.
- ``kilo/chunk`` notifications are not encoded when they are sent but when they are written out:
  deltas of one stream that arrive before that (in the same loop turn, or while the pipe is full)
  become one ``kilo/chunk`` with their texts joined, in order. The first delta of a stream goes out
  at the end of the loop turn it arrived in, as any message does: coalescing never delays it.
- Order is kept: any other message (progress, the final response, a cancellation error) first
  writes out the chunks pending before it.
- ``seq`` counts the notifications of a stream as they are written (0, 1, 2, ...), so it stays
  gapless whatever was merged.
- A ``kilo/chunk`` is encoded by hand (its shape is fixed), not by pygls' generic serializer.

Anywhere else (stdout a file or a terminal, no running loop, shutdown) writes are blocking, as
pygls' own writer's are.
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
from json.encoder import encode_basestring_ascii as _quote
from typing import Any

log = logging.getLogger("kilo_lsp")

CHUNK = "kilo/chunk"
# The header pygls writes for every message (kept the same for every message we write).
_HEADER = b"Content-Length: %d\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n"


class ChunkStream:
    """The ``kilo/chunk`` notifications of one stream (one ``kilo/complete``)."""

    __slots__ = ("out", "stream_id", "seq", "model", "provider", "_texts", "_prefix", "_suffix")

    def __init__(self, out: "StdoutStream", stream_id: str) -> None:
        self.out = out
        self.stream_id = stream_id
        self.seq = 0                   # the seq of the next notification written
        self.model = self.provider = ""
        self._texts: list[str] = []
        self._prefix = self._suffix = ""

    def send(self, text: str, model: str, provider: str) -> None:
        """Queue a text delta; it is written (merged with any queued after it) by the output."""
        if not text:
            return
        if self._texts and (model != self.model or provider != self.provider):
            self.out.write_pending()   # never merge across a change of model or provider
        if not self._texts:
            if model != self.model or provider != self.provider or not self._prefix:
                self.model, self.provider = model, provider
                self._prefix = '{"jsonrpc":"2.0","method":"kilo/chunk","params":{"streamId":' + _quote(self.stream_id)
                self._suffix = ',"model":' + _quote(model) + ',"provider":' + _quote(provider) + "}}"
            self.out._queue(self)
        self._texts.append(text)

    @property
    def pending(self) -> bool:
        return bool(self._texts)

    def _encode(self) -> bytes:
        text = self._texts[0] if len(self._texts) == 1 else "".join(self._texts)
        self._texts = []
        body = (f'{self._prefix},"seq":{self.seq},"text":{_quote(text)}{self._suffix}').encode("ascii")
        self.seq += 1
        return _HEADER % len(body) + body


class _Fallback:
    """Chunks sent one notification per delta through pygls (a writer other than stdout)."""

    def __init__(self, protocol: Any, stream_id: str) -> None:
        self.protocol = protocol
        self.stream_id = stream_id
        self.seq = 0

    def send(self, text: str, model: str, provider: str) -> None:
        if not text:
            return
        self.protocol.notify(CHUNK, {"streamId": self.stream_id, "seq": self.seq, "text": text, "model": model,
                                     "provider": provider})
        self.seq += 1


def chunk_stream(protocol: Any, stream_id: str) -> "ChunkStream | _Fallback":
    """Where a ``kilo/complete`` sends its chunks: coalesced on the sidecar's stdout, else through pygls."""
    writer = getattr(protocol, "writer", None)
    if isinstance(writer, StdoutStream):
        return ChunkStream(writer, stream_id)
    return _Fallback(protocol, stream_id)


def _separate_pipe(fd: int) -> bool:
    """Whether ``fd`` is a pipe or a socket of its own: then it can be made non-blocking without
    touching stdin (a shared socket would make pygls' blocking reader fail). POSIX only: Windows'
    event loop cannot wait for a pipe to become writable."""
    if os.name != "posix":
        return False
    try:
        st = os.fstat(fd)
    except OSError:
        return False
    if not (stat.S_ISFIFO(st.st_mode) or stat.S_ISSOCK(st.st_mode)):
        return False
    try:
        st_in = os.fstat(0)
    except OSError:
        return True
    return (st_in.st_dev, st_in.st_ino) != (st.st_dev, st.st_ino)


class StdoutStream:
    """pygls' writer interface (``write(bytes)``, ``close()``) over the sidecar's stdout."""

    def __init__(self, stdout: Any) -> None:
        self._stdout = stdout                    # the binary stdout (Sidecar checks ``_stdout.closed``)
        self._buf = bytearray()
        self._pending: list[ChunkStream] = []
        self._scheduled = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._fd = -1                            # >= 0 once stdout is written non-blocking
        self._waiting = False                    # the pipe is full: a writable callback is registered
        self._closed = False

    # -- pygls' writer interface -------------------------------------------------------------
    def write(self, data: bytes) -> None:
        if self._pending:
            self.write_pending()
        self._buf += data
        self._schedule()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.write_pending()
        if self._fd >= 0:
            if self._waiting and self._loop is not None:
                try:
                    self._loop.remove_writer(self._fd)
                except Exception:  # noqa: BLE001 - the loop may be closed already
                    pass
                self._waiting = False
            try:
                os.set_blocking(self._fd, True)
            except OSError:
                pass
            self._fd = -1
        self._write_blocking()
        try:
            self._stdout.close()
        except (OSError, ValueError):
            pass

    # -- chunks --------------------------------------------------------------------------------
    def _queue(self, stream: ChunkStream) -> None:
        self._pending.append(stream)
        self._schedule()

    def write_pending(self) -> None:
        """Encode the queued chunks into the buffer, in the order their streams first queued."""
        pending, self._pending = self._pending, []
        for stream in pending:
            if stream.pending:
                self._buf += stream._encode()

    # -- writing out ---------------------------------------------------------------------------
    def _schedule(self) -> None:
        if self._scheduled or self._waiting:     # a full pipe: the writable callback writes out
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:                     # no loop (start-up, shutdown): write through
            self.flush()
            return
        if self._loop is not loop:
            self._start(loop)
        self._scheduled = True
        loop.call_soon(self.flush)

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        if self._fd >= 0 or self._closed:
            return
        try:
            fd = self._stdout.fileno()
        except (AttributeError, OSError, ValueError):
            return
        if not _separate_pipe(fd):
            return
        try:
            self._stdout.flush()                 # whatever the buffered file still holds goes first
            os.set_blocking(fd, False)
        except (OSError, ValueError, AttributeError):
            return
        self._fd = fd

    def flush(self) -> None:
        self._scheduled = False
        if self._waiting:
            return
        self.write_pending()
        if self._fd >= 0:
            self._write_nonblocking()
        else:
            self._write_blocking()

    def _write_blocking(self) -> None:
        if not self._buf:
            return
        data, self._buf = bytes(self._buf), bytearray()
        try:
            self._stdout.write(data)
            self._stdout.flush()
        except (OSError, ValueError):  # the editor went away; reading stdin's end stops the server
            log.debug("stdout closed; output dropped")

    def _write_nonblocking(self) -> None:
        buf = self._buf
        while buf:
            try:
                n = os.write(self._fd, buf)
            except (BlockingIOError, InterruptedError):
                n = 0
            except OSError:
                buf.clear()
                log.debug("stdout closed; output dropped")
                break
            if n <= 0:
                if not self._waiting and self._loop is not None:
                    self._waiting = True
                    self._loop.add_writer(self._fd, self._writable)
                return
            del buf[:n]
        if self._waiting and self._loop is not None:
            self._loop.remove_writer(self._fd)
            self._waiting = False

    def _writable(self) -> None:
        """The pipe took some bytes: write what is left; once all is out, the chunks queued
        meanwhile go out, one notification per stream."""
        self._write_nonblocking()
        if not self._waiting and (self._pending or self._buf):
            self.flush()
