"""Record what the real sidecar answers on the editors' main paths, for the editor clients' tests.

Each test below drives a real sidecar process (pytest-lsp's client, the fake provider on 127.0.0.1,
a real SQLite ledger in a temporary home) through one scenario a user goes through, and writes every
message of it to ``editors/recorded/<scenario>.json``: each request or notification the client sent,
the result or error that came back, and the notifications the sidecar sent meanwhile, exactly as
they were on the wire. The files are written on every run, so the Neovim and VS Code tests that read
them always see the answers of the current server. The format is described in editors/README.md
("Recorded responses").

Values that change from run to run are normalised so that a file changes only when the server's
answers do: decision ids become ``d-000000000001``, ``d-000000000002``, ... in order of appearance
(the same id stays the same everywhere), times (``ttftMs``, ``totalMs``, ``ms``, the seconds in a
kilo.ask summary) become 0, progress tokens end in ``-0``, today's date becomes ``2000-01-01`` and the
temporary home becomes ``/home/me``.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import datetime
import json
import re
import sys
from pathlib import Path
from typing import Any, AsyncIterator

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig

from lsp_harness import isolated_env, make_client

try:
    from tests.fake_provider import FakeProviderServer, Script, fake, fake_server  # noqa: F401
except ImportError:  # tests/ on sys.path (conftest)
    from fake_provider import FakeProviderServer, Script, fake, fake_server  # type: ignore[no-redef]  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
RECORDED = ROOT / "editors" / "recorded"
FORMAT_VERSION = 1

WORKSPACE = "file:///home/me/shop"
ORDERS = f"{WORKSPACE}/orders.py"
ORDERS_TEXT = (
    "from pricing import apply_discount\n"
    "\n"
    "\n"
    "def checkout(order, code=None):\n"
    "    total = sum(item.price * item.qty for item in order.items)\n"
    "    total = apply_discount(total, code)\n"
    "    order.total = total\n"
    "    return total\n"
)
#: Lines 4-6 of ORDERS_TEXT (0-based 3..5), selected the way an editor sends a visual selection.
SELECTION = {"start": {"line": 3, "character": 0}, "end": {"line": 5, "character": 39}}
SELECTED_TEXT = "\n".join(ORDERS_TEXT.splitlines()[3:6])
DIAGNOSTICS = [{"message": "\"apply_discount\" is possibly unbound", "severity": 2, "uri": ORDERS,
                "range": {"start": {"line": 5, "character": 12}, "end": {"line": 5, "character": 26}}}]
CONTEXT = {"activeUri": ORDERS, "languageId": "python", "selection": SELECTION, "selectedText": SELECTED_TEXT,
           "diagnostics": DIAGNOSTICS}
ROUTER_KEY = "sk-or-v1-recorded.000000000000000000KEY"


# -- the recorder -----------------------------------------------------------------------------

class Normaliser:
    """Replaces what changes between runs (ids, times, today's date, the temporary home)."""

    TIMES = {"ttftMs", "totalMs", "ms", "localCheckedSecondsAgo"}

    def __init__(self, home: Path) -> None:
        self.home = str(home)
        self.today = datetime.date.today().isoformat()
        self.ids: dict[str, str] = {}
        self.aliases: dict[str, str] = {}     # e.g. a local server's random port -> a fixed one

    def _id(self, match: re.Match[str]) -> str:
        value = match.group(0)
        if value not in self.ids:
            self.ids[value] = f"d-{len(self.ids) + 1:012d}"
        return self.ids[value]

    def __call__(self, obj: Any) -> Any:
        if isinstance(obj, dict):
            return {self(k) if isinstance(k, str) else k: (0 if k in self.TIMES and isinstance(v, (int, float)) and not isinstance(v, bool)
                        else self(v)) for k, v in obj.items()}
        if isinstance(obj, list):
            return [self(v) for v in obj]
        if isinstance(obj, str):
            obj = re.sub(r"\bd-[0-9a-f]{12}\b", self._id, obj)
            obj = re.sub(r"\bkilo\.ask-(\d+)-\d+\b", r"kilo.ask-\1-0", obj)    # work-done progress tokens
            obj = re.sub(r"\b(tokens in )\d+\.\d s\b", r"\g<1>0.0 s", obj)       # kilo.ask's summary
            for value, stable in self.aliases.items():
                obj = obj.replace(value, stable)
            return obj.replace(self.home, "/home/me").replace(self.today, "2000-01-01")
        return obj


class Recorder:
    """Wraps a pytest-lsp client: sends requests and notifications, and keeps every message the
    sidecar sends, as it was on the wire, grouped by the exchange it arrived during."""

    def __init__(self, client: Any, home: Path, scenario: str, description: str) -> None:
        self.client = client
        self.scenario = scenario
        self.description = description
        self.normalise = Normaliser(home)
        self.inbox: list[dict[str, Any]] = []
        self.exchanges: list[dict[str, Any]] = []
        self._ids = 0
        protocol = client.protocol
        structure = protocol.structure_message

        def keep(data: Any) -> Any:      # json.loads' object_hook: the top-level dict is the message
            if isinstance(data, dict) and "jsonrpc" in data:
                self.inbox.append(copy.deepcopy(data))
            return structure(data)

        protocol.structure_message = keep

    def _typed(self, method: str, params: Any) -> Any:
        """Standard LSP params as lsprotocol types (pygls sends those); kilo/* params as they are."""
        entry = types.METHOD_TO_TYPES.get(method)
        if entry is None or entry[2] is None:
            return params
        return self.client.protocol._converter.structure(params, entry[2])

    def _typed_request(self, method: str, params: Any) -> Any:
        """Standard LSP request params as lsprotocol types; kilo/* params as they are."""
        entry = types.METHOD_TO_TYPES.get(method)
        if entry is None or entry[2] is None or method.startswith("kilo/"):
            return params
        return self.client.protocol._converter.structure(params, entry[2])

    def _since(self, mark: int, until_id: str | None = None) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        notes: list[dict[str, Any]] = []
        for msg in self.inbox[mark:]:
            if until_id is not None and msg.get("id") == until_id and "method" not in msg:
                return notes, msg
            if "method" in msg:
                entry = {"method": msg["method"], "params": msg.get("params")}
                if "id" in msg:
                    entry["serverRequest"] = True
                notes.append(entry)
        return notes, None

    async def request(self, method: str, params: Any, *, note: str = "", cancel_after: Any = None) -> dict[str, Any]:
        """Send a request and record it with its answer. ``cancel_after``: an async predicate; once
        it holds, the client sends $/cancelRequest."""
        self._ids += 1
        msg_id = f"rec-{self._ids}"
        mark = len(self.inbox)
        task = asyncio.ensure_future(self.client.protocol.send_request_async(method, self._typed_request(method, params),
                                                                             msg_id=msg_id))
        if cancel_after is not None:
            for _ in range(500):
                if await cancel_after() or task.done():
                    break
                await asyncio.sleep(0.01)
            self.client.cancel_request(types.CancelParams(id=msg_id))
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 30)
        for _ in range(100):     # the raw answer is kept before the future resolves; be sure
            notes, answer = self._since(mark, msg_id)
            if answer is not None:
                break
            await asyncio.sleep(0.01)
        assert answer is not None, f"{method}: no answer recorded"
        exchange: dict[str, Any] = {"method": method, "params": params}
        if note:
            exchange["note"] = note
        if cancel_after is not None:
            exchange["cancelled"] = True
        if "error" in answer:
            exchange["error"] = answer["error"]
        else:
            exchange["result"] = answer.get("result")
        exchange["notifications"] = notes
        self.exchanges.append(exchange)
        return exchange

    async def notify(self, method: str, params: Any, *, note: str = "", wait_for: str | None = None,
                     settle: float = 0.3) -> dict[str, Any]:
        """Send a notification; record what the sidecar sends in return (until a ``wait_for``
        notification arrives, then ``settle`` seconds more)."""
        mark = len(self.inbox)
        self.client.protocol.notify(method, self._typed(method, params))
        if wait_for is not None:
            for _ in range(500):
                if any(m.get("method") == wait_for for m in self.inbox[mark:]):
                    break
                await asyncio.sleep(0.01)
            else:
                raise AssertionError(f"no {wait_for} after {method}")
        await asyncio.sleep(settle)
        notes, _ = self._since(mark)
        exchange = {"method": method, "params": params, "notification": True, "notifications": notes}
        if note:
            exchange["note"] = note
        self.exchanges.append(exchange)
        return exchange

    def write(self) -> dict[str, Any]:
        doc = {"format": FORMAT_VERSION, "scenario": self.scenario, "description": self.description,
               "exchanges": self.normalise(self.exchanges)}
        RECORDED.mkdir(parents=True, exist_ok=True)
        text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
        path = RECORDED / f"{self.scenario}.json"
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        return doc


