"""OpenAI-compatible chat completions (OpenAI, OpenRouter, Kilo, Gemini, DeepSeek, Groq, Ollama,
LM Studio, llama.cpp, ...) with SSE streaming.

:class:`HTTPProvider` holds what every HTTP API family shares: one pooled ``httpx2.AsyncClient``
per provider, created on first use, with httpx2's own transport (proxies from the environment
honoured, except for local servers); the timeouts (connect, first byte, idle between chunks); the
mapping of HTTP and network failures to :class:`ProviderError`; one more try on a new connection
when a kept-alive one turns out closed; and the streaming loop that closes the upstream response as
soon as the consumer stops (``aclose`` or cancellation).
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
from typing import Any, AsyncIterator, Iterator

import httpx2

from ..redaction import mask_url
from .base import (ChatRequest, Provider, ProviderError, ProviderSpec, StreamEvent, Timeouts, Usage, reported_usage,
                   error_for_status, estimate_usage)
from .bodies import ACCEPT_ENCODING, BodyTooLarge, iter_body, read_body, read_head
from .sse import DEFAULT_MAX_LINE, SSEEvent, SSEParser

log = logging.getLogger(__name__)

USER_AGENT = "kilo-lsp"
_ERROR_BODY_LIMIT = 4096
# Bodies are read with a bound after decompression (bodies.py): an answer sent as one JSON body, a
# model list, and an event stream (its bytes, not only its text: a stream of comments or of events
# without text never reaches the output cap below).
MAX_ANSWER_BYTES = 16 * 1024 * 1024
MAX_MODELS_BYTES = 8 * 1024 * 1024
STREAM_BYTES_BASE = 32 * 1024 * 1024
STREAM_BYTES_PER_TOKEN = 512
# A stream is cut (finish "length") past 2 x max_tokens deltas + 16 or 16 x max_tokens characters
# + 1024: a server that ignores max_tokens, or never stops, cannot run on for ever.
OUTPUT_CAP_DEFAULT = 4096
# Requests in flight per provider; more wait for a free connection (up to the first-byte timeout).
MAX_CONNECTIONS = 64
# Idle connections kept per provider, so that a burst does not open them all again.
KEEPALIVE = 32


def _is_tls_failure(exc: BaseException) -> bool:
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, ssl.SSLError):
            return True
        text = str(cur)
        if "CERTIFICATE_VERIFY_FAILED" in text or "SSL:" in text or "certificate verify failed" in text:
            return True
        cur = cur.__cause__ or cur.__context__
    return False


class HTTPProvider(Provider):
    """Shared HTTP machinery. Subclasses build the request and turn SSE events into StreamEvents."""

    def __init__(self, spec: ProviderSpec, *, timeouts: Timeouts | None = None,
                 verify: ssl.SSLContext | bool = True, trust_env: bool = True,
                 max_line: int = DEFAULT_MAX_LINE) -> None:
        self.spec = spec
        self.timeouts = timeouts or Timeouts()
        self._verify = verify
        # A local server is never reached through a proxy (HTTP_PROXY would otherwise apply).
        self._trust_env = trust_env and not spec.local
        self._max_line = max_line
        self._client: httpx2.AsyncClient | None = None

    # ----------------------------------------------------------------- client

    @property
    def base_url(self) -> str:
        return self.spec.base_url.rstrip("/")

    def _auth_headers(self) -> dict[str, str]:
        raise NotImplementedError

    def client(self) -> httpx2.AsyncClient:
        """The provider's pooled client, created on first use."""
        if self._client is None or self._client.is_closed:
            t = self.timeouts
            self._client = httpx2.AsyncClient(
                timeout=httpx2.Timeout(connect=t.connect, read=max(t.first_byte, t.idle), write=t.first_byte,
                                       pool=t.first_byte),
                verify=self._verify, trust_env=self._trust_env, follow_redirects=False,
                headers={"user-agent": USER_AGENT, "accept-encoding": ACCEPT_ENCODING}, limits=httpx2.Limits(
                    max_connections=MAX_CONNECTIONS, max_keepalive_connections=KEEPALIVE, keepalive_expiry=60),
            )
        return self._client

    @staticmethod
    async def _send(client: httpx2.AsyncClient, request: httpx2.Request,
                    chat: ChatRequest | None = None) -> httpx2.Response:
        """Send ``request`` and read the response head. A kept-alive connection the server closed
        just as the request went out (its idle close crossing the request) fails before any answer:
        the request then goes out once more, on another connection. A new connection that fails the
        same way is the server's own answer, and is not tried again. ``chat.sent`` is set once the
        request has gone out whole (the provider has it, and may bill it)."""
        opened = _Opened(chat)
        request.extensions["trace"] = opened
        try:
            return await client.send(request, stream=True)
        except (httpx2.RemoteProtocolError, httpx2.ReadError, httpx2.WriteError):
            if opened.connection:
                raise
        request.extensions["trace"] = _Opened(chat)
        return await client.send(request, stream=True)

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = dict(self.spec.extra_headers)
        headers.update(self._auth_headers())
        if extra:
            headers.update(extra)
        return headers

    def _url(self, path: str) -> str:
        # Every URL is built from the spec's own base URL: the key goes nowhere else.
        return self.base_url + path

    # ----------------------------------------------------------------- errors

    def _event_object(self, ev: SSEEvent, what: str) -> dict[str, Any]:
        """The JSON object an SSE event carries, or a protocol error saying what arrived instead."""
        try:
            obj = json.loads(ev.data)
        except ValueError:
            raise self._err("protocol", f"malformed stream {what} (not JSON): {ev.data!r}") from None
        if not isinstance(obj, dict):
            raise self._err("protocol", f"malformed stream {what} (not a JSON object)")
        return obj

    def _err(self, kind: str, message: str, **kw: Any) -> ProviderError:
        return ProviderError(kind, message, provider=self.spec.name, secrets=self.spec.secrets, **kw)

    def _map_exception(self, exc: BaseException, *, started: bool, phase: str) -> ProviderError:
        if isinstance(exc, ProviderError):
            return exc
        if isinstance(exc, BodyTooLarge):
            return self._err("protocol", str(exc), started=started)
        where = mask_url(self.base_url)
        if isinstance(exc, httpx2.ConnectTimeout):
            return self._err("connect", f"could not connect to {where} within {self.timeouts.connect:g} s",
                             started=started)
        if isinstance(exc, httpx2.ConnectError):
            if _is_tls_failure(exc):
                return self._err("tls", f"TLS certificate of {where} could not be verified "
                                        f"(set a CA bundle if a proxy re-signs traffic): {exc}", started=started)
            return self._err("connect", f"could not connect to {where}: {exc or type(exc).__name__}",
                             started=started)
        if isinstance(exc, (TimeoutError, httpx2.TimeoutException)):
            if phase == "first_byte":
                return self._err("timeout", f"no response within {self.timeouts.first_byte:g} s", started=started)
            return self._err("timeout", f"stream stalled: nothing for {self.timeouts.idle:g} s", started=started)
        if isinstance(exc, httpx2.RemoteProtocolError) and "buffer too long" in str(exc):
            # h11 stops reading a response head (status line and headers) past its limit
            return self._err("protocol", f"{where} sent a response head (headers) too large to read",
                             started=started)
        if isinstance(exc, (httpx2.RemoteProtocolError, httpx2.ReadError, httpx2.WriteError)):
            what = "connection closed mid-stream" if phase == "body" else "connection failed"
            return self._err("connect", f"{what}: {exc or type(exc).__name__}", started=started)
        if isinstance(exc, httpx2.ProxyError):
            return self._err("connect", f"proxy refused the connection: {exc}", started=started)
        if isinstance(exc, httpx2.HTTPError):
            return self._err("protocol", f"{type(exc).__name__}: {exc}", started=started)
        return self._err("protocol", f"{type(exc).__name__}: {exc}", started=started)

    async def _error_from_response(self, response: httpx2.Response) -> ProviderError:
        try:
            async with asyncio.timeout(self.timeouts.idle):
                body = await read_head(response, _ERROR_BODY_LIMIT, "the error body")
        except Exception:  # noqa: BLE001 - the status alone is enough to report
            body = b""
        # The message is left whole: ProviderError redacts it, then cuts it (cut first, an echoed key
        # straddling the cut left a piece that no longer matched the key: tests/reliability/test_redaction.py)
        message = ""
        try:
            obj = json.loads(body)
            err = obj.get("error", obj) if isinstance(obj, dict) else obj
            if isinstance(err, dict):
                message = str(err.get("message") or err.get("type") or "")
            elif isinstance(err, str):
                message = err
        except (ValueError, AttributeError, RecursionError):
            message = body.decode("utf-8", "replace").strip()
        if 300 <= response.status_code < 400:
            return self._err("client", f"unexpected redirect to {response.headers.get('location', '?')!r}; "
                                       "check the base URL", status=response.status_code, retryable=True)
        return error_for_status(response.status_code, message, provider=self.spec.name,
                                headers=response.headers, secrets=self.spec.secrets)

    # ----------------------------------------------------------------- streaming

    def _build(self, req: ChatRequest) -> tuple[str, dict[str, Any], dict[str, str]]:
        """(path, JSON body, extra headers) of a streaming request."""
        raise NotImplementedError

    def _handle(self, ev: SSEEvent, state: dict[str, Any]) -> Iterator[StreamEvent]:
        """Turn one SSE event into StreamEvents; set state["done"] at the end of the stream."""
        raise NotImplementedError

    def _finish(self, req: ChatRequest, state: dict[str, Any]) -> Iterator[StreamEvent]:
        """The closing usage and finish events."""
        usage = state.get("usage") or estimate_usage(req, "".join(state["text"]))
        yield StreamEvent.of_usage(usage)
        yield StreamEvent.finish(state.get("finish_reason"))

    def _non_stream(self, obj: Any, state: dict[str, Any]) -> Iterator[StreamEvent]:
        """A server that ignored ``stream: true`` and answered with one JSON body."""
        raise self._err("protocol", "expected an event stream, got a JSON body")

    async def stream(self, req: ChatRequest) -> AsyncIterator[StreamEvent]:
        path, body, extra = self._build(req)
        client = self.client()
        request = client.build_request("POST", self._url(path), json=body, headers=self._headers(extra))
        state: dict[str, Any] = {"text": [], "usage": None, "finish_reason": None, "done": False}
        started = False
        chunks: AsyncIterator[bytes] | None = None
        dog: _Watchdog | None = None
        t = self.timeouts
        loop = asyncio.get_running_loop()
        deadline = loop.time() + t.first_byte
        try:
            async with asyncio.timeout_at(deadline):
                response = await self._send(client, request, req)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise self._map_exception(exc, started=False, phase="first_byte") from None
        try:
            if response.status_code >= 300:
                raise await self._error_from_response(response)
            ctype = response.headers.get("content-type", "")
            if "application/json" in ctype:
                try:
                    async with asyncio.timeout_at(deadline):
                        raw = await read_body(response, MAX_ANSWER_BYTES, "the answer")
                except BodyTooLarge as exc:
                    raise self._err("protocol", str(exc)) from None
                try:
                    obj = json.loads(raw)
                except ValueError:
                    raise self._err("protocol", "response body is not valid JSON") from None
                for out in self._non_stream(obj, state):
                    yield out
                for out in self._finish(req, state):
                    yield out
                return
            if "text/event-stream" not in ctype and ctype:
                raise self._err("protocol", f"expected text/event-stream, got {ctype.split(';')[0]!r}")
            parser = SSEParser(max_line=self._max_line, provider=self.spec.name, secrets=self.spec.secrets)
            cap = req.max_tokens or OUTPUT_CAP_DEFAULT
            max_deltas, max_chars, chars = 2 * cap + 16, 16 * cap + 1024, 0
            chunks = iter_body(response, STREAM_BYTES_BASE + STREAM_BYTES_PER_TOKEN * cap, "the event stream")
            got_bytes = cut = False
            # when the event line not ended yet began: bytes that never end a line (one byte at a
            # time) are no progress, so a line must end within the idle timeout
            line_began: float | None = None
            dog = _Watchdog(loop, deadline)       # one timer for the stream, not one per chunk
            while not state["done"]:
                phase = "body" if got_bytes else "first_byte"
                try:
                    if got_bytes:
                        dog.deadline = (loop.time() if line_began is None else line_began) + t.idle
                    elif loop.time() >= deadline:
                        raise TimeoutError
                    dog.armed = True
                    chunk = await anext(chunks)
                except StopAsyncIteration:
                    break
                except asyncio.CancelledError:
                    if dog.expired():
                        if line_began is not None:
                            raise self._err("timeout", f"stream stalled: an event line not ended after "
                                            f"{t.idle:g} s", started=started) from None
                        raise self._map_exception(TimeoutError(), started=started, phase=phase) from None
                    raise
                except Exception as exc:  # noqa: BLE001
                    raise self._map_exception(exc, started=started, phase=phase) from None
                finally:
                    dog.armed = False
                if not got_bytes:                 # the idle timeout from here on (it may be the shorter)
                    dog.restart(loop.time() + t.idle)
                got_bytes = True
                lines = parser.lines
                try:
                    events = parser.feed(chunk)
                except ProviderError as exc:
                    exc.started = started
                    raise
                if not parser.pending:
                    line_began = None
                elif line_began is None or parser.lines != lines:
                    line_began = loop.time()
                # Text deltas that arrive in one network read go out as one event: a fast stream
                # then costs one notification per read, not one per token.
                pending: list[str] = []
                for ev in events:
                    try:
                        outs = list(self._handle(ev, state))
                    except ProviderError:
                        raise
                    except (AttributeError, TypeError, KeyError, ValueError, IndexError) as exc:
                        raise self._err("protocol", f"unexpected stream event shape: {type(exc).__name__}: {exc}",
                                        started=started) from None
                    for out in outs:
                        if out.type == "text":
                            started = True
                            state["text"].append(out.text)
                            chars += len(out.text)
                            pending.append(out.text)
                            continue
                        if pending:
                            yield StreamEvent.delta("".join(pending))
                            pending = []
                        yield out
                    if len(state["text"]) > max_deltas or chars > max_chars:
                        # the server ignores max_tokens (or never stops): cut it here, as "length"
                        state["finish_reason"] = "length"
                        state["usage"] = None          # whatever came is not the whole answer's usage
                        state["done"] = cut = True
                    if state["done"]:
                        break
                if pending:
                    yield StreamEvent.delta("".join(pending))
            if not state["done"]:
                parser.close()
                if state.get("finish_reason") is None:
                    raise self._err("connect", "stream ended before the answer was complete", started=started)
            elif not cut:
                await _drain(chunks)   # read the body's end so the connection goes back to the pool
            for out in self._finish(req, state):
                yield out
        except ProviderError as exc:
            exc.started = exc.started or started
            exc.midstream = exc.midstream or response.status_code < 300
            raise
        finally:
            # Runs on normal end, on error, on aclose() (GeneratorExit) and on cancellation:
            # the upstream connection is released or closed at once.
            if dog is not None:
                dog.stop()
            if chunks is not None:
                try:
                    await chunks.aclose()  # type: ignore[attr-defined]
                except Exception:  # noqa: BLE001 - closing the response below is what matters
                    pass
            await response.aclose()

    # ----------------------------------------------------------------- models

    async def _get_json(self, path: str) -> Any:
        client = self.client()
        request = client.build_request("GET", self._url(path), headers=self._headers())
        try:
            async with asyncio.timeout(self.timeouts.list_models):
                response = await self._send(client, request)
                try:
                    if response.status_code >= 300:
                        raise await self._error_from_response(response)
                    body = await read_body(response, MAX_MODELS_BYTES, f"GET {path}")
                finally:
                    await response.aclose()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise self._map_exception(exc, started=False, phase="first_byte") from None
        try:
            return json.loads(body)
        except (ValueError, RecursionError):
            raise self._err("protocol", f"GET {path}: body is not valid JSON") from None


