"""Every page of the app through Streamlit's AppTest, against databases built by the real
`domshare init` / `domshare refresh`: what a viewer relies on is on the page, and an empty
or missing database gets a message naming the command to run, never a traceback."""
from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from forecast.frames import TARGET_STATUSES
from jobs import evidence, export
from jobs.store import db, read, schema
from ui import style
from ui.outside_text import md

APP = Path(__file__).resolve().parents[2] / "ui" / "app.py"
PAGES = {name: f"views/{name}.py" for name in ("overview", "evidence", "series", "policies", "runs")}


def open_page(url: str, monkeypatch, page: str = "overview", query: dict | None = None) -> AppTest:
    monkeypatch.setenv("DOMSHARE_DB_URL", url)
    at = AppTest.from_file(str(APP), default_timeout=90)
    at.run()
    if page != "overview" or query:
        at.query_params.update(query or {})
        at.switch_page(PAGES[page]).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def text_of(at: AppTest) -> str:
    parts = [e.value for kind in ("title", "markdown", "caption", "info", "warning", "error",
                                  "success", "subheader", "text") for e in getattr(at, kind)]
    return "\n".join(str(p) for p in parts)


def plotly_specs(at: AppTest) -> list[dict]:
    return [json.loads(node.proto.spec) for node in at.get("plotly_chart")]


def trace_names(spec: dict) -> set[str]:
    return {trace.get("name") for trace in spec["data"] if trace.get("name")}


def frame(url: str, reader, *args):
    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            return reader(conn, *args)
    finally:
        engine.dispose()


# --- a database with two runs ----------------------------------------------------------

def test_overview_lists_every_target_with_its_status(built_db, monkeypatch):
    at = open_page(built_db, monkeypatch)
    latest = frame(built_db, read.latest_run)
    expected = export.export_frames(db.make_engine(built_db))["targets.csv"]

    assert f"#{latest['id']}" in text_of(at)
    table = at.dataframe[0].value
    assert sorted(table["target"]) == sorted(expected["target_id"])
    labels = {style.status_label(s) for s in TARGET_STATUSES}
    assert set(table["status"]) <= labels and len(set(table["status"])) >= 2
    # Most urgent first: open deadlines before passed ones, within each those with a
    # probability first, and then the urgency rank never decreases down the table.
    closed = pd.to_datetime(table["deadline"]) < pd.Timestamp.now().normalize()
    ranks = [style.URGENCY[next(k for k, v in style.STATUS_LABELS.items() if v == s)] for s in table["status"]]
    order = list(zip(closed, table["probability"] == "—", ranks))
    assert order == sorted(order)
    # The probabilities on screen are the export's numbers (in percent), a dash where a target
    # has none: never "None" or "nan" anywhere in the table.
    by_id = expected.set_index("target_id")["probability_by_deadline"]
    shown = table.set_index("target")["probability"]
    assert (shown == by_id.reindex(shown.index).map(lambda p: "—" if pd.isna(p) else f"{p:.0%}")).all()
    assert (shown == "—").any() and (shown != "—").any()
    cells = table.astype(str)
    assert not cells.isin(["None", "nan", "NaN", "NaT", "<NA>"]).any().any()
    measures = table["measure"].str.split(":").str[0]
    assert set(measures) <= {"direct", "proxy", "none"} and "direct" in set(measures)
    # An unassessed target says why: no series, or what became of its series in the run.
    no_data = table[table["status"] == "no data"]
    assert ((no_data["measure"] == "none") | no_data["measure"].str.contains(":")).all()

    assert trace_names(plotly_specs(at)[0]) <= labels
    downloads = {b.label.split(" (")[0] for b in at.download_button}
    assert downloads == (expected_files := set(export.export_frames(db.make_engine(built_db))))
    assert {"forecasts.csv", "crossings.csv", "targets.csv", "observations.csv", "evidence.csv"} <= expected_files


def test_overview_filter_narrows_targets_and_downloads(built_db, monkeypatch):
    at = open_page(built_db, monkeypatch)
    everything = len(at.dataframe[0].value)
    sector = at.multiselect[0].options[0]
    at.multiselect[0].select(sector).run()
    assert not at.exception
    narrowed = at.dataframe[0].value
    assert 0 < len(narrowed) < everything
    assert "filtered to the series of the targets shown" in text_of(at)

    def rows(at) -> dict[str, int]:
        return {b.label.split(" (")[0]: int(b.label.split("(")[1].split()[0].replace(",", "")) for b in at.download_button}

    expected = export.export_frames(db.make_engine(built_db))
    keys = set(narrowed["series"]) - {""}
    filtered = rows(at)
    assert filtered["forecasts.csv"] == expected["forecasts.csv"]["series"].isin(keys).sum()
    assert filtered["observations.csv"] < len(expected["observations.csv"])
    at.radio[0].set_value("everything").run()
    assert rows(at) == {name: len(f) for name, f in expected.items()}


