"""forecast_series: one series' history in; forecasts, crossings, target assessments and
backtest scores out. Pure: frames in, frames out (the caller stores them)."""
from __future__ import annotations

import datetime as dt
import time
import zlib
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from forecast import registry
from forecast.backtest import SCORE_COLUMNS, OutOfSample, backtest, widened
from forecast.calendar import FREQUENCIES, future_dates, history_frequency
from forecast.choice import StoredChoice
from forecast.crossings import cdf_frame, crossings_frame
from forecast.frames import (
    CDF_COLUMNS, CROSSING_COLUMNS, DS, FORECAST_COLUMNS, LOWER_80, LOWER_95, MODEL, SERIES,
    TARGET_ASSESSMENT_COLUMNS, THRESHOLD, UPPER_80, UPPER_95, Y, YHAT,
)
from forecast.models import CannotFit, Paths
from forecast.targets import assess_targets

DEFAULT_SPECS = registry.DEFAULT_MODELS


@dataclass(frozen=True)
class EngineConfig:
    horizon: str = "2035-12-31"
    thresholds: tuple[float, ...] = (0.5, 0.75, 0.9)
    specs: tuple[str, ...] = DEFAULT_SPECS  # models the backtest chooses among
    fallback: str = "drift"  # used when no backtest is possible or every choice fails
    # the yardstick models: they compete only when no other model ran at every origin (a
    # random walk cannot know that shares saturate); () lets them compete everywhere
    baselines: tuple[str, ...] = registry.BASELINES
    n_paths: int = 500
    backtest_paths: int = 200
    n_cutoffs: int = 3  # report origins (and as many selection origins before them)
    mcmc_samples: int = 200  # NUTS iterations of the one chain of a final Prophet fit
    backtest_mcmc_samples: int = 0  # 0: Prophet's MAP fit at backtest origins
    min_points: int = 4
    # A reused choice's Prophet posterior is updated with the new observations by Pareto-
    # smoothed importance sampling (forecast.psis) instead of a new NUTS chain, when reliable
    psis_updates: bool = True
    seed: int = 20141217
    as_of: str | None = None  # "today" for target deadlines; None = the current date

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class SeriesResult:
    series: str
    status: str  # ok | insufficient_data | failed
    model: str | None = None  # a registry name, or "mixture" (see weights)
    n_obs: int = 0
    last_obs_date: dt.date | None = None
    error: str | None = None
    seconds: float = 0.0
    weights: dict[str, float] | None = None  # the chosen model's or mixture's weights
    policy_changepoints: dict = field(default_factory=dict)  # {policy: date} offered as changepoints
    policy_kept: dict[str, bool] = field(default_factory=dict)  # per model with a variant: kept
    skill: float | None = None  # out of sample: 1 - CRPS / naive's CRPS on the later origins
    skill_origins: int = 0
    tested: OutOfSample | None = None  # the choice procedure's out-of-sample scores, per point
    choice: StoredChoice | None = None  # the model choice made, or reused (then its run_id is set)
    forecast: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=FORECAST_COLUMNS))
    crossings: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=CROSSING_COLUMNS))
    targets: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=TARGET_ASSESSMENT_COLUMNS))
    backtest: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=SCORE_COLUMNS))
    cdf: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=CDF_COLUMNS))  # crossing dates' CDFs
    posteriors: dict = field(default_factory=dict)  # model -> posterior bytes of a NUTS fit made here
    posterior_updates: dict = field(default_factory=dict)  # model -> (k-hat, new points) of an update

    @property
    def choice_reused_from(self) -> int | None:
        """The run whose stored model choice this result reused; None when it made its own."""
        return self.choice.run_id if self.choice is not None else None


def series_seed(series: str, seed: int) -> int:
    """A stable per-series seed (same series + same run seed -> same draws)."""
    return (zlib.crc32(series.encode()) ^ seed) % (2**31 - 1)


def fit_weighted(history: pd.DataFrame, dates, weights: dict[str, float], config: EngineConfig,
                 seed: int, factors: dict[str, float] | None = None, changepoints=(),
                 posteriors: dict[str, bytes] | None = None) -> tuple[Paths, list[str]]:
    """Paths of one model, or a mixture: each model's share of the paths, by weight, each
    widened by its backtest spread factor (as the choice compared them). A model with a
    stored posterior in `posteriors` (a reused choice's) is updated with the new data by
    importance sampling when that is reliable, else fitted again: the reasons are returned."""
    models = registry.build(list(weights), config.mcmc_samples, changepoints)
    parts, fitted, updates, refits = [], {}, {}, []
    for i, (name, weight) in enumerate(weights.items()):
        n = config.n_paths if len(weights) == 1 else max(1, int(round(weight * config.n_paths)))
        stored = (posteriors or {}).get(name) if config.psis_updates else None
        paths = None
        if stored is not None:
            paths, why = models[name].update_predict(stored, history, dates, n, seed + i)
            if why:
                refits.append(why)
        if paths is None:
            paths = models[name].fit_predict(history, dates, n, seed + i)
        fitted.update(paths.posteriors)
        updates.update(paths.updates)
        parts.append(widened((paths.observed, paths.level), (factors or {}).get(name, 1.0)))
    paths = Paths(level=np.hstack([p[1] for p in parts]), observed=np.hstack([p[0] for p in parts]),
                  posteriors=fitted, updates=updates)
    return paths, refits


def forecast_frame(series: str, dates: pd.DatetimeIndex, observed: np.ndarray, model: str) -> pd.DataFrame:
    """Median and 80/95% bands from the paths; quantiles are ordered, clipping keeps [0, 1]."""
    q = np.clip(np.quantile(observed, [0.025, 0.1, 0.5, 0.9, 0.975], axis=1), 0.0, 1.0)
    frame = pd.DataFrame({SERIES: series, DS: dates.date, YHAT: q[2], LOWER_80: q[1],
                          UPPER_80: q[3], LOWER_95: q[0], UPPER_95: q[4], MODEL: model})
    return frame[FORECAST_COLUMNS]


def _thresholds(config: EngineConfig, targets: pd.DataFrame) -> list[float]:
    return sorted({*config.thresholds, *targets[THRESHOLD].astype(float).tolist()})


def policy_changepoints(history: pd.DataFrame, policy_dates: dict | None) -> dict[str, dt.date]:
    """{policy: date} of the policies a model can use as changepoints: strictly inside the history."""
    if history.empty or not policy_dates:
        return {}
    first, last = history[DS].iloc[0], history[DS].iloc[-1]
    return {policy: pd.Timestamp(d).date() for policy, d in sorted(policy_dates.items())
            if first < pd.Timestamp(d) < last}


