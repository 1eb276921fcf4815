"""Evidence card: one target and everything behind its answer. `?target=ID` opens one
directly (the overview links each row here), so a card can be shared.

Outside text (titles, quotes, notes, reasons) is shown as plain text (st.text, tables, or
escaped), never as Markdown or HTML."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from forecast.frames import SERIES, TARGET_ID
from jobs import evidence
from jobs.store.schema import split_codes
from ui import charts, common, history_panels, periods, queries, style
from ui.outside_text import http_link, md

url = common.db_url()
stamp = common.load_stamp(url)
cards = queries.targets(url, stamp)
if cards.empty:
    st.title("Evidence")
    st.info("No policy targets in the database. `domshare init` loads the curated ones; "
            "`domshare import-targets FILE.csv` adds your own.")
    st.stop()

titles = dict(zip(cards[TARGET_ID], cards["policy_title"]))
ids = list(common.most_urgent_first(cards)[TARGET_ID])  # the overview's order: its first row first
in_url = st.query_params.get("target")
pick = st.selectbox("Target", ids, index=ids.index(in_url) if in_url in ids else 0, key="pick-target",
                    format_func=lambda i: f"{i} · {charts.shorten(titles[i], 90)}")
if pick != in_url:
    st.query_params["target"] = pick  # a shareable URL for this card
card = cards.set_index(TARGET_ID).loc[pick]
sector_names, technology_names = queries.codes(url, stamp)

st.title(f"Evidence for {pick}")
marks = [style.badge(card["status"])]
if card["origin"] == "user" or card["review_status"] == "user":
    marks.append(style.tag("user-supplied", style.USER_COLOUR))
st.markdown(" ".join(marks) + f" {md(sector_names.get(card['sector'], card['sector']))} / "
            f"{md(technology_names.get(card['technology'], card['technology']))}", unsafe_allow_html=True)
common.show_warnings(url, stamp)

# --- the policy's own words ------------------------------------------------------------
with st.container(border=True, key="card-policy"):
    st.markdown("**The policy**")
    st.text(card["policy_title"])
    date = periods.at_precision(card["policy_date"], card["policy_date_precision"], missing="undated")
    st.markdown(f"{md(card['policy_id'])} · issued by {md(card['policy_issuer'])} · {date} · "
                f"{evidence.CLAIMS.get(card['policy_claim'], md(card['policy_claim']))}")
    if http_link(card["policy_url"]):
        st.link_button("Source of the policy", card["policy_url"], icon=":material/open_in_new:")
    if isinstance(card["policy_summary"], str) and card["policy_summary"].strip():
        st.caption("Notes on the policy (its words as quoted by the sources, and how it was read):")
        st.text(card["policy_summary"])

# --- threshold, deadline and how they were read ------------------------------------------
with st.container(border=True, key="card-target"):
    st.markdown(f"**The target:** {card['threshold']:.0%} by {pd.Timestamp(card['deadline']):%Y-%m-%d}")
    st.caption("How the threshold and deadline were read from the policy's words:")
    st.text(card["encoding"] if isinstance(card["encoding"], str) else
            "as written (no encoding note recorded; a year deadline is read as its last day)")

# --- the measure and why -------------------------------------------------------------
measure = card["measure"] if isinstance(card["measure"], str) else "none"
with st.container(border=True, key="card-measure"):
    if measure == "direct":
        st.markdown("**Measure: direct** — the series measures the target's own quantity.")
    elif measure == "proxy":
        st.markdown("**Measure: proxy** — the same technology at another scope, not the target's own "
                    f"quantity: {evidence.BIASES.get(card['bias'] or 'unknown', evidence.BIASES['unknown'])}.")
    else:
        st.markdown("**Measure: none** — no series measures this target, so it has no verdict.")
    st.caption("Why:" if measure != "none" else "Missing evidence:")
    reason = card["measure_reason"] if measure != "none" else card["missing_evidence"]
    st.text(reason if isinstance(reason, str) else "not recorded")
    if isinstance(card[SERIES], str):
        st.page_link("views/series.py", label=f"Measuring series: {md(card['series_title'] or card[SERIES])}",
                     icon=":material/show_chart:", query_params={"series": card[SERIES]})
    related = split_codes(card["related_series"])
    if related:
        st.caption("Related series, shown as context (no verdict):")
        series_titles = queries.series_catalogue(url, stamp).set_index("key")["title"]
        for key in related:
            title = series_titles.get(key)
            st.page_link("views/series.py", label=md(title if isinstance(title, str) else key), icon=":material/timeline:",
                         query_params={"series": key})

# --- the answer and how it was computed ---------------------------------------------------
with st.container(border=True, key="card-answer"):
    p = card["probability_by_deadline"]
    st.markdown(f"{style.badge(card['status'])} probability of meeting it: "
                f"**{'—' if pd.isna(p) else f'{p:.0%}'}**", unsafe_allow_html=True)
    st.caption("How it was computed:")
    st.text(card["probability_basis"])
    if isinstance(card["model"], str):
        skill = card["skill"]
        st.markdown(f"Model: **{card['model']}** · out-of-sample skill against the naive forecast: " + (
            f"**{skill:+.2f}** ({style.skill_verdict(skill)}; 1 − CRPS / naive CRPS "
            f"on {int(card['skill_origins'])} held-out origin(s))" if pd.notna(skill)
            else "not measured (too few points for held-out origins)"))

# --- the forecast with its bands, the observations and the bounds ------------------------
observations = queries.evidence_observations(url, stamp)
if isinstance(card[SERIES], str):
    catalogue = queries.series_catalogue(url, stamp).set_index("key")
    meta = {**catalogue.loc[card[SERIES]].to_dict(), "key": card[SERIES]}
    frames = queries.series_run(url, card[SERIES], stamp.run_id)  # its rows only

    this = cards[cards[TARGET_ID] == pick]
    crossings = frames["crossings"]
    if frames["forecasts"].empty:
        st.caption("No forecast of this series in the latest run (too few exact or approximate values, "
                   "or no run yet): the chart shows the evidence only.")
    st.plotly_chart(charts.series_chart(meta, observations[observations[SERIES] == card[SERIES]],
                                        frames["forecasts"], crossings[crossings["threshold"] == card["threshold"]], this),
                    width="stretch", key="card-chart")
history_panels.show_history(url, stamp, [pick], key="card-history")  # P(met) run after run
rows = evidence.evidence_rows(cards[cards[TARGET_ID] == pick], observations)
st.subheader("Every observation" + ("" if measure != "none" else " of the related series"))
if rows.empty:
    st.caption("No observation: nothing measures this target yet.")
else:
    table = common.observation_table(rows)
    if rows[SERIES].nunique() > 1 or (rows["role"] == "related").any():  # one series: its name is above
        table.insert(0, "series", rows[SERIES] + rows["role"].map({"measure": "", "related": " (context)"}))
    with st.container(key="card-observations"):
        st.dataframe(table, hide_index=True, width="stretch", column_config=common.OBSERVATION_COLUMN_CONFIG)
    low = rows["reliability"].isin(evidence.LOW_RELIABILITY).sum()
    if low:
        st.caption(f"⚠ {low} observation(s) flagged low reliability by their provenance notes.")

# --- caveats -------------------------------------------------------------------------
st.subheader("Caveats")
notes = evidence.caveats(card.to_dict() | {TARGET_ID: pick}, observations)
st.markdown("\n".join(f"- {md(c)}" for c in notes) if notes else "None recorded.")

st.download_button(common.file_label(f"evidence_{pick}.csv", len(rows)), data=queries.csv_bytes(rows),
                   file_name=f"evidence_{pick}.csv", mime="text/csv", icon=":material/download:",
                   key="download-card")
