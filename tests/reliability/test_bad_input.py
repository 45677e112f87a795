"""Bad input: hypothesis drives every kilo/* request and document sync of one long-lived sidecar.

Each request must get a JSON-RPC answer within ANSWER_WITHIN seconds: a result, or an error whose
code is -32602 (invalid params) with a message naming the method or field. -32603 (an exception
in our code) or silence fails the test. After each batch the sidecar must still be alive and
give the same decision for the same known request as before the batch.
"""

from __future__ import annotations

import json
import queue
import time

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from rawlsp import RawSidecar, frame
from results import record

ANSWER_WITHIN = 1.0                     # seconds, per request
EXAMPLES = 150                          # per property; the figures in RESULTS.md come from these runs
HYP = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
               suppress_health_check=list(HealthCheck))

FOLDER = "file:///ws/fuzz"
DOC = FOLDER + "/main.py"
DOC_TEXT = "def total(xs):\n    return sum(xs)  # 😀 emoji: two UTF-16 units\n\nprint(total([1, 2]))\n"
# The reference request has a session of its own: fuzzed kilo/complete calls route for real.
KNOWN = {"text": "rename the variable xs to items", "dryRun": True, "conversationId": "reference-only",
         "workspaceUri": "file:///ws/reference-only",
         "context": {"activeUri": DOC, "selection": {"start": {"line": 0, "character": 0},
                                                     "end": {"line": 3, "character": 0}}}}

# Valid params for every kilo/* request the fuzzer mutates.
TEMPLATES: dict[str, dict] = {
    "kilo/route": {
        "text": "fix the failing test", "conversationId": "c1", "workspaceUri": FOLDER,
        "turns": [{"role": "user", "content": "hello"}],
        "context": {"activeUri": DOC, "selection": {"start": {"line": 0, "character": 1},
                                                    "end": {"line": 1, "character": 4}},
                    "selectedText": None, "languageId": "python",
                    "diagnostics": [{"message": "E1", "severity": 1, "uri": DOC,
                                     "range": {"start": {"line": 0, "character": 0},
                                               "end": {"line": 0, "character": 1}}}],
                    "diagnosticCounts": {"errors": 1, "warnings": 0}, "referencedUris": [DOC]},
        "tier": "balanced", "dial": "bar", "pin": None, "dryRun": True},
    "kilo/leaderboard": {"taskType": "bugfix", "difficulty": 2},
    "kilo/explain": {"workspaceUri": FOLDER, "conversationId": "c1"},
    "kilo/usage": {"workspaceUri": FOLDER, "conversationId": "c1", "day": "2026-01-31"},
    "kilo/resetOutcomes": {"taskClass": "bugfix:2"},
    "kilo/serverStatus": {},     # no params: anything sent is ignored, and still answered
    "kilo/dashboard": {"page": "decisions", "workspaceUri": FOLDER, "conversationId": "c1"},
    # No keys and no local servers here, so a valid request ends in -32001 (no callable model)
    # without any network traffic; the fuzzer checks every other shape is answered.
    "kilo/complete": {"text": "fix the failing test", "conversationId": "c2", "workspaceUri": FOLDER,
                      "maxTokens": 100, "temperature": 0.5, "system": "be brief", "streamId": "s1",
                      "context": {"activeUri": DOC}},
}
ALLOWED_CODES = {"kilo/complete": {-32001}}
# kilo/setCredentials changes which models are callable (so later decisions), and is covered by
# test_secrets.py and the provider tests.
ELSEWHERE = {"kilo/setCredentials"}

stats = {"requests": 0, "errors": 0, "max_answer_s": 0.0, "notifications": 0}


@pytest.fixture(scope="module", autouse=True)
def keep_figures(lsp):
    """The figures this module measured, kept for RESULTS.md when RELIABILITY_FIGURES is set."""
    yield
    stats["cpu_s"] = lsp.cpu_seconds()
    stats["rss_mb"] = round(lsp.rss_bytes() / 1e6, 1)
    record("bad_input", stats)


@pytest.fixture(scope="module")
def lsp(tmp_path_factory):
    server = RawSidecar(tmp_path_factory.mktemp("home"))
    init = server.initialize(folders=[FOLDER])
    server.announced = init["result"]["capabilities"]["experimental"]["kilo"]["requests"]
    server.notify("textDocument/didOpen", {"textDocument": {"uri": DOC, "languageId": "python", "version": 1,
                                                            "text": DOC_TEXT}})
    server.baseline = answer(server, "kilo/route", KNOWN)["result"]
    yield server
    server.close()


