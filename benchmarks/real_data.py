"""Out-of-sample report on the real bundled series: the chosen model (or mixture) and every
peer against the naive forecast.

    python3 benchmarks/real_data.py [--csv real_data.csv] [--models naive,drift,...]

Builds a fresh SQLite store from data/ (as `domshare init` does), then runs the default
engine on every domestic-share series that can be forecast. Per series it prints:
  obs       observations fitted (exact and approximate values)
  chosen    the choice made on every origin (a model, or a mixture with its weights)
  choice    out-of-sample skill of the choice procedure: at each of the latest 3 origins
            the choice is made on earlier data only and scored there; 1 - CRPS / naive's
  cov80     share of those held-out points inside the chosen 80% band
  <model>   each peer's skill at the same origins (1 - its CRPS / naive's; "skip" when it
            could not fit the series)
Pooled lines: the 80% coverage over every held-out point of every series; the mean CRPS of
the choice against each single peer's over the series where that peer ran (ratio < 1: the
choice is better); the same scale-free (the geometric mean over series of the per-series
CRPS ratio: each series counts once, not by its number of points and level); how many
series with >= 20 observations the choice beats naive on; and the pooled figures when the
naive and drift baselines compete in the choice like the other models.

Policy dates as changepoints: the same engine again without the curated policy dates of
each series' sector and technology (which the default offers to Prophet), and per series
with dates inside its data: how many were offered, for which Prophet models the backtest
kept them, and the choice's out-of-sample skill and coverage with and without them.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from forecast import registry  # noqa: E402
from forecast.engine import EngineConfig, forecast_series  # noqa: E402
from forecast.frames import BOUNDS_COLUMNS, SERIES, TARGET_INPUT_COLUMNS, validate_history  # noqa: E402
from forecast.prophet_models import quiet  # noqa: E402
from jobs.cli import main as cli  # noqa: E402
from jobs.store import db, read  # noqa: E402

MIN_OBS_FOR_MAJORITY = 20


def bundled_series(url: str):
    """(key, history, frequency, bounds, policy dates) for every domestic-share series with
    observations."""
    engine = db.make_engine(url)
    with engine.connect() as conn:
        catalogue = read.series_catalogue(conn).set_index("key")
        history = validate_history(read.history_frame(conn, validate=False))
        bounds = read.bounds_frame(conn)
        policies = read.policy_dates(conn)
    engine.dispose()
    for key, group in history.groupby(SERIES):
        yield (key, group, catalogue.loc[key, "frequency"], bounds[bounds[SERIES] == key][BOUNDS_COLUMNS],
               policies.get(key))


def report(config: EngineConfig, url: str, policies: bool = True) -> tuple[pd.DataFrame, dict]:
    rows, pooled_inside, per_point = [], [], []
    targets = pd.DataFrame(columns=TARGET_INPUT_COLUMNS)
    for key, history, frequency, bounds, policy_dates in bundled_series(url):
        if len(history) < config.min_points:
            continue
        started = time.perf_counter()
        result = forecast_series(key, history, targets, config, frequency, bounds, policy_dates if policies else None)
        seconds = time.perf_counter() - started
        scores = result.backtest.set_index("model")
        tested = result.tested
        row = {"series": key, "obs": len(history), "status": result.status, "chosen": result.model,
               "weights": " ".join(f"{m}:{w:.1f}" for m, w in (result.weights or {}).items()),
               "choice_skill": result.skill, "cov80": np.mean(tested.inside_80) if tested and tested.inside_80 else None,
               "points": len(tested.crps) if tested else 0, "seconds": seconds,
               "policies_offered": len(result.policy_changepoints),
               "policies_kept": " ".join(m for m, kept in sorted(result.policy_kept.items()) if kept)}
        for name in config.specs:
            ran = name in scores.index and not isinstance(scores.loc[name, "error"], str)
            row[name] = scores.loc[name, "skill"] if ran else None
            row[f"{name}_crps"] = scores.loc[name, "crps"] if ran else None
        row["choice_crps"] = np.mean(tested.crps) if tested and tested.crps else None
        rows.append(row)
        if tested and tested.inside_80:
            pooled_inside.extend(tested.inside_80)
    frame = pd.DataFrame(rows)
    scored = frame[frame["points"] > 0]
    ratios = {}
    for name in config.specs:
        both = scored[scored[f"{name}_crps"].notna()]
        if len(both):
            weights = both["points"]
            ratios[name] = float((both["choice_crps"] * weights).sum() / (both[f"{name}_crps"] * weights).sum())
    long = scored[scored["obs"] >= MIN_OBS_FOR_MAJORITY]
    pooled = {"coverage_80": float(np.mean(pooled_inside)) if pooled_inside else None,
              "points": len(pooled_inside), "crps_ratio_to_peer": ratios,
              "beats_naive": int((long["choice_skill"] > 0).sum()), "long_series": len(long)}
    return frame, pooled


def scale_free_ratios(frame: pd.DataFrame, specs) -> dict[str, float]:
    """Per peer: the geometric mean over the series where it ran of the choice's CRPS over
    the peer's (each series counts once, whatever its scale and number of held-out points)."""
    scored = frame[frame["points"] > 0]
    ratios = {}
    for name in specs:
        both = scored[scored[f"{name}_crps"].notna() & (scored[f"{name}_crps"] > 0)]
        if len(both):
            ratios[name] = float(np.exp(np.log(both["choice_crps"] / both[f"{name}_crps"]).mean()))
    return ratios


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--csv", default="real_data.csv", help="where to write the per-series table")
    parser.add_argument("--models", default=",".join(registry.DEFAULT_MODELS))
    args = parser.parse_args(argv)
    quiet()
    config = EngineConfig(specs=registry.check_names(args.models.split(",")))
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bundled.db'}"
        cli(["init", "--db", url])
        frame, pooled = report(config, url)
        without, pooled_without = report(config, url, policies=False)
        competing, pooled_competing = report(replace(config, baselines=()), url)
    frame.to_csv(args.csv, index=False)
    shown = ["series", "obs", "chosen", "choice_skill", "cov80", *config.specs]
    with pd.option_context("display.width", 250, "display.max_columns", 20, "display.float_format", "{:+.2f}".format):
        print(frame[shown].rename(columns={"choice_skill": "choice"}).to_string(index=False, na_rep="skip"))
    print(f"\npooled 80% coverage of the choice: {pooled['coverage_80']:.2f} over {pooled['points']} held-out points")
    print("pooled CRPS of the choice / each peer's (series where the peer ran): "
          + ", ".join(f"{m} {r:.2f}" for m, r in pooled["crps_ratio_to_peer"].items()))
    print(f"the choice beats naive on {pooled['beats_naive']} of {pooled['long_series']} series with "
          f">= {MIN_OBS_FOR_MAJORITY} observations")
    print("scale-free, each series once (geometric mean over series of the choice's CRPS / the peer's): "
          + ", ".join(f"{m} {r:.2f}" for m, r in scale_free_ratios(frame, config.specs).items()))
    print(f"with naive and drift competing in the choice like the other models: pooled 80% coverage "
          f"{pooled_competing['coverage_80']:.2f}, pooled CRPS / naive's "
          f"{pooled_competing['crps_ratio_to_peer'].get('naive', float('nan')):.2f}; chosen: "
          + ", ".join(f"{k} {m}" for k, m in zip(competing["series"], competing["chosen"])))
    print(f"seconds: {frame['seconds'].sum():.1f} for {len(frame)} series; table written to {args.csv}")
    print_policy_effect(frame, pooled, without, pooled_without)
    return 0


