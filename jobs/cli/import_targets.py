"""`domshare import-targets FILE.csv`: add a user's own policies and targets, all or nothing."""
from __future__ import annotations

from pathlib import Path

from jobs.store.db import in_one_transaction
from jobs.targets_import import import_targets

NAME = "import-targets"
HELP = ("Import your own policies and their share targets from a CSV (policy_id,title,issuer,date,"
        "sector,technology,threshold or threshold_pct,deadline,series,measure,reason; optional url,"
        "bias,claim,target_id). Stored as user-supplied; any bad row rejects the whole file.")
EXAMPLES = [
    "domshare import-targets my_targets.csv",
    "domshare import-targets ministry_plan.csv --db postgresql://user@localhost/domshare",
]


def add_arguments(parser) -> None:
    parser.add_argument("file", type=Path, metavar="FILE.csv",
                        help="CSV file, one target per row; dates YYYY, YYYY-MM, YYYY-Qn or YYYY-MM-DD "
                             "(a deadline period means its last day); measure direct, proxy or none")


def run(args, settings) -> int:
    summary, shown_url = in_one_transaction(settings.db_url, lambda conn: import_targets(conn, args.file))
    p, t = summary.policies, summary.targets
    print(f"imported {summary.file} into {shown_url}")
    print(f"  policies: {p.added} added, {p.changed} changed, {p.unchanged} unchanged")
    print(f"  targets: {t.added} added, {t.changed} changed, {t.unchanged} unchanged "
          f"({', '.join(summary.target_ids)})")
    print(f"  the file is kept as snapshot {summary.snapshot_id}")
    if t.added or t.changed:
        print("  next: `domshare refresh` assesses the new targets")
    return 0
