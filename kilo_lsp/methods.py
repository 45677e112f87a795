"""The names of the kilo/* methods and notifications, apart from their types (``protocol.py``), so
that the server can register them before the typed params are first needed."""

ROUTE = "kilo/route"
LEADERBOARD = "kilo/leaderboard"
STATUS = "kilo/status"            # server -> client notification
EXPLAIN = "kilo/explain"          # last decision card of a session

REQUESTS: tuple[str, ...] = (ROUTE, LEADERBOARD, EXPLAIN)
#: Registered once the client says `initialized` (kilo_lsp/complete.py), so that forwarding (HTTP
#: clients, the SQLite ledger) is not imported while the editor waits for the `initialize` answer.
COMPLETE = "kilo/complete"
USAGE = "kilo/usage"
SET_CREDENTIALS = "kilo/setCredentials"
FORWARDING_REQUESTS: tuple[str, ...] = (COMPLETE, USAGE, SET_CREDENTIALS)
CHUNK = "kilo/chunk"              # server -> client notification, one per streamed text delta
NOTIFICATIONS: tuple[str, ...] = (STATUS, CHUNK)
