"""Real Prophet fits (a few, small): crossing dates against a known logistic path,
bounds, reproducibility and the clean-up of cmdstanpy's temporary files."""
from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from forecast.crossings import crossing_row
from forecast.engine import forecast_frame
from forecast.prophet_models import cmdstan_tmpdir, prophet_models

pytestmark = pytest.mark.prophet
FUTURE = pd.date_range("2022-01-01", "2035-12-01", freq="MS")


def synthetic(seed: int):
    """Monthly 2012-2021, level 1/(1+exp(-0.5 (t - midpoint))) crossing 0.5 in 2023-2025."""
    rng = np.random.default_rng(seed)
    midpoint = pd.Timestamp("2023-01-01") + pd.Timedelta(days=int(rng.integers(0, 3 * 365)))
    dates = pd.date_range("2012-01-01", "2021-12-01", freq="MS")
    level = 1 / (1 + np.exp(-0.5 * np.asarray((dates - midpoint).days) / 365.25))
    history = pd.DataFrame({"ds": dates, "y": np.clip(level + rng.normal(0, 0.015, len(dates)), 0, 1)})
    truth = FUTURE[np.argmax(FUTURE >= midpoint)]  # first month at or above 0.5
    return history, truth


def test_logistic_crossing_dates_are_near_the_truth_and_the_range_covers_it():
    model = prophet_models(mcmc_samples=200)["prophet_logistic"]
    inside, errors = [], []
    for seed in range(5):
        history, truth = synthetic(seed)
        paths = model.fit_predict(history, FUTURE, 500, seed)
        row = crossing_row("s", 0.5, history, FUTURE, paths.level)
        assert row["status"] == "projected"
        inside.append(pd.Timestamp(row["p10_date"]) <= truth <= pd.Timestamp(row["p90_date"]))
        errors.append(abs((pd.Timestamp(row["median_date"]) - truth).days))
    assert sum(inside) >= 4, (inside, errors)
    assert np.median(errors) <= 183, errors  # median error within six months


def test_logit_spec_bounds_ordered_reproducible_and_no_temporary_files_left():
    model = prophet_models(mcmc_samples=100)["prophet_logit"]
    history, _ = synthetic(11)
    tmpdir = cmdstan_tmpdir()
    before = sorted(os.listdir(tmpdir))
    a = model.fit_predict(history, FUTURE, 500, 3)
    b = model.fit_predict(history, FUTURE, 500, 3)
    assert sorted(os.listdir(tmpdir)) == before  # each fit writes a dir and files there
    assert a.level.shape == (len(FUTURE), 500) and np.array_equal(a.observed, b.observed)
    assert (a.level >= 0).all() and (a.level <= 1).all()
    forecast = forecast_frame("s", FUTURE, a.observed, model.name)
    values = forecast[["lower_95", "lower_80", "yhat", "upper_80", "upper_95"]].to_numpy()
    assert ((values >= 0) & (values <= 1)).all() and (np.diff(values, axis=1) >= 0).all()
    # the posterior gives a real spread of trend paths (a MAP fit would collapse it)
    assert np.ptp(np.quantile(a.level[60], [0.1, 0.9])) > 0.01


def test_yearly_fourier_order_is_what_the_sampling_frequency_identifies():
    from forecast.prophet_models import _seasonal

    def frame(freq, periods):
        return pd.DataFrame({"ds": pd.date_range("2012-01-01", periods=periods, freq=freq)})

    assert _seasonal(frame("MS", 48)) == 5  # 12 a year: orders 1-5 (6 has no sine)
    assert _seasonal(frame("QS", 16)) == 1  # 4 a year: order 1 only
    assert _seasonal(frame("6MS", 10)) is False and _seasonal(frame("YS", 10)) is False
    assert _seasonal(frame("MS", 30)) is False  # under three years


def test_the_bfgs_map_fit_reaches_newtons_optimum():
    """The MAP shortcut at backtest origins: BFGS instead of Prophet's Newton (< 100 points)."""
    from prophet import Prophet

    from forecast.prophet_models import quiet

    quiet()
    history, _ = synthetic(3)
    frame = history.iloc[:60].assign(cap=1.0, floor=0.0)
    optimum = {}
    for algorithm in ("Newton", "BFGS"):
        model = Prophet(growth="logistic", yearly_seasonality=5, weekly_seasonality=False, daily_seasonality=False)
        np.random.seed(1)
        model.fit(frame, algorithm=algorithm)
        optimum[algorithm] = model.stan_backend.stan_fit.optimized_params_dict["lp__"]
    assert optimum["BFGS"] == pytest.approx(optimum["Newton"], abs=0.1)


def test_policy_changepoints_are_added_to_prophets_own():
    from prophet import Prophet

    from forecast.prophet_models import ProphetModel, quiet

    quiet()
    history, _ = synthetic(4)
    own = Prophet(growth="linear", weekly_seasonality=False, daily_seasonality=False)
    own.fit(history.iloc[:60], algorithm="BFGS")
    policy = pd.Timestamp("2014-03-15")
    ours = ProphetModel("prophet_logit+policies", logit=True, extra_changepoints=(policy, pd.Timestamp("2030-01-01")))
    points = ours._changepoints(history["ds"].iloc[:60])
    assert set(pd.DatetimeIndex(own.changepoints)) <= set(points)  # Prophet's automatic ones
    assert policy in points and pd.Timestamp("2030-01-01") not in points  # only dates inside the data
    assert ProphetModel("prophet_logit", logit=True)._changepoints(history["ds"]) is None


