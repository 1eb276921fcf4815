"""Synthetic series written through the real store writers (jobs.store.writes), for the
refresh and export tests. Logistic paths with known parameters and seeded noise."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from jobs.sources.base import OBSERVATION_COLUMNS
from jobs.store import db, writes


def logistic(dates: pd.DatetimeIndex, midpoint: str, rate: float) -> np.ndarray:
    t = (dates - pd.Timestamp(midpoint)).days / 365.25
    return 1.0 / (1.0 + np.exp(-rate * np.asarray(t)))


def seed_store(url: str, series: dict[str, pd.DataFrame], targets: list[dict] = (),
               note: str = "=HYPERLINK(\"http://x\")") -> None:
    """Create the schema and write `series` ({key: frame with date, value}) and `targets`."""
    engine = db.make_engine(url)
    db.upgrade(engine)
    with db.transaction(engine) as conn:
        writes.upsert_sectors(conn, [{"code": "banking", "name": "Banking"}])
        writes.upsert_technologies(conn, [{"code": "all", "name": "All IT"}])
        writes.upsert_series(conn, [{
            "key": key, "sector": "banking", "technology": "all", "frequency": "monthly",
            "kind": "domestic_share", "title": f"Synthetic {key}", "source": note,
        } for key in series])
        snapshot = writes.save_snapshot(conn, source="synthetic", url="file:synthetic", content=b"synthetic")
        for key, frame in series.items():
            obs = pd.DataFrame({"series_key": key, "date": [d.date() for d in pd.DatetimeIndex(frame["date"])],
                                "value": frame["value"].astype(float), "period_type": "month",
                                "source_url": None, "note": None})[OBSERVATION_COLUMNS]
            writes.upsert_observations(conn, obs, snapshot)
        if targets:
            writes.upsert_policies(conn, [{"id": "P99", "title": "-Synthetic policy", "date": dt.date(2015, 1, 1)}])
            writes.upsert_targets(conn, [{"policy_id": "P99", "sector": "banking", "technology": "all", **t}
                                         for t in targets])
    engine.dispose()


def monthly_logistic(start: str, end: str, midpoint: str, rate: float, noise: float, seed: int) -> pd.DataFrame:
    dates = pd.date_range(start, end, freq="MS")
    rng = np.random.default_rng(seed)
    values = np.clip(logistic(dates, midpoint, rate) + rng.normal(0, noise, len(dates)), 0, 1)
    return pd.DataFrame({"date": dates, "value": values})


def store_at_revision(url: str, revision: str):
    """An engine on a new store migrated only up to `revision` (to test later migrations)."""
    from alembic import command

    engine = db.make_engine(url)
    config = db.alembic_config(url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    return engine
