"""protocol.md documents every kilo/* method the server registers, and every field of their params."""

import dataclasses
import re
from pathlib import Path

from kilo_lsp import complete, protocol
from kilo_lsp.server import build_server, register_forwarding
from kilo_lsp.wire import camel

DOC = (Path(__file__).resolve().parent.parent / "protocol.md").read_text()


def registered_methods() -> set[str]:
    ls = build_server()
    register_forwarding(ls)   # done when the client says `initialized`
    return {m for m in ls.protocol.fm.features if m.startswith("kilo/")}


def test_every_registered_method_is_documented_and_back():
    documented = set(re.findall(r"^## `(kilo/[A-Za-z/]+)`", DOC, re.M))
    assert registered_methods() | set(protocol.NOTIFICATIONS) == documented


def test_every_params_field_is_documented():
    for cls in (protocol.RouteParams, protocol.EditorContext, protocol.LeaderboardParams,
                protocol.ExplainParams, protocol.DecisionCard, protocol.Candidate, protocol.SessionStatus,
                complete.CompleteParams, complete.CompleteResult, complete.Chunk, complete.UsageParams,
                complete.SetCredentialsParams, complete.CredentialsResult):
        for f in dataclasses.fields(cls):
            assert f"`{camel(f.name)}`" in DOC, f"{cls.__name__}.{f.name} missing from protocol.md"
