"""The milestone table, "where each technology is heading": every forecast domestic-share
series with, for 50 %, 75 % and 90 %, when it was reached or how likely it is to be by the
end of 2027 and of 2030, and the projected (median) crossing period. Pure: crossings.csv
and the catalogue in, a table of text cells out (the numbers are in crossings.csv)."""
from __future__ import annotations

import pandas as pd

from forecast.frames import (
    CROSSING_STATUS, LATEST_ABOVE, MEDIAN_DATE, OBSERVED_DATE, PROBABILITY_BY_2027, PROBABILITY_BY_2030,
    SERIES, THRESHOLD,
)
from ui import periods, style

MILESTONES = (0.5, 0.75, 0.9)
REACHED = ("crossed", "above_since_first")


def cell(row, period: str | None) -> str:
    """One series x threshold: 'reached 2015-05', 'reached 2020-12, now below · 32% by 2027 ·
    45% by 2030', or '5% by 2027 · 20% by 2030 · median 2031-02'."""
    chances = f"{row[PROBABILITY_BY_2027]:.0%} by 2027 · {row[PROBABILITY_BY_2030]:.0%} by 2030" \
        if pd.notna(row[PROBABILITY_BY_2027]) and pd.notna(row[PROBABILITY_BY_2030]) else ""
    if row[CROSSING_STATUS] in REACHED:
        reached = f"reached {periods.one(row[OBSERVED_DATE], period)}"
        if row[LATEST_ABOVE] is True or row[LATEST_ABOVE] == 1:
            return reached
        return f"{reached}, now below" + (f" · {chances}" if chances else "")
    median = f" · median {periods.one(row[MEDIAN_DATE], period)}" if pd.notna(row[MEDIAN_DATE]) else ""
    return (chances or "no forecast") + median


def series_order(catalogue: pd.DataFrame, forecast_series: list[str], technology_names: dict[str, str]) -> pd.DataFrame:
    """The forecast series (catalogue indexed by key) in the table's order: by technology name,
    then title (key, series, technology)."""
    meta = catalogue.loc[list(forecast_series)]
    return pd.DataFrame({"key": meta.index, "series": meta["title"].to_numpy(),
                         "technology": meta["technology"].map(lambda c: technology_names.get(c, c)).to_numpy()}
                        ).sort_values(["technology", "series"]).reset_index(drop=True)


def matching(ordered: pd.DataFrame, text: str | None) -> pd.DataFrame:
    """The rows of `series_order` whose title, key or technology contains `text` (any case)."""
    text = (text or "").strip().casefold()
    if not text:
        return ordered
    found = ordered[["key", "series", "technology"]].apply(lambda c: c.str.casefold().str.contains(text, regex=False))
    return ordered[found.any(axis=1)].reset_index(drop=True)


def skill_cell(skill) -> str:
    """How far to trust a row's chances: the forecast's out-of-sample skill against naive."""
    if skill is None or pd.isna(skill):
        return "not measured (too few points)"
    return f"{skill:+.2f} ({style.skill_verdict(skill)})"


def milestone_table(crossings: pd.DataFrame, catalogue: pd.DataFrame, forecast_series: list[str],
                    technology_names: dict[str, str], skills: dict | None = None) -> pd.DataFrame:
    """One row per forecast series (`forecast_series`, catalogue indexed by key), a text
    column per milestone and the forecast's out-of-sample skill (`skills`: key -> skill);
    ordered by technology, then series title."""
    wanted = crossings[crossings[SERIES].isin(forecast_series) & crossings[THRESHOLD].isin(MILESTONES)]
    found = {(row[SERIES], row[THRESHOLD]): row for row in wanted.to_dict("records")}
    rows = []
    for key in forecast_series:
        meta = catalogue.loc[key]
        own = meta.get("period_type")  # a TOP500 list reads 2015-11, as on its series page
        period = own if isinstance(own, str) else periods.period_of(meta["frequency"])
        row = {"technology": technology_names.get(meta["technology"], meta["technology"]),
               "series": meta["title"], "key": key}
        for level in MILESTONES:
            crossing = found.get((key, level))
            row[f"{level:.0%}"] = cell(crossing, period) if crossing is not None else periods.MISSING
        row["skill vs naive"] = skill_cell((skills or {}).get(key))
        rows.append(row)
    # The milestones right after the series' name, so a narrow screen shows them first.
    columns = ["series", *(f"{m:.0%}" for m in MILESTONES), "skill vs naive", "technology", "key"]
    return pd.DataFrame(rows, columns=columns).sort_values(["technology", "series"]).reset_index(drop=True)
