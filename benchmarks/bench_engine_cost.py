"""Cost of the default forecast engine against the engine before issue 8, same run.

    python3 benchmarks/bench_engine_cost.py [--baseline COMMIT] [--skip-baseline]

Both engines fit the same series, one after the other, each in its own process with its
own default configuration, backtest included (`forecast_series` of that version: what a
refresh runs per series; the pool, the store and the progress bar are left out):
  bundled   every bundled domestic-share series (a fresh `domshare init` of data/)
  monthly   one synthetic S-curve of 120 monthly points (the issue's "120-month series")
The baseline is the `forecast/` package of BASELINE_COMMIT (two NUTS chains per Prophet
fit, four models, Prophet's own path sampler), taken from git into a temporary folder.
Each process first forecasts a 24-point warm-up series (imports, numba compilation, the
first CmdStan start: paid once per refresh worker), printed as `start-up`; the cases are
timed after it. Printed: wall and CPU seconds (the process and its CmdStan children) per
engine and the ratios baseline / current. The current engine runs
with one CPU thread (OMP/MKL/OpenBLAS threads 1): its one NUTS chain uses one core; the
baseline's two chains may use two.
"""
from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE_COMMIT = "aecaf8302d2b7461b02c74c699adbb80dbfb9378"  # main before issue 8's engine work

WORKER = textwrap.dedent('''
    import json, pickle, resource, sys, time
    import numpy as np
    import pandas as pd
    from forecast.engine import EngineConfig, forecast_series
    from forecast.prophet_models import quiet
    quiet()

    def cpu():  # this process and its finished children (CmdStan), user + system
        own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

    cases = pickle.load(open(sys.argv[1], "rb"))
    config = EngineConfig(as_of="2026-12-01")
    targets = pd.DataFrame(columns=["target_id", "series", "threshold", "deadline", "measure"])
    started = time.perf_counter()
    warm = pd.DataFrame({"ds": pd.date_range("2015-01-01", periods=24, freq="MS"),
                         "y": np.linspace(0.2, 0.4, 24)})
    forecast_series("warm-up", warm, targets, config, "monthly")  # imports, JIT, CmdStan start
    out = {"start-up": [time.perf_counter() - started, cpu()]}
    for label, series in cases.items():
        started, used = time.perf_counter(), cpu()
        for key, history, frequency in series:
            forecast_series(key, history, targets, config, frequency)
        out[label] = [time.perf_counter() - started, cpu() - used]
    print(json.dumps(out))
''')


def cases(tmp: Path) -> dict:
    import numpy as np
    import pandas as pd

    sys.path.insert(0, str(ROOT))
    from jobs.cli import main as cli
    from jobs.store import db, read

    url = f"sqlite:///{tmp / 'bundled.db'}"
    cli(["init", "--db", url])
    engine = db.make_engine(url)
    with engine.connect() as conn:
        catalogue = read.series_catalogue(conn).set_index("key")
        history = read.history_frame(conn)
    engine.dispose()
    bundled = [(key, g[["ds", "y"]].reset_index(drop=True), catalogue.loc[key, "frequency"])
               for key, g in history.groupby("series")]
    dates = pd.date_range("2012-01-01", periods=120, freq="MS")
    t = np.asarray((dates - dates[0]).days) / 365.25
    y = np.clip(1 / (1 + np.exp(-0.5 * (t - 11))) + np.random.default_rng(1).normal(0, 0.015, 120), 0, 1)
    return {"bundled": bundled, "monthly": [("synthetic", pd.DataFrame({"ds": dates, "y": y}), "monthly")]}


def run_engine(source: Path, data: Path, single_thread: bool) -> dict:
    env = {**os.environ, "PYTHONPATH": str(source)}
    if single_thread:
        env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", WORKER, str(data)], cwd=source, env=env,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", default=BASELINE_COMMIT, help="git commit of the baseline engine")
    parser.add_argument("--skip-baseline", action="store_true", help="time the current engine only")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = tmp / "cases.pickle"
        work = cases(tmp)
        data.write_bytes(pickle.dumps(work))
        n = {label: len(series) for label, series in work.items()}
        current = run_engine(ROOT, data, single_thread=True)
        baseline = None
        if not args.skip_baseline:
            old = tmp / "baseline"
            old.mkdir()
            archive = subprocess.run(["git", "archive", args.baseline, "forecast"], cwd=ROOT,
                                     capture_output=True, check=True).stdout
            subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
            baseline = run_engine(old, data, single_thread=False)
    print("default engine, backtest included, per case: wall seconds (CPU seconds, CmdStan included)")
    for label, (wall, used) in current.items():
        line = f"  {label:<9}{n.get(label, 1):>3} series  current {wall:7.1f} ({used:6.1f})"
        if baseline:
            old_wall, old_used = baseline[label]
            line += (f"  baseline {old_wall:7.1f} ({old_used:6.1f})  baseline/current "
                     f"{old_wall / wall:5.1f} x ({old_used / used:5.1f} x)")
        print(line)
    print("  (start-up: imports, numba compilation and the first CmdStan run, on a 24-point warm-up "
          "series; the cases are timed after it)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
