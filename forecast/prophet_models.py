"""Prophet, contained in this one module.

Two specifications, both bounded to [0, 1]:
- `prophet_logistic`: logistic growth with floor 0 and cap 1 (saturates at 100%);
- `prophet_logit`: linear growth on the logit of the share (no saturation level is forced;
  the back-transform keeps every path inside (0, 1)).
Prophet's default MAP fit has no parameter uncertainty (all trend paths coincide), so we
fit with `mcmc_samples` (a full posterior) and draw paths from it. A new Prophet object per
fit; NumPy's global RNG seeded right before sampling (Prophet draws from it); cmdstanpy's
temporary files of each fit removed afterwards (pool workers never run atexit clean-up).
"""
from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecast.frames import DS, Y
from forecast.models import Paths

EPS = 1e-3  # logit of exactly 0 or 1 is infinite; shares are clipped to [EPS, 1 - EPS]


def quiet() -> None:
    """Silence cmdstanpy/prophet chatter (called at entry points, not at import)."""
    for name in ("cmdstanpy", "prophet", "prophet.plot"):
        logger = logging.getLogger(name)
        if not logger.handlers:  # else cmdstanpy installs its own INFO handler
            logger.addHandler(logging.NullHandler())
        logger.setLevel(logging.ERROR)
        logger.propagate = False


def cmdstan_tmpdir() -> str:
    """The per-process directory where cmdstanpy writes every fit's data and CSV files."""
    import cmdstanpy

    return cmdstanpy._TMPDIR


def _remove_new_entries(directory: str, before: set[str]) -> None:
    for entry in set(os.listdir(directory)) - before:
        path = os.path.join(directory, entry)
        if os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            try:
                os.remove(path)
            except FileNotFoundError:
                pass


def _logit(y: np.ndarray) -> np.ndarray:
    y = np.clip(y, EPS, 1 - EPS)
    return np.log(y / (1 - y))


def _expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _seasonal(history: pd.DataFrame) -> bool:
    """Yearly seasonality only for sub-annual series with at least three years of data."""
    gaps = history[DS].diff().dt.days.median()
    span = (history[DS].iloc[-1] - history[DS].iloc[0]).days
    return bool(gaps <= 100 and span >= 3 * 365)


@dataclass
class ProphetModel:
    name: str
    logit: bool
    mcmc_samples: int = 200

    def _frame(self, dates, y=None) -> pd.DataFrame:
        frame = pd.DataFrame({DS: pd.DatetimeIndex(dates)})
        if y is not None:
            frame[Y] = _logit(y) if self.logit else y
        if not self.logit:
            frame["cap"], frame["floor"] = 1.0, 0.0
        return frame

    def fit_predict(self, history, future, n_paths, seed) -> Paths:
        from prophet import Prophet

        quiet()
        model = Prophet(
            growth="linear" if self.logit else "logistic",
            yearly_seasonality=_seasonal(history),
            weekly_seasonality=False,
            daily_seasonality=False,
            mcmc_samples=self.mcmc_samples,
            uncertainty_samples=n_paths,
            interval_width=0.8,
        )
        tmpdir = cmdstan_tmpdir()
        before = set(os.listdir(tmpdir))
        try:
            np.random.seed(seed)  # Stan's seed and Prophet's path draws both follow it
            model.fit(
                self._frame(history[DS], history[Y].to_numpy(float)),
                seed=seed, chains=2, show_progress=False,
            )
            frame = self._frame(future)
            np.random.seed(seed)
            # Prophet advises the loop (not vectorized) for logistic growth with MCMC.
            samples = model.predictive_samples(frame, vectorized=self.logit)
        finally:
            _remove_new_entries(tmpdir, before)
        trend, observed = samples["trend"][:, :n_paths], samples["yhat"][:, :n_paths]
        # Level = trend + seasonality, without observation noise; the noise averages out of
        # the mean of (yhat - trend) over paths, which leaves the seasonal component.
        level = trend + (observed - trend).mean(axis=1, keepdims=True)
        if self.logit:
            level, observed = _expit(level), _expit(observed)
        return Paths(level=np.clip(level, 0.0, 1.0), observed=np.clip(observed, 0.0, 1.0))


def prophet_models(mcmc_samples: int = 200) -> dict[str, ProphetModel]:
    return {
        "prophet_logistic": ProphetModel("prophet_logistic", logit=False, mcmc_samples=mcmc_samples),
        "prophet_logit": ProphetModel("prophet_logit", logit=True, mcmc_samples=mcmc_samples),
    }
