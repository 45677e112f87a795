"""Standard LSP surfaces for JetBrains (LSP4IJ) and other generic clients: workspace/executeCommand
kilo.route / kilo.ask / kilo.explain and the "Ask Kilo" code action, against the real sidecar."""

from __future__ import annotations

import sys

import pytest
import pytest_asyncio
import pytest_lsp
from lsp_harness import isolated_env, make_client
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import ClientServerConfig

from kilo_lsp import commands

# The sidecar with the commands registered (a no-op once server.register calls register_commands).
SERVER = ("import sys; from kilo_lsp.server import build_server; from kilo_lsp.commands import register_commands; "
          "ls = build_server(); register_commands(ls); ls.start_io()")
DOC = "file:///ws/app.py"
TEXT = "def total(xs):\n    s = 0\n    for x in xs:\n        s += x\n    return s\n"


class FakeLs:
    """Just enough of the Sidecar for code_actions()."""
    class workspace:
        text_documents: dict = {}


async def start(tmp_path):
    config = ClientServerConfig(server_command=[sys.executable, "-c", SERVER], client_factory=make_client,
                                server_env=isolated_env(tmp_path))
    client = await config.start()
    result = await client.initialize_session(types.InitializeParams(
        capabilities=pytest_lsp.client_capabilities("visual-studio-code"),
        client_info=types.ClientInfo(name="LSP4IJ", version="0.x")))
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(
        uri=DOC, language_id="python", version=1, text=TEXT)))
    return client, result


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server(tmp_path_factory):
    """One sidecar for this module (each test uses its own conversation ids)."""
    client, init = await start(tmp_path_factory.mktemp("commands-home"))
    client.init_result = init
    yield client
    await client.shutdown_session()
    await client.stop()


async def execute(client, command, *arguments):
    return await client.protocol.send_request_async(
        types.WORKSPACE_EXECUTE_COMMAND, types.ExecuteCommandParams(command=command, arguments=list(arguments)))


def message(p):
    return p["message"] if isinstance(p, dict) else p.message


@pytest.mark.asyncio(loop_scope="module")
async def test_commands_are_announced_and_route_ask_explain_answer(server):
    client, init = server, server.init_result
    assert set(commands.COMMANDS) <= set(init.capabilities.execute_command_provider.commands)
    assert init.capabilities.code_action_provider
    routed = await execute(client, "kilo.route", {"text": "rename foo to bar in utils.py", "conversationId": "jb"})
    assert routed["card"]["taskType"] == "small_edit" and routed["card"]["decisionId"].startswith("d-")
    assert routed["message"].startswith(f"Kilo: {routed['card']['model']}")
    # a bare string argument works too (what a user-defined command in an IDE can send)
    plain = await execute(client, "kilo.route", "explain what total returns")
    assert plain["card"]["model"]
    asked = await execute(client, "kilo.ask", {"text": "explain what total returns", "conversationId": "jb",
                                               "context": {"activeUri": DOC}})
    assert asked["card"]["model"] and "message" in asked
    if not asked.get("answered", True):
        assert "kilo/complete" in asked["message"]
    explained = await execute(client, "kilo.explain", {"conversationId": "jb"})
    assert explained["card"]["decisionId"] == asked["card"]["decisionId"]
    assert await execute(client, "kilo.explain", {"conversationId": "never"}) is None
    # generic clients show nothing for command results: the summary arrives as showMessage
    for _ in range(50):
        if len(client.messages) >= 4:
            break
        await __import__("asyncio").sleep(0.02)
    assert any(message(p).startswith("Kilo: ") for p in client.messages)


@pytest.mark.asyncio(loop_scope="module")
async def test_bad_arguments_are_invalid_params_naming_the_field(server):
    client = server
    for args, needle in ((({"text": 5},), "text"), (({"text": "x", "tier": "cheap"},), "tier"), ((), "argument"),
                         ((42,), "arguments[0]")):
        try:
            await execute(client, "kilo.route", *args)
        except JsonRpcException as exc:
            assert exc.code == -32602 and needle in str(exc), str(exc)
        else:
            raise AssertionError(f"{args} was accepted")


@pytest.mark.asyncio(loop_scope="module")
async def test_code_action_on_a_selection_runs_ask_kilo(server):
    client = server
    def params(start, end):
        return types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=DOC),
            range=types.Range(types.Position(*start), types.Position(*end)),
            context=types.CodeActionContext(diagnostics=[]))
    actions = await client.protocol.send_request_async(types.TEXT_DOCUMENT_CODE_ACTION, params((1, 0), (4, 0)))
    # pygls' client decodes the CodeAction|Command union as Command; the titles survive that
    assert [a.title for a in actions] == [commands.ASK_TITLE, commands.ROUTE_TITLE]
    # what the IDE runs when the user picks "Ask Kilo": the action's command, as on the wire
    wire = client.protocol._converter.unstructure(commands.code_actions(FakeLs(), params((1, 0), (4, 0))))
    ask = wire[0]["command"]
    assert wire[0]["title"] == commands.ASK_TITLE and ask["command"] == "kilo.ask"
    assert ask["arguments"][0]["context"]["selection"]["end"]["line"] == 4
    result = await execute(client, ask["command"], *ask["arguments"])
    assert result["card"]["model"]
    # no selection, no action
    assert not await client.protocol.send_request_async(types.TEXT_DOCUMENT_CODE_ACTION, params((1, 2), (1, 2)))
