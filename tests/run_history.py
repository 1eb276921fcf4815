"""Test helper: a store refreshed after each of three data arrivals (the drift/naive
baselines, fast), so forecast history, alerts and the overview's change column have real
runs to compare. The series `rising` is flat near 20 % until 2019, then climbs: its target
(50 % by 2030) starts off track and its outlook improves as the climb arrives."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from forecast.engine import EngineConfig
from jobs.refresh import refresh
from jobs.sources.base import OBSERVATION_COLUMNS
from jobs.store import db, writes
from synthetic_store import seed_store

FAST = EngineConfig(specs=("naive", "drift"), seed=7)
TARGET = {"id": "T-rise", "threshold": 0.5, "deadline": dt.date(2030, 12, 31), "series_key": "rising",
          "measure": "direct"}


def rising() -> pd.DataFrame:
    dates = pd.date_range("2014-01-01", "2021-12-01", freq="MS")
    rng = np.random.default_rng(3)
    climb = np.clip((dates.year - 2019) * 12 + dates.month, 0, None) * 0.012
    return pd.DataFrame({"date": dates, "value": np.clip(0.2 + climb + rng.normal(0, 0.004, len(dates)), 0, 1)})


ARRIVALS = ("2019-12-01", "2020-12-01", "2021-12-01")  # the data each run sees ends here


def add_observations(engine, frame: pd.DataFrame, key: str = "rising") -> None:
    obs = pd.DataFrame({"series_key": key, "date": [d.date() for d in pd.DatetimeIndex(frame["date"])],
                        "value": frame["value"].astype(float), "period_type": "month",
                        "source_url": None, "note": None})[OBSERVATION_COLUMNS]
    with db.transaction(engine) as conn:
        snapshot = writes.save_snapshot(conn, source="synthetic", url="file:synthetic",
                                        content=frame.to_csv().encode())
        writes.upsert_observations(conn, obs, snapshot)


def refresh_after_each_arrival(url: str, arrivals=ARRIVALS, **refresh_options) -> list[int]:
    """Seed the store with data up to the first arrival, refresh; add the next year's, refresh;
    ... Returns the run ids."""
    series = rising()
    seed_store(url, {"rising": series[series["date"] <= arrivals[0]]}, [TARGET])
    engine = db.make_engine(url)
    run_ids, previous = [], pd.Timestamp(arrivals[0])
    for index, end in enumerate(arrivals):
        if index:
            add_observations(engine, series[(series["date"] > previous) & (series["date"] <= end)])
        previous = pd.Timestamp(end)
        run_ids.append(refresh(engine, FAST, workers=1, progress=False, **refresh_options).run_id)
    engine.dispose()
    return run_ids
