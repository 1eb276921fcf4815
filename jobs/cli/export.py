"""`domshare export`: CSV files of the observations and of one forecast run."""
from __future__ import annotations

from jobs.cli._table import minute
from jobs.errors import ConfigError
from jobs.export import write_export
from jobs.settings import writable_folder
from jobs.store import db

NAME = "export"
HELP = ("Write observations.csv and evidence.csv, and forecasts.csv, crossings.csv, targets.csv, history.csv, "
        "alerts.csv and run.json of a complete forecast run, to a directory (atomic: temporary name, then "
        "rename). Shares and probabilities are fractions 0-1, dates YYYY-MM-DD.")
EXAMPLES = [
    "domshare export --out exports",
    "domshare export --run latest --out /tmp/domshare-export",
    "domshare export --run 3 --out exports/run3",
]


def add_arguments(parser) -> None:
    parser.add_argument("--run", default="latest", metavar="ID|latest", help="run id or 'latest' (default)")
    parser.add_argument("--out", default=None, metavar="DIR", help="output directory (default: $DOMSHARE_EXPORT_DIR or ./exports)")


def run(args, settings) -> int:
    if args.run != "latest" and not args.run.isdigit():
        raise ConfigError(f"--run must be a run id or 'latest', not {args.run!r}")
    out = writable_folder(args.out or settings.export_dir, "--out")
    written, meta = write_export(db.make_engine(settings.db_url), out, args.run)
    for path in written:
        print(f"wrote {path}")
    if meta is None:
        print("no complete forecast run yet: forecasts.csv, crossings.csv and targets.csv were "
              "skipped (run `domshare refresh` first)")
    else:
        print(f"run {meta['id']} (finished {minute(meta['finished_at'])} UTC)")
    return 0
