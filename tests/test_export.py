"""CSV export: exact columns, atomic writes, formula neutralisation, bounded ordered values."""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from forecast.engine import EngineConfig
from forecast.frames import (
    CROSSINGS_EXPORT_COLUMNS, FORECASTS_EXPORT_COLUMNS, OBSERVATIONS_EXPORT_COLUMNS,
    TARGETS_EXPORT_COLUMNS, HISTORY_EXPORT_COLUMNS, ALERTS_EXPORT_COLUMNS,
)
from jobs.evidence import EVIDENCE_EXPORT_COLUMNS, OBSERVATIONS_EVIDENCE_COLUMNS, TARGETS_EVIDENCE_COLUMNS
from jobs.export import _atomic_write, export_frames, neutralise, write_export
from jobs.refresh import refresh
from jobs.store import db
from synthetic_store import monthly_logistic, seed_store

ROOT = Path(__file__).resolve().parent.parent
SERIES = {"a": monthly_logistic("2012-01-01", "2021-12-01", "2024-01-01", 0.5, 0.015, 1),
          "b": monthly_logistic("2016-01-01", "2021-12-01", "2020-01-01", 0.6, 0.015, 2)}
TARGETS = [{"id": "T1", "threshold": 0.75, "deadline": dt.date(2028, 12, 31), "series_key": "a", "measure": "direct"},
           {"id": "T2", "threshold": 1.0, "deadline": dt.date(2020, 12, 31), "series_key": None, "measure": None}]


