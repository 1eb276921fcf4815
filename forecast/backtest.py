"""Rolling-origin backtests, the choice of model (or mixture) per series, and the
out-of-sample skill of that choice.

Origins sit 1, 2, ... 2 x n_origins years before the last observation (as far as the data
go, at least MIN_TRAIN points of training). At each one a model sees only the
observations before it and forecasts the held-out ones up to HORIZON_YEARS later.

Scores per model (observed paths against the held-out values):
  crps_selection  mean CRPS on the selection origins (the latest n_origins, the report
                  origins) after recalibration (below): the score the choice is made on
  crps            mean CRPS on the report origins, as fitted;
                  skill = 1 - crps / naive's crps (> 0 beats the naive forecast)
  mae, mase       error of the median on the report origins; mase divides by the
                  in-sample one-step naive error of each training window
  coverage_80     share of report points inside the 80% band (ideal 0.8)
  crossing_error_days  |median predicted crossing - observed crossing| for thresholds
                  crossed after a report origin (the end of the data when the median does
                  not cross by then: a lower bound)
Recalibration: each model's paths are widened around their median (logit scale) by the
factor that makes its 80% band hold 80% of the selection origins' held-out values (never
narrowed); the forecast's paths get the same factor, so models are compared as they will
be used.
The choice: among the share models (not the random-walk baselines, which cannot know that
shares saturate; they compete only when no share model ran everywhere), the lowest
crps_selection; a mixture of their recalibrated paths (weights by greedy ensemble
selection, in tenths) replaces it when its score is lower by at least MIXTURE_MARGIN.
benchmarks/calibration.py measured both rules on synthetic series with known crossings.
The reported skill is out of sample: at each report origin the same rule chooses on the
latest n_origins origins before it, using only the values before that origin, and that
choice is scored there; skill = 1 - its mean CRPS / naive's over the report origins.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from forecast.crossings import crossing_of, observed_crossing
from forecast.frames import DS, Y
from forecast.models import CannotFit, expit, logit

SCORE_COLUMNS = ["model", "n_origins", "mae", "mase", "coverage_80", "crossing_error_days",
                 "crps_selection", "crps", "skill", "horizon_steps", "weight", "error"]
MIN_TRAIN = 4
HORIZON_YEARS = 3
MIXTURE = "mixture"
MIXTURE_ROUNDS = 10  # weights in tenths
MIXTURE_MARGIN = 0.02  # the mixture must beat the best single model by 2% on selection


@dataclass(frozen=True)
class Origin:
    cut: int  # training length: history.iloc[:cut]
    end: int  # held-out points are history.iloc[cut:end]
    report: bool


def _cut_before(ds: pd.DatetimeIndex, when: pd.Timestamp) -> int:
    """Index of the first observation after `when` (the training length of that origin)."""
    return int(np.searchsorted(ds.values, np.datetime64(when), side="right"))


def plan_origins(ds, n_origins: int = 3, min_train: int = MIN_TRAIN) -> list[Origin]:
    """Origins in time order; the latest n_origins are the report origins."""
    ds = pd.DatetimeIndex(ds)
    n = len(ds)
    cuts = sorted({_cut_before(ds, ds[-1] - pd.DateOffset(years=k)) for k in range(1, 2 * n_origins + 1)})
    cuts = [c for c in cuts if min_train <= c < n]
    horizon = [min(_cut_before(ds, ds[c - 1] + pd.DateOffset(years=HORIZON_YEARS)), n) for c in cuts]
    report = set(cuts[-n_origins:])
    return [Origin(c, end, c in report) for c, end in zip(cuts, horizon)]


def crps(samples: np.ndarray, actual: np.ndarray) -> np.ndarray:
    """CRPS of each row's sample (rows: dates, columns: draws) against its actual value:
    E|X - y| - E|X - X'| / 2, exactly for the empirical distribution of the draws."""
    x = np.sort(samples, axis=1)
    m = x.shape[1]
    spread = (x * (2 * np.arange(1, m + 1) - m - 1)).sum(axis=1) / m**2
    return np.abs(x - actual[:, None]).mean(axis=1) - spread


@dataclass
class ModelRun:
    """One model's held-out paths at every origin (None where it could not fit)."""

    name: str
    paths: list = field(default_factory=list)  # per origin: (observed, level) or None
    error: str | None = None


def run_model(model, history: pd.DataFrame, plan: list[Origin], n_paths: int, seed: int,
              name: str | None = None) -> ModelRun:
    run = ModelRun(name or model.name)
    for origin in plan:
        train, test = history.iloc[:origin.cut], history.iloc[origin.cut:origin.end]
        try:
            paths = model.fit_predict(train, pd.DatetimeIndex(test[DS]), n_paths, seed + origin.cut)
        except CannotFit as exc:
            run.error = f"origin {train[DS].iloc[-1]:%Y-%m}: {exc}"
            return run
        run.paths.append((paths.observed, paths.level))
    return run


