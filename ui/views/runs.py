"""Data & runs: sources and their pulls, the scheduler's jobs, forecast runs and what changed."""
from __future__ import annotations

import streamlit as st

from jobs.store.db import shown_url
from ui import common, periods, queries, style

url = common.db_url()
st.title("Data and runs")
st.caption(f"Database: `{shown_url(url)}`")
stamp = common.load_stamp(url)
common.show_warnings(url, stamp)

DATETIME = dict(format="YYYY-MM-DD HH:mm")

st.subheader("Scheduled pulls")
sources = queries.source_freshness(url, stamp)
if sources.empty:
    st.caption("No source has been pulled or scheduled yet: `domshare pull` fetches the live sources "
               "(and `domshare up` schedules them); then this table lists each pull's outcome, rows "
               "added or changed, errors and the next scheduled run.")
else:
    st.dataframe(common.sources_table(sources, [
        "source", "last pull", "outcome", "next scheduled run", "last success", "newest observation",
        "observations", "rows added", "rows changed", "error kind", "error"]),
        hide_index=True, width="stretch", height="content",
        column_config={"error": st.column_config.TextColumn(width="medium")}, key="pulled-sources")
    st.caption("Times in UTC. *never* pulled: scheduled, not run yet. "
               "Outcomes: *ok* = new or changed data stored, *unchanged* = same payload as before, "
               "*failed* = nothing changed (SourceUnavailable: try later; SourceChanged: the format "
               "drifted, a human must look; InvalidData: rows rejected).")

st.subheader("Loaded from files")
files = queries.file_sources(url, stamp)
if files.empty:
    st.caption("No file loaded: `domshare init` loads the bundled data.")
else:
    st.dataframe(common.sources_table(files, ["source", "files", "observations", "newest observation", "loaded"]),
                 hide_index=True, width="stretch", height="content", key="file-sources")
    st.caption("The bundled files `domshare init` loads (each kept as a snapshot with its sha256) and "
               "the files of `domshare import` / `domshare import-targets`. They change only when "
               "those commands run again; the scheduled pulls above keep the live sources current.")

st.subheader("Scheduler")
jobs = queries.scheduled_jobs(url, stamp)
job_runs = queries.job_runs(url, stamp)
if jobs.empty and job_runs.empty:
    st.caption("No scheduler has run against this database yet (`domshare scheduler`, or "
               "`domshare up` which starts it).")
else:
    left, right = st.columns(2)
    left.markdown("**Scheduled jobs**")
    # APScheduler stores no next run time for a paused job.
    left.dataframe(jobs.assign(next_run=common.time_text(jobs["next_run"], missing="paused")),
                   hide_index=True, width="stretch", column_config={"next_run": "next run (UTC)"})
    right.markdown("**Recent job runs**")
    if job_runs.empty:
        right.caption("No job has run yet: each runs at its next run time on the left.")
    else:
        right.dataframe(job_runs.assign(error=common.text(job_runs["error"], missing="")), hide_index=True,
                        width="stretch",
                        column_config={"started_at": st.column_config.DatetimeColumn("started", **DATETIME),
                                       "finished_at": st.column_config.DatetimeColumn("finished", **DATETIME)})

st.subheader("Forecast runs")
# null for runs made before schema 0005 / 0007 / 0008 recorded them
NEWER_COUNTS = ("series_refitted", "series_choice_reused", "series_posterior_updated", "series_carried")
runs = queries.runs(url, stamp)
if runs.empty:
    common.no_run_message()
    st.stop()
