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
    print(f"database: {engine.url.render_as_string(hide_password=True)}")
    for line in summary.lines():
        print(f"  {line}")
    for path, left_out in summary.not_stored.items():
        print(f"  rows not stored from data/{path}: "
              + ", ".join(f"{k.replace('_not_stored', '').replace('_', ' ')} {v}" for k, v in left_out.items()))
    print("  nothing to do: the database already holds the bundled data"
          if not summary.changed_anything else "  bundled data loaded")
    return 0
