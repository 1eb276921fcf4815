"""Migrations on real SQLite files and a real PostgreSQL server."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from jobs.store import db, schema


def test_upgrade_from_empty_creates_every_table(any_db_url):
    engine = db.make_engine(any_db_url)
    assert not db.is_initialised(engine)
    db.upgrade(engine)
    assert db.current_revision(engine) == db.head_revision()
    tables = set(inspect(engine).get_table_names())
    assert set(schema.metadata.tables) <= tables
    engine.dispose()


def test_upgrade_twice_is_a_no_op(any_db_url):
    engine = db.make_engine(any_db_url)
    db.upgrade(engine)
    before = {t: [c["name"] for c in inspect(engine).get_columns(t)] for t in inspect(engine).get_table_names()}
    db.upgrade(engine)
    after = {t: [c["name"] for c in inspect(engine).get_columns(t)] for t in inspect(engine).get_table_names()}
    assert before == after
    assert db.current_revision(engine) == db.head_revision()
    engine.dispose()


def test_migrations_match_the_schema_module(any_db_url):
    """The Alembic history and jobs/store/schema.py describe the same database."""
    engine = db.make_engine(any_db_url)
    db.upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), schema.metadata)
    assert diff == []
    engine.dispose()


def test_postgres_urls_use_psycopg3():
    assert db.normalise_url("postgresql://u@h/d") == "postgresql+psycopg://u@h/d"
    assert db.normalise_url("postgres://u@h/d") == "postgresql+psycopg://u@h/d"
    assert db.normalise_url("sqlite:///x.db") == "sqlite:///x.db"


def test_asking_about_a_missing_sqlite_file_does_not_create_it(tmp_path):
    path = tmp_path / "absent.db"
    assert not db.is_initialised(db.make_engine(f"sqlite:///{path}"))
    assert not path.exists()


def test_0009_indexes_the_observations_of_a_store_of_schema_0007(any_db_url):
    """The freshness stamp's max(updated_at) becomes an index lookup; the rows stay as they were."""
    import datetime as dt

    from sqlalchemy import func, select

    from synthetic_store import store_at_revision

    engine = store_at_revision(any_db_url, "0007")
    stamped = dt.datetime(2026, 11, 30, 12, tzinfo=dt.timezone.utc)
    with engine.begin() as conn:
        conn.execute(schema.sectors.insert(), [{"code": "banking", "name": "Banking"}])
        conn.execute(schema.technologies.insert(), [{"code": "all", "name": "All IT"}])
        conn.execute(schema.series.insert(), [{"key": "s", "sector": "banking", "technology": "all", "frequency": "annual",
                                               "title": "S", "source": "test"}])
        conn.execute(schema.observations.insert(), [
            {"series_key": "s", "date": dt.date(2020 + i, 1, 1), "value": 0.1 * i,
             "updated_at": stamped - dt.timedelta(days=i)} for i in range(3)])
    assert "ix_observations_updated_at" not in {i["name"] for i in inspect(engine).get_indexes("observations")}
    db.upgrade(engine)
    assert db.current_revision(engine) == db.head_revision()
    assert "ix_observations_updated_at" in {i["name"] for i in inspect(engine).get_indexes("observations")}
    with engine.connect() as conn:
        newest = conn.execute(select(func.max(schema.observations.c.updated_at))).scalar()
        assert conn.execute(select(func.count()).select_from(schema.observations)).scalar() == 3
    assert newest.replace(tzinfo=newest.tzinfo or dt.timezone.utc) == stamped
    engine.dispose()