def series_with_forecast(url: str) -> str:
    run = frame(url, read.latest_run)
    frames = frame(url, read.run_frames, run["id"])
    ok = frames["run_series"][frames["run_series"]["status"] == "ok"]["series_key"]
    measured = frames["targets"]["series"].value_counts()
    return max(ok, key=lambda key: measured.get(key, 0))


def test_series_page_draws_forecast_bands_targets_and_crossings(built_db, monkeypatch):
    key = series_with_forecast(built_db)
    at = open_page(built_db, monkeypatch, "series", {"series": key})
    text = text_of(at)
    assert key in text

    spec = plotly_specs(at)[0]
    names = trace_names(spec)
    assert {"observed", "forecast median", "80% band", "95% band"} <= names
    assert any(name.startswith("target: ") for name in names)
    assert spec["layout"]["yaxis"]["title"]["text"] == "domestic share"
    threshold_lines = [s for s in spec["layout"].get("shapes", []) if s.get("y0") == s.get("y1")]
    assert threshold_lines, "threshold lines are drawn"

    crossings = at.dataframe[0].value
    assert len(crossings) > 0 and set(crossings["status"]) <= {"crossed", "projected", "not within horizon"}
    assert "Model used for the forecast" in text
    backtest = next(d.value for d in at.dataframe if "crps_selection" in d.value.columns)
    assert {"naive", "drift"} <= set(backtest["model"])
    # a skill says which side of the naive forecast it is on
    scores = frame(built_db, read.run_frames, frame(built_db, read.latest_run)["id"])["backtest"]
    scores = scores[scores["series_key"] == key].set_index("model")["skill"]
    for model, shown in backtest.set_index("model")["skill"].items():
        if model != "naive" and pd.notna(scores[model]):
            assert shown.endswith("(worse than naive)" if scores[model] < 0 else
                                  "(beats naive)" if scores[model] > 0 else "(ties naive)"), shown
    sources = next(d.value for d in at.dataframe if "link" in d.value.columns)
    assert sources["observations"].sum() > 0 and sources["fetched"].notna().all()
    assert len(at.download_button) == len(export.export_frames(db.make_engine(built_db)))


def test_series_crossings_say_below_again_and_read_dates_as_the_observations_do(built_sqlite, monkeypatch):
    """A threshold reached once and left again reads *below again* (its probability is that of
    getting back), and a TOP500 list's crossing reads as the list's month, as the observation
    table does, not as a half-year."""
    frames = export.export_frames(db.make_engine(built_sqlite))
    crossings = frames["crossings.csv"]
    observed = crossings[crossings["status"].isin(["crossed", "above_since_first"])]
    fell = observed[~observed["latest_above"].astype(bool)]
    assert not fell.empty, "some bundled series fell below a threshold it had reached"
    for key in {fell["series"].iloc[0], "supercomputers_cn_installed_chinese_vendor_share"}:
        at = open_page(built_sqlite, monkeypatch, "series", {"series": key})
        table = at.dataframe[0].value.set_index("threshold")
        for row in observed[observed["series"] == key].itertuples():
            assert table.loc[row.threshold * 100, "latest evidence"] == (
                "still above" if row.latest_above else "below again")
        periods_shown = set(next(d.value for d in at.dataframe if "quote" in d.value.columns)["period"])
        first = set(table["first observed"]) - {"—"}
        assert first and first <= periods_shown, (first, sorted(periods_shown)[:5])


def test_series_chart_says_when_its_forecast_is_worse_than_naive_or_untested(built_sqlite, tmp_path, monkeypatch):
    shutil.copy(built_sqlite.removeprefix("sqlite:///"), tmp_path / "weak.db")
    url = f"sqlite:///{tmp_path / 'weak.db'}"
    outcome = frame(url, read.run_frames, frame(url, read.latest_run)["id"])["run_series"]
    ok = outcome[outcome["status"] == "ok"]
    untested, tested = ok[ok["skill"].isna()]["series_key"].iloc[0], ok[ok["skill"].notna()]["series_key"].iloc[0]
    engine = db.make_engine(url)
    with db.transaction(engine) as conn:  # as a run whose choice lost to naive out of sample would store it
        conn.execute(schema.run_series.update().where(schema.run_series.c.series_key == tested).values(skill=-0.72))
    engine.dispose()
    assert "skill could not be measured out of sample" in text_of(open_page(url, monkeypatch, "series", {"series": untested}))
    at = open_page(url, monkeypatch, "series", {"series": tested})
    assert "Out of sample this forecast is worse than the naive forecast (skill -0.72" in text_of(at)


