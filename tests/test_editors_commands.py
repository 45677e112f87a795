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

from kilo_lsp.features import commands

SERVER = "import sys; from kilo_lsp.cli import main; sys.exit(main(['--stdio']))"
DOC = "file:///ws/app.py"
TEXT = "def total(xs):\n    s = 0\n    for x in xs:\n        s += x\n    return s\n"


class FakeLs:
    """Just enough of the Sidecar for code_actions()."""
    class workspace:
        @staticmethod
        def document(uri: str) -> None:
            return None


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
    # no key and no local server here: no answer, and the warning says why and what would answer
    assert asked["answered"] is False and asked["reason"] == "no_model" and asked["card"]["model"]
    assert asked["message"].startswith("Kilo: no answer (no_model). No model can be called")
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


# -- kilo.ask answering for real: the sidecar, and llama.cpp with SmolLM2-135M (session fixture) --------------
try:
    from tests.fake_provider import Script, fake, fake_server, local_llm_url  # noqa: F401,E402
except ImportError:  # tests/ on sys.path (conftest)
    from fake_provider import Script, fake, fake_server, local_llm_url  # type: ignore[no-redef]  # noqa: F401,E402


async def wait_for(predicate, seconds: float = 30.0, step: float = 0.05):
    import asyncio
    for _ in range(int(seconds / step)):
        if predicate():
            return True
        await asyncio.sleep(step)
    return predicate()


@pytest.mark.asyncio(loop_scope="module")
async def test_ask_answers_from_a_real_local_model_with_progress_and_cancels(tmp_path, local_llm_url):
    """What an LSP4IJ user gets from "Ask Kilo": work-done progress while it streams, a showMessage
    naming the model and the cost with the start of the answer, the whole answer as a logMessage;
    $/cancelRequest (-32800) and cancelling the progress both close the upstream stream."""
    import asyncio
    import time

    from pygls.exceptions import JsonRpcRequestCancelled

    config = ClientServerConfig(server_command=[sys.executable, "-c", SERVER], client_factory=make_client,
                                server_env=isolated_env(tmp_path, {"KILO_LOCAL_DISCOVER": "1"}))
    client = await config.start()
    await client.initialize_session(types.InitializeParams(
        capabilities=pytest_lsp.client_capabilities("visual-studio-code"),
        client_info=types.ClientInfo(name="LSP4IJ", version="0.x"),
        initialization_options={"routing": {"tier": "free"},
                                "local": {"endpoints": [local_llm_url], "ollamaUrl": "", "lmstudioUrl": ""}}))
    try:
        client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(
            uri=DOC, language_id="python", version=1, text=TEXT)))
        t0 = time.perf_counter()
        routed = None
        for _ in range(150):     # the local server is probed after `initialized`
            routed = await execute(client, "kilo.route", {"text": "What is 2+2?", "dryRun": True})
            if routed["card"]["callable"]:
                break
            await asyncio.sleep(0.1)
        assert routed["card"]["callable"], routed["message"]
        callable_ms = (time.perf_counter() - t0) * 1000

        # 1. a whole answer
        client.messages.clear()
        client.log_messages.clear()
        t1 = time.perf_counter()
        asked = await execute(client, "kilo.ask", {"text": "Say hello in five words.", "maxTokens": 24,
                                                   "temperature": 0, "conversationId": "jb-real",
                                                   "context": {"activeUri": DOC}})
        ask_ms = (time.perf_counter() - t1) * 1000
        assert asked["answered"] is True, asked["message"]
        result = asked["result"]
        assert result["text"].strip() and result["model"] == routed["card"]["model"]
        assert result["costUsd"] == 0 and result["balancedCostUsd"] > 0 and result["usage"]["outputTokens"] >= 1
        assert asked["card"]["decisionId"] == result["decisionId"]
        shown = [message(p) for p in client.messages]
        assert asked["message"] in shown
        assert asked["message"].startswith(f"Kilo: {result['modelName']} via {result['provider']}, $0.0000")
        assert " ".join(result["text"].split())[:40] in asked["message"]
        logged = [message(p) for p in client.log_messages]
        assert any(result["text"] in m and result["model"] in m for m in logged)
        reports = [r for token, rs in client.progress_reports.items() if str(token).startswith("kilo.ask-") for r in rs]
        kinds = [r.kind for r in reports]
        assert kinds[0] == "begin" and kinds[-1] == "end" and reports[-1].message == "answered", kinds
        assert reports[0].cancellable
        explained = await execute(client, "kilo.explain", {"conversationId": "jb-real"})
        assert explained["card"]["decisionId"] == result["decisionId"]

        long_ask = {"text": "Write a long story about a robot who learns to paint, in at least twenty sentences.",
                    "maxTokens": 400, "temperature": 0, "context": {"activeUri": DOC}}

        async def streaming_token(before: set):
            """The progress token of the new kilo.ask, once it has reported a few chunks."""
            def ready():
                return [t for t, rs in client.progress_reports.items() if t not in before and
                        sum(1 for r in rs if r.kind == "report") >= 2]
            assert await wait_for(ready, 60), "no progress reports"
            return ready()[0]

        # 2. $/cancelRequest mid-stream: -32800, and the upstream stream is closed (the ledger says cancelled)
        before = set(client.progress_reports)
        t2 = time.perf_counter()
        task = asyncio.ensure_future(client.protocol.send_request_async(
            types.WORKSPACE_EXECUTE_COMMAND, types.ExecuteCommandParams(command="kilo.ask", arguments=[long_ask]),
            msg_id=4242))
        token = await streaming_token(before)
        client.cancel_request(types.CancelParams(id=4242))
        with pytest.raises(JsonRpcRequestCancelled):
            await asyncio.wait_for(task, 10)
        cancel_ms = (time.perf_counter() - t2) * 1000
        assert await wait_for(lambda: client.progress_reports[token][-1].kind == "end", 10)
        assert client.progress_reports[token][-1].message == "cancelled"

        # 3. the user cancels the progress (LSP4IJ's stop button): the command answers "cancelled"
        before = set(client.progress_reports)
        task = asyncio.ensure_future(execute(client, "kilo.ask", long_ask))
        token = await streaming_token(before)
        client.protocol.notify(types.WINDOW_WORK_DONE_PROGRESS_CANCEL, types.WorkDoneProgressCancelParams(token=token))
        stopped = await asyncio.wait_for(task, 10)
        assert stopped["answered"] is False and stopped["reason"] == "cancelled"
        assert stopped["message"].startswith("Kilo: cancelled after ")

        usage = await client.protocol.send_request_async("kilo/usage", {})
        assert usage["outcomes"].get("cancelled") == 2, usage["outcomes"]
        print(f"\nkilo.ask via local model: callable after {callable_ms:.0f} ms; answer {ask_ms:.0f} ms "
              f"(ttft {result['ttftMs']} ms, {result['usage']['outputTokens']} tokens); "
              f"$/cancelRequest answered after {cancel_ms:.0f} ms")
    finally:
        await client.shutdown_session()
        await client.stop()


