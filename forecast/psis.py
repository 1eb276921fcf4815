"""Pareto-smoothed importance sampling (Vehtari, Simpson, Gelman, Yao & Gabry 2024, "Pareto
smoothed importance sampling", JMLR 25(72)), for updating a stored posterior with new
observations instead of sampling it again (Buerkner, Gabry & Vehtari 2020, "Approximate
leave-future-out cross-validation for Bayesian time series models": refit only when the
Pareto k-hat of the importance ratios exceeds 0.7).

The largest importance ratios are replaced by the expected order statistics of a
generalized Pareto distribution fitted to them (Zhang & Stephens 2009, with the weakly
informative prior of the reference implementation, `loo::psis` / ArviZ `psislw`); k-hat,
the fitted shape, says how reliable the weighted draws are: above 0.7 they are not.
"""
from __future__ import annotations

import numpy as np

KHAT_LIMIT = 0.7  # above it the importance-weighted draws are unreliable: sample again


def _gpd_fit(exceedances: np.ndarray) -> tuple[float, float]:
    """(shape k, scale sigma) of a generalized Pareto distribution fitted to sorted positive
    exceedances by the Zhang-Stephens profile estimator, k shrunk toward 0.5 by n / (n + 10)."""
    n = len(exceedances)
    m = 30 + int(np.sqrt(n))
    b = 1 - np.sqrt(m / (np.arange(1, m + 1) - 0.5))
    b = b / (3 * exceedances[int(n / 4 + 0.5) - 1]) + 1 / exceedances[-1]
    k = np.log1p(-b[:, None] * exceedances).mean(axis=1)
    profile = n * (np.log(-(b / k)) - k - 1)
    weights = 1 / np.exp(profile - profile[:, None]).sum(axis=1)
    kept = weights >= 10 * np.finfo(float).eps
    weights, b = weights[kept] / weights[kept].sum(), b[kept]
    b_post = float(np.sum(b * weights))
    k_post = float(np.log1p(-b_post * exceedances).mean())
    sigma = -k_post / b_post
    return (n * k_post + 10 * 0.5) / (n + 10), sigma


def psis(log_ratios: np.ndarray) -> tuple[np.ndarray, float]:
    """(normalised log weights, k-hat) for the draws' log importance ratios."""
    x = np.asarray(log_ratios, dtype=float)
    x = x - x.max()
    n = len(x)
    tail_size = int(np.ceil(min(0.2 * n, 3 * np.sqrt(n))))
    cutoff = max(np.sort(x)[-tail_size - 1], np.log(np.finfo(float).tiny))
    tail = np.flatnonzero(x > cutoff)
    if len(tail) <= 4:
        return x - np.logaddexp.reduce(x), float("inf")
    order = np.argsort(x[tail])
    k_hat, sigma = _gpd_fit(np.exp(x[tail][order]) - np.exp(cutoff))
    if np.isfinite(k_hat):
        p = np.arange(0.5, len(tail)) / len(tail)
        quantiles = (sigma * np.expm1(-k_hat * np.log1p(-p)) / k_hat) if k_hat != 0 else -sigma * np.log1p(-p)
        x[tail[order]] = np.minimum(np.log(quantiles + np.exp(cutoff)), 0.0)  # never above the largest ratio
    return x - np.logaddexp.reduce(x), float(k_hat)


def resample(log_weights: np.ndarray, seed: int) -> np.ndarray:
    """Indices of as many draws as there are weights, by systematic resampling: each draw is
    repeated about n x its weight times, with the least extra noise."""
    n = len(log_weights)
    u = (np.random.default_rng(seed).uniform() + np.arange(n)) / n
    return np.minimum(np.searchsorted(np.cumsum(np.exp(log_weights)), u), n - 1)


__all__ = ["KHAT_LIMIT", "psis", "resample"]
