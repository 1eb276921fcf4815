"""A stored model choice reused by forecast_series: only the final fit runs, and on the same
history and seed it gives the full fit's results exactly (real Prophet and statsforecast)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast.choice import StoredChoice
from forecast.engine import EngineConfig, forecast_series

TARGETS = pd.DataFrame([{"target_id": "T", "series": "s", "threshold": 0.6, "deadline": "2030-12-31",
                         "measure": "direct"}])


def logistic_history(periods: int = 72, seed: int = 0) -> pd.DataFrame:
    dates = pd.date_range("2015-01-01", periods=periods, freq="MS")
    t = np.asarray((dates - pd.Timestamp("2022-01-01")).days) / 365.25
    noise = np.random.default_rng(seed).normal(0, 0.01, periods)
    return pd.DataFrame({"ds": dates, "y": np.clip(1 / (1 + np.exp(-0.5 * t)) + noise, 0, 1)})


def stored(result, run_id: int = 1) -> StoredChoice:
    """The result's choice as a store keeps it: stamped with its run, through JSON."""
    return StoredChoice.from_json(result.choice.stamped(run_id, "choice-key").to_json(), run_id)


@pytest.mark.parametrize("model", [pytest.param("prophet_logistic", marks=[pytest.mark.prophet, pytest.mark.slow]),
                                   "ets_damped"])
def test_a_reused_choice_on_the_same_history_gives_the_full_fits_forecast_exactly(model):
    config = EngineConfig(specs=("naive", "drift", model), mcmc_samples=40, as_of="2026-12-01")
    history = logistic_history()
    full = forecast_series("s", history, TARGETS, config, "monthly")
    assert full.status == "ok" and full.model == model and not full.backtest.empty
    assert full.choice.run_id is None and full.choice.last_obs_date == "2020-12-01" and full.choice.n_obs == 72

    reused = forecast_series("s", history, TARGETS, config, "monthly", choice=stored(full, 7))
    assert reused.backtest.empty and reused.tested is None  # no backtest ran
    assert reused.choice.run_id == 7 and reused.choice.model == model
    for frame in ("forecast", "cdf", "crossings", "targets"):
        pd.testing.assert_frame_equal(getattr(full, frame), getattr(reused, frame), check_exact=True)
        assert getattr(full, frame).to_csv().encode() == getattr(reused, frame).to_csv().encode()
    assert (reused.model, reused.weights, reused.skill, reused.skill_origins, reused.error) == \
        (full.model, full.weights, full.skill, full.skill_origins, full.error)

    grown = pd.concat([history, pd.DataFrame({"ds": [pd.Timestamp("2021-01-01")], "y": [history["y"].iloc[-1]]})])
    later = forecast_series("s", grown, TARGETS, config, "monthly", choice=stored(full, 7))
    assert later.model == model and later.n_obs == 73 and later.choice.last_obs_date == "2020-12-01"
    assert not later.forecast.equals(full.forecast)  # refitted on the new month


def test_a_reused_choice_that_cannot_fit_falls_back_along_its_ranking():
    config = EngineConfig(specs=("naive", "drift", "ets_damped"), as_of="2026-12-01")
    full = forecast_series("s", logistic_history(), TARGETS, config, "monthly")
    assert full.model == "ets_damped"
    flat = logistic_history().assign(y=0.4)  # revised to a constant: ETS cannot fit it
    reused = forecast_series("s", flat, TARGETS, config, "monthly", choice=stored(full))
    fallback = full.choice.ranking[1]
    assert reused.status == "ok" and reused.model == fallback and reused.weights == {fallback: 1.0}
    assert "ets_damped: ets_damped: the series is constant" in reused.error
    assert reused.skill is None and reused.backtest.empty  # the choice's skill was not this model's


def test_a_choice_made_with_other_policy_dates_is_made_again():
    config = EngineConfig(specs=("naive", "drift"), as_of="2026-12-01")
    history = logistic_history()
    full = forecast_series("s", history, TARGETS, config, "monthly")
    again = forecast_series("s", history, TARGETS, config, "monthly", policy_dates={"P1": "2018-01-01"},
                            choice=stored(full))
    assert not again.backtest.empty and again.choice.run_id is None  # a new backtest, a new choice
    assert again.choice.offered == {"P1": "2018-01-01"}