async def test_ask_opens_the_whole_answer_as_a_document_with_the_selection_and_diagnostics(tmp_path, fake):
    """A client that can show documents (LSP4IJ can) gets the whole answer in an editor tab: kilo.ask
    writes it to the user's data directory and sends window/showDocument. The code action carries
    the diagnostics at the selection into the question's context."""
    long_answer = "x" * (commands.PREVIEW_CHARS * 3)
    fake.enqueue(Script(texts=("The loop ", "sums xs. ", long_answer)))
    config = ClientServerConfig(server_command=[sys.executable, "-c", SERVER], client_factory=make_client,
                                server_env=isolated_env(tmp_path, {"OPENROUTER_API_KEY": "sk-or-v1-" "doc-test-0000KEY",
                                                                   "KILO_OPENROUTER_BASE_URL": fake.url("")}))
    client = await config.start()
    shown = client.shown_documents        # pytest-lsp answers window/showDocument and keeps it
    await client.initialize_session(types.InitializeParams(
        capabilities=pytest_lsp.client_capabilities("visual-studio-code"),
        client_info=types.ClientInfo(name="LSP4IJ", version="0.x")))
    try:
        client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(
            uri=DOC, language_id="python", version=1, text=TEXT)))
        diag = types.Diagnostic(range=types.Range(types.Position(3, 8), types.Position(3, 14)),
                                message="s may be undefined", severity=types.DiagnosticSeverity.Warning)
        params = types.CodeActionParams(text_document=types.TextDocumentIdentifier(uri=DOC),
                                        range=types.Range(types.Position(1, 0), types.Position(4, 0)),
                                        context=types.CodeActionContext(diagnostics=[diag]))
        wire = client.protocol._converter.unstructure(commands.code_actions(FakeLs(), params))
        ask = wire[0]["command"]
        assert ask["arguments"][0]["context"]["diagnostics"] == [
            {"message": "s may be undefined", "severity": 2,
             "range": {"start": {"line": 3, "character": 8}, "end": {"line": 3, "character": 14}}}]
        result = await execute(client, ask["command"], *ask["arguments"])
        assert result["answered"] and result["result"]["text"].endswith(long_answer)
        assert "s may be undefined" in str(fake.requests[-1].body["messages"])
        assert await wait_for(lambda: bool(shown), 5)
        assert shown[0].uri == result["document"] and shown[0].take_focus
        path = __import__("pathlib").Path(__import__("urllib.parse").parse.urlparse(result["document"]).path)
        assert path.is_relative_to(tmp_path / "data" / "kilo-lsp" / "answers")
        text = path.read_text()
        assert text.startswith(f"> {commands.DEFAULT_ASK}\n> [app.py, lines 2-4]\n")
        assert result["result"]["text"] in text and f"via openrouter · ${result['result']['costUsd']:.4f}" in text
    finally:
        await client.shutdown_session()
        await client.stop()
