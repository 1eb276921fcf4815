"""A series' model choice kept for later runs: what the backtest chose (model or mixture,
weights, each model's spread factor, the ranking the final fit falls back along, which
policy variants it kept, the choice's out-of-sample skill) and on which data it chose.

forecast_series(..., choice=StoredChoice) skips the backtest and runs only the final fit of
that choice: with the same history and seed it gives the full fit's forecast exactly. The
caller decides when a stored choice still holds (jobs.incremental); `run_id` and `key` are
its provenance, opaque here.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace

import pandas as pd

from forecast.backtest import SCORE_COLUMNS, Choice


@dataclass(frozen=True)
class StoredChoice:
    model: str  # a registry name or "mixture"
    weights: dict[str, float]
    factors: dict[str, float]  # per model: the spread factor its paths are widened by
    ranking: list[str]  # single models, best first: the final fit's fallbacks
    kept: dict[str, bool] = field(default_factory=dict)  # per plain model with a policy variant: kept
    skill: float | None = None
    skill_origins: int = 0
    offered: dict[str, str] = field(default_factory=dict)  # {policy: ISO date} offered as changepoints
    last_obs_date: str | None = None  # ISO date of the newest observation the choice saw
    n_obs: int = 0  # and how many it saw
    run_id: int | None = None  # the run that made it (set when stored)
    key: str | None = None  # what the choice depends on besides the data (set when stored)

    # The attributes forecast_series reads from a backtest Choice: there is no new backtest.
    tested = None

    @property
    def scores(self) -> pd.DataFrame:
        return pd.DataFrame(columns=SCORE_COLUMNS)

    @classmethod
    def made(cls, choice: Choice, offered: dict, history: pd.DataFrame) -> "StoredChoice":
        """The choice a backtest just made on `history` (its ds column sorted)."""
        last = history["ds"].iloc[-1]
        return cls(choice.model, dict(choice.weights), dict(choice.factors), list(choice.ranking), dict(choice.kept),
                   choice.skill, choice.skill_origins, _iso_dates(offered), pd.Timestamp(last).date().isoformat(),
                   len(history))

    def holds_for(self, offered: dict) -> bool:
        """Whether it was made with these policy dates offered as changepoints (a new policy
        date inside the data would give a policy variant other changepoints)."""
        return self.offered == _iso_dates(offered)

    def still_fresh(self, newest) -> bool:
        """Whether data ending at `newest` may reuse this choice: less than a year past the
        data it was made on (the backtest's origins are a year apart: after a year the choice
        is made again)."""
        return (self.last_obs_date is not None and not pd.isna(newest)
                and pd.Timestamp(newest) < pd.Timestamp(self.last_obs_date) + pd.DateOffset(years=1))

    def stamped(self, run_id: int, key: str) -> "StoredChoice":
        """With its provenance, once a run stores it (a reused choice keeps its own)."""
        return self if self.run_id is not None else replace(self, run_id=run_id, key=key)

    def to_json(self) -> str:
        """JSON of everything but run_id (a store keeps that in a column of its own)."""
        return json.dumps({k: v for k, v in asdict(self).items() if k != "run_id"}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str, run_id: int | None = None) -> "StoredChoice":
        return cls(**json.loads(text), run_id=run_id)


def _iso_dates(dates: dict) -> dict[str, str]:
    return {policy: (d if isinstance(d, str) else pd.Timestamp(d).date().isoformat()) for policy, d in dates.items()}


__all__ = ["StoredChoice"]
