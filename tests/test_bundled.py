"""The bundled data folder and `domshare init` (idempotent, on SQLite and PostgreSQL)."""
from __future__ import annotations

import csv
import hashlib
import io
import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import delete, func, select

from jobs import cli
from jobs.bundled import init_database
from jobs.errors import InvalidData
from jobs.store import db, read, schema, writes
from store_contents import table_contents

DATA = Path(__file__).resolve().parent.parent / "data"


def _csv(name: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO((DATA / name).read_text(encoding="utf-8"))))


def test_manifest_readme_and_files_agree():
    manifest = _csv("manifest.csv")
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    listed = {r["path"] for r in manifest}
    on_disk = {str(p.relative_to(DATA)) for folder in ("raw", "transcribed") for p in (DATA / folder).rglob("*")
               if p.is_file() and p.name != "CHECKSUMS.md5"} | {"policies.csv", "policies_new.csv"}
    assert listed == on_disk
    assert sum(r["path"].startswith("raw/top500/") for r in manifest) == 67
    for r in manifest:
        content = (DATA / r["path"]).read_bytes()
        assert hashlib.sha256(content).hexdigest() == r["sha256"], r["path"]
        assert int(r["size"]) == len(content)
        assert f"`{r['path']}`" in readme and r["sha256"] in readme, r["path"]
        assert r["url"] and r["licence"] and r["accessed"] and r["publisher"]


def test_raw_files_match_the_collectors_md5_list():
    for line in (DATA / "raw" / "CHECKSUMS.md5").read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        assert hashlib.md5((DATA / name).read_bytes()).hexdigest() == digest, name


def test_mapping_and_catalogue_rows_give_reasons():
    for row in _csv("top500_manufacturer_origin.csv"):
        assert row["origin"] in ("chinese", "foreign", "mixed") and row["reason"].strip(), row
    for row in _csv("statcounter_vendor_origin.csv"):
        assert row["origin"] in ("domestic", "foreign", "ambiguous", "excluded") and row["reason"].strip(), row
    excluded = {r["vendor"] for r in _csv("statcounter_vendor_origin.csv") if r["origin"] == "excluded"}
    assert excluded == {"Unknown", "Other", "White Label"}
    sectors = {r["code"]: r["wave"] for r in _csv("sectors.csv")}
    assert {k for k, v in sectors.items() if v == "2014 plan"} == {"banking", "soe", "government", "military"}
    assert {k for k, v in sectors.items() if v == "later"} == {
        "telecom", "energy", "finance", "transport", "education", "healthcare"}
    policies = _csv("policies.csv") + _csv("policies_new.csv")  # every code a page shows has a name
    used = {s for r in policies for s in r["sectors"].split(";")}
    assert used <= set(sectors), used - set(sectors)
    techs = {r["code"] for r in _csv("technologies.csv")}
    assert {t for r in policies for t in r["technology"].split(";")} <= techs
    for r in _csv("series.csv"):
        assert r["sector"] in sectors and r["technology"] in techs and r["caveat"] and r["source"]


def test_init_twice_is_a_no_op_on_both_databases(any_db_url):
    engine = db.make_engine(any_db_url)
    try:
        first = init_database(engine, DATA)
        assert first.changed_anything and first.warnings == []
        before = table_contents(engine)
        second = init_database(engine, DATA)
        assert not second.changed_anything
        assert second.files_skipped == second.files == len(_csv("manifest.csv"))  # nothing parsed again
        assert table_contents(engine) == before
        _check_loaded(engine)
        _check_pulled_values_survive_a_rerun(engine)
    finally:
        engine.dispose()


