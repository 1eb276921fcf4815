"""`domshare refresh`: fit every series and store one forecast run."""
from __future__ import annotations

import datetime as dt

from forecast.engine import DEFAULT_SPECS, EngineConfig, build_models
from jobs.errors import ConfigError
from jobs.refresh import refresh
from jobs.store import db

NAME = "refresh"
HELP = ("Fit forecasts for every domestic-share series (process pool), with crossings, "
        "target assessments and backtests, and store them as one run.")
EXAMPLES = [
    "domshare refresh",
    "domshare refresh --series phones_usage_statcounter_domestic_share --force",
    "domshare refresh --workers 2 --seed 7 --horizon 2030-12-31",
    "domshare refresh --models naive,drift",
]


def add_arguments(parser) -> None:
    parser.add_argument("--series", nargs="+", metavar="KEY", help="only these series (others are carried over from the latest run)")
    parser.add_argument("--workers", type=int, default=None, help="worker processes; 1 fits in this process (default: $DOMSHARE_WORKERS or CPUs, at most 4)")
    parser.add_argument("--force", action="store_true", help="refit even when inputs and parameters are unchanged")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: $DOMSHARE_SEED or 20141217)")
    parser.add_argument("--horizon", default="2035-12-31", metavar="YYYY-MM-DD", help="forecast up to this date (default 2035-12-31)")
    parser.add_argument("--models", default=",".join(DEFAULT_SPECS),
                        help=f"models the backtest chooses among (default {','.join(DEFAULT_SPECS)})")
    parser.add_argument("--mcmc-samples", type=int, default=EngineConfig.mcmc_samples,
                        help="posterior draws per chain for the Prophet models (default %(default)s)")


def config_from_args(args, settings) -> EngineConfig:
    try:
        dt.date.fromisoformat(args.horizon)
    except ValueError as exc:
        raise ConfigError(f"--horizon {args.horizon!r} is not a date YYYY-MM-DD") from exc
    specs = tuple(m.strip() for m in args.models.split(",") if m.strip())
    try:
        build_models(specs, args.mcmc_samples)  # names only: Prophet is imported at fit time
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    return EngineConfig(horizon=args.horizon, specs=specs, seed=args.seed if args.seed is not None else settings.seed,
                        mcmc_samples=args.mcmc_samples)


def run(args, settings) -> int:
    config = config_from_args(args, settings)
    engine = db.make_engine(settings.db_url)
    outcome = refresh(engine, config, series=args.series, workers=args.workers or settings.workers,
                      force=args.force)
    if not outcome.refitted:
        print("inputs and parameters unchanged since the latest run: nothing refitted (use --force to refit)")
        return 0
    counts = {s: list(outcome.statuses.values()).count(s) for s in ("ok", "insufficient_data", "failed")}
    print(f"run {outcome.run_id} complete in {outcome.seconds:.1f}s: "
          + ", ".join(f"{n} {s}" for s, n in counts.items()))
    for key, error in sorted(outcome.failures.items()):
        print(f"  failed: {key}: {error}")
    return 1 if outcome.failures else 0
