"""Where a request is recorded: the SQLite usage ledger."""
