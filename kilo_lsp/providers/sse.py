"""An incremental Server-Sent Events parser (https://html.spec.whatwg.org/#event-stream-interpretation).

Feed it the bytes of a response as they arrive, in chunks of any size; it returns the complete
events. It copes with lines split across chunks (even between ``\\r`` and ``\\n``), CRLF/CR/LF line
ends, multi-byte UTF-8 characters split across chunks, comments (``:`` lines, used as
keep-alives), ``event:``/``id:``/``retry:`` fields and multi-line ``data:``. ``[DONE]`` arrives as an
ordinary event whose ``data`` is ``"[DONE]"`` (see :attr:`SSEEvent.done`).

Unknown field names are ignored, as the spec says. A line that cannot be a field at all (it starts
with ``{`` or ``[``: a JSON body without the ``data:`` prefix), invalid UTF-8, or a line longer than
``max_line`` raise ``ProviderError(kind="protocol")``.
"""

from __future__ import annotations

from dataclasses import dataclass

from .base import ProviderError

DEFAULT_MAX_LINE = 4 * 1024 * 1024   # 4 MiB: far above any real chunk, well below a memory problem


@dataclass(frozen=True)
class SSEEvent:
    event: str          # "message" unless an ``event:`` line said otherwise
    data: str
    id: str | None = None

    @property
    def done(self) -> bool:
        return self.data.strip() == "[DONE]"


class SSEParser:
    def __init__(self, *, max_line: int = DEFAULT_MAX_LINE, provider: str | None = None,
                 secrets: tuple[str, ...] = ()) -> None:
        self.max_line = max_line
        self.provider = provider
        self.secrets = secrets
        self._buf = bytearray()
        self._first_line = True
        self._event = ""
        self._data: list[str] = []
        self._last_id: str | None = None
        self.retry_ms: int | None = None
        self.lines = 0                  # lines completed so far (a reader tells progress from a trickle)

    def _error(self, message: str) -> ProviderError:
        return ProviderError("protocol", message, provider=self.provider, secrets=self.secrets)

    def feed(self, chunk: bytes | str) -> list[SSEEvent]:
        """Parse one chunk; return the events it completed (possibly none)."""
        if isinstance(chunk, str):
            chunk = chunk.encode("utf-8")
        self._buf += chunk
        events: list[SSEEvent] = []
        buf = self._buf
        if b"\r" not in buf:
            # the common case (LF line ends only): split once, no per-line search for CR
            end = buf.rfind(b"\n")
            if end < 0:
                start = 0
            else:
                line = self._line
                for raw in bytes(buf[:end]).split(b"\n"):
                    line(raw, events)
                start = end + 1
            del self._buf[:start]
            if len(self._buf) > self.max_line:
                self._buf.clear()
                raise self._error(f"SSE line longer than {self.max_line} bytes")
            return events
        start = 0
        n = len(buf)
        while True:
            cr = buf.find(b"\r", start)
            lf = buf.find(b"\n", start)
            if cr < 0 and lf < 0:
                break
            if cr >= 0 and (lf < 0 or cr < lf):
                if cr == n - 1:
                    break                       # "\r" last: a "\n" may follow in the next chunk
                end, nxt = cr, cr + 2 if buf[cr + 1:cr + 2] == b"\n" else cr + 1
            else:
                end, nxt = lf, lf + 1
            self._line(bytes(buf[start:end]), events)
            start = nxt
        del self._buf[:start]
        if len(self._buf) > self.max_line:
            self._buf.clear()
            raise self._error(f"SSE line longer than {self.max_line} bytes")
        return events

    def close(self) -> int:
        """End of stream. An unterminated event is discarded (as the spec says); returns the
        number of bytes that were pending, so a caller can tell a clean end from a cut one."""
        pending = len(self._buf) + sum(len(d) for d in self._data)
        self._buf.clear()
        self._data.clear()
        self._event = ""
        return pending

    @property
    def pending(self) -> int:
        """Bytes of a line not ended yet."""
        return len(self._buf)

    def _line(self, raw: bytes, events: list[SSEEvent]) -> None:
        self.lines += 1
        if raw[:6] == b"data: " and not self._first_line and len(raw) <= self.max_line:
            try:                                # the common line, without the general parse below
                self._data.append(raw[6:].decode("utf-8"))
                return
            except UnicodeDecodeError:
                pass                            # reported below
        if len(raw) > self.max_line:
            raise self._error(f"SSE line longer than {self.max_line} bytes")
        if self._first_line:
            self._first_line = False
            if raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise self._error(f"SSE line is not valid UTF-8 at byte {exc.start}") from None
        if not line:
            if self._data:
                events.append(SSEEvent(self._event or "message", "\n".join(self._data), self._last_id))
            self._data = []
            self._event = ""
            return
        if line.startswith(":"):
            return                              # comment / keep-alive
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\0" not in value:
                self._last_id = value
        elif name == "retry":
            if value.isdigit():
                self.retry_ms = int(value)
        elif name[:1] in ("{", "[", '"'):
            # the line as it came: ProviderError redacts it, then cuts it (a cut first left a piece of an echoed key)
            raise self._error(f"malformed SSE line (a payload without 'data:'): {line!r}")
        # any other field name is ignored, as the spec says