def _check_loaded(engine) -> None:
    with engine.connect() as conn:
        counts = writes.table_counts(conn)
        assert counts["policies"] == len(_csv("policies.csv")) + len(_csv("policies_new.csv"))
        assert counts["snapshots"] == len(_csv("manifest.csv")) + 1  # + the record of the other inputs
        series = conn.execute(select(schema.series)).mappings().all()
        domestic = [s for s in series if s["kind"] == "domestic_share"]
        assert len(domestic) >= 6
        # independent sources = distinct named publishers of domestic-share series
        assert len({s["publisher"] for s in domestic if s["publisher"]}) >= 4
        # every observation is traceable: a provenance link and a stored snapshot
        obs = schema.observations
        assert conn.execute(select(func.count()).select_from(obs).where(
            (obs.c.source_url.is_(None)) | (obs.c.snapshot_id.is_(None)))).scalar_one() == 0
        assert conn.execute(select(func.min(obs.c.value), func.max(obs.c.value))).one()[0] >= 0
        assert conn.execute(select(func.max(obs.c.value))).scalar_one() <= 1
        for snap in conn.execute(select(schema.snapshots)).mappings():
            assert hashlib.sha256(bytes(snap["content"])).hexdigest() == snap["sha256"]
        # TOP500: every list with China-installed systems gives an observation, linked to its workbook
        top = conn.execute(select(obs.c.date, schema.snapshots.c.note).join(
            schema.snapshots, schema.snapshots.c.id == obs.c.snapshot_id).where(
            obs.c.series_key == "supercomputers_top500_chinese_vendor_share")).all()
        assert len(top) == 67
        assert all(f"TOP500_{d:%Y%m}" in note for d, note in top)
        # the newer StatCounter export revised the older one: revisions point at both snapshots
        revisions = conn.execute(select(schema.observation_revisions)).mappings().all()
        assert revisions and {r["series_key"] for r in revisions} == {"phones_usage_statcounter_domestic_share"}
        notes = dict(conn.execute(select(schema.snapshots.c.id, schema.snapshots.c.note)).all())
        assert all("201911" in notes[r["old_snapshot_id"]] and "202404" in notes[r["new_snapshot_id"]]
                   for r in revisions)
        p15 = conn.execute(select(schema.policies).where(schema.policies.c.id == "P15")).mappings().one()
        assert (p15["date"].isoformat(), p15["date_precision"]) == ("2020-01-01", "year")
        # a deadline is kept also where the policy sets no share target (P03: by 2019)
        deadlines = dict(conn.execute(select(schema.policies.c.id, schema.policies.c.deadline)).all())
        expected = {r["id"]: r["deadline"] or None for r in _csv("policies.csv") + _csv("policies_new.csv")}
        assert {k: v and v.isoformat() for k, v in deadlines.items()} == expected
        assert deadlines["P03"] == dt.date(2019, 12, 31) and deadlines["P01"] is None
        thresholds = dict(conn.execute(select(schema.targets.c.id, schema.targets.c.threshold)).all())
        assert [thresholds[f"P1{i}-government-all"] for i in (1, 2, 3)] == pytest.approx([0.3, 0.8, 1.0])
        p05 = conn.execute(select(schema.targets).where(schema.targets.c.policy_id == "P05")).mappings().all()
        assert {t["sector"] for t in p05} == {"banking", "military", "soe", "government"}
        assert all(t["threshold"] == 0.5 and t["encoding"] and t["measure_reason"] for t in p05)
        assert all(t["missing_evidence"] for t in p05 if t["measure"] is None)
        _check_evidence(conn)


def _check_evidence(conn) -> None:
    """The PROVENANCE_2/3 evidence: new series across technologies, every number with its
    source's words and link, low reliability labelled, claims stored."""
    obs, series, snaps = schema.observations, schema.series, schema.snapshots
    evidence_files = {f"bundled file data/{r['path']}" for r in _csv("manifest.csv") if r["parser"] == "evidence"}
    rows = conn.execute(select(obs.c.series_key, obs.c.kind, obs.c.quote, obs.c.source_url, obs.c.reliability,
                               series.c.technology, snaps.c.note)
                        .join(series, series.c.key == obs.c.series_key)
                        .join(snaps, snaps.c.id == obs.c.snapshot_id)).mappings().all()
    new = [r for r in rows if r["note"].split(";")[0] in evidence_files]
    assert {r["key"] for r in _csv("series.csv")} == {r["series_key"] for r in rows}  # no empty catalogue row
    assert len({r["series_key"] for r in new}) >= 8 and len({r["technology"] for r in new}) >= 5
    assert all(r["quote"] and r["source_url"].startswith("http") for r in new)
    assert {"exact", "approximate", "lower_bound", "upper_bound", "range"} <= {r["kind"] for r in new}
    assert {r["series_key"] for r in new if r["reliability"] == "low"} >= {"pcs_government_catalogue_domestic_share_claimed"}
    harmony = read.observation_evidence(conn, ["os_mobile_harmonyos_share_counterpoint"]).set_index("period")
    assert harmony.loc["2025-Q1", ["kind", "value", "value_high"]].tolist() == ["range", 0.16, 0.19]
    assert harmony["quote"].notna().all() and harmony["source_url"].str.startswith("http").all()
    cards = read.target_evidence(conn).set_index("target_id")
    assert cards.loc["P05-banking", ["threshold", "measure", "series"]].tolist() == [0.5, None, None]
    assert "majority" in cards.loc["P05-banking", "encoding"] and cards.loc["P05-banking", "missing_evidence"]
    assert cards.loc["P17-soe-databases", ["measure", "bias"]].tolist() == ["proxy", "under"]
    assert cards.loc["N08-finance", "claim"] == "claimed" and cards["policy_url"].notna().all()
    claims = dict(conn.execute(select(schema.policies.c.id, schema.policies.c.claim)).all())
    assert claims["N06"] == "unofficial" and claims["P05"] == "claimed" and claims["P03"] == "official"


