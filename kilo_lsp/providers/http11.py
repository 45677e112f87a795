"""A lean HTTP/1.1 transport for httpx: one asyncio protocol per connection, h11 for the framing.

Why: httpx's default transport (httpcore over anyio) costs the sidecar about 150 µs of CPU per
streamed chunk (a cancel scope and a pause/resume of the socket on every read) and over 1 ms per
request (the pool's assignment walk, peer-name lookups). With 50 streams in flight that is most of
a core, and every new request waits behind it. This transport keeps httpx's client API (requests,
responses, its exceptions and timeouts; proxies from the environment stay on httpx's own
transport, which httpx mounts for them) and replaces only the wire:

- the socket's bytes go straight into h11 from ``data_received``; a reader waits on one future;
- one timer per response checks the read timeout lazily, instead of one timer per read;
- per origin, at most ``max_connections`` requests in flight (the rest wait, up to the pool
  timeout) and at most ``max_keepalive`` idle connections kept for ``keepalive_expiry`` seconds;
- a kept-alive connection the server closed before answering is replaced once, at once.
"""

from __future__ import annotations

import asyncio
import ssl
import urllib.request
from collections import deque
from typing import Any, AsyncIterator
from urllib.parse import urlsplit

import h11
import httpx

_HIGH_WATER = 1 << 20          # bytes received but not yet read before the socket is paused
_DEFAULT_PORTS = {"http": 80, "https": 443}


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection. Received bytes go into h11 at once; ``next_event`` waits for more."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.h11 = h11.Connection(h11.CLIENT)
        self.transport: asyncio.Transport | None = None
        self.closed = False             # EOF or connection lost
        self.lost: BaseException | None = None
        self.got_bytes = False          # anything received since the request went out (reset on release)
        self.idle_since = 0.0
        self._eof_fed = False
        self._waiter: asyncio.Future[None] | None = None
        self._unread = 0
        self._paused = False
        self._drain: asyncio.Future[None] | None = None
        # the read timeout: one timer per response, moved on lazily
        self._timeout: float | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._last_progress = 0.0

    # -- asyncio.Protocol ---------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.h11.receive_data(data)
        self.got_bytes = True
        self._last_progress = self.loop.time()
        self._unread += len(data)
        if self._unread > _HIGH_WATER and not self._paused and self.transport is not None:
            self._paused = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        self.closed = True
        self._wake()
        return False                    # let the transport close itself

    def connection_lost(self, exc: BaseException | None) -> None:
        self.closed = True
        self.lost = exc
        self._wake()
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)

    def pause_writing(self) -> None:
        if self._drain is None or self._drain.done():
            self._drain = self.loop.create_future()

    def resume_writing(self) -> None:
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)

    def _wake(self) -> None:
        w = self._waiter
        if w is not None and not w.done():
            w.set_result(None)

    # -- use ------------------------------------------------------------------------------------
    def usable(self, now: float, expiry: float) -> bool:
        """Idle, open, not expired, and the server has not sent anything unasked (such as a close)."""
        return (not self.closed and self.transport is not None and not self.transport.is_closing()
                and not self.got_bytes and self.h11.our_state is h11.IDLE and now - self.idle_since < expiry)

    async def send(self, request: httpx.Request, body: bytes, write_timeout: float | None) -> None:
        """The request head and body in one write; waits only if the socket's buffer is full."""
        assert self.transport is not None
        out = self.h11.send(h11.Request(method=request.method, target=request.url.raw_path,
                                        headers=request.headers.raw))
        if body:
            out += self.h11.send(h11.Data(data=body))
        out += self.h11.send(h11.EndOfMessage())
        self.transport.write(out)
        if self._drain is not None and not self._drain.done():
            try:
                async with asyncio.timeout(write_timeout):
                    await self._drain
            except TimeoutError:
                raise httpx.WriteTimeout("the request could not be written in time", request=request) from None
        if self.closed and not self.got_bytes and self.lost is not None:
            raise httpx.WriteError(f"connection lost while sending: {self.lost}", request=request)

    def start_timer(self, timeout: float | None) -> None:
        self._timeout = timeout
        self._last_progress = self.loop.time()
        if timeout is not None and self._timer is None:
            self._timer = self.loop.call_at(self._last_progress + timeout, self._check_timeout)

    def stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _check_timeout(self) -> None:
        self._timer = None
        if self._timeout is None:
            return
        now, w = self.loop.time(), self._waiter
        if w is None or w.done():       # not waiting: the clock restarts when the reader waits
            self._timer = self.loop.call_at(now + self._timeout, self._check_timeout)
            return
        due = self._last_progress + self._timeout
        if now >= due:
            w.set_exception(httpx.ReadTimeout(f"nothing received for {self._timeout:g} s"))
        else:
            self._timer = self.loop.call_at(due, self._check_timeout)

    async def next_event(self) -> Any:
        """The next h11 event of the response; waits for bytes while h11 needs more."""
        while True:
            ev = self.h11.next_event()
            if ev is not h11.NEED_DATA:
                return ev
            self._unread = 0
            if self._paused and self.transport is not None:
                self._paused = False
                self.transport.resume_reading()
            if self.closed:
                if self._eof_fed:       # h11 answers NEED_DATA after EOF only if misused; never loop
                    raise h11.RemoteProtocolError("connection closed")
                self._eof_fed = True
                self.h11.receive_data(b"")
                continue
            self._waiter = self.loop.create_future()
            self._last_progress = self.loop.time()   # waiting starts now, not at the last byte
            try:
                await self._waiter
            finally:
                self._waiter = None

    def close(self) -> None:
        self.stop_timer()
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class _Pool:
    """Connections to one origin: a limit on requests in flight, and the idle ones kept alive."""

    def __init__(self, owner: "Http11Transport", scheme: str, host: str, port: int) -> None:
        self.owner = owner
        self.scheme, self.host, self.port = scheme, host, port
        self.slots = asyncio.Semaphore(owner.max_connections)
        self.idle: deque[_Connection] = deque()

    async def acquire(self, request: httpx.Request, pool_timeout: float | None) -> None:
        if not self.slots.locked():
            await self.slots.acquire()
            return
        try:
            async with asyncio.timeout(pool_timeout):
                await self.slots.acquire()
        except TimeoutError:
            raise httpx.PoolTimeout(f"all {self.owner.max_connections} connections to {self.host} stayed busy "
                                    f"for {pool_timeout:g} s", request=request) from None

    def take_idle(self) -> _Connection | None:
        now = asyncio.get_running_loop().time()
        while self.idle:
            conn = self.idle.pop()      # the most recently used first
            if conn.usable(now, self.owner.keepalive_expiry):
                return conn
            conn.close()
        return None

    async def connect(self, request: httpx.Request, connect_timeout: float | None) -> _Connection:
        loop = asyncio.get_running_loop()
        conn = _Connection(loop)
        tls = self.owner.ssl_context() if self.scheme == "https" else None
        try:
            async with asyncio.timeout(connect_timeout):
                # Happy Eyeballs (as httpx's default transport does): a host whose IPv6 address
                # does not answer is reached over IPv4 after 250 ms, not after the connect timeout.
                await loop.create_connection(lambda: conn, self.host, self.port, ssl=tls,
                                             server_hostname=self.host if tls is not None else None,
                                             happy_eyeballs_delay=0.25)
        except TimeoutError:
            conn.close()
            raise httpx.ConnectTimeout(f"no connection to {self.host}:{self.port} within {connect_timeout:g} s",
                                       request=request) from None
        except (OSError, ssl.SSLError) as exc:
            conn.close()
            raise httpx.ConnectError(str(exc) or type(exc).__name__, request=request) from exc
        return conn

    def release(self, conn: _Connection, reusable: bool) -> None:
        """Back to the idle list if the exchange ended cleanly; closed otherwise."""
        conn.stop_timer()
        self.slots.release()
        if (reusable and not self.owner.closed and conn.h11.our_state is h11.DONE
                and conn.h11.their_state is h11.DONE and not conn.closed):
            conn.h11.start_next_cycle()
            conn.got_bytes = False
            conn.idle_since = conn.loop.time()
            self.idle.append(conn)
            while len(self.idle) > self.owner.max_keepalive:
                self.idle.popleft().close()
        else:
            conn.close()

    def close(self) -> None:
        while self.idle:
            self.idle.pop().close()


