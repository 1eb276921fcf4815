"""Overview: every policy target, most urgent first, with its status and probability."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from ui import charts, common, history_panels, milestones, periods, queries, style
from ui.outside_text import md

ROW_HEIGHT = 35  # pixels; the browser test clicks a row by position
VISIBLE_ROWS = 15  # more targets scroll inside the table, so the details of a row stay close
url = common.db_url()
st.title("Is China meeting its localisation targets?")
st.caption("Forecasts of China's domestic-technology share by sector, against the official "
           "localisation targets. Data and forecasts come from the domshare store; this app only reads it.")
stamp = common.load_stamp(url)
stamp = history_panels.as_of(url, stamp)  # an earlier run's overview, when one is picked

runs = queries.runs(url, stamp)
if stamp.run_id is None:
    common.no_run_message()
else:
    run = runs[runs["id"] == stamp.run_id].iloc[0]
    st.caption(
        f"Latest forecast run **#{stamp.run_id}**, finished {common.when(run['finished_at'])}: "
        f"{run['series_ok']:,} series forecast, {run['series_insufficient']:,} with too little data, "
        f"{run['series_failed']:,} failed."
    )
common.show_warnings(url, stamp)

targets = queries.targets(url, stamp).copy()
if targets.empty:
    st.info("No policy targets in the database. `domshare init` loads the curated ones.")
    st.stop()

targets = common.most_urgent_first(targets)

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
    """direct / proxy / none, and for an unassessed target why it has no data: the evidence
    that is missing, or what became of its series in the run."""
    measure = row["measure"] if isinstance(row["measure"], str) and row["measure"] else "none"
    if measure == "none":
        missing = row["missing_evidence"]
        return f"none: {missing}" if isinstance(missing, str) and missing.strip() else "none"
    if row["status"] != "no_data":
        return measure
    outcome = outcomes.get(row["series"])
    if outcome is None:
        return f"{measure}: series not in the latest run"
    if outcome["status"] == "insufficient_data":
        if not outcome["n_obs"]:
            return f"{measure}: bounds only, no value to forecast"
        return f"{measure}: too few points ({outcome['n_obs']})"
    return f"{measure}: forecast {outcome['status']}"


outcomes = {}
if stamp.run_id is not None:
    outcomes = queries.run_outcomes(url, stamp.run_id).set_index("series_key").to_dict("index")
catalogue = queries.series_catalogue(url, stamp).set_index("key")
listed = shown.head(style.TARGET_ROWS)  # the most urgent; the chart and the downloads keep every one shown
# A projected crossing is a period of the measuring series: "2027" for an annual one.
period = listed["series"].map(catalogue["frequency"]).map(periods.period_of)
# The four columns a reader needs first (status, P(met), deadline, policy) come first, so they
# fit an 800 px screen; the rest scroll sideways.
table = pd.DataFrame({
    "status": listed["status"].map(style.status_label),
    "probability": common.number_text(listed["probability_by_deadline"]),
    "deadline": pd.to_datetime(listed["deadline"]),
    # sector / technology right after the id: one policy's many targets (P17's fourteen) stay
    # distinguishable on an 800 px screen, where the full column is off to the side
    "policy": listed["policy_id"] + " · " + listed["sector"].map(lambda c: sector_names.get(c, c)) + " / "
              + listed["technology"].map(lambda c: technology_names.get(c, c)) + " · " + listed["policy_title"]
              + listed["origin"].map({"user": " (user-supplied)"}).fillna(""),
    "evidence": "target?target=" + listed["target_id"],
    "threshold": listed["threshold"] * 100,
    "projected crossing": periods.texts(listed["projected_date"], period),
    "sector / technology": listed["sector"].map(lambda c: sector_names.get(c, c)) + " / "
                           + listed["technology"].map(lambda c: technology_names.get(c, c)),
    "measure": pd.Series([_measure(row, outcomes) for _, row in listed.iterrows()],
                         index=listed.index, dtype=object),
    "series": listed["series"].fillna(""),
    "target": listed["target_id"],
})
table = history_panels.with_changes(table, listed, url, stamp)  # Δ last run, Δ 30 days
st.caption(f"**{len(shown):,} target{'s' if len(shown) != 1 else ''}**"
           + (f" — **showing the {len(table):,} most urgent: filter by sector or status to narrow**"
              if len(table) < len(shown) else "")
           + (f" (the table scrolls after {VISIBLE_ROWS})" if len(table) > VISIBLE_ROWS else "") + ". "
           "Most urgent first: targets whose deadline is still ahead (off track, at risk, on "
           "track), then the open ones nothing forecasts, then those whose deadline has passed. "
           "**Select a row for the whole target, or open its evidence card.** A *proxy* measure is "
           "the same technology at another scope, not the target's own quantity; *none* means no "
           "series measures the target (and says what evidence is missing). P(met) is blank (—) "
           "where nothing is forecast.")
selection = st.dataframe(
    table.style.map(style.status_cell_css, subset=["status"]).format("{:.0f}%", subset=["threshold"]),
    hide_index=True, width="stretch", on_select="rerun",
    height="content" if len(table) <= VISIBLE_ROWS else ROW_HEIGHT * (VISIBLE_ROWS + 1) + 3,
    selection_mode="single-row", key="targets-table", row_height=ROW_HEIGHT,
    column_config={
        "status": st.column_config.TextColumn(width=90, pinned=True),  # fits "not assessed"
        "probability": st.column_config.TextColumn(
            "P(met)", width="small", alignment="right",
            help="probability of reaching the threshold by the deadline (— where nothing is forecast)"),
        "threshold": st.column_config.NumberColumn(width="small"),
        "deadline": st.column_config.DateColumn(format="YYYY-MM-DD", width="small"),
        "projected crossing": st.column_config.TextColumn(
            "projected", width="small", help="median period in which the forecast crosses the threshold"),
        "policy": st.column_config.TextColumn(width=280, help="policy id, the target's sector / technology, and the policy's title: select the row for the whole title"),
        "evidence": st.column_config.LinkColumn(
            width=70, display_text="card", help="the target's evidence card: the policy's words, the measure and "
                                                "why, every observation with its quote, the caveats"),
        "sector / technology": st.column_config.TextColumn(width="medium"),
        "measure": st.column_config.TextColumn(width="medium"),
        "series": st.column_config.TextColumn(width="small"),
        "target": st.column_config.TextColumn(width="small"),
        **history_panels.CHANGE_COLUMNS,
    },
)
rows = selection.selection.rows if selection else []
if rows:
    picked = table.iloc[rows[0]]
    target = listed.loc[picked.name]
    with st.container(border=True, key="target-details"):
        st.markdown(f"{style.badge(target['status'])} **{md(target['target_id'])}** · "
                    f"{md(picked['sector / technology'])}", unsafe_allow_html=True)
        st.markdown(f"**{md(target['policy_id'])} · {md(target['policy_title'])}**")
        facts = [f"Threshold **{target['threshold']:.0%}** by **{pd.Timestamp(target['deadline']):%Y-%m-%d}**",
                 "probability of meeting it: " + ("**—** (not forecast)" if pd.isna(target["probability_by_deadline"])
                                                   else f"**{target['probability_by_deadline']:.0%}**"),
                 f"projected crossing: **{picked['projected crossing']}**",
                 f"measure: {md(picked['measure'])}"]
        st.markdown(" · ".join(facts))
        if target["status"] in style.STATUS_MEANINGS:
            st.caption(f"{style.status_label(target['status'])}: {style.STATUS_MEANINGS[target['status']]}.")
        st.page_link("views/evidence.py", label=f"Open the evidence card of {target['target_id']}",
                     icon=":material/fact_check:", query_params={"target": target["target_id"]})
        if picked["series"]:
            st.page_link("views/series.py", label=f"Open the series chart: {catalogue['title'].get(picked['series'], picked['series'])}",
                         icon=":material/show_chart:", query_params={"series": picked["series"]})
        else:
            st.caption("No series measures this target: nothing to chart.")

with st.expander("What the statuses mean"):
    st.markdown("\n".join(f"- {style.badge(s)} {style.STATUS_MEANINGS[s]}" for s in style.URGENCY),
                unsafe_allow_html=True)

if stamp.run_id is not None and shown["probability_by_deadline"].notna().any():
    st.plotly_chart(charts.targets_chart(shown), width="stretch", key="targets-chart")
    if not shown["status"].isin(["on_track", "at_risk", "off_track"]).any():
        st.caption("No target whose deadline is still ahead has a probability here: their series "
                   "cannot be forecast (*no data*), so none sits between the on-track and off-track "
                   "lines. The points are targets already decided, or past deadlines without an "
                   "observation near them (*not observed*: the forecast's probability).")

st.subheader("Where each technology is heading")
if stamp.run_id is None:
    st.caption("The milestones appear after the first `domshare refresh`.")
else:
    kinds = catalogue["kind"].to_dict()  # a dict: 2,000 .loc lookups took 50 ms of every rerun
    forecast_series = [k for k, o in outcomes.items() if o["status"] == "ok" and kinds.get(k) == "domestic_share"]
    ordered, find = milestones.series_order(catalogue, forecast_series, technology_names), ""
    if len(ordered) > style.MILESTONE_ROWS:
        find = st.text_input("Find a series", key="milestones-find", width=320,
                             placeholder="part of a title, key or technology")
        ordered = milestones.matching(ordered, find)
    heading = milestones.milestone_table(queries.run_crossings(url, stamp.run_id), catalogue,
                                         list(ordered["key"][:style.MILESTONE_ROWS]), technology_names,
                                         {k: o["skill"] for k, o in outcomes.items()})
    # the chart link right after the milestones, so it is on screen without scrolling sideways
    heading.insert(heading.columns.get_loc("skill vs naive"), "chart", "series?series=" + heading.pop("key"))
    with st.container(key="milestones"):
        st.dataframe(heading, hide_index=True, width="stretch",
                     column_config={"series": st.column_config.TextColumn(width=300),
                                    "skill vs naive": st.column_config.TextColumn(
                                        help="the forecast's out-of-sample skill, 1 - CRPS / naive's CRPS on "
                                             "held-out origins: below 0 its chances are worse than repeating "
                                             "the last value"),
                                    "chart": st.column_config.LinkColumn(width=60, display_text="chart")})
    if len(heading) < len(forecast_series):
        st.caption(f"**Showing {len(heading):,} of {len(ordered):,} forecast series"
                   + (f" matching “{md(find)}” ({len(forecast_series):,} in all)" if find.strip() else "")
                   + "**, by technology then title: type part of a title, key "
                   "or technology in *Find a series* to narrow; every series' numbers are in `crossings.csv`.")
    st.caption("Every forecast domestic-share series, with or without an official target: for each "
               "milestone share, when it was first reached, or the probability that the forecast "
               "reaches it by the end of 2027 and of 2030 and the median period it does (*now below*: "
               "reached once, below at the latest evidence), with the forecast's out-of-sample skill "
               "against the naive forecast: weigh the chances of a forecast worse than naive, or not "
               "measured, accordingly. The numbers are in `crossings.csv`.")

st.subheader("Data freshness")
pulled, files = queries.source_freshness(url, stamp), queries.file_sources(url, stamp)
if pulled.empty and files.empty:
    st.caption("No source snapshots recorded yet.")
else:
    # an empty part is left out of the concat (pandas warns it would decide no dtypes) but
    # its columns are kept
    columns = list(dict.fromkeys([*files.columns, *pulled.columns, "how"]))
    parts = [f.assign(how=how) for f, how in ((files, "file"), (pulled, "scheduled pull")) if not f.empty]
    both = pd.concat(parts, ignore_index=True).reindex(columns=columns)
    shown_sources = common.sources_table(both, ["source", "newest observation", "observations",
                                                "last pull", "outcome"])
    shown_sources.insert(1, "loaded by", both["how"].map({"file": "domshare init / import",
                                                          "scheduled pull": "pull"}))
    shown_sources.loc[both["how"] == "file", "last pull"] = periods.MISSING
    st.dataframe(shown_sources, hide_index=True, width="stretch", key="freshness",
                 column_config={"observations": st.column_config.NumberColumn(format="localized")})
    st.caption("*Newest observation* is the latest period a source covers. Sources loaded from the "
               "bundled files by `domshare init` change only when it runs again; pulled sources are "
               "fetched by `domshare pull` or the scheduler (details on *Data & runs*).")

st.subheader("Downloads")
if stamp.run_id is None:
    st.caption("The forecast files appear after the first `domshare refresh`.")
filtered = len(shown) < len(targets)
if filtered:
    scope = st.radio("Files", ["the series of the targets shown", "everything"], horizontal=True,
                     key="download-scope", label_visibility="collapsed")
    filtered = scope != "everything"
keys = sorted(shown["series"].dropna().unique()) if filtered else None
st.caption("The same files `domshare export` writes" +
           (", filtered to the series of the targets shown above." if filtered else ", whole."))
common.download_buttons(url, stamp, keys, "filtered" if filtered else "all", "overview")
