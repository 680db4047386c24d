"""Money is an integer number of euro cents; this writes it the French way."""

from __future__ import annotations

NBSP = "\u00a0"


def format_euros(cents: int) -> str:
    """4500000 -> '45 000,00 €' (no-break spaces, comma for decimals)."""
    sign = "-" if cents < 0 else ""
    euros, rest = divmod(abs(cents), 100)
    grouped = f"{euros:,}".replace(",", NBSP)
    return f"{sign}{grouped},{rest:02d}{NBSP}€"


def format_decimal(cents: int) -> str:
    """4500000 -> '45000.00', for open-data files."""
    sign = "-" if cents < 0 else ""
    euros, rest = divmod(abs(cents), 100)
    return f"{sign}{euros}.{rest:02d}"
