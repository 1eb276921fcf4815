"""Frequencies of the series and the future dates a forecast covers.

Observation dates are the first day of their period. Irregular series (gaps) take the
frequency of their typical (median) gap; models work in actual elapsed time, so gaps are
handled by the models, not filled in.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from forecast.frames import DS

FREQUENCIES = {  # name: (pandas offset, largest median gap in days, backtest horizon in steps)
    "monthly": ("MS", 45, 12),
    "quarterly": ("QS", 120, 4),
    "half_yearly": ("6MS", 250, 2),
    "annual": ("YS", 10**9, 2),
}


def infer_frequency(dates: pd.Series) -> str:
    """The frequency of the median gap between the dates; monthly (the finest) for a single
    date: one lone value is no evidence of a coarser period (a monthly figure of 2024-11 must
    not stand for a deadline 13 months later as if it were an annual one)."""
    gaps = pd.Series(pd.DatetimeIndex(dates)).sort_values().diff().dt.days.dropna()
    if not len(gaps):
        return "monthly"
    return next(name for name, (_, limit, _) in FREQUENCIES.items() if gaps.median() <= limit)


def step(frequency: str) -> pd.DateOffset:
    return pd.tseries.frequencies.to_offset(FREQUENCIES[frequency][0])


def future_dates(last: pd.Timestamp, horizon, frequency: str) -> pd.DatetimeIndex:
    """Period starts after `last` up to and including the horizon date."""
    start = pd.Timestamp(last) + step(frequency)
    return pd.date_range(start, pd.Timestamp(horizon), freq=step(frequency))


PERIOD_MONTHS = {"monthly": 1, "quarterly": 3, "half_yearly": 6, "annual": 12}


def period_months(frequency: str) -> int:
    """The months of one whole period (a period's start plus them is the next one's)."""
    return PERIOD_MONTHS[frequency]


def add_months(dates: np.ndarray, months: int) -> np.ndarray:
    """datetime64[ns] dates plus `months` months, as pandas adds DateOffset(months=...): the
    same day of the month, the month's last day where it is shorter; the time of day kept."""
    month = dates.astype("datetime64[M]")
    into = dates - month.astype("datetime64[ns]")  # days and time since the month's start
    day = np.timedelta64(1, "D")
    target = month + np.timedelta64(months, "M")
    length = (target + np.timedelta64(1, "M")).astype("datetime64[D]") - target.astype("datetime64[D]")
    days = np.minimum(into // day, length // day - 1)
    return target.astype("datetime64[ns]") + days * day + into % day


def backtest_steps(frequency: str) -> int:
    return FREQUENCIES[frequency][2]


def history_frequency(history: pd.DataFrame) -> str:
    return infer_frequency(history[DS])
