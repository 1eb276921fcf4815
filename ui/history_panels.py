"""Streamlit pieces of the forecast history, each placed on a page with one call: the "as
of" run picker and the change columns (overview), a target's history chart (series page,
evidence card) and the unreviewed target proposals (Policies)."""
from __future__ import annotations

import dataclasses

import pandas as pd
import streamlit as st

from ui import common, queries, style
from ui.history import change_text, history_chart
from ui.outside_text import md

CHANGE_PREVIOUS, CHANGE_30D = "Δ last run", "Δ 30 days"
LATEST = "latest"


def as_of(url: str, stamp: queries.Stamp) -> queries.Stamp:
    """A picker of the complete runs (latest first); the stamp of the picked run, so the page
    below shows everything as it stood after that run."""
    if stamp.run_id is None:
        return stamp
    runs = queries.complete_runs(url, stamp.run_id).iloc[::-1]
    if len(runs) < 2:
        return stamp
    # "latest" is an option of its own, so the page follows each new run unless a run is picked
    labels = {LATEST: f"latest run (#{stamp.run_id})"}
    labels.update({int(r.id): f"run #{r.id} · {pd.Timestamp(r.finished_at):%Y-%m-%d %H:%M}"
                   for r in runs.iloc[1:].itertuples()})
    picked = st.selectbox("As of", list(labels), format_func=labels.get, key="as-of", width=300,
                          help="show the overview as it stood after an earlier forecast run")
    if picked == LATEST:
        return stamp
    st.info(f"Showing the targets as they stood after **run #{picked}**, not the latest run "
            f"(#{stamp.run_id}). Pick the latest run to return.", icon=":material/history:")
    return dataclasses.replace(stamp, run_id=picked)


def with_changes(table: pd.DataFrame, shown: pd.DataFrame, url: str, stamp: queries.Stamp,
                 after: str = "policy") -> pd.DataFrame:
    """`table` (rows aligned with `shown`, which has target_id) with the probability change
    since the previous complete run and since 30 days ago, after column `after`."""
    if stamp.run_id is None:
        return table
    changes = queries.target_changes(url, stamp.run_id).set_index("target_id")
    at = list(table.columns).index(after) + 1
    table = table.copy()
    for offset, (name, column) in enumerate(((CHANGE_PREVIOUS, "probability_change"),
                                             (CHANGE_30D, "probability_change_30d"))):
        table.insert(at + offset, name, change_text(shown["target_id"].map(changes[column])).to_numpy())
    return table


CHANGE_COLUMNS = {
    CHANGE_PREVIOUS: st.column_config.TextColumn(
        width="small", alignment="right",
        help="change of P(met) since the previous complete run, in percentage points"),
    CHANGE_30D: st.column_config.TextColumn(
        width="small", alignment="right",
        help="change of P(met) since the newest run finished at least 30 days earlier"),
}


def show_history(url: str, stamp: queries.Stamp, target_ids: list[str], key: str = "history") -> None:
    """A target's probability and projected crossing over the complete runs (a picker when
    there are several targets)."""
    st.subheader("Forecast history")
    if stamp.run_id is None or not target_ids:
        st.caption("The history starts with the first `domshare refresh`.")
        return
    target_id = target_ids[0] if len(target_ids) == 1 else st.selectbox(
        "Target", target_ids, key=f"{key}-target", width=300)
    history = queries.target_history(url, target_id, stamp.run_id)
    if history.empty:
        st.caption(f"No complete run has assessed {target_id} yet.")
        return
    if history["probability_by_deadline"].isna().all() and history["projected_date"].isna().all():
        statuses = ", ".join(sorted(set(history["status"].map(style.status_label))))
        st.caption(f"No complete run gave {md(target_id)} a probability or a projected crossing ({statuses} "
                   f"in {'each of the ' + str(len(history)) + ' runs' if len(history) > 1 else 'its one run'}), "
                   f"so there is nothing to chart. `domshare history --target {target_id}` prints the runs.")
        return
    st.plotly_chart(history_chart(history), width="stretch", key=f"{key}-chart")
    new = int(history["new_data"].sum())
    projected = "" if history["projected_date"].notna().any() else (
        " No run projected a crossing date for it (fewer than half of the paths cross by the "
        "horizon, or its observations decided it), so only the probability is drawn.")
    st.caption(f"{len(history)} complete run{'s' if len(history) != 1 else ''}, {new} with new data "
               "(filled markers): the probability and projected date as each run left them."
               f"{projected} `domshare history --target {target_id}` prints the same rows.")


def show_proposals(url: str) -> None:
    """The numeric targets found in feed items and not yet reviewed."""
    proposals = queries.target_proposals(url)
    st.subheader("Targets found in feed items (unreviewed)")
    if proposals.empty:
        st.caption("No unreviewed target proposals: numeric targets found in new feed items appear "
                   "here until `domshare targets review` accepts or rejects them.")
        return
    st.dataframe(pd.DataFrame({
        "id": proposals["id"],
        "review": "⚠ unreviewed",
        "share": proposals["threshold"] * 100,
        "deadline": pd.to_datetime(proposals["deadline"]),
        "sector": common.text(proposals["sector"]),
        "technology": common.text(proposals["technology"]),
        "sentence": proposals["sentence"],
        "feed item": proposals["policy_title"],
        "link": proposals["policy_url"],
    }), hide_index=True, width="stretch", key="proposals",
        column_config={"share": st.column_config.NumberColumn(format="%.0f%%", width="small"),
                       "deadline": st.column_config.DateColumn(format="YYYY-MM-DD", width="small"),
                       "sentence": st.column_config.TextColumn(width="large"),
                       "link": st.column_config.LinkColumn("source link")})
    st.caption("Read by the extractor from the item's text, not checked by a person: accept with "
               "`domshare targets review --accept ID` (into the targets, marked user-reviewed) or "
               "reject with `--reject ID`.")
