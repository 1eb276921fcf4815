"""The scheduler's daily export: `<dir>/latest` swapped atomically, plus `<dir>/<YYYY-MM-DD>`.

The files are written by jobs.export.write_export into a fresh hidden folder; `latest`
is a symlink switched with one rename (os.replace), so a reader sees either the old
export or the new one, never a mix. The dated copy is replaced whole (same day, last wins).
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

from jobs.alert_feed import write_feed
from jobs.export import write_export
from jobs.store.db import utcnow

LATEST = "latest"


def _replace_dir(new: Path, target: Path) -> None:
    """Put `new` at `target`, removing what was there (a moment's gap, but never a mix)."""
    old = target.with_name(f".old-{target.name}-{os.getpid()}")
    if target.exists() or target.is_symlink():
        os.replace(target, old)
    os.replace(new, target)
    if old.is_symlink() or old.is_file():
        old.unlink()
    elif old.exists():
        shutil.rmtree(old)


def export_latest(engine, export_dir: Path, today: dt.date | None = None) -> Path:
    export_dir = Path(export_dir)
    export_dir.mkdir(parents=True, exist_ok=True)
    stamp = utcnow().strftime("%Y%m%dT%H%M%S%f")
    build = export_dir / f".latest-{stamp}"
    write_export(engine, build)
    write_feed(engine, build)  # alerts.atom beside the CSVs: a feed reader subscribes to the folder

    dated_tmp = export_dir / f".dated-{stamp}"
    shutil.copytree(build, dated_tmp)
    _replace_dir(dated_tmp, export_dir / (today or utcnow().date()).isoformat())

    latest = export_dir / LATEST
    link = export_dir / f".link-{stamp}"
    os.symlink(build.name, link, target_is_directory=True)
    if latest.exists() and not latest.is_symlink():  # a plain folder from an older layout
        shutil.rmtree(latest)
    os.replace(link, latest)  # the atomic step
    for stale in export_dir.glob(".latest-*"):
        if stale != build:
            shutil.rmtree(stale, ignore_errors=True)
    return latest
