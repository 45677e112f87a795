"""The one error the leaderboard raises, in a module of its own so that catching it costs no import."""


class LeaderboardError(ValueError):
    """The leaderboard file is missing, unreadable or not of the expected shape."""
