import numpy as np
import pandas as pd
import pytest

from forecast.crossings import (
    NEVER, crossing_row, crossings_frame, first_crossing_index, first_crossing_index_loop,
    probability_by,
)
from forecast.frames import CROSSING_COLUMNS


def test_vectorised_first_crossing_equals_the_loop_over_paths():
    rng = np.random.default_rng(3)
    paths = np.cumsum(rng.normal(0.01, 0.05, size=(60, 300)), axis=0) + 0.3
    for threshold in (0.2, 0.5, 0.9, 5.0):
        assert np.array_equal(first_crossing_index(paths, threshold),
                              first_crossing_index_loop(paths, threshold))


def test_first_crossing_marks_paths_that_never_cross():
    paths = np.array([[0.1, 0.6], [0.4, 0.2], [0.5, 0.9]])
    assert first_crossing_index(paths, 0.5).tolist() == [2, 0]
    assert first_crossing_index(paths, 0.95).tolist() == [NEVER, NEVER]


def test_probability_is_monotone_in_the_deadline():
    rng = np.random.default_rng(5)
    dates = pd.date_range("2022-01-01", periods=120, freq="MS")
    paths = np.clip(np.cumsum(rng.normal(0.004, 0.02, size=(120, 500)), axis=0) + 0.3, 0, 1)
    index = first_crossing_index(paths, 0.6)
    probabilities = [probability_by(dates, index, d) for d in pd.date_range("2021-01-01", "2032-12-31", freq="QS")]
    assert all(a <= b for a, b in zip(probabilities, probabilities[1:]))
    assert probabilities[0] == 0.0 and 0 < probabilities[-1] <= 1


def test_projected_crossing_quantiles_and_observed_crossing():
    dates = pd.date_range("2030-01-01", periods=10, freq="YS")
    # path j crosses 0.5 at index j (j < 10); 10 paths
    level = np.array([[1.0 if i >= j else 0.0 for j in range(10)] for i in range(10)])
    history = pd.DataFrame({"ds": pd.to_datetime(["2020-01-01", "2021-01-01"]), "y": [0.2, 0.3]})
    row = crossing_row("s", 0.5, history, dates, level)
    assert row["status"] == "projected" and row["probability_by_horizon"] == 1.0
    assert row["p10_date"].year == 2030 and row["median_date"].year == 2034 and row["p90_date"].year == 2038
    crossed = crossing_row("s", 0.25, history, dates, level)
    assert crossed["status"] == "crossed" and str(crossed["observed_date"]) == "2021-01-01"


def test_not_within_horizon_when_fewer_than_half_the_paths_cross():
    dates = pd.date_range("2030-01-01", periods=3, freq="YS")
    level = np.zeros((3, 10))
    level[2, :3] = 0.8  # 30% of paths cross
    history = pd.DataFrame({"ds": pd.to_datetime(["2020-01-01"]), "y": [0.1]})
    row = crossing_row("s", 0.5, history, dates, level)
    assert row["status"] == "not_within_horizon" and row["median_date"] is None
    assert row["p10_date"].year == 2032 and row["p90_date"] is None
    assert row["probability_by_horizon"] == pytest.approx(0.3)


def test_without_forecast_only_observed_crossings_are_reported():
    history = pd.DataFrame({"ds": pd.to_datetime(["2020-01-01", "2021-01-01"]), "y": [0.6, 0.7]})
    frame = crossings_frame("s", [0.5, 0.9], history, None, None)
    assert list(frame.columns) == CROSSING_COLUMNS
    assert frame["threshold"].tolist() == [0.5] and frame["status"].tolist() == ["crossed"]
