"""Source and schedule configuration: `data/sources.toml` (or `--sources FILE` / DOMSHARE_SOURCES).
Every table, key and value is checked when the file is loaded (see load_config).

    local_dirs = ["mirror"]          # optional, before any table: folders (besides the data
                                     # folder) that file:// urls and plain paths may read

    [scheduler]                      # optional; defaults shown
    refresh_schedule = "30 4 * * *"  # forecast refresh on its own schedule (also after data changed)
    export_schedule  = "0 5 * * *"   # daily export to <export dir>/latest and a dated copy
    misfire_grace_time = 21600       # seconds a late run may still start
    lease_hold_seconds = 30          # a finished job's lease is kept this long (see jobs.leases)
    [scheduler.refresh_options]      # optional: specs = ["naive", "drift"], workers = 2, seed = 7

    [alerts]                         # optional (jobs.alerts): probability_points = 15,
                                     # crossing_months = 6, webhook_attempts = 3, ...
    [[alerts.webhooks]]              # url = "https://...", secret = "..." (optional)

    [[sources]]
    name = "top500"                  # unique; `domshare pull top500`
    kind = "top500"                  # a pulled kind of jobs.sources.registry.KINDS
    url = "https://..."              # http(s), file:// or a path (relative to this file)
    schedule = "0 8 * 6,11 *"        # 5-field cron in UTC, or "interval:30s" / "interval:5m"
    enabled = true
    [sources.options]                # kind-specific, passed to fetch and parse
    [sources.http]                   # optional: timeout, connect_timeout, attempts,
                                     # backoff_base, max_wait, max_bytes (see HttpOptions)
    [sources.revisions]              # optional: max_share = 0.10, min_change = 0.05 (RevisionLimit)
"""
from __future__ import annotations

import datetime as dt
import difflib
import re
import string
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from jobs.alerts import AlertSettings, settings_from as alert_settings_from
from jobs.errors import ConfigError, SourceChanged
from jobs.settings import REPO_DATA_DIR
from jobs.sources.http import HttpOptions, local_path
from jobs.sources.registry import KINDS, PULL_KINDS, is_text