class _Body(httpx.AsyncByteStream):
    """A response body read from its connection; the connection goes back when the body ends."""

    def __init__(self, pool: _Pool, conn: _Connection, request: httpx.Request) -> None:
        self.pool, self.conn, self.request = pool, conn, request
        self.done = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        conn = self.conn
        while not self.done:
            try:
                ev = await conn.next_event()
            except h11.RemoteProtocolError as exc:
                self._finish(False)
                raise httpx.RemoteProtocolError(str(exc), request=self.request) from None
            except BaseException:
                self._finish(False)
                raise
            kind = type(ev)
            if kind is h11.Data:
                yield bytes(ev.data)
            elif kind is h11.EndOfMessage:
                self._finish(True)
            else:
                self._finish(False)
                raise httpx.RemoteProtocolError(f"unexpected {kind.__name__} in the response body",
                                                request=self.request)

    def _finish(self, reusable: bool) -> None:
        if not self.done:
            self.done = True
            self.pool.release(self.conn, reusable)

    async def aclose(self) -> None:
        self._finish(False)             # not read to the end: the connection cannot be reused


class Http11Transport(httpx.AsyncBaseTransport):
    """HTTP/1.1 over asyncio for httpx.AsyncClient(transport=...)."""

    def __init__(self, *, verify: ssl.SSLContext | bool = True, trust_env: bool = True,
                 max_connections: int = 64, max_keepalive: int = 8, keepalive_expiry: float = 60.0) -> None:
        self.max_connections = max_connections
        self.max_keepalive = max_keepalive
        self.keepalive_expiry = keepalive_expiry
        self.closed = False
        self._verify = verify
        self._trust_env = trust_env
        self._ssl: ssl.SSLContext | None = None
        self._pools: dict[tuple[str, str, int], _Pool] = {}

    def ssl_context(self) -> ssl.SSLContext:
        """Built at the first HTTPS connection (loading the CA bundle takes tens of milliseconds)."""
        if self._ssl is None:
            v = self._verify
            self._ssl = v if isinstance(v, ssl.SSLContext) else httpx.create_ssl_context(
                verify=v, trust_env=self._trust_env)
            self._ssl.set_alpn_protocols(["http/1.1"])     # what httpx's own transport announces
        return self._ssl

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.closed:
            raise RuntimeError("the transport is closed")
        url = request.url
        scheme = url.scheme
        if scheme not in _DEFAULT_PORTS:
            raise httpx.UnsupportedProtocol(f"unsupported URL scheme {scheme!r}", request=request)
        key = (scheme, url.host, url.port or _DEFAULT_PORTS[scheme])
        pool = self._pools.get(key)
        if pool is None:
            pool = self._pools[key] = _Pool(self, *key)
        timeouts = request.extensions.get("timeout") or {}
        body = await request.aread()
        await pool.acquire(request, timeouts.get("pool"))
        conn: _Connection | None = None
        try:
            conn = pool.take_idle()
            response = None
            if conn is not None:
                response = await self._exchange(conn, request, body, timeouts, reused=True)
            if response is None:          # no idle connection, or the idle one had been closed
                conn = await pool.connect(request, timeouts.get("connect"))
                response = await self._exchange(conn, request, body, timeouts, reused=False)
        except BaseException:
            if conn is not None:
                conn.close()
            pool.slots.release()
            raise
        assert response is not None and conn is not None
        status, headers, reason = response
        return httpx.Response(status, headers=headers, stream=_Body(pool, conn, request),
                              extensions={"http_version": b"HTTP/1.1", "reason_phrase": reason})

    async def _exchange(self, conn: _Connection, request: httpx.Request, body: bytes, timeouts: dict[str, Any],
                        reused: bool) -> tuple[int, list[tuple[bytes, bytes]], bytes] | None:
        """Send the request and read the response head; None if a reused connection turned out closed."""
        try:
            await conn.send(request, body, timeouts.get("write"))
            conn.start_timer(timeouts.get("read"))
            while True:
                ev = await conn.next_event()
                if type(ev) is h11.Response:
                    return ev.status_code, ev.headers.raw_items(), ev.reason
                if type(ev) is not h11.InformationalResponse:
                    raise h11.RemoteProtocolError(f"unexpected {type(ev).__name__} before the response")
        except (h11.RemoteProtocolError, httpx.WriteError) as exc:
            if reused and not conn.got_bytes:
                conn.close()
                return None              # the server had closed the idle connection: use a new one
            if not conn.got_bytes:
                raise httpx.RemoteProtocolError("the server closed the connection without answering",
                                                request=request) from None
            raise httpx.RemoteProtocolError(str(exc), request=request) from None

    async def aclose(self) -> None:
        self.closed = True
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()


def uses_env_proxy(url: str) -> bool:
    """Whether HTTP(S)_PROXY / ALL_PROXY (and NO_PROXY) from the environment send ``url`` through a proxy."""
    proxies = urllib.request.getproxies_environment()
    parts = urlsplit(url)
    if not (proxies.get(parts.scheme) or proxies.get("all")):
        return False
    return not urllib.request.proxy_bypass_environment(parts.hostname or "", proxies)