def _mixture_paths(runs: list[ModelRun], weights: dict[str, float], k: int):
    """The mixture's (observed, level) at origin k: each model's first weight x n paths."""
    parts = []
    for run in runs:
        w = weights.get(run.name, 0.0)
        if w > 0:
            observed, level = run.paths[k]
            take = max(1, int(round(w * observed.shape[1])))
            parts.append((observed[:, :take], level[:, :take]))
    return np.hstack([p[0] for p in parts]), np.hstack([p[1] for p in parts])


def _mean_crps(history, plan, paths_at, origins, limit: int | None = None) -> float | None:
    """Mean CRPS over the held-out points of `origins` (indices into plan) before `limit`."""
    values = []
    for k in origins:
        origin = plan[k]
        end = origin.end if limit is None else min(origin.end, limit)
        if end > origin.cut:
            actual = history[Y].to_numpy(float)[origin.cut:end]
            values.extend(crps(paths_at(k)[0][:end - origin.cut], actual))
    return float(np.mean(values)) if values else None


def due_crossings(history, plan, thresholds) -> dict[int, list]:
    """Per report origin (index into plan): (threshold, observed date) of each threshold the
    training data had not reached and the held-out data did: what crossing errors measure.
    The same for every model, so found once per series."""
    due = {}
    for k, origin in enumerate(plan):
        if origin.report:
            train, test = history.iloc[:origin.cut], history.iloc[origin.cut:origin.end]
            due[k] = [(t, actual) for t in thresholds if observed_crossing(train, t) is None
                      and (actual := observed_crossing(test, t)) is not None]
    return due


def _crossing_errors(dates: pd.DatetimeIndex, level, due: list) -> list[float]:
    """|median predicted crossing - observed| in days (the end of the held-out dates when
    the median does not cross by then: a lower bound)."""
    errors = []
    for threshold, actual in due:
        predicted = crossing_of(dates, level, threshold).quantile_date(0.5) or dates[-1].date()
        errors.append(abs((pd.Timestamp(predicted) - pd.Timestamp(actual)).days))
    return errors


def _report_scores(history, plan, paths_at, due) -> dict:
    maes, mases, covered, crossing = [], [], [], []
    for k, origin in enumerate(plan):
        if not origin.report or origin.end <= origin.cut:  # nothing held out there to score
            continue
        train, test = history.iloc[:origin.cut], history.iloc[origin.cut:origin.end]
        observed, level = paths_at(k)
        actual = test[Y].to_numpy(float)
        error = np.abs(np.median(observed, axis=1) - actual)
        scale = np.mean(np.abs(np.diff(train[Y].to_numpy(float)))) or 1e-6
        lower, upper = np.quantile(observed, [0.1, 0.9], axis=1)
        maes.append(error.mean())
        mases.append(error.mean() / scale)
        covered.extend((actual >= lower - 1e-9) & (actual <= upper + 1e-9))
        crossing.extend(_crossing_errors(pd.DatetimeIndex(test[DS]), level, due[k]))
    if not maes:
        return {"mae": None, "mase": None, "coverage_80": None, "crossing_error_days": None}
    return {"mae": float(np.mean(maes)), "mase": float(np.mean(mases)),
            "coverage_80": float(np.mean(covered)),
            "crossing_error_days": float(np.mean(crossing)) if crossing else None}


def _row(name, history, plan, paths_at, due, recalibrated_at, chosen_on) -> dict:
    return {"model": name, "n_origins": len(plan), "error": None,
            "crps_selection": _mean_crps(history, plan, recalibrated_at, chosen_on),
            "crps": _mean_crps(history, plan, paths_at, [k for k, o in enumerate(plan) if o.report]),
            "horizon_steps": max(o.end - o.cut for o in plan),
            **_report_scores(history, plan, paths_at, due)}


def greedy_weights(runs: list[ModelRun], history, plan, origins, limit=None,
                   rounds: int = MIXTURE_ROUNDS) -> dict[str, float]:
    """Ensemble selection with replacement (Caruana et al. 2004) on the mean CRPS."""
    counts: dict[str, int] = {}
    for _ in range(rounds):
        best, best_score = None, np.inf
        for run in runs:
            trial = {**counts, run.name: counts.get(run.name, 0) + 1}
            total = sum(trial.values())
            weights = {m: c / total for m, c in trial.items()}
            score = _mean_crps(history, plan, lambda k: _mixture_paths(runs, weights, k), origins, limit)
            if score < best_score:
                best, best_score = run.name, score
        counts[best] = counts.get(best, 0) + 1
    return {m: c / rounds for m, c in sorted(counts.items())}


