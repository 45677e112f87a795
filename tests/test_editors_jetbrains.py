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


def test_template_sends_no_default_settings():
    """A value in settings.json wins over the user config file (the dial and tier the dashboard
    writes): the template ships none, so the sidecar's defaults and that file apply until the user
    sets one in the Configuration tab."""
    assert load("settings.json") == {}


def test_initialization_options_identify_the_template_and_send_no_secrets():
    opts = load("initializationOptions.json")
    assert opts["editorPluginInfo"]["name"] == "kilo-lsp-jetbrains-template"
    assert "providers" not in opts and "apiKey" not in json.dumps(opts)


# ------------------------------------------------------------ the plugin's protocol layer
#
# The plugin cannot be built here (no IntelliJ Platform download), but its protocol layer
# (editors/jetbrains/plugin/src/main/kotlin/dev/kilolsp/jetbrains/core: the typed requests, the chat
# controller, the installer) uses only Gson and the JDK. It is compiled with the real Kotlin compiler
# (the npm kotlin-compiler package, make setup) against Gson (Debian's libgoogle-gson-java, make
# setup), and driven by src/test/kotlin/.../Driver.kt: against the real sidecar over stdio (as LSP4J
# carries it in the IDE), against the real pip and venv for the first-run install.

import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

import pytest  # noqa: E402
from lsp_harness import isolated_env  # noqa: E402

try:
    from tests.fake_provider import Script, fake, fake_server  # noqa: F401,E402
except ImportError:  # tests/ on sys.path (conftest)
    from fake_provider import Script, fake, fake_server  # type: ignore[no-redef]  # noqa: F401,E402

