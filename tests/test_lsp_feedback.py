"""A failed answer moves a task up its ladder, through the real sidecar: the user's kilo/feedback, the same
error pasted again, errors that persist in the diagnostics after the file changed; outcomes kept in the
ledger, shown beside the benchmark, and reset."""

import asyncio

from lsprotocol import types

from kilo_lsp.providers.known import KNOWN
from lsp_harness import request, sidecar

#: A key for every provider: every model is callable (routing needs no network), so answers can be counted.
KEYS = {p.key_env: f"sk-{p.name}-feedback-0000000000000000000000" for p in KNOWN.values() if p.key_env}

STACK = ('Traceback (most recent call last):\n  File "app/db.py", line 42, in connect\n'
         '    pool.acquire()\nTimeoutError: pool exhausted')
URI = "file:///ws/app/db.py"


async def route(client, text, **extra):
    return await request(client, "kilo/route", {"text": text, **extra})


def row(board, task_class, model):
    return next(r for r in board["classes"][task_class]["models"] if r["model"] == model)


async def test_failed_feedback_moves_the_next_turn_up_and_is_kept(tmp_path):
    async with sidecar(tmp_path, env=KEYS) as client:
        first = await route(client, "fix this bug: " + STACK, conversationId="c")
        assert first["rung"] == 1 and len(first["ladder"]) >= 2 and not first["failedReason"]
        client.protocol.notify("kilo/feedback", {"decisionId": first["decisionId"], "outcome": "failed",
                                                 "reason": "the pool still runs out"})
        retry = await route(client, "try again", conversationId="c")
        assert (retry["reasonCode"], retry["rung"], retry["model"]) == ("escalated", 2, first["ladder"][1])
        assert retry["escalated"] and "the pool still runs out" in retry["failedReason"]
        assert retry["taskType"] == first["taskType"]
        await asyncio.sleep(0.2)
        status = [s for s in client.statuses if s["conversationId"] == "c"][-1]
        assert status["model"] == retry["model"] and status["reason"] == "escalated after a failed answer"
        board = await request(client, "kilo/leaderboard", {})
        mine = row(board, first["taskClass"], first["model"])["yours"]
        assert (mine["accepted"], mine["failed"]) == (0, 1)
        assert mine["rate"] < row(board, first["taskClass"], first["model"])["rate"]
        card_row = next(c for c in retry["candidates"] if c["model"] == first["model"])
        assert card_row["yours"]["failed"] == 1
    async with sidecar(tmp_path) as client:              # the ledger keeps it across a restart
        for _ in range(50):                              # read off the event loop after initialized
            board = await request(client, "kilo/leaderboard", {})
            if row(board, first["taskClass"], first["model"])["yours"]:
                break
            await asyncio.sleep(0.1)
        assert row(board, first["taskClass"], first["model"])["yours"]["failed"] == 1
        reset = await request(client, "kilo/resetOutcomes", {})
        assert reset == {"removed": 1}
        board = await request(client, "kilo/leaderboard", {})
        assert row(board, first["taskClass"], first["model"])["yours"] is None


async def test_a_what_if_answer_moves_the_task_up_but_is_never_counted(tmp_path):
    """No key: the card is a what-if (no model could answer), so the user's word moves the task up its
    ladder but says nothing about the model: nothing is counted, nothing reaches the ledger."""
    async with sidecar(tmp_path) as client:
        first = await route(client, "fix this bug: " + STACK, conversationId="w")
        assert first["callable"] is False
        client.protocol.notify("kilo/feedback", {"decisionId": first["decisionId"], "outcome": "failed"})
        retry = await route(client, "try again", conversationId="w")
        assert (retry["reasonCode"], retry["rung"]) == ("escalated", 2)
        await route(client, "rename a to b in utils.py", conversationId="w")     # moved on: no implicit outcome
        await asyncio.sleep(0.3)
        board = await request(client, "kilo/leaderboard", {})
        assert all(r.get("yours") is None for c in board["classes"].values() for r in c["models"])
        assert await request(client, "kilo/resetOutcomes", {}) == {"removed": 0}


async def test_the_same_error_pasted_again_is_a_failed_answer(tmp_path):
    async with sidecar(tmp_path) as client:
        first = await route(client, "fix this bug: " + STACK, conversationId="p")
        again = await route(client, STACK.replace("line 42", "line 57"), conversationId="p")
        assert again["continuesTask"] and again["failedReason"]
        assert (again["reasonCode"], again["rung"]) == ("escalated", 2)
        assert again["model"] == first["ladder"][1]


async def test_errors_that_persist_after_the_file_changed_are_a_failed_answer(tmp_path):
    diagnostics = [{"message": "Undefined name 'acquire_pool' (F821)", "severity": 1}]
    context = {"activeUri": URI, "diagnostics": diagnostics}
    async with sidecar(tmp_path) as client:
        client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(
            uri=URI, language_id="python", version=1, text="def connect():\n    acquire_pool()\n")))
        first = await route(client, "fix the undefined name error in db.py", conversationId="d", context=context)
        same = await route(client, "done, I applied your change. what else should I look at here?",
                           conversationId="d", context=context)
        assert not same["failedReason"]                  # the file did not change: nothing was tried yet
        client.text_document_did_change(types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(uri=URI, version=2),
            [types.TextDocumentContentChangeWholeDocument(text="def connect():\n    acquire_pool(1)\n")]))
        after = await route(client, "done, I applied your change. what else should I look at here?",
                            conversationId="d", context=context)
        assert "still in the diagnostics" in after["failedReason"]
        assert after["reasonCode"] in ("escalated", "ladder_top")
        assert after["rung"] == min(first["rung"] + 1, len(first["ladder"]))


async def test_bad_or_unknown_feedback_is_logged_and_the_sidecar_goes_on(tmp_path):
    async with sidecar(tmp_path) as client:
        client.protocol.notify("kilo/feedback", {"decisionId": "d-nope", "outcome": "failed"})
        client.protocol.notify("kilo/feedback", {"decisionId": "d-x", "outcome": "meh"})
        client.protocol.notify("kilo/feedback", [1, 2])
        card = await route(client, "rename a to b", conversationId="x")
        assert card["model"]
        await asyncio.sleep(0.2)
        logs = " ".join(m.message for m in client.log_messages)
        assert "unknown decision 'd-nope'" in logs and "outcome" in logs


async def test_feedback_and_reset_as_commands(tmp_path):
    async with sidecar(tmp_path, env=KEYS) as client:
        card = await route(client, "rename a to b", conversationId="k")
        said = await client.workspace_execute_command_async(types.ExecuteCommandParams(
            "kilo.feedback", [{"decisionId": card["decisionId"], "outcome": "accepted"}]))
        assert card["model"] in said["message"]
        reset = await client.workspace_execute_command_async(types.ExecuteCommandParams("kilo.resetOutcomes", []))
        assert reset["removed"] in (0, 1)        # 1 once the background write reached the ledger
        board = await request(client, "kilo/leaderboard", {})
        assert all(r.get("yours") is None for c in board["classes"].values() for r in c["models"])
