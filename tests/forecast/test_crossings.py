import numpy as np
import pandas as pd
import pytest

from forecast.crossings import (
    NEVER, crossing_of, crossing_row, crossings_frame, first_crossing_index, first_crossing_index_loop,
)
from forecast.frames import CROSSING_COLUMNS, CROSSINGS_EXPORT_COLUMNS


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
    crossing = crossing_of(dates, paths, 0.6)
    probabilities = [crossing.by(d) for d in pd.date_range("2021-01-01", "2032-12-31", freq="QS")]
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
    assert crossed["latest_above"] is True and crossed["probability_by_2027"] == 1.0


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
    assert frame["threshold"].tolist() == [0.5] and frame["status"].tolist() == ["above_since_first"]


def yearly(*values, start=2015):
    return pd.DataFrame({"ds": pd.date_range(f"{start}-01-01", periods=len(values), freq="YS"),
                         "y": list(values)})


def test_a_share_that_fell_back_is_crossed_but_not_latest_above():
    history = yearly(0.3, 0.6, 0.4)  # crossed 0.5 in 2016, below again in 2017
    dates = pd.date_range("2018-01-01", "2035-01-01", freq="YS")
    level = np.full((len(dates), 10), 0.45)
    level[dates.year >= 2029, :4] = 0.7  # 4 of 10 paths get back above 0.5 from 2029 on
    row = crossing_row("s", 0.5, history, dates, level)
    assert row["status"] == "crossed" and str(row["observed_date"]) == "2016-01-01"
    assert row["latest_above"] is False
    # Fallen back: the probabilities are those of getting back above the threshold.
    assert row["probability_by_2027"] == 0.0 and row["probability_by_2030"] == pytest.approx(0.4)
    assert row["probability_by_horizon"] == pytest.approx(0.4)


def test_above_since_the_first_observation_is_left_censored_not_crossed():
    row = crossing_row("s", 0.5, yearly(0.6, 0.7), None, None)
    assert row["status"] == "above_since_first" and str(row["observed_date"]) == "2015-01-01"
    assert row["latest_above"] is True and row["probability_by_2030"] == 1.0


def test_bounds_prove_a_crossing_and_undecided_bounds_leave_it_censored():
    bounds = pd.DataFrame({"ds": pd.to_datetime(["2013-01-01", "2014-01-01"]),
                           "lower": [np.nan, 0.55], "upper": [0.2, np.nan]})
    # an upper bound below 0.5 in 2013, a lower bound above it in 2014: crossed by 2014
    row = crossing_row("s", 0.5, yearly(0.6), None, None, bounds)
    assert row["status"] == "crossed" and str(row["observed_date"]) == "2014-01-01"
    # A lower bound of 0.3 proves nothing about 0.5: when it was crossed is unknown.
    undecided = bounds.assign(lower=[0.3, np.nan], upper=[np.nan, np.nan])
    row = crossing_row("s", 0.5, yearly(0.6), None, None, undecided)
    assert row["status"] == "above_since_first" and str(row["observed_date"]) == "2015-01-01"


def test_projected_rows_carry_milestone_probabilities_only_within_the_horizon():
    dates = pd.date_range("2026-01-01", "2028-12-01", freq="MS")  # the horizon ends before 2030
    level = np.full((len(dates), 10), 0.2)
    level[dates.year >= 2027, :6] = 0.9
    row = crossing_row("s", 0.5, yearly(0.1, 0.2), dates, level)
    assert row["status"] == "projected" and row["latest_above"] is False
    assert row["probability_by_2027"] == pytest.approx(0.6) and row["probability_by_2030"] is None


def test_crossings_export_columns_append_the_new_ones():
    assert CROSSINGS_EXPORT_COLUMNS[-3:] == ["latest_above", "probability_by_2027", "probability_by_2030"]
    assert CROSSINGS_EXPORT_COLUMNS[:9] == ["run_id", "series", "threshold", "status", "observed_date",
                                            "median_date", "p10_date", "p90_date", "probability_by_horizon"]


@pytest.mark.parametrize("n_paths", [7, 200, 500])
def test_the_cdf_gives_the_paths_own_quantiles_and_probabilities(n_paths):
    """Every figure read from the stored CDF equals the one counted on the paths themselves."""
    rng = np.random.default_rng(n_paths)
    dates = pd.date_range("2024-01-01", periods=90, freq="MS")
    paths = np.cumsum(rng.normal(0.004, 0.03, size=(90, n_paths)), axis=0) + 0.4
    for threshold in (0.3, 0.5, 0.7, 2.0):
        crossing, first = crossing_of(dates, paths, threshold), first_crossing_index(paths, threshold)
        assert np.all(np.diff(crossing.cdf) >= 0) and crossing.cdf[-1] == np.mean(first != NEVER)
        for q in (0.1, 0.5, 0.9):
            k = int(np.ceil(q * n_paths)) - 1
            value = np.sort(first)[k]
            assert crossing.quantile_date(q) == (None if value == NEVER else dates[value].date())
        for deadline in ("2023-06-30", "2024-01-01", "2027-12-31", "2031-07-15", "2040-01-01"):
            n_before = int(np.searchsorted(dates.values, np.datetime64(deadline), side="right"))
            assert crossing.by(deadline) == np.mean(first < n_before)
        assert crossing.at("2027-12-31") == np.mean(paths[47] >= threshold - 1e-9)
        assert crossing.at("2023-06-30") is None and crossing.at("2032-01-01") is None
