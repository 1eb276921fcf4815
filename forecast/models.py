"""A small model protocol and the baselines every forecast is judged against.

Every model answers `fit_predict(history, future, n_paths, seed) -> Paths`, where
`history` has columns ds, y (one series, sorted) and `future` is the dates to forecast.
`Paths.level` are sample paths of the underlying level (used for crossings);
`Paths.observed` add observation noise (used for the forecast bands and backtest coverage).
Both are arrays shaped (len(future), n_paths) of shares in [0, 1]. A model that cannot
fit a series (too short, constant, the library refuses it) raises CannotFit with the
reason: it is skipped for that series, and the reason is recorded.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd

from forecast.frames import DS, Y

DAYS_PER_YEAR = 365.25
EPS = 1e-3  # logit of exactly 0 or 1 is infinite; shares are clipped to [EPS, 1 - EPS]


class CannotFit(ValueError):
    """This model cannot fit this series (the message says why); the others carry on."""


def logit(y: np.ndarray) -> np.ndarray:
    y = np.clip(y, EPS, 1 - EPS)
    return np.log(y / (1 - y))


def expit(x: np.ndarray) -> np.ndarray:
    x = np.clip(np.asarray(x, dtype=float), -700, 700)  # float64 (Theta gives float32): no overflow
    return 1.0 / (1.0 + np.exp(-x))


@dataclass(frozen=True)
class Paths:
    level: np.ndarray
    observed: np.ndarray
    # Models with a posterior (Prophet's final fit): per model name, the fitted posterior as
    # bytes, for later importance-sampling updates; and, for an update, its Pareto k-hat.
    posteriors: dict = field(default_factory=dict)
    updates: dict = field(default_factory=dict)


class Model(Protocol):
    name: str

    def fit_predict(
        self, history: pd.DataFrame, future: pd.DatetimeIndex, n_paths: int, seed: int
    ) -> Paths: ...


def years_between(start: pd.Timestamp, dates) -> np.ndarray:
    return np.asarray((pd.DatetimeIndex(dates) - start).days, dtype=float) / DAYS_PER_YEAR


def _step_sigma(history: pd.DataFrame) -> tuple[float, float]:
    """Random-walk volatility per year from the history's changes (irregular gaps allowed).

    Returns (sigma per sqrt(year), mean drift per year of the changes).
    """
    t = years_between(history[DS].iloc[0], history[DS])
    y = history[Y].to_numpy(float)
    dt, dy = np.diff(t), np.diff(y)
    drift = (y[-1] - y[0]) / max(t[-1] - t[0], 1e-9)
    scaled = (dy - drift * dt) / np.sqrt(dt)  # changes per sqrt(year), comparable across gaps
    if len(scaled) > 2:
        # Robust scale (MAD): a one-month glitch in the source (e.g. StatCounter 2019-10)
        # must not set the random walk's volatility for the next decade.
        sigma = 1.4826 * np.median(np.abs(scaled - np.median(scaled)))
    else:
        sigma = np.sqrt(np.mean(scaled**2))
    return float(max(sigma, 1e-4)), float(drift)


def _random_walk(
    last: float, t_future: np.ndarray, sigma: float, drift: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Paths last + drift*t + Brownian noise, sampled at (possibly uneven) future times."""
    n_paths = drift.shape[0]
    steps = np.diff(np.concatenate([[0.0], t_future]))
    shocks = rng.standard_normal((len(t_future), n_paths)) * sigma * np.sqrt(steps)[:, None]
    return np.clip(last + t_future[:, None] * drift[None, :] + np.cumsum(shocks, axis=0), 0.0, 1.0)


class NaiveLast:
    """Last value carried forward; uncertainty of a random walk (sd grows with sqrt(time))."""

    name = "naive"

    def fit_predict(self, history, future, n_paths, seed) -> Paths:
        rng = np.random.default_rng(seed)
        sigma, _ = _step_sigma(history)
        t = years_between(history[DS].iloc[-1], future)
        paths = _random_walk(float(history[Y].iloc[-1]), t, sigma, np.zeros(n_paths), rng)
        return Paths(level=paths, observed=paths)


class Drift:
    """Random walk with drift (the line from the first to the last point, extended).

    The drift itself is uncertain (sd = sigma / sqrt(span in years)); each path draws its
    own drift, so the spread widens like h * sqrt(1 + h / span), as in the textbook method.
    """

    name = "drift"

    def fit_predict(self, history, future, n_paths, seed) -> Paths:
        rng = np.random.default_rng(seed)
        sigma, drift = _step_sigma(history)
        span = max(years_between(history[DS].iloc[0], history[DS].iloc[[-1]])[0], 1e-9)
        drifts = drift + rng.standard_normal(n_paths) * sigma / np.sqrt(span)
        t = years_between(history[DS].iloc[-1], future)
        paths = _random_walk(float(history[Y].iloc[-1]), t, sigma, drifts, rng)
        return Paths(level=paths, observed=paths)


