"""Which route goes as the trial when every route of a plan waits on its provider's cool-down."""

from types import SimpleNamespace

from kilo_lsp.forwarding.failover import Route
from kilo_lsp.forwarding.forwarder import Forwarder
from kilo_lsp.providers.base import ProviderError
from kilo_lsp.providers.breaker import Breakers


class Pool:
    """What the route walk asks of a provider pool: its providers and their breakers."""

    def __init__(self, breakers: Breakers) -> None:
        self.breakers = breakers

    def __contains__(self, provider: str) -> bool:
        return True

    def cooldown_remaining(self, key: str) -> float:
        return self.breakers.remaining(key)


def test_the_trial_goes_to_the_plans_first_route_however_slow_the_walk():
    """A refused key cools the provider; every route waits on that one cool-down. The trial goes to
    the route the user's request chose (the first), even when the clock moves while the plan is
    walked (it did under load, and the trial went to the last route instead)."""
    now = [1000.0]

    def ticking() -> float:                 # every reading of the clock is a millisecond later
        now[0] += 0.001
        return now[0]

    breakers = Breakers(clock=ticking)
    breakers.failure("openrouter", ProviderError("auth", "refused"))
    plan = [Route(m, "openrouter", f"x/{m}") for m in ("gpt-5-mini", "minimax-m2-7", "claude-opus-4-8", "minimax-m3")]
    req = SimpleNamespace(attempts=[])
    walked = list(Forwarder._routes(None, plan, Pool(breakers), req))
    assert [r.model for r in walked] == ["gpt-5-mini"]
    assert [a.model for a in req.attempts] == ["minimax-m2-7", "claude-opus-4-8", "minimax-m3"]
    assert all(a.outcome == "skipped" for a in req.attempts)
