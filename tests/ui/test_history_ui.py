"""The forecast history in the app (AppTest), after three real runs on changing data: the
history chart with one point per run on the series page and the evidence card, the overview's change columns and its
"as of" picker, the Alerts page, and the unreviewed target proposals on the Policies page."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from jobs import proposals
from jobs.store import db, read, writes
from run_history import refresh_after_each_arrival
from ui import style
from ui.history import change_text
from ui.history_panels import CHANGE_30D, CHANGE_PREVIOUS

APP = Path(__file__).resolve().parents[2] / "ui" / "app.py"
SENTENCE = "到2027年,银行核心系统国产化率达到百分之七十。"


@pytest.fixture(scope="module")
def history_db(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('history') / 'store.db'}"
    runs = refresh_after_each_arrival(url)
    engine = db.make_engine(url)
    with db.transaction(engine) as conn:  # a feed item with a numeric target, as a pull stores it
        writes.upsert_policies(conn, [{"id": "feed:bank-2027", "title": "银行信创通知", "summary": SENTENCE,
                                       "sectors": "banking", "review_status": "unreviewed"}])
        proposals.scan_policies(conn, ["feed:bank-2027"])
    engine.dispose()
    return url, runs


def open_app(url: str, monkeypatch, page: str | None = None, query: dict | None = None) -> AppTest:
    monkeypatch.setenv("DOMSHARE_DB_URL", url)
    at = AppTest.from_file(str(APP), default_timeout=90)
    at.run()
    if page:
        at.query_params.update(query or {})
        at.switch_page(f"views/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def stored(url, reader, *args):
    engine = db.make_engine(url)
    with engine.connect() as conn:
        frame = reader(conn, *args)
    engine.dispose()
    return frame


@pytest.mark.parametrize("page, query", [("series", {"series": "rising"}), ("evidence", {"target": "T-rise"})])
def test_series_page_and_evidence_card_chart_the_probability_of_each_run(history_db, monkeypatch, page, query):
    url, runs = history_db
    at = open_app(url, monkeypatch, page, query)
    history = stored(url, read.target_history, "T-rise")
    charts = [json.loads(node.proto.spec) for node in at.get("plotly_chart")]
    [trace] = [t for spec in charts for t in spec["data"] if t.get("name") == "P(met)"]
    assert trace["x"] == [f"#{r}" for r in runs]
    assert trace["y"] == pytest.approx(list(history["probability_by_deadline"]))
    assert any("3 complete runs, 3 with new data" in c.value for c in at.caption)


def test_overview_shows_the_change_since_the_previous_run_and_an_as_of_picker(history_db, monkeypatch):
    url, (first, second, third) = history_db
    at = open_app(url, monkeypatch)
    table = at.dataframe[0].value
    changes = stored(url, read.target_changes, third).set_index("target_id")
    row = table[table["target"] == "T-rise"].iloc[0]
    assert row[CHANGE_PREVIOUS] == change_text(changes["probability_change"]).loc["T-rise"]
    assert row[CHANGE_PREVIOUS] != "—" and row[CHANGE_30D] == "—"  # the runs are seconds apart

    at.selectbox(key="as-of").set_value(first).run()
    assert not at.exception
    then = at.dataframe[0].value
    old = stored(url, read.run_frames, first)["targets"].set_index("target_id").loc["T-rise"]
    assert then[then["target"] == "T-rise"].iloc[0]["status"] == style.status_label(old["status"])
    assert any(f"after **run #{first}**" in i.value for i in at.info)


def test_alerts_page_lists_the_stored_alerts(history_db, monkeypatch):
    url, _ = history_db
    at = open_app(url, monkeypatch, "alerts")
    alerts = stored(url, read.alerts_frame)
    assert len(alerts) >= 1
    assert list(at.dataframe[0].value["alert"]) == list(alerts["message"])


def test_policies_page_lists_unreviewed_target_proposals(history_db, monkeypatch):
    url, _ = history_db
    at = open_app(url, monkeypatch, "policies")
    [table] = [d.value for d in at.dataframe if "sentence" in d.value.columns]
    assert list(table["sentence"]) == [SENTENCE] and list(table["share"]) == [70.0]
    assert list(table["review"]) == ["⚠ unreviewed"]


def test_history_chart_leaves_out_the_crossing_panel_when_no_run_projected_one():
    import pandas as pd

    from ui.history import history_chart

    runs = pd.DataFrame({"run_id": [1, 2], "run_finished_at": pd.to_datetime(["2026-11-01", "2026-11-02"]),
                         "new_data": [True, False], "status": ["off_track", "off_track"],
                         "probability_by_deadline": [0.1, 0.12], "projected_date": [None, None],
                         "p10_date": [None, None], "p90_date": [None, None]})
    alone = history_chart(runs).to_dict()["layout"]
    assert "yaxis2" not in alone and len(alone["annotations"]) == 1  # one panel, one title
    dated = runs.assign(projected_date=pd.to_datetime(["2029-01-01", "2029-06-01"]),
                        p10_date=pd.to_datetime(["2027-01-01", "2027-06-01"]),
                        p90_date=pd.to_datetime(["2032-01-01", "2032-06-01"]))
    both = history_chart(dated).to_dict()
    assert "yaxis2" in both["layout"] and {t["name"] for t in both["data"]} >= {"projected crossing", "10–90% range"}
