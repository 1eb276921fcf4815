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
from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecast.frames import DS, Y
from forecast.models import CannotFit, Paths, expit as _expit, logit as _logit
from forecast.prophet_paths import sample_paths
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
        try:
            np.random.seed(seed)  # Prophet's initialisation draws from NumPy's global RNG
            # BFGS for the MAP fit at any length: Prophet picks Newton below 100 points (3-5x
            # slower, same optimum) and L-BFGS above (which stops short of it); Newton stays the fallback
            options = ({"chains": self.chains, "show_progress": False} if self.mcmc_samples
                       else {"algorithm": "BFGS"})
            model.fit(self._frame(history[DS], history[Y].to_numpy(float)), seed=seed, **options)
            if len(future):
                level, observed = sample_paths(model, self._frame(future), n_paths, seed)
            else:
                level = observed = np.empty((0, n_paths))
        except (RuntimeError, ValueError) as exc:  # CmdStan failed, or Prophet refused the frame
            raise CannotFit(f"{self.name}: {type(exc).__name__}: {exc}") from exc
        finally:
            _remove_new_entries(tmpdir, before)
        if self.logit:
            level, observed = _expit(level), _expit(observed)
        return Paths(level=np.clip(level, 0.0, 1.0), observed=np.clip(observed, 0.0, 1.0))


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
