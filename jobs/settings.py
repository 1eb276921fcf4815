"""Settings, declared once and built at the entry point (never at import time).

| setting        | flag           | environment            | default                         |
|----------------|----------------|------------------------|---------------------------------|
| db_url         | --db URL       | DOMSHARE_DB_URL        | sqlite:///domshare.db (cwd)     |
| data_dir       | --data-dir DIR | DOMSHARE_DATA_DIR      | the repository's data/ folder   |
| sources_file   | --sources FILE | DOMSHARE_SOURCES       | <data_dir>/sources.toml         |
| export_dir     | --out DIR      | DOMSHARE_EXPORT_DIR    | exports                         |
| workers        | --workers N    | DOMSHARE_WORKERS       | number of CPUs (at most 4)      |
| seed           | --seed N       | DOMSHARE_SEED          | 20141217                        |
| contact        |                | DOMSHARE_CONTACT       | none                            |
| dask_address   | --scheduler-address | DOMSHARE_DASK_ADDRESS | none (refresh fits locally) |

`contact` (an e-mail address or URL of whoever runs this instance) is added to the
User-Agent of every pull, `domshare/<version> (+<contact>)`, so a site can reach them.
`dask_address` (tcp://HOST:PORT of a `dask scheduler`) sends the refreshes' fits, the
scheduler's included, to that Dask cluster (jobs.backends).
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

from jobs.errors import ConfigError

REPO_DATA_DIR = Path(__file__).resolve().parent.parent / "data"
DEFAULT_DB_URL = "sqlite:///domshare.db"
DEFAULT_SEED = 20141217  # the day Bloomberg reported the 2014 plan; any fixed number would do


def _default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


@dataclass(frozen=True)
class Settings:
    db_url: str = DEFAULT_DB_URL
    data_dir: Path = REPO_DATA_DIR
    sources_file: Path | None = None
    export_dir: Path = Path("exports")
    workers: int = field(default_factory=_default_workers)
    seed: int = DEFAULT_SEED
    contact: str | None = None
    dask_address: str | None = None

    @property
    def sources_path(self) -> Path:
        return self.sources_file or self.data_dir / "sources.toml"

    def with_(self, **changes) -> "Settings":
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def _int(env: dict[str, str], name: str) -> int | None:
    if not env.get(name):
        return None
    try:
        return int(env[name])
    except ValueError as exc:
        raise ConfigError(f"{name}={env[name]!r} is not a whole number") from exc


def from_environment(env: dict[str, str] | None = None, **overrides) -> Settings:
    """Environment first, then explicit overrides (the CLI flags) on top."""
    env = dict(os.environ if env is None else env)
    base = Settings()
    from_env = {
        "db_url": env.get("DOMSHARE_DB_URL"),
        "data_dir": Path(env["DOMSHARE_DATA_DIR"]) if env.get("DOMSHARE_DATA_DIR") else None,
        "sources_file": Path(env["DOMSHARE_SOURCES"]) if env.get("DOMSHARE_SOURCES") else None,
        "export_dir": Path(env["DOMSHARE_EXPORT_DIR"]) if env.get("DOMSHARE_EXPORT_DIR") else None,
        "workers": _int(env, "DOMSHARE_WORKERS"),
        "seed": _int(env, "DOMSHARE_SEED"),
        "contact": env.get("DOMSHARE_CONTACT", "").strip() or None,
        "dask_address": env.get("DOMSHARE_DASK_ADDRESS", "").strip() or None,
    }
    settings = base.with_(**from_env).with_(**overrides)
    if not settings.data_dir.is_dir():
        raise ConfigError(f"DOMSHARE_DATA_DIR={str(settings.data_dir)!r} is not a folder (the bundled data folder)")
    return settings


def writable_folder(path: Path, what: str) -> Path:
    """`path` as a folder we can write files into (created if missing), else a ConfigError
    naming `what` (e.g. "--out") and the reason: a file in the way, no permission ..."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        reason = "it is a file, not a folder" if path.is_file() else (exc.strerror or str(exc))
        raise ConfigError(f"{what} {path}: cannot write there ({reason})") from exc
    return path
