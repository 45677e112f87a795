"""The conformance fixtures over Node vscode-jsonrpc (the VS Code client's library), against the real sidecar.

Runs editors/conformance/node/run.mjs with ``node --test``. Installs nothing: ``make setup`` runs
``npm ci`` there. Skips only when Node itself is absent.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NODE_DIR = ROOT / "editors" / "conformance" / "node"
NODE = shutil.which("node")


@pytest.mark.skipif(NODE is None, reason="node is not installed (CI installs it; see editors/README.md)")
def test_node_vscode_jsonrpc_runner_passes_every_fixture():
    assert (NODE_DIR / "node_modules" / "vscode-jsonrpc").is_dir(), \
        "vscode-jsonrpc is not installed: run `make setup` (it runs `npm ci` in editors/conformance/node)"
    env = {**os.environ, "KILO_PYTHON": sys.executable}
    out = subprocess.run([NODE, "--test", "--test-reporter=tap", "run.mjs"], cwd=NODE_DIR, env=env,
                         capture_output=True, text=True, timeout=60)
    report = out.stdout + out.stderr
    assert out.returncode == 0, report[-4000:]
    passed = int(re.search(r"^# pass (\d+)", report, re.M).group(1))
    failed = int(re.search(r"^# fail (\d+)", report, re.M).group(1))
    cases = sum(len(__import__("json").loads(p.read_text())["cases"]) for p in (ROOT / "tests" / "conformance").glob("*.json"))
    assert failed == 0 and passed >= cases, report[-4000:]
