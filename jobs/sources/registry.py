"""Source kind -> module. Each module offers `fetch(client, source, state)` (the only I/O)
and `parse(raw, options) -> Parsed` (pure). Imported lazily, so loading the config does
not pull in every parser's dependencies."""
from __future__ import annotations

import importlib
from types import ModuleType

KINDS = {
    "statcounter": "jobs.sources.statcounter",
    "top500": "jobs.sources.top500",
    "worldbank": "jobs.sources.worldbank",
    "policy_feed": "jobs.sources.policy_feed",
    "csv_url": "jobs.sources.csv_url",
}


def module_for(kind: str) -> ModuleType:
    return importlib.import_module(KINDS[kind])