_INTERVAL = re.compile(r"^interval:\s*(\d+(?:\.\d+)?)\s*([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class RevisionLimit:
    """`[sources.revisions]`: a pull that would move more than `max_share` of a series' stored
    points by more than `min_change` (share units: 0.05 = 5 points) is held, not applied."""

    max_share: float = 0.10
    min_change: float = 0.05


@dataclass(frozen=True)
class SourceConfig:
    name: str
    kind: str
    url: str | None
    schedule: str
    enabled: bool = True
    options: dict = field(default_factory=dict)
    http: HttpOptions = field(default_factory=HttpOptions)
    revisions: RevisionLimit = field(default_factory=RevisionLimit)


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
    alerts: AlertSettings = field(default_factory=AlertSettings)

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


TOP_LEVEL = {"scheduler", "sources", "local_dirs", "alerts"}  # [alerts]: jobs.alerts.settings_from
SOURCE_KEYS = {"name", "kind", "url", "schedule", "enabled", "options", "http", "revisions"}
REFRESH_OPTIONS = {"specs", "workers", "seed", "horizon", "mcmc_samples"}
TEMPLATE_FIELDS = {"year", "month"}  # a top500 url's fields: {year} and {month:02d}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def _unknown(where: str, what: str, keys, known) -> None:
    """ConfigError naming every unknown key (and the nearest known one, for a typo)."""
    extra = sorted(set(keys) - set(known))
    if not extra:
        return
    hints = [f"{k!r} (did you mean {m[0]!r}?)" if (m := difflib.get_close_matches(k, list(known), 1)) else repr(k)
             for k in extra]
    raise ConfigError(f"{where}: unknown {what} {', '.join(hints)} (known: {', '.join(sorted(known)) or 'none'})")


def _table(where: str, value, what: str) -> dict:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: {what} must be a table, not {value!r}")
    return value


def _template_fields(where: str, url: str, kind: str) -> None:
    """Only a top500 url is a template, and only with {year} and {month[:02d]}: no attribute
    or index lookups (`{year.__class__}`), no conversions, no other names."""
    try:
        fields = [(name, spec, conversion) for _, name, spec, conversion in string.Formatter().parse(url)
                  if name is not None]
    except ValueError as exc:
        raise ConfigError(f"{where}: url {url!r} is not a valid template: {exc}") from exc
    if fields and kind != "top500":
        raise ConfigError(f"{where}: url {url!r} has template fields; only top500 urls are templates")
    for name, spec, conversion in fields:
        if name not in TEMPLATE_FIELDS or conversion or not re.match(r"^0?\d{0,2}d?$", spec or ""):
            raise ConfigError(f"{where}: url template field {{{name}{'!' + conversion if conversion else ''}"
                              f"{':' + spec if spec else ''}}} is not allowed (use {{year}} and {{month:02d}})")


def _local_target(url: str) -> Path | None:
    """The file a local url names (a template filled with a sample list month), else None."""
    path = local_path(url.format(year=2000, month=6) if "{" in url else url)
    return None if path is None else path.resolve()


def _check_url(where: str, url, kind: str, base: Path, roots: list[Path]) -> str | None:
    """The url as stored: relative plain paths made absolute (relative to the sources file,
    so a config and its mirror travel together); a local file only inside `roots`."""
    if url is None:
        return None
    if not is_text(url):
        raise ConfigError(f"{where}: url must be text, not {url!r}")
    _template_fields(where, url, kind)
    try:
        path = local_path(url)
    except SourceChanged as exc:
        raise ConfigError(f"{where}: {exc}") from exc
    if path is not None and not url.startswith("file:") and not path.is_absolute():
        url = str((base / path).resolve())
    target = _local_target(url)
    if target is not None and not any(target.is_relative_to(root) for root in roots):
        raise ConfigError(f"{where}: url {url!r} is outside the data folder and the folders in local_dirs "
                          f"({', '.join(map(str, roots))}); list its folder in local_dirs (at the top of "
                          "the file, before any table) to allow it")
    return url


def _check_options(where: str, kind: str, options: dict) -> dict:
    rules = KINDS[kind].options
    _unknown(where, f"option(s) for kind {kind!r}", options, rules)
    for key, value in options.items():
        if not rules[key].valid(value):
            raise ConfigError(f"{where}: option {key} = {value!r}: expected {rules[key].expected}")
    return dict(options)


def _check_revisions(where: str, raw: dict) -> RevisionLimit:
    _unknown(where + " [sources.revisions]", "key(s)", raw, RevisionLimit.__dataclass_fields__)
    for key, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise ConfigError(f"{where} [sources.revisions]: {key} = {value!r}: must be a fraction 0-1")
    return RevisionLimit(**raw)


def _scheduler(path: Path, raw) -> SchedulerConfig:
    where = f"{path} [scheduler]"
    raw = dict(_table(where, raw, "[scheduler]"))
    if "local_dirs" in raw:
        raise ConfigError(f"{where}: local_dirs belongs at the top of the file, before any table")
    _unknown(where, "key(s):", raw, SchedulerConfig.__dataclass_fields__)
    for key in ("misfire_grace_time", "lease_hold_seconds"):
        value = raw.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ConfigError(f"{where}: {key} = {value!r}: must be a number of seconds (0 or more)")
    options = _table(f"{where} refresh_options", raw.get("refresh_options", {}), "refresh_options")
    _unknown(f"{where} [scheduler.refresh_options]", "key(s)", options, REFRESH_OPTIONS)
    scheduler = SchedulerConfig(**raw)
    _check_schedule(f"{where} refresh_schedule", scheduler.refresh_schedule)
    _check_schedule(f"{where} export_schedule", scheduler.export_schedule)
    return scheduler


def _local_roots(path: Path, raw, data_dir: Path) -> list[Path]:
    dirs = raw if raw is not None else []
    if not isinstance(dirs, list) or not all(is_text(d) for d in dirs):
        raise ConfigError(f"{path}: local_dirs must be a list of folders, not {raw!r}")
    return [Path(data_dir).resolve(), *((path.parent / Path(d).expanduser()).resolve() for d in dirs)]


def _source(path: Path, index: int, entry, seen: set, roots: list[Path]) -> SourceConfig:
    where = f"{path}, source #{index}"
    entry = _table(where, entry, "a [[sources]] entry")
    name = entry.get("name")
    if not is_text(name):
        raise ConfigError(f"{where}: every source needs a name")
    where = f"{path}, source {name!r}"
    if not _NAME.match(name):
        raise ConfigError(f"{where}: a name may hold only letters, digits, '.', '_' and '-'")
    if name in seen:
        raise ConfigError(f"{where}: the name is used twice")
    seen.add(name)
    kind = entry.get("kind")
    if kind not in PULL_KINDS:
        bundled = " (a kind of bundled data/ files, which are not pulled)" if kind in KINDS else ""
        raise ConfigError(f"{where}: unknown kind {kind!r}{bundled} (known: {', '.join(sorted(PULL_KINDS))})")
    _unknown(where, "key(s)", entry, SOURCE_KEYS)
    enabled = entry.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError(f"{where}: enabled must be true or false, not {enabled!r}")
    try:
        http = HttpOptions.from_mapping(_table(where, entry.get("http", {}), "[sources.http]"))
    except ValueError as exc:
        raise ConfigError(f"{where}: bad [http] table: {exc}") from exc
    return SourceConfig(
        name=name, kind=kind, url=_check_url(where, entry.get("url"), kind, path.parent, roots),
        schedule=_check_schedule(where, entry.get("schedule", "0 6 * * *")), enabled=enabled,
        options=_check_options(where, kind, _table(where, entry.get("options", {}), "[sources.options]")),
        http=http, revisions=_check_revisions(where, _table(where, entry.get("revisions", {}), "[sources.revisions]")),
    )


def load_config(path: Path, data_dir: Path | None = None) -> Config:
    """Read and check the whole file: every table, key and value (ConfigError naming the file,
    the source and the key). Local files are allowed only inside `data_dir` (settings.data_dir)
    and the folders of the top-level `local_dirs` list."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, IsADirectoryError) as exc:
        raise ConfigError(f"{path}: sources file not found") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    _unknown(str(path), "table(s) or key(s)", raw, TOP_LEVEL)
    scheduler = _scheduler(path, raw.get("scheduler", {}))
    roots = _local_roots(path, raw.get("local_dirs"), data_dir or REPO_DATA_DIR)
    entries = raw.get("sources", [])
    if not isinstance(entries, list):
        raise ConfigError(f"{path}: sources must be [[sources]] entries")
    seen: set[str] = set()
    sources = [_source(path, index, entry, seen, roots) for index, entry in enumerate(entries, start=1)]
    return Config(path=path, sources=sources, scheduler=scheduler,
                  alerts=alert_settings_from(str(path), raw.get("alerts", {})))
