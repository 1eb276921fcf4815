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

PAGES = [
    st.Page(HERE / "views" / "overview.py", title="Overview", icon=":material/flag:", url_path="overview", default=True),
    st.Page(HERE / "views" / "series.py", title="Series", icon=":material/show_chart:", url_path="series"),
    st.Page(HERE / "views" / "policies.py", title="Policies", icon=":material/gavel:", url_path="policies"),
    st.Page(HERE / "views" / "runs.py", title="Data & runs", icon=":material/database:", url_path="runs"),
]

page = st.navigation(PAGES)
with st.sidebar:
    st.caption("Forecasts of China's domestic-technology share by sector, against the "
               "official localisation targets. Data and forecasts come from the domshare store; "
               "this app only reads it.")
try:
    page.run()
except SQLAlchemyError as exc:  # e.g. a database made by an older domshare: say what to do
    st.error(
        "**The database could not be read** — it may have been made by another version of "
        "domshare. Run `domshare init` to upgrade it, then reload the page."
        f"\n\n`{type(exc).__name__}: {str(exc).splitlines()[0][:300]}`",
        icon=":material/error:",
    )
