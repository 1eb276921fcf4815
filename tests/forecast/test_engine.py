import warnings
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from forecast.backtest import MIXTURE, backtest, crps, plan_origins
from forecast.models import Drift, NaiveLast
from forecast.engine import EngineConfig, forecast_series
from forecast.frames import FORECAST_COLUMNS, TARGET_INPUT_COLUMNS

FAST = EngineConfig(specs=("naive", "drift"), as_of="2026-11-28")
NO_TARGETS = pd.DataFrame(columns=TARGET_INPUT_COLUMNS)


def history(freq: str, periods: int, start="2010-01-01", slope=0.03, seed=0) -> pd.DataFrame:
    dates = pd.date_range(start, periods=periods, freq=freq)
    t = np.asarray((dates - dates[0]).days) / 365.25
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"ds": dates, "y": np.clip(0.2 + slope * t + rng.normal(0, 0.01, periods), 0, 1)})


def assert_bounded_and_ordered(forecast: pd.DataFrame) -> None:
    assert list(forecast.columns) == FORECAST_COLUMNS and not forecast.empty
    values = forecast[["lower_95", "lower_80", "yhat", "upper_80", "upper_95"]].to_numpy()
    assert ((values >= 0) & (values <= 1)).all()
    assert (np.diff(values, axis=1) >= 0).all()


@pytest.mark.parametrize("freq,periods,step_days", [
    ("MS", 60, (28, 31)), ("QS", 24, (90, 92)), ("6MS", 14, (181, 184)), ("YS", 9, (365, 366)),
])
def test_each_frequency_forecasts_to_the_end_of_2035_within_bounds(freq, periods, step_days):
    result = forecast_series("s", history(freq, periods), NO_TARGETS, FAST)
    assert result.status == "ok" and set(result.weights) <= {"naive", "drift"}
    assert_bounded_and_ordered(result.forecast)
    dates = pd.to_datetime(result.forecast["ds"])
    assert dates.iloc[0] > pd.Timestamp(result.last_obs_date) and dates.iloc[-1].year == 2035
    assert dates.diff().dt.days.dropna().between(*step_days).all()


def test_irregular_gaps_use_the_typical_step_and_real_elapsed_time():
    frame = history("YS", 12).iloc[[0, 1, 3, 4, 8, 9, 10, 11]]  # like IC Insights' years
    result = forecast_series("s", frame, NO_TARGETS, FAST)
    assert result.status == "ok"
    assert_bounded_and_ordered(result.forecast)
    assert pd.to_datetime(result.forecast["ds"]).diff().dt.days.dropna().between(365, 366).all()


def test_a_gap_longer_than_the_backtest_horizon_before_the_last_points_still_forecasts():
    frame = history("QS", 72, start="2001-07-01")  # then six years missing, and two last quarters
    frame = pd.concat([frame.iloc[:70], frame.iloc[70:].assign(ds=pd.to_datetime(["2024-10-01", "2025-01-01"]))])
    assert [(o.cut, o.end) for o in plan_origins(frame["ds"])] == [(70, 70)]  # nothing held out to score
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="Mean of empty slice")  # no score from nothing
        result = forecast_series("s", frame, NO_TARGETS, FAST, "quarterly")
    assert result.status == "ok"
    assert result.backtest[["mae", "coverage_80"]].isna().all().all()
    assert_bounded_and_ordered(result.forecast)


def test_a_steep_series_is_clamped_to_one():
    result = forecast_series("s", history("YS", 8, slope=0.12), NO_TARGETS, FAST)
    assert_bounded_and_ordered(result.forecast)
    assert result.forecast["upper_95"].max() == 1.0


def test_fewer_than_four_points_is_insufficient_data_without_a_forecast():
    frame = pd.DataFrame({"ds": pd.to_datetime(["2019-01-01", "2020-01-01", "2021-01-01"]),
                          "y": [0.4, 0.55, 0.6]})
    targets = pd.DataFrame([
        {"target_id": "A", "series": "s", "threshold": 0.5, "deadline": "2020-12-31", "measure": "direct"},
        {"target_id": "B", "series": "s", "threshold": 0.9, "deadline": "2030-12-31", "measure": "direct"},
    ])
    result = forecast_series("s", frame, targets, FAST)
    assert result.status == "insufficient_data" and "3 observation" in result.error
    assert result.forecast.empty and result.model is None
    assert result.crossings["status"].tolist() == ["crossed"]  # 0.5 observed; nothing projected
    assert result.targets.set_index("target_id")["status"].to_dict() == {"A": "met", "B": "no_data"}


def test_same_seed_same_numbers_other_seed_other_numbers():
    frame = history("MS", 48)
    a = forecast_series("s", frame, NO_TARGETS, FAST).forecast
    b = forecast_series("s", frame, NO_TARGETS, FAST).forecast
    c = forecast_series("s", frame, NO_TARGETS, EngineConfig(specs=("naive", "drift"), seed=1)).forecast
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["upper_80"], c["upper_80"])