@contextlib.asynccontextmanager
async def recording(home: Path, scenario: str, description: str, env: dict[str, str] | None = None,
                    init_options: dict[str, Any] | None = None,
                    configuration: dict[str, Any] | None = None) -> AsyncIterator[Recorder]:
    """A real sidecar, initialized as an editor does (the initialize exchange is recorded too),
    with one workspace folder; the scenario's file is written when the block ends without error."""
    config = ClientServerConfig(server_command=[sys.executable, "-m", "kilo_lsp", "--stdio"],
                                client_factory=make_client, server_env=isolated_env(home, env))
    client = await config.start()
    client.set_configuration(configuration or {}, section="kilo")
    rec = Recorder(client, home, scenario, description)
    params = types.InitializeParams(
        capabilities=pytest_lsp.client_capabilities("visual-studio-code"),
        client_info=types.ClientInfo(name="recorder", version="1.0"),
        initialization_options=init_options,
        workspace_folders=[types.WorkspaceFolder(uri=WORKSPACE, name="shop")], root_uri=WORKSPACE)
    mark = len(rec.inbox)
    result = await client.initialize_session(params)
    # after `initialized` the sidecar asks for the client's settings: part of this exchange
    for _ in range(500):
        if any(m.get("method") == "workspace/configuration" for m in rec.inbox[mark:]):
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)
    notes, _ = rec._since(mark)
    wire = client.protocol._converter.unstructure(params)
    wire["processId"] = None
    exchange = {"method": "initialize", "params": wire,
                "result": client.protocol._converter.unstructure(result), "notifications": notes}
    if scenario != "initialize":    # the client's capabilities are long and the same in every file
        wire["capabilities"] = {}
        exchange["note"] = "capabilities as in initialize.json"
    rec.exchanges.append(exchange)
    try:
        yield rec
        rec.write()
    finally:
        await client.shutdown_session()
        await client.stop()


