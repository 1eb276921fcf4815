"""Prophet, contained in this one module.

Two specifications, both bounded to [0, 1]:
- `prophet_logistic`: logistic growth with floor 0 and cap 1 (saturates at 100%);
- `prophet_logit`: linear growth on the logit of the share (no saturation level is forced;
  the back-transform keeps every path inside (0, 1)).
Prophet's default MAP fit has no parameter uncertainty (all trend paths coincide), so we
fit with `mcmc_samples` (a full posterior: one NUTS chain) and draw paths from it with our
vectorised sampler (forecast.prophet_paths). A new Prophet object per fit; the seed goes
to Stan and to the sampler; cmdstanpy's
temporary files of each fit removed afterwards (pool workers never run atexit clean-up).
"""
from __future__ import annotations

import functools
import logging
import os
import shutil
import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecast.frames import DS, Y
from forecast.models import CannotFit, Paths, expit as _expit, logit as _logit
from forecast.prophet_paths import historic_state, sample_paths, seasonal_terms, trend_at
from forecast.psis import KHAT_LIMIT, psis, resample
from forecast.registry import POLICY_SUFFIX

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


def _seasonal(history: pd.DataFrame) -> int | bool:
    """Yearly seasonality for sub-annual series with at least three years of data, with the
    highest Fourier order the sampling frequency identifies: (samples a year - 1) // 2, so 5
    for monthly and 1 for quarterly data. Prophet's default order 10 aliases on such data: the
    surplus terms are unidentified, the posterior a ridge, and NUTS takes 5-10x longer."""
    gaps = history[DS].diff().dt.days.median()
    span = (history[DS].iloc[-1] - history[DS].iloc[0]).days
    order = min(10, (int(round(365.25 / gaps)) - 1) // 2) if gaps and gaps > 0 else 0
    return order if order >= 1 and span >= 3 * 365 else False


_COMPONENT_COLUMNS: dict = {}  # (feature columns, modes) -> Prophet.regressor_column_matrix's answer


@functools.cache
def _prophet_class():
    """Prophet with its component-column matrix memoised. That matrix depends only on the
    feature columns' names and modes (never on the rows), yet Prophet rebuilds it with a
    pandas crosstab in every fit and every prediction: about a third of a small fit's time."""
    from prophet import Prophet

    class MemoProphet(Prophet):
        def regressor_column_matrix(self, seasonal_features, modes):
            if self.train_holiday_names is not None or self.extra_regressors:
                return super().regressor_column_matrix(seasonal_features, modes)
            key = (tuple(seasonal_features.columns), tuple(modes["additive"]), tuple(modes["multiplicative"]),
                   self.train_component_cols is None)
            if key not in _COMPONENT_COLUMNS:
                _COMPONENT_COLUMNS[key] = super().regressor_column_matrix(seasonal_features, modes)
            columns, known = _COMPONENT_COLUMNS[key]
            return columns.copy(), {mode: list(names) for mode, names in known.items()}

    return MemoProphet


@dataclass
class ProphetModel:
    """`mcmc_samples` iterations of one NUTS chain (Prophet spends half on warm-up), or 0 for
    the MAP fit (used at backtest origins, where it is cheap and the posterior rarely
    changes the choice: checked by benchmarks/calibration.py)."""

    name: str
    logit: bool
    mcmc_samples: int = 200
    chains: int = 1
    extra_changepoints: tuple = ()  # candidate changepoints (policy dates) beside Prophet's own

    def _changepoints(self, ds: pd.Series) -> list | None:
        """Prophet's automatic changepoints for this history (its own rule: 25 evenly spaced
        over the first 80% of the points) plus the extra dates strictly inside the history;
        None (Prophet's default) without extra dates."""
        if not self.extra_changepoints:
            return None
        ds = pd.DatetimeIndex(ds)
        size = int(np.floor(len(ds) * 0.8))
        n = min(25, size - 1)
        automatic = ds[np.linspace(0, size - 1, n + 1).round().astype(int)][1:] if n > 0 else ds[:0]
        extra = [d for d in pd.DatetimeIndex(self.extra_changepoints) if ds[0] < d < ds[-1]]
        return sorted(set(automatic) | set(extra)) or None

    def _frame(self, dates, y=None) -> pd.DataFrame:
        frame = pd.DataFrame({DS: pd.DatetimeIndex(dates)})
        if y is not None:
            frame[Y] = _logit(y) if self.logit else y
        if not self.logit:
            frame["cap"], frame["floor"] = 1.0, 0.0
        return frame

    def fit_predict(self, history, future, n_paths, seed) -> Paths:
        quiet()
        model = _prophet_class()(
            growth="linear" if self.logit else "logistic",
            yearly_seasonality=_seasonal(history),
            weekly_seasonality=False,
            daily_seasonality=False,
            mcmc_samples=self.mcmc_samples,
            uncertainty_samples=n_paths,
            changepoints=self._changepoints(history[DS]),
            interval_width=0.8,
        )
        tmpdir = cmdstan_tmpdir()
        before = set(os.listdir(tmpdir))
        posterior = {}
        try:
            np.random.seed(seed)  # Prophet's initialisation draws from NumPy's global RNG
            # BFGS for the MAP fit at any length: Prophet picks Newton below 100 points (3-5x
            # slower, same optimum) and L-BFGS above (which stops short of it); Newton stays the fallback
            options = ({"chains": self.chains, "show_progress": False} if self.mcmc_samples
                       else {"algorithm": "BFGS"})
            model.fit(self._frame(history[DS], history[Y].to_numpy(float)), seed=seed, **options)
            if self.mcmc_samples:
                posterior = {self.name: posterior_bytes(model)}
            level, observed = self._sample(model, future, n_paths, seed)
        except (RuntimeError, ValueError) as exc:  # CmdStan failed, or Prophet refused the frame
            raise CannotFit(f"{self.name}: {type(exc).__name__}: {exc}") from exc
        finally:
            _remove_new_entries(tmpdir, before)
        return self._paths(level, observed, posteriors=posterior)

    def update_predict(self, posterior: bytes, history, future, n_paths, seed) -> tuple[Paths | None, str | None]:
        """(paths, None) from a stored posterior (posterior_bytes) updated with the
        observations that came after the data it was fitted on, by Pareto-smoothed importance
        sampling (forecast.psis) instead of a new NUTS chain; (None, why) when the stored
        data are not the start of `history` (a revised or removed value; the stored values keep 10 decimals) or k-hat exceeds
        KHAT_LIMIT: then the model must be fitted again."""
        from prophet.serialize import model_from_json

        model = model_from_json(zlib.decompress(posterior).decode())
        model.__class__ = _prophet_class()  # its memoised component matrix: a third of an update's time
        frame = self._frame(history[DS], history[Y].to_numpy(float))
        known = len(model.history)
        if (len(frame) < known or not frame[DS].iloc[:known].reset_index(drop=True).equals(model.history[DS])
                or not np.allclose(frame[Y].iloc[:known], model.history[Y], rtol=0, atol=1e-9)):
            return None, f"{self.name}: the data its stored posterior was fitted on have changed"
        k_hat = 0.0
        if len(frame) > known:
            log_weights, k_hat = psis(log_likelihood(model, frame.iloc[known:]))
            if not k_hat <= KHAT_LIMIT:
                return None, (f"{self.name}: Pareto k-hat {k_hat:.2f} > {KHAT_LIMIT} for "
                              f"{len(frame) - known} new observation(s)")
            picks = resample(log_weights, seed)
            model.params = {name: np.asarray(draws)[picks] for name, draws in model.params.items()}
        level, observed = self._sample(model, future, n_paths, seed)
        return self._paths(level, observed, updates={self.name: (k_hat, len(frame) - known)}), None

    def _sample(self, model, future, n_paths, seed):
        if len(future):
            return sample_paths(model, self._frame(future), n_paths, seed)
        return np.empty((0, n_paths)), np.empty((0, n_paths))

    def _paths(self, level, observed, **extra) -> Paths:
        if self.logit:
            level, observed = _expit(level), _expit(observed)
        return Paths(level=np.clip(level, 0.0, 1.0), observed=np.clip(observed, 0.0, 1.0), **extra)


POSTERIOR_PARAMETERS = ("k", "m", "delta", "sigma_obs", "beta")  # what sample_paths reads


def posterior_bytes(model) -> bytes:
    """A fitted Prophet model with only its posterior draws (not Stan's diagnostics or
    in-sample trend), as compressed JSON (prophet.serialize): what an update needs."""
    from prophet.serialize import model_to_json

    params = model.params
    model.params = {name: params[name] for name in POSTERIOR_PARAMETERS}
    try:
        return zlib.compress(model_to_json(model).encode(), 6)
    finally:
        model.params = params


def log_likelihood(model, frame: pd.DataFrame) -> np.ndarray:
    """Per posterior draw: the log density (up to a constant) of the observations in `frame`
    (after the model's history; ds, y and for logistic growth cap and floor) under Prophet's
    observation model, y_scaled ~ N(trend (1 + multiplicative) + additive, sigma_obs)."""
    df = model.setup_dataframe(frame.copy())
    logistic = model.growth == "logistic"
    params = model.params
    n_draws = params["k"].shape[0]
    deltas = np.asarray(params["delta"], dtype=float).reshape(n_draws, -1)
    k, m = historic_state(params["k"].ravel(), params["m"].ravel(), deltas,
                          np.asarray(model.changepoints_t, dtype=float), logistic)
    t = df["t"].to_numpy(float)
    cap = df["cap_scaled"].to_numpy(float) if logistic else np.ones_like(t)
    trend = np.stack([trend_at(ti, k, m, cap[i], logistic) for i, ti in enumerate(t)])  # (points, draws)
    additive, multiplicative = seasonal_terms(model, df, np.asarray(params["beta"], dtype=float).reshape(n_draws, -1))
    sigma = np.asarray(params["sigma_obs"], dtype=float).ravel()[None, :]
    residual = (df["y_scaled"].to_numpy(float)[:, None] - trend * (1 + multiplicative) - additive) / sigma
    return (-0.5 * residual**2 - np.log(sigma)).sum(axis=0)


def prophet_models(mcmc_samples: int = 200, changepoints=()) -> dict[str, ProphetModel]:
    """The two specifications; with `changepoints`, named as their policy variants."""
    suffix = POLICY_SUFFIX if changepoints else ""
    return {
        "prophet_logistic": ProphetModel("prophet_logistic" + suffix, logit=False, mcmc_samples=mcmc_samples,
                                         extra_changepoints=tuple(changepoints)),
        "prophet_logit": ProphetModel("prophet_logit" + suffix, logit=True, mcmc_samples=mcmc_samples,
                                      extra_changepoints=tuple(changepoints)),
    }


def prophet_model(name: str, mcmc_samples: int, changepoints=()) -> ProphetModel:
    return prophet_models(mcmc_samples, changepoints)[name]
