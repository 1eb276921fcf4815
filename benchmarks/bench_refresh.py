"""Refresh throughput: crossings (vectorised vs a Python loop over paths, same run), fit
time per series for each model specification, and the whole default refresh against a plain
Prophet loop on the same synthetic series.

    python3 benchmarks/bench_refresh.py [--paths 1000] [--series 10] [--skip-prophet]
    python3 benchmarks/bench_refresh.py --parts refresh --n 1000 [--workers 2]
            [--backend dask --scheduler-address tcp://HOST:PORT] [--pg URL | --no-pg] [--no-sqlite]
    python3 benchmarks/bench_refresh.py --parts rss [--rss-n 1000,4000] [--cheap-models naive,drift]
    python3 benchmarks/bench_refresh.py --parts refresh,incremental --n 10000 --refresh-n 20
            [--cheap-models naive,drift,ets_damped]

The crossing step is what a refresh does per series x threshold: the first date at or
above the threshold on every sample path. The baseline loops over paths and dates in
Python; both are checked to give identical answers before their times are compared.

The refresh part (benchmarks/refresh_scale.py): N synthetic shares, fixed seed, loaded into
a fresh store; `domshare refresh` timed end to end in its own process (peak RSS sampled);
a plain Prophet loop on the same series, sequential and in a 2-process pool; where a fit's
time goes; then a second refresh after 1 % of the series got a new observation, and a third
after every series got one (the refits reusing their stored model choice). Its `rss`
and `incremental` parts measure the refresh at large N (peak RSS at two store sizes; the
incremental refresh after 1 % changed and on a new day), with cheap models by default.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # refresh_scale, bench_store

from forecast.crossings import first_crossing_index, first_crossing_index_loop  # noqa: E402
from forecast import registry  # noqa: E402
import refresh_scale  # noqa: E402

THRESHOLDS = (0.5, 0.7, 0.75, 0.9, 1.0)


def paths_for(n_series: int, n_dates: int, n_paths: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [np.clip(np.cumsum(rng.normal(0.004, 0.02, (n_dates, n_paths)), axis=0) + rng.uniform(0.1, 0.6), 0, 1)
            for _ in range(n_series)]


def timed(fn, *args) -> tuple[float, object]:
    started = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - started, out


def bench_crossings(n_series: int, n_paths: int) -> None:
    all_paths = paths_for(n_series, 168, n_paths)  # monthly 2022-2035
    vec = loop = 0.0
    for paths in all_paths:
        for threshold in THRESHOLDS:
            tv, a = timed(first_crossing_index, paths, threshold)
            tl, b = timed(first_crossing_index_loop, paths, threshold)
            assert np.array_equal(a, b)
            vec, loop = vec + tv, loop + tl
    n = n_series * len(THRESHOLDS)
    print(f"crossings: {n_series} series x {len(THRESHOLDS)} thresholds x 168 dates x {n_paths} paths")
    print(f"  vectorised  {vec * 1000:8.1f} ms  ({n / vec:,.0f} series-thresholds/s)")
    print(f"  python loop {loop * 1000:8.1f} ms  ({n / loop:,.0f} series-thresholds/s)")
    print(f"  speed-up    {loop / vec:8.1f} x")


def bench_fits(specs: list[str], mcmc_samples: int) -> None:
    rng = np.random.default_rng(1)
    cases = {
        "monthly, 120 obs": (pd.date_range("2012-01-01", periods=120, freq="MS"),
                             pd.date_range("2022-01-01", "2035-12-01", freq="MS")),
        "annual, 10 obs": (pd.date_range("2012-01-01", periods=10, freq="YS"),
                           pd.date_range("2022-01-01", "2035-01-01", freq="YS")),
    }
    print(f"fit + 500 paths per series (mcmc_samples={mcmc_samples} for Prophet):")
    models = registry.build(specs, mcmc_samples)
    baseline = None
    for label, (dates, future) in cases.items():
        t = np.asarray((dates - dates[0]).days) / 365.25
        y = np.clip(1 / (1 + np.exp(-0.5 * (t - 11))) + rng.normal(0, 0.015, len(t)), 0, 1)
        history = pd.DataFrame({"ds": dates, "y": y})
        for name, model in models.items():
            seconds, _ = timed(model.fit_predict, history, future, 500, 7)
            baseline = seconds if name == "naive" else baseline
            ratio = f"{seconds / baseline:8.0f} x naive" if baseline and name != "naive" else ""
            print(f"  {label:<18}{name:<18}{seconds:8.3f} s {ratio}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--paths", type=int, default=1000)
    parser.add_argument("--series", type=int, default=10)
    parser.add_argument("--mcmc-samples", type=int, default=200)
    parser.add_argument("--skip-prophet", action="store_true")
    parser.add_argument("--parts", default="crossings,fits,refresh", help="comma-separated: crossings, fits, refresh, rss, incremental")
    refresh_scale.add_arguments(parser)
    args = parser.parse_args(argv)
    parts = set(args.parts.split(","))
    if "crossings" in parts:
        bench_crossings(args.series, args.paths)
    if "fits" in parts:
        specs = [m for m in registry.MODELS if not (args.skip_prophet and m.startswith("prophet"))]
        bench_fits(specs, args.mcmc_samples)
    if parts & {"refresh", "rss", "incremental"}:
        return refresh_scale.run(args, parts)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
