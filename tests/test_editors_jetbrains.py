"""The LSP4IJ user-defined server template is well formed and matches the sidecar it starts."""

import json
import tomllib
from pathlib import Path

import jsonschema

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "editors" / "jetbrains" / "template"


def load(name):
    return json.loads((TEMPLATE / name).read_text())


def test_template_has_the_fields_lsp4ij_reads():
    t = load("template.json")
    assert t["id"] and t["name"]
    assert set(t["programArgs"]) >= {"default", "windows"}
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    for cmd in t["programArgs"].values():
        exe, *args = cmd.split()
        assert exe.removesuffix(".exe") in scripts and args == ["--stdio"]
    for m in t["fileTypeMappings"]:
        assert m["languageId"] and ("name" in m["fileType"] or m["fileType"]["patterns"])
    assert (TEMPLATE / "README.md").read_text().strip()


def test_settings_conform_to_the_generated_settings_schema():
    settings_schema = load("settings.schema.json")
    settings = load("settings.json")
    validator = jsonschema.Draft202012Validator(settings_schema)
    assert list(validator.iter_errors(settings)) == []
    assert list(validator.iter_errors({"routing": {"tier": "cheap"}}))  # the schema does reject nonsense


def test_initialization_options_identify_the_template_and_send_no_secrets():
    opts = load("initializationOptions.json")
    assert opts["editorPluginInfo"]["name"] == "kilo-lsp-jetbrains-template"
    assert "providers" not in opts and "apiKey" not in json.dumps(opts)