def test_context_series_is_not_drawn_as_a_share(built_db, monkeypatch):
    catalogue = frame(built_db, read.series_catalogue)
    context = catalogue[catalogue["kind"] == "context"]["key"]
    if context.empty:
        pytest.skip("the bundled data holds no context series")
    at = open_page(built_db, monkeypatch, "series", {"series": context.iloc[0]})
    assert "not a domestic share" in text_of(at)
    spec = plotly_specs(at)[0]
    assert "domestic share" not in spec["layout"]["yaxis"]["title"]["text"]
    assert "context indicator" in spec["layout"]["yaxis"]["title"]["text"]
    assert not any((name or "").startswith("target") for name in trace_names(spec))
    if catalogue.set_index("key").loc[context.iloc[0], "unit"] == "fraction":  # in percent, as its table
        assert spec["layout"]["yaxis"]["tickformat"] == ".0%" and "%{y:.1%}" in spec["data"][0]["hovertemplate"]


def test_policies_page_lists_curated_policies_with_links_and_filters(built_db, monkeypatch):
    at = open_page(built_db, monkeypatch, "policies")
    table = at.dataframe[0].value
    assert {f"P{n:02d}" for n in range(1, 21)} <= set(table["id"])
    assert table["source"].str.startswith("http").mean() > 0.9
    assert plotly_specs(at), "the timeline is drawn"
    # each dot is labelled with its policy's id (one label per spot), readable without hovering
    labels = {i for trace in plotly_specs(at)[0]["data"] for text in trace.get("text") or [] for i in text.split()}
    assert labels == set(table["id"])
    at.multiselect[0].select("banking").run()
    assert not at.exception
    banking = at.dataframe[0].value
    assert 0 < len(banking) < len(table)


def test_runs_page_shows_history_sources_and_what_changed(built_db, monkeypatch):
    at = open_page(built_db, monkeypatch, "runs")
    text = text_of(at)
    runs = next(d.value for d in at.dataframe if "series_ok" in d.value.columns)
    assert len(runs) == 2 and set(runs["status"]) == {"complete"}
    sources = at.dataframe[0].value
    assert len(sources) > 0 and (sources["observations"] > 0).any()
    # Two runs of the same deterministic baselines on the same data: nothing moved.
    assert "No target changed status or projected date between run" in text
    assert "No scheduler has run against this database yet" in text


def test_runs_page_shows_a_dash_for_counts_an_older_run_did_not_record(built_sqlite, tmp_path, monkeypatch):
    shutil.copy(built_sqlite.removeprefix("sqlite:///"), tmp_path / "old.db")
    url = f"sqlite:///{tmp_path / 'old.db'}"
    counts = ("series_refitted", "series_carried", "series_choice_reused", "series_posterior_updated")
    engine = db.make_engine(url)
    with db.transaction(engine) as conn:  # the first run as a refresh before schema 0005 left it
        conn.execute(schema.forecast_runs.update().where(schema.forecast_runs.c.id == 1)
                     .values(**{c: None for c in counts}))
    engine.dispose()
    runs = next(d.value for d in open_page(url, monkeypatch, "runs").dataframe if "series_ok" in d.value.columns)
    old = runs.set_index("id").loc[1]
    assert all(old[c] == "—" for c in counts), old
    assert not runs.astype(str).isin(MISSING_TEXTS).any().any()


# --- freshness: a new run shows as soon as it lands ----------------------------------------

def test_a_new_run_shows_without_restarting_the_app(built_sqlite, tmp_path, monkeypatch):
    source = built_sqlite.removeprefix("sqlite:///")
    shutil.copy(source, tmp_path / "copy.db")
    url = f"sqlite:///{tmp_path / 'copy.db'}"
    at = open_page(url, monkeypatch)
    first = frame(url, read.latest_run)["id"]
    assert f"run **#{first}**" in text_of(at)
    subprocess.run([sys.executable, "-m", "jobs", "refresh", "--db", url, "--models", "naive,drift",
                    "--workers", "1", "--force"], check=True, capture_output=True, timeout=300)
    at.run()
    assert not at.exception
    assert f"run **#{first + 1}**" in text_of(at)


