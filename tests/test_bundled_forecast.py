"""The bundled data end to end: init -> refresh -> export (the baselines keep it fast; the
Prophet specifications are exercised in tests/forecast/test_prophet.py)."""
from __future__ import annotations

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
