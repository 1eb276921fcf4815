"""domshare's web app. Start it with `domshare ui` (which runs `streamlit run` on this file).

The database comes from DOMSHARE_DB_URL (set by `domshare ui --db ...`). Each page is a
file in ui/views/; they share ui/common.py (empty states, warnings, downloads) and
ui/queries.py (cached reads keyed on the latest run).
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

HERE = Path(__file__).resolve().parent

st.set_page_config(page_title="domshare: domestic technology share vs policy targets",
                   page_icon=":material/query_stats:", layout="wide")

# The default page is served at `/`; its own url_path is only reserved, never served, so it
# must not take "overview", which the redirect below answers.
OVERVIEW = st.Page(HERE / "views" / "overview.py", title="Overview", icon=":material/flag:",
                   url_path="home", default=True)


def _to_overview() -> None:
    """`/overview`, the address a viewer guesses from the menu, redirects to the overview at `/`
    (Streamlit answers an unknown path with a "Page not found" dialog)."""
    st.switch_page(OVERVIEW, query_params=st.query_params.to_dict())


PAGES = [
    OVERVIEW,
    st.Page(HERE / "views" / "evidence.py", title="Evidence", icon=":material/fact_check:", url_path="target"),
    st.Page(HERE / "views" / "series.py", title="Series", icon=":material/show_chart:", url_path="series"),
    st.Page(HERE / "views" / "policies.py", title="Policies", icon=":material/gavel:", url_path="policies"),
    st.Page(HERE / "views" / "runs.py", title="Data & runs", icon=":material/database:", url_path="runs"),
    st.Page(HERE / "views" / "alerts.py", title="Alerts", icon=":material/notifications:", url_path="alerts"),
    st.Page(_to_overview, title="Overview", url_path="overview", visibility="hidden"),
]

# Navigation across the top, no sidebar: on an 800 px screen the sidebar would take a third
# of the width and push the overview's key columns out of sight.
page = st.navigation(PAGES, position="top")
try:
    page.run()
except SQLAlchemyError as exc:  # e.g. a database made by an older domshare: say what to do
    st.error(
        "**The database could not be read** — it may have been made by another version of "
        "domshare. Run `domshare init` to upgrade it, then reload the page."
        f"\n\n`{type(exc).__name__}: {str(exc).splitlines()[0][:300]}`",
        icon=":material/error:",
    )