def test_new_data_after_the_run_warns_until_the_next_refresh(built_sqlite, tmp_path, monkeypatch):
    shutil.copy(built_sqlite.removeprefix("sqlite:///"), tmp_path / "copy.db")
    url = f"sqlite:///{tmp_path / 'copy.db'}"
    mine = tmp_path / "my_series.csv"
    mine.write_text("series,date,domestic_share\nmy_survey,2020,0.2\nmy_survey,2021,0.3\n"
                    "my_survey,2022,0.35\nmy_survey,2023,0.5\nmy_survey,2024,0.55\n")
    stale = "Observations changed after the latest forecast run started"
    assert stale not in text_of(open_page(url, monkeypatch))
    subprocess.run([sys.executable, "-m", "jobs", "import", str(mine), "--db", url],
                   check=True, capture_output=True, timeout=300)
    at = open_page(url, monkeypatch)
    assert stale in text_of(at)
    subprocess.run([sys.executable, "-m", "jobs", "refresh", "--db", url, "--models", "naive,drift",
                    "--workers", "1"], check=True, capture_output=True, timeout=300)
    at.run()
    assert stale not in text_of(at)
    series = open_page(url, monkeypatch, "series", {"series": "my_survey"})
    assert "forecast median" in trace_names(plotly_specs(series)[0])


# --- empty states ------------------------------------------------------------------------

@pytest.mark.parametrize("page", ["overview", "series", "policies", "runs"])
def test_database_without_a_run_says_to_run_refresh(initialised_db, monkeypatch, page):
    at = open_page(initialised_db, monkeypatch, page)
    text = text_of(at)
    if page == "policies":
        assert len(at.dataframe[0].value) >= 20  # policies need no run
    else:
        assert "domshare refresh" in text
    if page == "overview":
        assert len(at.dataframe[0].value) == len(frame(initialised_db, read.targets_frame))
    if page == "series":
        assert plotly_specs(at) and "observed" in trace_names(plotly_specs(at)[0])


@pytest.mark.parametrize("page", ["overview", "series", "policies", "runs"])
def test_database_without_tables_says_to_run_init(no_schema_db, monkeypatch, page):
    at = open_page(no_schema_db, monkeypatch, page)
    assert "domshare init" in text_of(at)
    assert not at.dataframe and not at.get("plotly_chart")


def test_unreachable_database_is_a_message_not_a_traceback(monkeypatch):
    at = open_page("postgresql://nobody@127.0.0.1:9/nothing", monkeypatch)
    assert at.error and "Cannot read the database" in at.error[0].value


def test_database_from_another_version_is_a_message_not_a_traceback(initialised_db, tmp_path, monkeypatch):
    shutil.copy(initialised_db.removeprefix("sqlite:///"), tmp_path / "old.db")
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = db.make_engine(url)
    with engine.begin() as conn:  # a schema that lacks a column this version reads
        conn.exec_driver_sql("ALTER TABLE policies DROP COLUMN deadline")
    engine.dispose()
    at = open_page(url, monkeypatch, "policies")
    assert at.error and "domshare init" in at.error[0].value


# --- a synthetic rising series: projected crossings and status colours ---------------------

def test_projected_crossing_range_and_target_colours(tmp_path, monkeypatch):
    from synthetic_store import monthly_logistic, seed_store

    url = f"sqlite:///{tmp_path / 'synthetic.db'}"
    rising = monthly_logistic("2014-01-01", "2024-12-01", "2026-06-01", 0.6, 0.01, seed=1)
    seed_store(url, {"rising": rising}, [
        {"id": "T1", "threshold": 0.75, "deadline": dt.date(2030, 12, 31), "series_key": "rising", "measure": "direct"},
        {"id": "T2", "threshold": 0.9, "deadline": dt.date(2026, 12, 31), "series_key": "rising", "measure": "direct"},
    ])
    subprocess.run([sys.executable, "-m", "jobs", "refresh", "--db", url, "--models", "naive,drift",
                    "--workers", "1"], check=True, capture_output=True, timeout=300)
    frames = export.export_frames(db.make_engine(url))
    projected = frames["crossings.csv"][frames["crossings.csv"]["status"] == "projected"]
    assert not projected.empty, "the fixture must project at least one crossing"

    at = open_page(url, monkeypatch, "series", {"series": "rising"})
    spec = plotly_specs(at)[0]
    ranges = [t for t in spec["data"] if t.get("legendgroup") == "crossing" and t.get("mode") == "lines"]
    medians = [t for t in spec["data"] if t.get("name") == "median crossing"]
    assert len(ranges) == len(medians) == len(projected)
    for row, bar, tick in zip(projected.sort_values("threshold").itertuples(), ranges, medians):
        assert bar["y"] == [row.threshold, row.threshold] and tick["y"] == [row.threshold]
        assert pd.Timestamp(tick["x"][0]) == pd.Timestamp(row.median_date)
        start = row.p10_date if pd.notna(row.p10_date) else row.median_date
        assert pd.Timestamp(bar["x"][0]) == pd.Timestamp(start)
        end = row.p90_date if pd.notna(row.p90_date) else frames["forecasts.csv"]["date"].max()
        assert pd.Timestamp(bar["x"][1]) == pd.Timestamp(end)
    for trace in spec["data"]:
        if (trace.get("name") or "").startswith("target: "):
            status = trace["name"].removeprefix("target: ")
            key = next(k for k, v in style.STATUS_LABELS.items() if v == status)
            assert trace["marker"]["color"] == style.STATUS_COLOURS[key]
    crossings = at.dataframe[0].value.set_index("threshold")
    for row in projected.itertuples():
        assert crossings.loc[row.threshold * 100, "median date"] == pd.Timestamp(row.median_date).strftime("%Y-%m")


