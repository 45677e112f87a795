"""Cool-downs after failures: per provider or per route (a model at a provider), counted per incident,
with a trial request (half-open) instead of a blind wait.

- **Per incident.** Requests that were in flight together and fail together (six streams cut by one
  network blip) are one incident: a failure counts only if its request started after the last failure
  was counted. Counting each of them made one blip a sixth consecutive failure, a cool-down of a minute.
- **Cool-down.** ``base * 2**(n-1)`` seconds after the n-th incident in a row, at most ``cap``; a
  refused key (``auth``) cools for ``cap`` at once; a Retry-After from the server is honoured (up to
  ``retry_after_cap``) and nothing, not even a trial, is sent before it ends.
- **Half-open.** When a cool-down ends, the next request is a trial: the others keep away until it
  ends; its success closes the breaker, its failure opens it again for longer. A request that has no
  other route to try gets a trial at once (``trial_now``), rather than being refused for the rest of
  the cool-down: the provider may well be healthy again, and if it is not, the user hears why.
- A bad request (``client``) and a cancellation say nothing about the provider and do not count.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from .base import ProviderError

GO, TRIAL, WAIT = "go", "trial", "wait"


@dataclass
class _State:
    failures: int = 0              # incidents in a row
    until: float = 0.0             # the cool-down ends (a trial may go)
    hard_until: float = 0.0        # Retry-After: nothing before this
    counted_at: float = float("-inf")   # when the last incident was counted
    reason: str = ""
    trial: bool = False            # a trial request is in flight


class Breakers:
    """The breaker of every provider and route, by key (``provider`` or ``provider|model``)."""

    def __init__(self, *, base: float = 2.0, cap: float = 120.0, retry_after_cap: float = 900.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.base, self.cap, self.retry_after_cap = base, cap, retry_after_cap
        self.clock = clock
        self._states: dict[str, _State] = {}

    def now(self) -> float:
        return self.clock()

    # -- admission ------------------------------------------------------------------------------
    def state(self, key: str) -> str:
        """GO (closed), TRIAL (the cool-down is over: the next request is a trial) or WAIT."""
        s = self._states.get(key)
        if s is None:
            return GO
        now = self.clock()
        if s.trial or now < s.hard_until or now < s.until:
            return WAIT
        return TRIAL

    def admit(self, key: str) -> str:
        """``state``, and a TRIAL claimed (the others WAIT until it ends)."""
        answer = self.state(key)
        if answer == TRIAL:
            self._states[key].trial = True
        return answer

    def can_trial(self, key: str) -> bool:
        """Whether a trial may go now, before the cool-down ends: not before a Retry-After ends, nor
        while another trial is in flight."""
        s = self._states.get(key)
        return s is None or not (s.trial or self.clock() < s.hard_until)

    def trial_now(self, key: str) -> bool:
        """Claim a trial before the cool-down ends (nothing else can answer the request)."""
        if not self.can_trial(key):
            return False
        s = self._states.get(key)
        if s is not None:
            s.trial = True
        return True

    def release(self, key: str) -> None:
        """A trial that ended without saying anything (cancelled): the next request may try again."""
        s = self._states.get(key)
        if s is not None:
            s.trial = False

    # -- outcomes -------------------------------------------------------------------------------
    def failure(self, key: str, error: ProviderError | None = None, started_at: float | None = None) -> float:
        """Record a failure of a request that started at ``started_at`` (this clock); returns the
        cool-down in seconds (0 when the failure does not cool)."""
        if error is not None and error.kind in ("client", "cancelled"):
            self.release(key)
            return 0.0
        now = self.clock()
        s = self._states.setdefault(key, _State())
        same_incident = started_at is not None and started_at <= s.counted_at
        if not same_incident:
            s.failures += 1
            s.counted_at = now
        seconds = min(self.cap, self.base * 2 ** (s.failures - 1))
        if error is not None and error.kind == "auth":
            seconds = self.cap
        if error is not None and error.retry_after is not None:
            wait = min(error.retry_after, self.retry_after_cap)
            s.hard_until = max(s.hard_until, now + wait)
            seconds = max(seconds, wait)
        s.until = max(s.until, now + seconds)
        s.reason = error.kind if error is not None else "failure"
        s.trial = False
        return seconds

    def success(self, key: str) -> None:
        self._states.pop(key, None)

    def forget(self, key: str) -> None:
        self._states.pop(key, None)

    # -- reading --------------------------------------------------------------------------------
    def ends_at(self, key: str) -> float:
        """When the cool-down of ``key`` ends (this clock; 0 when it has none): a fixed instant, so
        routes compared by it keep their order however long the comparing takes."""
        s = self._states.get(key)
        return max(s.until, s.hard_until) if s else 0.0

    def remaining(self, key: str) -> float:
        return max(0.0, self.ends_at(key) - self.clock()) if key in self._states else 0.0

    def cooling(self, key: str) -> bool:
        return self.state(key) == WAIT

    def report(self) -> dict[str, dict[str, object]]:
        """The keys cooling now: key -> {seconds, reason, failures}."""
        return {k: {"seconds": round(self.remaining(k), 3), "reason": s.reason, "failures": s.failures}
                for k, s in self._states.items() if self.cooling(k)}
