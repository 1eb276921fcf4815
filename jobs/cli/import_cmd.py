"""`domshare import FILE.csv`: load a user's own series, all or nothing."""
from __future__ import annotations

import sys
from pathlib import Path

from jobs.importer import import_csv
from jobs.store.db import in_one_transaction

NAME = "import"
HELP = ("Import your own series from a long CSV (series,date,domestic_share or domestic_share_pct; "
        "optional sector,technology,source,note, and sector_name,technology_name to declare codes "
        "the bundled tables lack). Any bad row rejects the whole file.")
EXAMPLES = [
    "domshare import my_series.csv",
    "domshare import smartwatch_survey.csv   # technology=smartwatches, technology_name=Smartwatches",
    "domshare import survey.csv --db postgresql://user@localhost/domshare",
]


def add_arguments(parser) -> None:
    parser.add_argument("file", type=Path, metavar="FILE.csv",
                        help="CSV file; dates YYYY, YYYY-MM, YYYY-Qn or YYYY-MM-DD")


def run(args, settings) -> int:
    summary, shown_url = in_one_transaction(settings.db_url, lambda conn: import_csv(conn, args.file))
    c = summary.observations
    for warning in summary.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"imported {summary.file} into {shown_url}")
    print(f"  series: {', '.join(summary.series)}")
    for kind, codes in summary.new_codes.items():
        if codes:
            print(f"  new {kind} codes: {', '.join(codes)}")
    print(f"  observations: {c.added} added, {c.changed} changed"
          + (" (old values kept as revisions)" if c.changed else "") + f", {c.unchanged} unchanged")
    print(f"  the file is kept as snapshot {summary.snapshot_id}")
    if c.added or c.changed:
        print("  next: `domshare refresh` forecasts the new data")
    else:
        print("  nothing new: the database already held these values")
    return 0