def test_a_policy_variant_is_kept_only_where_it_scores_better_and_the_offer_is_recorded():
    from forecast.engine import EngineConfig, forecast_series
    from forecast.frames import TARGET_INPUT_COLUMNS

    dates = pd.date_range("2012-01-01", "2021-12-01", freq="MS")
    t = np.asarray((dates - pd.Timestamp("2017-01-01")).days) / 365.25
    y = 1 / (1 + np.exp(-(np.where(t > 0, 0.9 * t, 0.05 * t) - 1.2)))  # a break at the policy date
    history = pd.DataFrame({"ds": dates, "y": np.clip(y + np.random.default_rng(2).normal(0, 0.01, len(t)), 0, 1)})
    config = EngineConfig(specs=("naive", "theta", "prophet_logit"), mcmc_samples=60, as_of="2026-12-01")
    result = forecast_series("break", history, pd.DataFrame(columns=TARGET_INPUT_COLUMNS), config, "monthly",
                             policy_dates={"P99": "2017-01-01", "P98": "2030-06-01"})
    assert result.policy_changepoints == {"P99": pd.Timestamp("2017-01-01").date()}  # P98: after the data
    scores = result.backtest.set_index("model")
    assert {"prophet_logit", "prophet_logit+policies"} <= set(scores.index)
    better = scores.loc["prophet_logit+policies", "crps_selection"] < scores.loc["prophet_logit", "crps_selection"]
    assert result.policy_kept == {"prophet_logit": bool(better)}
    used = set(result.weights)
    assert ("prophet_logit" not in used) if better else ("prophet_logit+policies" not in used)
    plain = forecast_series("break", history, pd.DataFrame(columns=TARGET_INPUT_COLUMNS), config, "monthly")
    assert plain.policy_changepoints == {} and "prophet_logit+policies" not in set(plain.backtest["model"])


def test_the_memoised_component_matrix_gives_prophets_own_paths(monkeypatch):
    """MemoProphet only caches what Prophet recomputes from the column names: the paths of
    a MAP fit and of a posterior fit are identical to those of Prophet itself, monthly
    (yearly seasonality) and annual (none)."""
    import forecast.prophet_models as pm
    from prophet import Prophet

    monthly, _ = synthetic(3)
    annual = monthly[monthly["ds"].dt.month == 1].reset_index(drop=True)
    cases = [(monthly, FUTURE[:30], 0), (annual, FUTURE[::12][:5], 0), (monthly.iloc[-40:], FUTURE[:12], 60)]
    for history, future, mcmc in cases:
        for name, model in prophet_models(mcmc_samples=mcmc).items():
            memo = model.fit_predict(history, future, 100, 5)
            with monkeypatch.context() as patch:
                patch.setattr(pm, "_prophet_class", lambda: Prophet)
                plain = model.fit_predict(history, future, 100, 5)
            assert np.array_equal(memo.observed, plain.observed) and np.array_equal(memo.level, plain.level), name
    assert pm._COMPONENT_COLUMNS  # the cache was used


@pytest.mark.parametrize("name", ["prophet_logistic", "prophet_logit"])
def test_a_stored_posterior_is_updated_by_importance_sampling_and_refused_when_its_data_changed(name):
    """The final fit's posterior, stored, then updated with the next observations: the same
    paths (to rounding) with no new observation, paths that follow a sharp new value, a close
    match to the NUTS refit on a quiet one, and a refusal when a value it saw was revised."""
    model = prophet_models(mcmc_samples=200)[name]
    history, _ = synthetic(7)
    fitted = model.fit_predict(history.iloc[:-2], FUTURE, 400, 3)
    posterior = fitted.posteriors[name]
    same, why = model.update_predict(posterior, history.iloc[:-2], FUTURE, 400, 3)
    assert why is None and same.updates == {name: (0.0, 0)}
    np.testing.assert_allclose(same.observed, fitted.observed, rtol=0, atol=1e-12)

    updated, why = model.update_predict(posterior, history, FUTURE, 400, 3)
    assert why is None and updated.updates[name][1] == 2 and updated.updates[name][0] <= 0.7
    assert updated.posteriors == {}  # nothing new to store: later updates start from the stored one
    refit = model.fit_predict(history, FUTURE, 400, 3)
    level = [np.median(p.level, axis=1) for p in (fitted, updated, refit)]
    assert np.abs(level[1] - level[2]).max() < 0.04, np.abs(level[1] - level[2]).max()

    revised = history.copy()
    revised.loc[10, "y"] += 0.01
    none, why = model.update_predict(posterior, revised, FUTURE, 400, 3)
    assert none is None and "have changed" in why
    jump = history.copy()
    jump.loc[len(jump) - 1, "y"] = 0.99  # far from every draw: the importance ratios are unreliable
    none, why = model.update_predict(posterior, jump, FUTURE, 400, 3)
    assert none is None and "k-hat" in why
