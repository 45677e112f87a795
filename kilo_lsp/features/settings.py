"""Settings from the editor and the local model servers they name.

The client's settings arrive with ``workspace/didChangeConfiguration`` and are read with
``workspace/configuration`` (section ``kilo``, once globally and once per workspace folder) after
``initialized`` and after every change. Local servers are then asked what they serve.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from lsprotocol import types

log = logging.getLogger("kilo_lsp")

CONFIGURATION_TIMEOUT = 5.0      # seconds a client may take to answer workspace/configuration


async def after_initialized(ls: Any) -> None:
    """What `initialized` starts that talks to the client or the network."""
    await pull_configuration(ls)
    await refresh_local_models(ls)


async def pull_configuration(ls: Any) -> None:
    """Ask the client for the global and per-folder 'kilo' settings, when it can answer."""
    caps = ls.client_capabilities
    if not (caps and caps.workspace and caps.workspace.configuration):
        return
    folders = list(ls.workspace.folders.values())
    items = [types.ConfigurationItem(section="kilo")] + [
        types.ConfigurationItem(scope_uri=f.uri, section="kilo") for f in folders]
    try:
        values = await asyncio.wait_for(
            ls.workspace_configuration_async(types.ConfigurationParams(items=items)), CONFIGURATION_TIMEOUT)
    except Exception as exc:  # noqa: BLE001 - a client that cannot answer keeps the settings it has
        log.info("workspace/configuration not answered: %s", exc)
        return
    if not isinstance(values, (list, tuple)) or not values:
        return
    if isinstance(values[0], dict):
        ls.config.set_client_settings({"kilo": values[0]})
    for folder, value in zip(folders, values[1:]):
        if isinstance(value, dict) and value != values[0]:
            ls.config.set_folder_settings(folder.uri, {"kilo": value})
            ls.report_problems(folder.uri)


async def refresh_local_models(ls: Any) -> None:
    """Ask local servers what they serve; their models become callable, free and local."""
    settings = ls.config.effective()
    if not settings.local.discover:
        return
    # httpx stays off the start-up path: this runs after `initialized`
    from ..providers.local import discover_models
    models = await discover_models(settings)
    if [m.id for m in models] != [m.id for m in ls.engine.local_models]:
        ls.engine.local_models = models
        log.info("local models: %s", ", ".join(m.id for m in models) or "none found")


def register(server: Any) -> None:
    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def on_configuration(ls: Any, params: types.DidChangeConfigurationParams) -> None:
        if params.settings is not None:
            ls.config.set_client_settings(params.settings)
        await pull_configuration(ls)
        ls.report_problems()
        await refresh_local_models(ls)
