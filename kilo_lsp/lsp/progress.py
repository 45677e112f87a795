"""Work-done progress for a long request (a streamed answer), and the cancel button that comes with it.

One helper for both ways an editor gets progress: a ``workDoneToken`` the client sends with the
request (kilo/complete), or a token the server creates with ``window/workDoneProgress/create`` when
the client says it can show server-initiated progress (the kilo.ask command). Cancelling the progress
in the editor cancels the task that reports it.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any, Callable

from lsprotocol import types

TITLE = "Kilo"
INTERVAL = 0.1                  # seconds between reports
CREATE_TIMEOUT = 5.0            # how long a client may take to accept a server-created token
_ids = itertools.count(1)


class Progress:
    """Begin, throttled reports, end. ``on_cancel`` runs when the user cancels the progress."""

    def __init__(self, server: Any, token: Any, *, own_token: bool = False,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.server = server
        self.token = token
        self.own_token = own_token
        self.clock = clock
        self._last = 0.0
        self.cancelled = False

    @classmethod
    def from_client(cls, server: Any, token: Any) -> "Progress | None":
        """Progress on the token the client sent with its request, if it sent one."""
        return cls(server, token) if token is not None else None

    @classmethod
    async def create(cls, server: Any, name: str) -> "Progress | None":
        """Progress on a new server-created token, when the client can show it (else None)."""
        caps = server.client_capabilities
        if not (caps and caps.window and caps.window.work_done_progress):
            return None
        token = f"{name}-{next(_ids)}-{time.monotonic_ns()}"
        try:
            await asyncio.wait_for(server.work_done_progress.create_async(token), CREATE_TIMEOUT)
        except Exception:  # noqa: BLE001 - a client that refuses progress still gets its answer
            return None
        return cls(server, token, own_token=True)

    def begin(self, message: str, task: "asyncio.Task[Any] | None" = None) -> None:
        """Show the progress (cancellable); cancelling it cancels ``task`` (default: the current one)."""
        self.server.work_done_progress.begin(self.token, types.WorkDoneProgressBegin(
            title=TITLE, message=message, cancellable=True))
        task = task or asyncio.current_task()
        future = self.server.work_done_progress.tokens.get(self.token)
        if future is not None and task is not None:
            loop = asyncio.get_running_loop()

            def cancelled(f: Any) -> None:
                if f.cancelled():
                    self.cancelled = True
                    loop.call_soon_threadsafe(task.cancel)
            future.add_done_callback(cancelled)

    def report(self, message: Callable[[], str]) -> None:
        """Report at most every INTERVAL seconds; ``message`` is only built when a report is due."""
        now = self.clock()
        if now - self._last >= INTERVAL:
            self._last = now
            self.server.work_done_progress.report(self.token, types.WorkDoneProgressReport(message=message()))

    def end(self, message: str) -> None:
        self.server.work_done_progress.end(self.token, types.WorkDoneProgressEnd(message=message))
        if self.own_token:
            self.server.work_done_progress.tokens.pop(self.token, None)