PLUGIN = ROOT / "editors" / "jetbrains" / "plugin"
KOTLIN = PLUGIN / "testkit" / "node_modules" / "kotlin-compiler"
GSON = Path("/usr/share/java/gson.jar")
JAVA = shutil.which("java")
ROUTER_KEY = "sk-or-v1-jetbrains.00000000000000000000KEY"


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    """Compiles the protocol layer and the driver; returns a function running the driver."""
    if JAVA is None:
        pytest.skip("no java on this machine (the JDK is part of the machine image)")
    assert (KOTLIN / "bin" / "kotlinc").exists(), "the Kotlin compiler is missing: make setup (npm ci in editors/jetbrains/plugin/testkit)"
    assert GSON.exists(), "Gson is missing: make setup installs Debian's libgoogle-gson-java"
    out = tmp_path_factory.mktemp("kotlin-classes")
    sources = sorted((PLUGIN / "src" / "main" / "kotlin" / "dev" / "kilolsp" / "jetbrains" / "core").glob("*.kt")) + \
        sorted((PLUGIN / "src" / "test" / "kotlin").rglob("*.kt"))
    done = subprocess.run([str(KOTLIN / "bin" / "kotlinc"), *map(str, sources), "-cp", str(GSON), "-d", str(out),
                           "-nowarn"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    classpath = ":".join([str(out), str(GSON), str(KOTLIN / "lib" / "kotlin-stdlib.jar")])

    def run(*args: str, env: dict[str, str], timeout: float = 120, cwd: Path | None = None) -> list[dict]:
        proc = subprocess.run([JAVA, "-cp", classpath, "dev.kilolsp.jetbrains.core.DriverKt", *args], env=env, cwd=cwd,
                              capture_output=True, text=True, timeout=timeout)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    return run


def test_tool_window_chat_against_the_real_sidecar(driver, fake, tmp_path):
    """Ask with the editor's context, the whole answer streamed, "It did not work" (kilo/feedback), a
    second turn with the first in `turns`, a dry-run preview, today's spend, cancel mid-stream, a new conversation, and a server
    missing at first: the plugin's ChatController over the protocol the IDE's LSP4J carries."""
    ws = tmp_path / "shop"
    ws.mkdir()
    source = ws / "orders.py"
    source.write_text("# orders\ndef checkout(cart):\n    for item in cart:\n        total += item.price\n    return total\n")
    fake.enqueue(Script(texts=("Hello", ", ", "world", "!")), Script(texts=("Use ", "sum().")),
                 Script(endless=True, chunk_delay=0.05), Script(texts=("Fresh", ".")))
    env = isolated_env(tmp_path / "home", {"KILO_PYTHON": sys.executable, "OPENROUTER_API_KEY": ROUTER_KEY,
                                           "KILO_OPENROUTER_BASE_URL": fake.url("")})
    events = driver("live", str(ws), str(source), env=env, timeout=180, cwd=ws)
    kinds = [e["event"] for e in events]
    assert kinds[-1] == "end", events[-3:]

    # the server was not there yet: said so with the action that fixes it; nothing entered the conversation
    assert events[1]["event"] == "question" and events[2]["event"] == "error"
    assert "not running" in events[2]["message"] and '"Kilo: Install Sidecar"' in events[2]["message"]
    assert events[3] == {"event": "turns", "conversation": events[3]["conversation"], "turns": []}
    conversation = events[3]["conversation"]

    questions = [e for e in events if e["event"] == "question"]
    assert questions[1]["context"] == "orders.py (python, lines 2-4, 1 diagnostics)"
    done = [e for e in events if e["event"] == "done"]
    results = [e for e in events if e["event"] == "result"]
    assert done[0]["answer"] == "Hello, world!" and done[1]["answer"] == "Use sum()."
    assert done[0]["footer"].split("\n")[0].endswith(" s") and " via openrouter · $" in done[0]["footer"]
    assert [r["turn"] for r in results[:2]] == [1, 2] and {r["conversation"] for r in results[:2]} == {conversation}
    # "It did not work" on the first answer (kilo/feedback): the second turn's decision says so
    assert results[1]["failedReason"].startswith("you said it failed"), results[1]

    # what reached the provider: the selection, and on the second turn the first exchange
    bodies = [r.body for r in fake.requests if r.method == "POST"]
    first, second = (json.dumps(b["messages"]) for b in bodies[:2])
    assert "def checkout(cart):" in first and "possibly unbound" in first
    assert "why can checkout fail?" in second and "Hello, world!" in second

    # the preview is a dry run: the session's last decision is still the second answer's
    notes = [e["text"] for e in events if e["event"] == "note"]
    assert notes[0] == "Noted: the next answer on this task goes one model up." and " would answer: " in notes[1]
    explain = next(e for e in events if e["event"] == "explain")
    assert explain["decisionId"] == results[1]["decisionId"] and explain["turn"] == 2
    status = next(e for e in events if e["event"] == "statusText")
    assert status["requests"] == 2 and status["text"].endswith(f"${status['costUsd']:.2f} today")

    # cancelled mid-stream: $/cancelRequest closed the upstream; what arrived stays in the conversation
    cancel_at = kinds.index("cancelling")
    assert events[cancel_at]["cancelled"] is True
    story = next(i for i, e in enumerate(events) if e.get("text") == "write a long story")
    shown = [e for e in events[story:cancel_at] if e["event"] in ("chunk", "error", "done")]
    assert shown[-1]["event"] == "error" and shown[-1]["message"] == "Cancelled." and shown[-1]["answer"]
    assert fake.client_closed.wait(5)
    turns_after_cancel = [e for e in events if e["event"] == "turns"][1]["turns"]
    assert [t["role"] for t in turns_after_cancel] == ["user", "assistant", "user", "assistant", "user", "assistant"]
    assert turns_after_cancel[4]["content"] == "write a long story" and turns_after_cancel[5]["content"]

    # a new conversation: a fresh session, no turns sent
    assert "cleared" in kinds
    fresh = results[2]
    assert fresh["conversation"] != conversation and fresh["turn"] == 1
    assert "Hello, world!" not in json.dumps(bodies[-1]["messages"])
    assert [t["role"] for t in [e for e in events if e["event"] == "turns"][2]["turns"]] == ["user", "assistant"]

    # the key picker: the providers kilo/serverStatus lists, the environment's key shown as set
    choices = next(e for e in events if e["event"] == "keyChoices")
    assert "openrouter" in choices["providers"] and len(choices["choices"]) == len(choices["providers"])
    assert "OpenRouter (openrouter) — key set (env)" in choices["choices"]
    # the keys the plugin keeps, pushed to a sidecar that (re)started: taken, and refused for an unknown provider
    restored = next(e for e in events if e["event"] == "restored")
    assert restored == {"event": "restored", "took": ["anthropic"], "keySet": True, "keySource": "editor"}


def test_no_model_names_the_plugins_action_not_a_protocol_method(driver, tmp_path):
    """With no key and no local server, the tool window's error names Tools › Kilo › Kilo: Set API
    Key: the plugin sends editorCommands, and the sidecar's text uses it."""
    ws = tmp_path / "shop"
    ws.mkdir()
    env = isolated_env(tmp_path / "home", {"KILO_PYTHON": sys.executable})
    events = driver("nokey", str(ws), env=env, cwd=ws)
    error = next(e for e in events if e["event"] == "error")["message"]
    assert "Tools › Kilo › Kilo: Set API Key" in error and "kilo/setCredentials" not in error, error
    # the status bar says the model the router chose cannot be called (kilo/status's callable)
    status = next(e for e in events if e["event"] == "status")
    assert status["callable"] is False and status["text"].endswith("(not callable) · efficient"), status
    # Kilo: Open Dashboard: the sidecar's URL, which answers with its token and refuses without it
    dashboard = next(e for e in events if e["event"] == "dashboard")
    assert dashboard["loopback"] and dashboard["withToken"] == 200 and dashboard["withoutToken"] in (401, 403), dashboard
    assert not dashboard["redactedHasToken"] and dashboard["redacted"].endswith("token=…"), dashboard


def test_first_run_installs_the_sidecar_from_the_bundled_wheel(driver, tmp_path):
    """No kilo-lsp anywhere: the installer makes its own environment from the bundled wheel with the
    real venv and pip, says each step, and finds it again; without the wheel, a clear error."""
    bundled = tmp_path / "bundled"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check", "-q", "-w",
                    str(bundled), str(ROOT)], check=True, capture_output=True, timeout=300)
    python_dir = str(Path(shutil.which("python3") or sys.executable).parent)
    env = {**isolated_env(tmp_path / "home"), "PATH": f"/usr/bin:/bin:{python_dir}"}
    env.pop("KILO_LSP_COMMAND", None)
    events = driver("install", str(tmp_path / "data"), str(bundled), str(tmp_path), env=env, timeout=600)
    assert events[0]["event"] == "find" and events[0].get("found") is None
    assert "kilo-lsp on PATH: not found" in events[0]["tried"]
    steps = [e["text"] for e in events if e["event"] == "step"]
    assert steps[0].startswith("Looking for Python") and any(s.startswith("Installing kilo_lsp-") for s in steps)
    installed = next(e for e in events if e["event"] == "installed")["sidecar"]
    assert installed["command"][-3:] == ["-m", "kilo_lsp", "--stdio"] and installed["where"].endswith("jetbrains-env")
    assert events[-1]["event"] == "find" and events[-1]["found"]["version"] == installed["version"]

    empty = driver("install", str(tmp_path / "data2"), str(tmp_path / "nothing"), env=env)
    assert empty[-1]["event"] == "installError" and "bundles no sidecar" in empty[-1]["message"]

    # README's install (DATA/venv) is found and used as it is
    readme = tmp_path / "data3" / "venv" / "bin" / "python"
    readme.parent.mkdir(parents=True)
    readme.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    readme.chmod(0o755)
    found = driver("install", str(tmp_path / "data3"), str(tmp_path / "nothing"), env=env)
    assert len(found) == 1 and found[0]["found"]["where"] == str(tmp_path / "data3" / "venv")


