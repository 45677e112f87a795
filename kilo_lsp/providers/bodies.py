"""Response bodies read with a bound on their size after decompression, on every path a provider's
body is read: answers, error bodies, event streams, model lists and local model discovery.

A hostile or broken server can answer with a body of gigabytes, or with a 2 MB gzip body that inflates
to 2 GiB; httpx2 decompresses each network read whole, so one read of a bomb became tens of megabytes
at once and reading the body to its end took the process to gigabytes. Here the raw bytes are read and
inflated here, in pieces of at most ``PIECE`` bytes, and the count of inflated bytes is checked as they
come: past the limit, reading stops with ``BodyTooLarge`` (the caller turns it into a clear error).
Encodings: identity, gzip and deflate, which the sidecar asks for (``ACCEPT_ENCODING``); a body in any
other encoding is refused.
"""

from __future__ import annotations

import zlib
from typing import Any, AsyncIterator, Iterator

#: What the sidecar asks servers to send: the encodings this module inflates.
ACCEPT_ENCODING = "gzip, deflate"
#: The largest piece inflated at once.
PIECE = 256 * 1024


class BodyTooLarge(Exception):
    """A body passed its limit (after decompression), or came in an encoding that is not read."""


class _Inflate:
    """One gzip or deflate layer, inflated in pieces of at most PIECE bytes."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._d = self._new()
        self._raw_deflate_tried = False

    def _new(self) -> Any:
        if self.encoding in ("gzip", "x-gzip"):
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        return zlib.decompressobj()

    def feed(self, data: bytes) -> Iterator[bytes]:
        while data:
            try:
                out = self._d.decompress(data, PIECE)
            except zlib.error:
                if self.encoding == "deflate" and not self._raw_deflate_tried:
                    # "deflate" is sent as zlib data by some servers and as raw deflate by others
                    self._raw_deflate_tried = True
                    self._d = zlib.decompressobj(-zlib.MAX_WBITS)
                    continue
                raise BodyTooLarge(f"the body is not valid {self.encoding} data") from None
            if out:
                yield out
            data = self._d.unconsumed_tail
            if self._d.eof and self._d.unused_data:       # another gzip member follows
                data = self._d.unused_data
                self._d = self._new()

    def flush(self) -> Iterator[bytes]:
        out = self._d.flush()
        if out:
            yield out


class BoundedDecoder:
    """Inflate a body as it arrives, counting inflated bytes against ``limit``."""

    def __init__(self, content_encoding: str, limit: int, what: str) -> None:
        self.limit, self.what, self.total = limit, what, 0
        codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        for c in codings:
            if c not in ("gzip", "x-gzip", "deflate"):
                raise BodyTooLarge(f"{what} is encoded as {c!r}, which is not read (asked for {ACCEPT_ENCODING})")
        self._layers = [_Inflate(c) for c in reversed(codings)]   # the last encoding applied is undone first

    def _count(self, piece: bytes) -> bytes:
        self.total += len(piece)
        if self.total > self.limit:
            raise BodyTooLarge(f"{self.what} larger than {self.limit} bytes (after decompression); not read further")
        return piece

    def feed(self, raw: bytes) -> Iterator[bytes]:
        pieces: Iterator[bytes] = iter((raw,))
        for layer in self._layers:
            pieces = _chain(layer.feed, pieces)
        for piece in pieces:
            yield self._count(piece)

    def flush(self) -> Iterator[bytes]:
        pieces: Iterator[bytes] = iter(())
        for layer in self._layers:
            pieces = _chain_then_flush(layer, pieces)
        for piece in pieces:
            yield self._count(piece)


def _chain(feed: Any, pieces: Iterator[bytes]) -> Iterator[bytes]:
    for piece in pieces:
        yield from feed(piece)


def _chain_then_flush(layer: _Inflate, pieces: Iterator[bytes]) -> Iterator[bytes]:
    for piece in pieces:
        yield from layer.feed(piece)
    yield from layer.flush()


async def iter_body(response: Any, limit: int, what: str) -> AsyncIterator[bytes]:
    """The inflated body of an httpx2 streaming response, in pieces, at most ``limit`` bytes of it."""
    decoder = BoundedDecoder(response.headers.get("content-encoding", ""), limit, what)
    async for raw in response.aiter_raw():
        for piece in decoder.feed(raw):
            yield piece
    for piece in decoder.flush():
        yield piece


async def read_body(response: Any, limit: int, what: str) -> bytes:
    """The whole inflated body of an httpx2 streaming response, refused past ``limit`` bytes."""
    parts: list[bytes] = []
    async for piece in iter_body(response, limit, what):
        parts.append(piece)
    return b"".join(parts)


async def read_head(response: Any, limit: int, what: str) -> bytes:
    """The first ``limit`` bytes of the inflated body (an error body: its start is enough)."""
    head = bytearray()
    decoder = BoundedDecoder(response.headers.get("content-encoding", ""), 1 << 62, what)
    async for raw in response.aiter_raw():
        for piece in decoder.feed(raw):
            head += piece[:limit - len(head)]
            if len(head) >= limit:
                return bytes(head)
    return bytes(head)