def keyed_env(fake: FakeProviderServer) -> dict[str, str]:
    """An OpenRouter key, with OpenRouter's base URL pointing at the fake provider."""
    return {"OPENROUTER_API_KEY": ROUTER_KEY, "KILO_OPENROUTER_BASE_URL": fake.url("")}


async def open_orders(rec: Recorder) -> None:
    await rec.notify("textDocument/didOpen", {"textDocument": {
        "uri": ORDERS, "languageId": "python", "version": 1, "text": ORDERS_TEXT}}, settle=0.05)


async def local_probed(rec: Recorder) -> None:
    """Wait until the sidecar has asked the local servers (not recorded: an editor would not ask)."""
    for _ in range(100):
        status = await rec.client.protocol.send_request_async("kilo/serverStatus", {})
        if status["localDiscovery"] == "idle":
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the local servers were never probed")


def chunks_of(exchange: dict[str, Any]) -> list[dict[str, Any]]:
    return [n["params"] for n in exchange["notifications"] if n["method"] == "kilo/chunk"]


# -- the scenarios ----------------------------------------------------------------------------

async def test_record_initialize(tmp_path) -> None:
    async with recording(tmp_path, "initialize", "initialize as an editor plugin sends it, and the capabilities "
                         "the sidecar announces (capabilities.experimental.kilo)",
                         init_options={"editorPluginInfo": {"name": "kilo-lsp-vscode", "version": "0.1.0"}}) as rec:
        pass
    kilo = rec.exchanges[0]["result"]["capabilities"]["experimental"]["kilo"]
    assert "kilo/complete" in kilo["requests"] and kilo["tiers"][0] == "efficient"


