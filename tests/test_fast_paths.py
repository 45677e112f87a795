"""The kilo/route input paths: structuring, stack traces, selections and stdin framing.

Params structured from fuzzed JSON (valid ones round-trip; a bad value is named by its field path),
the split stack-trace test against the one regex, the prefix line split against ``splitlines``, and
the stdin pipe reader against framing faults.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import random
import re
import threading

import pytest

import msgspec

from kilo_lsp import context
from kilo_lsp.lsp.stdin import MAX_BODY, MAX_HEADER_LINE, FramedInput, PipeReader, serve
from kilo_lsp.protocol import EditorContext, RouteParams
from kilo_lsp.validation import describe, error_path


def valid_route(rnd: random.Random) -> dict:
    def pos():
        return {"line": rnd.randrange(0, 500), "character": rnd.randrange(0, 80)}
    params: dict = {"text": rnd.choice(["fix it", "rename x to y", "  plan  "])}
    if rnd.random() < 0.8:
        params["turns"] = [{"role": rnd.choice(["user", "assistant", "system"]), "content": "t" * rnd.randrange(0, 50)}
                           for _ in range(rnd.randrange(0, 6))]
    if rnd.random() < 0.5:
        params["conversationId"] = rnd.choice(["a", "b", None])
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


def mutate(rnd: random.Random, params: dict) -> tuple[dict, str]:
    """Replace (or delete) one value somewhere in the params; returns the params and the value's path."""
    out = copy.deepcopy(params)
    slots = []

    def walk(node, path):
        if isinstance(node, dict):
            for k, v in node.items():
                slots.append((node, k, f"{path}.{k}" if path else k))
                walk(v, f"{path}.{k}" if path else k)
        elif isinstance(node, list):
            for i, v in enumerate(node):
                slots.append((node, i, f"{path}[{i}]"))
                walk(v, f"{path}[{i}]")
    walk(out, "")
    if not slots:
        return out, ""
    node, key, path = rnd.choice(slots)
    node[key] = rnd.choice(BAD_VALUES)
    if rnd.random() < 0.2 and isinstance(node, dict):
        del node[key]
    return out, path


@pytest.mark.parametrize("seed", range(4))
def test_valid_params_structure_and_round_trip(seed):
    rnd = random.Random(seed)
    for _ in range(300):
        params = msgspec.convert(valid_route(rnd), RouteParams)
        assert msgspec.convert(msgspec.to_builtins(params), RouteParams) == params


@pytest.mark.parametrize("seed", range(4))
def test_a_bad_value_is_named_by_its_path(seed):
    rnd = random.Random(seed)
    named = 0
    for _ in range(500):
        params, path = mutate(rnd, valid_route(rnd))
        try:
            msgspec.convert(params, RouteParams)
        except msgspec.ValidationError as exc:
            where, _ = error_path(exc, RouteParams)
            # the error is at the value that changed, inside it (an object given for an object, missing
            # a member), or at the object that lost a required member
            inner, outer = sorted((path, where), key=len, reverse=True)
            assert inner == outer or inner.startswith((outer + ".", outer + "[")), (path, str(exc))
            named += 1
    assert named > 100


def test_errors_name_the_field_path():
    bad = {"text": "fix", "context": {"selection": {"start": {"line": "x", "character": 0},
                                                    "end": {"line": 0, "character": 0}}}}
    with pytest.raises(msgspec.ValidationError) as err:
        msgspec.convert(bad, RouteParams)
    assert describe(err.value, RouteParams) == "context.selection.start.line: expected `int`, got `str`"
    with pytest.raises(msgspec.ValidationError) as err:
        msgspec.convert({"text": "fix", "tier": "gold"}, RouteParams)
    assert describe(err.value, RouteParams).startswith("tier: expected one of 'balanced'")
    with pytest.raises(msgspec.ValidationError) as err:
        msgspec.convert({"turns": []}, RouteParams)
    assert describe(err.value, RouteParams) == "text: missing required field"
    with pytest.raises(msgspec.ValidationError) as err:
        msgspec.convert({"text": "  "}, RouteParams)
    assert describe(err.value, RouteParams) == "text: must not be empty"


