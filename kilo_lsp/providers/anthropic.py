"""The Anthropic Messages API, natively: POST {base}/v1/messages with SSE streaming.

Prompt caching: the system prompt, and the last long message before the question (the editor
context), are marked ``cache_control: {type: ephemeral}``; a follow-up within five minutes then
reads them from the cache at a tenth of the input price. Anthropic ignores the mark on blocks
below its minimum cacheable length (1024 to 4096 tokens depending on the model), so marking a
short block costs nothing. Usage is reported with cached tokens included in ``input_tokens``.
"""

from __future__ import annotations

from typing import Any, Iterator

from .base import ChatRequest, ProviderError, StreamEvent, Usage, error_for_status, reported_usage, token_count
from .openai_compat import HTTPProvider
from .sse import SSEEvent

ANTHROPIC_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096
# A message at least this long (about 1000 tokens) is worth a cache breakpoint.
CACHE_MIN_CHARS = 4000

_STOP_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls",
                 "refusal": "content_filter", "pause_turn": "stop"}

# error.type in an error event -> (kind, status it stands for)
_ERROR_TYPES = {"overloaded_error": 529, "api_error": 500, "rate_limit_error": 429,
                "authentication_error": 401, "permission_error": 403, "invalid_request_error": 400,
                "not_found_error": 404, "request_too_large": 413, "billing_error": 402, "timeout_error": 504}

_EPHEMERAL = {"type": "ephemeral"}


def build_body(req: ChatRequest) -> dict[str, Any]:
    """The Messages API body: system prompt apart, alternating user/assistant turns, cache marks."""
    system_parts = [req.system] if req.system else []
    turns: list[dict[str, Any]] = []
    for m in req.messages:
        if m.role == "system":
            system_parts.append(m.content)
            continue
        role = "assistant" if m.role == "assistant" else "user"
        if turns and turns[-1]["role"] == role:        # the API wants alternating roles
            turns[-1]["content"].append({"type": "text", "text": m.content})
        else:
            turns.append({"role": role, "content": [{"type": "text", "text": m.content}]})
    # Cache breakpoint on the last long block before the final block (the question).
    blocks = [b for t in turns for b in t["content"]]
    for block in reversed(blocks[:-1]):
        if len(block["text"]) >= CACHE_MIN_CHARS:
            block["cache_control"] = dict(_EPHEMERAL)
            break
    body: dict[str, Any] = {"model": req.model, "max_tokens": req.max_tokens or DEFAULT_MAX_TOKENS,
                            "messages": turns, "stream": True}
    if system_parts:
        body["system"] = [{"type": "text", "text": "\n\n".join(system_parts), "cache_control": dict(_EPHEMERAL)}]
    if req.temperature is not None:
        body["temperature"] = req.temperature
    return body


class AnthropicProvider(HTTPProvider):
    def _auth_headers(self) -> dict[str, str]:
        headers = {"anthropic-version": ANTHROPIC_VERSION}
        if self.spec.api_key:
            headers["x-api-key"] = self.spec.api_key
        return headers

    def _build(self, req: ChatRequest) -> tuple[str, dict[str, Any], dict[str, str]]:
        return "/v1/messages", build_body(req), {"accept": "text/event-stream"}

    def _handle(self, ev: SSEEvent, state: dict[str, Any]) -> Iterator[StreamEvent]:
        if ev.done:
            state["done"] = True
            return
        obj = self._event_object(ev, "event")
        kind = obj.get("type") or ev.event
        if kind == "message_start":
            u = (obj.get("message") or {}).get("usage") or {}
            state["in"] = token_count(u.get("input_tokens"))
            state["cache_read"] = token_count(u.get("cache_read_input_tokens"))
            state["cache_write"] = token_count(u.get("cache_creation_input_tokens"))
            state["out"] = token_count(u.get("output_tokens"))
            state["usage_seen"] = True
        elif kind == "content_block_delta":
            delta = obj.get("delta") or {}
            if delta.get("type") == "text_delta" and delta.get("text"):
                yield StreamEvent.delta(delta["text"])
        elif kind == "message_delta":
            reason = (obj.get("delta") or {}).get("stop_reason")
            if reason:
                state["finish_reason"] = _STOP_REASONS.get(reason, reason)
            u = obj.get("usage") or {}
            if u.get("output_tokens") is not None:
                state["out"] = token_count(u["output_tokens"])      # cumulative
                state["usage_seen"] = True
            for key, name in (("input_tokens", "in"), ("cache_read_input_tokens", "cache_read"),
                              ("cache_creation_input_tokens", "cache_write")):
                if u.get(key) is not None:
                    state[name] = token_count(u[key])
        elif kind == "message_stop":
            state["done"] = True
        elif kind == "error":
            err = obj.get("error") or {}
            etype = str(err.get("type") or "error")
            message = str(err.get("message") or etype)
            raise error_for_status(_ERROR_TYPES.get(etype, 500), f"{etype}: {message}", provider=self.spec.name,
                                   secrets=self.spec.secrets)
        # ping, content_block_start/stop and unknown events carry nothing we need
        if state.get("usage_seen"):
            state["usage"] = _usage(state.get("in", 0), state.get("cache_read", 0), state.get("cache_write", 0),
                                    state.get("out", 0))
            state["cache_write_tokens"] = state.get("cache_write", 0) or 0

    def _non_stream(self, obj: Any, state: dict[str, Any]) -> Iterator[StreamEvent]:
        if not isinstance(obj, dict) or obj.get("type") != "message":
            raise self._err("protocol", "expected an event stream, got an unexpected JSON body")
        text = "".join(b.get("text", "") for b in obj.get("content") or () if b.get("type") == "text")
        if text:
            state["text"].append(text)
            yield StreamEvent.delta(text)
        reason = obj.get("stop_reason") or "end_turn"
        state["finish_reason"] = _STOP_REASONS.get(reason, reason)
        u = obj.get("usage") or {}
        if not isinstance(u, dict):
            u = {"input_tokens": "?"}
        state["usage"] = _usage(token_count(u.get("input_tokens")), token_count(u.get("cache_read_input_tokens")),
                                token_count(u.get("cache_creation_input_tokens")), token_count(u.get("output_tokens")))

    async def list_models(self) -> list[str]:
        obj = await self._get_json("/v1/models?limit=1000")
        items = obj.get("data") if isinstance(obj, dict) else None
        if not isinstance(items, list):
            raise ProviderError("protocol", "GET /v1/models: no 'data' list", provider=self.spec.name)
        return [str(m["id"]) for m in items if isinstance(m, dict) and m.get("id")]


def _usage(fresh: int | None, cache_read: int | None, cache_write: int | None, out: int | None) -> Usage | None:
    """Anthropic's figures (fresh, cache-read and cache-written prompt tokens) as a Usage; None (the
    estimate is charged) when one is not a count in range."""
    if None in (fresh, cache_read, cache_write, out):
        return None
    return reported_usage(fresh + cache_read + cache_write, cache_read, out)
