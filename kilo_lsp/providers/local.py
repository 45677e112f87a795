"""Local model servers (Ollama, LM Studio, any OpenAI-compatible server on this machine).

What they serve becomes available as free, local models, named ``<provider>/<model>`` so two
servers with the same model stay apart. No key is ever sent to them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlparse

from ..config import Settings
from ..leaderboard.model import Model, Prices
from .registry import discover_local

LOCAL_CONTEXT_WINDOW = 8_192   # a conservative default; local servers rarely report theirs


def local_endpoints(settings: Settings) -> dict[str, str]:
    """Provider name -> base URL of every local server the settings name."""
    out: dict[str, str] = {}
    if settings.local.ollama_url:
        out["ollama"] = settings.local.ollama_url.rstrip("/")
    if settings.local.lmstudio_url:
        out["lmstudio"] = settings.local.lmstudio_url.rstrip("/")
    for url in settings.local.endpoints:
        parsed = urlparse(url)
        out[f"local:{parsed.hostname}:{parsed.port or 80}"] = url.rstrip("/")
    return out


def models_from_discovery(found: dict[str, list[str]], settings: Settings) -> list[Model]:
    """Catalog entries for what the local servers answered with (base URL -> model ids)."""
    by_url = {url: name for name, url in local_endpoints(settings).items()}
    models: list[Model] = []
    for base, ids in found.items():
        provider = by_url.get(base.rstrip("/"))
        if provider is None:
            continue
        for mid in ids:
            models.append(Model(id=f"{provider}/{mid}", name=f"{mid} (local, {provider})", maker="local",
                                prices=Prices(0.0, 0.0, 0.0), context_window=LOCAL_CONTEXT_WINDOW,
                                free=True, local=True, routes={provider: mid}))
    return models


@dataclass(frozen=True)
class LocalServer:
    """What one local server answered when it was last asked."""

    name: str                    # provider name: "ollama", "lmstudio", "local:127.0.0.1:8080"
    url: str
    reachable: bool
    models: list[str] = field(default_factory=list)


async def probe_servers(settings: Settings, timeout: float = 0.3) -> tuple[list[LocalServer], list[Model]]:
    """Ask every local server the settings name for its model list (all at once, short timeout, never
    raises): each server's state, and the catalog entries of what they serve."""
    endpoints = local_endpoints(settings)
    if not endpoints:
        return [], []
    found = await discover_local(list(endpoints.values()), timeout=timeout)
    servers = [LocalServer(name, url, url in found, list(found.get(url, []))) for name, url in endpoints.items()]
    return servers, models_from_discovery(found, settings)


async def discover_models(settings: Settings, timeout: float = 0.3) -> list[Model]:
    """Ask every local server for its model list (all at once, short timeout, never raises)."""
    return (await probe_servers(settings, timeout))[1]