def cli(*args):
    return subprocess.run([sys.executable, "-m", "jobs", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture
def store(any_db_url):
    seed_store(any_db_url, SERIES, TARGETS)
    engine = db.make_engine(any_db_url)
    yield engine
    engine.dispose()


def test_no_run_yet_exports_observations_only(store, any_db_url, tmp_path):
    tmp_path = tmp_path / "out"
    out = cli("export", "--db", any_db_url, "--out", str(tmp_path))
    assert out.returncode == 0 and "no complete forecast run yet" in out.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evidence.csv", "observations.csv"]
    frame = pd.read_csv(tmp_path / "observations.csv")
    assert list(frame.columns) == OBSERVATIONS_EXPORT_COLUMNS + OBSERVATIONS_EVIDENCE_COLUMNS
    assert len(frame) == 120 + 72
    evidence_rows = pd.read_csv(tmp_path / "evidence.csv")
    assert list(evidence_rows.columns) == EVIDENCE_EXPORT_COLUMNS
    assert len(evidence_rows) == 120 and set(evidence_rows["target_id"]) == {"T1"}  # T2 has no series


def test_export_columns_values_and_same_numbers_as_export_frames(store, any_db_url, tmp_path):
    tmp_path = tmp_path / "out"
    run_id = refresh(store, EngineConfig(specs=("naive", "drift")), workers=1, progress=False).run_id
    out = cli("export", "--db", any_db_url, "--run", "latest", "--out", str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert re.search(rf"^run {run_id} \(finished \d{{4}}-\d\d-\d\d \d\d:\d\d UTC\)$", out.stdout, re.M), out.stdout
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["alerts.csv", "crossings.csv", "evidence.csv", "forecasts.csv", "history.csv", "observations.csv",
                     "run.json", "targets.csv"]
    help_text = cli("export", "--help").stdout
    assert all(name in help_text for name in files), "--help names every file it writes"
    read = {name: pd.read_csv(tmp_path / name, keep_default_na=False, na_values=[""]) for name in files if name.endswith(".csv")}
    expected = {"observations.csv": OBSERVATIONS_EXPORT_COLUMNS + OBSERVATIONS_EVIDENCE_COLUMNS,
                "forecasts.csv": FORECASTS_EXPORT_COLUMNS, "crossings.csv": CROSSINGS_EXPORT_COLUMNS,
                "targets.csv": TARGETS_EXPORT_COLUMNS + TARGETS_EVIDENCE_COLUMNS, "evidence.csv": EVIDENCE_EXPORT_COLUMNS,
                "history.csv": HISTORY_EXPORT_COLUMNS, "alerts.csv": ALERTS_EXPORT_COLUMNS}
    for name, columns in expected.items():
        assert list(read[name].columns) == columns, name
    f = read["forecasts.csv"]
    values = f[["lower_95", "lower_80", "yhat", "upper_80", "upper_95"]]
    assert ((values >= 0) & (values <= 1)).all().all()
    assert (values.diff(axis=1).iloc[:, 1:] >= 0).all().all()
    assert (f["run_id"] == run_id).all()
    for column in ("probability_by_horizon",):
        assert read["crossings.csv"][column].dropna().between(0, 1).all()
    t = read["targets.csv"].set_index("target_id")
    assert t["probability_by_deadline"].dropna().between(0, 1).all()
    assert t.loc["T2", "status"] == "no_data" and t.loc["T1", "measure"] == "direct"
    assert set(read["crossings.csv"]["status"]) <= {"crossed", "projected", "not_within_horizon"}
    meta = json.loads((tmp_path / "run.json").read_text())
    assert meta["id"] == run_id and meta["status"] == "complete" and meta["params"]["specs"] == ["naive", "drift"]
    frames = export_frames(store)  # what the UI downloads
    pd.testing.assert_series_equal(frames["forecasts.csv"]["yhat"].reset_index(drop=True), f["yhat"],
                                   check_exact=False, rtol=1e-12, check_names=False)
    assert list(frames) == ["observations.csv", "forecasts.csv", "crossings.csv", "targets.csv", "history.csv",
                            "alerts.csv", "evidence.csv"]


def test_formula_cells_are_neutralised(store, tmp_path):
    refresh(store, EngineConfig(specs=("naive",)), workers=1, progress=False)
    write_export(store, tmp_path)
    observations = (tmp_path / "observations.csv").read_text()
    targets = (tmp_path / "targets.csv").read_text()
    assert "'=HYPERLINK" in observations and ",=HYPERLINK" not in observations.replace('"', "")
    assert ",'-Synthetic policy," in targets
    for prefix in ("=", "+", "-", "@", "\t", "\r"):
        assert neutralise(prefix + "x") == "'" + prefix + "x"
    assert neutralise("plain") == "plain" and neutralise(-0.5) == -0.5


def test_unknown_or_incomplete_run_is_a_clean_error(store, any_db_url, tmp_path):
    out = cli("export", "--db", any_db_url, "--run", "42", "--out", str(tmp_path / "out"))
    assert out.returncode == 2 and "run 42 does not exist" in out.stderr


def test_writes_are_atomic(tmp_path):
    path = tmp_path / "forecasts.csv"
    path.write_text("old,complete\n1,2\n")
    with open(path) as reader:  # a reader that opened the old file still reads it whole
        _atomic_write(path, "new\n" * 100000)
        assert reader.read() == "old,complete\n1,2\n"
    assert path.read_text() == "new\n" * 100000
    (tmp_path / "targets.csv").mkdir()  # the rename fails: no half file, no temp file left
    with pytest.raises(OSError):
        _atomic_write(tmp_path / "targets.csv", "x\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["forecasts.csv", "targets.csv"]
    assert not any(name.endswith(".tmp") for name in os.listdir(tmp_path))


def test_numbers_are_rounded_to_what_they_know(tmp_path):
    """5.9 % is written 0.059, not 0.059000000000000004; a forecast to 4 decimals and a
    probability to 3; the UI's downloads (export_frames) hold the same rounded numbers."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    noisy = pd.DataFrame({"date": pd.date_range("2015-01-01", periods=60, freq="MS")})
    noisy["value"] = [0.059 + i * 0.01 for i in range(60)]  # float sums: 0.41900000000000004 ...
    noisy.loc[0, "value"] = 5.9 / 100
    assert repr(float(noisy.loc[0, "value"])) == "0.059000000000000004"
    seed_store(url, {"noisy": noisy}, [{"id": "T1", "threshold": 0.7, "deadline": dt.date(2026, 12, 31),
                                        "series_key": "noisy", "measure": "direct"}])
    engine = db.make_engine(url)
    refresh(engine, EngineConfig(specs=("naive", "drift")), workers=1, progress=False)
    write_export(engine, tmp_path / "out")
    text = (tmp_path / "out" / "observations.csv").read_text()
    assert ",0.059," in text and "0.0590000" not in text
    decimals = {"observations.csv": {"value": 6}, "forecasts.csv": {"yhat": 4, "lower_95": 4},
                "crossings.csv": {"probability_by_horizon": 3},
                "targets.csv": {"probability_by_deadline": 3, "skill": 3}}
    frames = export_frames(engine)
    for name, columns in decimals.items():
        written = pd.read_csv(tmp_path / "out" / name, dtype=str, keep_default_na=False)
        for column, places in columns.items():
            cells = [c for c in written[column] if c]
            assert cells and all(len(c.partition(".")[2]) <= places for c in cells), (name, column)
            shown = frames[name][column].dropna()
            assert (shown == shown.round(places)).all(), (name, column)
    # counts are whole numbers, not 8.0; the skill to 3 decimals like a probability
    for name, column in (("history.csv", "n_obs"), ("targets.csv", "skill_origins")):
        cells = [c for c in pd.read_csv(tmp_path / "out" / name, dtype=str, keep_default_na=False)[column] if c]
        assert cells and all(c.isdigit() for c in cells), (name, column, cells)
    engine.dispose()
