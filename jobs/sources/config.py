"""Source and schedule configuration: `data/sources.toml` (or `--sources FILE` / DOMSHARE_SOURCES).

    [scheduler]                      # optional; defaults shown
    refresh_schedule = "30 4 * * *"  # forecast refresh on its own schedule (also after data changed)
    export_schedule  = "0 5 * * *"   # daily export to <export dir>/latest and a dated copy
    misfire_grace_time = 21600       # seconds a late run may still start
    lease_hold_seconds = 30          # a finished job's lease is kept this long (see jobs.leases)
    [scheduler.refresh_options]      # optional: specs = ["naive", "drift"], workers = 2, seed = 7

    [[sources]]
    name = "top500"                  # unique; `domshare pull top500`
    kind = "top500"                  # a key of jobs.sources.registry.KINDS
    url = "https://..."              # http(s), file:// or a path (relative to this file)
    schedule = "0 8 * 6,11 *"        # 5-field cron in UTC, or "interval:30s" / "interval:5m"
    enabled = true
    [sources.options]                # kind-specific, passed to fetch and parse
    [sources.http]                   # optional: timeout, connect_timeout, attempts,
                                     # backoff_base, max_wait, max_bytes (see HttpOptions)
"""
from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from jobs.errors import ConfigError
from jobs.sources.http import HttpOptions, local_path

_INTERVAL = re.compile(r"^interval:\s*(\d+(?:\.\d+)?)\s*([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class SourceConfig:
    name: str
    kind: str
    url: str | None
    schedule: str
    enabled: bool = True
    options: dict = field(default_factory=dict)
    http: HttpOptions = field(default_factory=HttpOptions)


@dataclass(frozen=True)
class SchedulerConfig:
    refresh_schedule: str = "30 4 * * *"
    export_schedule: str = "0 5 * * *"
    misfire_grace_time: int = 6 * 3600
    lease_hold_seconds: float = 30.0
    # forecast settings for scheduled refreshes: specs (models), seed, horizon,
    # mcmc_samples, workers; empty = the engine's defaults with one worker
    refresh_options: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Config:
    path: Path
    sources: list[SourceConfig]
    scheduler: SchedulerConfig

    def source(self, name: str) -> SourceConfig:
        for source in self.sources:
            if source.name == name:
                return source
        known = ", ".join(s.name for s in self.sources)
        raise ConfigError(f"{self.path}: no source named {name!r} (known: {known})")

    @property
    def enabled(self) -> list[SourceConfig]:
        return [s for s in self.sources if s.enabled]


def make_trigger(schedule: str):
    """A cron line (UTC) or `interval:<n><s|m|h|d>` (for tests and demos) -> APScheduler trigger."""
    text = schedule.strip()
    match = _INTERVAL.match(text)
    if match:
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        if seconds <= 0:
            raise ValueError("an interval must be positive")
        return IntervalTrigger(seconds=seconds, timezone=dt.timezone.utc)
    return CronTrigger.from_crontab(text, timezone=dt.timezone.utc)


def _check_schedule(where: str, schedule) -> str:
    if not isinstance(schedule, str):
        raise ConfigError(f"{where}: schedule must be a string (cron line or 'interval:30s')")
    try:
        make_trigger(schedule)
    except ValueError as exc:
        raise ConfigError(f"{where}: bad schedule {schedule!r}: {exc}") from exc
    return schedule


def _resolve_url(url: str | None, base: Path) -> str | None:
    """Relative plain paths are relative to the sources file, so a config and its mirror travel together."""
    if url is None:
        return None
    path = local_path(url)
    if path is not None and not url.startswith("file:") and not path.is_absolute():
        return str((base / path).resolve())
    return url


def load_config(path: Path) -> Config:
    from jobs.sources.registry import KINDS  # late: registry imports the source modules

    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: sources file not found") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc

    sched_raw = raw.get("scheduler", {})
    unknown = set(sched_raw) - set(SchedulerConfig.__dataclass_fields__)
    if unknown:
        raise ConfigError(f"{path}: [scheduler] has unknown key(s): {', '.join(sorted(unknown))}")
    scheduler = SchedulerConfig(**sched_raw)
    _check_schedule(f"{path} [scheduler] refresh_schedule", scheduler.refresh_schedule)
    _check_schedule(f"{path} [scheduler] export_schedule", scheduler.export_schedule)

    sources, seen = [], set()
    for index, entry in enumerate(raw.get("sources", []), start=1):
        where = f"{path}, source #{index}"
        name = entry.get("name")
        if not name or not isinstance(name, str):
            raise ConfigError(f"{where}: every source needs a name")
        where = f"{path}, source {name!r}"
        if name in seen:
            raise ConfigError(f"{where}: the name is used twice")
        seen.add(name)
        kind = entry.get("kind")
        if kind not in KINDS:
            raise ConfigError(f"{where}: unknown kind {kind!r} (known: {', '.join(sorted(KINDS))})")
        allowed = {"name", "kind", "url", "schedule", "enabled", "options", "http"}
        extra = set(entry) - allowed
        if extra:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(extra))}")
        try:
            http = HttpOptions.from_mapping(entry.get("http", {}))
        except TypeError as exc:
            raise ConfigError(f"{where}: bad [http] table: {exc}") from exc
        sources.append(SourceConfig(
            name=name, kind=kind, url=_resolve_url(entry.get("url"), path.parent),
            schedule=_check_schedule(where, entry.get("schedule", "0 6 * * *")),
            enabled=bool(entry.get("enabled", True)),
            options=dict(entry.get("options", {})), http=http,
        ))
    return Config(path=path, sources=sources, scheduler=scheduler)