def test_runs_page_lists_targets_whose_status_moved(tmp_path, monkeypatch):
    """A rising straight line: the naive model never reaches 90%, the drift model does."""
    from synthetic_store import seed_store

    url = f"sqlite:///{tmp_path / 'linear.db'}"
    dates = pd.date_range("2014-01-01", "2024-12-01", freq="MS")
    seed_store(url, {"linear": pd.DataFrame({"date": dates, "value": 0.2 + 0.005 * pd.RangeIndex(len(dates))})},
               [{"id": "T1", "threshold": 0.9, "deadline": dt.date(2030, 12, 31), "series_key": "linear",
                 "measure": "direct"}])
    for models in ("naive", "drift"):
        subprocess.run([sys.executable, "-m", "jobs", "refresh", "--db", url, "--models", models,
                        "--workers", "1", "--force"], check=True, capture_output=True, timeout=300)
    first, second = (frame(url, read.run_frames, run)["targets"].iloc[0] for run in (1, 2))
    assert first["status"] != second["status"], "the fixture must move the target"

    at = open_page(url, monkeypatch, "runs")
    assert "1 target(s)** changed status or projected date since run #1" in text_of(at)
    moved = next(d.value for d in at.dataframe if "status_before" in d.value.columns)
    row = moved.set_index("target_id").loc["T1"]
    assert (row["status_before"], row["status"]) == (style.status_label(first["status"]),
                                                     style.status_label(second["status"]))
    at.selectbox[0].set_value(1).run()
    assert "Run #1 is the first complete run" in text_of(at)


# --- what a viewer reads: no internal bookkeeping, no "None", periods not first days ---------

FULL_DAY = r"^\d{4}-\d{2}-\d{2}$"
MISSING_TEXTS = ["None", "nan", "NaN", "NaT", "<NA>"]


def test_source_lists_hide_the_bundled_inputs_record_and_show_periods(built_db, monkeypatch):
    from jobs.bundled import INPUTS_SOURCE

    overview = open_page(built_db, monkeypatch)
    runs = open_page(built_db, monkeypatch, "runs")
    freshness = next(d.value for d in overview.dataframe if "newest observation" in d.value.columns)
    files = runs.dataframe[0].value  # no pull yet: the files table comes first
    for table in (freshness, files):
        assert INPUTS_SOURCE not in set(table["source"])
        assert {"statcounter", "worldbank"} <= set(table["source"])
        # An annual source's newest observation reads "2024", a monthly one "2024-04".
        newest = table.set_index("source")["newest observation"]
        assert not newest.str.match(FULL_DAY).any(), newest
        assert newest["worldbank"].isdigit() and len(newest["worldbank"]) == 4
        assert len(newest["statcounter"]) == 7
        assert not table.astype(str).isin(MISSING_TEXTS).any().any(), table
    # Loaded from the bundled files, not pulled: the overview says so, the runs page keeps the
    # two apart (no pull has run on this database).
    assert set(freshness["loaded by"]) == {"domshare init / import"} and set(freshness["last pull"]) == {"—"}
    assert "files" in files.columns and (files.set_index("source")["files"]["top500"] > 1)
    assert "No source has been pulled or scheduled yet" in text_of(runs)
    assert "No feed items yet" in text_of(open_page(built_db, monkeypatch, "policies"))


