"""The evidence behind each target, as the evidence card shows it and targets.csv /
evidence.csv export it: the policy's own words, how the threshold and deadline were read,
the measure and why, every observation of the measuring series (and of related context
series) with its publisher, kind, quote, link and reliability, the model and its
out-of-sample skill, how the probability was computed, and the caveats.

Pure: frames read by jobs.store.read in, frames out. The UI and the export both call it,
so a card and a file say the same thing.
"""
from __future__ import annotations

import pandas as pd

from forecast.frames import DATE, SERIES, TARGET_ID, TARGETS_EXPORT_COLUMNS
from jobs.store.schema import split_codes

# targets.csv: these follow TARGETS_EXPORT_COLUMNS (users' scripts read the first ones by position).
TARGETS_EVIDENCE_COLUMNS = [
    "policy_issuer", "policy_date", "policy_url", "policy_claim", "review_status", "encoding",
    "measure_reason", "bias", "missing_evidence", "related_series", "origin", "model", "skill",
    "skill_origins", "probability_basis", "caveats",
]
# observations.csv: these follow OBSERVATIONS_EXPORT_COLUMNS: what each number means and the
# source's own words.
OBSERVATIONS_EVIDENCE_COLUMNS = ["kind", "value_high", "source_url", "quote", "reliability"]
# evidence.csv: one row per target x observation of its measuring series (role `measure`)
# or of a related context series (role `related`: context, never a verdict).
EVIDENCE_EXPORT_COLUMNS = [
    TARGET_ID, "policy_id", "role", SERIES, DATE, "period", "kind", "value", "value_high",
    "publisher", "source", "source_url", "quote", "reliability", "note", "snapshot_sha256",
]
CLAIMS = {
    "official": "official: a published text",
    "claimed": "claimed: reported (by the press or the user), not a published text",
    "unofficial": "unofficial: a secondary source (a blog or an association's report)",
}
BIASES = {
    "over": "the proxy likely overstates the target's share",
    "under": "the proxy likely understates the target's share",
    "unknown": "the direction of the proxy's error is unknown",
}
BOUND_KINDS = ("lower_bound", "upper_bound", "range")
EVIDENCE_KINDS = {"observation": "an observed value", "exact": "an observed value",
                  "approximate": "an approximate observed value", "lower_bound": "a lower bound",
                  "upper_bound": "an upper bound", "range": "a range"}
LOW_RELIABILITY = ("low", "very_low")
# read.target_evidence's names -> the card's and targets.csv's (a policy's issuer and claim
# beside the target's own columns)
CARD_NAMES = {"issuer": "policy_issuer", "claim": "policy_claim", "date_precision": "policy_date_precision",
              "note": "target_note"}


def observations_with_evidence(exported: pd.DataFrame, observations: pd.DataFrame) -> pd.DataFrame:
    """observations.csv: OBSERVATIONS_EXPORT_COLUMNS + OBSERVATIONS_EVIDENCE_COLUMNS (one row
    per series and date, so the join adds columns and never rows)."""
    extra = observations[[SERIES, DATE, *OBSERVATIONS_EVIDENCE_COLUMNS]]
    return exported.merge(extra, on=[SERIES, DATE], how="left", validate="one_to_one")


def evidence_links(targets: pd.DataFrame) -> pd.DataFrame:
    """Per target (read.target_evidence), the series evidence.csv lists for it: its measuring
    series (role `measure`), then its related ones (`related`)."""
    links = [(row[TARGET_ID], row["policy_id"], role, key)
             for _, row in targets.iterrows()
             for role, keys in (("measure", [row[SERIES]] if isinstance(row[SERIES], str) else []),
                                ("related", split_codes(row["related_series"])))
             for key in keys]
    return pd.DataFrame(links, columns=[TARGET_ID, "policy_id", "role", SERIES])


def evidence_rows(targets: pd.DataFrame, observations: pd.DataFrame) -> pd.DataFrame:
    """evidence.csv: `targets` (read.target_evidence) x `observations`
    (read.observation_evidence), measuring series first, then related ones."""
    rows = evidence_links(targets).merge(observations, on=SERIES, how="inner")
    return rows[EVIDENCE_EXPORT_COLUMNS].reset_index(drop=True)


def _percent(value) -> str:
    return f"{value * 100:.4g} %"


def evidence_value(row) -> str | None:
    """The deciding observation as the source gave it (`9 %`, `~70 %`, `at least 30 %`,
    `16-19 %`), or None when the row has none."""
    value, kind = row.get("evidence_value"), row.get("evidence_kind")
    if value is None or pd.isna(value):
        return None
    if kind == "range" and pd.notna(row.get("evidence_value_high")):
        return f"{value * 100:.4g}-{_percent(row['evidence_value_high'])}"
    prefix = {"approximate": "~", "lower_bound": "at least ", "upper_bound": "at most "}.get(kind, "")
    return prefix + _percent(value)


