"""Data & runs: sources and their pulls, the scheduler's jobs, forecast runs and what changed."""
from __future__ import annotations

import streamlit as st

from ui import common, queries, style

url = common.db_url()
st.title("Data and runs")
st.caption(f"Database: `{common.safe_url(url)}`")
stamp = common.load_stamp(url)
common.show_warnings(url, stamp)

DATETIME = dict(format="YYYY-MM-DD HH:mm")

st.subheader("Sources")
sources = queries.source_freshness(url, stamp)
if sources.empty:
    st.caption("No source snapshots or pulls recorded yet: `domshare init` loads the bundled data, "
               "`domshare pull` fetches the live sources.")
else:
    st.dataframe(
        sources[["source", "last_pull", "last_outcome", "next_run", "last_snapshot",
                 "newest_observation", "observations", "rows_added", "rows_changed", "last_success",
                 "error_kind", "error"]],
        hide_index=True, width="stretch", height="content",
        column_config={
            "last_pull": st.column_config.DatetimeColumn("last pull", **DATETIME),
            "last_outcome": "outcome", "rows_added": "rows added", "rows_changed": "rows changed",
            "error_kind": "error kind",
            "last_success": st.column_config.DatetimeColumn("last success", **DATETIME),
            "next_run": st.column_config.DatetimeColumn("next scheduled run", **DATETIME),
            "last_snapshot": st.column_config.DatetimeColumn("last snapshot", **DATETIME),
            "newest_observation": st.column_config.DateColumn("newest observation"),
            "error": st.column_config.TextColumn(width="large"),
        },
    )
    st.caption("Outcomes: *ok* = new or changed data stored, *unchanged* = same payload as before, "
               "*failed* = nothing changed (SourceUnavailable: try later; SourceChanged: the format "
               "drifted, a human must look; InvalidData: rows rejected).")

st.subheader("Scheduler")
jobs = queries.scheduled_jobs(url, stamp)
job_runs = queries.job_runs(url, stamp)
if jobs.empty and job_runs.empty:
    st.caption("No scheduler has run against this database yet (`domshare scheduler`, or "
               "`domshare up` which starts it).")
else:
    left, right = st.columns(2)
    left.markdown("**Scheduled jobs**")
    left.dataframe(jobs, hide_index=True, width="stretch",
                   column_config={"next_run": st.column_config.DatetimeColumn("next run", **DATETIME)})
    right.markdown("**Recent job runs**")
    right.dataframe(job_runs, hide_index=True, width="stretch",
                    column_config={"started_at": st.column_config.DatetimeColumn("started", **DATETIME),
                                   "finished_at": st.column_config.DatetimeColumn("finished", **DATETIME)})

st.subheader("Forecast runs")
runs = queries.runs(url, stamp)
if runs.empty:
    common.no_run_message()
    st.stop()
st.dataframe(
    runs[["id", "status", "started_at", "finished_at", "seconds", "trigger", "series_ok",
          "series_insufficient", "series_failed", "code_version", "seed", "error"]],
    hide_index=True, width="stretch",
    column_config={"started_at": st.column_config.DatetimeColumn("started", **DATETIME),
                   "finished_at": st.column_config.DatetimeColumn("finished", **DATETIME),
                   "series_ok": "series ok", "series_insufficient": "too little data",
                   "series_failed": "series failed"},
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
            probability_by_deadline_before=moved["probability_by_deadline_before"] * 100,
            probability_by_deadline=moved["probability_by_deadline"] * 100,
        )
        st.dataframe(
            table.style.map(style.status_cell_css, subset=["status_before", "status"]),
            hide_index=True, width="stretch",
            column_config={
                "target_id": "target", "status_before": f"status in #{previous}",
                "status": f"status in #{run_id}",
                "projected_date_before": st.column_config.DateColumn(f"projected in #{previous}", format="YYYY-MM"),
                "projected_date": st.column_config.DateColumn(f"projected in #{run_id}", format="YYYY-MM"),
                "probability_by_deadline_before": st.column_config.NumberColumn(f"probability #{previous}", format="%.0f%%"),
                "probability_by_deadline": st.column_config.NumberColumn(f"probability #{run_id}", format="%.0f%%"),
            },
        )

with st.expander(f"Per-series outcome of run #{run_id}"):
    outcome = queries.run_frames(url, run_id)["run_series"].drop(columns=["run_id"])
    st.dataframe(outcome, hide_index=True, width="stretch",
                 column_config={"error": st.column_config.TextColumn(width="large")})
