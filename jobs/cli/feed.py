"""`domshare feed`: the alerts as an Atom feed, DIR/alerts.atom."""
from __future__ import annotations

from jobs.alert_feed import FEED_ENTRIES, write_feed
from jobs.store import db

NAME = "feed"
HELP = (f"Write the newest {FEED_ENTRIES} alerts (target status changes, probability and crossing moves, "
        "new policy items) as an Atom 1.0 feed to DIR/alerts.atom, for any feed reader.")
EXAMPLES = [
    "domshare feed --out exports",
    "domshare feed --out /var/www/domshare",
]


def add_arguments(parser) -> None:
    parser.add_argument("--out", default=None, metavar="DIR",
                        help="output directory (default: $DOMSHARE_EXPORT_DIR or ./exports)")


def run(args, settings) -> int:
    path = write_feed(db.make_engine(settings.db_url), args.out or settings.export_dir)
    print(f"wrote {path}")
    return 0
