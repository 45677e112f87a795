"""The kilo/route fast paths give what the reference code gives.

Generated structurers and unstructurers against the generic walk in wire.py (on fuzzed params,
valid and invalid: a failure must name the same field path), the split stack-trace test against the
one regex, the prefix line split against ``splitlines``, and the stdin pipe reader against framing
faults.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import random
import re

import pytest

from kilo_lsp import context, wire
from kilo_lsp.config import Settings
from kilo_lsp.protocol import (Candidate, CostView, DecisionCard, EditorContext, ExplainParams,
                               LeaderboardParams, RouteParams, SignalView)
from kilo_lsp.server import FramedInput, PipeReader
from kilo_lsp.wire import ParamError, structure_dataclass


def valid_route(rnd: random.Random) -> dict:
    def pos():
        return {"line": rnd.randrange(0, 500), "character": rnd.randrange(0, 80)}
    params: dict = {"text": rnd.choice(["fix it", "rename x to y", "  plan  "])}
    if rnd.random() < 0.8:
        params["turns"] = [{"role": rnd.choice(["user", "assistant", "system"]), "content": "t" * rnd.randrange(0, 50)}
                           for _ in range(rnd.randrange(0, 6))]
    if rnd.random() < 0.5:
        params["conversationId"] = rnd.choice(["a", "b", None])
    if rnd.random() < 0.3:
        params["conversation_id"] = "snake"          # the field name is accepted too
    for key, values in (("tier", ["efficient", "balanced", "frontier", "free", None]), ("dial", ["bill", "bar", None]),
                        ("pin", ["m", None]), ("dryRun", [True, False]), ("workspaceUri", ["file:///w", None])):
        if rnd.random() < 0.3:
            params[key] = rnd.choice(values)
    if rnd.random() < 0.8:
        ctx: dict = {}
        if rnd.random() < 0.7:
            ctx["activeUri"] = "file:///w/a.py"
        if rnd.random() < 0.6:
            ctx["selection"] = {"start": pos(), "end": pos()}
        if rnd.random() < 0.5:
            ctx["diagnostics"] = [{"message": f"m{i}", "severity": rnd.randrange(1, 5),
                                   **({"uri": "file:///w/a.py"} if rnd.random() < 0.5 else {}),
                                   **({"range": {"start": pos(), "end": pos()}} if rnd.random() < 0.5 else {})}
                                  for i in range(rnd.randrange(0, 5))]
        if rnd.random() < 0.3:
            ctx["diagnosticCounts"] = {"errors": rnd.randrange(0, 9), "warnings": rnd.randrange(0, 9)}
        if rnd.random() < 0.4:
            ctx["referencedUris"] = [f"file:///w/{i}.py" for i in range(rnd.randrange(0, 4))]
        for key in ("selectedText", "languageId"):
            if rnd.random() < 0.3:
                ctx[key] = rnd.choice(["x", None])
        params["context"] = ctx
    return params


BAD_VALUES = [None, 1, -1, 2.0, 2.5, 2**60, True, "x", "", [], {}, [1], {"a": 1}, float("nan")]


def mutate(rnd: random.Random, params: dict) -> dict:
    """Replace one value somewhere in the params with something of another type."""
    out = copy.deepcopy(params)
    slots = []

    def walk(node):
        if isinstance(node, dict):
            for k, v in node.items():
                slots.append((node, k))
                walk(v)
        elif isinstance(node, list):
            for i, v in enumerate(node):
                slots.append((node, i))
                walk(v)
    walk(out)
    if not slots:
        return out
    node, key = rnd.choice(slots)
    node[key] = rnd.choice(BAD_VALUES)
    if rnd.random() < 0.2 and isinstance(node, dict):
        del node[key]
    return out


def both(value, cls):
    """(result or error text) of the generated structurer and of the generic walk."""
    def run(fn):
        try:
            return "ok", fn(value, cls)
        except ParamError as exc:
            return "error", str(exc)
    return run(structure_dataclass), run(wire._structure_dataclass_generic)


@pytest.mark.parametrize("seed", range(4))
def test_generated_structurer_equals_the_generic_walk(seed):
    rnd = random.Random(seed)
    for _ in range(300):
        params = valid_route(rnd)
        fast, slow = both(params, RouteParams)
        assert fast == slow
        bad = mutate(rnd, params)
        fast, slow = both(bad, RouteParams)
        assert fast == slow, bad
    for cls in (ExplainParams, LeaderboardParams):
        for value in ({}, None, {"workspaceUri": 3}, {"difficulty": 2.0}, {"taskType": None}, [], "x"):
            assert both(value, cls)[0] == both(value, cls)[1]


def test_errors_name_the_field_path():
    params = {"text": "fix", "context": {"diagnostics": [{"message": "m"}, {"message": "m",
              "range": {"start": {"line": 1, "character": 0}, "end": {"line": "x", "character": 0}}}]}}
    with pytest.raises(ParamError) as err:
        structure_dataclass(params, RouteParams)
    assert err.value.field == "context.diagnostics[1].range.end.line"
    with pytest.raises(ParamError) as err:
        structure_dataclass({"text": "fix", "context": {"selection": {"start": {"line": -1, "character": 0},
                                                                      "end": {"line": 0, "character": 0}}}}, RouteParams)
    assert err.value.field == "context.selection.start"
    with pytest.raises(ParamError) as err:
        structure_dataclass({"turns": []}, RouteParams)
    assert err.value.field == "text"


def test_generated_structurer_on_settings_sections():
    """config.py structures its sections with the same function: dicts, floats and nested types."""
    data = wire.unstructure(Settings.defaults())
    for section, value in data.items():
        cls = type(getattr(Settings.defaults(), section, None))
        if not wire.dataclasses.is_dataclass(cls):
            continue
        fast, slow = both(value, cls)
        assert fast == slow


def sample_card(rnd: random.Random) -> DecisionCard:
    cands = [Candidate(model=f"m{i}", provider=rnd.choice([None, "p"]), callable=rnd.random() < 0.5,
                       accuracy=rnd.choice([None, rnd.random()]), ci_low=rnd.random(), ci_high=None, samples=i,
                       vs_balanced_low=rnd.choice([None, -rnd.random()]), clears_bar=True,
                       estimated_cost_usd=rnd.random() / 3, expected_cost_per_task_usd=None, note="")
             for i in range(rnd.randrange(0, 4))]
    return DecisionCard(
        decision_id="d-1", model="m", model_name="M", provider=None, provider_model_id=None, callable=False,
        what_if=True, tier="balanced", dial="bill", task_type="t", difficulty=2, confidence=rnd.random(),
        type_confidence=1 / 3, difficulty_confidence=1.0, reason_code="r", reason="why", sticky=False,
        escalated=False, fallback=False, task_class="c", candidates=cands, estimated_input_tokens=10,
        estimated_output_tokens=20, estimated_cost_usd=0.1 + 0.2, balanced=CostView("b", 1 / 7),
        frontier=CostView("f", 2), leaderboard_version="lb-1", classifier="x",
        signals=[SignalView("s", "d", rnd.random())], workspace="w", conversation_id="c", turn=1)


def test_generated_unstructurer_equals_the_generic_walk():
    rnd = random.Random(7)
    for _ in range(50):
        card = sample_card(rnd)
        out = wire.unstructure(card)
        assert out == wire._unstructure_generic(card)
        assert json.dumps(out) == json.dumps(wire._unstructure_generic(card))
    odd = {"a": (1, 2.123456789123), 3: [None, {"b": 1.5}]}
    assert wire.unstructure(odd) == wire._unstructure_generic(odd)
    assert wire.unstructure(Settings.defaults()) == wire._unstructure_generic(Settings.defaults())


# -- context -----------------------------------------------------------------------------------
#: What ``context.has_stack_trace`` answers, as one regex: the plain form its split test is pinned to.
STACK_TRACE = re.compile(
    r"Traceback \(most recent call last\)|^\s+at [\w.$<>]+\(.*:\d+\)|^\s+at .+:\d+:\d+\)?$"
    r"|File \"[^\"]+\", line \d+|panicked at|Exception in thread|^\w+(Error|Exception): ",
    re.MULTILINE,
)
TRACE_PARTS = ["Traceback (most recent call last)", "  File \"a.py\", line 3, in f", "File \"x\", line", "panicked at",
               "Exception in thread \"main\"", "ValueError: bad", "KeyError: 'x'", "MyException: boom", "Error: no",
               "    at com.x.Y.run(Y.java:10)", "    at run (app.js:1:2)", "\tat f (x:1:2)", "at f (x:1:2)", "what at ",
               "plain words", "", "\r\n", "\n", "  ", "x" * 30, "Error", "Exception", "\u2028at g (h:1:1)"]


def test_split_stack_trace_test_equals_the_one_regex():
    rnd = random.Random(3)
    for _ in range(3000):
        text = rnd.choice(["", "\n", " "]).join(rnd.choice(TRACE_PARTS) for _ in range(rnd.randrange(0, 6)))
        expected = bool(text) and STACK_TRACE.search(text[:200_000]) is not None
        assert context.has_stack_trace(text) == expected, repr(text)


def test_prefix_line_split_equals_splitlines():
    rnd = random.Random(5)
    breaks = ["\n", "\r\n", "\r", "\u2028", "\x0c", ""]
    for _ in range(2000):
        source = "".join(rnd.choice(["ab", "c" * rnd.randrange(0, 200), *breaks]) for _ in range(rnd.randrange(0, 80)))
        last = rnd.randrange(0, 60)
        assert context._lines_upto(source, last) == source.splitlines(keepends=True)[:last + 1]


def test_selection_text_of_a_long_document():
    source = "".join(f"line {i}\r\n" if i % 3 else f"line {i}\n" for i in range(20_000))
    params = RouteParams(text="x", context=structure_dataclass(
        {"activeUri": "u", "selection": {"start": {"line": 15_000, "character": 2}, "end": {"line": 14_998, "character": 0}}},
        EditorContext))
    lines = source.splitlines(keepends=True)
    assert context.selection_text(params, {"u": source}.get) == "".join(lines[14_998:15_000]) + lines[15_000][:2]


# -- the stdin pipe reader ---------------------------------------------------------------------
async def read_all(data: bytes, chunk: int) -> list[bytes]:
    """Feed ``data`` through a pipe in chunks; return what readline/readexactly give, pygls-style."""
    rfd, wfd = os.pipe()
    reader = await PipeReader.open(os.fdopen(rfd, "rb", buffering=0))
    assert reader is not None

    async def write():
        for i in range(0, len(data), chunk):
            os.write(wfd, data[i:i + chunk])
            await asyncio.sleep(0)
        os.close(wfd)
    writer = asyncio.ensure_future(write())
    out, length = [], 0
    pattern = re.compile(rb"^Content-Length: (\d+)\r\n$")
    while True:
        header = await reader.readline()
        if not header:
            break
        if not length and (m := pattern.fullmatch(header)):
            length = int(m.group(1))
        if length and not header.strip():
            out.append(await reader.readexactly(length))
            length = 0
    await writer
    reader.close()
    return out


def framed(body: bytes) -> bytes:
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


@pytest.mark.parametrize("chunk", [1, 7, 4096])
def test_pipe_reader_frames_and_resynchronises(chunk):
    good = [json.dumps({"n": i, "pad": "x" * (i * 100)}).encode() for i in range(5)]
    data = (framed(good[0]) + b"\x00\xffnoise" + framed(good[1])          # noise glued to a header
            + b"Content-Length: 5\r\n\r\n{\"a\":" + framed(good[2])      # a truncated body
            + framed(good[3]) + framed(good[4]))
    got = asyncio.run(read_all(data, chunk))
    assert got[0] == good[0] and got[1] == good[1]
    assert got[-2:] == good[3:]


def test_pipe_reader_refuses_a_huge_body():
    data = b"Content-Length: %d\r\n\r\n" % (FramedInput.MAX_BODY + 1) + framed(b"{}")
    assert asyncio.run(read_all(data, 4096)) == [b"\0", b"{}"]


def test_pipe_reader_is_not_used_for_a_regular_file(tmp_path):
    path = tmp_path / "in"
    path.write_bytes(b"")

    async def open_file():
        with open(path, "rb") as fh:
            return await PipeReader.open(fh)
    assert asyncio.run(open_file()) is None


def test_pipe_reader_lets_started_tasks_run_before_the_next_message():
    """As with pygls' threaded reader: what an async handler does before its first await happens
    before the next message (already in the buffer) is handled."""
    async def scenario():
        rfd, wfd = os.pipe()
        reader = await PipeReader.open(os.fdopen(rfd, "rb", buffering=0))
        os.write(wfd, framed(b"{}") + framed(b"[]"))
        seen = []

        async def handler():
            seen.append("task")
        for _ in range(2):
            await reader.readline()
            await reader.readline()
            seen.append(await reader.readexactly(2))
            asyncio.ensure_future(handler())
        os.close(wfd)
        reader.close()
        return seen
    assert asyncio.run(scenario())[:3] == [b"{}", "task", b"[]"]
