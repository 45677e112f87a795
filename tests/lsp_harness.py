"""Start the real sidecar process and drive it with pytest-lsp's client, isolated from the user."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Any

import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient
from pytest_lsp.client import register_lsp_features

from kilo_lsp.lsp.overrides import dict_params_converter

ROOT = Path(__file__).resolve().parent.parent

#: The sidecar as ``python -c`` code (kept for tests that start it that way).
SERVER_WITH_FORWARDING = "import sys; from kilo_lsp.cli import main; sys.exit(main(['--stdio']))"


def make_client() -> LanguageClient:
    client = LanguageClient(converter_factory=dict_params_converter)
    register_lsp_features(client)
    client.statuses = []  # kilo/status notifications
    client.feature("kilo/status")(lambda params: client.statuses.append(params))
    return client


def isolated_env(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """A server environment with no user config, no keys and no proxies from this machine."""
    env = {k: v for k, v in os.environ.items()
           if not k.endswith("_API_KEY") and not k.startswith("KILO_") and "PROXY" not in k.upper()}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / "config"), XDG_DATA_HOME=str(home / "data"),
               PYTHONPATH=str(ROOT), KILO_LOCAL_DISCOVER="0")
    env.update(extra or {})
    return env


@contextlib.asynccontextmanager
async def sidecar(home: Path, *, env: dict[str, str] | None = None, init_options: dict[str, Any] | None = None,
                  folders: list[str] | None = None, configuration: dict[str, Any] | None = None,
                  client_name: str = "pytest-lsp"):
    """A running sidecar with an initialized session; shuts it down afterwards."""
    config = ClientServerConfig(server_command=[sys.executable, "-m", "kilo_lsp", "--stdio"],
                                client_factory=make_client, server_env=isolated_env(home, env))
    client = await config.start()
    for scope, value in (configuration or {}).items():
        client.set_configuration(value, section="kilo", scope_uri=scope or None)
    folder_objs = [types.WorkspaceFolder(uri=u, name=u.rsplit("/", 1)[-1]) for u in (folders or [])]
    result = await client.initialize_session(types.InitializeParams(
        capabilities=pytest_lsp.client_capabilities("visual-studio-code"),
        client_info=types.ClientInfo(name=client_name, version="1.0"),
        initialization_options=init_options,
        workspace_folders=folder_objs or None,
        root_uri=folder_objs[0].uri if folder_objs else None,
    ))
    client.init_result = result
    try:
        yield client
    finally:
        await client.shutdown_session()
        await client.stop()


async def request(client: LanguageClient, method: str, params: Any) -> Any:
    return await client.protocol.send_request_async(method, params)
