"""Keeping the list of local models current while the sidecar runs.

A local server (Ollama, LM Studio, llama.cpp) is often started after the editor, or restarted with
other models. So the servers are asked again and again: right after start-up, then with a backoff
while nothing changes (``base``, twice that, ... up to ``cap`` seconds), and at once after a
settings change or a failed call to a local server (``poke``). A request that arrives while a probe
is under way waits for it (``settled``), so the first request after start-up sees the servers
that are already running.

Plain asyncio: the probe (an HTTP GET per server) is given as a function, so this module imports no
HTTP code and is tested with any probe.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Awaitable, Callable

from ..leaderboard.model import Model
from .local import LocalServer

log = logging.getLogger("kilo_lsp")

Probe = Callable[[], Awaitable[tuple[list[LocalServer], list[Model]]]]


class LocalDiscovery:
    """The local servers' state and models, refreshed in the background (see the module docstring)."""

    def __init__(self, probe: Probe, on_change: Callable[[list[Model]], None], *, base: float = 1.0,
                 cap: float = 30.0, clock: Callable[[], float] = time.monotonic,
                 on_probe: Callable[[list[LocalServer]], None] | None = None) -> None:
        self.probe = probe
        self.on_change = on_change          # the models changed
        self.on_probe = on_probe            # every probe: e.g. end the cool-down of a server that answers
        self.base = base
        self.cap = cap
        self.clock = clock
        self.servers: list[LocalServer] = []
        self.models: list[Model] = []
        self.started = 0                  # probes started
        self.finished = 0                 # probes finished
        self.checked_at: float | None = None
        self.next_delay = base
        self._wake = asyncio.Event()
        self._done = asyncio.Event()      # set (and replaced) each time a probe finishes
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def probing(self) -> bool:
        return self.running and (self.started > self.finished or self._wake.is_set())

    def start(self) -> None:
        """Probe now, then keep probing (idempotent: when running, the same as ``poke``)."""
        if self.running:
            self.poke()
            return
        self.next_delay = self.base
        self._wake.set()                  # the first probe counts as under way from now on
        self._task = asyncio.get_running_loop().create_task(self._run(), name="kilo-local-discovery")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._wake.clear()

    def poke(self) -> None:
        """Probe again now and start the backoff afresh (a settings change, a failed local call)."""
        if self.running:
            self.next_delay = self.base
            self._wake.set()

    async def _until(self, finished: int, timeout: float) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.running and self.finished < finished:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._done.wait(), remaining)
        return True

    async def settled(self, timeout: float) -> bool:
        """Wait (at most ``timeout`` seconds) for the probe under way or asked for, if any; False on
        timeout."""
        if not self.probing:
            return True
        return await self._until(self.started + (1 if self._wake.is_set() else 0), timeout)

    async def refresh(self, timeout: float) -> bool:
        """Probe now (a new probe, not one already under way) and wait for it; True when the models
        changed."""
        if not self.running:
            return False
        before = [m.id for m in self.models]
        self.poke()
        await self._until(self.started + 1, timeout)
        return [m.id for m in self.models] != before

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            self.started += 1
            try:
                servers, models = await self.probe()
            except Exception:  # noqa: BLE001 - a probe never ends discovery
                log.debug("local discovery probe failed", exc_info=True)
                servers, models = self.servers, self.models
            changed = [m.id for m in models] != [m.id for m in self.models]
            self.servers, self.checked_at = servers, self.clock()
            if self.on_probe is not None:
                self.on_probe(servers)
            if changed:
                self.models = models
                self.next_delay = self.base
                self.on_change(models)
            self.finished += 1
            done, self._done = self._done, asyncio.Event()
            done.set()
            delay, self.next_delay = self.next_delay, min(self.cap, self.next_delay * 2)
            if not self._wake.is_set():
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), delay)
