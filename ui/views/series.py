"""Series: one series' observations, forecast, crossings, targets, backtests and sources."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from forecast.frames import (
    CROSSING_STATUS, LATEST_ABOVE, MEDIAN_DATE, OBSERVED_DATE, P10_DATE, P90_DATE, PROBABILITY_BY_HORIZON,
    SERIES, THRESHOLD,
)
from ui import backtest_panel, charts, common, history_panels, periods, queries, style
from ui.outside_text import http_link, md

url = common.db_url()
stamp = common.load_stamp(url)
catalogue = queries.series_catalogue(url, stamp)
if catalogue.empty:
    st.title("Series")
    st.info("No series in the database yet: `domshare init` loads the bundled ones, "
            "`domshare import FILE.csv` adds your own.")
    st.stop()

# --- choosing: sector, then technology, then the series (the URL's ?series= preselects) ---
in_url = st.query_params.get("series")
wanted = in_url
if wanted not in set(catalogue["key"]):
    # No (valid) choice in the URL: open the domestic-share series that measures the most
    # targets, then the longest one; a one-point series is a poor first view.
    measured = queries.targets(url, stamp)["series"].value_counts()
    ranked = catalogue.assign(n_targets=catalogue["key"].map(measured).fillna(0),
                              domestic=catalogue["kind"] != "context")
    wanted = ranked.sort_values(["domestic", "n_targets", "n_obs"], ascending=False)["key"].iloc[0]
preset = catalogue[catalogue["key"] == wanted].iloc[0]
ALL = "(any)"


def _index(options: list, value) -> int:
    return options.index(value) if value in options else 0


with st.container(horizontal=True):
    sectors = [ALL] + sorted(catalogue["sector_name"].unique())
    # Narrow pickers for sector and technology: the series title needs the room.
    sector = st.selectbox("Sector", sectors, key="pick-sector", width=220,
                          index=_index(sectors, preset["sector_name"]))
    in_sector = catalogue if sector == ALL else catalogue[catalogue["sector_name"] == sector]
    technologies = [ALL] + sorted(in_sector["technology_name"].unique())
    technology = st.selectbox("Technology", technologies, key="pick-technology", width=220,
                              index=_index(technologies, preset["technology_name"]))
    choices = in_sector if technology == ALL else in_sector[in_sector["technology_name"] == technology]
    labels = {
        # The name first: a long prefix would leave only "Context indicato…" in the box.
        row.key: (f"{row.title} (context indicator, not a domestic share)" if row.kind == "context"
                  else row.title)
        for row in choices.itertuples()
    }
    keys = list(labels)
    key = st.selectbox("Series", keys, format_func=labels.get, key="pick-series",
                       index=_index(keys, wanted))
if key != in_url:
    st.query_params["series"] = key  # a shareable URL for this view
meta = catalogue[catalogue["key"] == key].iloc[0].to_dict()
is_context = meta["kind"] == "context"
# The observations' own period type first: a TOP500 list reads 2016-06, as in its table, not 2016-H1.
period = meta["period_type"] if isinstance(meta["period_type"], str) else periods.period_of(meta["frequency"])

st.title(md(meta["title"]))
st.caption(f"Sector **{md(meta['sector_name'])}** · technology **{md(meta['technology_name'])}** · "
           f"{periods.frequency_label(meta['frequency'])} · {meta['n_obs']} observations · source: {md(meta['source'])} · "
           f"key `{key}`")
if is_context:
    st.info("This is a **context indicator**, not a domestic share: it is drawn on its own axis "
            f"in its own unit ({meta['unit']}) and is not forecast or compared with targets.", icon=":material/info:")
if meta.get("caveat"):
    st.warning(f"Caveat: {md(meta['caveat'])}", icon=":material/warning:")
if meta.get("description"):
    with st.expander("About this series"):
        st.text(meta["description"])

common.show_warnings(url, stamp)

# --- the run's results for this series (its rows only, rounded as the CSVs are) ---
observations = queries.observations(url, key, stamp)
frames = queries.series_run(url, key, stamp.run_id)
forecast, crossings = frames["forecasts"].copy(), frames["crossings"].copy()
# Targets with the run's assessment, or unassessed before the first run (never "none uses it").
targets = queries.targets(url, stamp)
targets = targets[targets[SERIES] == key].copy()
run_status = None
if stamp.run_id is None:
    common.no_run_message()
elif not is_context:
    outcome = frames["run_series"]
    run_status = outcome.iloc[0].to_dict() if not outcome.empty else None
    if run_status is None:
        st.info(f"Run #{stamp.run_id} did not include this series (added after the run?). "
                "Run `domshare refresh` to forecast it.")
    elif run_status["status"] == "insufficient_data":
        bounds = observations["kind"].isin(["lower_bound", "upper_bound", "range"]).sum()
        st.info(f"Too few observations for a forecast ({md(run_status['error'] or run_status['n_obs'])}"
                + (f"; its {bounds} bound(s) or range(s) are evidence, never fitted" if bounds else "")
                + "): only the observed points are shown.")
    elif run_status["status"] == "failed":
        st.error(f"The forecast of this series failed in run #{stamp.run_id}: {md(run_status['error'])}")

st.plotly_chart(charts.series_chart(meta, observations, forecast, crossings, targets),
                width="stretch", key="series-chart")
if run_status is not None and run_status["status"] == "ok":  # how far to trust the bands, next to them
    skill = run_status.get("skill")
    if skill is None or pd.isna(skill):
        st.caption("This forecast's skill could not be measured out of sample (too few points for "
                   "held-out origins): its bands and crossing dates are the model's, untested against "
                   "what came next.")
    elif skill <= 0:
        st.warning(f"Out of sample this forecast is {'worse than' if skill < 0 else 'no better than'} the naive "
                   f"forecast (skill {skill:+.2f}, below): read its bands and projected crossings as weak evidence.",
                   icon=":material/warning:")

if not is_context:
    st.subheader("Threshold crossings")
    if crossings.empty:
        why = {"insufficient_data": "too few observations to forecast",
               "failed": "its forecast failed"}.get((run_status or {}).get("status"), "")
        if stamp.run_id is None:
            st.caption("No forecast run yet, so no crossings: `domshare refresh` computes them.")
        else:
            st.caption("No threshold of this series was reached in its observations, and there is no "
                       f"forecast to project one ({why})." if why == "too few observations to forecast" else
                       "No crossings computed for this series in the latest run" + (f" ({why})." if why else "."))
    else:
        st.dataframe(
            pd.DataFrame({
                "threshold": crossings[THRESHOLD] * 100,
                "status": crossings[CROSSING_STATUS].str.replace("_", " "),
                "first observed": periods.texts(crossings[OBSERVED_DATE], period),
                "latest evidence": crossings[LATEST_ABOVE].map(
                    lambda above: periods.MISSING if pd.isna(above) else "still above" if above else "below again"),
                "median date": periods.texts(crossings[MEDIAN_DATE], period),
                "10% date": periods.texts(crossings[P10_DATE], period),
                "90% date": periods.texts(crossings[P90_DATE], period),
                "probability within horizon": common.number_text(crossings[PROBABILITY_BY_HORIZON]),
            }).sort_values("threshold").style.format("{:.0f}%", subset=["threshold"]),
            hide_index=True, width="stretch",
            column_config={"probability within horizon": st.column_config.TextColumn(alignment="right")},
        )
        st.caption("Projected dates come from the forecast's sample paths: the median first "
                   "date at or above the threshold, and the 10th–90th percentile range. A dash as the "
                   "90% date means more than 10% of paths do not cross before the horizon. *Latest "
                   "evidence*: whether the newest deciding observation is still at or above a threshold "
                   "reached once; *below again*, the probability is that of getting back to it.")
    st.subheader("Targets measured by this series")
    if targets.empty:
        st.caption("No policy target uses this series.")
    else:
        table = pd.DataFrame({
            "status": targets["status"].map(style.status_label),
            "deadline": pd.to_datetime(targets["deadline"]),
            "threshold": targets["threshold"] * 100,
            "probability": common.number_text(targets["probability_by_deadline"]),
            "projected crossing": periods.texts(targets["projected_date"], period),
            "measure": common.text(targets["measure"]),
            "target": targets["target_id"],
            "policy": targets["policy_id"] + " · " + targets["policy_title"],
        })
        st.dataframe(table.style.map(style.status_cell_css, subset=["status"])
                     .format("{:.0f}%", subset=["threshold"]),
                     hide_index=True, width="stretch",
                     column_config={"probability": st.column_config.TextColumn(
                                        "P(met)", alignment="right",
                                        help="probability of reaching the threshold by the deadline"),
                                    "deadline": st.column_config.DateColumn(format="YYYY-MM-DD"),
                                    "policy": st.column_config.TextColumn(width="large")})
        # Several targets of one policy share a marker on the chart: spell out every title once.
        titles = targets.drop_duplicates("policy_id").sort_values("policy_id")
        st.caption("Policies: " + "; ".join(f"**{md(r.policy_id)}** {md(r.policy_title)}" for r in titles.itertuples()))
        history_panels.show_history(url, stamp, targets["target_id"].tolist(), key="series-history")

    st.subheader("Backtest: how the model was chosen")
    scores = frames["backtest"] if stamp.run_id is not None else pd.DataFrame()
    if scores.empty:
        st.caption("No forecast run yet: `domshare refresh` scores the models." if stamp.run_id is None
                   else "No backtest scores for this series: too few observations for rolling origins.")
    else:
        backtest_panel.show(scores, run_status)

st.subheader("Sources of the observations")
sources = queries.observation_sources(observations, period)
if sources.empty:
    st.caption("No observations.")
else:
    st.dataframe(sources, hide_index=True, width="stretch",
                 column_config={"link": st.column_config.LinkColumn("link", width="medium"),
                                "fetched": "snapshot date", "sha256": "snapshot sha256"})
if not observations.empty:
    table = common.observation_table(observations.assign(publisher=meta.get("publisher")))
    low = table["reliability"].ne("").sum()
    st.markdown(f"**Every observation, with its source's words** ({len(table)}"
                + (f"; ⚠ {low} flagged low reliability" if low else "") + ")")
    st.dataframe(table.iloc[::-1], hide_index=True, width="stretch", key="observation-table",
                 height="content" if len(table) <= 12 else 35 * 13 + 3,
                 column_config=common.OBSERVATION_COLUMN_CONFIG)
    st.caption("Newest first. A value is given as the source gave it: ~ approximate, ≥ a lower bound, "
               "≤ an upper bound, low–high a range. Bounds and ranges are drawn as triangles and bars "
               "and are never fitted; they decide a target only when they prove it reached or not.")
if http_link(meta.get("source_url")):
    st.markdown(f"Series source: [{md(meta['source'])}]({meta['source_url']})")
elif meta.get("source_url"):
    st.markdown(f"Series source: {md(meta['source'])} ({md(meta['source_url'])})")

st.subheader("Downloads")
scope = st.radio("Files", ["this series", "everything"], horizontal=True, key="download-scope",
                 label_visibility="collapsed")
common.download_buttons(url, stamp, [key] if scope == "this series" else None,
                        key if scope == "this series" else "all", "series")