def test_annual_series_with_too_few_points_reads_in_years_and_says_why(built_db, monkeypatch):
    run = frame(built_db, read.latest_run)
    outcome = frame(built_db, read.run_frames, run["id"])["run_series"]
    catalogue = frame(built_db, read.series_catalogue).set_index("key")
    short = outcome[(outcome["status"] == "insufficient_data") & (outcome["n_obs"] > 0)  # values, not only bounds
                    & outcome["series_key"].map(catalogue["frequency"]).eq("annual")]["series_key"]
    assert not short.empty, "the bundled data has annual series too short to forecast"
    at = open_page(built_db, monkeypatch, "series", {"series": short.iloc[0]})
    text = text_of(at)
    assert "too few observations to forecast" in text
    # how many it has and how many a forecast needs, as the run recorded them
    assert outcome.set_index("series_key").loc[short.iloc[0], "error"] in text
    spec = plotly_specs(at)[0]
    # Ticks name years ("2021"), not months or days of them.
    xaxis = spec["layout"]["xaxis"]
    labels = xaxis.get("ticktext") or []
    assert xaxis.get("tickformat") == "%Y" or (labels and all(t.isdigit() and len(t) == 4 for t in labels))
    observed = next(t for t in spec["data"] if t.get("name") == "observed")
    assert all(len(label) == 4 and label.isdigit() for label, _ in observed["customdata"])
    sources = next(d.value for d in at.dataframe if "link" in d.value.columns)
    assert sources["from"].str.fullmatch(r"\d{4}").all() and sources["to"].str.fullmatch(r"\d{4}").all()
    for table in at.dataframe:
        assert not table.value.astype(str).isin(MISSING_TEXTS).any().any(), table.value


def test_targets_at_one_point_share_a_marker_that_lists_them_all(built_db, monkeypatch):
    targets = export.export_frames(db.make_engine(built_db))["targets.csv"]
    points = targets.dropna(subset=["series"]).groupby(["series", "status", "deadline", "threshold"]).size()
    crowded = points[points > 1]
    assert not crowded.empty, "the bundled targets hold several at one (deadline, threshold)"
    key = crowded.index[0][0]
    at = open_page(built_db, monkeypatch, "series", {"series": key})
    markers = [t for t in plotly_specs(at)[0]["data"] if (t.get("name") or "").startswith("target: ")]
    assert sum(len(t["x"]) for t in markers) == len(points.loc[key])
    hovers = [h for t in markers for h in t["hovertext"]]
    for (status, deadline, threshold), n in points.loc[key].items():
        if n > 1:
            assert any(h.startswith(f"{n} targets:") for h in hovers)
    ids = set(targets[targets["series"] == key]["target_id"])
    assert all(any(i in h for h in hovers) for i in ids), "every target is named in some hover"


def test_series_before_any_run_lists_its_targets_as_not_assessed(initialised_db, monkeypatch):
    targets = frame(initialised_db, read.targets_frame)
    key = targets["series"].value_counts().index[0]
    at = open_page(initialised_db, monkeypatch, "series", {"series": key})
    table = next(d.value for d in at.dataframe if "target" in d.value.columns)
    assert sorted(table["target"]) == sorted(targets[targets["series"] == key]["target_id"])
    assert set(table["status"]) == {"not assessed"} and set(table["probability"]) == {"—"}
    assert "No forecast run yet, so no crossings" in text_of(at)
    assert not table.astype(str).isin(MISSING_TEXTS).any().any()


# --- the evidence card and the milestones ---------------------------------------------------

def test_probability_basis_names_the_deciding_value_or_why_there_is_no_probability(built_sqlite):
    """An analyst reads how each verdict was reached: a decided target names the deciding
    value against its threshold; a passed deadline with nothing to forecast says there is no
    probability instead of pointing at sample paths that do not exist."""
    frames = export.export_frames(db.make_engine(built_sqlite))
    targets, observations = frames["targets.csv"], frames["observations.csv"]
    decided = targets[targets["basis"].isin(["observation", "lower_bound", "upper_bound"])]
    assert not decided.empty
    for row in decided.itertuples():
        deciding = observations[(observations["series"] == row.series)
                                & (pd.to_datetime(observations["date"]) == pd.Timestamp(row.evidence_date))]
        value = f"{deciding['value'].iloc[0] * 100:.4g} %"
        side = "at or above" if row.status == "met" else "below"
        assert value in row.probability_basis and f"{side} the {row.threshold * 100:.4g} % threshold" \
            in row.probability_basis, row.probability_basis
    unforecast = targets[(targets["status"] == "unobserved") & targets["probability_by_deadline"].isna()]
    assert not unforecast.empty
    assert all(b.startswith("no probability: ") for b in unforecast["probability_basis"])
    assert not targets["probability_basis"].str.contains("the the ").any()


