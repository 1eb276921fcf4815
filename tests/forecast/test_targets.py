import numpy as np
import pandas as pd
import pytest

from forecast.crossings import cdf_frame
from forecast.targets import assess_target, status_from_probability

DATES = pd.date_range("2022-01-01", periods=48, freq="MS")
HISTORY = pd.DataFrame({"ds": pd.date_range("2018-01-01", periods=48, freq="MS"),
                        "y": np.linspace(0.2, 0.45, 48)})


def target(threshold, deadline, series="s"):
    return {"target_id": "T", "series": series, "threshold": threshold, "deadline": deadline,
            "measure": "proxy"}


def projection(dates, level) -> pd.DataFrame:
    """The CDF frame the engine computes from these paths (the thresholds tested here)."""
    return cdf_frame("s", (0.5, 0.8), dates, level)


def paths_crossing_share(share: float, at: int = 12) -> np.ndarray:
    level = np.full((len(DATES), 100), 0.4)
    level[at:, : int(share * 100)] = 0.9
    return level


@pytest.mark.parametrize("p,status", [(0.7, "on_track"), (0.69, "at_risk"), (0.3, "at_risk"),
                                      (0.29, "off_track"), (0.0, "off_track")])
def test_status_thresholds(p, status):
    assert status_from_probability(p) == status


def test_met_when_observed_at_or_above_at_the_deadline():
    row = assess_target(target(0.3, "2020-12-31"), HISTORY, "2026-01-01")
    assert row["status"] == "met" and row["probability_by_deadline"] == 1.0
    assert row["basis"] == "observation" and str(row["evidence_date"]) == "2020-12-01"


def test_missed_when_observed_below_at_the_deadline():
    row = assess_target(target(0.8, "2020-12-31"), HISTORY, "2026-01-01", projection(DATES, paths_crossing_share(1.0)))
    assert row["status"] == "missed" and row["probability_by_deadline"] == 0.0


def yearly(*values, start=2015, dates=None):
    ds = pd.to_datetime(dates) if dates else pd.date_range(f"{start}-01-01", periods=len(values), freq="YS")
    return pd.DataFrame({"ds": ds, "y": list(values)})


def test_reached_earlier_but_below_at_the_deadline_is_its_own_status():
    row = assess_target(target(0.75, "2020-12-31"), yearly(0.5, 0.8, 0.7, start=2018), "2026-01-01",
                        frequency="annual")
    assert row["status"] == "reached_then_fell" and row["probability_by_deadline"] == 0.0
    assert str(row["evidence_date"]) == "2020-01-01" and str(row["projected_date"]) == "2019-01-01"


def test_deadline_between_two_observations_uses_the_nearest_within_one_period():
    history = yearly(0.5, 0.8, dates=["2019-01-01", "2021-01-01"])  # no 2020 value
    row = assess_target(target(0.75, "2020-12-31"), history, "2026-01-01", frequency="annual")
    # 2021 starts the day after the deadline, 2019 ended a year before it: 2021 is nearer.
    assert row["status"] == "met" and str(row["evidence_date"]) == "2021-01-01"
    row = assess_target(target(0.75, "2020-06-30"), history, "2026-01-01", frequency="annual")
    # 2019 ended 182 days before this deadline, 2021 starts 185 days after it: 2019 decides.
    assert str(row["evidence_date"]) == "2019-01-01" and row["status"] == "missed"


def test_deadline_in_a_gap_of_the_history_is_unobserved_without_a_probability():
    history = yearly(0.2, 0.6, dates=["2012-01-01", "2019-01-01"])
    dates = pd.date_range("2020-01-01", periods=10, freq="YS")
    row = assess_target(target(0.5, "2015-12-31"), history, "2026-01-01", projection(dates, np.full((10, 5), 0.9)),
                        frequency="annual")
    assert row["status"] == "unobserved" and row["probability_by_deadline"] is None
    assert row["basis"] is None


def test_passed_deadline_after_the_data_gets_the_forecast_probability_not_zero():
    # Data end 2021-12, deadline 2023-12-31 has passed (as of 2026): no observation near it.
    row = assess_target(target(0.8, "2023-12-31"), HISTORY, "2026-01-01", projection(DATES, paths_crossing_share(0.6)))
    assert row["status"] == "unobserved" and row["probability_by_deadline"] == pytest.approx(0.6)
    assert row["basis"] == "forecast"


def bounds(ds, lower=np.nan, upper=np.nan):
    return pd.DataFrame({"ds": pd.to_datetime([ds]), "lower": [lower], "upper": [upper]})


def test_a_lower_bound_at_or_above_proves_met_and_an_upper_bound_below_proves_missed():
    history = yearly(0.2, 0.3, start=2015)
    met = assess_target(target(0.5, "2021-12-31"), history, "2026-01-01",
                        bounds=bounds("2021-01-01", lower=0.6), frequency="annual")
    assert met["status"] == "met" and met["basis"] == "lower_bound"
    missed = assess_target(target(0.5, "2021-12-31"), history, "2026-01-01",
                           bounds=bounds("2021-01-01", upper=0.05), frequency="annual")
    assert missed["status"] == "missed" and missed["basis"] == "upper_bound"
    ranged = assess_target(target(0.5, "2021-12-31"), history, "2026-01-01",
                           bounds=bounds("2021-01-01", lower=0.16, upper=0.19), frequency="annual")
    assert ranged["status"] == "missed" and ranged["basis"] == "range"
    # A lower bound below the threshold proves nothing: the deadline is unobserved.
    undecided = assess_target(target(0.5, "2021-12-31"), history, "2026-01-01",
                              bounds=bounds("2021-01-01", lower=0.3), frequency="annual")
    assert undecided["status"] == "unobserved"


def test_an_open_deadline_is_not_decided_by_an_earlier_period():
    # Monthly data to 2021-12; deadline 2022-01-31 is ahead: December does not decide it.
    row = assess_target(target(0.8, "2022-01-31"), HISTORY, "2022-01-05", projection(DATES, paths_crossing_share(0.2, at=0)))
    assert row["status"] == "off_track" and row["probability_by_deadline"] == pytest.approx(0.2)


def test_future_deadline_status_follows_the_probability():
    for share, status in [(0.8, "on_track"), (0.5, "at_risk"), (0.1, "off_track")]:
        row = assess_target(target(0.8, "2024-12-31"), HISTORY, "2022-01-01", projection(DATES, paths_crossing_share(share)))
        assert row["status"] == status and row["probability_by_deadline"] == pytest.approx(share)
        assert row["projected_date"] == (DATES[12].date() if share >= 0.5 else None)
        assert row["measure"] == "proxy"


def test_no_data_without_a_measuring_series():
    row = assess_target(target(0.8, "2030-12-31", series=None), None, "2022-01-01")
    assert row["status"] == "no_data" and row["probability_by_deadline"] is None
