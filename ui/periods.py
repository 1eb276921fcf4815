"""Dates as the period they stand for. An observation's date is the first day of its period
(2021-01-01 for the year 2021), so a viewer must see "2021", not "2021-01-01". Pure."""
from __future__ import annotations

import pandas as pd

from jobs.periods import FREQUENCY_PERIOD, period_label

FREQUENCY_LABELS = {"annual": "annual", "quarterly": "quarterly", "monthly": "monthly",
                    "half_yearly": "half-yearly"}
# Plotly's d3 date format for hovers and ticks, per period type.
D3_FORMAT = {"year": "%Y", "half_year": "%Y-%m", "quarter": "%Y-%m", "month": "%Y-%m", "list": "%Y-%m"}
MISSING = "—"


def period_of(frequency: str | None) -> str | None:
    return FREQUENCY_PERIOD.get(frequency or "")


def frequency_label(frequency: str | None) -> str:
    return FREQUENCY_LABELS.get(frequency or "", (frequency or "").replace("_", "-") or MISSING)


def one(value, period: str | None) -> str:
    """2021, 2021-H2, 2021-Q3, 2021-07 (a month or a TOP500 list), else the day (jobs.periods)."""
    if value is None or pd.isna(value):
        return MISSING
    return period_label(pd.Timestamp(value).date(), period)


def texts(values, periods) -> pd.Series:
    """`one` over a column; `periods` is one period type for all, or a column of them."""
    values = pd.Series(values)
    if periods is None or isinstance(periods, str):
        periods = pd.Series([periods] * len(values), index=values.index, dtype=object)
    periods = pd.Series(periods, index=values.index)
    return pd.Series([one(v, p) for v, p in zip(values, periods)], index=values.index, dtype=object)


def d3(period: str | None) -> str:
    return D3_FORMAT.get(period or "", "%Y-%m-%d")


def at_precision(value, precision: str | None, missing: str = MISSING) -> str:
    """A policy's date as precisely as it is known ("2023", "2015-05" or the day)."""
    if value is None or pd.isna(value):
        return missing
    return one(value, {"year": "year", "month": "month"}.get(precision or ""))
