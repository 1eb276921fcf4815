"""Overview: every policy target, most urgent first, with its status and probability."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from ui import charts, common, queries, style

ROW_HEIGHT = 35  # pixels; the browser test clicks a row by position
url = common.db_url()
st.title("Is China meeting its localisation targets?")
stamp = common.load_stamp(url)

runs = queries.runs(url, stamp)
if stamp.run_id is None:
    common.no_run_message()
else:
    run = runs[runs["id"] == stamp.run_id].iloc[0]
    st.caption(
        f"Latest forecast run **#{stamp.run_id}**, finished {common.when(run['finished_at'])}: "
        f"{run['series_ok']} series forecast, {run['series_insufficient']} with too little data, "
        f"{run['series_failed']} failed."
    )
common.show_warnings(url, stamp)

targets = queries.targets(url, stamp).copy()
if targets.empty:
    st.info("No policy targets in the database. `domshare init` loads the curated ones.")
    st.stop()

# Most urgent first: targets whose deadline is still ahead, the likeliest misses first;
# then those whose deadline has passed.
targets["closed"] = pd.to_datetime(targets["deadline"]) < pd.Timestamp.now().normalize()
targets["urgency"] = targets["status"].map(style.URGENCY).fillna(len(style.URGENCY))
targets = targets.sort_values(["closed", "urgency", "deadline", "probability_by_deadline"],
                              na_position="last").reset_index(drop=True)

# Status counts, each in its own colour: the page's headline.
counts = targets["status"].fillna("").value_counts()
st.markdown(
    " ".join(f"{style.badge(s)} **{int(counts.get(s, 0))}**" for s in style.URGENCY
             if counts.get(s, 0)) or "No target assessed yet.",
    unsafe_allow_html=True,
)

sector_names, technology_names = queries.codes(url, stamp)
with st.container(horizontal=True):
    pick_sectors = st.multiselect("Sector", sorted(targets["sector"].unique(), key=lambda c: sector_names.get(c, c)),
                                  format_func=lambda c: sector_names.get(c, c), placeholder="all sectors")
    pick_statuses = st.multiselect("Status", [s for s in style.URGENCY if s in counts],
                                   format_func=style.status_label, placeholder="all statuses")
shown = targets
if pick_sectors:
    shown = shown[shown["sector"].isin(pick_sectors)]
if pick_statuses:
    shown = shown[shown["status"].isin(pick_statuses)]


def _measure(row, outcomes: dict) -> str:
    """direct / proxy / none, and for an unassessed target with a series, why it has no data."""
    measure = row["measure"] if isinstance(row["measure"], str) and row["measure"] else "none"
    if row["status"] != "no_data" or measure == "none":
        return measure
    outcome = outcomes.get(row["series"])
    if outcome is None:
        return f"{measure}: series not in the latest run"
    if outcome["status"] == "insufficient_data":
        return f"{measure}: too few points ({outcome['n_obs']})"
    return f"{measure}: forecast {outcome['status']}"


outcomes = {}
if stamp.run_id is not None:
    outcomes = queries.run_frames(url, stamp.run_id)["run_series"].set_index("series_key").to_dict("index")
table = pd.DataFrame({
    "status": shown["status"].map(style.status_label),
    "policy": shown["policy_id"] + " · " + shown["policy_title"],
    "deadline": pd.to_datetime(shown["deadline"]),
    "threshold": shown["threshold"] * 100,
    "probability": shown["probability_by_deadline"] * 100,
    "projected crossing": common.month_text(shown["projected_date"]),
    "sector / technology": shown["sector"].map(lambda c: sector_names.get(c, c)) + " / "
                           + shown["technology"].map(lambda c: technology_names.get(c, c)),
    "measure": pd.Series([_measure(row, outcomes) for _, row in shown.iterrows()],
                         index=shown.index, dtype=object),
    "series": shown["series"].fillna(""),
    "target": shown["target_id"],
})
st.caption("Most urgent first: targets whose deadline is still ahead (off track, at risk, on "
           "track, no data), then those whose deadline has passed. **Select a row to open its series.** "
           "A *proxy* measure is a related series, not the target's own quantity; *none* means no "
           "series measures the target.")
selection = st.dataframe(
    table.style.map(style.status_cell_css, subset=["status"])
    .format("{:.0f}%", na_rep="—", subset=["probability"]),
    hide_index=True, width="stretch", height="content", on_select="rerun",
    selection_mode="single-row", key="targets-table", row_height=ROW_HEIGHT,
    column_config={
        "status": st.column_config.TextColumn(width="small"),
        "deadline": st.column_config.DateColumn(format="YYYY-MM-DD", width="small"),
        "threshold": st.column_config.NumberColumn(format="%.0f%%", width="small"),
        "probability": st.column_config.NumberColumn(
            "P(met)", format="%.0f%%", width="small",
            help="probability of reaching the threshold by the deadline"),
        "projected crossing": st.column_config.TextColumn(
            "projected", width="small", help="median date the forecast crosses the threshold"),
        "policy": st.column_config.TextColumn(width="medium", help="policy id and title (hover for the whole title)"),
        "sector / technology": st.column_config.TextColumn(width="medium"),
        "measure": st.column_config.TextColumn(width="medium"),
    },
)
rows = selection.selection.rows if selection else []
if rows:
    key = table.iloc[rows[0]]["series"]
    if key:
        st.switch_page("views/series.py", query_params={"series": key})
    st.info(f"Target {table.iloc[rows[0]]['target']} has no measuring series: nothing to chart.")

with st.expander("What the statuses mean"):
    st.markdown("\n".join(f"- {style.badge(s)} {style.STATUS_MEANINGS[s]}" for s in style.URGENCY),
                unsafe_allow_html=True)

if stamp.run_id is not None and shown["probability_by_deadline"].notna().any():
    st.plotly_chart(charts.targets_chart(shown), width="stretch", key="targets-chart")

st.subheader("Data freshness")
sources = queries.source_freshness(url, stamp)
if sources.empty:
    st.caption("No source snapshots recorded yet.")
else:
    st.dataframe(sources[["source", "last_snapshot", "newest_observation", "observations",
                          "last_pull", "last_outcome"]],
                 hide_index=True, width="stretch",
                 column_config={"last_snapshot": st.column_config.DatetimeColumn("last snapshot", format="YYYY-MM-DD HH:mm"),
                                "newest_observation": st.column_config.DateColumn("newest observation"),
                                "last_pull": st.column_config.DatetimeColumn("last pull", format="YYYY-MM-DD HH:mm"),
                                "last_outcome": "last pull outcome"})

st.subheader("Downloads")
if stamp.run_id is None:
    st.caption("The forecast files appear after the first `domshare refresh`.")
frames = queries.export_frames(url, stamp)
filtered = len(shown) < len(targets)
if filtered:
    scope = st.radio("Files", ["the series of the targets shown", "everything"], horizontal=True,
                     key="download-scope", label_visibility="collapsed")
    filtered = scope != "everything"
keys = sorted(shown["series"].dropna().unique()) if filtered else None
st.caption("The same files `domshare export` writes" +
           (", filtered to the series of the targets shown above." if filtered else ", whole."))
common.download_buttons(frames, keys, "filtered" if filtered else "all", "overview")
