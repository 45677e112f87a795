"""Offline builders of the data files kilo-lsp ships: the leaderboard and the classifier weights."""
