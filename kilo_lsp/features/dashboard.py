"""kilo/dashboard: the URL of the dashboard this sidecar serves, and the decisions it keeps for it.

The dashboard (``kilo_lsp/dashboard``) starts at the first kilo/dashboard request, off the event loop,
on the same engine and ledger file as the sidecar, and lives as long as the sidecar. A dial or tier
changed there is written to the user config file and taken by this sidecar on its event loop before
the page answers, so the next decision follows it.

Every decision the sidecar makes (not dry runs) is kept in the ledger's ``decisions`` table, written
off the event loop, for the dashboard's decision cards and replays.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from ..config import UserFile
from ..lsp.requests import kilo_request
from ..lsp.workspace import canonical_uri
from ..protocol import DASHBOARD, DashboardParams, DashboardResult

log = logging.getLogger("kilo_lsp.dashboard")

PAGES = {None: "/", "usage": "/", "leaderboard": "/leaderboard", "decisions": "/decisions", "settings": "/settings"}
APPLY_TIMEOUT = 10.0



def _folders(ls: Any) -> list[str]:
    try:
        return [f.uri for f in list(ls.workspace.folders.values())]
    except Exception:  # noqa: BLE001 - read from the dashboard's thread while the editor may change them
        return []


def _start(ls: Any, engine: Any, ledger_path: Any, loop: asyncio.AbstractEventLoop) -> Any:
    from ..dashboard.server import DashboardServer, Host

    async def take(read: UserFile) -> None:
        ls.config.use_file(read)
        ls.report_problems()

    def use_file(read: UserFile) -> None:     # from the dashboard's thread: on the loop, and wait for it
        asyncio.run_coroutine_threadsafe(take(read), loop).result(APPLY_TIMEOUT)

    server = DashboardServer(Host(engine, ledger_path, "the sidecar", lambda: _folders(ls), use_file,
                                  live_outcomes=True)).start()
    log.info("dashboard on http://127.0.0.1:%d", server.port)
    return server


async def open_dashboard(ls: Any, params: DashboardParams) -> DashboardResult:
    if ls.dashboard is None:
        if ls.dashboard_lock is None:
            ls.dashboard_lock = asyncio.Lock()
        async with ls.dashboard_lock:
            if ls.dashboard is None:
                engine, path = ls.engine, ls.ledger.path
                ls.dashboard = await asyncio.to_thread(_start, ls, engine, path, asyncio.get_running_loop())
    path = PAGES[params.page]
    query: dict[str, Any] = {}
    workspace = canonical_uri(params.workspace_uri) if params.workspace_uri else None   # as the ledger has it
    if workspace and params.conversation_id:
        path, query = "/decisions", {"workspace": workspace, "conversation": params.conversation_id}
    elif workspace and params.page == "decisions":
        query = {"workspace": workspace}
    return DashboardResult(ls.dashboard.url(path, **query))


def register(server: Any) -> None:
    @kilo_request(server, DASHBOARD)
    async def dashboard(ls: Any, params: DashboardParams) -> DashboardResult:
        return await open_dashboard(ls, params)
