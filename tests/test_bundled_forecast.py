"""The bundled data end to end: init -> refresh -> export (the baselines keep it fast; the
Prophet specifications are exercised in tests/forecast/test_prophet.py)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from forecast.frames import TARGET_STATUSES

ROOT = Path(__file__).resolve().parent.parent
# measured by a series of their own technology (chips: IC Insights; government IT: Guangdong)
KEY_TARGETS = ("P05-government", "P07-semiconductors", "P09-semiconductors", "N07-semiconductors")
# no series of their technology exists: no data (supercomputers do not measure banks' IT)
UNMEASURED = ("P04-banking", "P05-banking", "P17-soe-all")


def cli(*args):
    out = subprocess.run([sys.executable, "-m", "jobs", *args], cwd=ROOT, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.mark.slow
def test_bundled_data_refresh_and_export(tmp_path):
    url = f"sqlite:///{tmp_path / 'bundled.db'}"
    cli("init", "--db", url)
    cli("refresh", "--db", url, "--workers", "2", "--models", "naive,drift")
    cli("export", "--db", url, "--out", str(tmp_path / "out"))
    out = tmp_path / "out"
    targets = pd.read_csv(out / "targets.csv").set_index("target_id")
    assert targets["status"].notna().all()
    assert set(targets["status"]) <= set(TARGET_STATUSES)
    assert targets.loc[list(KEY_TARGETS), "status"].ne("no_data").all()
    assert targets.loc[list(UNMEASURED), "status"].eq("no_data").all()
    assert targets["probability_by_deadline"].dropna().between(0, 1).all()
    forecasts = pd.read_csv(out / "forecasts.csv")
    values = forecasts[["lower_95", "lower_80", "yhat", "upper_80", "upper_95"]]
    assert ((values >= 0) & (values <= 1)).all().all() and (values.diff(axis=1).iloc[:, 1:] >= 0).all().all()
    assert "phones_usage_statcounter_domestic_share" in set(forecasts["series"])
    assert pd.to_datetime(forecasts["date"]).max() == pd.Timestamp("2035-12-01")
    crossings = pd.read_csv(out / "crossings.csv")
    assert crossings["probability_by_horizon"].dropna().between(0, 1).all()
    table = cli("backtest", "--db", url, "--models", "naive,drift")
    assert "unchanged inputs" in table and "<- chosen" in table and "MASE" in table


@pytest.mark.slow
@pytest.mark.prophet
def test_default_configuration_end_to_end_on_the_bundled_data(tmp_path):
    """Every registered model, the real Prophet posterior, the choice and its skill."""
    url = f"sqlite:///{tmp_path / 'default.db'}"
    cli("init", "--db", url)
    cli("refresh", "--db", url, "--workers", "2")
    cli("export", "--db", url, "--out", str(tmp_path / "out"))
    from forecast import registry
    from jobs.store import db, read

    engine = db.make_engine(url)
    with engine.connect() as conn:
        run = read.latest_run(conn)
        frames = read.run_frames(conn, run["id"])
    engine.dispose()
    assert json.loads(run["params"])["specs"] == list(registry.DEFAULT_MODELS)
    ok = frames["run_series"].query("status == 'ok'").set_index("series_key")
    assert "phones_usage_statcounter_domestic_share" in ok.index and len(ok) >= 5
    assert ok["weights"].map(lambda w: abs(sum(json.loads(w).values()) - 1) < 1e-9).all()
    assert ok["skill"].notna().sum() >= 3  # out-of-sample skill wherever origins allow
    backtest = frames["backtest"]
    assert set(backtest["model"]) >= set(registry.DEFAULT_MODELS)
    assert (backtest.groupby("series_key")["chosen"].sum() == 1).all()
    assert backtest.loc[backtest["error"].notna(), "model"].isin(["ets_damped", "auto_ets", "theta"]).all()
    forecasts = pd.read_csv(tmp_path / "out" / "forecasts.csv")
    values = forecasts[["lower_95", "lower_80", "yhat", "upper_80", "upper_95"]]
    assert ((values >= 0) & (values <= 1)).all().all() and (values.diff(axis=1).iloc[:, 1:] >= -1e-12).all().all()
    crossings = pd.read_csv(tmp_path / "out" / "crossings.csv")
    assert set(crossings["status"]) <= {"crossed", "above_since_first", "projected", "not_within_horizon"}
    assert crossings[["probability_by_2027", "probability_by_2030"]].stack().between(0, 1).all()
    targets = pd.read_csv(tmp_path / "out" / "targets.csv")
    assert set(targets["status"]) <= set(TARGET_STATUSES)
