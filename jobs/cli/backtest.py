"""`domshare backtest`: the rolling-origin backtest table per series.

The scores are those of the latest run; when inputs or parameters changed since, the
run is refreshed first (the same code path as `domshare refresh`)."""
from __future__ import annotations

import json
import math

from jobs.cli.refresh import add_arguments as refresh_arguments, config_from_args
from jobs.refresh import refresh
from jobs.store import db, read

NAME = "backtest"
HELP = ("Print each series' rolling-origin backtest: per model CRPS and skill against naive, "
        "MAE, MASE, 80% coverage and crossing-date error, the model or mixture chosen, and the "
        "choice's out-of-sample skill.")
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


def _choice(rs) -> str:
    weights = json.loads(rs["weights"]) if isinstance(rs.get("weights"), str) else None
    chosen = rs["model"] or "-"
    if weights and len(weights) > 1:
        chosen += " (" + ", ".join(f"{m} {w:.1f}" for m, w in weights.items()) + ")"
    reused = read.reused_choice(rs.to_dict())
    if reused:  # the scores below are the choosing run's
        chosen += f" ({reused})"
    skill = rs.get("skill")
    if skill is None or (isinstance(skill, float) and math.isnan(skill)):
        return f"chosen: {chosen}; no out-of-sample skill (too few origins)"
    origins = int(rs["skill_origins"])
    verdict = "beats naive" if skill > 0 else "worse than naive" if skill < 0 else "ties naive"
    return (f"chosen: {chosen}; out-of-sample skill {skill:+.2f} ({verdict}) over "
            f"{origins} origin{'' if origins == 1 else 's'}")


def backtest_table(backtest, run_series, only=None) -> str:
    """Per series: a status line with the choice, then one row of scores per model."""
    lines, short = [], []
    for _, rs in run_series.iterrows():
        key = rs["series_key"]
        if only and key not in only:
            continue
        if rs["status"] == "insufficient_data":  # no forecast, so no choice and no backtest: listed last
            why = "no exact or approximate value to fit" if not rs["n_obs"] else rs["error"] or f"{rs['n_obs']} obs"
            short.append(f"  {key}  ({why})")
            continue
        lines.append(f"\n{key}  ({rs['status']}, {rs['n_obs']} obs; {_choice(rs)})")
        scores = backtest[backtest["series_key"] == key]
        if scores.empty:
            lines.append("  no backtest: too few observations for a rolling origin")
            continue
        width = max(18, *(len(m) + 2 for m in scores["model"]))  # "prophet_logistic+policies"
        lines.append(f"  {'model':<{width}}{'origins':>8}{'CRPS':>9}{'skill':>7}{'MAE':>9}{'MASE':>8}"
                     f"{'cov80':>7}{'cross.err(d)':>14}")
        for _, s in scores.iterrows():
            mark = "  <- chosen" if s["chosen"] else ""
            if isinstance(s.get("error"), str):
                lines.append(f"  {s['model']:<{width}}skipped: {s['error']}")
                continue
            lines.append(f"  {s['model']:<{width}}{s['n_origins']:>8}{_fmt(s['crps'], '.4f'):>9}"
                         f"{_fmt(s['skill'], '+.2f'):>7}{_fmt(s['mae'], '.4f'):>9}"
                         f"{_fmt(s['mase'], '.2f'):>8}{_fmt(s['coverage_80'], '.2f'):>7}"
                         f"{_fmt(s['crossing_error_days'], '.0f'):>14}{mark}")
    if short:
        lines += ["", "too few exact or approximate observations to forecast, so no backtest "
                      "(bounds and ranges are never fitted):", *short]
    return "\n".join(lines).lstrip("\n")


def run(args, settings) -> int:
    engine = db.make_engine(settings.db_url)
    outcome = refresh(engine, config_from_args(args, settings), series=args.series,
                      workers=args.workers or settings.workers, force=args.force, reselect=args.reselect)
    with engine.connect() as conn:
        run_row = read.latest_run(conn)
        frames = read.run_frames(conn, run_row["id"])
    state = "refitted now" if outcome.refitted else "unchanged inputs"
    print(f"run {run_row['id']} ({state}). CRPS (lower is better) and skill = 1 - CRPS / naive's "
          "on the latest 3 origins; skill > 0 beats the naive forecast.")
    print(backtest_table(frames["backtest"], frames["run_series"], args.series))
    return 0