def test_evidence_card_shows_the_policy_measure_reason_and_every_quote(built_db, monkeypatch):
    frames = export.export_frames(db.make_engine(built_db))
    targets, rows = frames["targets.csv"].set_index("target_id"), frames["evidence.csv"]
    quoted = rows[(rows["role"] == "measure") & rows["quote"].notna()]
    target = next(t for t in quoted["target_id"] if isinstance(targets.loc[t, "measure_reason"], str))
    card = targets.loc[target]
    at = open_page(built_db, monkeypatch, "evidence", {"target": target})
    plain = [e.value for e in at.text]  # outside text is shown as plain text, never Markdown
    assert card["policy_title"] in plain and card["measure_reason"] in plain
    assert card["probability_basis"] in plain
    assert f"**Measure: {card['measure']}**" in text_of(at)
    if card["measure"] == "proxy":
        assert evidence.BIASES[card["bias"] or "unknown"] in text_of(at)
    table = next(d.value for d in at.dataframe if "quote" in d.value.columns)
    mine = rows[rows["target_id"] == target]
    assert len(table) == len(mine) and set(mine["quote"].dropna()) <= set(table["quote"])
    assert (table["reliability"] != "").sum() == mine["reliability"].isin(["low", "very_low"]).sum()
    assert at.query_params["target"] == target
    assert f"evidence_{target}.csv" in at.download_button[0].label


def test_evidence_card_of_an_unmeasured_target_names_the_missing_evidence(built_db, monkeypatch):
    targets = export.export_frames(db.make_engine(built_db))["targets.csv"]
    none = targets[targets["measure"].isna() & targets["related_series"].notna()].iloc[0]
    at = open_page(built_db, monkeypatch, "evidence", {"target": none["target_id"]})
    assert none["missing_evidence"] in [e.value for e in at.text]
    assert "**Measure: none**" in text_of(at) and none["status"] == "no_data"
    table = next(d.value for d in at.dataframe if "quote" in d.value.columns)
    assert table["series"].str.endswith("(context)").all()  # related series: context, no verdict
    titles = frame(built_db, read.series_catalogue).set_index("key")["title"]
    links = {link.proto.label for link in at.get("page_link")}
    assert {md(titles[k]) for k in none["related_series"].split(";")} <= links, links  # named, not keyed
    # The overview says in one phrase what is missing, and links the row to this card.
    overview = open_page(built_db, monkeypatch).dataframe[0].value.set_index("target")
    assert overview.loc[none["target_id"], "measure"] == f"none: {none['missing_evidence']}"
    assert overview.loc[none["target_id"], "evidence"] == f"target?target={none['target_id']}"


def test_a_card_with_one_observation_offers_its_file_of_1_row(built_sqlite, monkeypatch):
    rows = export.export_frames(db.make_engine(built_sqlite))["evidence.csv"]["target_id"].value_counts()
    target = rows[rows == 1].index[0]
    at = open_page(built_sqlite, monkeypatch, "evidence", {"target": target})
    assert at.download_button[0].label == f"evidence_{target}.csv (1 row)"


def test_a_target_no_run_could_answer_gets_no_empty_history_chart(built_sqlite, monkeypatch):
    targets = export.export_frames(db.make_engine(built_sqlite))["targets.csv"]
    target = targets[(targets["status"] == "no_data") & targets["series"].notna()]["target_id"].iloc[0]
    at = open_page(built_sqlite, monkeypatch, "evidence", {"target": target})
    assert len(plotly_specs(at)) == 1  # the series' evidence, and no chart of nothing
    assert f"No complete run gave {target} a probability or a projected crossing (no data in each" in text_of(at)


