"""The install that README.md documents works on a fresh clone.

The test takes what a clone would hold (the committed tree plus the changes in this checkout, new
files included, without touching the checkout's index), clones it into a temporary folder, and runs
the README's "Install" block there as it is, with HOME in a temporary folder and no environment of
this checkout on PATH: `make dist` builds the wheel and the sdist, a new virtualenv gets the wheel and
its dependencies from the package index, `kilo-lsp` is linked into ~/.local/bin. Then the installed
sidecar (not this checkout's code) answers an LSP session over stdio.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"<!-- install-from-checkout:[^>]*-->\s*```sh\n(.*?)```", re.S)

pytestmark = pytest.mark.skipif(shutil.which("git") is None or shutil.which("make") is None,
                                reason="needs git and make")


def snapshot_commit(tmp: Path) -> str:
    """A commit of the checkout as it is now (tracked and new files), made with a private index."""
    env = {**os.environ, "GIT_INDEX_FILE": str(tmp / "index")}
    git = lambda *a: subprocess.run(["git", *a], cwd=ROOT, env=env, check=True, capture_output=True,  # noqa: E731
                                    text=True).stdout.strip()
    git("read-tree", "HEAD")
    git("add", "-A")
    tree = git("write-tree")
    return git("commit-tree", tree, "-p", "HEAD", "-m", "install test snapshot")


def frame(obj: dict) -> bytes:
    body = json.dumps(obj).encode()
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


def read_frames(data: bytes) -> list[dict]:
    out = []
    while data:
        head, _, rest = data.partition(b"\r\n\r\n")
        length = int(re.search(rb"Content-Length: (\d+)", head).group(1))
        out.append(json.loads(rest[:length]))
        data = rest[length:]
    return out


def test_install_from_a_fresh_clone_as_the_readme_says(tmp_path) -> None:
    block = BLOCK.search((ROOT / "README.md").read_text())
    assert block, "README.md has no install-from-checkout block"
    script = block.group(1)
    commit = snapshot_commit(tmp_path)
    clone = tmp_path / "kilo-lsp"
    subprocess.run(["git", "clone", "--quiet", "--no-checkout", str(ROOT), str(clone)], check=True)
    subprocess.run(["git", "checkout", "--quiet", commit], cwd=clone, check=True)
    assert not (clone / ".venv").exists() and not (clone / "dist").exists()

    home = tmp_path / "home"
    home.mkdir()
    venv_bin = str(Path(sys.executable).parent)
    path = [p for p in os.environ["PATH"].split(os.pathsep) if p and p != venv_bin and ".venv" not in p]
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME") and not k.startswith("KILO_")}
    env.update(HOME=str(home), PATH=os.pathsep.join([str(home / ".local" / "bin"), *path]),
               XDG_CONFIG_HOME=str(home / ".config"), XDG_DATA_HOME=str(home / ".local" / "share"),
               PIP_CACHE_DIR=os.environ.get("PIP_CACHE_DIR", str(Path.home() / ".cache" / "pip")))
    run = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=clone, env=env, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, f"{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    assert run.stdout.strip().endswith("kilo-lsp 0.1.0"), run.stdout[-500:]

    # make dist built a wheel and an sdist holding the package, its data and the command
    wheel = next((clone / "dist").glob("kilo_lsp-*-py3-none-any.whl"))
    sdist = next((clone / "dist").glob("kilo_lsp-*.tar.gz"))
    names = zipfile.ZipFile(wheel).namelist()
    shipped = [p.name for p in (clone / "kilo_lsp" / "data").iterdir() if p.is_file() and p.suffix != ".py"]
    assert shipped and all(f"kilo_lsp/data/{name}" in names for name in shipped), (shipped, names)
    assert "kilo-lsp = kilo_lsp.cli:main" in zipfile.ZipFile(wheel).read(
        next(n for n in names if n.endswith("entry_points.txt"))).decode()
    with tarfile.open(sdist) as tar:
        assert any(n.endswith("kilo_lsp/data/leaderboard.json") for n in tar.getnames())

    # the command on PATH is the installed one, its code in the new environment, not in the clone
    venv = home / ".local" / "share" / "kilo-lsp" / "venv"
    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import kilo_lsp; print(kilo_lsp.__file__)"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(venv)) and "site-packages" in where
    assert shutil.which("kilo-lsp", path=env["PATH"]) == str(home / ".local" / "bin" / "kilo-lsp")

    # ... and it serves: initialize, a route, shutdown, exit
    messages = b"".join(frame(m) for m in (
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"processId": None, "rootUri": None,
                                                                          "capabilities": {}}},
        {"jsonrpc": "2.0", "method": "initialized", "params": {}},
        {"jsonrpc": "2.0", "id": 2, "method": "kilo/route", "params": {"text": "rename foo to bar in utils.py"}},
        {"jsonrpc": "2.0", "id": 3, "method": "shutdown", "params": None},
        {"jsonrpc": "2.0", "method": "exit", "params": None}))
    served = subprocess.run(["kilo-lsp", "--stdio"], input=messages, cwd=tmp_path, env=env, capture_output=True,
                            timeout=60)
    answers = {m["id"]: m for m in read_frames(served.stdout) if "id" in m and "method" not in m}
    assert answers[1]["result"]["capabilities"]["experimental"]["kilo"]["serverVersion"] == "0.1.0"
    assert answers[2]["result"]["model"] and answers[2]["result"]["whatIf"] is True
    assert served.returncode == 0, served.stderr.decode()[-2000:]
    check = subprocess.run(["kilo-lsp", "--check"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert "leaderboard: lb-" in check.stdout and "callable models:" in check.stdout
