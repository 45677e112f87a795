"""The one token estimate: about 4 characters a token, for budgets and costs before (or without) the
provider's own count."""

CHARS_PER_TOKEN = 4


def estimate_tokens(chars: int) -> int:
    """Tokens in a text of ``chars`` characters (rounded up)."""
    return (chars + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN
