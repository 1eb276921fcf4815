"""Rolling-origin backtests and the choice of model per series.

At each origin (cutoff) a model sees only the history before it and forecasts the rest.
Scores, averaged over origins, on the first `h` held-out points (h matched to frequency:
12 months, 4 quarters, 2 half-years, 2 years):
  mae          mean absolute error of the median forecast (share points, 0-1)
  mase         that error divided by the in-sample one-step naive error of the training
               window (< 1: better than a naive forecast made in-sample; the naive model's
               own MASE is the bar to beat out of sample)
  coverage_80  share of held-out points inside the 80% band (ideal: 0.8)
  crossing_error_days  for thresholds crossed after the cutoff: |median predicted crossing
               - observed crossing| (when the median does not cross before the data end,
               the distance to that end: a lower bound)
The chosen model has the lowest MASE among models that ran at every origin; ties and
Prophet failures go to the baselines.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from forecast.calendar import FREQUENCIES, backtest_steps, history_frequency
from forecast.crossings import crossing_row, observed_crossing
from forecast.frames import DS, Y

SCORE_COLUMNS = ["model", "n_origins", "mae", "mase", "coverage_80", "crossing_error_days", "error"]
MIN_TRAIN = 4


def origins(n: int, h: int, n_cutoffs: int, min_train: int = MIN_TRAIN) -> list[int]:
    """Training lengths of the origins, latest first, spaced by max(1, h // 2)."""
    spacing = max(1, h // 2)
    cuts = [n - h - k * spacing for k in range(n_cutoffs)]
    return [c for c in cuts if c >= min_train]


def _crossing_errors(train, test, paths_level, thresholds) -> list[float]:
    errors = []
    for threshold in thresholds:
        if observed_crossing(train, threshold) is not None:
            continue
        actual = observed_crossing(test, threshold)
        if actual is None:
            continue
        row = crossing_row("", threshold, train, pd.DatetimeIndex(test[DS]), paths_level)
        predicted = row["median_date"] or (test[DS].iloc[-1] + (test[DS].iloc[-1] - test[DS].iloc[-2])).date()
        errors.append(abs((pd.Timestamp(predicted) - pd.Timestamp(actual)).days))
    return errors


def score_model(model, history: pd.DataFrame, cuts: list[int], h: int, thresholds,
                n_paths: int, seed: int) -> dict:
    maes, mases, covered, crossing = [], [], [], []
    for cut in cuts:
        train, test = history.iloc[:cut], history.iloc[cut:]
        paths = model.fit_predict(train, pd.DatetimeIndex(test[DS]), n_paths, seed + cut)
        actual = test[Y].to_numpy(float)[:h]
        observed = paths.observed[:h]
        error = np.abs(np.median(observed, axis=1) - actual)
        scale = np.mean(np.abs(np.diff(train[Y].to_numpy(float)))) or 1e-6
        lower, upper = np.quantile(observed, [0.1, 0.9], axis=1)
        maes.append(error.mean())
        mases.append(error.mean() / scale)
        covered.extend((actual >= lower - 1e-9) & (actual <= upper + 1e-9))
        crossing.extend(_crossing_errors(train, test, paths.level, thresholds))
    return {
        "model": model.name, "n_origins": len(cuts), "mae": float(np.mean(maes)),
        "mase": float(np.mean(mases)), "coverage_80": float(np.mean(covered)),
        "crossing_error_days": float(np.mean(crossing)) if crossing else None, "error": None,
    }


def backtest(history: pd.DataFrame, models: dict, thresholds=(), n_cutoffs: int = 3,
             n_paths: int = 200, seed: int = 0, frequency: str | None = None) -> pd.DataFrame:
    """One score row per model (no rows when the series is too short for any origin).
    The horizon counts observations: h held-out points at the series' frequency."""
    h = backtest_steps(frequency if frequency in FREQUENCIES else history_frequency(history))
    cuts = origins(len(history), h, n_cutoffs)
    if not cuts:
        return pd.DataFrame(columns=SCORE_COLUMNS)
    rows = []
    for name, model in models.items():
        try:
            rows.append(score_model(model, history, cuts, h, thresholds, n_paths, seed))
        except Exception as exc:  # a model failing is a result (recorded), not a crash
            rows.append({"model": name, "n_origins": 0, "mae": None, "mase": None,
                         "coverage_80": None, "crossing_error_days": None,
                         "error": f"{type(exc).__name__}: {exc}"})
    return pd.DataFrame(rows, columns=SCORE_COLUMNS)


def choose(scores: pd.DataFrame, baselines: tuple[str, ...], fallback: str) -> str:
    """Lowest MASE among models that ran; baselines win ties; `fallback` with no scores."""
    ok = scores[scores["error"].isna() & scores["mase"].notna()]
    if ok.empty:
        return fallback
    ok = ok.assign(_baseline=~ok["model"].isin(baselines))  # False sorts first: baselines
    return str(ok.sort_values(["mase", "_baseline"]).iloc[0]["model"])
