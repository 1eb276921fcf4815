"""Any URL (or file) serving the `domshare import` CSV format: an analyst's own data feed.

Validation is the importer's own (jobs.importer.read_import), so a feed row is accepted or
rejected exactly as `domshare import` would; errors name the URL and the row.
"""
from __future__ import annotations

from typing import Mapping

from jobs.errors import ConfigError
from jobs.importer import import_context, read_import
from jobs.sources.base import Parsed
from jobs.sources.http import fetch_url


def fetch(client, source, state):
    if not source.url:
        raise ConfigError(f"source {source.name!r}: a csv_url source needs a url")
    return fetch_url(client, source.url, options=source.http,
                     etag=state.etag, last_modified=state.last_modified)


def context(conn) -> dict:
    """What read_import checks against (read from the store by the pull, passed to parse)."""
    return import_context(conn)


def parse(raw: bytes, options: Mapping | None = None) -> Parsed:
    """Options: sectors, technologies, foreign_series (from `context`), url or where."""
    options = dict(options or {})
    where = options.get("url") or options.get("where", "csv_url")
    series_rows, frame = read_import(raw, where, sectors=set(options["sectors"]),
                                     technologies=set(options["technologies"]),
                                     foreign_series=set(options.get("foreign_series", ())))
    return Parsed(series=series_rows, observations=frame, counts={"rows": len(frame)})
