"""Alerts: what changed after each complete run, and where the alerts were delivered."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from jobs.alerts import KINDS
from ui import common, queries

KIND_LABELS = {"status_change": "status changed", "probability_move": "probability moved",
               "crossing_move": "crossing moved", "new_policy_item": "new policy item"}

url = common.db_url()
st.title("Alerts")
st.caption("After each complete forecast run domshare compares it with the run before: a target "
           "whose status changed or whose probability moved, a projected crossing that moved, a new "
           "unreviewed policy item in a tracked sector. The same alerts are in `alerts.csv`, the Atom "
           "feed (`domshare feed`) and the webhooks.")
stamp = common.load_stamp(url)
alerts = queries.alerts(url)
if alerts.empty:
    st.info("No alerts yet: they appear after the second complete run (`domshare refresh`), when "
            "there is a run to compare with.", icon=":material/notifications:")
    st.stop()

kinds = st.pills("Kinds", [k for k in KINDS if k in set(alerts["kind"])], selection_mode="multi",
                 default=[k for k in KINDS if k in set(alerts["kind"])], format_func=KIND_LABELS.get,
                 key="alert-kinds")
shown = alerts[alerts["kind"].isin(kinds or [])]
st.caption(f"{len(shown)} of {len(alerts)} alerts, newest first.")
st.dataframe(pd.DataFrame({
    "when": common.time_text(shown["created_at"]),
    "run": shown["run_id"].map(lambda r: f"#{r}"),
    "kind": shown["kind"].map(KIND_LABELS),
    "alert": shown["message"],
    "target": common.text(shown["target_id"]),
    "series": common.text(shown["series"]),
}), hide_index=True, width="stretch", key="alerts-table",
    column_config={"alert": st.column_config.TextColumn(width="large")})
st.download_button(common.file_label("alerts.csv", len(alerts)), data=queries.csv_bytes(alerts), file_name="alerts.csv",
                   mime="text/csv", icon=":material/download:", key="download-alerts")

st.subheader("Webhook deliveries")
deliveries = queries.webhook_deliveries(url)
if deliveries.empty:
    st.caption("No webhook deliveries: add `[[alerts.webhooks]]` with a url (and a secret) to the "
               "sources file to have each run's alerts POSTed as signed JSON.")
else:
    st.dataframe(deliveries.assign(delivered_at=common.time_text(deliveries["delivered_at"]),
                                   http_status=common.text(deliveries["http_status"]),
                                   error=common.text(deliveries["error"])),
                 hide_index=True, width="stretch", key="deliveries")