def test_overview_milestones_list_every_forecast_series_with_2027_and_2030(built_db, monkeypatch):
    run = frame(built_db, read.latest_run)
    frames = frame(built_db, read.run_frames, run["id"])
    catalogue = frame(built_db, read.series_catalogue).set_index("key")
    outcome = frames["run_series"]
    forecast = {k for k in outcome[outcome["status"] == "ok"]["series_key"] if catalogue.loc[k, "kind"] == "domestic_share"}
    at = open_page(built_db, monkeypatch)
    assert "Where each technology is heading" in text_of(at)
    table = next(d.value for d in at.dataframe if "90%" in d.value.columns)
    assert set(table["chart"].str.removeprefix("series?series=")) == forecast
    assert list(table.columns)[:5] == ["series", "50%", "75%", "90%", "chart"]  # the link in view at 1400 px
    skills = outcome.set_index("series_key")["skill"]  # how far to trust each row's chances
    for chart, shown in zip(table["chart"], table["skill vs naive"]):
        skill = skills[chart.removeprefix("series?series=")]
        assert shown == ("not measured (too few points)" if pd.isna(skill) else
                                      f"{skill:+.2f} ({'beats' if skill > 0 else 'worse than' if skill < 0 else 'ties'} naive)")
    crossings = export.export_frames(db.make_engine(built_db))["crossings.csv"]
    checked = 0
    for row in table.itertuples():
        key = row.chart.removeprefix("series?series=")
        for level, shown in ((0.5, row[2]), (0.75, row[3]), (0.9, row[4])):
            c = crossings[(crossings["series"] == key) & (crossings["threshold"] == level)]
            if c.empty:
                assert shown == "—"
            elif c.iloc[0]["status"] in ("crossed", "above_since_first"):
                assert shown.startswith("reached ")
                if key == "supercomputers_cn_installed_chinese_vendor_share":  # a TOP500 list: its month
                    assert shown.startswith(f"reached {pd.Timestamp(c.iloc[0]['observed_date']):%Y-%m}"), shown
            else:
                c = c.iloc[0]
                assert shown.startswith(f"{c.probability_by_2027:.0%} by 2027 · {c.probability_by_2030:.0%} by 2030")
                checked += 1
    assert checked, "some milestone is still ahead of some series"


def test_user_supplied_targets_show_beside_the_curated_ones_as_plain_text(built_sqlite, tmp_path, monkeypatch):
    shutil.copy(built_sqlite.removeprefix("sqlite:///"), tmp_path / "user.db")
    url = f"sqlite:///{tmp_path / 'user.db'}"
    mine = tmp_path / "mine.csv"
    mine.write_text("policy_id,title,issuer,date,sector,technology,threshold_pct,deadline,series,measure,reason\n"
                    "U01,**Bold** plan [click](http://x.example) :red[alarm],<b>Bureau</b>,2024,banking,os,60,2028,"
                    "os_domestic_share_new_pcs,proxy,national share of new PCs\n", encoding="utf-8")
    subprocess.run([sys.executable, "-m", "jobs", "import-targets", str(mine), "--db", url], check=True,
                   capture_output=True, timeout=300)
    overview = open_page(url, monkeypatch).dataframe[0].value.set_index("target")
    assert overview.loc["U01-banking-os", "policy"].endswith("(user-supplied)")
    at = open_page(url, monkeypatch, "evidence", {"target": "U01-banking-os"})
    assert "**Bold** plan [click](http://x.example) :red[alarm]" in [e.value for e in at.text]
    shown = text_of(at)
    assert "user-supplied" in shown and "<b>Bureau</b>" not in shown and "\\<b\\>Bureau\\</b\\>" in shown
    assert md("user-supplied target (from `domshare import-targets`") in shown  # a caveat


@pytest.mark.prophet
def test_series_page_says_which_policy_dates_were_offered_and_kept(tmp_path, monkeypatch):
    from tests.ui.conftest import domshare

    url = f"sqlite:///{tmp_path / 'policies.db'}"
    key = "chips_ic_self_sufficiency_ic_insights"  # 2011-2022: the Made in China 2025 dates fall inside
    domshare("init", "--db", url)
    domshare("refresh", "--db", url, "--series", key, "--models", "naive,drift,theta,prophet_logit",
             "--mcmc-samples", "60")
    with db.make_engine(url).connect() as conn:
        offered = json.loads(read.run_series_frame(conn, read.latest_run(conn)["id"], key).iloc[0]["policy_changepoints"])
    assert "P06" in offered["dates"] and set(offered["kept"]) == {"prophet_logit"}
    at = open_page(url, monkeypatch, "series", {"series": key})
    text = text_of(at)
    assert "Offered to Prophet beside its own changepoints" in text and "P06 (2015-05-01)" in text
    verdict = "kept" if offered["kept"]["prophet_logit"] else "not kept"
    assert f"{md('prophet_logit')}: {verdict}" in text.replace("*", "")
    backtest = next(d.value for d in at.dataframe if "crps_selection" in d.value.columns)
    assert {"prophet_logit", "prophet_logit+policies"} <= set(backtest["model"])