async def test_record_route(fake, tmp_path) -> None:
    async with recording(tmp_path, "route", "kilo/route on an open document with a multi-line selection and a "
                         "diagnostic: the decision card and the kilo/status it sends; the next turn with `turns`; "
                         "a dryRun preview, which sends no kilo/status and does not count as a turn",
                         env=keyed_env(fake)) as rec:
        await open_orders(rec)
        first = await rec.request("kilo/route", {
            "text": "why can apply_discount fail here?", "conversationId": "chat-1", "workspaceUri": WORKSPACE,
            "context": CONTEXT})
        turns = [{"role": "user", "content": "why can apply_discount fail here?"},
                 {"role": "assistant", "content": "apply_discount raises KeyError when code is None."}]
        second = await rec.request("kilo/route", {
            "text": "fix it so that no code means no discount", "conversationId": "chat-1",
            "workspaceUri": WORKSPACE, "turns": turns, "context": CONTEXT})
        preview = await rec.request("kilo/route", {
            "text": "and add a test for it", "conversationId": "chat-1", "workspaceUri": WORKSPACE,
            "turns": turns + [{"role": "user", "content": "fix it so that no code means no discount"},
                              {"role": "assistant", "content": "Done: code=None returns the total."}],
            "context": CONTEXT, "dryRun": True}, note="a preview: dryRun")
    card = first["result"]
    assert card["callable"] and card["provider"] == "openrouter" and card["turn"] == 1
    assert [n["method"] for n in first["notifications"]].count("kilo/status") == 1
    assert second["result"]["turn"] == 2
    assert preview["result"]["turn"] == 3
    assert not any(n["method"] == "kilo/status" for n in preview["notifications"])


async def test_record_explain(fake, tmp_path) -> None:
    async with recording(tmp_path, "explain", "kilo/explain: the last decision card of a conversation, and null "
                         "for one that has none", env=keyed_env(fake)) as rec:
        routed = await rec.request("kilo/route", {"text": "rename checkout to place_order", "conversationId": "chat-1",
                                                  "workspaceUri": WORKSPACE})
        explained = await rec.request("kilo/explain", {"conversationId": "chat-1", "workspaceUri": WORKSPACE})
        none = await rec.request("kilo/explain", {"conversationId": "never-used", "workspaceUri": WORKSPACE})
    assert explained["result"]["decisionId"] == routed["result"]["decisionId"]
    assert none["result"] is None


async def test_record_complete(fake, tmp_path) -> None:
    fake.enqueue(Script(texts=("`apply_discount` ", "raises ", "KeyError ", "when `code` is None."),
                        chunk_delay=0.05, usage=(412, 0, 11)),
                 Script(texts=("Use ", "`CODES.get(code, 0)`."), chunk_delay=0.05, usage=(520, 384, 8)))
    async with recording(tmp_path, "complete", "kilo/complete: the kilo/chunk notifications of a streamed answer "
                         "and its result; then the next turn of the same conversation, with `turns`",
                         env=keyed_env(fake)) as rec:
        await open_orders(rec)
        first = await rec.request("kilo/complete", {
            "text": "why can apply_discount fail here?", "conversationId": "chat-1", "workspaceUri": WORKSPACE,
            "context": CONTEXT, "streamId": "chat-1-1", "maxTokens": 512})
        second = await rec.request("kilo/complete", {
            "text": "how do I fix it?", "conversationId": "chat-1", "workspaceUri": WORKSPACE, "context": CONTEXT,
            "turns": [{"role": "user", "content": "why can apply_discount fail here?"},
                      {"role": "assistant", "content": first["result"]["text"]}],
            "streamId": "chat-1-2", "maxTokens": 512})
    result = first["result"]
    assert result["text"] == "".join(c["text"] for c in chunks_of(first))
    assert [c["seq"] for c in chunks_of(first)] == list(range(len(chunks_of(first))))
    assert {c["streamId"] for c in chunks_of(first)} == {"chat-1-1"}
    assert result["usage"]["inputTokens"] == 412 and result["costUsd"] > 0
    assert second["result"]["card"]["turn"] == 2 and second["result"]["usage"]["cachedInputTokens"] == 384
    sent = fake.requests[-1].body["messages"]
    assert any(m["role"] == "assistant" and m["content"] == result["text"] for m in sent)


async def test_record_complete_cancelled(fake, tmp_path) -> None:
    fake.enqueue(Script(texts=tuple(f"word{i} " for i in range(40)), chunk_delay=0.2))
    async with recording(tmp_path, "complete-cancelled", "kilo/complete cancelled with $/cancelRequest after its "
                         "first chunk: the chunk that arrived, then the -32800 error", env=keyed_env(fake)) as rec:
        seen = lambda: asyncio.sleep(0, result=any(m.get("method") == "kilo/chunk" for m in rec.inbox))  # noqa: E731
        cancelled = await rec.request("kilo/complete", {
            "text": "write a long explanation of checkout", "conversationId": "chat-1", "workspaceUri": WORKSPACE,
            "streamId": "chat-1-1"}, cancel_after=seen)
    assert cancelled["error"]["code"] == -32800 and len(chunks_of(cancelled)) >= 1


