"""`domshare refresh`: fit every series and store one forecast run."""
from __future__ import annotations

import datetime as dt

from forecast import registry
from forecast.engine import EngineConfig
from jobs import backends
from jobs.alerts import AlertSettings
from jobs.errors import ConfigError
from jobs.sources.config import load_config
from jobs.refresh import refresh
from jobs.store import db

NAME = "refresh"
HELP = ("Fit forecasts for every domestic-share series (process pool), with crossings, "
        "target assessments and backtests, and store them as one run. One refresh runs at a "
        "time per database: a second exits 6 naming the running one.")
EXAMPLES = [
    "domshare refresh",
    "domshare refresh --series phones_usage_statcounter_domestic_share --force",
    "domshare refresh --reselect",
    "domshare refresh --no-posterior-updates",
    "domshare refresh --workers 2 --seed 7 --horizon 2030-12-31",
    "domshare refresh --models naive,drift",
    "domshare refresh --as-of 2027-01-01",
    "domshare refresh --backend dask --scheduler-address tcp://scheduler.example:8786",
]
MIN_MCMC_SAMPLES = 20  # Prophet halves it into warm-up and draws; fewer gives no usable posterior


def add_arguments(parser) -> None:
    parser.add_argument("--series", nargs="+", metavar="KEY", help="only these series (others are carried over from the latest run)")
    parser.add_argument("--workers", type=int, default=None, help="worker processes; 1 fits in this process (default: $DOMSHARE_WORKERS or CPUs, at most 4)")
    parser.add_argument("--force", action="store_true", help="refit every series, also those whose inputs, parameters and "
                        "forecasting code are unchanged since their latest result (by default those are carried over)")
    parser.add_argument("--reselect", action="store_true", help="make a new model choice (backtest) for every "
                        "series refitted because its data changed; by default such a series reuses its stored "
                        "choice and runs only the final fit, while its newest observation lies within a year of "
                        "the data the choice saw (--force reselects too)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: $DOMSHARE_SEED or 20141217)")
    parser.add_argument("--horizon", default="2035-12-31", metavar="YYYY-MM-DD", help="forecast up to this date (default 2035-12-31)")
    parser.add_argument("--as-of", default=None, metavar="YYYY-MM-DD",
                        help="the 'today' of target deadlines (default: today); a new --as-of alone refits nothing")
    models = "; ".join(f"{name}: {entry.description}" for name, entry in registry.MODELS.items())
    parser.add_argument("--models", default=",".join(registry.DEFAULT_MODELS), metavar="NAME,NAME",
                        help=f"comma-separated models the backtest chooses among (default: all). {models}")
    parser.add_argument("--backend", choices=sorted(backends.BACKENDS), default=None,
                        help="where the fits run: local (process pool, the default) or dask (an existing "
                             "Dask cluster; the default when a scheduler address is set)")
    parser.add_argument("--scheduler-address", default=None, metavar="tcp://HOST:PORT",
                        help="the Dask scheduler for --backend dask (default: $DOMSHARE_DASK_ADDRESS)")
    parser.add_argument("--mcmc-samples", type=int, default=EngineConfig.mcmc_samples,
                        help="NUTS iterations of the one chain of a final Prophet fit, half of them "
                             f"warm-up (at least {MIN_MCMC_SAMPLES}; default %(default)s)")
    parser.add_argument("--no-posterior-updates", action="store_true",
                        help="a refit that reuses its model choice samples each Prophet posterior again with NUTS "
                             "instead of updating the stored one by importance sampling")


def config_from_args(args, settings) -> EngineConfig:
    try:
        horizon = dt.date.fromisoformat(args.horizon)
    except ValueError as exc:
        raise ConfigError(f"--horizon {args.horizon!r} is not a date YYYY-MM-DD") from exc
    if horizon.year > 2100:
        raise ConfigError(f"--horizon {args.horizon}: at most 2100-12-31")
    if args.as_of is not None:
        try:
            dt.date.fromisoformat(args.as_of)
        except ValueError as exc:
            raise ConfigError(f"--as-of {args.as_of!r} is not a date YYYY-MM-DD") from exc
    if args.workers is not None and args.workers < 1:
        raise ConfigError(f"--workers {args.workers}: give 1 or more worker processes")
    if args.mcmc_samples < MIN_MCMC_SAMPLES:
        raise ConfigError(f"--mcmc-samples {args.mcmc_samples}: give at least {MIN_MCMC_SAMPLES}")
    specs = tuple(m.strip() for m in args.models.split(",") if m.strip())
    try:
        registry.check_names(specs)
    except registry.UnknownModel as exc:
        raise ConfigError(f"--models: {exc}") from exc
    return EngineConfig(horizon=args.horizon, specs=specs, seed=args.seed if args.seed is not None else settings.seed,
                        mcmc_samples=args.mcmc_samples, as_of=args.as_of,
                        psis_updates=not args.no_posterior_updates)


def alert_settings(settings) -> AlertSettings:
    """The `[alerts]` table of the sources file (thresholds, webhooks); defaults without one."""
    if not settings.sources_path.exists():
        return AlertSettings()
    return load_config(settings.sources_path, settings.data_dir).alerts


def backend_from_args(args, settings) -> tuple[str, str | None]:
    """(backend name, Dask scheduler address): dask when an address is set, unless --backend local."""
    address = args.scheduler_address or settings.dask_address
    backend = args.backend or ("dask" if address else "local")
    if backend == "dask":
        backends.check_address(address)
    elif args.scheduler_address:
        raise ConfigError("--scheduler-address is for --backend dask (the local backend needs none)")
    return backend, address


def run(args, settings) -> int:
    config = config_from_args(args, settings)
    backend, address = backend_from_args(args, settings)
    engine = db.make_engine(settings.db_url)
    outcome = refresh(engine, config, series=args.series, workers=args.workers or settings.workers,
                      force=args.force, alerts=alert_settings(settings), backend=backend,
                      scheduler_address=address, reselect=args.reselect)
    for run_id in outcome.abandoned:
        print(f"run {run_id} marked abandoned: its refresh stopped before the end (killed or crashed)")
    if not outcome.refitted:
        print("inputs and parameters unchanged since the latest run: nothing refitted (use --force to refit)")
        return 0
    counts = {s: list(outcome.statuses.values()).count(s) for s in ("ok", "insufficient_data", "failed")}
    state = "complete" if outcome.complete else "failed (the previous complete run stays current)"
    print(f"run {outcome.run_id} {state} in {outcome.seconds:.1f}s: {outcome.refitted_series} series refitted "
          f"({', '.join(f'{n} {s}' for s, n in counts.items())}; {outcome.choice_reused_series} with their stored "
          f"model choice, {outcome.posterior_updated_series} of them with their posterior updated), "
          f"{outcome.carried_series} carried over unchanged")
    for key, error in sorted(outcome.failures.items()):
        print(f"  failed: {key}: {error}")
    return 1 if outcome.failures or not outcome.complete else 0
