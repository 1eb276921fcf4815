"""`domshare targets review`: numeric targets proposed from feed items — list, accept, reject."""
from __future__ import annotations

import datetime as dt

from jobs import proposals
from jobs.cli._table import format_table
from jobs.errors import ConfigError
from jobs.store import db, read

NAME = "targets"
HELP = ("Review the numeric targets found in policy feed items: list the unreviewed proposals, "
        "accept one into the targets (marked user-reviewed, the feed item as its source) or reject it.")
EXAMPLES = [
    "domshare targets review",
    "domshare targets review --all",
    "domshare targets review --accept 3",
    "domshare targets review --accept 4 --sector banking --technology databases "
    "--series databases_domestic_share_broker --measure proxy",
    "domshare targets review --reject 5",
]


def add_arguments(parser) -> None:
    parser.add_argument("action", choices=["review"], help="review: list, accept or reject proposals")
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--accept", type=int, metavar="ID", help="accept this proposal as a target")
    what.add_argument("--reject", type=int, metavar="ID", help="reject this proposal")
    what.add_argument("--all", action="store_true", help="list accepted and rejected proposals too")
    parser.add_argument("--sector", help="with --accept: the sector code (default: the guessed one)")
    parser.add_argument("--technology", help="with --accept: the technology code (default: the guessed one)")
    parser.add_argument("--threshold", type=float, metavar="FRACTION", help="with --accept: correct the share (0-1)")
    parser.add_argument("--deadline", metavar="YYYY-MM-DD", help="with --accept: correct the deadline")
    parser.add_argument("--series", metavar="KEY", help="with --accept: the series that measures the target")
    parser.add_argument("--measure", choices=proposals.MEASURES, help="with --series: direct or proxy")


def _deadline(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise ConfigError(f"--deadline {text!r} is not a date YYYY-MM-DD") from exc


def _list(engine, show_all: bool) -> int:
    with db.transaction(engine) as conn:  # items stored before this feature get their proposals too
        added = proposals.scan_policies(conn)
        frame = read.target_proposals_frame(conn, None if show_all else "unreviewed")
    if added:
        print(f"{added} new proposal(s) found in feed items")
    if frame.empty:
        print("no unreviewed target proposals" if not show_all else "no target proposals")
        return 0
    rows = [(str(r.id), r.status, f"{r.threshold:.0%}", str(r.deadline), r.sector or "?", r.technology or "?",
             r.policy_title[:50], r.sentence[:80]) for r in frame.itertuples()]
    print(format_table(("id", "status", "share", "deadline", "sector", "technology", "feed item", "sentence"),
                       rows, right=(0, 2)))
    print("\naccept: domshare targets review --accept ID [--sector S --technology T --series KEY --measure M]"
          "\nreject: domshare targets review --reject ID")
    return 0


def run(args, settings) -> int:
    engine = db.make_engine(settings.db_url)
    db.require_schema(engine)
    if args.accept is None and (args.sector or args.technology or args.series or args.measure
                                or args.threshold is not None or args.deadline):
        raise ConfigError("--sector, --technology, --threshold, --deadline, --series and --measure go with --accept")
    if args.accept is not None:
        with db.transaction(engine) as conn:
            target_id = proposals.accept(
                conn, args.accept, sector=args.sector, technology=args.technology, series_key=args.series,
                measure=args.measure, threshold=args.threshold, deadline=_deadline(args.deadline))
        print(f"proposal {args.accept} accepted as target {target_id}; `domshare refresh` assesses it")
        return 0
    if args.reject is not None:
        with db.transaction(engine) as conn:
            proposals.reject(conn, args.reject)
        print(f"proposal {args.reject} rejected")
        return 0
    return _list(engine, args.all)
