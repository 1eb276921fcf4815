"""An observation's date as the period it stands for.

Dates are stored as the period's first day, so 2021-01-01 may mean the year 2021, its
first quarter or half, or January: a reader must see "2021", "2021-Q1", "2021-H1" or
"2021-01". The observation's own period type decides; the series frequency is the
fallback for rows stored without one. Pure (no I/O).
"""
from __future__ import annotations

import datetime as dt

# series.frequency -> the period type its observations stand for
FREQUENCY_PERIOD = {"annual": "year", "half_yearly": "half_year", "quarterly": "quarter", "monthly": "month"}


def period_label(date: dt.date | None, period_type: str | None = None, frequency: str | None = None) -> str | None:
    """2021, 2021-H1, 2021-Q4, 2021-06 (a month, or the month of a TOP500 list); the full
    date when the period is unknown, a day, or cumulative (ytd). None for no date."""
    if date is None:
        return None
    kind = period_type or FREQUENCY_PERIOD.get(frequency or "")
    if kind == "year":
        return f"{date.year}"
    if kind == "half_year":
        return f"{date.year}-H{1 if date.month <= 6 else 2}"
    if kind == "quarter":
        return f"{date.year}-Q{(date.month - 1) // 3 + 1}"
    if kind in ("month", "list"):
        return f"{date:%Y-%m}"
    return date.isoformat()
