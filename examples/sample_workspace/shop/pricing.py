"""Discount codes (sample workspace for the kilo-lsp demo)."""

CODES = {"WELCOME10": 0.10, "VIP": 0.25}


def apply_discount(total, code):
    rate = CODES[code]          # fails with KeyError when no code is given
    return round(total * (1 - rate), 2)
