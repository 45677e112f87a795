"""Which routes a forwarded request tries, in order, when a provider fails before the first token.

The chosen model through each callable provider, then the other candidates of the decision card that
clear the bar (in the card's order), then Balanced; at most ``MAX_ATTEMPTS`` calls. Free and local
models only when the tier is free or the day's budget is spent. After the first token nothing is
switched silently: the forwarder returns the partial text with the error.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config import Settings
from ..leaderboard.model import Leaderboard
from ..protocol import DecisionCard
from ..routing.availability import is_local_provider

MAX_ATTEMPTS = 4
#: Failures that are about one model at a provider (a gateway serves many), so they cool that model
#: there; refused connections, TLS, keys and rate limits are about the provider and cool all of it,
#: unless they come after the server answered (a stream that broke: ``ProviderError.midstream``).
MODEL_SCOPED = frozenset(("server", "protocol", "client"))


@dataclass(frozen=True)
class Route:
    model: str
    provider: str
    provider_model_id: str

    @property
    def pair(self) -> str:
        """The cool-down key of this model at this provider."""
        return f"{self.provider}|{self.provider_model_id}"


def failover_plan(card: DecisionCard, board: Leaderboard, settings: Settings, local: set[str]) -> list[Route]:
    """The routes to try, best first (see the module docstring)."""
    keyed = settings.credentialed_providers() | local
    free_only = card.tier == "free" or card.reason_code.startswith("budget_exhausted")
    out: list[Route] = []

    def add(model_id: str, first: tuple[str | None, str | None] = (None, None)) -> None:
        model = board.models.get(model_id)
        if model is None or (free_only and not (model.free or model.local)):
            return
        options = []
        if first[0] and first[1]:
            options.append((first[0], first[1]))
        options += [(p, mid) for p, mid in model.routes.items() if p in keyed or (is_local_provider(p) and p in local)]
        for provider, pmid in options:
            r = Route(model_id, provider, pmid)
            if r not in out:
                out.append(r)

    add(card.model, (card.provider, card.provider_model_id))
    for cand in card.candidates:
        if cand.model != card.model and cand.clears_bar and cand.callable:
            add(cand.model)
    add(board.balanced)
    return out[:MAX_ATTEMPTS * 2]
