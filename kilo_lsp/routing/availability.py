"""Which models can be called now, and through which provider.

A model is callable when one of its routes goes to a provider the user has a key for, or to a
local server. Its maker's own API is preferred to a gateway unless the user says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..leaderboard.model import Leaderboard, Model

GATEWAYS = ("kilo", "openrouter")
LOCAL_PREFIX = "local"


@dataclass(frozen=True)
class Reach:
    provider: str           # provider name ("anthropic", "openrouter", "local:lmstudio", ...)
    provider_model_id: str  # the model's id at that provider


def is_local_provider(name: str) -> bool:
    return name.startswith(LOCAL_PREFIX) or name in ("ollama", "lmstudio")


def reach(model: Model, keyed: set[str], prefer_direct: bool = True) -> Reach | None:
    """The route to use for a model, or None when the user cannot call it."""
    options = [(p, mid) for p, mid in model.routes.items() if p in keyed or is_local_provider(p)]
    if not options:
        return None

    def rank(option: tuple[str, str]) -> tuple[int, int]:
        provider = option[0]
        if is_local_provider(provider):
            return (0, 0)
        direct = provider not in GATEWAYS
        gateway_order = GATEWAYS.index(provider) if provider in GATEWAYS else 0
        return ((0 if direct else 1) if prefer_direct else (1 if direct else 0), gateway_order)

    provider, provider_model_id = min(options, key=rank)
    return Reach(provider, provider_model_id)


def callable_models(board: Leaderboard, keyed: set[str], prefer_direct: bool = True) -> dict[str, Reach]:
    out: dict[str, Reach] = {}
    for model in board.models.values():
        r = reach(model, keyed, prefer_direct)
        if r is not None:
            out[model.id] = r
    return out


def everything(board: Leaderboard) -> dict[str, Reach]:
    """Every model as if callable through its first route (benchmarks and what-if mode)."""
    out = {}
    for model in board.models.values():
        provider, mid = next(iter(model.routes.items()), ("(none)", model.id))
        out[model.id] = Reach(provider, mid)
    return out