def calibrated(runs: list[ModelRun], history, plan, origins, limit=None):
    """Each run's paths widened by its own spread factor on `origins` (before `limit`), and
    the factors. Models are compared after this recalibration, since the forecast's paths
    get the same widening: a model is not ruled out for bands that the rule will widen
    anyway (Prophet's MAP fits at the origins are too narrow by construction)."""
    factors = {r.name: spread_factor(lambda k, r=r: r.paths[k], history, plan, origins, limit) for r in runs}
    return with_factors(runs, factors), factors


def with_factors(runs: list[ModelRun], factors: dict[str, float]) -> list[ModelRun]:
    """The runs that have a factor, their paths widened by it at every origin."""
    return [ModelRun(r.name, [widened(p, factors[r.name]) for p in r.paths]) for r in runs if r.name in factors]


def choose(runs: list[ModelRun], history, plan, origins, limit=None, baselines=(), twins=None):
    """(model or MIXTURE, weights, candidates best first, spread factors) on the given
    origins. The candidates are the share models; the baselines (random walks, which cannot
    know that shares saturate) are the yardstick of skill and compete only when no share
    model ran at every origin. `twins` (variant -> plain model, e.g. Prophet with and
    without policy changepoints): of each pair only the better scoring one is a candidate."""
    candidates = [r for r in runs if r.name not in baselines] or runs
    cal, factors = calibrated(candidates, history, plan, origins, limit)
    scores = {run.name: _mean_crps(history, plan, lambda k, r=run: r.paths[k], origins, limit) for run in cal}
    losers = set()
    for variant, plain in (twins or {}).items():
        if variant in scores and plain in scores:
            losers.add(plain if _better(scores[variant], scores[plain]) else variant)
    cal = [run for run in cal if run.name not in losers]
    scored = []
    for order, run in enumerate(cal):
        score = scores[run.name]
        if score is not None:
            scored.append((score, run.name not in baselines, order, run.name))
    ranking = [name for *_, name in sorted(scored)]
    if not ranking:
        return None, {}, [], factors
    best = sorted(scored)[0][0]
    if len(cal) > 1:
        mixture = greedy_weights(cal, history, plan, origins, limit)
        if len(mixture) > 1:
            score = _mean_crps(history, plan, lambda k: _mixture_paths(cal, mixture, k), origins, limit)
            if score < (1 - MIXTURE_MARGIN) * best:
                return MIXTURE, mixture, ranking, factors
    return ranking[0], {ranking[0]: 1.0}, ranking, factors


def _better(score, other) -> bool:
    """A variant is kept only where it scores strictly better than its plain model."""
    return score is not None and (other is None or score < other)


def _paths_of(runs: list[ModelRun], model: str, weights: dict):
    if model == MIXTURE:
        return lambda k: _mixture_paths(runs, weights, k)
    run = next(r for r in runs if r.name == model)
    return lambda k: run.paths[k]


MAX_SPREAD = 4.0


def spread_factor(paths_at, history, plan, origins, limit=None) -> float:
    """How much the paths' spread around their median must grow (on the logit scale) for
    the 80% band to hold 80% of the held-out values of `origins` (before `limit`); 1 when
    it already does, at most MAX_SPREAD."""
    ratios = []
    for k in origins:
        origin = plan[k]
        end = origin.end if limit is None else min(origin.end, limit)
        if end <= origin.cut:
            continue
        observed = logit(paths_at(k)[0][:end - origin.cut])
        actual = logit(history[Y].to_numpy(float)[origin.cut:end])
        low, mid, high = np.quantile(observed, [0.1, 0.5, 0.9], axis=1)
        half = np.where(actual >= mid, high - mid, mid - low)
        ratios.extend(np.abs(actual - mid) / np.maximum(half, 1e-9))
    if len(ratios) < 3:
        return 1.0
    return float(np.clip(np.quantile(ratios, 0.8), 1.0, MAX_SPREAD))


def widen(paths: np.ndarray, factor: float, centre: np.ndarray | None = None) -> np.ndarray:
    """Paths spread `factor` times further from their per-date median, on the logit scale
    (so they stay inside (0, 1)); `centre` the median to spread from (default their own)."""
    if factor == 1.0 or paths.size == 0:
        return paths
    x = logit(paths)
    mid = np.median(x, axis=1, keepdims=True) if centre is None else logit(centre)
    at_bound = (paths <= 0) | (paths >= 1)  # a clamped path stays at its bound
    return np.where(at_bound, paths, expit(mid + factor * (x - mid)))


def widened(paths_pair, factor: float):
    """(observed, level) widened alike: the level keeps its place relative to the observed median."""
    observed, level = paths_pair
    if factor == 1.0:
        return observed, level
    centre = np.median(observed, axis=1, keepdims=True)
    return widen(observed, factor, centre), widen(level, factor, centre)


