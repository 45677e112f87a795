"""Documents are found whatever spelling of their URI a client uses: percent-encoded (what VS Code
sends, ``file:///c%3A/...``, ``my%20project``), or not, or with an upper-case drive letter. Their
text and the selection reach the prompt, and the workspace folder (its settings, its budget, its
session) is the document's own."""

from __future__ import annotations

import time

import pytest

from fake_provider import FakeProviderServer
from rawlsp import RawSidecar
from results import record

KEY = "sk-or-v1-" "uris00000000000000000000000000KEY"
TEXT = "def total(items):\n    # SELECTED_LINE_MARKER\n    return sum(items)\n# DOCUMENT_BODY_MARKER\n"
SELECTION = {"start": {"line": 1, "character": 0}, "end": {"line": 2, "character": 21}}
figures: dict = {}


@pytest.fixture(scope="module", autouse=True)
def keep_figures():
    yield
    record("uris", figures)


@pytest.fixture(scope="module")
def fake():
    server = FakeProviderServer().start()
    yield server
    server.stop()


# (the URI the editor opens the document with, the URI a later request names it by)
SPELLINGS = {
    "VS Code: space encoded, same spelling": ("file:///home/me/my%20project/src/a.py",) * 2,
    "VS Code: drive colon encoded, same spelling": ("file:///c%3A/Users/me/proj/b.py",) * 2,
    "opened encoded, asked decoded": ("file:///home/me/my%20project/src/c.py", "file:///home/me/my project/src/c.py"),
    "opened decoded, asked encoded": ("file:///home/me/my project/src/d.py", "file:///home/me/my%20project/src/d.py"),
    "drive letter case": ("file:///c%3A/Users/me/proj/e.py", "file:///C:/Users/me/proj/e.py"),
    "non-ASCII name": ("file:///home/me/caf%C3%A9/f.py", "file:///home/me/café/f.py"),
}


@pytest.mark.parametrize("case", list(SPELLINGS))
def test_the_document_and_its_selection_reach_the_prompt(tmp_path, fake, case):
    opened, asked = SPELLINGS[case]
    fake.reset()
    lsp = RawSidecar(tmp_path, env={"OPENROUTER_API_KEY": KEY, "KILO_OPENROUTER_BASE_URL": fake.url("/v1")})
    try:
        lsp.initialize()
        lsp.notify("textDocument/didOpen", {"textDocument": {"uri": opened, "languageId": "python", "version": 1,
                                                             "text": TEXT}})
        msg = lsp.request("kilo/complete", {"text": "explain this", "maxTokens": 16,
                                            "context": {"activeUri": asked, "selection": SELECTION}}, timeout=20)
        assert "result" in msg, msg
        prompt = str(fake.requests[-1].body)
        route = lsp.request("kilo/route", {"text": "explain this", "dryRun": True, "context": {
            "referencedUris": [asked]}})["result"]
    finally:
        lsp.close()
    figures.setdefault("found", {})[case] = "SELECTED_LINE_MARKER" in prompt
    assert "SELECTED_LINE_MARKER" in prompt, f"{case}: the selection did not reach the prompt"
    assert "DOCUMENT_BODY_MARKER" in prompt, f"{case}: the document did not reach the prompt"
    assert route["estimatedInputTokens"] > 215, "the referenced document was not counted"


def test_the_workspace_folder_is_found_for_an_encoded_uri(tmp_path):
    """A folder announced encoded, a document named decoded (or the reverse): the document belongs to
    it, so the folder's own settings (here a lower budget) and its sessions apply."""
    first, folder = "file:///home/me/other", "file:///home/me/my%20project"
    lsp = RawSidecar(tmp_path)
    lsp.configuration = [{}, {"routing": {"tier": "balanced"}}, {"routing": {"tier": "frontier"}}]
    try:
        lsp.initialize(capabilities={"workspace": {"configuration": True, "workspaceFolders": True}},
                       folders=[first, folder])
        time.sleep(0.5)
        cards = [lsp.request("kilo/route", {"text": "rename a to b", "dryRun": True,
                                            "context": {"activeUri": uri}})["result"]
                 for uri in ("file:///home/me/my project/a.py", "file:///home/me/my%20project/a.py")]
    finally:
        lsp.close()
    for card in cards:
        assert card["workspace"] == folder, card["workspace"]
        assert card["tier"] == "frontier", "the folder's settings were not applied"


# (the workspace a request was answered in, the spelling kilo/usage and kilo/dashboard name it by)
USAGE_SPELLINGS = {
    "Java's File.toURI (file:/, no authority)": ("file:///home/me/my%20shop", "file:/home/me/my%20shop"),
    "asked decoded": ("file:///home/me/my%20shop", "file:///home/me/my shop"),
    "drive letter case": ("file:///c%3A/Users/me/shop", "file:///C:/Users/me/shop"),
}


@pytest.mark.parametrize("case", list(USAGE_SPELLINGS))
def test_usage_and_the_dashboard_find_a_workspace_whatever_its_spelling(tmp_path, fake, case):
    """kilo/usage filtered by workspace counts the requests made there, and kilo/dashboard's link names
    the workspace as the ledger keeps it, whichever spelling the editor uses for each."""
    answered_in, asked = USAGE_SPELLINGS[case]
    fake.reset()
    lsp = RawSidecar(tmp_path, env={"OPENROUTER_API_KEY": KEY, "KILO_OPENROUTER_BASE_URL": fake.url("/v1")})
    try:
        lsp.initialize()
        for i in range(2):
            done = lsp.request("kilo/complete", {"text": "rename a to b", "maxTokens": 16, "workspaceUri": answered_in,
                                                 "conversationId": f"c{i}"}, timeout=20)
            assert "result" in done, done
        usage = lsp.request("kilo/usage", {"workspaceUri": asked}, timeout=20)["result"]
        link = lsp.request("kilo/dashboard", {"page": "decisions", "workspaceUri": asked}, timeout=30)
    finally:
        lsp.close()
    figures.setdefault("usage found", {})[case] = usage["requests"]
    assert usage["requests"] == 2 and [w["workspace"] for w in usage["byWorkspace"]] == [done["result"]["card"]["workspace"]]
    assert "result" in link, link
    from urllib.parse import parse_qs, urlparse
    assert parse_qs(urlparse(link["result"]["url"]).query)["workspace"] == [done["result"]["card"]["workspace"]]
