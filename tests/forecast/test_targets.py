import numpy as np
import pandas as pd
import pytest

from forecast.crossings import cdf_frame
import targets_reference
from forecast.targets import assess_target, assess_targets, status_from_probability

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


def test_a_lone_value_of_an_undeclared_frequency_decides_only_its_own_month():
    lone = pd.DataFrame({"ds": pd.to_datetime(["2024-11-01"]), "y": [0.2]})  # a monthly figure, series irregular
    row = assess_target(target(1.0, "2025-12-31"), lone, "2026-12-01", frequency="irregular")
    assert row["status"] == "unobserved" and row["probability_by_deadline"] is None  # not 'missed' 13 months early
    row = assess_target(target(1.0, "2024-11-30"), lone, "2026-12-01", frequency="irregular")
    assert row["status"] == "missed" and str(row["evidence_date"]) == "2024-11-01"


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


def random_case(rng: np.random.Generator):
    """A random series (frequency, gaps, bounds of every kind), its CDF frame as the engine
    computes it or as the store gives it back (dates as date objects), and targets around it."""
    frequency = rng.choice(["monthly", "quarterly", "half_yearly", "annual"])
    offset = {"monthly": "MS", "quarterly": "QS", "half_yearly": "6MS", "annual": "YS"}[frequency]
    dates = pd.date_range(f"{rng.integers(2005, 2015)}-01-01", periods=int(rng.integers(1, 40)), freq=offset)
    dates = dates[rng.random(len(dates)) > 0.2] if len(dates) > 3 else dates
    history = pd.DataFrame({"ds": dates, "y": np.clip(np.linspace(0.1, 0.9, len(dates)) + rng.normal(0, 0.1, len(dates)), 0, 1)})
    bounds = None
    if rng.random() < 0.6:
        n = int(rng.integers(1, 6))
        low = np.where(rng.random(n) < 0.6, rng.uniform(0, 1, n), np.nan)
        high = np.where(np.isnan(low) | (rng.random(n) < 0.4), rng.uniform(0, 1, n), np.nan)
        bounds = pd.DataFrame({"ds": pd.to_datetime(rng.choice(pd.date_range("2004-01-01", "2030-12-01", freq="MS"), n)),
                               "lower": low, "upper": np.where(np.isnan(low), high, np.maximum(high, low))})
    future = pd.date_range((dates[-1] if len(dates) else pd.Timestamp("2015-01-01")) + pd.DateOffset(months=1),
                           "2032-12-01", freq=offset)
    thresholds = (0.5, 0.75, 0.9)
    cdf = cdf_frame("s", thresholds, future, np.clip(rng.uniform(0.2, 0.7) + np.cumsum(
        rng.normal(0.01, 0.05, (len(future), 50)), axis=0), 0, 1)) if rng.random() < 0.8 else None
    if cdf is not None and rng.random() < 0.5:
        cdf = cdf.assign(ds=[d.date() for d in cdf["ds"]])  # as read back from the store
    deadlines = pd.to_datetime(rng.integers(pd.Timestamp("2004-06-01").value, pd.Timestamp("2034-01-01").value, 6)).normalize()
    targets = pd.DataFrame({"target_id": [f"T{i}" for i in range(6)], "series": "s",
                            "threshold": rng.choice([*thresholds, 0.3, 0.6], 6),
                            "deadline": [d.date() for d in deadlines], "measure": "direct"})
    as_of = pd.Timestamp(rng.choice(pd.date_range("2012-01-01", "2032-01-01", freq="17D")))
    return history if rng.random() < 0.95 else None, bounds, cdf, targets, as_of, \
        frequency if rng.random() < 0.8 else None


def test_the_vectorised_rules_assess_as_the_frame_per_target_rules_did():
    rng = np.random.default_rng(5)
    statuses = set()
    for _ in range(40):
        history, bounds, cdf, targets, as_of, frequency = random_case(rng)
        fast = assess_targets(targets, history, as_of, cdf, bounds, frequency)
        slow = pd.DataFrame([targets_reference.assess_target(t, history, as_of, cdf, bounds, frequency)
                             for t in targets.to_dict("records")], columns=fast.columns)
        pd.testing.assert_frame_equal(fast, slow)
        statuses.update(fast["status"])
    assert statuses >= {"met", "reached_then_fell", "missed", "unobserved", "on_track", "off_track", "no_data"}
