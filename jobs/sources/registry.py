"""Source kind -> module, and the options each kind takes in sources.toml.

Each module offers `fetch(client, source, state)` (the only I/O) and
`parse(raw, options) -> Parsed` (pure). Modules are imported lazily, so loading the config
does not pull in every parser's dependencies; the option rules live here for the same reason.
"""
from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from types import ModuleType
from typing import Callable

from jobs.sources.statcounter_stats import STATS

KINDS = {
    "statcounter": "jobs.sources.statcounter",
    "top500": "jobs.sources.top500",
    "worldbank": "jobs.sources.worldbank",
    "policy_feed": "jobs.sources.policy_feed",
    "csv_url": "jobs.sources.csv_url",
}


def module_for(kind: str) -> ModuleType:
    return importlib.import_module(KINDS[kind])


@dataclass(frozen=True)
class Option:
    expected: str  # what a valid value is, for the error message
    valid: Callable[[object], bool]


def is_text(value) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _texts(value) -> bool:
    return isinstance(value, list) and bool(value) and all(is_text(v) for v in value)


def _text_table(value) -> bool:
    return isinstance(value, dict) and all(is_text(k) and is_text(v) for k, v in value.items())


def _http_url(value) -> bool:
    return is_text(value) and re.match(r"^https?://[^\s{}]+$", value) is not None


def _series_rows(value) -> bool:
    from jobs.store.schema import series

    return isinstance(value, list) and all(
        isinstance(r, dict) and is_text(r.get("key")) and set(r) <= set(series.c.keys()) for r in value)


_QUERY_SET_BY_STAT = {"region", "region_hidden", "statType", "statType_hidden"}

OPTIONS: dict[str, dict[str, Option]] = {
    "statcounter": {
        "stat": Option(f"one of {', '.join(STATS)}", lambda v: v in STATS),
        "series_key": Option("a series key (text)", is_text),
        "chart_url": Option("an http(s) URL", _http_url),
        "source_url": Option("an http(s) URL", _http_url),
        "month": Option("a month 'YYYY-MM'", lambda v: isinstance(v, str) and re.match(r"^\d{4}-(0[1-9]|1[0-2])$", v)),
        "query": Option("a table of chart.php parameters (text or numbers), without "
                        f"{', '.join(sorted(_QUERY_SET_BY_STAT))} (set by `stat`: a statcounter source is for China)",
                        lambda v: isinstance(v, dict) and not _QUERY_SET_BY_STAT & set(v) and all(
                            is_text(k) and isinstance(x, (str, int, float)) and not isinstance(x, bool)
                            for k, x in v.items())),
    },
    "top500": {},
    "worldbank": {
        "indicators": Option("a list of indicator codes", _texts),
        "series_by_indicator": Option("a table of indicator code = series key", _text_table),
        "country": Option("an ISO3 country code such as CHN", lambda v: isinstance(v, str) and re.match(r"^[A-Z]{3}$", v)),
        "per_page": Option("a whole number 1-32500",
                           lambda v: isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 32500),
        "series": Option("a list of series tables, each with a key and only columns of the series table",
                         _series_rows),
        "source_url": Option("an http(s) URL", _http_url),
    },
    "policy_feed": {
        "keywords_file": Option("a path to a keyword rules TOML", is_text),
    },
    "csv_url": {},
}
