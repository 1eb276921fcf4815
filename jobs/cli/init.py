"""`domshare init`: create/upgrade the schema and load the bundled real data."""
from __future__ import annotations

from pathlib import Path

from jobs.bundled import init_database
from jobs.store.db import make_engine

NAME = "init"
HELP = ("Create or upgrade the database schema (Alembic head) and load the bundled real data "
        "in one transaction; running it again changes nothing.")
EXAMPLES = [
    "domshare init",
    "domshare init --db postgresql://user@localhost/domshare",
]


def add_arguments(parser) -> None:
    parser.add_argument("--data-dir", metavar="DIR", type=Path, default=None,
                        help="bundled data folder (default: $DOMSHARE_DATA_DIR or the repository's data/)")


def run(args, settings) -> int:
    settings = settings.with_(data_dir=args.data_dir)
    engine = make_engine(settings.db_url)
    try:
        summary = init_database(engine, settings.data_dir, progress=True)
    finally:
        engine.dispose()
    print(f"database: {describe(engine.url)}")
    for line in summary.lines():
        print(f"  {line}")
    left_out = summary.left_out_lines() if summary.changed_anything else []  # said on the first run
    if left_out:
        print("  rows left out on purpose (data/README.md, 'Decisions', says why):")
        for line in left_out:
            print(f"    {line}")
    if not summary.changed_anything:
        print("nothing to do: the database already holds the bundled data"
              + (" (checked again: data tables or loader code changed since the last init)"
                 if summary.inputs_changed else ""))
    else:
        print("bundled data loaded. Next: `domshare refresh` fits the forecasts, `domshare ui` opens the "
              "web app (`domshare up` does both and starts the scheduler).")
    return 0


def describe(url) -> str:
    """The URL without its password; a SQLite file also gets its full path."""
    text = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        text += f" ({Path(url.database).resolve()})"
    return text
