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
from jobs.settings import REPO_DATA_DIR  # noqa: E402
from jobs.sources.config import SourceConfig  # noqa: E402
from jobs.store import writes  # noqa: E402


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


@pytest.fixture
def bundled_data_dir(tmp_path):
    """make(relative, content, parser=None): a bundled data folder (data/'s tables) whose
    manifest lists one raw file, `content` with its true sha256, under its real manifest row
    (with another `parser`, if given)."""
    def make(relative: str, content: bytes, parser: str | None = None) -> Path:
        data = tmp_path / "data"
        data.mkdir()
        for table in REPO_DATA_DIR.glob("*.csv"):
            shutil.copyfile(table, data / table.name)
        (data / relative).parent.mkdir(parents=True)
        (data / relative).write_bytes(content)
        header, *rows = (REPO_DATA_DIR / "manifest.csv").read_text(encoding="utf-8").splitlines()
        path, source, real_parser, rest = next(r for r in rows if r.startswith(relative + ",")).split(",", 3)
        rest = rest.rsplit(",", 2)[0]  # without size and sha256
        (data / "manifest.csv").write_text(f"{header}\n{path},{source},{parser or real_parser},{rest},"
                                           f"{len(content)},{writes.sha256_hex(content)}\n", encoding="utf-8")
        return data
    return make
