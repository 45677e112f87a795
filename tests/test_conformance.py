"""Conformance fixtures (tests/conformance/*.json) against the real sidecar, over pytest-lsp.

The same fixtures run over Node vscode-jsonrpc (test_editors_node.py) and headless Neovim
(test_editors_neovim.py); tests/conformance/README.md describes the format.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from lsp_harness import sidecar
from pygls.exceptions import JsonRpcException

import jsonschema

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = sorted((ROOT / "tests" / "conformance").glob("*.json"))
SCHEMA = json.loads((ROOT / "editors" / "schema" / "kilo-protocol.schema.json").read_text())
MISSING = object()


def at(value: Any, path: str) -> Any:
    if path == "":
        return value
    for part in path.split("."):
        if isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        else:
            return MISSING
    return value


def resolve(expected: Any, saved: dict[str, Any]) -> Any:
    if isinstance(expected, str) and expected.startswith("$"):
        return saved[expected[1:]]
    return expected


JSON_TYPES = {
    "string": lambda v: isinstance(v, str), "boolean": lambda v: isinstance(v, bool), "null": lambda v: v is None,
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "array": lambda v: isinstance(v, list), "object": lambda v: isinstance(v, dict),
}


def check(expect: dict[str, Any], value: Any, error: Exception | None, saved: dict[str, Any],
          method: str | None) -> list[str]:
    """Failures of one step's expectations (empty list: the step passed)."""
    if "error" in expect:
        want = expect["error"]
        if error is None:
            return [f"expected error {want['code']}, got result {json.dumps(value)[:200]}"]
        code = getattr(error, "code", None)
        fails = [] if code == want["code"] else [f"error code {code}, expected {want['code']}: {error}"]
        if want.get("messageContains") and want["messageContains"] not in str(error):
            fails.append(f"error message {str(error)!r} does not contain {want['messageContains']!r}")
        return fails
    if error is not None:
        return [f"unexpected error: {error!r}"]
    fails = []
    if expect.get("null") and value is not None:
        fails.append(f"expected null, got {json.dumps(value)[:200]}")
    for path, want in expect.get("equals", {}).items():
        got, want = at(value, path), resolve(want, saved)
        if got != want:
            fails.append(f"{path}: expected {want!r}, got {'(missing)' if got is MISSING else repr(got)}")
    for path in expect.get("has", []):
        if at(value, path) in (MISSING, None):
            fails.append(f"{path}: missing")
    for path, prefix in expect.get("startsWith", {}).items():
        got = at(value, path)
        if not (isinstance(got, str) and got.startswith(prefix)):
            fails.append(f"{path}: {got!r} does not start with {prefix!r}")
    for path, item in expect.get("contains", {}).items():
        got = at(value, path)
        if not (isinstance(got, (str, list)) and resolve(item, saved) in got):
            fails.append(f"{path}: {got!r} does not contain {item!r}")
    for path, n in expect.get("minItems", {}).items():
        got = at(value, path)
        if not (isinstance(got, list) and len(got) >= n):
            fails.append(f"{path}: expected at least {n} items")
    for path, options in expect.get("oneOf", {}).items():
        if at(value, path) not in options:
            fails.append(f"{path}: {at(value, path)!r} not one of {options!r}")
    for path, kind in expect.get("type", {}).items():
        got = at(value, path)
        if got is MISSING or not JSON_TYPES[kind](got):
            fails.append(f"{path}: expected {kind}, got {'(missing)' if got is MISSING else type(got).__name__}")
    if expect.get("schema") and method:
        validator = jsonschema.Draft202012Validator({**SCHEMA, **SCHEMA["x-methods"][method]["result"]})
        fails += [f"schema: {e.json_path}: {e.message}" for e in validator.iter_errors(value)]
    return fails


def matches(params: Any, match: dict[str, Any], saved: dict[str, Any]) -> bool:
    return all(at(params, k) == resolve(v, saved) for k, v in match.items())


async def play(client, init_result: dict[str, Any], case: dict[str, Any]) -> list[str]:
    saved: dict[str, Any] = {}
    for i, step in enumerate(case["steps"]):
        value, error, method = None, None, None
        if step.get("initializeResult"):
            value = init_result
        elif "request" in step:
            method = step["request"]
            try:
                value = await asyncio.wait_for(client.protocol.send_request_async(method, step.get("params", {})), 10)
            except JsonRpcException as exc:
                error = exc
        elif "notify" in step:
            client.protocol.notify(step["notify"], step.get("params", {}))
            continue
        elif "awaitNotification" in step:
            seen = client.notes(step["awaitNotification"])
            for _ in range(250):
                found = [p for p in seen if matches(p, step.get("match", {}), saved)]
                if found:
                    value = found[-1]
                    break
                await asyncio.sleep(0.02)
            else:
                return [f"step {i}: no {step['awaitNotification']} notification matching {step.get('match')}"]
        fails = check(step.get("expect", {}), value, error, saved, method)
        if fails:
            return [f"step {i} ({step.get('request') or step.get('awaitNotification') or 'initialize'}): {f}"
                    for f in fails]
        for name, path in step.get("save", {}).items():
            saved[name] = at(value, path)
    return []


def test_fixtures_exist():
    assert len(FIXTURES) >= 5
    for path in FIXTURES:
        doc = json.loads(path.read_text())
        assert doc["cases"], path.name


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared_sidecar(tmp_path_factory):
    """One sidecar for every fixture file, as the Node and Neovim runners do (fixtures use distinct sessions)."""
    async with sidecar(tmp_path_factory.mktemp("conformance-home")) as client:
        client.notes = lambda method: client.statuses if method == "kilo/status" else []
        yield client


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("fixture", FIXTURES, ids=[p.stem for p in FIXTURES])
async def test_conformance(fixture: Path, shared_sidecar):
    doc = json.loads(fixture.read_text())
    init = shared_sidecar.protocol._converter.unstructure(shared_sidecar.init_result)
    failures = []
    for case in doc["cases"]:
        failures += [f"{case['name']}: {f}" for f in await play(shared_sidecar, init, case)]
    assert not failures, "\n".join(failures)


def test_matcher_reports_each_kind_of_mismatch():
    """The runner can fail: every check kind rejects a wrong answer (and accepts a right one)."""
    value = {"a": {"b": [1, "x"]}, "s": "lb-1", "n": None}
    ok = {"equals": {"a.b.0": 1, "a.b.1": "$v"}, "has": ["a.b"], "startsWith": {"s": "lb-"},
          "contains": {"a.b": "x", "s": "b-"}, "minItems": {"a.b": 2}, "oneOf": {"n": [None, 1]},
          "type": {"a": "object", "a.b.0": "integer", "n": "null"}}
    assert check(ok, value, None, {"v": "x"}, None) == []
    bad = {"equals": {"a.b.0": 2}, "has": ["n", "zz"], "startsWith": {"s": "x"}, "contains": {"a.b": "y"},
           "minItems": {"a.b": 3}, "oneOf": {"n": [1]}, "type": {"a": "array"}, "null": True}
    assert len(check(bad, value, None, {}, None)) == 9
    assert check({"error": {"code": -32602}}, value, None, {}, None)
    assert check({}, None, RuntimeError("boom"), {}, None)
    assert check({"schema": True}, {"decisionId": 1}, None, {}, "kilo/route")