def answer(lsp: RawSidecar, method: str, params, **kw) -> dict:
    start = time.monotonic()
    msg = lsp.request(method, params, timeout=max(ANSWER_WITHIN, 5.0), **kw)
    took = time.monotonic() - start
    stats["requests"] += 1
    stats["max_answer_s"] = max(stats["max_answer_s"], took)
    assert took <= ANSWER_WITHIN, f"{method} answered after {took:.2f} s"
    assert ("result" in msg) != ("error" in msg), msg
    if "error" in msg:
        stats["errors"] += 1
        err = msg["error"]
        allowed = {-32602, -32600} | ALLOWED_CODES.get(method, set())
        assert err["code"] in allowed, f"{method} {json.dumps(params)[:300]} -> {err}"
        assert err["message"] and len(err["message"]) < 2000
    return msg


def still_correct(lsp: RawSidecar) -> None:
    assert lsp.alive()
    card = answer(lsp, "kilo/route", KNOWN)["result"]
    for key in ("model", "taskType", "difficulty", "estimatedInputTokens", "reasonCode"):
        assert card[key] == lsp.baseline[key], key


# ------------------------------------------------------------------------------ strategies
scalars = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-2**70, max_value=2**70),
    st.sampled_from([-1, 0, 2**31, 2**53 + 1, 2**63, -2**63, 10**30]),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([1e308, -1e-308, 0.5, -0.0]),
    st.text(max_size=40), st.sampled_from(["", " ", "\u0000", "\ud800", "😀" * 10, "x" * 5000]),
)
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)), max_leaves=12)
# Keys an attacker might add, including the JSON-RPC envelope's own names.
extra_keys = st.one_of(st.sampled_from(["jsonrpc", "id", "method", "params", "result", "error", "__proto__",
                                        "type_name", "text", "constructor", ""]), st.text(max_size=12))


def paths(obj, prefix=()):
    """Every (path, value) inside a JSON object, for choosing what to mutate."""
    yield prefix, obj
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from paths(v, prefix + (i,))


def set_at(obj, path, value):
    if not path:
        return value
    obj = json.loads(json.dumps(obj))
    target = obj
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE:
        if isinstance(target, dict):
            target.pop(path[-1], None)
        else:
            target.pop(path[-1])
    else:
        target[path[-1]] = value
    return obj


_DELETE = object()


@st.composite
def mutated(draw, template):
    """A valid params object with 1-4 mutations: wrong type, deleted field, extra field."""
    params = json.loads(json.dumps(template))
    for _ in range(draw(st.integers(1, 4))):
        spots = list(paths(params))
        path, value = draw(st.sampled_from(spots))
        action = draw(st.sampled_from(["replace", "delete", "extra", "nest"]))
        if action == "replace" or (action == "delete" and not path):
            params = set_at(params, path, draw(json_values))
        elif action == "delete":
            params = set_at(params, path, _DELETE)
        elif action == "extra" and isinstance(value, dict):
            params = set_at(params, path, {**value, draw(extra_keys): draw(json_values)})
        elif action == "nest":
            params = set_at(params, path, [value] if draw(st.booleans()) else {"value": value})
    return params


# ------------------------------------------------------------------------------ requests
def test_every_announced_request_is_fuzzed(lsp):
    missing = set(lsp.announced) - set(TEMPLATES) - ELSEWHERE
    assert not missing, f"add templates for {missing}"


@pytest.mark.parametrize("method", sorted(TEMPLATES))
def test_templates_are_valid(lsp, method):
    msg = answer(lsp, method, TEMPLATES[method])
    assert "result" in msg or msg["error"]["code"] in ALLOWED_CODES.get(method, ())


@pytest.mark.parametrize("method", sorted(TEMPLATES))
def test_mutated_params_always_get_an_answer(lsp, method):
    @HYP
    @given(params=mutated(TEMPLATES[method]))
    def run(params):
        answer(lsp, method, params)
    run()
    still_correct(lsp)


