"""jobs.store.writes on a real SQLite file and a real PostgreSQL (the rules a frame passes first:
tests/reliability/test_observation_rules.py)."""
from __future__ import annotations

import datetime as dt
import hashlib

import pandas as pd
import pytest
from sqlalchemy import select

from jobs.sources.base import OBSERVATION_COLUMNS
from jobs.store import db, schema, writes


@pytest.fixture
def engine(any_db_url):
    engine = db.make_engine(any_db_url)
    db.upgrade(engine)
    with db.transaction(engine) as conn:
        writes.upsert_sectors(conn, [{"code": "all", "name": "All"}])
        writes.upsert_technologies(conn, [{"code": "chips", "name": "Chips"}])
        writes.upsert_series(conn, [{"key": "s1", "sector": "all", "technology": "chips", "frequency": "annual",
                                     "title": "S1", "source": "test"}])
    yield engine
    engine.dispose()


def _frame(values: dict[int, float]) -> pd.DataFrame:
    return pd.DataFrame([{"series_key": "s1", "date": dt.date(y, 1, 1), "value": v, "period_type": "year",
                          "source_url": f"https://example.org/{y}", "note": None} for y, v in values.items()],
                        columns=OBSERVATION_COLUMNS)


def test_save_snapshot_stores_bytes_and_reuses_identical_payloads(engine):
    content = b"col\n1\n"
    with db.transaction(engine) as conn:
        first = writes.save_snapshot(conn, source="x", url="https://example.org/a.csv", content=content,
                                     http_status=200, media_type="text/csv")
        again = writes.save_snapshot(conn, source="x", url="https://example.org/a.csv", content=content)
        other_source = writes.save_snapshot(conn, source="y", url="u", content=content)
        changed = writes.save_snapshot(conn, source="x", url="u", content=b"col\n2\n")
        row = conn.execute(select(schema.snapshots).where(schema.snapshots.c.id == first)).mappings().one()
    assert first == again and len({first, other_source, changed}) == 3
    assert bytes(row["content"]) == content and row["size"] == len(content)
    assert row["sha256"] == hashlib.sha256(content).hexdigest() and row["http_status"] == 200


def test_upsert_observations_counts_and_revisions(engine):
    with db.transaction(engine) as conn:
        snap1 = writes.save_snapshot(conn, source="t", url="u", content=b"1")
        assert writes.upsert_observations(conn, _frame({2020: 0.1, 2021: 0.2}), snap1) == writes.UpsertCounts(2, 0, 0)
    with db.transaction(engine) as conn:
        snap2 = writes.save_snapshot(conn, source="t", url="u", content=b"2")
        counts = writes.upsert_observations(conn, _frame({2020: 0.1, 2021: 0.25, 2022: 0.3}), snap2)
        assert counts == writes.UpsertCounts(added=1, changed=1, unchanged=1)
        rows = conn.execute(select(schema.observations).order_by(schema.observations.c.date)).mappings().all()
        revisions = conn.execute(select(schema.observation_revisions)).mappings().all()
    assert [(r["value"], r["snapshot_id"]) for r in rows] == [(0.1, snap1), (0.25, snap2), (0.3, snap2)]
    assert len(revisions) == 1
    rev = revisions[0]
    assert (rev["date"], rev["old_value"], rev["old_snapshot_id"], rev["new_value"], rev["new_snapshot_id"]) == (
        dt.date(2021, 1, 1), 0.2, snap1, 0.25, snap2)
    assert rows[0]["source_url"] == "https://example.org/2020"


def test_upsert_rolls_back_with_the_transaction(engine):
    with pytest.raises(RuntimeError):
        with db.transaction(engine) as conn:
            writes.upsert_observations(conn, _frame({2020: 0.5}), None)
            raise RuntimeError("boom")
    with engine.connect() as conn:
        assert writes.table_counts(conn)["observations"] == 0


def test_catalogue_policies_and_targets_upserts(engine):
    with db.transaction(engine) as conn:
        assert writes.upsert_series(conn, [{"key": "s1", "sector": "all", "technology": "chips",
                                            "frequency": "annual", "title": "S1 renamed", "source": "test"}]) \
            == writes.UpsertCounts(0, 1, 0)
        policy = {"id": "P99", "date": dt.date(2020, 1, 1), "date_precision": "year", "title": "T",
                  "summary": "first", "target_share": 0.5}  # extra keys are ignored
        assert writes.upsert_policies(conn, [policy]) == writes.UpsertCounts(1, 0, 0)
        added_at = conn.execute(select(schema.policies.c.added_at)).scalar_one()
        assert writes.upsert_policies(conn, [policy]) == writes.UpsertCounts(0, 0, 1)
        assert writes.upsert_policies(conn, [{**policy, "summary": "second"}]) == writes.UpsertCounts(0, 1, 0)
        assert conn.execute(select(schema.policies.c.added_at)).scalar_one() == added_at
        target = {"id": "P99-all", "policy_id": "P99", "sector": "all", "technology": "chips", "threshold": 0.5,
                  "deadline": dt.date(2025, 12, 31), "series_key": "s1", "measure": "proxy", "measure_reason": "r"}
        assert writes.upsert_targets(conn, pd.DataFrame([target])) == writes.UpsertCounts(1, 0, 0)
        assert writes.upsert_targets(conn, [target]) == writes.UpsertCounts(0, 0, 1)
        assert conn.execute(select(schema.series.c.title)).scalar_one() == "S1 renamed"


def _stored(engine) -> dict:
    obs = schema.observations
    with engine.connect() as conn:
        return {r.date.year: r for r in conn.execute(
            select(obs.c.date, obs.c.value, obs.c.kind, obs.c.value_high, obs.c.quote, obs.c.reliability))}


def test_observation_kinds_quotes_and_reliability_are_stored_and_relabelled_in_place(engine):
    frame = _frame({2020: 0.3, 2021: 0.16}).assign(
        kind=["lower_bound", "range"], value_high=[None, 0.19], quote=["over 30%", "16%-19%"], reliability=["low", None])
    with db.transaction(engine) as conn:
        assert writes.upsert_observations(conn, frame, None).added == 2
    stored = _stored(engine)
    assert (stored[2020].kind, stored[2020].quote, stored[2020].reliability) == ("lower_bound", "over 30%", "low")
    assert (stored[2021].kind, stored[2021].value, stored[2021].value_high) == ("range", 0.16, 0.19)
    # the same values described better: updated in place, no revision; a new range end is a revision
    with db.transaction(engine) as conn:
        counts = writes.upsert_observations(conn, frame.assign(quote=["über 30%", "16%-19%"], value_high=[None, 0.2]), None)
        revisions = conn.execute(select(schema.observation_revisions)).all()
    assert (counts.added, counts.changed, counts.unchanged) == (0, 1, 1) and len(revisions) == 1
    stored = _stored(engine)
    assert stored[2020].quote == "über 30%" and stored[2021].value_high == 0.2
    # a frame without the evidence columns stores exact values
    with db.transaction(engine) as conn:
        writes.upsert_observations(conn, _frame({2022: 0.5}), None)
    assert _stored(engine)[2022].kind == "exact"
