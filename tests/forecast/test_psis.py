import numpy as np

from forecast.psis import KHAT_LIMIT, psis, resample


def test_khat_recovers_the_tail_shape_of_pareto_ratios():
    rng = np.random.default_rng(1)
    for shape in (0.2, 0.5, 0.9):
        ratios = (rng.uniform(size=4000) ** -shape - 1) / shape  # generalized Pareto, scale 1
        _, k_hat = psis(np.log1p(ratios))
        assert abs(k_hat - shape) < 0.12, (shape, k_hat)


def test_a_nearby_target_is_reliable_and_reweighted_correctly():
    draws = np.random.default_rng(2).standard_normal(4000)  # proposal N(0, 1), target N(0.5, 1)
    log_weights, k_hat = psis(-0.5 * (draws - 0.5) ** 2 + 0.5 * draws**2)
    assert k_hat < 0.5
    assert np.isclose(np.exp(np.logaddexp.reduce(log_weights)), 1.0)
    assert abs(np.sum(np.exp(log_weights) * draws) - 0.5) < 0.05


def test_a_target_much_wider_than_the_draws_is_flagged():
    draws = np.random.default_rng(3).standard_normal(4000)  # target N(0, 4^2): true k = 1 - 1/16
    _, k_hat = psis(-0.5 * (draws / 4) ** 2 + 0.5 * draws**2)
    assert k_hat > KHAT_LIMIT


def test_systematic_resampling_repeats_draws_by_weight():
    weights = np.array([0.5, 0.25, 0.125, 0.125] * 25) / 25
    picks = resample(np.log(weights), seed=4)
    assert len(picks) == 100
    counts = np.bincount(picks, minlength=100)
    assert np.all(np.abs(counts - 100 * weights) < 1)  # at most one off each draw's share
    assert np.array_equal(picks, resample(np.log(weights), seed=4))
