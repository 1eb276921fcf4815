"""Fixtures for the jobs tests (helpers in local_server.py)."""
from __future__ import annotations

import pytest

from local_server import catalogue_store, served


@pytest.fixture
def server():
    with served() as recorded:
        yield recorded


@pytest.fixture
def store(sqlite_url):
    engine = catalogue_store(sqlite_url)
    yield engine
    engine.dispose()


@pytest.fixture
def any_store(any_db_url):
    engine = catalogue_store(any_db_url)
    yield engine
    engine.dispose()
