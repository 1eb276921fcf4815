"""The one observation rule set (jobs.validate) at every entry point: `domshare import`
(SQLite and PostgreSQL), a pull, and the bundled load (`domshare init`). Each case asserts
the exit code, that the message names the input, the row or item and the problem, and that
the store is exactly as before. Dates are relative to today, so the cases never expire."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from local_server import RAW, Reply, catalogue_store
from jobs.cli import main
from jobs.errors import InvalidData
from jobs.settings import REPO_DATA_DIR
from jobs.sources.registry import KINDS, PULL_KINDS, module_for
from jobs.store import db
from jobs.validate import check_observations, latest_date, parse_number
from store_contents import table_contents

TODAY = dt.datetime.now(dt.timezone.utc).date()
NEXT_MONTH = latest_date(TODAY)
MONTH_AFTER_NEXT = latest_date(NEXT_MONTH)
THREE_MONTHS_ON = latest_date(MONTH_AFTER_NEXT)  # "next month + 2"
HEADER = "series,date,domestic_share_pct,sector,technology,note\n"


def _import(url: str, path, capsys) -> tuple[int, str]:
    code = main(["import", str(path), "--db", url])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


IMPORT_CASES = [  # (id, date cell, value cell, note cell, problem)
    ("year 2099", "2099", "12", "", "date 2099-01-01 is after"),
    ("month after next", f"{MONTH_AFTER_NEXT:%Y-%m}", "12", "", f"date {MONTH_AFTER_NEXT} is after {NEXT_MONTH}"),
    ("next month + 2", f"{THREE_MONTHS_ON:%Y-%m}", "12", "", f"date {THREE_MONTHS_ON} is after"),
    ("a day in the future", f"{MONTH_AFTER_NEXT + dt.timedelta(days=3):%Y-%m-%d}", "12", "", "cannot have been observed"),
    ("year 1066", "1066", "12", "", "date 1066-01-01 is before 1950"),
    ("year 0001", "0001", "12", "", "date 0001-01-01 is before 1950"),
    ("december 1949", "1949-12", "12", "", "date 1949-12-01 is before 1950"),
    ("1_0 is no ten", "2021", "1_0", "", "domestic_share_pct '1_0' is not a number"),
    ("infinity", "2021", "inf", "", "domestic_share_pct 'inf' is not a number"),
    ("hex", "2021", "0x10", "", "domestic_share_pct '0x10' is not a number"),
    ("NUL in a note", "2021", "12", "survey\x00 2022", "control character U+0000"),
    ("escape in a note", "2021", "12", "\x1b[31mred", "control character U+001B"),
    ("bad key", "2021", "12", "", "series 'mine db' must be 1-120 letters"),
]


@pytest.fixture
def import_store(any_db_url):
    engine = catalogue_store(any_db_url)
    yield any_db_url, engine
    engine.dispose()


@pytest.mark.parametrize("date, value, note, problem", [c[1:] for c in IMPORT_CASES], ids=[c[0] for c in IMPORT_CASES])
def test_an_import_breaking_a_rule_is_refused_naming_file_row_and_problem(import_store, tmp_path, capsys,
                                                                         date, value, note, problem):
    url, engine = import_store
    key = "mine db" if problem.startswith("series 'mine db'") else "mine_db"
    path = tmp_path / "mine.csv"
    path.write_text(HEADER + f"mine_db,2020,10,banking,databases,\n{key},{date},{value},banking,databases,{note}\n",
                    encoding="utf-8")
    before = table_contents(engine)
    code, message = _import(url, path, capsys)
    assert code == 4, message
    assert message.startswith("error: ") and "Traceback" not in message
    assert any(line.strip().startswith(f"{path}, row 3: ") and problem in line for line in message.splitlines()), message
    assert table_contents(engine) == before


def test_the_boundaries_1950_and_next_month_are_accepted(import_store, tmp_path, capsys):
    url, engine = import_store
    path = tmp_path / "edges.csv"
    path.write_text(HEADER + f"mine_db,1950,10,banking,databases,\nmine_db,{NEXT_MONTH:%Y-%m},12,banking,databases,\n",
                    encoding="utf-8")
    code, message = _import(url, path, capsys)
    assert code == 0, message
    dates = sorted(row[2] for row in table_contents(engine)["observations"])
    assert dates == [dt.date(1950, 1, 1), NEXT_MONTH]


def test_a_pulled_month_in_the_future_or_a_1_0_cell_fails_the_pull(store_url, server, tmp_path, capsys):
    csv = (RAW / "statcounter" / "vendor-CN-monthly-201003-202404.csv").read_bytes()
    future = csv.replace(b"\n2024-04,", f"\n{THREE_MONTHS_ON:%Y-%m},".encode(), 1)
    underscore = csv.replace(b"\n2024-04,22.4,", b"\n2024-04,2_2.4,", 1)
    server.set("/future.csv", Reply(future))
    server.set("/underscore.csv", Reply(underscore))
    sources = tmp_path / "sources.toml"
    sources.write_text("".join(f'[[sources]]\nname = "{name}"\nkind = "statcounter"\nurl = "{server.url}/{name}.csv"\n'
                               f'[sources.http]\nattempts = 1\n' for name in ("future", "underscore")))
    engine = db.make_engine(store_url)
    before = table_contents(engine)
    assert main(["pull", "--db", store_url, "--sources", str(sources), "future"]) == 5
    out = capsys.readouterr().out
    assert f"future failed (InvalidData)" in out and f"{server.url}/future.csv" in out
    assert f"date {THREE_MONTHS_ON} is after {NEXT_MONTH}" in out and "item " in out
    assert main(["pull", "--db", store_url, "--sources", str(sources), "underscore"]) == 5
    out = capsys.readouterr().out
    assert "underscore failed (InvalidData)" in out and "'2_2.4' is not a number" in out
    after = table_contents(engine)
    engine.dispose()
    for table in set(after) - {"pulls", "snapshots"}:  # a failed pull keeps its row and payload only
        assert after[table] == before[table], table


def test_the_bundled_load_passes_through_the_same_rules(tmp_path, capsys, bundled_data_dir):
    relative = "raw/statcounter/vendor-CN-monthly-201003-202404.csv"
    content = (REPO_DATA_DIR / relative).read_bytes().replace(b"\n2024-04,", b"\n2099-04,", 1)
    data = bundled_data_dir(relative, content)
    url = f"sqlite:///{tmp_path / 'store.db'}"
    assert main(["init", "--db", url, "--data-dir", str(data)]) == 4
    err = capsys.readouterr().err
    assert f"data/{relative}: 1 invalid observation(s); nothing was stored" in err
    assert "item " in err and "date 2099-04-01 is after" in err
    engine = db.make_engine(url)
    contents = table_contents(engine)
    engine.dispose()
    assert not any(rows for name, rows in contents.items() if name != "alembic_version"), \
        {name: len(rows) for name, rows in contents.items() if rows}


# ---- the rules themselves, on a frame (what every entry point hands to jobs.validate) --------

def _frame(**change) -> pd.DataFrame:
    row = {"series_key": "s", "date": dt.date(2021, 1, 1), "value": 0.3, "period_type": "year",
           "source_url": None, "note": None, **change}
    return pd.DataFrame([row])


@pytest.mark.parametrize("change, units, problem", [
    ({"value": float("nan")}, "share", "value nan is not a finite number"),
    ({"value": float("inf")}, "share", "value inf is not a finite number"),
    ({"value": "1_0"}, "share", "value '1_0' is not a finite number"),
    ({"value": 1.2}, "share", "value 1.2 is outside 0-1"),
    ({"value": -0.01}, "fraction", "value -0.01 is outside 0-1"),
    ({"date": None}, "share", "no date"),
    ({"date": "not a date"}, "share", "no date"),
    ({"series_key": "s/../x"}, "share", "series 's/../x' must be"),
    ({"series_key": "unknown"}, "share", "unknown series 'unknown'"),
    ({"quote": "a\x07bell", "kind": "exact"}, "share", "quote: control character U+0007"),
    ({"kind": "guess"}, "share", "kind 'guess' is not one of"),
    ({"kind": "range"}, "share", "a range needs value_high"),
    ({"kind": "range", "value_high": 0.1}, "share", "a range needs value_high"),
    ({"reliability": "dubious"}, "share", "reliability 'dubious'"),
])
def test_each_rule_names_the_item_and_the_problem(change, units, problem):
    with pytest.raises(InvalidData) as raised:
        check_observations(_frame(**change), "probe", {"s": units}, today=dt.date(2026, 12, 1))
    assert raised.value.problems[0][0] == "probe" and raised.value.problems[0][2].startswith("item 1: ")
    assert problem in str(raised.value), str(raised.value)


def test_a_value_of_another_declared_unit_needs_only_be_finite():
    check_observations(_frame(value=1234.5), "probe", {"s": "USD"})
    with pytest.raises(InvalidData, match="not a finite number"):
        check_observations(_frame(value=float("inf")), "probe", {"s": "USD"})


def test_one_value_per_series_and_date_and_all_problems_at_once():
    frame = pd.concat([_frame(), _frame(value=0.4), _frame(value=2.0, date=dt.date(2022, 1, 1))])
    with pytest.raises(InvalidData) as raised:
        check_observations(frame, "probe", {"s": "share"}, rows=[5, 6, 7])
    assert [(row, text) for _, row, text in raised.value.problems] == [
        (6, "s: duplicate date 2021-01-01 (first at row 5; periods are stored by their first day)"),
        (7, "s: value 2 is outside 0-1")]


@pytest.mark.parametrize("cell, number", [("12.5", 12.5), (" 3 ", 3.0), ("1e-2", 0.01), (".5", 0.5), (7, 7.0),
                                          ("1_0", None), ("nan", None), ("Infinity", None), ("", None),
                                          ("1,5", None), (True, None), (float("nan"), None)])
def test_numbers_are_read_in_plain_decimal_notation_only(cell, number):
    assert parse_number(cell) == number


def test_the_current_period_plus_one_is_the_first_day_of_next_month():
    assert latest_date(dt.date(2026, 12, 31)) == dt.date(2027, 1, 1)
    assert latest_date(dt.date(2026, 1, 1)) == dt.date(2026, 2, 1)


# ---- one table of source kinds, for `init` and `pull` ---------------------------------------

def test_a_manifest_parser_that_is_no_source_kind_is_named(tmp_path, capsys, bundled_data_dir):
    relative = "raw/statcounter/vendor-CN-monthly-201003-202404.csv"
    data = bundled_data_dir(relative, (REPO_DATA_DIR / relative).read_bytes(), parser="statcountr")
    url = f"sqlite:///{tmp_path / 'store.db'}"
    assert main(["init", "--db", url, "--data-dir", str(data)]) == 4
    err = capsys.readouterr().err
    assert "data/manifest.csv, row 2: parser 'statcountr'" in err and "is no source kind (known: " in err


def test_every_kind_init_or_pull_names_resolves_through_the_one_table():
    manifest = {row.split(",")[2] for row in (REPO_DATA_DIR / "manifest.csv").read_text().splitlines()[1:]}
    assert manifest <= set(KINDS)
    for name, kind in KINDS.items():
        module = module_for(name)
        assert callable(module.parse)
        assert callable(getattr(module, "fetch", None)) == (name in PULL_KINDS), name


def test_every_module_that_writes_observations_applies_the_rules():
    """No entry point around jobs.validate: a module of jobs/ that calls
    writes.upsert_observations imports jobs.validate (the store's writer itself checks nothing)."""
    import ast
    from pathlib import Path

    writers, unchecked = [], []
    for path in sorted((Path(__file__).resolve().parents[2] / "jobs").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        calls = any(isinstance(n, ast.Attribute) and n.attr == "upsert_observations"
                    and isinstance(n.ctx, ast.Load) for n in ast.walk(tree))
        if not calls or path.name == "writes.py":
            continue
        writers.append(path.name)
        uses_rules = any((isinstance(n, ast.ImportFrom) and n.module == "jobs.validate")
                         or (isinstance(n, ast.ImportFrom) and n.module == "jobs"
                             and any(a.name == "validate" for a in n.names)) for n in ast.walk(tree))
        if not uses_rules:
            unchecked.append(path.name)
    assert {"bundled.py", "importer.py", "pull.py"} <= set(writers) and unchecked == []
