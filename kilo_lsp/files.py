"""Files named by settings, read only when they are what a setting says they are.

A path in a setting (the leaderboard, a CA bundle, the user config file, the trace file) could name
``/dev/stdin`` (the sidecar's own LSP input: reading it hung the server), ``/dev/zero`` (reading it
grew the process to gigabytes) or a named pipe nobody writes. Here a path is opened without blocking,
must be a regular file and is read up to a size limit; anything else is refused with an error naming
the setting and the path. ``read_async`` does the same in a worker thread with a timeout, so that even
a regular file on a stalled network mount cannot stop the event loop.
"""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path

READ_TIMEOUT = 10.0          # seconds a read of a settings file may take off the event loop


class SettingFileError(OSError):
    """A file named by a setting is not a regular file, is too large, or cannot be read."""


def _describe(mode: int) -> str:
    for test, what in ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISFIFO, "a pipe"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a directory")):
        if test(mode):
            return what
    return "not a regular file"


def open_checked(path: str | Path, setting: str, flags: int = os.O_RDONLY, mode: int = 0o600) -> int:
    """A file descriptor of ``path`` opened without blocking (O_NONBLOCK: a pipe's open does not wait
    for a writer), refused unless it is a regular file."""
    p = os.path.expanduser(str(path))
    try:
        fd = os.open(p, flags | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0), mode)
    except OSError as exc:
        raise SettingFileError(f"{setting} {p}: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise SettingFileError(f"{setting} {p}: {_describe(st.st_mode)}, not a regular file")
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_checked(path: str | Path, setting: str, limit: int) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes (see the module docstring)."""
    fd = open_checked(path, setting)
    try:
        size = os.fstat(fd).st_size
        if size > limit:
            raise SettingFileError(f"{setting} {os.path.expanduser(str(path))}: {size} bytes, over the limit "
                                   f"of {limit} bytes")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:                       # it grew while being read
        raise SettingFileError(f"{setting} {os.path.expanduser(str(path))}: over the limit of {limit} bytes")
    return data


async def read_async(path: str | Path, setting: str, limit: int, timeout: float = READ_TIMEOUT) -> bytes:
    """``read_checked`` in a worker thread, given up after ``timeout`` seconds."""
    try:
        return await asyncio.wait_for(asyncio.to_thread(read_checked, path, setting, limit), timeout)
    except TimeoutError:
        raise SettingFileError(f"{setting} {path}: not read within {timeout:g} s") from None
