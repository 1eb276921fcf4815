"""The one table of source kinds: name -> module, and the options a pulled kind takes.

Used by `domshare init` (data/manifest.csv's `parser` column names a kind) and by
`domshare pull` / sources.toml (a source's `kind`). Each module offers
`parse(raw, options) -> Parsed` (pure); a pulled kind's also offers
`fetch(client, source, state)` (the only I/O). A new kind is one entry in KINDS. Modules
are imported lazily, so loading the config does not pull in every parser's dependencies;
the option rules live here for the same reason.
"""
from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from types import ModuleType
from typing import Callable

from jobs.sources.statcounter_stats import STATS


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



@dataclass(frozen=True)
class Kind:
    module: str  # the module with parse (and, for a pulled kind, fetch)
    options: dict[str, Option] | None = None  # what sources.toml may set; None: bundled files only, never pulled


KINDS: dict[str, Kind] = {
    "statcounter": Kind("jobs.sources.statcounter", {
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
    }),
    "top500": Kind("jobs.sources.top500", {}),
    "worldbank": Kind("jobs.sources.worldbank", {
        "indicators": Option("a list of indicator codes", _texts),
        "series_by_indicator": Option("a table of indicator code = series key", _text_table),
        "country": Option("an ISO3 country code such as CHN", lambda v: isinstance(v, str) and re.match(r"^[A-Z]{3}$", v)),
        "per_page": Option("a whole number 1-32500",
                           lambda v: isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 32500),
        "series": Option("a list of series tables, each with a key and only columns of the series table",
                         _series_rows),
        "source_url": Option("an http(s) URL", _http_url),
    }),
    "policy_feed": Kind("jobs.sources.policy_feed", {
        "keywords_file": Option("a path to a keyword rules TOML", is_text),
    }),
    "csv_url": Kind("jobs.sources.csv_url", {}),
    # hand-curated files in data/ (data/manifest.csv): parsed by `domshare init`, nothing to fetch
    "transcribed": Kind("jobs.sources.transcribed"),
    "evidence": Kind("jobs.sources.evidence"),
    "policies": Kind("jobs.sources.policies"),
}
PULL_KINDS = tuple(name for name, kind in KINDS.items() if kind.options is not None)


def module_for(kind: str) -> ModuleType:
    return importlib.import_module(KINDS[kind].module)

