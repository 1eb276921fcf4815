"""`domshare pull [NAME ...]`: pull sources now and print what each one did."""
from __future__ import annotations

import json
from pathlib import Path

from tqdm import tqdm

from jobs.cli._table import format_table
from jobs.errors import AlreadyRunning, ConfigError, InternalError, SourceError, SourceUnavailable
from jobs.store import db

NAME = "pull"
HELP = "Pull sources now (all enabled ones, or those named) and print a summary per source."
EXAMPLES = [
    "domshare pull",
    "domshare pull top500 statcounter-mobile-vendor",
    "domshare pull --sources my_sources.toml --force my-csv-feed",
    "domshare pull --json",
    "domshare pull statcounter-mobile-vendor --accept-revisions",
]
EXIT_FAILED = SourceError.exit_code  # a failed pull exits as a failed source would


def add_arguments(parser) -> None:
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help="source names from the sources file (default: every enabled source; "
                             "a named source is pulled even when disabled)")
    parser.add_argument("--sources", metavar="FILE", type=Path, default=None,
                        help="sources TOML (default: $DOMSHARE_SOURCES or data/sources.toml)")
    parser.add_argument("--force", action="store_true",
                        help="ignore ETag/Last-Modified and the unchanged-payload check")
    parser.add_argument("--accept-revisions", action="store_true",
                        help="apply a payload that was held because it revises much of the stored history "
                             "(see [sources.revisions] in the sources file)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")


def _short(text: str, width: int = 70) -> str:
    return text if len(text) <= width else text[:width - 3] + "..."


def _table(results) -> str:
    head = ("source", "status", "added", "changed", "seconds", "error")
    rows = [(r.source, r.status, str(r.rows_added), str(r.rows_changed), f"{r.seconds:.1f}",
             _short(f"{r.error_kind}: {r.error.splitlines()[0]}") if r.error else "") for r in results]
    return format_table(head, rows)


def run(args, settings) -> int:
    from jobs.pull import PullResult, run_pull_exclusive
    from jobs.sources.config import load_config

    settings = settings.with_(sources_file=args.sources)
    config = load_config(settings.sources_path, settings.data_dir)
    engine = db.make_engine(settings.db_url)
    db.require_schema(engine)
    sources = [config.source(name) for name in args.names] if args.names else config.enabled
    if not sources:
        raise ConfigError(f"{config.path}: no enabled source to pull")
    results = []
    for source in tqdm(sources, desc="pulling", unit="source", disable=True if args.json or len(sources) < 2 else None):
        try:
            results.append(run_pull_exclusive(engine, source, force=args.force, contact=settings.contact,
                                              accept_revisions=args.accept_revisions))
        except AlreadyRunning as exc:  # another process pulls it right now: leave it to that one
            results.append(PullResult(source.name, "skipped", error_kind=AlreadyRunning.__name__, error=str(exc)))
    failed = [r for r in results if r.status == "failed"]
    skipped = [r for r in results if r.status == "skipped"]
    if args.json:
        print(json.dumps([{"source": r.source, "status": r.status, "rows_added": r.rows_added,
                           "rows_changed": r.rows_changed, "error_kind": r.error_kind, "error": r.error,
                           "snapshot_id": r.snapshot_id, "detail": r.detail} for r in results],
                         indent=2, default=str, ensure_ascii=False))
    else:
        print(_table(results))
        for r in failed:
            print(f"\n{r.source} failed ({r.error_kind}):\n  " + r.error.replace("\n", "\n  "))
            if r.error_kind == InternalError.__name__:
                print("  (a bug in domshare, please report it: the traceback is in the log above)")
        for r in skipped:
            print(f"\n{r.source}: {r.error}")
        if failed:
            print(f"\n{len(failed)} of {len(results)} pull(s) failed: they changed no data "
                  "(a payload that did arrive is kept as a snapshot for inspection).")
        if failed and len(failed) == len(results) and all(r.error_kind == SourceUnavailable.__name__ for r in failed):
            print("No source could be reached: if this machine is offline, the bundled data, the "
                  "forecasts and the app keep working without them; pull again later, or point a "
                  "source at a file or a mirror (README: 'Pointing a source at a mirror or a file').")
    if any(r.error_kind == InternalError.__name__ for r in failed):
        return InternalError.exit_code  # a bug of ours, even though the other sources were pulled
    if failed:
        return EXIT_FAILED
    return AlreadyRunning.exit_code if skipped else 0
