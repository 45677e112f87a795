"""Types shared by every provider: requests, stream events, usage, errors and provider specs.

A provider turns a :class:`ChatRequest` into an async stream of :class:`StreamEvent`. Every
failure is a :class:`ProviderError` whose ``kind`` says what went wrong, whether a failover to
another provider may help (``retryable``) and, for rate limits, how long to wait (``retry_after``).

Keys never appear in an error message, a ``repr`` or a log line: :func:`mask_key` shows at most
the last four characters, and every error message is redacted before it is cut
(``kilo_lsp/redaction.py``), so neither a key nor a piece of one survives in it.
"""

from __future__ import annotations

import abc
import email.utils
import time
from dataclasses import dataclass, field
from typing import AsyncIterator, Iterable, Literal, Mapping

from ..redaction import mask_key, redact, safe_text, url_secrets  # noqa: F401  (mask_key, redact re-exported)
from ..tokens import estimate_tokens

ProviderKind = Literal["openai", "anthropic"]
ERROR_KINDS: frozenset[str] = frozenset(
    ("connect", "timeout", "rate_limit", "server", "client", "auth", "tls", "protocol", "cancelled"))

# Whether trying *another* provider may help, by kind. A bad request (client) fails the same way
# everywhere; a cancelled request must not be retried at all.
_RETRYABLE = {"connect": True, "timeout": True, "rate_limit": True, "server": True, "client": False,
              "auth": True, "tls": True, "protocol": True, "cancelled": False}


# --------------------------------------------------------------------------- secrets

#: How long an error message may be, after redaction.
MESSAGE_CHARS = 500

# --------------------------------------------------------------------------- requests

@dataclass(frozen=True)
class ChatMessage:
    role: str          # "system" | "user" | "assistant"
    content: str


@dataclass
class ChatRequest:
    model: str                           # the model id at the provider (Model.routes[provider])
    messages: list[ChatMessage]
    max_tokens: int | None = None
    temperature: float | None = None
    system: str | None = None            # sent as the provider's system prompt
    #: Set by the provider once the request has gone out whole: from then on the provider may bill it.
    sent: bool = False


@dataclass(frozen=True)
class Usage:
    """Token counts of one request. ``input_tokens`` counts every prompt token, cached ones
    included (so ``Prices.cost(input_tokens, output_tokens, cached_input_tokens)`` is right for
    every provider); ``estimated`` is True when the server sent no usage and we counted ~4
    characters per token."""

    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    estimated: bool = False


#: The largest token count believed from a provider: far above any context window, far below what
#: would overflow a ledger row.
MAX_REPORTED_TOKENS = 100_000_000