def _check_pulled_values_survive_a_rerun(engine) -> None:
    key, month = "phones_usage_statcounter_domestic_share", dt.date(2024, 4, 1)
    with db.transaction(engine) as conn:
        snap = writes.save_snapshot(conn, source="statcounter-live", url="https://gs.statcounter.com/x", content=b"live")
        frame = pd.DataFrame([{"series_key": key, "date": month, "value": 0.5, "period_type": "month",
                               "source_url": "https://gs.statcounter.com/x", "note": None}])
        assert writes.upsert_observations(conn, frame, snap).changed == 1
    third = init_database(engine, DATA)
    assert not third.changed_anything and third.files_skipped == third.files
    # as after an upgrade of domshare (new parser code): every file is parsed again, and the
    # pulled value still wins over the bundled copy
    with db.transaction(engine) as conn:
        conn.execute(delete(schema.snapshots).where(schema.snapshots.c.source == "bundled-inputs"))
    fourth = init_database(engine, DATA)
    assert fourth.files_skipped == 0 and fourth.kept_newer == 1
    assert (fourth.observations.added, fourth.observations.changed) == (0, 0)
    with engine.connect() as conn:
        obs = schema.observations
        assert conn.execute(select(obs.c.value).where(obs.c.series_key == key, obs.c.date == month)).scalar_one() == 0.5


def test_a_changed_mapping_table_is_applied_by_the_next_init(tmp_path, sqlite_url):
    """Raw files already stored are parsed again when a table that decides their meaning changes."""
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    engine = db.make_engine(sqlite_url)
    try:
        init_database(engine, data)
        mapping = data / "statcounter_vendor_origin.csv"
        mapping.write_text(mapping.read_text(encoding="utf-8").replace("Xiaomi,domestic,", "Xiaomi,foreign,"),
                           encoding="utf-8")
        again = init_database(engine, data)
        assert again.files_skipped == 0 and again.observations.changed > 100
        assert not init_database(engine, data).changed_anything
    finally:
        engine.dispose()


def test_a_new_copy_of_a_bundled_file_replaces_the_old_copys_values(tmp_path, sqlite_url):
    """A release that corrects a bundled file: its values and descriptions replace those of
    the old copy (an earlier bundled snapshot is not a pull to be protected)."""
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    path, key = data / "transcribed" / "china_cpu_share.csv", "servers_cpu_domestic_share_china_telecom"
    engine = db.make_engine(sqlite_url)
    try:
        init_database(engine, data)
        path.write_text(path.read_text(encoding="utf-8").replace(
            "centralized server procurement %,19.9,", "centralized server procurement %,~19.9,"), encoding="utf-8")
        manifest = data / "manifest.csv"
        rows = _csv("manifest.csv")
        for r in rows:
            if r["path"] == "transcribed/china_cpu_share.csv":
                r["sha256"], r["size"] = hashlib.sha256(path.read_bytes()).hexdigest(), str(path.stat().st_size)
        with open(manifest, "w", newline="", encoding="utf-8") as out:
            writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        again = init_database(engine, data)
        assert again.kept_newer == 0
        with engine.connect() as conn:
            obs = schema.observations
            kind = conn.execute(select(obs.c.kind).where(obs.c.series_key == key, obs.c.date == dt.date(2020, 1, 1)))
            assert kind.scalar_one() == "approximate"
    finally:
        engine.dispose()


def test_init_command_twice_prints_a_summary(sqlite_url, capsys):
    assert cli.main(["init", "--db", sqlite_url]) == 0
    out = capsys.readouterr().out
    assert "policies: 29 added" in out and "bundled data loaded" in out
    assert cli.main(["init", "--db", sqlite_url]) == 0
    assert "nothing to do" in capsys.readouterr().out


def test_a_changed_bundled_file_is_refused_and_nothing_is_written(tmp_path, sqlite_url):
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    target = data / "transcribed" / "china_ic_self_sufficiency.csv"
    target.write_bytes(target.read_bytes().replace(b"15.9", b"19.5"))
    engine = db.make_engine(sqlite_url)
    try:
        with pytest.raises(InvalidData, match="china_ic_self_sufficiency.csv"):
            init_database(engine, data)
        with engine.connect() as conn:
            assert all(v == 0 for k, v in writes.table_counts(conn).items() if k != "alembic_version")
    finally:
        engine.dispose()


def test_a_folder_that_is_not_a_data_folder_is_a_clear_error_and_creates_nothing(tmp_path, capsys):
    db_path = tmp_path / "store.db"
    assert cli.main(["init", "--db", f"sqlite:///{db_path}", "--data-dir", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert "nowhere is not a domshare data folder" in err and "Traceback" not in err
    assert not db_path.exists()
