"""`domshare import`: each class of bad file is rejected with its row number and the
database is exactly as before; a good file is stored with its raw snapshot."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from jobs import cli
from jobs.store import db, schema, writes
from store_contents import table_contents, write_catalogue

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "import"


@pytest.fixture
def store(any_db_url):
    """A migrated store with the real sector/technology catalogue and one bundled series."""
    engine = db.make_engine(any_db_url)
    db.upgrade(engine)
    with db.transaction(engine) as conn:
        write_catalogue(conn)
        writes.upsert_series(conn, [{"key": "bundled_one", "sector": "all", "technology": "chips",
                                     "frequency": "annual", "title": "B", "source": "bundled", "origin": "bundled"}])
    yield any_db_url, engine
    engine.dispose()


def _run(url: str, path: Path, capsys) -> tuple[int, str]:
    code = cli.main(["import", str(path), "--db", url])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


GOOD = ("series,date,domestic_share_pct,sector,technology,source,note\n"
        "my_banking_os,2021-Q1,12.5,banking,os,https://example.org/survey,first wave\n"
        "my_banking_os,2021-Q2,15,banking,os,https://example.org/survey,\n"
        "my_yearly,2020,40,,,,\n")

BAD_FILES = {
    # name: (bytes, [(row, fragment of the problem)])
    "unparseable_date": (b"series,date,domestic_share\na,2020-13,0.1\na,20201,0.2\na,2021,0.3\n",
                         [(2, "2020-13"), (3, "20201")]),
    "out_of_range": (b"series,date,domestic_share\na,2020,1.5\na,2021,-0.1\n",
                     [(2, "outside 0-1"), (3, "outside 0-1")]),
    "pct_out_of_range": (b"series,date,domestic_share_pct\na,2020,101\n", [(2, "outside 0-100")]),
    "non_numeric": (b"series,date,domestic_share\na,2020,abc\na,2021,\na,2022,nan\n",
                    [(2, "'abc' is not a number"), (3, "domestic_share is empty"), (4, "'nan' is not a number")]),
    "duplicate_date": (b"series,date,domestic_share\na,2020-01,0.1\nb,2020-01,0.1\na,2020-01,0.2\n",
                       [(4, "duplicate date 2020-01")]),
    "missing_column": (b"series,date\na,2020\n", [(1, "missing column 'domestic_share'")]),
    "missing_series_column": (b"date,domestic_share\n2020,0.1\n", [(1, "missing column 'series'")]),
    "both_value_columns": (b"series,date,domestic_share,domestic_share_pct\na,2020,0.1,10\n", [(1, "not both")]),
    "unknown_column": (b"series,date,domestic_share,sectr\na,2020,0.1,banking\n", [(1, "unknown column 'sectr'")]),
    "empty_file": (b"", [(None, "empty")]),
    "header_only": (b"series,date,domestic_share\n", [(2, "no data rows")]),
    "wrong_encoding": ("series,date,domestic_share,note\na,2020,0.1,ok\na,2021,0.2,café\n".encode("latin-1"),
                       [(3, "not UTF-8")]),
    "utf16": ("series,date,domestic_share\na,2020,0.1\n".encode("utf-16"), [(1, "not UTF-8")]),
    "same_start_date_twice": (b"series,date,domestic_share\na,2020,0.1\na,2020-Q1,0.2\n", [(3, "duplicate date 2020-01-01 (first at row 2")]),
    "unknown_sector": (b"series,date,domestic_share,sector\na,2020,0.1,banks\n", [(2, "sector 'banks' is unknown")]),
    "near_miss_technology": (b"series,date,domestic_share,technology\na,2020,0.1,smartphones\n",
                             [(2, "technology 'smartphones' is unknown (did you mean 'phones'?"),
                              (2, "give its name in a 'technology_name' column")]),
    "new_code_named_twice": (b"series,date,domestic_share,technology,technology_name\n"
                             b"a,2020,0.1,watches,Smartwatches\nb,2020,0.1,watches,Watches\n",
                             [(3, "technology 'watches' is named 'Smartwatches' at row 2 but 'Watches' here")]),
    "new_code_not_a_code": (b"series,date,domestic_share,sector,sector_name\na,2020,0.1,Rail Ways,Railways\n",
                            [(2, "new sector code 'Rail Ways' must be")]),
    "ragged_row": (b"series,date,domestic_share\na,2020,0.1,extra\n", [(2, "4 cells")]),
    "bundled_series": (b"series,date,domestic_share\nbundled_one,2020,0.1\n", [(2, "bundled or pulled data")]),
    # what spreadsheets produce: each gets a hint saying what to change
    "semicolons": (b"series;date;domestic_share\na;2020;0,1\n", [(1, "separated by ';'")]),
    "capitalised_header": (b"Series,date,domestic_share\na,2020,0.1\n", [(1, "did you mean 'series'?")]),
    "percent_sign_and_decimal_comma": (b'series,date,domestic_share_pct\na,2020,12%\na,2021,"12,5"\n',
                                       [(2, "leave out the % sign"), (3, "use a dot as the decimal mark")]),
    "percent_in_fraction_column": (b"series,date,domestic_share\na,2020,45\n", [(2, "'domestic_share_pct' column")]),
    "utf16_excel_unicode_text": ("series,date,domestic_share\na,2020,0.1\n".encode("utf-16"), [(1, "UTF-16")]),
    "missing_file_name": (None, [(None, "cannot read the file")]),
    "value_under_an_unnamed_column": (b"series,date,domestic_share,\na,2020,0.1,x\n", [(2, "column 4, which has no name")]),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_file_is_rejected_with_rows_and_database_unchanged(store, tmp_path, capsys, case):
    url, engine = store
    good = tmp_path / "earlier.csv"
    good.write_text(GOOD, encoding="utf-8")
    assert _run(url, good, capsys)[0] == 0  # the database holds earlier data, which must survive
    before = table_contents(engine)
    content, expected = BAD_FILES[case]
    path = tmp_path / f"{case}.csv"
    if content is not None:
        path.write_bytes(content)
    code, output = _run(url, path, capsys)
    assert code == 4, output
    assert str(path) in output
    lines = output.splitlines()
    for row, fragment in expected:
        where = f"{path}, row {row}:" if row is not None else f"{path}:"
        assert any(line.strip().startswith(where) and fragment in line for line in lines), (row, fragment, output)
    assert table_contents(engine) == before


def test_all_bad_rows_are_reported_not_just_the_first(store, tmp_path, capsys):
    url, _ = store
    path = FIXTURES / "many_bad_rows.csv"
    code, output = _run(url, path, capsys)
    assert code == 4
    reported = sorted({int(line.split(", row ")[1].split(":")[0]) for line in output.splitlines() if ", row " in line})
    assert reported == [3, 4, 6, 7]


def test_good_file_is_stored_with_its_snapshot_and_reimport_is_idempotent(store, tmp_path, capsys):
    url, engine = store
    path = tmp_path / "mine.csv"
    path.write_text(GOOD, encoding="utf-8")
    code, output = _run(url, path, capsys)
    assert code == 0 and "3 added" in output
    with engine.connect() as conn:
        obs = {(r.series_key, r.date): r for r in conn.execute(select(schema.observations))}
        series = {r.key: r for r in conn.execute(select(schema.series))}
        snap = conn.execute(select(schema.snapshots).where(schema.snapshots.c.source == "import")).one()
    assert obs[("my_banking_os", dt.date(2021, 1, 1))].value == pytest.approx(0.125)
    assert obs[("my_banking_os", dt.date(2021, 4, 1))].period_type == "quarter"
    assert obs[("my_banking_os", dt.date(2021, 1, 1))].source_url == "https://example.org/survey"
    assert obs[("my_banking_os", dt.date(2021, 1, 1))].note == "first wave"
    assert obs[("my_yearly", dt.date(2020, 1, 1))].source_url == path.resolve().as_uri()
    assert all(o.snapshot_id == snap.id for o in obs.values())
    assert bytes(snap.content) == path.read_bytes() and snap.url == path.resolve().as_uri()
    assert (series["my_banking_os"].sector, series["my_banking_os"].technology) == ("banking", "os")
    assert series["my_banking_os"].frequency == "quarterly" and series["my_banking_os"].origin == "import"
    assert (series["my_yearly"].sector, series["my_yearly"].frequency) == ("all", "annual")

    before = table_contents(engine)
    assert _run(url, path, capsys)[0] == 0
    assert table_contents(engine) == before

    path.write_text(GOOD.replace("2021-Q2,15,", "2021-Q2,16,"), encoding="utf-8")
    code, output = _run(url, path, capsys)
    assert code == 0 and "1 changed" in output
    with engine.connect() as conn:
        rev = conn.execute(select(schema.observation_revisions)).one()
    assert (rev.old_value, rev.new_value) == pytest.approx((0.15, 0.16))


def test_readme_example_with_mixed_date_forms_is_accepted(store, tmp_path, capsys):
    url, engine = store
    path = tmp_path / "readme.csv"
    path.write_text("series,date,domestic_share_pct,sector,technology,source\n"
                    "bank_core_db,2021,12.5,banking,databases,Internal survey 2022\n"
                    "bank_core_db,2023-Q4,31,banking,databases,Internal survey 2024\n", encoding="utf-8")
    assert _run(url, path, capsys)[0] == 0
    with engine.connect() as conn:
        rows = conn.execute(select(schema.observations.c.date, schema.observations.c.period_type,
                                   schema.observations.c.value).order_by(schema.observations.c.date)).all()
        frequency = conn.execute(select(schema.series.c.frequency).where(schema.series.c.key == "bank_core_db")).scalar_one()
    assert [(d, p) for d, p, _ in rows] == [(dt.date(2021, 1, 1), "year"), (dt.date(2023, 10, 1), "quarter")]
    assert [v for *_, v in rows] == pytest.approx([0.125, 0.31])
    assert frequency == "irregular"


def test_a_spreadsheet_export_with_bom_crlf_and_empty_trailing_columns_is_accepted(store, tmp_path, capsys):
    url, engine = store
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbfseries,date,domestic_share_pct,,\r\nxl,2021,40,,\r\nxl,2022,45.5,,\r\n,,,,\r\n")
    code, output = _run(url, path, capsys)
    assert code == 0 and "2 added" in output, output
    with engine.connect() as conn:
        values = conn.execute(select(schema.observations.c.value).where(schema.observations.c.series_key == "xl")
                              .order_by(schema.observations.c.date)).scalars().all()
    assert values == pytest.approx([0.40, 0.455])


def test_import_needs_an_initialised_database(tmp_path, capsys):
    path = tmp_path / "x.csv"
    path.write_text(GOOD, encoding="utf-8")
    code, output = _run(f"sqlite:///{tmp_path / 'empty.db'}", path, capsys)
    assert code == 3 and "domshare init" in output


def test_declared_codes_are_added_and_fraction_like_percentages_warn(store, tmp_path, capsys):
    url, engine = store
    path = tmp_path / "watches.csv"
    path.write_text("series,date,domestic_share_pct,sector,sector_name,technology,technology_name\n"
                    "rail_watches,2022,0.4,railways,Railways,watches,Smartwatches\n"
                    "rail_watches,2023,0.6,railways,Railways,watches,Smartwatches\n"
                    "rail_watches,2024,35,railways,Railways,watches,Smartwatches\n"
                    "bank_phones,2024,12,banking,Ignored for a known code,phones,\n", encoding="utf-8")
    code = cli.main(["import", str(path), "--db", url])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "new sector codes: railways" in captured.out and "new technology codes: watches" in captured.out
    warning = next(line for line in captured.err.splitlines() if line.startswith("warning:"))
    assert "rows 2, 3:" in warning and "look like fractions" in warning and "'domestic_share'" in warning
    with engine.connect() as conn:
        sectors = dict(conn.execute(select(schema.sectors.c.code, schema.sectors.c.name)).all())
        techs = dict(conn.execute(select(schema.technologies.c.code, schema.technologies.c.name)).all())
        series = conn.execute(select(schema.series).where(schema.series.c.key == "rail_watches")).one()
        values = conn.execute(select(schema.observations.c.value).where(
            schema.observations.c.series_key == "rail_watches").order_by(schema.observations.c.date)).scalars().all()
    assert sectors["railways"] == "Railways" and techs["watches"] == "Smartwatches"
    assert sectors["banking"] == "Banking"  # a known code keeps its own name
    assert (series.sector, series.technology) == ("railways", "watches")
    assert values == pytest.approx([0.004, 0.006, 0.35])  # stored as given: percent
    # Now known: a later file uses the codes without declaring them again.
    later = tmp_path / "later.csv"
    later.write_text("series,date,domestic_share,sector,technology\nrail_watches_2,2024,0.5,railways,watches\n")
    assert cli.main(["import", str(later), "--db", url]) == 0