def _openai_usage(raw: Any) -> Usage | None:
    """The usage an OpenAI-compatible server reported; None (charged the estimate) when it is not
    believable (``base.reported_usage``)."""
    if not isinstance(raw, dict):
        return None
    details = raw.get("prompt_tokens_details") or {}
    usage = reported_usage(raw.get("prompt_tokens"),
                           details.get("cached_tokens") if isinstance(details, dict) else "?",
                           raw.get("completion_tokens"))
    if usage is None:
        log.warning("usage figures out of range from the provider; the estimate is charged")
    return usage


def _openai_reasoning(model: str) -> bool:
    m = model.lower().rsplit("/", 1)[-1]
    return m.startswith(("o1", "o3", "o4", "gpt-5"))


class OpenAICompatProvider(HTTPProvider):
    """POST {base}/chat/completions with ``stream: true`` and ``stream_options.include_usage``."""

    def _auth_headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.spec.api_key}"} if self.spec.api_key else {}

    def _build(self, req: ChatRequest) -> tuple[str, dict[str, Any], dict[str, str]]:
        messages = [{"role": "system", "content": req.system}] if req.system else []
        messages += [{"role": m.role, "content": m.content} for m in req.messages]
        body: dict[str, Any] = {"model": req.model, "messages": messages, "stream": True,
                                "stream_options": {"include_usage": True}}
        # OpenAI's own API refuses max_tokens (and any temperature but 1) for its reasoning models
        # (o1/o3/o4, gpt-5); everyone else still expects max_tokens.
        official = httpx2.URL(self.base_url).host == "api.openai.com"
        if req.max_tokens is not None:
            body["max_completion_tokens" if official else "max_tokens"] = req.max_tokens
        if req.temperature is not None and not (official and _openai_reasoning(req.model)):
            body["temperature"] = req.temperature
        return "/chat/completions", body, {"accept": "text/event-stream"}

    def _handle(self, ev: SSEEvent, state: dict[str, Any]) -> Iterator[StreamEvent]:
        if ev.done:
            state["done"] = True
            return
        obj = self._event_object(ev, "chunk")
        if obj.get("error"):
            # OpenRouter and others report failures inside a 200 stream
            err = obj["error"]
            message = str(err.get("message", err)) if isinstance(err, dict) else str(err)
            code = err.get("code") if isinstance(err, dict) else None
            status = code if isinstance(code, int) else None
            if status:
                raise error_for_status(status, message, provider=self.spec.name, secrets=self.spec.secrets)
            raise self._err("server", message)
        for choice in obj.get("choices") or ():
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            content = delta.get("content")
            if content:
                yield StreamEvent.delta(content)
            if choice.get("finish_reason"):
                state["finish_reason"] = choice["finish_reason"]
        if obj.get("usage"):
            state["usage"] = _openai_usage(obj["usage"])

    def _non_stream(self, obj: Any, state: dict[str, Any]) -> Iterator[StreamEvent]:
        try:
            choice = obj["choices"][0]
            content = (choice.get("message") or {}).get("content") or ""
        except (KeyError, IndexError, TypeError):
            raise self._err("protocol", "JSON response without choices") from None
        if content:
            state["text"].append(content)
            yield StreamEvent.delta(content)
        state["finish_reason"] = choice.get("finish_reason") or "stop"
        if obj.get("usage"):
            state["usage"] = _openai_usage(obj["usage"])

    async def list_models(self) -> list[str]:
        obj = await self._get_json("/models")
        items = obj.get("data") if isinstance(obj, dict) else obj
        if not isinstance(items, list):
            raise self._err("protocol", "GET /models: no 'data' list")
        return [str(m["id"]) for m in items if isinstance(m, dict) and m.get("id")]


