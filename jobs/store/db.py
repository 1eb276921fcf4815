"""Engines, migrations and transactions.

One unit of work = one `transaction(engine)` block: it commits whole or not at all.
"""
from __future__ import annotations

import contextlib
import datetime as dt
from pathlib import Path
from typing import Iterator

from sqlalchemy import Connection, Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from jobs.errors import ConfigError, NotInitialised

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def normalise_url(url: str) -> str:
    """Accept plain postgresql:// URLs and use psycopg 3 for them."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


SUPPORTED_BACKENDS = ("sqlite", "postgresql")
SQLITE_HEADER = b"SQLite format 3\x00"


def shown_url(url: str) -> str:
    """A database URL for messages: the password hidden (the text as given if unparseable)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def _check_url(url: str) -> None:
    """ConfigError for a URL we cannot use: not a URL, another database system, or a SQLite
    path naming a folder or a file that is not a SQLite database."""
    example = "use sqlite:///domshare.db or postgresql://user@host/dbname in --db or DOMSHARE_DB_URL"
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"not a database URL: {shown_url(url)!r} ({exc}); {example}") from exc
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED_BACKENDS:
        raise ConfigError(f"not a database URL domshare can use: {shown_url(url)} ({backend} is not "
                          f"supported, only SQLite and PostgreSQL); {example}")
    path = Path(parsed.database) if backend == "sqlite" and parsed.database not in (None, "", ":memory:") else None
    if path is not None and path.is_dir():
        raise ConfigError(f"database {shown_url(url)}: {path} is a folder, not a SQLite database file")
    if path is not None and path.is_file() and path.stat().st_size:
        with path.open("rb") as handle:
            if handle.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
                raise ConfigError(f"database {shown_url(url)}: {path} is not a SQLite database file")


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    _check_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # pragma: no cover - trivial
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")  # readers (the UI) never block the writer
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def alembic_config(url: str):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return config


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration; a no-op when it is already there."""
    from alembic import command

    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def is_initialised(engine: Engine) -> bool:
    """True when the schema exists. A missing SQLite file is not created by asking."""
    database = engine.url.database
    if engine.url.get_backend_name() == "sqlite" and database and database != ":memory:" \
            and not Path(database).exists():
        return False
    return "series" in inspect(engine).get_table_names() and current_revision(engine) is not None


def require_schema(engine: Engine) -> None:
    """NotInitialised (naming the database, password hidden) unless the schema exists."""
    if not is_initialised(engine):
        raise NotInitialised(f"{engine.url.render_as_string(hide_password=True)} has no domshare "
                             "schema: run `domshare init` first")


@contextlib.contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """One unit of work: commit on success, roll back everything on any exception."""
    with engine.begin() as connection:
        yield connection


def in_one_transaction(url: str, work):
    """Run `work(conn)` as one unit on an initialised store and return its result; the
    store is unchanged when it raises. Returns (result, the URL with the password hidden)."""
    engine = make_engine(url)
    try:
        require_schema(engine)
        with transaction(engine) as conn:
            return work(conn), engine.url.render_as_string(hide_password=True)
    finally:
        engine.dispose()


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)
