import numpy as np
import pandas as pd
import pytest

from forecast.targets import assess_target, status_from_probability

DATES = pd.date_range("2022-01-01", periods=48, freq="MS")
HISTORY = pd.DataFrame({"ds": pd.date_range("2018-01-01", periods=48, freq="MS"),
                        "y": np.linspace(0.2, 0.45, 48)})


def target(threshold, deadline, series="s"):
    return {"target_id": "T", "series": series, "threshold": threshold, "deadline": deadline,
            "measure": "proxy"}


def paths_crossing_share(share: float, at: int = 12) -> np.ndarray:
    level = np.full((len(DATES), 100), 0.4)
    level[at:, : int(share * 100)] = 0.9
    return level


@pytest.mark.parametrize("p,status", [(0.7, "on_track"), (0.69, "at_risk"), (0.3, "at_risk"),
                                      (0.29, "off_track"), (0.0, "off_track")])
def test_status_thresholds(p, status):
    assert status_from_probability(p) == status


def test_met_when_observed_at_or_above_before_the_deadline():
    row = assess_target(target(0.3, "2020-12-31"), HISTORY, "2026-01-01")
    assert row["status"] == "met" and row["probability_by_deadline"] == 1.0


def test_missed_when_deadline_passed_and_data_cover_it():
    row = assess_target(target(0.8, "2020-12-31"), HISTORY, "2026-01-01", DATES, paths_crossing_share(1.0))
    assert row["status"] == "missed" and row["probability_by_deadline"] == 0.0


def test_future_deadline_status_follows_the_probability():
    for share, status in [(0.8, "on_track"), (0.5, "at_risk"), (0.1, "off_track")]:
        row = assess_target(target(0.8, "2024-12-31"), HISTORY, "2022-01-01", DATES, paths_crossing_share(share))
        assert row["status"] == status and row["probability_by_deadline"] == pytest.approx(share)
        assert row["projected_date"] == (DATES[12].date() if share >= 0.5 else None)
        assert row["measure"] == "proxy"


def test_no_data_without_a_measuring_series():
    row = assess_target(target(0.8, "2030-12-31", series=None), None, "2022-01-01")
    assert row["status"] == "no_data" and row["probability_by_deadline"] is None
