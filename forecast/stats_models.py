"""Nixtla statsforecast models, fitted on the logit of the share and back-transformed, so
every path stays inside (0, 1).

statsforecast models see a regular sequence: the observations are taken as equally spaced
at their mean spacing (the bundled series have gaps; filling them in would invent values),
and a future date is the step nearest its elapsed time at that spacing.

ETS: statsforecast fits the model (parameters and final states); the paths come from our
own simulation of the same additive-error state-space equations, which gives both the
observed paths and the level paths (the filtered level, without the observation noise)
and reproduces the library's prediction intervals. Theta and ARIMA: the library's own
simulated paths, which carry the observation noise; their level paths are the same paths.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecast.frames import DS, Y
from forecast.models import CannotFit, Paths, expit, logit


def _steps(history: pd.DataFrame, future: pd.DatetimeIndex) -> np.ndarray:
    """Each future date's step after the last observation (>= 1), at the mean spacing."""
    ds = pd.DatetimeIndex(history[DS])
    spacing = (ds[-1] - ds[0]).days / (len(ds) - 1)
    elapsed = np.asarray((pd.DatetimeIndex(future) - ds[-1]).days, dtype=float)
    return np.maximum(np.rint(elapsed / spacing).astype(int), 1)


def simulate_ets(model: dict, steps: int, n_paths: int, rng: np.random.Generator):
    """(observed, level) paths shaped (steps, n_paths) on the fitted (logit) scale of an
    additive-error ETS model without season: y = l + phi b + e; l' = l + phi b + alpha e;
    b' = phi b + beta e (phi = 1 undamped, b = 0 without trend)."""
    error, trend, _, damped = model["components"]
    if error != "A":
        raise CannotFit(f"ETS with {error} errors is not simulated here")
    alpha, beta, phi = model["par"][0], model["par"][1], model["par"][3]
    state = model["states"][-1]
    has_trend = trend == "A"
    phi = phi if damped == "D" else 1.0
    level = np.full(n_paths, state[0])
    slope = np.full(n_paths, state[1] if has_trend else 0.0)
    sigma = float(np.sqrt(model["sigma2"]))
    observed, levels = np.empty((steps, n_paths)), np.empty((steps, n_paths))
    for t in range(steps):
        mean = level + phi * slope
        shock = rng.standard_normal(n_paths) * sigma
        observed[t] = mean + shock
        level = mean + alpha * shock
        if has_trend:
            slope = phi * slope + beta * shock
        levels[t] = level
    return observed, levels


def _fit(factory, y: np.ndarray, name: str):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return factory().fit(y)
    except NotImplementedError as exc:  # statsforecast's "tiny datasets"
        raise CannotFit(f"{name}: too few points ({len(y)}) for the library: {exc}") from exc
    except (ValueError, np.linalg.LinAlgError, FloatingPointError) as exc:
        raise CannotFit(f"{name}: {type(exc).__name__}: {exc}") from exc


@dataclass(frozen=True)
class StatsForecastModel:
    """One statsforecast model on the logit scale; `kind` is "ets", "theta" or "arima"."""

    name: str
    kind: str
    min_points: int
    options: tuple = ()

    def _factory(self):
        from statsforecast.models import AutoARIMA, AutoETS, AutoTheta

        cls = {"ets": AutoETS, "theta": AutoTheta, "arima": AutoARIMA}[self.kind]
        return lambda: cls(**dict(self.options))

    def fit_predict(self, history, future, n_paths, seed) -> Paths:
        if len(history) < self.min_points:
            raise CannotFit(f"{self.name} needs at least {self.min_points} points, the series has {len(history)}")
        y = logit(history[Y].to_numpy(float))
        if np.ptp(y) == 0:
            raise CannotFit(f"{self.name}: the series is constant")
        fitted = _fit(self._factory(), y, self.name)
        steps = _steps(history, future)
        horizon = int(steps.max()) if len(steps) else 0
        if horizon == 0:
            empty = np.empty((0, n_paths))
            return Paths(level=empty, observed=empty)
        if self.kind == "ets":
            observed, level = simulate_ets(fitted.model_, horizon, n_paths, np.random.default_rng(seed))
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                observed = fitted.simulate(h=horizon, n_paths=n_paths, seed=seed).T
            level = observed
        pick = steps - 1
        return Paths(level=expit(level[pick]), observed=expit(observed[pick]))


STATS_MODELS = {
    "ets_damped": StatsForecastModel("ets_damped", "ets", 10, (("model", "AAN"), ("damped", True))),
    "auto_ets": StatsForecastModel("auto_ets", "ets", 8, (("model", "AZN"),)),
    "theta": StatsForecastModel("theta", "theta", 4),
    "auto_arima": StatsForecastModel("auto_arima", "arima", 8, (("seasonal", False),)),
}