class _Watchdog:
    """The first-byte and idle timeouts of one stream, with one timer instead of a new
    ``asyncio.timeout`` per network read (which cost a timer handle and a context per chunk).

    The reader sets ``deadline`` (pushed on after each read) and ``armed`` while it awaits the next
    read; when the timer finds the deadline passed while the reader waits, it cancels the task, and
    :meth:`expired` tells that cancellation apart from one that came from outside (as
    ``asyncio.timeout`` does, with ``Task.uncancel``)."""

    __slots__ = ("loop", "task", "deadline", "armed", "_fired", "_cancelling", "_handle")

    def __init__(self, loop: asyncio.AbstractEventLoop, deadline: float) -> None:
        self.loop = loop
        self.task = asyncio.current_task()
        self.deadline = deadline
        self.armed = False
        self._fired = False
        self._cancelling = self.task.cancelling() if self.task is not None else 0
        self._handle: asyncio.TimerHandle | None = loop.call_at(deadline, self._check)

    def _check(self) -> None:
        now = self.loop.time()
        if now < self.deadline:
            self._handle = self.loop.call_at(self.deadline, self._check)
        elif self.armed and self.task is not None and not self._fired:
            self._fired = True
            self._handle = None
            self.task.cancel()
        else:                                 # the reader is busy between reads: look again soon
            self._handle = self.loop.call_at(max(now, self.deadline) + 0.05, self._check)

    def expired(self) -> bool:
        """After a CancelledError: True if it was this watchdog's (and nothing else cancels)."""
        if not self._fired or self.task is None:
            return False
        self._fired = False
        return self.task.uncancel() <= self._cancelling

    def restart(self, deadline: float) -> None:
        """A new deadline, earlier or later (pushing it later needs no call: set ``deadline``)."""
        self.stop()
        self.deadline = deadline
        self._handle = self.loop.call_at(deadline, self._check)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None


DRAIN_SECONDS = 0.05   # how long to wait for the end of a body after [DONE]


async def _drain(chunks: AsyncIterator[bytes]) -> None:
    """After the last event, read what is left of the response (the chunked terminator, usually in
    the same packet) so httpx2 can reuse the connection; a server that keeps sending is left to the
    close in ``finally``. Without this every request opened a new connection (and TLS handshake)."""
    try:
        async with asyncio.timeout(DRAIN_SECONDS):
            async for _ in chunks:
                pass
    except (TimeoutError, Exception):  # noqa: BLE001 - the answer is complete either way
        pass


class _Opened:
    """A trace hook of httpx2: whether a request opened a connection, rather than reusing a kept-alive
    one, and whether it went out whole (``ChatRequest.sent``: a request cancelled while it waited for
    a connection never reached the provider, and costs nothing)."""

    __slots__ = ("connection", "chat")

    def __init__(self, chat: ChatRequest | None = None) -> None:
        self.connection = False
        self.chat = chat

    async def __call__(self, event: str, info: dict[str, Any]) -> None:
        if event.endswith("connect_tcp.started"):
            self.connection = True
        elif event.endswith("send_request_body.complete") and self.chat is not None:
            self.chat.sent = True
