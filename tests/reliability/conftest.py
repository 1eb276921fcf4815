"""The reliability suite: bad inputs, kills and races against real stores, a real loopback
HTTP server and the real `domshare` command. Helpers come from tests/jobs (local_server)."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "jobs"))

from local_server import RAW, catalogue_store, served  # noqa: E402
from jobs.pull import run_pull  # noqa: E402
from jobs.sources.config import SourceConfig  # noqa: E402


@pytest.fixture
def server():
    with served() as recorded:
        yield recorded


@pytest.fixture(scope="session")
def template_store(tmp_path_factory) -> Path:
    """A SQLite store with the bundled catalogue and the real China vendor series (169 months,
    pulled from the raw file), built once and copied for each test."""
    path = tmp_path_factory.mktemp("template") / "store.db"
    engine = catalogue_store(f"sqlite:///{path}")
    mirror = SourceConfig(name="statcounter-mobile-vendor", kind="statcounter", schedule="interval:1h",
                          url=str(RAW / "statcounter" / "vendor-CN-monthly-201003-202404.csv"))
    assert run_pull(engine, mirror).status == "ok"
    engine.dispose()
    return path


@pytest.fixture
def store_url(template_store, tmp_path) -> str:
    copy = tmp_path / "store.db"
    shutil.copyfile(template_store, copy)
    return f"sqlite:///{copy}"
