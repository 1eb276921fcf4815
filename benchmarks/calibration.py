"""Calibration of crossing dates on synthetic logistic series with known answers.

    python3 benchmarks/calibration.py [--series 20] [--models prophet_logistic,prophet_logit,drift]

Each series: monthly 2012-01..2021-12, true level 1 / (1 + exp(-rate (t - midpoint))) with
rate and midpoint drawn per series (midpoint 2023-2026, so the thresholds are crossed after
the data end), plus N(0, 0.015) noise. For thresholds 0.5 and 0.75 the true first month at
or above is known; we count how often the model's 10-90% crossing range contains it (ideal
about 80%) and the median absolute error of the median crossing date.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from forecast.crossings import crossing_row  # noqa: E402
from forecast.engine import build_models  # noqa: E402

THRESHOLDS = (0.5, 0.75)


def synthetic(seed: int):
    rng = np.random.default_rng(seed)
    rate = rng.uniform(0.35, 0.7)
    midpoint = pd.Timestamp("2023-01-01") + pd.Timedelta(days=float(rng.uniform(0, 3 * 365)))
    dates = pd.date_range("2012-01-01", "2021-12-01", freq="MS")
    future = pd.date_range("2022-01-01", "2035-12-01", freq="MS")

    def level(d):
        return 1 / (1 + np.exp(-rate * np.asarray((d - midpoint).days) / 365.25))

    y = np.clip(level(dates) + rng.normal(0, 0.015, len(dates)), 0, 1)
    truth = {th: future[np.argmax(level(future) >= th)] for th in THRESHOLDS}
    return pd.DataFrame({"ds": dates, "y": y}), future, truth


def evaluate(model, n_series: int, n_paths: int = 500) -> dict:
    inside, errors, seconds = [], [], []
    for seed in range(n_series):
        history, future, truth = synthetic(seed)
        started = time.perf_counter()
        paths = model.fit_predict(history, future, n_paths, seed)
        seconds.append(time.perf_counter() - started)
        for th, true_date in truth.items():
            row = crossing_row("s", th, history, future, paths.level)
            lo = pd.Timestamp(row["p10_date"]) if row["p10_date"] else pd.Timestamp.max
            hi = pd.Timestamp(row["p90_date"]) if row["p90_date"] else pd.Timestamp.max
            inside.append(lo <= true_date <= hi)
            if row["median_date"]:
                errors.append(abs((pd.Timestamp(row["median_date"]) - true_date).days) / 30.44)
    return {"coverage_10_90": float(np.mean(inside)), "n": len(inside),
            "median_abs_error_months": float(np.median(errors)) if errors else float("nan"),
            "seconds_per_fit": float(np.mean(seconds))}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--series", type=int, default=20)
    parser.add_argument("--models", default="prophet_logistic,prophet_logit,drift")
    parser.add_argument("--mcmc-samples", type=int, default=200)
    args = parser.parse_args(argv)
    models = build_models(args.models.split(","), args.mcmc_samples)
    print(f"{len(THRESHOLDS)} thresholds x {args.series} synthetic series; ideal coverage ~0.80")
    for name, model in models.items():
        r = evaluate(model, args.series)
        print(f"{name:<18} coverage(10-90%) {r['coverage_10_90']:.2f} over {r['n']} crossings; "
              f"median |error| {r['median_abs_error_months']:.1f} months; {r['seconds_per_fit']:.2f} s/fit")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