@pytest.mark.parametrize("method", sorted(TEMPLATES))
def test_any_json_as_params_gets_an_answer(lsp, method):
    @HYP
    @given(params=json_values)
    def run(params):
        answer(lsp, method, params)
    run()
    still_correct(lsp)


@pytest.mark.parametrize("method", sorted(TEMPLATES))
def test_missing_params_member_gets_an_answer(lsp, method):
    """JSON-RPC allows a request without "params"; it must be answered like an empty object."""
    msg = answer(lsp, method, None, omit_params=True)
    if method == "kilo/route":
        assert msg["error"]["code"] == -32602 and "text" in msg["error"]["message"]


@pytest.mark.parametrize("envelope", [
    {"extra": 1}, {"params": {"text": "hi"}, "jsonrpc": "2.0", "unknown": [1, 2]},
])
def test_extra_envelope_members_are_ignored(lsp, envelope):
    msg_id = 10_000 + len(json.dumps(envelope))
    lsp._responses.setdefault(msg_id, __import__("queue").Queue())   # before the answer can arrive
    lsp.write(frame({"jsonrpc": "2.0", "id": msg_id, "method": "kilo/route", "params": {"text": "rename a"},
                     **envelope}))
    msg = lsp.wait(msg_id, ANSWER_WITHIN + 4)
    assert "result" in msg or msg["error"]["code"] == -32602


@pytest.mark.parametrize("depth", [10, 100, 500])
def test_deeply_nested_params(lsp, depth):
    nested: object = "x"
    for i in range(depth):
        nested = [nested] if i % 2 else {"a": nested}
    answer(lsp, "kilo/route", {"text": "fix it", "context": nested, "dryRun": True})
    answer(lsp, "kilo/route", {"text": "fix it", "turns": [{"role": "user", "content": "x", "more": nested}],
                               "dryRun": True})
    still_correct(lsp)


def test_nesting_beyond_the_json_parser_limit_is_answered_and_survived(lsp):
    """Nesting the JSON parser refuses (RecursionError) is a parse error: its id is read from the
    top level of the text and the request is answered -32700; the next request is answered as before."""
    body = '{"jsonrpc":"2.0","id":"deep","method":"kilo/route","params":' + "[" * 100_000 + "]" * 100_000 + "}"
    with lsp._lock:
        lsp._responses["deep"] = queue.Queue()
    lsp.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body.encode()))
    assert lsp.wait("deep", 5)["error"]["code"] == -32700
    still_correct(lsp)


@pytest.mark.parametrize("value", [-1, -2**31, 2**31, 2**53, 2**53 + 1, 2**64, 10**100, 1e308, -1e308, 0.5])
def test_extreme_numbers(lsp, value):
    for method, params in (
        ("kilo/route", {"text": "x", "dryRun": True, "context": {"selection": {
            "start": {"line": value, "character": value}, "end": {"line": value, "character": value}},
            "activeUri": DOC}}),
        ("kilo/route", {"text": "x", "dryRun": True, "context": {"diagnosticCounts": {"errors": value}}}),
        ("kilo/leaderboard", {"difficulty": value}),
    ):
        answer(lsp, method, params)
    still_correct(lsp)


def test_huge_strings(lsp):
    """A 20 MB request text is refused with -32602 (over the limit) or routed; never a hang."""
    over = "a" * 20_000_001
    msg = lsp.request("kilo/route", {"text": over, "dryRun": True}, timeout=10)
    assert msg["error"]["code"] == -32602 and "text: expected `str` of length <= 20000000" in msg["error"]["message"]
    start = time.monotonic()
    msg = lsp.request("kilo/route", {"text": "b" * 5_000_000 + " fix", "dryRun": True}, timeout=10)
    assert "result" in msg, msg
    stats["huge_route_s"] = time.monotonic() - start
    still_correct(lsp)


# ------------------------------------------------------------------------------ document sync
BIG_URI = FOLDER + "/big.txt"


def route_tokens(lsp: RawSidecar, uri: str, end_line: int = 10**6) -> int:
    card = answer(lsp, "kilo/route", {"text": "explain this", "dryRun": True, "context": {
        "activeUri": uri, "selection": {"start": {"line": 0, "character": 0},
                                        "end": {"line": end_line, "character": 0}}}})["result"]
    return card["estimatedInputTokens"]


