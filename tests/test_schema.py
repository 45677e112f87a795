"""The protocol schema and the generated editor types never drift from protocol.py."""

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import msgspec

from kilo_lsp import PROTOCOL_VERSION, protocol, schema
from kilo_lsp.protocol import Candidate, CostView, DecisionCard, SignalView

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_FILE = ROOT / "editors" / "schema" / "kilo-protocol.schema.json"
SETTINGS_SCHEMA_FILE = ROOT / "editors" / "jetbrains" / "template" / "settings.schema.json"
TS_FILE = ROOT / "editors" / "vscode" / "src" / "protocol.ts"
GENERATOR = ROOT / "editors" / "vscode" / "scripts" / "schema_to_ts.py"
REGENERATE = "make schema"


def test_checked_in_schema_matches_protocol_py():
    assert SCHEMA_FILE.read_text() == schema.dumps(), f"schema is stale; regenerate with: {REGENERATE}"


def test_checked_in_settings_schema_matches_config_py():
    assert SETTINGS_SCHEMA_FILE.read_text() == schema.dumps(schema.settings_schema()), \
        f"settings schema is stale; regenerate with: {REGENERATE}"


def test_checked_in_typescript_matches_schema():
    out = subprocess.run([sys.executable, str(GENERATOR), str(SCHEMA_FILE)], capture_output=True, text=True, check=True)
    assert TS_FILE.read_text() == out.stdout, f"protocol.ts is stale; regenerate with: {REGENERATE}"


def test_cli_prints_the_same_schema():
    out = subprocess.run([sys.executable, "-m", "kilo_lsp.schema"], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout == schema.dumps()


def test_every_method_is_described():
    doc = schema.build()
    assert set(doc["x-methods"]) == set(protocol.REQUESTS) | set(protocol.NOTIFICATIONS) | set(protocol.CLIENT_NOTIFICATIONS)
    assert doc["x-protocolVersion"] == PROTOCOL_VERSION
    assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    for method, entry in doc["x-methods"].items():
        assert entry["kind"] == ("request" if method in protocol.REQUESTS else "notification")
        assert entry["direction"] == ("serverToClient" if method in protocol.NOTIFICATIONS else "clientToServer")
        assert entry["params"]
        assert entry["kind"] == "notification" or entry["result"]


def test_field_names_types_and_required():
    defs = schema.build()["$defs"]
    route = defs["RouteParams"]
    assert route["required"] == ["text"]
    assert route["properties"]["conversationId"] == {
        "anyOf": [{"type": "string"}, {"type": "null"}],
        "description": "a session key within the workspace folder", "default": None}
    assert route["properties"]["tier"]["anyOf"][0] == {"enum": ["balanced", "efficient", "free", "frontier"]}
    assert route["properties"]["turns"]["type"] == "array"
    assert route["properties"]["turns"]["items"] == {"$ref": "#/$defs/Turn"}
    assert route["properties"]["dryRun"]["type"] == "boolean"
    assert defs["Turn"]["properties"]["role"] == {"enum": ["assistant", "system", "user"]}
    card = defs["DecisionCard"]
    assert "decisionId" in card["required"] and "candidates" in card["required"]
    assert card["properties"]["difficulty"]["type"] == "integer"
    assert card["properties"]["confidence"]["type"] == "number"
    assert "note" not in defs["Candidate"]["required"]
    assert defs["Position"]["properties"]["line"] == {"type": "integer", "minimum": 0}


def _card() -> DecisionCard:
    cand = Candidate(model="m", provider=None, callable=False, accuracy=0.8, ci_low=0.7, ci_high=0.9, samples=10,
                     vs_balanced_low=None, clears_bar=True, estimated_cost_usd=0.01, expected_cost_per_task_usd=None)
    return DecisionCard(
        decision_id="d1", model="m", model_name="M", provider=None, provider_model_id=None, callable=False,
        what_if=True, tier="efficient", dial="bill", task_type="small_edit", difficulty=1, confidence=0.9,
        type_confidence=0.9, difficulty_confidence=0.9, reason_code="cheapest_clearing_bar", reason="r",
        sticky=False, escalated=False, fallback=False, task_class="small_edit:1", candidates=[cand],
        estimated_input_tokens=10, estimated_output_tokens=5, estimated_cost_usd=0.01,
        balanced=CostView("b", 0.02), frontier=CostView("f", 0.05), leaderboard_version="lb-x", classifier="c",
        signals=[SignalView("s", "d", 1.0)], workspace="w", conversation_id="c", turn=1)


def _validator(doc, part):
    return jsonschema.Draft202012Validator({**doc, **part})


def test_published_schema_accepts_real_data_and_names_bad_fields():
    doc = schema.build()
    route = doc["x-methods"]["kilo/route"]
    data = msgspec.to_builtins(_card())
    assert list(_validator(doc, route["result"]).iter_errors(data)) == []
    assert list(_validator(doc, doc["x-methods"]["kilo/explain"]["result"]).iter_errors(None)) == []
    bad = dict(data, difficulty="hard")
    del bad["decisionId"]
    errors = [e.message for e in _validator(doc, route["result"]).iter_errors(bad)]
    assert any("decisionId" in e for e in errors) and any("'hard'" in e for e in errors)
    assert list(_validator(doc, route["params"]).iter_errors({"text": "x", "tier": "cheap"}))


def test_schema_file_is_valid_json_with_resolvable_refs():
    doc = json.loads(SCHEMA_FILE.read_text())
    refs = set()

    def walk(node):
        if isinstance(node, dict):
            if "$ref" in node:
                refs.add(node["$ref"].rsplit("/", 1)[-1])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    walk(doc)
    assert refs <= set(doc["$defs"])
