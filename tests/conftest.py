"""Shared fixtures: real SQLite files and, when DOMSHARE_TEST_PG_URL is set, a real PostgreSQL.

CI sets DOMSHARE_TEST_PG_URL (and DOMSHARE_REQUIRE_PG=1, so a missing server fails
instead of skipping).
"""
from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, text

from jobs.store import db as store_db

PG_URL = os.environ.get("DOMSHARE_TEST_PG_URL")


def _fresh_pg_database() -> tuple[str, callable]:
    if not PG_URL:
        if os.environ.get("DOMSHARE_REQUIRE_PG"):
            pytest.fail("DOMSHARE_REQUIRE_PG is set but DOMSHARE_TEST_PG_URL is not")
        pytest.skip("no PostgreSQL server (set DOMSHARE_TEST_PG_URL)")
    name = f"domshare_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(store_db.normalise_url(PG_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_URL.rsplit("/", 1)[0] + f"/{name}"

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url, drop


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_db_url(request, tmp_path):
    """A URL of an empty database, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    url, drop = _fresh_pg_database()
    yield url
    drop()


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture
def pg_url():
    url, drop = _fresh_pg_database()
    yield url
    drop()
