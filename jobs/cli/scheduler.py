"""`domshare scheduler`: run the scheduled jobs in this process until stopped."""
from __future__ import annotations

from pathlib import Path

from jobs import settings as settings_module

NAME = "scheduler"
HELP = ("Run the job scheduler in the foreground: pulls on each source's schedule, forecast "
        "refreshes, daily exports. Ctrl-C or SIGTERM stops it after the running job.")
EXAMPLES = [
    "domshare scheduler",
    "domshare scheduler --sources my_sources.toml --out /srv/domshare/exports",
    "domshare scheduler --db postgresql://user@localhost/domshare",
]


def add_arguments(parser) -> None:
    parser.add_argument("--sources", metavar="FILE", type=Path, default=None,
                        help="sources TOML (default: $DOMSHARE_SOURCES or data/sources.toml)")
    parser.add_argument("--out", metavar="DIR", type=Path, default=None,
                        help="export folder for the daily export (default: $DOMSHARE_EXPORT_DIR or exports)")


def run(args, settings) -> int:
    from jobs import scheduler

    settings = settings.with_(sources_file=args.sources, export_dir=args.out)
    settings_module.writable_folder(settings.export_dir, "--out")  # now, not at the first daily export
    refresh = {"seed": settings.seed, "workers": settings.workers}
    scheduler.run(settings.db_url, settings.sources_path, settings.export_dir, refresh, settings.contact)
    return 0
