"""Policies: curated policies and targets, and feed items awaiting review, on one timeline."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from jobs.store.schema import split_codes
from ui import charts, common, history_panels, periods, queries
from ui.outside_text import http_link, md

REVIEW_KINDS = {"curated": "curated policies", "user": "user-supplied (import-targets)",
                "unreviewed": "feed items (unreviewed)"}
url = common.db_url()
st.title("Policies and targets")
stamp = common.load_stamp(url)
policies = queries.policies(url, stamp)
if policies.empty:
    st.info("No policies in the database: `domshare init` loads the curated list; "
            "`domshare pull` adds items from the policy feeds.")
    st.stop()

sector_names, technology_names = queries.codes(url, stamp)
policies["sector_list"] = policies["sectors"].map(split_codes)
policies["technology_list"] = policies["technologies"].map(split_codes)
all_sectors = sorted({c for codes in policies["sector_list"] for c in codes})
all_techs = sorted({c for codes in policies["technology_list"] for c in codes})
dated = policies["date"].dropna()
today = dt.date.today()
first = dated.min().date() if not dated.empty else today
last = max(dated.max().date(), today) if not dated.empty else today

with st.container(horizontal=True):
    pick_sectors = st.multiselect("Sector", all_sectors, format_func=lambda c: sector_names.get(c, c),
                                  placeholder="all sectors")
    pick_techs = st.multiselect("Technology", all_techs, format_func=lambda c: technology_names.get(c, c),
                                placeholder="all technologies")
    # Wide enough for both dates: on a narrow screen it moves to the next line, not "2014/02/01 – 2".
    period = st.date_input("Dates", (first, last), min_value=first, max_value=last, width=250)
    kinds = st.pills("Show", list(REVIEW_KINDS), selection_mode="multi", default=list(REVIEW_KINDS),
                     format_func=REVIEW_KINDS.get)


def _matches(codes: list[str], picked: list[str]) -> bool:
    # "all" in a policy's codes means it applies to every sector or technology.
    return not picked or "all" in codes or bool(set(codes) & set(picked))


shown = policies[
    policies["sector_list"].map(lambda c: _matches(c, pick_sectors))
    & policies["technology_list"].map(lambda c: _matches(c, pick_techs))
    & policies["review_status"].isin(kinds)
]
if isinstance(period, (tuple, list)) and len(period) == 2:
    start, end = (pd.Timestamp(d) for d in period)
    shown = shown[shown["date"].isna() | shown["date"].between(start, end)]

unreviewed = int((policies["review_status"] == "unreviewed").sum())
feed_note = (f"{unreviewed} feed item{'s' if unreviewed != 1 else ''} matched by keyword rules "
             f"{'are' if unreviewed != 1 else 'is'} **unreviewed**: read the source before relying on "
             f"{'them' if unreviewed != 1 else 'it'}." if unreviewed else
             "No feed items yet: `domshare pull` (or the scheduler) fetches the policy feeds; their "
             "items are listed here as **unreviewed** until a person checks them.")
st.caption(f"{len(shown)} of {len(policies)} policy events shown. Curated policies come from the "
           f"bundled, sourced list. {feed_note}")
if shown.empty:
    st.info("No policy matches these filters.")
    st.stop()

st.plotly_chart(charts.policy_timeline(shown, sector_names), width="stretch", key="policy-timeline")


table = pd.DataFrame({
    "date": [periods.at_precision(d, p, missing="undated") for d, p in zip(shown["date"], shown["date_precision"])],
    "id": shown["id"],
    "title": shown["title"],
    "deadline": periods.texts(shown["deadline"], None).str.replace(periods.MISSING, ""),
    "source": shown["link"].map(http_link),
    "review": shown["review_status"].map({"curated": "curated", "user": "user-supplied",
                                          "unreviewed": "⚠ unreviewed feed item"}).fillna(shown["review_status"]),
    "sectors": shown["sector_list"].map(lambda c: ", ".join(sector_names.get(x, x) for x in c)),
    "technologies": shown["technology_list"].map(lambda c: ", ".join(technology_names.get(x, x) for x in c)),
    "targets": shown["targets"],
    "claim": shown["claim"].map({"official": "official", "claimed": "claimed (reported, not published)",
                                 "unofficial": "unofficial (secondary source)"}).fillna(shown["claim"]),
    "issuer": common.text(shown["issuer"]),
}).iloc[::-1]
st.dataframe(table, hide_index=True, width="stretch", height="content",
             column_config={"title": st.column_config.TextColumn(width="large"),
                            "source": st.column_config.LinkColumn("source link", width="medium")})
with st.expander("Full notes and sources"):
    for row in shown.iloc[::-1].itertuples():
        flag = " — ⚠ unreviewed feed item" if row.review_status == "unreviewed" else ""
        summary = row.summary if isinstance(row.summary, str) else ""
        st.markdown(f"**{md(row.id)} · {md(row.title)}**{flag}  \n{md(summary)}  \n"
                    f"_Source:_ {md(row.source or row.url or 'not recorded')}")
history_panels.show_proposals(url)