def test_backtest_scores_every_model_and_the_choice_is_stored():
    result = forecast_series("s", history("MS", 60, slope=0.08), NO_TARGETS, FAST)
    scores = result.backtest.set_index("model")
    assert set(scores.index) == {"naive", "drift"} and (scores["n_origins"] == 4).all()
    assert scores["crps"].notna().all() and scores["coverage_80"].between(0, 1).all()
    assert scores["chosen"].sum() == 1 and scores.loc[result.model, "chosen"]
    assert result.model == "drift" and result.weights == {"drift": 1.0}  # a clear trend
    assert scores.loc["naive", "skill"] == 0 and scores.loc["drift", "skill"] > 0
    assert result.skill > 0 and result.skill_origins == 3  # the choice, out of sample, beats naive


def test_origins_split_into_earlier_ones_and_the_latest_three_reported():
    plan = plan_origins(pd.date_range("2010-01-01", periods=169, freq="MS"))
    assert [(o.cut, o.end, o.report) for o in plan] == [
        (97, 133, False), (109, 145, False), (121, 157, False),  # 6, 5, 4 years before the end
        (133, 169, True), (145, 169, True), (157, 169, True)]    # 3, 2, 1: held out up to 3 years
    assert [o.cut for o in plan_origins(pd.date_range("2010-01-01", periods=8, freq="YS"))] == [4, 5, 6, 7]
    assert plan_origins(pd.date_range("2010-01-01", periods=4, freq="YS")) == []


def test_crps_of_a_sample_matches_its_definition_and_rewards_sharp_truth():
    rng = np.random.default_rng(0)
    sample = rng.normal(0.5, 0.1, (1, 400))
    x = sample[0]
    direct = np.abs(x - 0.55).mean() - 0.5 * np.abs(x[:, None] - x[None, :]).mean()
    assert crps(sample, np.array([0.55]))[0] == pytest.approx(direct)
    assert crps(sample * 0.1 + 0.45, np.array([0.5]))[0] < crps(sample, np.array([0.5]))[0]


def test_a_mixture_is_used_only_when_it_scores_better():
    class Half:
        """Paths a fixed amount above (+) or below (-) the drift: alone each is biased."""

        def __init__(self, name, shift):
            self.name, self.shift = name, shift

        def fit_predict(self, history, future, n_paths, seed):
            paths = Drift().fit_predict(history, future, n_paths, seed)
            moved = np.clip(paths.observed + self.shift, 0, 1)
            return type(paths)(level=moved, observed=moved)

    frame = history("MS", 96, slope=0.05)
    both = backtest(frame, {"naive": NaiveLast(), "high": Half("high", 0.06), "low": Half("low", -0.06)})
    assert both.model == MIXTURE and {"high", "low"} <= set(both.weights)
    assert both.scores.set_index("model").loc[MIXTURE, "chosen"]
    alone = backtest(frame, {"naive": NaiveLast(), "drift": Drift()})
    assert alone.model in ("naive", "drift") and alone.weights == {alone.model: 1.0}


def test_crossing_error_is_scored_for_thresholds_crossed_after_the_cutoff():
    frame = history("MS", 60, slope=0.08)  # crosses 0.5 around month 45
    scores = backtest(frame, {"drift": Drift()}, [0.5]).scores
    assert scores.loc[0, "crossing_error_days"] is not None and scores.loc[0, "crossing_error_days"] >= 0


def test_declared_frequency_wins_over_sparse_dates():
    frame = history("MS", 60).iloc[::3]  # a monthly series observed only every third month
    inferred = forecast_series("s", frame, NO_TARGETS, FAST)
    declared = forecast_series("s", frame, NO_TARGETS, FAST, frequency="monthly")
    assert pd.to_datetime(inferred.forecast["ds"]).diff().dt.days.max() > 85
    assert pd.to_datetime(declared.forecast["ds"]).diff().dt.days.max() <= 31


def test_a_horizon_before_the_last_observation_gives_no_forecast_rows_but_no_crash():
    result = forecast_series("s", history("YS", 8), NO_TARGETS, EngineConfig(specs=("drift",), horizon="2015-12-31"))
    assert result.status == "ok" and result.forecast.empty
    assert set(result.crossings["status"]) <= {"crossed", "not_within_horizon"}