async def test_record_usage(fake, tmp_path) -> None:
    fake.enqueue(Script(usage=(1200, 0, 300), chunk_delay=0.05), Script(usage=(1500, 1000, 250), chunk_delay=0.05),
                 Script(usage=(800, 0, 120), chunk_delay=0.05))
    async with recording(tmp_path, "usage", "kilo/usage after three answered requests in two conversations: "
                         "totals, by day (today is written 2000-01-01) and by workspace; the same for today only "
                         "(what a status line shows) and for one conversation", env=keyed_env(fake)) as rec:
        for conv, text in (("chat-1", "rename checkout to place_order"), ("chat-1", "and update its callers"),
                           ("chat-2", "explain what apply_discount does")):
            await rec.request("kilo/complete", {"text": text, "conversationId": conv, "workspaceUri": WORKSPACE},
                              note="a completion, so that there is usage to show")
        total = await rec.request("kilo/usage", {})
        today = await rec.request("kilo/usage", {"day": datetime.date.today().isoformat(),
                                                 "workspaceUri": WORKSPACE})
        conv = await rec.request("kilo/usage", {"conversationId": "chat-2", "workspaceUri": WORKSPACE})
    assert total["result"]["requests"] == 3 and total["result"]["costUsd"] > 0
    assert total["result"]["savedVsBalancedUsd"] != 0 and len(total["result"]["byDay"]) == 1
    assert today["result"]["costUsd"] == total["result"]["costUsd"]
    assert conv["result"]["requests"] == 1


def _get(url: str) -> tuple[int, str]:
    """GET from the dashboard: the status and the body (an error's too)."""
    import urllib.error
    import urllib.request
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


async def test_record_dashboard(fake, tmp_path) -> None:
    fake.enqueue(Script(chunk_delay=0.02))
    async with recording(tmp_path, "dashboard", "kilo/dashboard after an answer: the URL of a page, then of one "
                         "conversation's decisions (workspaceUri and conversationId); the port is written 38397 and "
                         "the token TOKEN", env=keyed_env(fake)) as rec:
        await rec.request("kilo/complete", {"text": "rename checkout to place_order", "conversationId": "chat-1",
                                            "workspaceUri": WORKSPACE}, note="an answer, so that there is a decision")
        page = await rec.request("kilo/dashboard", {"page": "leaderboard"})
        url = page["result"]["url"]
        port, token = re.search(r"127\.0\.0\.1:(\d+)/.*[?&]token=([^&]+)", url).groups()
        rec.normalise.aliases.update({token: "TOKEN", f"127.0.0.1:{port}": "127.0.0.1:38397"})
        decisions = await rec.request("kilo/dashboard", {"workspaceUri": WORKSPACE, "conversationId": "chat-1"})
        with_token = await asyncio.to_thread(_get, decisions["result"]["url"])
        without = await asyncio.to_thread(_get, re.sub(r"[?&]token=[^&]+", "", decisions["result"]["url"]))
    assert url.startswith("http://127.0.0.1:") and "/leaderboard?" in url
    assert "/decisions?" in decisions["result"]["url"] and "conversation=chat-1" in decisions["result"]["url"]
    assert with_token[0] == 200 and without[0] in (401, 403) and token not in without[1]
    assert token not in (RECORDED / "dashboard.json").read_text()


async def test_record_leaderboard(tmp_path) -> None:
    async with recording(tmp_path, "leaderboard", "kilo/leaderboard restricted to bugfix at difficulty 2 (its class and the any-type class *:2), "
                         "without keys: every model is listed, none callable") as rec:
        board = await rec.request("kilo/leaderboard", {"taskType": "bugfix", "difficulty": 2})
    assert "bugfix:2" in board["result"]["classes"] and board["result"]["models"]


