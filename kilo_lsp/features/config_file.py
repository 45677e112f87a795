"""The user config file, re-read while the sidecar runs: a change made in the dashboard (or by hand)
counts from the next request, without a restart.

Once a second, off the event loop, the file's modification time, size and inode are compared with the
ones read; when they differ, the file is read again off the loop and taken on it (``ConfigStore.
use_file``), and its problems are shown as at start-up.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

log = logging.getLogger("kilo_lsp")

POLL_SECONDS = 1.0


async def watch(ls: Any, every: float = POLL_SECONDS) -> None:
    config = ls.config
    while True:
        await asyncio.sleep(every)
        try:
            if not await asyncio.to_thread(config.file_changed):
                continue
            read = await asyncio.to_thread(config.read_file)
        except Exception as exc:  # noqa: BLE001 - the settings in force stay; the next check tries again
            log.info("config file not re-read: %s", exc)
            continue
        if read.stamp != config.file.stamp:
            config.use_file(read)
            log.info("config file %s changed: settings re-read", config.user_file)
            ls.report_problems()
