"""kilo-lsp: a Language Server Protocol sidecar that routes AI coding requests to the cheapest
model proven accurate enough for the task."""

__version__ = "0.1.0"
PROTOCOL_VERSION = "1.0"
