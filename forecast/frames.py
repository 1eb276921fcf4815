"""The long-frame contracts, declared once.

Every other module (store, exports, UI) imports these names instead of spelling
column names again. Shares are fractions in [0, 1].
"""
from __future__ import annotations

import pandas as pd

# History: one row per observation.
SERIES = "series"
DS = "ds"
Y = "y"
HISTORY_COLUMNS = [SERIES, DS, Y]

# Forecast: one row per series x future date.
YHAT = "yhat"
LOWER_80, UPPER_80 = "lower_80", "upper_80"
LOWER_95, UPPER_95 = "lower_95", "upper_95"
MODEL = "model"
FORECAST_COLUMNS = [SERIES, DS, YHAT, LOWER_80, UPPER_80, LOWER_95, UPPER_95, MODEL]

# Crossings: one row per series x threshold.
THRESHOLD = "threshold"
CROSSING_STATUS = "status"
OBSERVED_DATE = "observed_date"
MEDIAN_DATE = "median_date"
P10_DATE, P90_DATE = "p10_date", "p90_date"
PROBABILITY_BY_HORIZON = "probability_by_horizon"
CROSSING_COLUMNS = [
    SERIES, THRESHOLD, CROSSING_STATUS, OBSERVED_DATE,
    MEDIAN_DATE, P10_DATE, P90_DATE, PROBABILITY_BY_HORIZON,
]
CROSSING_STATUSES = ("crossed", "projected", "not_within_horizon")

# Targets: input rows and their assessment.
TARGET_ID = "target_id"
DEADLINE = "deadline"
MEASURE = "measure"  # direct | proxy | None
PROBABILITY_BY_DEADLINE = "probability_by_deadline"
PROJECTED_DATE = "projected_date"
TARGET_STATUS = "status"
TARGET_INPUT_COLUMNS = [TARGET_ID, SERIES, THRESHOLD, DEADLINE, MEASURE]
TARGET_ASSESSMENT_COLUMNS = [
    TARGET_ID, SERIES, MEASURE, THRESHOLD, DEADLINE,
    PROBABILITY_BY_DEADLINE, PROJECTED_DATE, TARGET_STATUS,
]
TARGET_STATUSES = ("met", "missed", "on_track", "at_risk", "off_track", "no_data")

# Per-series outcome of a run.
SERIES_STATUSES = ("ok", "insufficient_data", "failed")


class InvalidHistory(ValueError):
    """The history frame breaks the contract (missing columns, values outside [0, 1], ...)."""


def validate_history(history: pd.DataFrame) -> pd.DataFrame:
    """Return a clean, sorted copy of a history frame or raise InvalidHistory.

    Checks: the three columns exist, dates parse, values are finite and in [0, 1],
    and no series has two values for one date.
    """
    missing = [c for c in HISTORY_COLUMNS if c not in history.columns]
    if missing:
        raise InvalidHistory(f"history is missing column(s): {', '.join(missing)}")
    frame = history[HISTORY_COLUMNS].copy()
    frame[DS] = pd.to_datetime(frame[DS], errors="coerce")
    if frame[DS].isna().any():
        raise InvalidHistory("history has unparseable or empty dates")
    frame[Y] = pd.to_numeric(frame[Y], errors="coerce").astype(float)
    bad = frame[~frame[Y].between(0.0, 1.0)]
    if not bad.empty:
        row = bad.iloc[0]
        raise InvalidHistory(
            f"value {row[Y]!r} for {row[SERIES]} at {row[DS]:%Y-%m-%d} is not a share in [0, 1]"
        )
    dupes = frame[frame.duplicated([SERIES, DS], keep=False)]
    if not dupes.empty:
        row = dupes.iloc[0]
        raise InvalidHistory(f"{row[SERIES]} has more than one value for {row[DS]:%Y-%m-%d}")
    return frame.sort_values([SERIES, DS]).reset_index(drop=True)


# Export files (an interface users' scripts depend on: names and order are exact).
RUN_ID = "run_id"
DATE = "date"
OBSERVATIONS_EXPORT_COLUMNS = [
    SERIES, "sector", "technology", DATE, "value", "source", "snapshot_sha256",
]
FORECASTS_EXPORT_COLUMNS = [
    RUN_ID, SERIES, DATE, YHAT, LOWER_80, UPPER_80, LOWER_95, UPPER_95, MODEL,
]
CROSSINGS_EXPORT_COLUMNS = [RUN_ID, *CROSSING_COLUMNS]
TARGETS_EXPORT_COLUMNS = [
    RUN_ID, TARGET_ID, "policy_id", "policy_title", "sector", "technology", SERIES,
    MEASURE, THRESHOLD, DEADLINE, PROBABILITY_BY_DEADLINE, PROJECTED_DATE, TARGET_STATUS,
]