def token_count(value: object) -> int | None:
    """A token count a provider reported: 0 when absent, None when it is not a count in range (a
    negative, fractional, huge or non-numeric figure, which would give money back, lose the ledger
    row or break the answer)."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not value.is_integer():     # also NaN and infinities
        return None
    return int(value) if 0 <= value <= MAX_REPORTED_TOKENS else None


def reported_usage(input_tokens: object, cached_input_tokens: object, output_tokens: object) -> Usage | None:
    """The usage a provider reported, or None when a figure is not a count in range or more prompt
    tokens are said to be cached than were sent: the request is then charged the estimate."""
    counts = [token_count(v) for v in (input_tokens, cached_input_tokens, output_tokens)]
    if None in counts or counts[1] > counts[0]:
        return None
    return Usage(counts[0], counts[1], counts[2], estimated=False)


def estimate_usage(req: ChatRequest, output_text: str) -> Usage:
    prompt = (req.system or "") + "".join(m.content for m in req.messages)
    # a few tokens of framing per message, as chat templates add them
    return Usage(estimate_tokens(len(prompt)) + 4 * (len(req.messages) + (1 if req.system else 0)), 0,
                 estimate_tokens(len(output_text)), estimated=True)


@dataclass(frozen=True)
class StreamEvent:
    """One event of a response stream: ``text`` (a delta), ``usage`` or ``finish``.

    ``finish_reason`` uses OpenAI's words for every provider: ``stop``, ``length``,
    ``tool_calls``, ``content_filter`` (or whatever else the server said, passed through)."""

    type: Literal["text", "usage", "finish"]
    text: str = ""
    usage: Usage | None = None
    finish_reason: str | None = None

    @classmethod
    def delta(cls, text: str) -> "StreamEvent":
        return cls("text", text=text)

    @classmethod
    def of_usage(cls, usage: Usage) -> "StreamEvent":
        return cls("usage", usage=usage)

    @classmethod
    def finish(cls, reason: str | None) -> "StreamEvent":
        return cls("finish", finish_reason=reason or "stop")


# --------------------------------------------------------------------------- errors

class ProviderError(Exception):
    """A provider failed. ``str(err)`` is safe to show and log: it never contains a key.

    ``retryable``: whether failover may try another provider (not this one again at once).
    ``started``: whether text had already been streamed when the error happened; after the
    first token a caller must not switch providers silently.
    """

    def __init__(self, kind: str, message: str, *, provider: str | None = None, status: int | None = None,
                 retry_after: float | None = None, retryable: bool | None = None, started: bool = False,
                 secrets: Iterable[str | None] = ()) -> None:
        if kind not in ERROR_KINDS:
            raise ValueError(f"unknown ProviderError kind {kind!r}")
        self.kind = kind
        self.provider = provider
        self.status = status
        self.retry_after = retry_after
        self.retryable = _RETRYABLE[kind] if retryable is None else retryable
        self.started = started
        #: the server had answered 2xx and the stream broke (or was wrong) after that: a fault of the
        #: route, not of the provider as a whole (breaker.py)
        self.midstream = False
        self.message = safe_text(message, MESSAGE_CHARS, secrets)
        super().__init__(self.message)

    def __str__(self) -> str:
        where = f"{self.provider}: " if self.provider else ""
        status = f" (HTTP {self.status})" if self.status else ""
        return f"{where}{self.kind}{status}: {self.message}"

    def __repr__(self) -> str:
        return (f"ProviderError(kind={self.kind!r}, provider={self.provider!r}, status={self.status!r}, "
                f"retry_after={self.retry_after!r}, retryable={self.retryable!r}, message={self.message!r})")

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "provider": self.provider, "status": self.status,
                "retryAfter": self.retry_after, "retryable": self.retryable, "message": self.message}


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait from ``Retry-After`` (seconds or an HTTP date) or ``retry-after-ms``."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def error_for_status(status: int, message: str, *, provider: str | None = None,
                     headers: Mapping[str, str] | None = None, secrets: Iterable[str | None] = ()) -> ProviderError:
    """Map an HTTP error status to a ProviderError."""
    headers = headers or {}
    retry_after = parse_retry_after(headers)
    if status == 429:
        return ProviderError("rate_limit", message or "rate limited", provider=provider, status=status,
                             retry_after=retry_after, secrets=secrets)
    if status in (401, 403):
        return ProviderError("auth", message or "the key was refused", provider=provider, status=status,
                             secrets=secrets)
    if status == 402:
        return ProviderError("auth", message or "payment required (out of credits?)", provider=provider,
                             status=status, secrets=secrets)
    if status == 408:
        return ProviderError("timeout", message or "request timeout", provider=provider, status=status,
                             secrets=secrets)
    if status >= 500:
        return ProviderError("server", message or "server error", provider=provider, status=status,
                             retry_after=retry_after, secrets=secrets)
    # 404: the model (or path) is not served by this provider; another provider may serve it.
    return ProviderError("client", message or "request refused", provider=provider, status=status,
                         retryable=status == 404, secrets=secrets)


# --------------------------------------------------------------------------- specs

@dataclass(frozen=True)
class Timeouts:
    """Seconds. ``first_byte`` covers connecting, sending and waiting for the first body bytes;
    ``idle`` is the longest silence allowed between two chunks of a stream."""

    connect: float = 5.0
    first_byte: float = 60.0
    idle: float = 60.0
    list_models: float = 5.0


@dataclass(frozen=True)
class ProviderSpec:
    """Where and how to reach one provider. The key is sent only to ``base_url``."""

    name: str
    kind: ProviderKind
    base_url: str
    api_key: str | None = field(default=None, repr=False)
    local: bool = False
    extra_headers: Mapping[str, str] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:
        return (f"ProviderSpec(name={self.name!r}, kind={self.kind!r}, base_url={self.base_url!r}, "
                f"api_key={mask_key(self.api_key)!r}, local={self.local!r}, "
                f"extra_headers={sorted(self.extra_headers)!r})")

    __str__ = __repr__

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret this spec holds (the key, credentials in the base URL), for redaction."""
        return tuple(s for s in (self.api_key, *url_secrets(self.base_url)) if s)


class Provider(abc.ABC):
    """One API family at one base URL. ``stream`` is an async generator: closing it (``aclose``,
    or cancelling the task that iterates it) closes the upstream HTTP response at once."""

    spec: ProviderSpec

    @property
    def name(self) -> str:
        return self.spec.name

    @abc.abstractmethod
    def stream(self, req: ChatRequest) -> AsyncIterator[StreamEvent]:
        """Yield text deltas, then one usage event, then one finish event; raise ProviderError."""

    @abc.abstractmethod
    async def list_models(self) -> list[str]:
        """The model ids the provider serves."""

    @abc.abstractmethod
    async def aclose(self) -> None:
        """Close the pooled HTTP client."""
