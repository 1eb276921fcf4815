"""`domshare import-targets`: a user's own policies and targets, all or nothing. Each bad row
is named with its row number and the database is exactly as before; a good file is stored
as user-supplied with its snapshot, and importing it again changes nothing."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from jobs import cli
from jobs.store import db, schema, writes
from jobs.targets_import import period_end
from store_contents import table_contents, write_catalogue

HEADER = "policy_id,title,issuer,date,sector,technology,threshold,deadline,series,measure,reason"


@pytest.fixture
def store(any_db_url):
    """The real sector/technology catalogue, two series and one curated policy with a target."""
    engine = db.make_engine(any_db_url)
    db.upgrade(engine)
    with db.transaction(engine) as conn:
        write_catalogue(conn)
        writes.upsert_series(conn, [
            {"key": "os_share", "sector": "all", "technology": "os", "frequency": "annual", "title": "OS",
             "source": "bundled", "origin": "bundled"},
            {"key": "trade_context", "sector": "all", "technology": "trade", "frequency": "annual",
             "title": "Trade", "source": "bundled", "kind": "context"}])
        writes.upsert_policies(conn, [{"id": "P04", "title": "Curated", "date": dt.date(2014, 12, 26)}])
        writes.upsert_targets(conn, [{"id": "P04-banking", "policy_id": "P04", "sector": "banking",
                                      "technology": "all", "threshold": 0.75, "deadline": dt.date(2019, 12, 31)}])
    yield any_db_url, engine
    engine.dispose()


def _run(url: str, path: Path, capsys) -> tuple[int, str]:
    code = cli.main(["import-targets", str(path), "--db", url])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


GOOD = (HEADER + ",url,bias\n"
        "U01,Provincial plan: 信创 in banks,Guangdong DRC,2023-05,banking,os,0.5,2027,os_share,proxy,"
        "national OS share for banks' desktops,https://example.org/plan,over\n"
        "U01,Provincial plan: 信创 in banks,Guangdong DRC,2023-05,government,os,0.8,2026-Q2,os_share,direct,"
        "the same quantity,https://example.org/plan,\n"
        "U02,=Ministry draft,MIIT,2024-03-01,soe,office_software,1,2030-12-31,,none,"
        "no series of SOE office-software share,,\n")


def test_good_file_is_stored_as_user_supplied_with_its_snapshot(store, tmp_path, capsys):
    url, engine = store
    path = tmp_path / "mine.csv"
    path.write_text(GOOD, encoding="utf-8")
    code, output = _run(url, path, capsys)
    assert code == 0, output
    assert "policies: 2 added" in output and "targets: 3 added" in output
    with engine.connect() as conn:
        policies = {r.id: r for r in conn.execute(select(schema.policies))}
        targets = {r.id: r for r in conn.execute(select(schema.targets))}
        snap = conn.execute(select(schema.snapshots).where(schema.snapshots.c.source == "import-targets")).one()
    u01 = policies["U01"]
    assert (u01.review_status, u01.claim, u01.date, u01.date_precision) == ("user", "claimed", dt.date(2023, 5, 1), "month")
    assert (u01.title, u01.issuer, u01.url) == ("Provincial plan: 信创 in banks", "Guangdong DRC", "https://example.org/plan")
    assert (u01.sectors, u01.technologies, u01.snapshot_id) == ("banking;government", "os", snap.id)
    assert policies["U02"].title == "=Ministry draft" and policies["P04"].review_status == "curated"
    banks = targets["U01-banking-os"]
    assert (banks.origin, banks.measure, banks.bias, banks.series_key) == ("user", "proxy", "over", "os_share")
    assert (banks.threshold, banks.deadline) == (0.5, dt.date(2027, 12, 31))
    assert banks.measure_reason == "national OS share for banks' desktops" and "row 2" in banks.encoding
    assert targets["U01-government-os"].deadline == dt.date(2026, 6, 30)
    assert targets["U01-government-os"].bias is None
    none = targets["U02-soe-office_software"]
    assert (none.measure, none.series_key, none.missing_evidence) == (None, None, "no series of SOE office-software share")
    assert bytes(snap.content) == path.read_bytes()

    before = table_contents(engine)
    assert _run(url, path, capsys)[0] == 0
    assert table_contents(engine) == before


def test_threshold_pct_is_a_percent(store, tmp_path, capsys):
    url, engine = store
    path = tmp_path / "pct.csv"
    path.write_text(HEADER.replace("threshold,", "threshold_pct,") + "\n"
                    "U05,Plan,Issuer,2024,banking,os,75,2027-06,os_share,direct,same quantity\n")
    assert _run(url, path, capsys)[0] == 0
    with engine.connect() as conn:
        row = conn.execute(select(schema.targets).where(schema.targets.c.id == "U05-banking-os")).one()
    assert row.threshold == pytest.approx(0.75) and row.deadline == dt.date(2027, 6, 30)


def row(**cells) -> str:
    base = {"policy_id": "U09", "title": "Plan", "issuer": "Issuer", "date": "2024", "sector": "banking",
            "technology": "os", "threshold": "0.5", "deadline": "2027", "series": "os_share",
            "measure": "direct", "reason": "same quantity"}
    base.update(cells)
    return ",".join(base[c] for c in HEADER.split(",")) + "\n"


BAD_FILES = {
    # name: (file text, [(row, fragment of the problem)])
    "unknown_series": (HEADER + "\n" + row() + row(sector="government", series="os_shares"),
                       [(3, "series 'os_shares' is not in the store")]),
    "context_series": (HEADER + "\n" + row(series="trade_context"), [(2, "series 'trade_context' is not in the store")]),
    "threshold_over_one": (HEADER + "\n" + row(threshold="75"), [(2, "outside (0, 1]"), (2, "'threshold_pct' column")]),
    "threshold_zero": (HEADER + "\n" + row(threshold="0"), [(2, "outside (0, 1]")]),
    "deadline_unparseable": (HEADER + "\n" + row() + row(sector="soe", deadline="end of 2027"),
                             [(3, "deadline: date 'end of 2027' is not YYYY")]),
    "deadline_before_date": (HEADER + "\n" + row(date="2028"), [(2, "deadline 2027-12-31 is before")]),
    "duplicate_target_id": (HEADER + "\n" + row() + row(threshold="0.7"),
                            [(3, "duplicate target id 'U09-banking-os' (first at row 2)")]),
    "curated_policy_id": (HEADER + "\n" + row(policy_id="P04"), [(2, "policy id 'P04' is taken by a curated policy")]),
    "policy_disagrees": (HEADER + "\n" + row() + row(sector="soe", title="Other title"),
                         [(3, "policy 'U09' has another title at row 2")]),
    "near_miss_technology": (HEADER + "\n" + row(technology="smartphones"), [(2, "did you mean 'phones'?")]),
    "bad_measure": (HEADER + "\n" + row(measure="indirect"), [(2, "measure 'indirect' is not one of")]),
    "proxy_without_reason": (HEADER + "\n" + row(measure="proxy", reason=""), [(2, "a proxy needs a reason")]),
    "none_with_series": (HEADER + "\n" + row(measure="none"), [(2, "measure none takes no series")]),
    "missing_column": ("policy_id,title\nU1,x\n", [(1, "missing column 'deadline'"), (1, "missing column 'threshold'")]),
    "header_only": (HEADER + "\n", [(2, "no data rows")]),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_rows_are_rejected_with_row_numbers_and_the_store_unchanged(store, tmp_path, capsys, case):
    url, engine = store
    earlier = tmp_path / "earlier.csv"
    earlier.write_text(GOOD, encoding="utf-8")
    assert _run(url, earlier, capsys)[0] == 0  # earlier user targets must survive
    before = table_contents(engine)
    text, expected = BAD_FILES[case]
    path = tmp_path / f"{case}.csv"
    path.write_text(text, encoding="utf-8")
    code, output = _run(url, path, capsys)
    assert code == 4, output
    lines = output.splitlines()
    for number, fragment in expected:
        where = f"{path}, row {number}:"
        assert any(line.strip().startswith(where) and fragment in line for line in lines), (number, fragment, output)
    assert table_contents(engine) == before


@pytest.mark.parametrize("label, end", [("2027", dt.date(2027, 12, 31)), ("2024-Q1", dt.date(2024, 3, 31)),
                                        ("2024-02", dt.date(2024, 2, 29)), ("2025-07-01", dt.date(2025, 7, 1))])
def test_a_deadline_period_ends_on_its_last_day(label, end):
    assert period_end(label) == end
