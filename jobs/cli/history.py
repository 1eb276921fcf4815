"""`domshare history`: how a target's (or a series' crossings') forecast moved run after run."""
from __future__ import annotations

import math

import pandas as pd

from jobs.cli._table import format_table, minute
from jobs.errors import ConfigError
from jobs.periods import period_label
from jobs.store import db, read

NAME = "history"
HELP = ("Print how a target's assessment stood after every complete run: status, probability by "
        "the deadline, projected crossing date with its 10-90% range, and the runs where new data "
        "arrived (*). --series prints a series' threshold crossings the same way.")
EXAMPLES = [
    "domshare history --target P05-banking",
    "domshare history --series chips_ic_self_sufficiency_ic_insights",
    "domshare history --series chips_ic_self_sufficiency_ic_insights --threshold 0.7",
]


def add_arguments(parser) -> None:
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--target", metavar="ID", help="a target id (see `domshare export`'s targets.csv)")
    what.add_argument("--series", metavar="KEY", help="a series key: its crossings of every threshold")
    parser.add_argument("--threshold", type=float, metavar="FRACTION", help="with --series: only this threshold")


def _cell(value, spec: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return "-"
    return format(value, spec) if spec else str(value)


def _range(low, high) -> str:
    return "-" if _cell(low) == "-" and _cell(high) == "-" else f"{_cell(low)} .. {_cell(high)}"


def _periods(conn, series_key):
    """date -> the period it stands for in this series ("2021", "2016-06" for a TOP500 list),
    as `domshare status` and the app write it; the day where the series is unknown."""
    observations = read.observation_evidence(conn, [series_key]) if isinstance(series_key, str) else None
    if observations is None or observations.empty:
        return lambda value: _cell(value)
    kinds = set(observations["period_type"].dropna())
    own = kinds.pop() if len(kinds) == 1 else None  # a series of one period type; else its frequency's
    frequency = observations["frequency"].iloc[0]
    return lambda value: _cell(value) if _cell(value) == "-" else period_label(
        pd.Timestamp(value).date(), own, frequency)


def _target(conn, target_id: str) -> str:
    frame = read.target_history(conn, target_id)
    if frame.empty:
        known = read.targets_frame(conn)
        if target_id not in set(known["target_id"]):
            raise ConfigError(f"unknown target {target_id!r} (see `domshare export`'s targets.csv)")
        return f"target {target_id}: no complete run has assessed it yet (run `domshare refresh`)"
    first = frame.iloc[0]
    head = (f"target {target_id}: threshold {first['threshold']:.0%} by {first['deadline']}, "
            f"measured by {first['series'] or 'no series'}")
    period = _periods(conn, first["series"])
    rows = [(("*" if r.new_data else " ") + str(r.run_id), minute(r.run_finished_at), r.status,
             _cell(r.probability_by_deadline, ".2f"), period(r.projected_date),
             _range(period(r.p10_date), period(r.p90_date)), _cell(r.n_obs), period(r.last_obs_date),
             (r.input_hash or "")[:12]) for r in frame.itertuples()]
    table = format_table(("run", "finished", "status", "P(deadline)", "projected", "10-90%", "obs",
                          "last obs", "inputs"), rows, right=(0, 3, 6))
    return f"{head}\n{table}\n* new data arrived for the series in this run"


def _series(conn, series_key: str, threshold: float | None) -> str:
    frame = read.crossing_history(conn, series_key, threshold)
    if frame.empty:
        if series_key not in set(read.series_catalogue(conn)["key"]):
            raise ConfigError(f"unknown series {series_key!r} (see `domshare status`)")
        return f"series {series_key}: no crossings in any complete run" + (
            f" for threshold {threshold:g}" if threshold is not None else "")
    period = _periods(conn, series_key)
    rows = [(f"{r.threshold:.0%}", ("*" if r.new_data else " ") + str(r.run_id), minute(r.run_finished_at),
             r.status, period(r.median_date), _range(period(r.p10_date), period(r.p90_date)),
             _cell(r.probability_by_horizon, ".2f"), _cell(r.n_obs)) for r in frame.itertuples()]
    table = format_table(("threshold", "run", "finished", "status", "median", "10-90%", "P(horizon)", "obs"),
                         rows, right=(0, 1, 6, 7))
    return f"series {series_key}\n{table}\n* new data arrived for the series in this run"


def run(args, settings) -> int:
    if args.threshold is not None and not args.series:
        raise ConfigError("--threshold goes with --series")
    engine = db.make_engine(settings.db_url)
    db.require_schema(engine)
    with engine.connect() as conn:
        print(_target(conn, args.target) if args.target else _series(conn, args.series, args.threshold))
    return 0