def print_policy_effect(frame, pooled, without, pooled_without) -> None:
    offered = frame[frame["policies_offered"] > 0].merge(
        without[["series", "choice_skill", "cov80"]], on="series", suffixes=("", "_without"))
    print("\npolicy dates as candidate changepoints (the default) against none:")
    if offered.empty:
        print("  no series has a curated policy date inside its data")
        return
    table = offered[["series", "obs", "policies_offered", "policies_kept", "choice_skill",
                     "choice_skill_without", "cov80", "cov80_without"]]
    with pd.option_context("display.width", 250, "display.float_format", "{:+.2f}".format):
        print(table.rename(columns={"policies_offered": "offered", "policies_kept": "kept for",
                                    "choice_skill": "skill", "choice_skill_without": "skill without",
                                    "cov80_without": "cov80 without"}).to_string(index=False, na_rep="-"))
    print(f"pooled 80% coverage {pooled['coverage_80']:.2f} with, {pooled_without['coverage_80']:.2f} without; "
          f"choice beats naive on {pooled['beats_naive']} / {pooled_without['beats_naive']} of "
          f"{pooled['long_series']} long series; pooled CRPS ratio to naive "
          f"{pooled['crps_ratio_to_peer'].get('naive', float('nan')):.2f} with, "
          f"{pooled_without['crps_ratio_to_peer'].get('naive', float('nan')):.2f} without")


if __name__ == "__main__":
    raise SystemExit(main())
