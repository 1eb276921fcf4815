"""The target rules as forecast/targets.py wrote them with a pandas frame per target, before
they were vectorised (1 December 2026): the reference the fast rules must equal, row for row."""
from __future__ import annotations

import numpy as np
import pandas as pd

from forecast.calendar import FREQUENCIES, infer_frequency, period_months
from forecast.frames import BOUND_LOWER, BOUND_UPPER, CDF, DS, P_ABOVE, THRESHOLD, Y
from forecast.targets import status_from_probability

TOLERANCE = 1e-9


def evidence_frame(history, bounds):
    obs = pd.DataFrame({DS: pd.to_datetime(history[DS]), BOUND_LOWER: history[Y].astype(float),
                        BOUND_UPPER: history[Y].astype(float), "basis": "observation"})
    if bounds is None or bounds.empty:
        return obs.reset_index(drop=True)
    b = pd.DataFrame({DS: pd.to_datetime(bounds[DS]), BOUND_LOWER: bounds[BOUND_LOWER].astype(float),
                      BOUND_UPPER: bounds[BOUND_UPPER].astype(float)})
    has_low, has_high = b[BOUND_LOWER].notna(), b[BOUND_UPPER].notna()
    b["basis"] = np.where(has_low & has_high, "range", np.where(has_low, "lower_bound", "upper_bound"))
    return pd.concat([obs, b], ignore_index=True).sort_values(DS, kind="stable").reset_index(drop=True)


def above(evidence, threshold):
    return evidence[BOUND_LOWER] >= threshold - TOLERANCE


def below(evidence, threshold):
    return evidence[BOUND_UPPER] < threshold - TOLERANCE


def projection(cdf, threshold):
    """(dates, cdf, p_above) of one threshold, or None."""
    if cdf is None or cdf.empty:
        return None
    rows = cdf[(cdf[THRESHOLD].astype(float) - float(threshold)).abs() < 1e-9].sort_values(DS)
    if rows.empty:
        return None
    return pd.DatetimeIndex(pd.to_datetime(rows[DS])), rows[CDF].to_numpy(float), rows[P_ABOVE].to_numpy(float)


def projected_date(evidence, threshold, proj):
    hit = above(evidence, threshold)
    if hit.any():
        return evidence[DS].iloc[int(np.flatnonzero(hit.to_numpy())[0])].date()
    if proj is None:
        return None
    reached = np.flatnonzero(proj[1] >= 0.5 - 1e-12)
    return proj[0][int(reached[0])].date() if len(reached) else None


def probability_at(proj, deadline):
    dates = proj[0]
    k = int(np.searchsorted(dates.values, np.datetime64(deadline), side="right")) - 1
    step = dates[-1] - dates[-2] if len(dates) > 1 else pd.Timedelta(0)
    return None if k < 0 or deadline > dates[-1] + step else float(proj[2][k])


def evidence_at(evidence, deadline, frequency):
    if frequency not in FREQUENCIES:
        frequency = infer_frequency(evidence[DS])
    period = pd.DateOffset(months=period_months(frequency))
    start, end = evidence[DS], evidence[DS] + period
    own = (start <= deadline) & (deadline < end)
    near = (start <= deadline + period) & (end > deadline - period)
    distance = np.where(start > deadline, (start - deadline).dt.days, np.maximum((deadline - end).dt.days + 1, 0))
    ranked = evidence.assign(own_period=own, _other=~own, _distance=distance, _later=start > deadline)
    return ranked[near].sort_values(["_other", "_distance", "_later"], kind="stable")


def decide(evidence, threshold, deadline, frequency, open_):
    near = evidence_at(evidence, deadline, frequency)
    if open_:
        near = near[near["own_period"]]
    up, down = above(near, threshold), below(near, threshold)
    deciding = near[up | down]
    if deciding.empty:
        return None, None
    point = deciding.iloc[0]
    if up.loc[deciding.index[0]]:
        return "met", point
    earlier = evidence[evidence[DS] < point[DS]]
    return ("reached_then_fell" if above(earlier, threshold).any() else "missed"), point


def assess_target(target, history, as_of, cdf=None, bounds=None, frequency=None) -> dict:
    threshold, deadline = float(target[THRESHOLD]), pd.Timestamp(target["deadline"])
    row = {"target_id": target["target_id"], "series": target.get("series"), "measure": target.get("measure"),
           "threshold": threshold, "deadline": deadline.date(), "probability_by_deadline": None,
           "projected_date": None, "basis": None, "evidence_date": None}
    if history is None:
        history = pd.DataFrame(columns=[DS, Y])
    evidence = evidence_frame(history, bounds)
    if evidence.empty:
        return {**row, "status": "no_data"}
    proj = projection(cdf, threshold)
    row["projected_date"] = projected_date(evidence, threshold, proj)
    status, point = decide(evidence, threshold, deadline, frequency, deadline >= pd.Timestamp(as_of))
    if status is not None:
        return {**row, "status": status, "probability_by_deadline": 1.0 if status == "met" else 0.0,
                "basis": point["basis"], "evidence_date": point[DS].date()}
    p = probability_at(proj, deadline) if proj is not None else None
    forecast = {"probability_by_deadline": p, "basis": "forecast" if p is not None else None}
    if deadline < pd.Timestamp(as_of):
        return {**row, **forecast, "status": "unobserved"}
    if p is None:
        return {**row, "status": "no_data"}
    return {**row, **forecast, "status": status_from_probability(p)}
