"""Every registered model on real bundled series: paths inside [0, 1], ordered bands, the
same numbers for the same seed, and a reason when a model cannot fit a series.
(Prophet's two specifications fit real Prophet: marked `prophet`.)"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast import registry
from forecast.calendar import future_dates
from forecast.engine import forecast_frame
from forecast.models import CannotFit
from jobs.bundled import init_database
from jobs.settings import REPO_DATA_DIR
from jobs.store import db, read

pytestmark = pytest.mark.slow  # builds the bundled store once (init parses every raw file)

SERIES = {  # a long monthly, a half-yearly list and a sparse annual series, all bundled
    "phones_usage_statcounter_domestic_share": "monthly",
    "supercomputers_cn_installed_chinese_vendor_share": "half_yearly",
    "chips_ic_self_sufficiency_ic_insights": "annual",
}


@pytest.fixture(scope="module")
def bundled(tmp_path_factory):
    engine = db.make_engine(f"sqlite:///{tmp_path_factory.mktemp('bundled') / 'b.db'}")
    init_database(engine, REPO_DATA_DIR)
    with engine.connect() as conn:
        history = read.history_frame(conn, list(SERIES))
    engine.dispose()
    return {key: group[["ds", "y"]].reset_index(drop=True) for key, group in history.groupby("series")}


def check_model(name: str, bundled: dict, mcmc_samples: int) -> None:
    model = registry.build([name], mcmc_samples)[name]
    for key, frequency in SERIES.items():
        history = bundled[key]
        dates = future_dates(history["ds"].iloc[-1], "2030-12-31", frequency)
        try:
            a = model.fit_predict(history, dates, 200, 7)
        except CannotFit as exc:
            assert name in ("ets_damped", "auto_ets") and "points" in str(exc), (name, key, exc)
            continue
        b = model.fit_predict(history, dates, 200, 7)
        assert a.level.shape == a.observed.shape == (len(dates), 200), (name, key)
        for paths in (a.level, a.observed):
            assert np.isfinite(paths).all() and (paths >= 0).all() and (paths <= 1).all(), (name, key)
        assert np.array_equal(a.observed, b.observed) and np.array_equal(a.level, b.level), (name, key)
        bands = forecast_frame(key, dates, a.observed, name)[["lower_95", "lower_80", "yhat", "upper_80", "upper_95"]]
        assert (np.diff(bands.to_numpy(), axis=1) >= 0).all(), (name, key)
        assert np.ptp(bands["upper_95"] - bands["lower_95"]) >= 0 and (bands["upper_95"] > bands["lower_95"]).any()


@pytest.mark.parametrize("name", [m for m in registry.MODELS if not m.startswith("prophet")])
def test_baseline_and_statsforecast_models_on_bundled_series(name, bundled):
    check_model(name, bundled, mcmc_samples=0)


@pytest.mark.prophet
@pytest.mark.parametrize("name", [m for m in registry.MODELS if m.startswith("prophet")])
def test_prophet_models_with_a_small_posterior_on_bundled_series(name, bundled):
    check_model(name, bundled, mcmc_samples=40)


def test_statsforecast_models_refuse_short_or_constant_series_with_a_reason():
    model = registry.build(["ets_damped"], 0)["ets_damped"]
    short = pd.DataFrame({"ds": pd.date_range("2015-01-01", periods=6, freq="YS"), "y": np.linspace(0.1, 0.3, 6)})
    with pytest.raises(CannotFit, match="at least 10 points"):
        model.fit_predict(short, pd.date_range("2021-01-01", periods=3, freq="YS"), 10, 1)
    flat = pd.DataFrame({"ds": pd.date_range("2010-01-01", periods=12, freq="YS"), "y": 0.4})
    with pytest.raises(CannotFit, match="constant"):
        registry.build(["theta"], 0)["theta"].fit_predict(flat, pd.date_range("2022-01-01", periods=3, freq="YS"), 10, 1)


def test_ets_paths_reproduce_the_library_intervals():
    """Our simulation of the fitted ETS state space against statsforecast's own intervals."""
    from statsforecast.models import AutoETS

    from forecast.stats_models import simulate_ets

    rng = np.random.default_rng(1)
    y = np.cumsum(rng.normal(0.05, 0.2, 120)) - 3
    fitted = AutoETS(model="AAN", damped=True).fit(y)
    observed, _ = simulate_ets(fitted.model_, 24, 4000, np.random.default_rng(2))
    library = fitted.predict(h=24, level=[80])
    for col, q in (("lo-80", 0.1), ("mean", 0.5), ("hi-80", 0.9)):
        assert np.allclose(np.quantile(observed, q, axis=1), library[col], atol=0.06), col