def test_20_mb_document_open_edit_route_close(lsp):
    line = "x = 1  # 😀 ünïcödé\n"
    text = line * (20_000_000 // len(line.encode()))
    start = time.monotonic()
    lsp.notify("textDocument/didOpen", {"textDocument": {"uri": BIG_URI, "languageId": "python", "version": 1,
                                                         "text": text}})
    # Parsing and storing 20 MB takes the event loop 1-2 s: measured, not held to ANSWER_WITHIN.
    msg = lsp.request("kilo/route", {"text": "explain this", "dryRun": True, "context": {"activeUri": BIG_URI}},
                      timeout=30)
    stats["open_20mb_then_route_s"] = round(time.monotonic() - start, 3)
    assert msg["result"]["estimatedInputTokens"] > 8000       # the document was read (capped at 8k tokens)
    assert stats["open_20mb_then_route_s"] < 10
    assert route_tokens(lsp, BIG_URI, 100) > 200              # and once stored, answers are quick again
    # pygls rebuilds the whole text on every incremental edit: about 1 s per edit of a 20 MB
    # document, on the event loop. Measured and bounded here, not held to ANSWER_WITHIN.
    edits = 3
    start = time.monotonic()
    for v in range(2, 2 + edits):
        lsp.notify("textDocument/didChange", {"textDocument": {"uri": BIG_URI, "version": v}, "contentChanges": [
            {"range": {"start": {"line": 500_000, "character": 0}, "end": {"line": 500_000, "character": 1}},
             "text": "y"}]})
    msg = lsp.request("kilo/route", {"text": "explain this", "dryRun": True, "context": {"activeUri": BIG_URI}},
                      timeout=30)
    assert "result" in msg
    took = time.monotonic() - start
    stats["edit_20mb_s_each"] = round(took / edits, 3)
    assert took < 10 * edits
    lsp.notify("textDocument/didClose", {"textDocument": {"uri": BIG_URI}})
    still_correct(lsp)


positions = st.fixed_dictionaries({"line": st.one_of(st.integers(0, 6), st.integers(-3, 2**40), json_values),
                                   "character": st.one_of(st.integers(0, 70), st.integers(-3, 2**40), json_values)})
edits = st.one_of(
    st.fixed_dictionaries({"range": st.fixed_dictionaries({"start": positions, "end": positions}),
                           "text": st.one_of(st.text(max_size=20), st.sampled_from(["😀", "\ud83d", "\r\n", "\r"]))}),
    st.fixed_dictionaries({"range": json_values, "text": json_values}),
    st.fixed_dictionaries({"text": json_values}),
    json_values,
)


def test_fuzzed_incremental_edits_never_break_document_sync(lsp):
    """Out-of-range, reversed, mid-surrogate and mistyped edits: the sidecar stays up, and after a
    full-text sync the document is exactly what the client says (same estimate as a fresh copy)."""
    uri, ref = FOLDER + "/edited.py", FOLDER + "/reference.py"
    final = "alpha 😀 beta\nsecond line\n" * 40

    @HYP
    @given(batch=st.lists(edits, min_size=1, max_size=6), version=st.one_of(st.integers(-5, 2**40), json_values))
    def run(batch, version):
        lsp.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": 1,
                                                             "text": DOC_TEXT}})
        lsp.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": version},
                                              "contentChanges": batch})
        stats["notifications"] += 2
        route_tokens(lsp, uri)                     # answered, whatever the edits did
        lsp.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 10**6},
                                              "contentChanges": [{"text": final}]})
        assert route_tokens(lsp, uri) == expected
        lsp.notify("textDocument/didClose", {"textDocument": {"uri": uri}})

    lsp.notify("textDocument/didOpen", {"textDocument": {"uri": ref, "languageId": "python", "version": 1,
                                                         "text": final}})
    expected = route_tokens(lsp, ref)
    run()
    still_correct(lsp)


@pytest.mark.parametrize("method", ["textDocument/didOpen", "textDocument/didChange", "textDocument/didClose",
                                    "textDocument/didSave", "workspace/didChangeConfiguration",
                                    "workspace/didChangeWorkspaceFolders"])
def test_mistyped_sync_notifications(lsp, method):
    @settings(HYP, max_examples=EXAMPLES // 3)
    @given(params=json_values)
    def run(params):
        lsp.notify(method, params)
        stats["notifications"] += 1
    run()
    still_correct(lsp)
