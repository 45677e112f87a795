"""Editor plugins that cannot handle a model switching under them get one model for everything.

Plugins identify themselves in ``initializationOptions.editorPluginInfo`` ({name, version});
``clientInfo`` names the editor itself. Generic LSP clients that send no plugin info get full
routing.
"""

from __future__ import annotations

import re

#: Minimum plugin version that handles model switching (documented in protocol.md).
MIN_PLUGIN_VERSIONS: dict[str, str] = {
    "kilo-code": "5.2.3",        # the Kilo VS Code and JetBrains extensions
    "kilo-cli": "1.0.15",
    "kilo-lsp-vscode": "0.1.0",  # the project's own clients, from their first version
    "kilo-lsp-neovim": "0.1.0",
    "kilo-lsp-jetbrains": "0.1.0",
}


def parse_version(text: str) -> tuple[int, ...] | None:
    m = re.match(r"^\s*v?(\d+(?:\.\d+)*)", text or "")
    return tuple(int(x) for x in m.group(1).split(".")) if m else None


def single_model_reason(plugin_info: object, opted_out: bool) -> str | None:
    """Why this client gets one model for every request, or None for full routing."""
    if opted_out:
        return "the client opted out of routing (routing.singleModel)"
    if not isinstance(plugin_info, dict):
        return None
    name = str(plugin_info.get("name", "")).strip().lower()
    minimum = MIN_PLUGIN_VERSIONS.get(name)
    if minimum is None:
        return None
    version = parse_version(str(plugin_info.get("version", "")))
    needed = parse_version(minimum)
    if version is None or (needed is not None and _pad(version) < _pad(needed)):
        return (f"{name} {plugin_info.get('version', '(no version)')} is older than {minimum}, the first "
                f"version that handles model switching")
    return None


def _pad(v: tuple[int, ...]) -> tuple[int, ...]:
    return v + (0,) * (4 - len(v))
