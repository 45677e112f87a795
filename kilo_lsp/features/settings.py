"""Settings from the editor and the local model servers they name.

The client's settings arrive with ``workspace/didChangeConfiguration`` and are read with
``workspace/configuration`` (section ``kilo``, once globally and once per workspace folder) after
``initialized`` and after every change. Local servers are then asked what they serve, and asked again
in the background (``providers/discovery.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from lsprotocol import types

from ..lsp.requests import kilo_request
from ..protocol import SERVER_STATUS, LocalServerView, ModelChoice, ProviderKeyView, ServerStatusParams, ServerStatusResult
from ..providers.known import KNOWN
from ..routing.availability import is_local_provider
from ..lsp.workspace import canonical_uri

log = logging.getLogger("kilo_lsp")

CONFIGURATION_TIMEOUT = 5.0      # seconds a client may take to answer workspace/configuration
LOCAL_WAIT = 2.0                 # seconds a request waits for a probe of the local servers under way


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
        # a folder that answers as the window does has no settings of its own (any more: a value
        # the user removed there must stop applying); folders are keyed by the canonical URI a
        # decision names (lsp/workspace.py)
        if isinstance(value, dict):
            ls.config.set_folder_settings(canonical_uri(folder.uri), {"kilo": value} if value != values[0] else {})
    ls.report_problems()


def local_discovery(ls: Any) -> Any:
    """The sidecar's LocalDiscovery, built on first use (httpx stays off the start-up path)."""
    if ls.local_discovery is None:
        from ..providers.discovery import LocalDiscovery
        from ..providers.local import probe_servers

        def on_change(models: list[Any]) -> None:
            ls.engine.local_models = models
            log.info("local models: %s", ", ".join(m.id for m in models) or "none found")

        def on_probe(servers: list[Any]) -> None:
            pool = ls._forwarder.pool if ls._forwarder is not None else None
            for server in servers:        # a server that answers is up again: no cool-down left
                if server.reachable and pool is not None and pool.is_cooling(server.name):
                    pool.mark_success(server.name)

        ls.local_discovery = LocalDiscovery(lambda: probe_servers(ls.config.effective()), on_change,
                                            on_probe=on_probe)
    return ls.local_discovery


async def refresh_local_models(ls: Any) -> None:
    """Ask local servers what they serve now, and keep asking (``providers/discovery.py``); their
    models become callable, free and local. With ``local.discover`` off, there are none."""
    if not ls.config.effective().local.discover:
        if ls.local_discovery is not None:
            await ls.local_discovery.stop()
            if ls.engine.local_models:
                ls.engine.local_models = []
                log.info("local models: discovery is off")
        return
    discovery = local_discovery(ls)
    discovery.start()
    await discovery.settled(LOCAL_WAIT)


async def local_ready(ls: Any) -> None:
    """Before a request is forwarded: wait (at most LOCAL_WAIT seconds) for the settings and the
    probe of the local servers under way, so that a request right after start-up, or right after
    a local server was named, sees the servers that run."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + LOCAL_WAIT
    starting = ls.starting
    if starting is not None and not starting.done():
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.shield(starting), LOCAL_WAIT)
    if ls.local_discovery is not None:
        await ls.local_discovery.settled(max(0.0, deadline - loop.time()))


#: How a call to a local server fails when it stopped, or restarted with other models (a 404 for the
#: model is ``client``).
LOCAL_FAILURES = frozenset({"connect", "timeout", "server", "client", "protocol"})


def local_call_failed(attempts: list[Any]) -> bool:
    """An attempt to a local server failed in a way a probe may explain."""
    return any(is_local_provider(a.provider) and a.outcome == "error" and a.error_kind in LOCAL_FAILURES
               for a in attempts)


async def local_changed_after_failure(ls: Any, code: str, attempts: list[Any]) -> bool:
    """After a request got no answer (nothing callable, or every call failed): probe the local
    servers now; True when what they serve changed, so the request is worth routing again."""
    discovery = ls.local_discovery
    if discovery is None or code not in ("no_model", "all_failed", "refused"):
        return False
    if code != "no_model" and not local_call_failed(attempts):
        return False
    return await discovery.refresh(LOCAL_WAIT)


def key_source(source: str | None) -> str | None:
    """Where a key came from, without the file's path: env, user-file or editor."""
    if not source:
        return None
    if source.startswith("user-file"):
        return "user-file"
    return "editor" if source == "editor-secret-store" else source


def server_status(ls: Any) -> ServerStatusResult:
    """kilo/serverStatus: the providers that take a key, the local servers, the settings problems."""
    settings = ls.config.effective()
    providers = [ProviderKeyView(name=name, label=known.label or name, key_env=known.key_env,
                                 key_set=bool(settings.providers.get(name) and settings.providers[name].api_key),
                                 key_source=key_source(settings.sources.get(f"providers.{name}.apiKey"))
                                 if settings.providers.get(name) and settings.providers[name].api_key else None)
                 for name, known in KNOWN.items() if not known.local]
    discovery = ls.local_discovery
    if not settings.local.discover:
        state, servers, ago = "off", [], None
    elif discovery is None or discovery.finished == 0:
        state, servers, ago = "starting", [], None
    else:
        state = "probing" if discovery.probing else "idle"
        servers = [LocalServerView(s.name, s.url, s.reachable, list(s.models)) for s in discovery.servers]
        ago = round(discovery.clock() - discovery.checked_at, 3) if discovery.checked_at is not None else None
    board = ls.engine.leaderboard(settings)
    reach = ls.engine.reachable(board, settings)
    models = sorted((ModelChoice(m.id, m.name, m.id in reach, m.local) for m in board.models.values()),
                    key=lambda m: (not m.callable, not m.local, m.id))
    return ServerStatusResult(providers=providers, local_discovery=state, local_servers=servers,
                              local_checked_seconds_ago=ago, callable_models=len(reach), models=models,
                              settings_problems=ls.settings_problems())


def register(server: Any) -> None:
    @kilo_request(server, SERVER_STATUS)
    def status(ls: Any, params: ServerStatusParams) -> ServerStatusResult:
        return server_status(ls)

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def on_configuration(ls: Any, params: types.DidChangeConfigurationParams) -> None:
        if params.settings is not None:
            ls.config.set_client_settings(params.settings)
        await pull_configuration(ls)
        ls.report_problems()
        await refresh_local_models(ls)