@dataclass
class OutOfSample:
    """The choice procedure scored at the report origins (each choice made on earlier data)."""

    crps: list = field(default_factory=list)  # per held-out point, the chosen paths' CRPS
    naive_crps: list = field(default_factory=list)
    inside_80: list = field(default_factory=list)  # per point: inside the chosen 80% band
    origins: int = 0

    @property
    def skill(self) -> float | None:
        if not self.origins or np.mean(self.naive_crps) <= 0:
            return None
        return float(1 - np.mean(self.crps) / np.mean(self.naive_crps))


def selection_origins(plan: list[Origin], before: int | None = None) -> list[int]:
    """The origins a choice is made on: the latest n_origins of the plan (as many as there
    are report origins), or the latest n_origins before plan index `before`."""
    n = sum(o.report for o in plan)
    end = len(plan) if before is None else before
    return list(range(max(0, end - n), end))


def out_of_sample(runs: list[ModelRun], history, plan, baselines, twins=None) -> OutOfSample:
    """At each report origin, choose on the latest earlier origins' values before it (the
    same rule as the final choice, recalibration included), and score that choice there
    (CRPS against naive's, and 80% coverage)."""
    result = OutOfSample()
    naive = next((r for r in runs if r.name == "naive"), None)
    if naive is None:
        return result
    for j, origin in enumerate(plan):
        if not origin.report:
            continue
        earlier = selection_origins(plan, j)
        model, weights, _, factors = choose(runs, history, plan, earlier, origin.cut, baselines, twins)
        if model is None:
            continue
        observed = _paths_of(with_factors(runs, factors), model, weights)(j)[0]
        actual = history[Y].to_numpy(float)[origin.cut:origin.end]
        lower, upper = np.quantile(observed, [0.1, 0.9], axis=1)
        result.crps.extend(crps(observed, actual))
        result.naive_crps.extend(crps(naive.paths[j][0], actual))
        result.inside_80.extend((actual >= lower - 1e-9) & (actual <= upper + 1e-9))
        result.origins += 1
    return result


@dataclass
class Choice:
    scores: pd.DataFrame  # SCORE_COLUMNS + chosen
    model: str  # a model name or MIXTURE
    weights: dict[str, float]
    ranking: list[str]  # single models, best first (fallbacks for the final fit)
    tested: OutOfSample  # the choice procedure, out of sample
    factors: dict[str, float] = field(default_factory=dict)  # per model: its paths' spread factor
    kept: dict[str, bool] = field(default_factory=dict)  # per plain model with a variant: variant kept

    @property
    def skill(self) -> float | None:
        return self.tested.skill

    @property
    def skill_origins(self) -> int:
        return self.tested.origins if self.tested.skill is not None else 0


def backtest(history: pd.DataFrame, models: dict, thresholds=(), n_origins: int = 3,
             n_paths: int = 200, seed: int = 0, baselines=("naive", "drift"),
             fallback: str = "drift", twins=None) -> Choice:
    """Score every model, choose, and measure the choice's out-of-sample skill. `twins`:
    variant -> plain model pairs of which only the better scoring one competes."""
    plan = plan_origins(history[DS], n_origins)
    runs, rows = [], []
    for name, model in (models.items() if plan else ()):
        run = run_model(model, history, plan, n_paths, seed, name)
        if run.error:
            rows.append({"model": name, "n_origins": len(run.paths), "error": run.error})
            continue
        runs.append(run)
    chosen_on = selection_origins(plan)
    due = due_crossings(history, plan, thresholds)
    cal, factors = calibrated(runs, history, plan, chosen_on)
    for run, recalibrated in zip(runs, cal):
        rows.append(_row(run.name, history, plan, lambda k, r=run: r.paths[k], due,
                         lambda k, r=recalibrated: r.paths[k], chosen_on))
    model, weights, ranking, _ = choose(runs, history, plan, chosen_on, None, baselines, twins)
    if model is None:
        model, weights = fallback, {fallback: 1.0}
    if model == MIXTURE:
        rows.append(_row(MIXTURE, history, plan, _paths_of(runs, model, weights), due,
                         _paths_of(cal, model, weights), chosen_on))
    scores = pd.DataFrame(rows, columns=SCORE_COLUMNS)
    scores["weight"] = scores["model"].map(weights)
    naive = scores.loc[scores["model"].eq("naive") & scores["error"].isna(), "crps"]
    if not naive.empty and pd.notna(naive.iloc[0]) and naive.iloc[0] > 0:  # None: no held-out point to score
        scores["skill"] = 1 - scores["crps"] / naive.iloc[0]
    scores["chosen"] = scores["model"] == model
    kept = {plain: variant in ranking for variant, plain in (twins or {}).items() if variant in models}
    rest = [m for m in models if m not in ranking]
    return Choice(scores, model, weights, ranking + rest, out_of_sample(runs, history, plan, baselines, twins),
                  factors, kept)