def forecast_series(series: str, history: pd.DataFrame, targets: pd.DataFrame,
                    config: EngineConfig, frequency: str | None = None,
                    bounds: pd.DataFrame | None = None, policy_dates: dict | None = None,
                    choice: StoredChoice | None = None, posteriors: dict[str, bytes] | None = None) -> SeriesResult:
    """Fit, choose and forecast one series. `history`: its (ds, y) rows of exact and
    approximate values, validated; `targets`: the TARGET_INPUT_COLUMNS rows it measures;
    `frequency` as declared for the series (monthly|quarterly|half_yearly|annual), inferred
    from the dates when None or irregular; `bounds`: its BOUNDS_COLUMNS rows, never fitted,
    used as evidence in crossings and assessments; `policy_dates`: {policy id: date} of the
    curated policies of the series' sector and technology, offered to the models that take
    changepoints as a variant each, kept only where the backtest scores it better.
    `choice`: a stored model choice to reuse (no backtest); `posteriors`: the stored Prophet
    posteriors of its models (SeriesResult.posteriors of an earlier fit), updated with the
    new observations instead of sampled again where that is reliable.
    Model failures fall back to the baselines; only when every model fails is it 'failed'."""
    started = time.perf_counter()
    history = history[[DS, Y]].sort_values(DS).reset_index(drop=True)
    as_of = pd.Timestamp(config.as_of or dt.date.today())
    thresholds = _thresholds(config, targets)
    result = SeriesResult(series, "ok", n_obs=len(history),
                          last_obs_date=history[DS].iloc[-1].date() if len(history) else None)
    if len(history) < config.min_points:
        result.status = "insufficient_data"
        result.error = f"{len(history)} observation(s); at least {config.min_points} are needed to forecast"
        result.crossings = crossings_frame(series, thresholds, history, None, bounds)
        result.targets = assess_targets(targets, history, as_of, bounds=bounds, frequency=frequency)
        result.seconds = time.perf_counter() - started
        return result
    seed = series_seed(series, config.seed)
    offered = policy_changepoints(history, policy_dates)
    changepoints = sorted(set(offered.values()))
    twins = registry.policy_variants(config.specs) if changepoints else {}
    if choice is None or not choice.holds_for(offered):  # a new choice (a backtest Choice from here on)
        models = registry.build([*config.specs, *twins], config.backtest_mcmc_samples, changepoints)
        choice = backtest(history, models, thresholds, config.n_cutoffs, config.backtest_paths, seed,
                          config.baselines, config.fallback, twins)
        result.choice, result.tested = StoredChoice.made(choice, offered, history), choice.tested
    else:  # the stored one: no scores here, they stay with the run that made it
        result.choice = choice
    result.backtest = choice.scores
    result.policy_changepoints, result.policy_kept = (offered, choice.kept) if twins else ({}, {})
    if frequency not in FREQUENCIES:
        frequency = history_frequency(history)
    dates = future_dates(history[DS].iloc[-1], config.horizon, frequency)
    errors = [f"backtest {m}: {e}" for m, e in zip(choice.scores["model"], choice.scores["error"]) if isinstance(e, str)]
    candidates = [(choice.model, choice.weights)] + [(m, {m: 1.0}) for m in dict.fromkeys(
        [*choice.ranking, config.fallback, "naive"]) if m != choice.model]
    for name, weights in candidates:
        try:
            paths, refits = fit_weighted(history, dates, weights, config, seed, choice.factors, changepoints,
                                         posteriors)
            break
        except CannotFit as exc:  # recorded; the next best model is tried
            errors.append(f"{name}: {exc}")
    else:
        result.status, result.error = "failed", "; ".join(errors)
        result.seconds = time.perf_counter() - started
        return result
    result.model, result.weights = name, weights
    result.posteriors, result.posterior_updates = paths.posteriors, paths.updates
    errors += [f"posterior of {m} updated with {n} new observation(s) by importance sampling (Pareto k-hat "
               f"{k:.2f})" for m, (k, n) in paths.updates.items() if n] + [f"posterior sampled again: {why}" for why in refits]
    if name == choice.model:
        result.skill, result.skill_origins = choice.skill, choice.skill_origins
    wider = [f"{m} x{choice.factors[m]:.2f}" for m in weights if choice.factors.get(m, 1.0) > 1.0]
    if wider:  # the backtest found these bands too narrow
        errors.append(f"bands widened to the backtest's 80% coverage: {', '.join(wider)}")
    result.error = "; ".join(errors) or None  # kept with status ok: skipped models, fallbacks, widening
    result.backtest["chosen"] = result.backtest["model"] == name
    result.forecast = forecast_frame(series, dates, paths.observed, name)
    result.cdf = cdf_frame(series, thresholds, dates, paths.level)
    result.crossings = crossings_frame(series, thresholds, history, result.cdf, bounds)
    result.targets = assess_targets(targets, history, as_of, result.cdf, bounds, frequency)
    result.seconds = time.perf_counter() - started
    return result