def test_recorded_responses_read_into_the_plugins_types(driver):
    """Every kilo/complete, kilo/usage and kilo/route answer recorded from the real sidecar
    (editors/recorded, rewritten by tests/test_recorded_responses.py) read with Gson into the
    plugin's types, as LSP4J reads them: each figure the plugin shows is the recorded one (a field
    name the types got wrong would read as its default)."""
    files = sorted((ROOT / "editors" / "recorded").glob("*.json"))
    assert files, "editors/recorded is empty: tests/test_recorded_responses.py writes it"
    events = driver("recorded", *map(str, files), env={"PATH": "/usr/bin:/bin"})
    shown: dict[tuple[str, str], list[dict]] = {}
    current = ""
    for e in events:
        if e["event"] == "file":
            current = e["name"]
        else:
            shown.setdefault((current, e["event"]), []).append(e)
    checked = 0
    for path in files:
        answers = [x for x in json.loads(path.read_text())["exchanges"] if x.get("result") is not None]
        for kind, method in (("complete", "kilo/complete"), ("usage", "kilo/usage"), ("route", "kilo/route"),
                             ("serverStatus", "kilo/serverStatus")):
            recorded = [x["result"] for x in answers if x["method"] == method]
            got = shown.get((path.name, kind), [])
            assert len(got) == len(recorded), (path.name, kind)
            for r, g in zip(recorded, got):
                checked += 1
                if kind == "complete":
                    assert g["footer"].startswith(f"{r['modelName']} via {r['provider']} · ${r['costUsd']:.4f}"), g
                    assert f" · {r['usage']['outputTokens']} tokens" in g["footer"]
                    assert g["footer"].endswith("\n" + r["card"]["reason"])
                elif kind == "serverStatus":
                    assert g["choices"] == [p["name"] for p in r["providers"]] and g["choices"]
                elif kind == "usage":
                    assert g["status"] == f"Kilo · ${r['costUsd']:.2f} today" and g["days"] == [d["day"] for d in r["byDay"]]
                else:
                    assert g["preview"].startswith(f"{r['modelName']}") and r["reason"] in g["preview"]
                    assert f"difficulty {r['difficulty']}" in g["preview"]
    assert checked >= 10
