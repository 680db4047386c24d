"""Dates as a French letter writes them."""

from __future__ import annotations

from datetime import datetime, tzinfo

MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)


def french_date(instant: datetime, tz: tzinfo) -> str:
    """2021-05-20T13:00Z -> '20 mai 2021' (1er for the first day of a month)."""
    local = instant.astimezone(tz)
    day = "1er" if local.day == 1 else str(local.day)
    return f"{day} {MONTHS[local.month - 1]} {local.year}"