def probability_basis(row) -> str:
    """How the status and probability were reached, in one sentence."""
    basis, status = row.get("basis"), row.get("status")
    when = row.get("evidence_period")
    if status in (None, "") or pd.isna(status):
        return "not assessed yet: run `domshare refresh`"
    if status == "no_data":
        if not isinstance(row.get(SERIES), str):
            return "no probability: no series measures this target"
        return "no probability: the measuring series has too few points to forecast and no observation decides it"
    model = row.get("model") if isinstance(row.get("model"), str) else None
    if basis == "forecast" or basis is None or pd.isna(basis):
        passed = " (the deadline passed without a deciding observation)" if status == "unobserved" else ""
        if pd.isna(row.get("probability_by_deadline")):
            why = ("the measuring series has too few points to forecast" if model is None
                   else "the forecast does not cover the deadline's period")
            return f"no probability: {why}{passed}"
        return (f"the share of the {model + ' ' if model else ''}forecast's sample paths at or above the "
                f"threshold in the deadline's period{passed}")
    own_kind = row.get("evidence_kind")  # the deciding row's kind: an "observation" may be approximate
    kind = EVIDENCE_KINDS.get(own_kind if own_kind in EVIDENCE_KINDS else basis, str(basis).replace("_", " "))
    value = evidence_value(row)
    side = "at or above" if status == "met" else "below"
    compared = (f" ({value}: {side} the {_percent(row['threshold'])} threshold)"
                if value and pd.notna(row.get("threshold")) else "")
    return f"decided by {kind}{' of ' + when if when else ''}{compared}, not by a forecast"


def caveats(row, observations: pd.DataFrame) -> list[str]:
    """What a reader must keep in mind about this target's answer."""
    out = []
    if row.get("origin") == "user":
        out.append("user-supplied target (from `domshare import-targets`, not curated)")
    if row.get("policy_claim") in ("claimed", "unofficial"):
        out.append(f"the target is {CLAIMS[row['policy_claim']]}")
    if row.get("measure") == "proxy":
        out.append(f"a proxy: {BIASES.get(row.get('bias') or 'unknown', BIASES['unknown'])}")
    skill = row.get("skill")
    if skill is not None and pd.notna(skill) and skill <= 0:
        out.append(f"the forecast does not beat the naive forecast out of sample (skill {skill:+.2f})")
    mine = observations[observations[SERIES] == row.get(SERIES)]
    low = int(mine["reliability"].isin(LOW_RELIABILITY).sum())
    if low:
        out.append(f"{low} of {len(mine)} observations are flagged low reliability")
    bounds = int(mine["kind"].isin(BOUND_KINDS).sum())
    if bounds:
        out.append(f"{bounds} of {len(mine)} observations are bounds or ranges, not values (never fitted)")
    for text in (row.get("series_caveat"), row.get("target_note")):
        if isinstance(text, str) and text.strip():
            out.append(text.strip())
    return out


def targets_with_evidence(assessed: pd.DataFrame, evidence: pd.DataFrame, run_series: pd.DataFrame | None,
                          observations: pd.DataFrame) -> pd.DataFrame:
    """The run's assessments (TARGETS_EXPORT_COLUMNS) joined with each target's evidence
    (read.target_evidence), its series' model and skill (`run_series`, None before any
    run), how the probability was computed and the caveats. targets.csv is its
    TARGETS_EXPORT_COLUMNS + TARGETS_EVIDENCE_COLUMNS."""
    evidence = evidence.rename(columns=CARD_NAMES)
    extra = evidence.drop(columns=[c for c in evidence.columns if c in assessed.columns and c != TARGET_ID])
    frame = assessed.merge(extra, on=TARGET_ID, how="left")
    skill = (run_series.set_index("series_key")[["model", "skill", "skill_origins"]]
             if run_series is not None and not run_series.empty else pd.DataFrame(columns=["model", "skill", "skill_origins"]))
    # float whichever series are read (a subset without a missing count would print 2, not 2.0)
    frame = frame.join(skill, on=SERIES).astype({"skill_origins": float})
    # The deciding observation's own period (a TOP500 list reads 2019-11, a year 2019).
    own = pd.DataFrame({SERIES: observations[SERIES], "evidence_date": pd.to_datetime(observations[DATE]),
                        "evidence_period": observations["period"], "evidence_value": observations["value"],
                        "evidence_value_high": observations["value_high"], "evidence_kind": observations["kind"]})
    frame = frame.assign(evidence_date=pd.to_datetime(frame["evidence_date"])).merge(
        own, on=[SERIES, "evidence_date"], how="left")
    frame["evidence_date"] = frame["evidence_date"].dt.date
    frame["probability_basis"] = [probability_basis(row) for _, row in frame.iterrows()]
    # each target's caveats from its own series' rows: one filter of every observation per
    # target took 2 s at 242 targets
    by_series = dict(tuple(observations.groupby(SERIES))) if not observations.empty else {}
    frame["caveats"] = ["; ".join(caveats(row, by_series.get(row[SERIES], observations.iloc[0:0])))
                        for _, row in frame.iterrows()]
    return frame