async def test_record_no_key_then_set_credentials(fake, tmp_path) -> None:
    async with recording(tmp_path, "no-key", "without any key: kilo/route is a what-if decision, kilo/complete "
                         "fails with -32001 (data.code no_model) and a message naming the editor's own command "
                         "(initializationOptions.editorCommands); kilo/setCredentials with a key from the editor's "
                         "secret store (answered masked); then kilo/complete answers; a key for a provider the "
                         "server does not take is -32602",
                         env={"KILO_OPENROUTER_BASE_URL": fake.url("")},
                         init_options={"editorPluginInfo": {"name": "kilo-lsp-vscode", "version": "0.1.0"},
                                       "editorCommands": {"setKey": "Kilo: Set API key",
                                                          "settings": "Settings › Extensions › Kilo"}}) as rec:
        fake.enqueue(Script(chunk_delay=0.05))
        nothing = await rec.request("kilo/serverStatus", {}, note="what a status line shows before any key: "
                                    "callableModels 0")
        whatif = await rec.request("kilo/route", {"text": "rename checkout to place_order", "conversationId": "chat-1",
                                                  "workspaceUri": WORKSPACE, "dryRun": True})
        failed = await rec.request("kilo/complete", {"text": "rename checkout to place_order",
                                                     "conversationId": "chat-1", "workspaceUri": WORKSPACE})
        creds = await rec.request("kilo/setCredentials", {"provider": "openrouter", "apiKey": ROUTER_KEY})
        answered = await rec.request("kilo/complete", {"text": "rename checkout to place_order",
                                                       "conversationId": "chat-1", "workspaceUri": WORKSPACE})
        refused = await rec.request("kilo/setCredentials", {"provider": "ollama", "apiKey": "not-a-key"})
    assert nothing["result"]["callableModels"] == 0
    assert whatif["result"]["whatIf"] and not whatif["result"]["callable"]
    assert failed["error"]["code"] == -32001 and failed["error"]["data"]["code"] == "no_model"
    assert "Kilo: Set API key" in failed["error"]["message"] and "kilo/" not in failed["error"]["message"]
    assert creds["result"]["apiKey"] != ROUTER_KEY and creds["result"]["callableModels"] > 0
    assert answered["result"]["text"] == "Hello, world!"
    assert refused["error"]["code"] == -32602
    text = json.dumps(rec.exchanges[1:])   # the key is in the request's params only, never in an answer
    assert text.count(ROUTER_KEY) == 1


async def test_record_settings_rejected(fake, tmp_path) -> None:
    async with recording(tmp_path, "settings-rejected", "workspace/didChangeConfiguration with one bad value "
                         "(routing.tier) next to a good one (routing.pin): the warning names only the bad value, "
                         "and the pin is in force", env=keyed_env(fake)) as rec:
        rec.client.set_configuration({"routing": {"tier": "gold", "pin": "gpt-5-mini"}}, section="kilo")
        changed = await rec.notify("workspace/didChangeConfiguration",
                                   {"settings": {"kilo": {"routing": {"tier": "gold", "pin": "gpt-5-mini"}}}},
                                   wait_for="window/showMessage")
        routed = await rec.request("kilo/route", {"text": "rename checkout to place_order",
                                                  "conversationId": "chat-1", "workspaceUri": WORKSPACE})
    shown = [n["params"]["message"] for n in changed["notifications"] if n["method"] == "window/showMessage"]
    assert shown and all("routing.tier" in m and "gold" in m for m in shown)
    assert routed["result"]["reasonCode"] == "pinned" and routed["result"]["model"] == "gpt-5-mini"


async def test_record_bad_params(tmp_path) -> None:
    async with recording(tmp_path, "bad-params", "requests with bad params: -32602 naming the field") as rec:
        empty = await rec.request("kilo/route", {"text": "   "})
        typed = await rec.request("kilo/route", {"text": "x", "context": {"selection": {
            "start": {"line": "3", "character": 0}, "end": {"line": 4, "character": 0}}}})
        dry = await rec.request("kilo/complete", {"text": "x", "dryRun": True})
    assert all(x["error"]["code"] == -32602 for x in (empty, typed, dry))