# -- context -----------------------------------------------------------------------------------
#: What ``context.has_stack_trace`` answers, as one regex: the plain form its split test is pinned to.
STACK_TRACE = re.compile(
    r"Traceback \(most recent call last\)|panicked at|Exception in thread|Caused by: |Unhandled exception"
    r"|WARNING: DATA RACE|Segmentation fault|File \"[^\"]+\", line \d+"
    r"|^\s+at [\w.$<>]+\(.*:\d+\)|^\s+at .+:\d+:\d+\)?$|^\s+at .+ in .+:line \d+$"
    r"|^\s*(?:Uncaught )?[\w.]*Error: |^\s*(?:Unhandled exception\. )?[\w.]*Exception: "
    r"|^goroutine \d+ \[|^panic: |^error\[E\d{4}\]|^\s*--> \S+:\d+:\d+|error TS\d+:"
    r"|^\S+?:\d+(?::\d+)?:? (?:fatal )?error\b|^FAILED \S+::|^E {3,}\S|:\d+:in `|(?:PHP )?Fatal error: "
    r"|SQLSTATE\[|SQL state: |ERROR: \w*Sanitizer|Exception caught by|FAILURE: Build failed|^e: \S+:\d+:\d+ "
    r"|\.go:\d+(?::\d+)?: |^\S+: line \d+: |error CS\d{4}:|\.tsx?\(\d{4}\)|^error: |^ERROR: |\[ERROR\]|npm ERR!"
    r"|undefined reference to|APPLICATION FAILED TO START",
    re.MULTILINE,
)
TRACE_PARTS = ["Traceback (most recent call last)", "  File \"a.py\", line 3, in f", "File \"x\", line", "panicked at",
               "Exception in thread \"main\"", "ValueError: bad", "KeyError: 'x'", "MyException: boom", "Error: no",
               "    at com.x.Y.run(Y.java:10)", "    at run (app.js:1:2)", "\tat f (x:1:2)", "at f (x:1:2)", "what at ",
               "plain words", "", "\r\n", "\n", "  ", "x" * 30, "Error", "Exception", "\u2028at g (h:1:1)",
               "goroutine 7 [running]:", "panic: runtime error", "error[E0502]: cannot borrow", "  --> src/a.rs:3:9",
               "src/x.ts(4,2): error TS2345: bad", "main.c:10:5: error: x", "a.go:3: error", "FAILED t/a.py::t - x",
               "E       assert 1 == 2", "E  x", "app.rb:12:in `go'", "PHP Fatal error: x", "Caused by: java.lang.X",
               "   at A.B() in C:\\a.cs:line 42", "Uncaught TypeError: x", "  System.InvalidOperationException: y",
               "Unhandled exception. System.X: y", "WARNING: DATA RACE", "Segmentation fault (core dumped)",
               "error: x", "in 'that' at 3 ", "SQLSTATE[23000]: x", "SQL state: 42803", "==1==ERROR: AddressSanitizer: x",
               "Exception caught by rendering", "FAILURE: Build failed with", "e: file:///a.kt:3:4 x", "e: x",
               "./h/u.go:47:2: declared", "a.go:3 x", "./d.sh: line 14: [: x", "line 3: x",
               "a.cs(2,3): error CS8618: x", "api.ts(2339)", "x.tsx(1234)", "ERROR: Could not", "[ERROR] Failed",
               "npm ERR! code", "undefined reference to `f'", "APPLICATION FAILED TO START", "my error: here"]


def test_split_stack_trace_test_equals_the_one_regex():
    rnd = random.Random(3)
    for _ in range(6000):
        text = rnd.choice(["", "\n", " "]).join(rnd.choice(TRACE_PARTS) for _ in range(rnd.randrange(0, 6)))
        expected = bool(text) and STACK_TRACE.search(text[:200_000]) is not None
        assert context.has_stack_trace(text) == expected, repr(text)


PASTES = {
    "go panic": "panic: runtime error: invalid memory address or nil pointer dereference\n"
                "[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x4a1b2c]\n\n"
                "goroutine 1 [running]:\nmain.(*Store).Get(...)\n\t/app/store.go:42 +0x1c",
    "rust borrow": "error[E0502]: cannot borrow `v` as mutable because it is also borrowed as immutable\n"
                   " --> src/main.rs:5:5\n  |\n4 |     let first = &v[0];",
    "tsc": "src/api.ts:12:7 - error TS2322: Type 'string' is not assignable to type 'number'.",
    "pytest": "FAILED tests/test_cart.py::test_total - assert 10 == 12\n"
              "E       assert 10 == 12\nE        +  where 10 = total([5, 5])",
    "dotnet": "Unhandled exception. System.NullReferenceException: Object reference not set to an instance.\n"
              "   at Shop.Cart.Total() in /src/Cart.cs:line 42",
    "node": "TypeError: Cannot read properties of undefined (reading 'map')\n"
            "    at ProductList (webpack-internal:///./src/List.jsx:14:22)",
    "gcc": "src/parser.cpp:88:12: error: no matching function for call to 'parse(int)'",
    "ruby": "NoMethodError: undefined method `name' for nil:NilClass\n  app/models/user.rb:12:in `display_name'",
    "jvm": "Exception in thread \"main\" java.lang.IllegalStateException: closed\n\tat com.acme.Db.query(Db.java:77)",
}


