"""Lifecycle, capabilities, document sync and error answers, through the real process."""

import asyncio
import sys
from pathlib import Path

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from lsp_harness import request, sidecar


async def test_initialize_announces_kilo_protocol(tmp_path):
    async with sidecar(tmp_path) as client:
        result = client.init_result
        assert result.server_info.name == "kilo-lsp"
        kilo = result.capabilities.experimental["kilo"]
        assert kilo["protocolVersion"] == "1.0"
        assert "kilo/route" in kilo["requests"]
        assert result.capabilities.text_document_sync.change == types.TextDocumentSyncKind.Incremental


async def test_incremental_edits_reach_the_router(tmp_path):
    uri = "file:///ws/app.py"
    async with sidecar(tmp_path) as client:
        client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(
            uri=uri, language_id="python", version=1, text="def foo():\n    return 1\n")))
        client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[types.TextDocumentContentChangePartial(
                range=types.Range(types.Position(0, 4), types.Position(0, 7)), text="compute_total")]))
        # The selection is read from the server's copy of the document, so the edit must be there.
        card = await request(client, "kilo/route", {
            "text": "add a docstring to this", "context": {
                "activeUri": uri, "selection": {"start": {"line": 0, "character": 0},
                                                "end": {"line": 0, "character": 30}}}})
        assert card["estimatedInputTokens"] > 0
        assert any(s["name"].startswith("selection") for s in card["signals"])  # a one-line selection was seen
        client.text_document_did_close(types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri)))
        card2 = await request(client, "kilo/route", {
            "text": "add a docstring to this", "context": {"activeUri": uri, "selection": {
                "start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 30}}}})
        assert not any(s["name"].startswith("selection") for s in card2["signals"])


@pytest.mark.parametrize("params, field", [
    ({}, "text"),
    ({"text": 42}, "text"),
    ({"text": "fix it", "context": {"selection": {"start": {"line": "x", "character": 0},
                                                   "end": {"line": 0, "character": 0}}}},
     "context.selection.start.line"),
    ({"text": "fix it", "tier": "platinum"}, "tier"),
    ({"text": "fix it", "turns": [{"role": "robot", "content": "hi"}]}, "turns[0].role"),
    ("not an object", ""),
])
async def test_bad_params_get_invalid_params_naming_the_field(tmp_path, params, field):
    async with sidecar(tmp_path) as client:
        with pytest.raises(JsonRpcException) as err:
            await asyncio.wait_for(request(client, "kilo/route", params), 5)
        assert err.value.code == -32602
        assert field in str(err.value)
        # the server is still there and answers
        assert (await request(client, "kilo/route", {"text": "rename a to b"}))["model"]


async def test_unknown_method_gets_method_not_found(tmp_path):
    async with sidecar(tmp_path) as client:
        with pytest.raises(JsonRpcException) as err:
            await asyncio.wait_for(request(client, "kilo/doesNotExist", {}), 5)
        assert err.value.code == -32601


async def test_stdout_carries_only_protocol(tmp_path):
    """Bad settings produce warnings, which must go to stderr and window/logMessage, never stdout."""
    async with sidecar(tmp_path, env={"KILO_TIER": "platinum"}) as client:
        await request(client, "kilo/route", {"text": "rename a to b"})
        await asyncio.sleep(0.2)
        assert any("routing.tier" in m.message for m in client.messages)
        assert any("routing.tier" in m.message for m in client.log_messages)


@pytest.mark.parametrize("args, on_stderr", [(("--stdio",), True), (("--stdio", "--stderr-level", "error"), False)])
def test_stderr_level_keeps_warnings_off_stderr_but_not_off_the_log(tmp_path, args, on_stderr):
    """An editor that files every stderr line as an error (Neovim) starts the sidecar with
    --stderr-level error: a warning then reaches it only as window/logMessage, with its own level."""
    sys.path.insert(0, str(Path(__file__).resolve().parent / "reliability"))
    from rawlsp import RawSidecar, wait_until

    side = RawSidecar(tmp_path, env={"KILO_TIER": "platinum"}, args=args)
    try:
        side.initialize()
        assert wait_until(lambda: any("routing.tier" in n["message"] for n in side.notifications("window/logMessage")), 10)
        logged = next(n for n in side.notifications("window/logMessage") if "routing.tier" in n["message"])
        assert logged["type"] == 2     # Warning, not Error
        side.shutdown()
    finally:
        side.close()
    assert ("routing.tier" in side.stderr_bytes.decode()) is on_stderr