async def test_record_server_status(fake, tmp_path) -> None:
    server = FakeProviderServer().start()
    server.models = ["qwen2.5-coder-7b"]
    try:
        local = {"local": {"endpoints": [server.url("/v1")], "ollamaUrl": "", "lmstudioUrl": ""}}
        async with recording(tmp_path, "server-status", "kilo/serverStatus: the providers kilo/setCredentials takes "
                             "(with whether a key is set and where it came from), a local server and its models, the "
                             "settings problems in force; again after a key is set from the editor",
                             env={**keyed_env(fake), "KILO_LOCAL_DISCOVER": "1"},
                             init_options={**local, "routing": {"dial": "fast"}}) as rec:
            rec.normalise.aliases[f"127.0.0.1:{server.port}"] = "127.0.0.1:8080"
            await local_probed(rec)
            before = await rec.request("kilo/serverStatus", {})
            await rec.request("kilo/setCredentials", {"provider": "anthropic", "apiKey": "sk-ant-rec.0000000KEY"})
            after = await rec.request("kilo/serverStatus", {})
    finally:
        server.stop()
    status = before["result"]
    assert status["localDiscovery"] == "idle" and status["localServers"][0]["models"] == ["qwen2.5-coder-7b"]
    assert {p["name"]: p["keySource"] for p in status["providers"]}["openrouter"] == "env"
    assert len(status["settingsProblems"]) == 1 and "routing.dial" in status["settingsProblems"][0]
    assert {p["name"]: p["keySource"] for p in after["result"]["providers"]}["anthropic"] == "editor"


async def test_record_local_model(tmp_path) -> None:
    server = FakeProviderServer().start()
    server.models = ["qwen2.5-coder-7b"]
    server.enqueue(Script(texts=("It ", "returns ", "the total."), chunk_delay=0.05, usage=None))
    try:
        local = {"local": {"endpoints": [server.url("/v1")], "ollamaUrl": "", "lmstudioUrl": ""}}
        async with recording(tmp_path, "local-model", "no key, one local server (the fake provider): the route goes "
                             "to the local model, free; the answer streams from it with usage estimated (the server "
                             "sent none) and cost 0; kilo/usage counts it", env={"KILO_LOCAL_DISCOVER": "1"},
                             init_options=local) as rec:
            rec.normalise.aliases[f"127.0.0.1:{server.port}"] = "127.0.0.1:8080"
            await local_probed(rec)
            routed = await rec.request("kilo/route", {"text": "what does checkout return?", "conversationId": "chat-1",
                                                      "workspaceUri": WORKSPACE, "dryRun": True})
            answered = await rec.request("kilo/complete", {"text": "what does checkout return?",
                                                           "conversationId": "chat-1", "workspaceUri": WORKSPACE,
                                                           "streamId": "chat-1-1"})
            await rec.request("kilo/usage", {"workspaceUri": WORKSPACE})
    finally:
        server.stop()
    name = f"local:127.0.0.1:{server.port}"
    assert routed["result"]["callable"] and routed["result"]["model"] == f"{name}/qwen2.5-coder-7b"
    assert answered["result"]["costUsd"] == 0 and answered["result"]["usage"]["estimated"]


async def test_record_execute_ask(fake, tmp_path) -> None:
    fake.enqueue(Script(texts=("checkout sums the items, ", "then applies the discount code."), one_write=True,
                        usage=(640, 0, 14)))
    async with recording(tmp_path, "execute-ask", "what a generic client (an LSP4IJ template) does: the code actions "
                         "on a selection with a diagnostic, then workspace/executeCommand kilo.ask from the 'Ask "
                         "Kilo' action: work-done progress, the whole answer in window/logMessage, a summary in "
                         "window/showMessage, and window/showDocument opening the answer's Markdown document",
                         env=keyed_env(fake)) as rec:
        await open_orders(rec)
        actions = await rec.request("textDocument/codeAction", {
            "textDocument": {"uri": ORDERS}, "range": SELECTION,
            "context": {"diagnostics": [{"range": DIAGNOSTICS[0]["range"], "message": DIAGNOSTICS[0]["message"],
                                         "severity": 2}]}})
        command = actions["result"][0]["command"]
        asked = await rec.request("workspace/executeCommand", command)
    assert command["command"] == "kilo.ask" and asked["result"]["answered"]
    sent = [n["method"] for n in asked["notifications"]]
    assert sent[0] == "window/workDoneProgress/create" and sent[-1] == "window/showDocument"
    assert "window/showMessage" in sent and "window/logMessage" in sent
    assert asked["result"]["document"].startswith((tmp_path / "data" / "kilo-lsp" / "answers").as_uri())
    assert "file:///home/me/data/kilo-lsp/answers/kilo-answer-d-" in (RECORDED / "execute-ask.json").read_text()