@pytest.mark.parametrize("kind", sorted(PASTES))
def test_pasted_errors_of_every_ecosystem_are_seen(kind):
    assert context.has_stack_trace("this fails:\n" + PASTES[kind])


@pytest.mark.parametrize("text", ["that's at line 3 of the file", "rename error_count to errors",
                                  "the panic button component", "add an Exception handler for timeouts",
                                  "E2E tests are flaky", "what does FAILED mean in the CI summary?"])
def test_prose_about_errors_is_not_a_trace(text):
    assert not context.has_stack_trace(text)


def test_prefix_line_split_equals_splitlines():
    rnd = random.Random(5)
    breaks = ["\n", "\r\n", "\r", "\u2028", "\x0c", ""]
    for _ in range(2000):
        source = "".join(rnd.choice(["ab", "c" * rnd.randrange(0, 200), *breaks]) for _ in range(rnd.randrange(0, 80)))
        last = rnd.randrange(0, 60)
        assert context._lines_upto(source, last) == source.splitlines(keepends=True)[:last + 1]


def test_selection_text_of_a_long_document():
    source = "".join(f"line {i}\r\n" if i % 3 else f"line {i}\n" for i in range(20_000))
    params = RouteParams(text="x", context=msgspec.convert(
        {"activeUri": "u", "selection": {"start": {"line": 15_000, "character": 2}, "end": {"line": 14_998, "character": 0}}},
        EditorContext))
    lines = source.splitlines(keepends=True)
    assert context.selection_text(params, {"u": source}.get) == "".join(lines[14_998:15_000]) + lines[15_000][:2]


# -- the stdin pipe reader ---------------------------------------------------------------------
class Frames:
    """What the read loop hands the protocol: bodies, and the sizes of refused messages."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.refused: list[int] = []

    def handle_frame(self, body: bytes) -> None:
        self.bodies.append(body)

    def refuse_frame(self, size: int, head: bytes) -> None:
        self.refused.append(size)


async def read_all(data: bytes, chunk: int, frames: Frames | None = None) -> list[bytes]:
    """Feed ``data`` through a pipe in chunks; return the bodies the sidecar's read loop hands on."""
    rfd, wfd = os.pipe()
    reader = await PipeReader.open(os.fdopen(rfd, "rb", buffering=0))
    assert reader is not None

    async def write():
        for i in range(0, len(data), chunk):
            os.write(wfd, data[i:i + chunk])
            await asyncio.sleep(0)
        os.close(wfd)
    writer = asyncio.ensure_future(write())
    frames = frames if frames is not None else Frames()
    await serve(reader, frames, threading.Event())
    await writer
    reader.close()
    return frames.bodies


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
    data = b"Content-Length: %d\r\n\r\n" % (MAX_BODY + 1) + framed(b"{}")
    frames = Frames()
    assert asyncio.run(read_all(data, 4096, frames)) == [b"{}"]
    assert frames.refused == [MAX_BODY + 1]


def test_an_endless_header_line_is_dropped_as_it_comes():
    """10 MB without a line end, then a message: the buffer never holds the noise, the message is read."""
    async def scenario():
        rfd, wfd = os.pipe()
        reader = await PipeReader.open(os.fdopen(rfd, "rb", buffering=0))
        peak = 0

        async def write():
            for _ in range(640):                 # 10 MB, in pieces a pipe takes without blocking
                os.write(wfd, b"x" * 16384)
                await asyncio.sleep(0)
            os.write(wfd, b"\r\n" + framed(b"{}"))
            os.close(wfd)

        async def watch():
            nonlocal peak
            while True:
                peak = max(peak, len(reader._buf))
                await asyncio.sleep(0)
        writer, watcher = asyncio.ensure_future(write()), asyncio.ensure_future(watch())
        frames = Frames()
        await serve(reader, frames, threading.Event())
        await writer
        watcher.cancel()
        reader.close()
        return frames.bodies, peak
    bodies, peak = asyncio.run(scenario())
    assert bodies == [b"{}"]
    assert peak < 4 * 65536 + MAX_HEADER_LINE


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
