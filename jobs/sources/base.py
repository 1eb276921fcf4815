"""What every source module returns from `parse`, and the observation frame's columns."""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

# Columns of a parsed observation frame (what jobs.store.writes.upsert_observations takes).
OBS_SERIES = "series_key"
OBS_DATE = "date"  # datetime.date, first day of the period
OBS_VALUE = "value"  # fraction 0-1 (context series: their own unit, see series.unit)
OBS_PERIOD_TYPE = "period_type"  # month|quarter|half_year|year|ytd|list
OBS_SOURCE_URL = "source_url"
OBS_NOTE = "note"
OBSERVATION_COLUMNS = [OBS_SERIES, OBS_DATE, OBS_VALUE, OBS_PERIOD_TYPE, OBS_SOURCE_URL, OBS_NOTE]


def empty_observations() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in OBSERVATION_COLUMNS})


@dataclass
class Parsed:
    """A parsed payload: series metadata rows (dicts keyed like the `series` table),
    observations (OBSERVATION_COLUMNS), warnings for a human (e.g. unmapped vendors),
    and policy rows for policy sources."""

    series: list[dict] = field(default_factory=list)
    observations: pd.DataFrame = field(default_factory=empty_observations)
    warnings: list[str] = field(default_factory=list)
    policies: pd.DataFrame | None = None
    counts: dict = field(default_factory=dict)  # e.g. {"unmatched_items": 12}
