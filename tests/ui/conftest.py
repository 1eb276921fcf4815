"""Databases for the UI tests, built by the real commands from the bundled data.

`built_db` runs `domshare init` then `domshare refresh` twice (the second with --force, so
the Data & runs page has a previous run to compare with). The refresh uses the baseline
models only (naive, drift): a real run through the real pipeline, in seconds instead of
the minutes Prophet's MCMC takes. Built once per session and per backend, read-only after.
"""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "ui" / "app.py"


def _fresh_pg_database():
    """The root conftest's helper (conftest modules cannot be imported by name)."""
    spec = importlib.util.spec_from_file_location("_root_conftest", ROOT / "tests" / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module._fresh_pg_database()
FAST_REFRESH = ["--models", "naive,drift", "--workers", "1"]


def domshare(*args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "jobs", *args], capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, f"domshare {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


def build(url: str, runs: int) -> str:
    domshare("init", "--db", url)
    for number in range(runs):
        domshare("refresh", "--db", url, *FAST_REFRESH, *(["--force"] if number else []))
    return url


@pytest.fixture(scope="session")
def built_sqlite(tmp_path_factory):
    """A SQLite file holding the bundled data and two complete forecast runs (tests that
    copy the file or start a server use it directly)."""
    return build(f"sqlite:///{tmp_path_factory.mktemp('built') / 'store.db'}", runs=2)


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def built_db(request):
    """The same build on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield request.getfixturevalue("built_sqlite")
        return
    url, drop = _fresh_pg_database()
    yield build(url, runs=2)
    drop()


@pytest.fixture(scope="session")
def initialised_db(tmp_path_factory):
    """`domshare init` only: the bundled data, no forecast run yet."""
    return build(f"sqlite:///{tmp_path_factory.mktemp('init') / 'store.db'}", runs=0)


@pytest.fixture
def no_schema_db(tmp_path):
    """A database file nobody has initialised."""
    return f"sqlite:///{tmp_path / 'empty.db'}"
