"""The incremental SSE parser: chunk boundaries anywhere, line ends, comments, fields, errors."""

from __future__ import annotations

import pytest

from kilo_lsp.providers.base import ProviderError
from kilo_lsp.providers.sse import SSEEvent, SSEParser

STREAM = (
    ": comment to keep the line open\r\n"
    "event: message_start\r\n"
    'data: {"a": 1}\r\n'
    "\r\n"
    "data: line one\n"
    "data: line two\n"
    "id: 7\n"
    "\n"
    'data: {"text": "h\u00e9llo \u2713"}\r'
    "\r"
    "retry: 1500\n"
    "unknownfield: ignored\n"
    "data:no-space\n"
    "\n"
    "data: [DONE]\n\n"
)
EXPECTED = [
    SSEEvent("message_start", '{"a": 1}', None),
    SSEEvent("message", "line one\nline two", "7"),
    SSEEvent("message", '{"text": "h\u00e9llo \u2713"}', "7"),
    SSEEvent("message", "no-space", "7"),
    SSEEvent("message", "[DONE]", "7"),
]


def parse_in_pieces(data: bytes, size: int) -> tuple[list[SSEEvent], SSEParser]:
    parser = SSEParser()
    events: list[SSEEvent] = []
    for i in range(0, len(data), size):
        events += parser.feed(data[i:i + size])
    return events, parser


def test_whole_stream_at_once() -> None:
    events, parser = parse_in_pieces(STREAM.encode(), len(STREAM.encode()))
    assert events == EXPECTED
    assert events[-1].done
    assert parser.retry_ms == 1500
    assert parser.close() == 0


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 13, 64])
def test_every_chunk_boundary_gives_the_same_events(size: int) -> None:
    # size 1 splits every CRLF and every multi-byte UTF-8 character
    events, _ = parse_in_pieces(STREAM.encode(), size)
    assert events == EXPECTED


def test_cr_at_chunk_end_is_not_a_double_line_end() -> None:
    parser = SSEParser()
    assert parser.feed(b"data: x\r") == []
    assert parser.feed(b"\n") == []          # still one line end: no event yet
    assert parser.feed(b"\r\n") == [SSEEvent("message", "x")]


def test_bom_and_str_input() -> None:
    parser = SSEParser()
    assert parser.feed("\ufeffdata: a\n\n") == [SSEEvent("message", "a")]


def test_unterminated_event_is_discarded_at_close() -> None:
    parser = SSEParser()
    assert parser.feed(b'data: {"partial"') == []
    assert parser.close() > 0                # the caller can tell the stream was cut


def test_data_without_prefix_is_a_protocol_error() -> None:
    parser = SSEParser(provider="p")
    with pytest.raises(ProviderError) as err:
        parser.feed(b'{"choices": []}\n\n')
    assert err.value.kind == "protocol"
    assert "without 'data:'" in str(err.value)


def test_oversized_line_is_a_protocol_error() -> None:
    parser = SSEParser(max_line=1000)
    with pytest.raises(ProviderError) as err:
        parser.feed(b"data: " + b"x" * 2000)  # no line end yet: the buffer alone is too long
    assert err.value.kind == "protocol" and "longer than 1000" in str(err.value)
    parser = SSEParser(max_line=1000)
    with pytest.raises(ProviderError):
        parser.feed(b"data: " + b"x" * 2000 + b"\n\n")


def test_invalid_utf8_is_a_protocol_error() -> None:
    with pytest.raises(ProviderError) as err:
        SSEParser().feed(b"data: \xff\xfe\n\n")
    assert err.value.kind == "protocol"


def test_empty_data_and_comment_only_events_are_not_dispatched() -> None:
    parser = SSEParser()
    assert parser.feed(b": ping\n\nevent: x\n\n") == []
    assert parser.feed(b"data\n\n") == [SSEEvent("message", "")]   # "data" alone: empty data line
