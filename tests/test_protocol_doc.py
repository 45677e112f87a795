"""protocol.md documents every kilo/* method the server registers, and every field of their types."""

import re
from pathlib import Path

import msgspec

from kilo_lsp import protocol
from kilo_lsp.lsp.server import build_server

DOC = (Path(__file__).resolve().parent.parent / "protocol.md").read_text()


def registered_methods() -> set[str]:
    ls = build_server()
    return {m for m in ls.protocol.fm.features if m.startswith("kilo/")}


def test_every_registered_method_is_documented_and_back():
    documented = set(re.findall(r"^## `(kilo/[A-Za-z/]+)`", DOC, re.M))
    assert registered_methods() | set(protocol.NOTIFICATIONS) == documented
    assert registered_methods() == set(protocol.REQUESTS) | set(protocol.CLIENT_NOTIFICATIONS)


def test_every_field_of_every_method_type_is_documented():
    types = {t for pair in protocol.METHOD_TYPES.values() for t in pair if isinstance(t, type)}
    types |= set(protocol.NOTIFICATION_TYPES.values()) | set(protocol.CLIENT_NOTIFICATION_TYPES.values())
    types |= {protocol.EditorContext, protocol.Candidate, protocol.UserResultView}
    types |= {protocol.SourceView, protocol.ClassView, protocol.EvidenceView}
    for cls in types:
        for f in msgspec.structs.fields(cls):
            assert f"`{f.encode_name}`" in DOC, f"{cls.__name__}.{f.name} missing from protocol.md"
