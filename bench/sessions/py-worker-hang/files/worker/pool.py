"""A pool of asyncio workers that pull jobs from the queue and report results upstream."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from worker.queue import Job, JobQueue

log = logging.getLogger(__name__)

Handler = Callable[[Job], Awaitable[dict]]


class WorkerPool:
    def __init__(self, queue: JobQueue, handler: Handler, size: int = 8, report_every: float = 5.0):
        self.queue = queue
        self.handler = handler
        self.size = size
        self.report_every = report_every
        self._lock = asyncio.Lock()
        self._inflight: dict[str, float] = {}
        self._done = 0
        self._tasks: list[asyncio.Task] = []
        self._stopping = asyncio.Event()

    async def start(self) -> None:
        for n in range(self.size):
            self._tasks.append(asyncio.create_task(self._run(n), name=f"worker-{n}"))
        self._tasks.append(asyncio.create_task(self._reporter(), name="reporter"))

    async def stop(self) -> None:
        self._stopping.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _run(self, n: int) -> None:
        while not self._stopping.is_set():
            job = await self.queue.get()
            async with self._lock:
                self._inflight[job.id] = time.monotonic()
                try:
                    result = await asyncio.wait_for(self.handler(job), timeout=job.timeout)
                    await self.queue.ack(job, result)
                except Exception as exc:  # noqa: BLE001 - a failed job must not kill the worker
                    log.exception("job %s failed", job.id)
                    await self.queue.nack(job, str(exc))
                finally:
                    del self._inflight[job.id]
                    self._done += 1

    async def _reporter(self) -> None:
        while not self._stopping.is_set():
            await asyncio.sleep(self.report_every)
            async with self._lock:
                oldest = min(self._inflight.values(), default=None)
                stats = {"inflight": len(self._inflight), "done": self._done,
                         "oldest_s": None if oldest is None else time.monotonic() - oldest}
            await self.queue.report(stats)