def test_bands_too_narrow_in_the_backtest_are_widened_to_cover_80_percent():
    from forecast.backtest import Origin, spread_factor, widen

    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"ds": pd.date_range("2010-01-01", periods=60, freq="MS"),
                          "y": np.clip(0.4 + rng.normal(0, 0.05, 60), 0, 1)})
    plan = [Origin(30, 60, True)]
    narrow = np.clip(0.4 + rng.normal(0, 0.01, (30, 400)), 0, 1)  # 1/5 of the real spread
    factor = spread_factor(lambda k: (narrow, narrow), frame, plan, [0])
    assert 3 < factor < 7
    wide = widen(narrow, factor)
    low, high = np.quantile(wide, [0.1, 0.9], axis=1)
    inside = np.mean((frame["y"].iloc[30:] >= low) & (frame["y"].iloc[30:] <= high))
    assert 0.7 <= inside <= 0.9 and ((wide > 0) & (wide < 1)).all()
    assert np.allclose(np.median(wide, axis=1), np.median(narrow, axis=1), atol=1e-3)
    assert spread_factor(lambda k: (wide, wide), frame, plan, [0]) == pytest.approx(1.0, abs=0.05)


class Shifted:
    """A share model (not a baseline) whose paths are the drift's, moved and squeezed:
    `shift` moves the median, `squeeze` < 1 narrows the spread around it."""

    def __init__(self, name, shift=0.0, squeeze=1.0):
        self.name, self.shift, self.squeeze = name, shift, squeeze

    def fit_predict(self, history, future, n_paths, seed):
        paths = Drift().fit_predict(history, future, n_paths, seed)
        mid = np.median(paths.observed, axis=1, keepdims=True)
        moved = np.clip(mid + self.squeeze * (paths.observed - mid) + self.shift, 0.001, 0.999)
        return type(paths)(level=moved, observed=moved)


def test_models_are_compared_after_recalibration_and_the_forecast_gets_the_same_factor():
    from forecast.backtest import _mean_crps, plan_origins, run_model, selection_origins, widened
    from forecast.engine import fit_weighted
    from forecast.models import logit

    frame = history("MS", 96, slope=0.05)
    models = {"naive": NaiveLast(), "narrow": Shifted("narrow", squeeze=0.1), "biased": Shifted("biased", shift=0.04)}
    choice = backtest(frame, models)
    assert choice.factors["narrow"] > 2 and choice.factors["biased"] == pytest.approx(1.0, abs=0.3)
    # the score the choice is made on is the CRPS of the widened paths on the latest origins
    plan = plan_origins(frame["ds"], 3)
    run = run_model(models["narrow"], frame, plan, 200, 0)
    recalibrated = _mean_crps(frame, plan, lambda k: widened(run.paths[k], choice.factors["narrow"]),
                              selection_origins(plan))
    raw = _mean_crps(frame, plan, lambda k: run.paths[k], selection_origins(plan))
    scores = choice.scores.set_index("model")
    assert scores.loc["narrow", "crps_selection"] == pytest.approx(recalibrated, rel=0.05)
    assert abs(recalibrated - raw) > 1e-4
    # the forecast's paths of a model get its factor: the 80% band is that much wider (logit)
    dates = pd.date_range("2018-02-01", periods=24, freq="MS")
    config = EngineConfig(n_paths=400)
    plain, _ = fit_weighted(frame, dates, {"drift": 1.0}, config, 1)
    wider, _ = fit_weighted(frame, dates, {"drift": 1.0}, config, 1, {"drift": 2.0})
    width = lambda paths: np.subtract(*np.quantile(logit(paths.observed), [0.9, 0.1], axis=1))
    assert np.allclose(width(wider), 2 * width(plain), rtol=0.02)


def test_baselines_are_the_yardstick_and_compete_only_when_no_share_model_ran():
    frame = history("MS", 96, slope=0.0)  # a flat share: naive is the best forecast here
    with_share_model = backtest(frame, {"naive": NaiveLast(), "drift": Drift(), "share": Shifted("share", shift=0.03)})
    assert with_share_model.model == "share" and with_share_model.ranking[0] == "share"
    assert with_share_model.skill is not None and with_share_model.skill < 0  # reported, not hidden
    alone = backtest(frame, {"naive": NaiveLast(), "drift": Drift()})
    assert alone.model in ("naive", "drift", MIXTURE)


def test_baselines_compete_in_the_choice_only_when_told():
    rng = np.random.default_rng(5)  # a share that rose, then stood still for six years: naive's case
    level = np.r_[np.linspace(0.1, 0.6, 48), np.full(72, 0.6)]
    frame = pd.DataFrame({"ds": pd.date_range("2010-01-01", periods=120, freq="MS"),
                          "y": level + rng.normal(0, 0.005, 120)})
    config = EngineConfig(specs=("naive", "drift", "theta"), as_of="2026-11-28")
    yardstick = forecast_series("s", frame, NO_TARGETS, config)
    competing = forecast_series("s", frame, NO_TARGETS, replace(config, baselines=()))
    assert yardstick.model == "theta"  # the only share model
    assert set(competing.weights) & {"naive", "drift"}, competing.weights