st.dataframe(
    runs[["id", "status", "started_at", "finished_at", "seconds", "trigger", "series_ok",
          "series_insufficient", "series_failed", "series_refitted", "series_choice_reused", "series_posterior_updated", "series_carried", "code_version",
          "seed"]]
    # counts a run made before their schema revision has none of: a dash, not "None"
    .assign(error=common.text(runs["error"], missing=""),
            **{c: common.number_text(runs[c], "{:.0f}") for c in NEWER_COUNTS}),
    hide_index=True, width="stretch",
    column_config={"id": st.column_config.NumberColumn("run", format="#%d"),
                   "started_at": st.column_config.DatetimeColumn("started", **DATETIME),
                   "finished_at": st.column_config.DatetimeColumn("finished", **DATETIME),
                   "series_ok": "series ok", "series_insufficient": "too little data",
                   "series_failed": "series failed",
                   "series_refitted": st.column_config.TextColumn("refitted", alignment="right"),
                   "series_choice_reused": st.column_config.TextColumn(
                       "of them choice reused", alignment="right",
                       help="refitted with their stored model choice: the final fit only, no new backtest "
                            "(their data changed)"),
                   "series_posterior_updated": st.column_config.TextColumn(
                       "of them posterior updated", alignment="right",
                       help="their stored Prophet posterior updated with the new observations by importance "
                            "sampling, no new NUTS chain"),
                   "series_carried": st.column_config.TextColumn(
                       "carried over", alignment="right",
                       help="unchanged since the run that fitted them: not refitted, re-assessed"),
                   "code_version": "code version",
                   "seed": st.column_config.NumberColumn("random seed", format="%d"),
                   "error": st.column_config.TextColumn(width="large")},
)

complete = runs[runs["status"] == "complete"]["id"].tolist()
if not complete:
    st.info("No run has completed yet.")
    st.stop()
st.subheader("What changed in a run")
run_id = st.selectbox("Run", complete, format_func=lambda i: f"#{i}" + (" (latest)" if i == stamp.run_id else ""),
                      key="diff-run")
earlier = [i for i in complete if i < run_id]
if not earlier:
    st.caption(f"Run #{run_id} is the first complete run: nothing to compare it with.")
else:
    previous = max(earlier)
    moved = queries.run_diff(url, run_id, previous)
    if moved.empty:
        st.success(f"No target changed status or projected date between run #{previous} and #{run_id}.")
    else:
        st.markdown(f"**{len(moved)} target(s)** changed status or projected date since run #{previous}:")
        table = moved.assign(
            status_before=moved["status_before"].map(style.status_label),
            status=moved["status"].map(style.status_label),
            probability_by_deadline_before=common.number_text(moved["probability_by_deadline_before"]),
            probability_by_deadline=common.number_text(moved["probability_by_deadline"]),
            projected_date_before=periods.texts(moved["projected_date_before"], "month"),
            projected_date=periods.texts(moved["projected_date"], "month"),
        )
        st.dataframe(
            table.style.map(style.status_cell_css, subset=["status_before", "status"]),
            hide_index=True, width="stretch",
            column_config={
                "target_id": "target", "status_before": f"status in #{previous}",
                "status": f"status in #{run_id}",
                "projected_date_before": f"projected in #{previous}",
                "projected_date": f"projected in #{run_id}",
                "probability_by_deadline_before": st.column_config.TextColumn(f"P(met) in #{previous}", alignment="right"),
                "probability_by_deadline": st.column_config.TextColumn(f"P(met) in #{run_id}", alignment="right"),
            },
        )

with st.expander(f"Per-series outcome of run #{run_id}"):
    outcome = queries.run_outcomes(url, run_id).drop(columns=["run_id"])
    frequency = outcome["series_key"].map(queries.series_catalogue(url, stamp).set_index("key")["frequency"])
    outcome = outcome.assign(last_obs_date=periods.texts(outcome["last_obs_date"], frequency.map(periods.period_of)),
                             seconds=outcome["seconds"].round(2))
    outcome = outcome.assign(**{c: common.text(outcome[c], missing="") for c in ("model", "error")})
    st.dataframe(outcome, hide_index=True, width="stretch",
                 column_config={"series_key": "series", "n_obs": "observations",
                                "last_obs_date": "last observation",
                                "results_run_id": "fitted in run",  # an earlier one: carried over unchanged
                                "input_hash": "input hash",
                                "error": st.column_config.TextColumn(width="large")})
