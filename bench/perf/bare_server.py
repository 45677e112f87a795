"""The baseline: a bare pygls server with one no-op custom request and pygls' own document sync.

Same pygls, same stdio transport and the same incremental text sync as the sidecar, nothing else.
"""

from pygls.lsp.server import LanguageServer

server = LanguageServer(name="bare", version="0")


@server.feature("bench/noop")
def noop(ls: LanguageServer, params: object) -> None:
    return None


if __name__ == "__main__":
    server.start_io()
