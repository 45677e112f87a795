"""Changes to the user config file: the dial and the tier, for every workspace or for one folder.

The file is edited in place, keeping everything else in it (comments, order, keys) with tomlkit,
and replaced atomically (a new file beside it, renamed over it, with the old one's permissions, 0600
for a new one): an editor or a sidecar reading it at the same time sees the old file or the new one.
A file that does not parse is left alone and the change refused, saying so. Only ``routing.dial``
and ``routing.tier`` are written, so nothing here can set a key, a provider's address or a file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from .config import WORKSPACES, workspace_key

#: The settings the dashboard may write, and the values each takes.
WRITABLE: dict[str, tuple[str, ...]] = {
    "dial": ("bill", "bar"),
    "tier": ("efficient", "balanced", "frontier", "free"),
}
MAX_URI = 2048


class ConfigWriteError(Exception):
    """The change was not written; the message says why."""


def _check(key: str, value: str | None, workspace: str | None) -> None:
    if key not in WRITABLE:
        raise ConfigWriteError(f"routing.{key} cannot be changed here; only {', '.join(WRITABLE)}")
    if value is None:
        if workspace is None:
            raise ConfigWriteError(f"routing.{key} needs a value for every workspace")
        return
    if value not in WRITABLE[key]:
        raise ConfigWriteError(f"routing.{key} must be one of {', '.join(WRITABLE[key])}, not {value!r}")
    if workspace is not None and (not workspace or len(workspace) > MAX_URI or "\n" in workspace):
        raise ConfigWriteError("a workspace folder must be a URI of at most 2048 characters on one line")


def set_routing(path: Path, changes: dict[str, str | None], workspace: str | None = None) -> None:
    """Set ``routing.<key>`` for every workspace (``workspace`` None) or in the table of one workspace
    folder; a None value removes the folder's own value (it follows the file's top level again)."""
    for key, value in changes.items():
        _check(key, value, workspace)
    import tomlkit      # only when writing: the sidecar itself never needs it
    from tomlkit.exceptions import TOMLKitError
    try:
        text = path.read_text(encoding="utf-8") if path.is_file() else ""
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigWriteError(f"config file {path} could not be read: {exc}") from None
    try:
        doc = tomlkit.parse(text)
    except TOMLKitError as exc:
        raise ConfigWriteError(f"config file {path} is not valid TOML ({exc}); fix it first, nothing was "
                               "written") from None
    if workspace is None:
        table = _table(doc, "routing")
    else:
        folders = _table(doc, WORKSPACES, super_table=True)
        key = workspace_key(workspace)
        table = _table(_table(folders, key, super_table=True), "routing")
    for name, value in changes.items():
        if value is None:
            table.pop(name, None)
        else:
            table[name] = value
    if workspace is not None:
        _drop_empty(doc, workspace_key(workspace))
    _replace(path, tomlkit.dumps(doc))


def _table(parent: Any, name: str, super_table: bool = False) -> Any:
    import tomlkit
    found = parent.get(name)
    if found is None:
        found = tomlkit.table(is_super_table=super_table)
        parent[name] = found
    elif not hasattr(found, "get"):
        raise ConfigWriteError(f"config file: '{name}' is not a table; fix it first, nothing was written")
    return found


def _drop_empty(doc: Any, key: str) -> None:
    folders = doc.get(WORKSPACES)
    if folders is None:
        return
    mine = folders.get(key)
    if mine is not None and not mine.get("routing", {"x": 1}):
        mine.pop("routing", None)
    if mine is not None and not mine:
        folders.pop(key, None)
    if not folders:
        doc.pop(WORKSPACES, None)


def _replace(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = path.stat().st_mode & 0o777
    except OSError:
        mode = 0o600
    fd, tmp = tempfile.mkstemp(prefix=".config-", suffix=".toml", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise ConfigWriteError(f"config file {path} could not be written: {exc.strerror}") from None
