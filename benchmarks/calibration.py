"""Calibration of crossing dates on synthetic shares with known answers, per pipeline.

    python3 benchmarks/calibration.py                     # 48 series, every configuration
    python3 benchmarks/calibration.py --series 12 --configs default

Series (4 per shape x frequency, seeded): shapes logistic (an S-curve whose midpoint lies
1-4 years after the data), linear (rising 2-6 points a year), plateau (an S-curve that
levels off at 0.55-0.95 of the way up) and decline (falling from 0.45); frequencies monthly
(2012-01..2021-12), quarterly (2012-Q1..2021-Q4) and annual (2008..2021); every second
series has gaps (a fifth of its points removed at random). Noise N(0, 0.015).
Thresholds 0.5 and 0.75 when the true level has not reached them by the end of the data;
the truth is the first period of the series' frequency at or above the threshold, or
"not by 2035-12" (the horizon).

Printed per configuration (`--configs`, see CONFIGS):
  cover     share of crossings with the truth inside the horizon whose 10-90% range
            contains the true period (ideal about 0.8)
  med, p90  median and 90th percentile |median crossing - truth| in months
  nomed     share of those crossings with no median crossing by the horizon
  bad       share of them with an error above 24 months or no median crossing
  false     share of crossings with no true crossing by the horizon that got a median one
  s/series  seconds per series, backtest included, one process (choice_reused*: the
            second fit only, which reuses the first's choice and runs no backtest)
The logistic rows repeat cover and med for the logistic series alone.
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from forecast.engine import EngineConfig, forecast_series  # noqa: E402
from forecast.frames import TARGET_INPUT_COLUMNS  # noqa: E402
from forecast.prophet_models import quiet  # noqa: E402

THRESHOLDS = (0.5, 0.75)
HORIZON = "2035-12-31"
SHAPES = ("logistic", "linear", "plateau", "decline")
FREQUENCIES = {"monthly": ("MS", "2012-01-01", "2021-12-01"), "quarterly": ("QS", "2012-01-01", "2021-10-01"),
               "annual": ("YS", "2008-01-01", "2021-01-01")}
DEFAULT = EngineConfig(horizon=HORIZON, as_of="2026-12-01")
CONFIGS = {
    "default": DEFAULT,
    "posterior_at_origins": replace(DEFAULT, backtest_mcmc_samples=DEFAULT.mcmc_samples),
    "map_final": replace(DEFAULT, mcmc_samples=0),  # no posterior: Prophet's MAP fit for the forecast too
    "short_chain": replace(DEFAULT, mcmc_samples=100),  # 50 warm-up + 50 draws
    "prophet_logistic_only": replace(DEFAULT, specs=("prophet_logistic",)),
    "no_prophet": replace(DEFAULT, specs=("naive", "drift", "ets_damped", "auto_ets", "theta")),
    "with_arima": replace(DEFAULT, specs=(*DEFAULT.specs, "auto_arima")),  # the optional AutoARIMA competing too
    "baselines": replace(DEFAULT, specs=("naive", "drift")),
    # the default with other seeds: how far its own figures move by chance (Monte Carlo)
    "seed_1": replace(DEFAULT, seed=1),
    "seed_2": replace(DEFAULT, seed=2),
    # the default fitted without the last observation, then refitted as a later refresh does:
    # the stored choice reused, the stored Prophet posterior updated with the new observation
    # by importance sampling (sampled again where k-hat > 0.7)
    "choice_reused": DEFAULT,
    "choice_reused_nuts": replace(DEFAULT, psis_updates=False),  # the same, a new NUTS chain instead
}
REUSED = {"choice_reused", "choice_reused_nuts"}  # configurations fitted in two steps


def true_level(shape: str, rng: np.random.Generator):
    end = pd.Timestamp("2022-01-01")
    if shape == "logistic":
        rate, mid = rng.uniform(0.35, 0.7), end + pd.Timedelta(days=float(rng.uniform(365, 4 * 365)))
        return lambda d: 1 / (1 + np.exp(-rate * _years(d, mid)))
    if shape == "linear":
        slope, start = rng.uniform(0.02, 0.06), rng.uniform(0.05, 0.2)
        return lambda d: np.clip(start + slope * _years(d, pd.Timestamp("2008-01-01")), 0, 1)
    if shape == "plateau":
        cap = rng.uniform(0.55, 0.95)
        rate, mid = rng.uniform(0.5, 0.9), end + pd.Timedelta(days=float(rng.uniform(-3 * 365, 2 * 365)))
        return lambda d: cap / (1 + np.exp(-rate * _years(d, mid)))
    rate = rng.uniform(0.01, 0.03)
    return lambda d: np.clip(0.45 - rate * _years(d, pd.Timestamp("2008-01-01")), 0, 1)


def _years(dates, origin) -> np.ndarray:
    return np.asarray((pd.DatetimeIndex(dates) - origin).days, dtype=float) / 365.25


def synthetic_series(n: int) -> list[dict]:
    """n series cycling through shapes x frequencies; every second one with gaps."""
    series = []
    combos = [(s, f) for s in SHAPES for f in FREQUENCIES]
    for i in range(n):
        shape, frequency = combos[i % len(combos)]
        rng = np.random.default_rng(1000 + i)
        level = true_level(shape, rng)
        code, start, end = FREQUENCIES[frequency]
        dates = pd.date_range(start, end, freq=code)
        y = np.clip(level(dates) + rng.normal(0, 0.015, len(dates)), 0, 1)
        history = pd.DataFrame({"ds": dates, "y": y})
        if i % 2:
            keep = np.sort(rng.choice(len(dates), size=len(dates) - len(dates) // 5, replace=False))
            history = history.iloc[np.union1d(keep, [0, len(dates) - 1])].reset_index(drop=True)
        future = pd.date_range(dates[-1], HORIZON, freq=code)[1:]
        truth = {}
        for th in THRESHOLDS:
            if (level(dates) >= th).any():
                continue  # already reached in the data: nothing to forecast
            hit = np.flatnonzero(level(future) >= th)
            truth[th] = future[hit[0]] if len(hit) else None
        series.append({"key": f"{shape}-{frequency}-{i}", "shape": shape, "frequency": frequency,
                       "history": history, "truth": truth})
    return series


def _months_apart(a: pd.Timestamp, b: pd.Timestamp) -> int:
    """Calendar months between two period starts (a quarter off is 3, a year 12)."""
    return abs((a.year - b.year) * 12 + a.month - b.month)


def evaluate(config: EngineConfig, series: list[dict], two_steps: bool = False) -> pd.DataFrame:
    """Every crossing's result; `two_steps`: each series fitted without its last observation
    first, then with it reusing that fit's choice and posteriors where a refresh would
    (seconds: the second step)."""
    rows = []
    targets = pd.DataFrame(columns=TARGET_INPUT_COLUMNS)
    for s in series:
        earlier = forecast_series(s["key"], s["history"].iloc[:-1], targets, config, s["frequency"]) if two_steps else None
        if earlier is not None and (earlier.choice is None or not earlier.choice.still_fresh(s["history"]["ds"].iloc[-1])):
            earlier = None  # as a refresh does: a year past the choice's data (annual series), choose again
        started = time.perf_counter()
        result = forecast_series(s["key"], s["history"], targets, config, s["frequency"],
                                 choice=earlier.choice if earlier else None,
                                 posteriors=earlier.posteriors if earlier else None)
        seconds = time.perf_counter() - started
        crossings = result.crossings.set_index("threshold")
        for th, truth in s["truth"].items():
            row = crossings.loc[th]
            median = pd.Timestamp(row["median_date"]) if row["median_date"] else None
            p10 = pd.Timestamp(row["p10_date"]) if row["p10_date"] else pd.Timestamp.max
            p90 = pd.Timestamp(row["p90_date"]) if row["p90_date"] else pd.Timestamp.max
            error = _months_apart(median, truth) if median is not None and truth is not None else None
            rows.append({"series": s["key"], "shape": s["shape"], "threshold": th, "truth": truth,
                         "inside": truth is not None and p10 <= truth <= p90, "median": median,
                         "error_months": error, "seconds": seconds, "model": result.model})
    return pd.DataFrame(rows)


def summary(frame: pd.DataFrame, n_series: int) -> dict:
    due = frame[frame["truth"].notna()]
    never = frame[frame["truth"].isna()]
    errors = due["error_months"].dropna()
    no_median = due["median"].isna()
    logistic = due[due["shape"] == "logistic"]
    return {
        "cover": due["inside"].mean(), "med": errors.median(), "p90": errors.quantile(0.9),
        "nomed": no_median.mean(), "bad": ((due["error_months"] > 24) | no_median).mean(),
        "false": never["median"].notna().mean() if len(never) else float("nan"),
        "log_cover": logistic["inside"].mean(), "log_med": logistic["error_months"].median(),
        "s_per_series": frame.drop_duplicates("series")["seconds"].sum() / n_series,
        "n_due": len(due), "n_never": len(never),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--series", type=int, default=48, help="number of synthetic series (default 48)")
    parser.add_argument("--skip", type=int, default=0,
                        help="leave out the first SKIP series (--series 96 --skip 48: the held-out half)")
    parser.add_argument("--configs", default=",".join(CONFIGS), help=f"comma-separated, of {', '.join(CONFIGS)}")
    parser.add_argument("--csv", help="also write every crossing's result to this CSV file")
    args = parser.parse_args(argv)
    quiet()
    series = synthetic_series(args.series)[args.skip:]
    print(f"{len(series)} synthetic series ({', '.join(SHAPES)} x {', '.join(FREQUENCIES)}; half with gaps), "
          f"thresholds {THRESHOLDS}, horizon {HORIZON}")
    print(f"{'configuration':<24}{'cover':>7}{'med':>7}{'p90':>7}{'nomed':>7}{'bad':>7}{'false':>7}"
          f"{'logistic cover':>16}{'med':>6}{'s/series':>10}")
    results = []
    for name in args.configs.split(","):
        frame = evaluate(CONFIGS[name], series, name in REUSED).assign(configuration=name)
        results.append(frame)
        r = summary(frame, len(series))
        print(f"{name:<24}{r['cover']:>7.2f}{r['med']:>7.1f}{r['p90']:>7.1f}{r['nomed']:>7.2f}{r['bad']:>7.2f}"
              f"{r['false']:>7.2f}{r['log_cover']:>16.2f}{r['log_med']:>6.1f}{r['s_per_series']:>10.2f}",
              flush=True)
    print(f"({r['n_due']} crossings due by the horizon, {r['n_never']} not)")
    if args.csv:
        pd.concat(results).to_csv(args.csv, index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
