"""`domshare backtest`: the rolling-origin backtest table per series.

The scores are those of the latest run; when inputs or parameters changed since, the
run is refreshed first (the same code path as `domshare refresh`)."""
from __future__ import annotations

import math

from jobs.cli.refresh import add_arguments as refresh_arguments, config_from_args
from jobs.refresh import refresh
from jobs.store import db, read

NAME = "backtest"
HELP = ("Print each series' rolling-origin backtest: per model MAE, MASE against naive, 80% "
        "coverage and crossing-date error, and the model chosen.")
EXAMPLES = [
    "domshare backtest",
    "domshare backtest --series phones_usage_statcounter_domestic_share",
]


def add_arguments(parser) -> None:
    refresh_arguments(parser)


def _fmt(value, spec: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return format(value, spec)


def backtest_table(backtest, run_series, only=None) -> str:
    """Per series: a status line, then one row of scores per model (the chosen one marked)."""
    lines = []
    for _, rs in run_series.iterrows():
        key = rs["series_key"]
        if only and key not in only:
            continue
        lines.append(f"\n{key}  ({rs['status']}, {rs['n_obs']} obs, chosen: {rs['model'] or '-'})")
        scores = backtest[backtest["series_key"] == key]
        if scores.empty:
            lines.append("  no backtest: too few observations for a rolling origin")
            continue
        lines.append(f"  {'model':<18}{'origins':>8}{'MAE':>9}{'MASE':>8}{'cov80':>7}{'cross.err(d)':>14}")
        for _, s in scores.iterrows():
            mark = "  <- chosen" if s["chosen"] else ""
            lines.append(f"  {s['model']:<18}{s['n_origins']:>8}{_fmt(s['mae'], '.4f'):>9}"
                         f"{_fmt(s['mase'], '.2f'):>8}{_fmt(s['coverage_80'], '.2f'):>7}"
                         f"{_fmt(s['crossing_error_days'], '.0f'):>14}{mark}")
    return "\n".join(lines).lstrip("\n")


def run(args, settings) -> int:
    engine = db.make_engine(settings.db_url)
    outcome = refresh(engine, config_from_args(args, settings), series=args.series,
                      workers=args.workers or settings.workers, force=args.force)
    with engine.connect() as conn:
        run_row = read.latest_run(conn)
        frames = read.run_frames(conn, run_row["id"])
    state = "refitted now" if outcome.refitted else "unchanged inputs"
    print(f"run {run_row['id']} ({state}). MASE < 1: better than the naive in-sample one-step error; "
          "compare with the naive row.")
    print(backtest_table(frames["backtest"], frames["run_series"], args.series))
    return 0
