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
