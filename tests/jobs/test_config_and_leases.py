"""sources.toml loading, schedules, and database leases on SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt
import time

import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from jobs import leases
from jobs.errors import ConfigError
from jobs.settings import REPO_DATA_DIR, from_environment
from jobs.sources.config import load_config, make_trigger
from jobs.sources.registry import PULL_KINDS, module_for
from jobs.store import db


def test_default_sources_file_is_valid_and_follows_real_cadences():
    config = load_config(REPO_DATA_DIR / "sources.toml")
    kinds = {s.kind for s in config.sources}
    assert kinds == set(PULL_KINDS)
    by_name = {s.name: s for s in config.sources}
    assert str(make_trigger(by_name["top500"].schedule).fields[CronTrigger.FIELD_NAMES.index("month")]) == "6,11"
    assert not by_name["my-csv-feed"].enabled  # the example stays off
    start = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    for feed in (s for s in config.enabled if s.kind == "policy_feed"):
        trigger = make_trigger(feed.schedule)
        first = trigger.get_next_fire_time(None, start)
        gap = trigger.get_next_fire_time(first, first + dt.timedelta(seconds=1)) - first
        assert gap <= dt.timedelta(hours=3), feed.name
    monthly = make_trigger(by_name["statcounter-mobile-vendor"].schedule).get_next_fire_time(None, start)
    assert monthly.day > 1  # a few days after the month ends, when the month is complete
    for source in config.sources:
        module = module_for(source.kind)
        assert callable(module.fetch) and callable(module.parse)


def test_sources_file_comes_from_the_environment_or_the_flag(tmp_path):
    assert from_environment({}).sources_path == REPO_DATA_DIR / "sources.toml"
    mine = tmp_path / "mine.toml"
    assert from_environment({"DOMSHARE_SOURCES": str(mine)}).sources_path == mine
    assert from_environment({"DOMSHARE_SOURCES": "x.toml"}, sources_file=mine).sources_path == mine


def test_numeric_settings_from_the_environment_are_checked():
    assert from_environment({"DOMSHARE_WORKERS": "2", "DOMSHARE_SEED": "7"}).workers == 2
    with pytest.raises(ConfigError, match="DOMSHARE_WORKERS='two' is not a whole number"):
        from_environment({"DOMSHARE_WORKERS": "two"})
    with pytest.raises(ConfigError, match="DOMSHARE_SEED"):
        from_environment({"DOMSHARE_SEED": "1.5"})


def test_schedules_cron_and_interval():
    assert isinstance(make_trigger("10 6 3 * *"), CronTrigger)
    assert make_trigger("interval:2s").interval == dt.timedelta(seconds=2)
    assert make_trigger("interval:5m").interval == dt.timedelta(minutes=5)
    assert isinstance(make_trigger("interval:1h"), IntervalTrigger)


@pytest.mark.parametrize("body, message", [
    ('[[sources]]\nname = "a"\nkind = "gopher"\n', "unknown kind 'gopher'"),
    ('[[sources]]\nname = "a"\nkind = "top500"\n[[sources]]\nname = "a"\nkind = "top500"\n', "used twice"),
    ('[[sources]]\nname = "a"\nkind = "top500"\nschedule = "every tuesday"\n', "bad schedule"),
    ('[[sources]]\nname = "a"\nkind = "top500"\nshedule = "0 1 * * *"\n', "unknown key(s) 'shedule' (did you mean 'schedule'?)"),
    ('[[sources]]\nkind = "top500"\n', "needs a name"),
    ('[scheduler]\nexport_every = 3\n', "unknown key(s): 'export_every'"),
    ('[[sources]]\nname = "a"\nkind = "top500"\n[sources.http]\ntimeuot = 3\n', "bad [http] table"),
    ("not toml at all = = =", "not valid TOML"),
])
def test_config_errors_name_the_file_and_the_source(tmp_path, body, message):
    path = tmp_path / "sources.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert message in str(info.value) and str(path) in str(info.value)


def test_relative_paths_are_relative_to_the_sources_file(tmp_path):
    (tmp_path / "mirror").mkdir()
    path = tmp_path / "sources.toml"
    body = ('[[sources]]\nname = "t"\nkind = "top500"\nurl = "mirror/TOP500_{year}{month:02d}.xlsx"\n'
            '[[sources]]\nname = "w"\nkind = "worldbank"\nurl = "https://example.org/x.json"\n')
    path.write_text(body)
    with pytest.raises(ConfigError, match="outside the data folder"):  # not a folder it may read
        load_config(path)
    path.write_text('local_dirs = ["mirror"]\n' + body)
    config = load_config(path)
    assert config.source("t").url == str(tmp_path / "mirror" / "TOP500_{year}{month:02d}.xlsx")
    assert config.source("w").url == "https://example.org/x.json"
    with pytest.raises(ConfigError, match="no source named 'nope'"):
        config.source("nope")


def test_a_lease_has_one_holder_until_released_or_expired(any_db_url):
    engine = db.make_engine(any_db_url)
    db.upgrade(engine)
    assert leases.acquire(engine, "pull:x", "a", ttl_seconds=60)
    assert not leases.acquire(engine, "pull:x", "b", ttl_seconds=60)
    assert leases.acquire(engine, "pull:x", "a", ttl_seconds=60)  # the holder may renew
    assert leases.acquire(engine, "pull:y", "b", ttl_seconds=60)  # names are independent
    leases.release(engine, "pull:x", "a", hold_seconds=0.5)
    assert not leases.acquire(engine, "pull:x", "b", ttl_seconds=60)  # held a moment after the run
    time.sleep(0.7)
    assert leases.acquire(engine, "pull:x", "b", ttl_seconds=0.3)
    leases.release(engine, "pull:x", "a")  # not the holder: no effect
    assert not leases.acquire(engine, "pull:x", "a", ttl_seconds=60)
    time.sleep(0.5)  # b's lease expired (a crashed holder blocks at most its ttl)
    assert leases.acquire(engine, "pull:x", "a", ttl_seconds=60)
    leases.release(engine, "pull:x", "a")
    assert leases.acquire(engine, "pull:x", "b", ttl_seconds=60)
    engine.dispose()


def test_jobs_lists_the_default_schedule_before_any_scheduler_ran(sqlite_url, capsys):
    import json

    from jobs import cli

    engine = db.make_engine(sqlite_url)
    db.upgrade(engine)
    engine.dispose()
    assert cli.main(["jobs", "--db", sqlite_url, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    config = load_config(REPO_DATA_DIR / "sources.toml")
    assert [j["job"] for j in listed] == [f"pull:{s.name}" for s in config.enabled] + ["refresh", "export"]
    now = dt.datetime.now(dt.timezone.utc)
    for job in listed:
        assert not job["scheduled"] and job["last_outcome"] is None
        assert dt.datetime.fromisoformat(job["next_run_time"]) > now - dt.timedelta(seconds=5)
    assert cli.main(["jobs", "--db", sqlite_url]) == 0
    assert "has not run on this database yet" in capsys.readouterr().out


def test_a_killed_holder_on_this_machine_is_taken_over_and_a_live_one_is_not(sqlite_url):
    import subprocess
    import sys

    from jobs.errors import AlreadyRunning

    engine = db.make_engine(sqlite_url)
    db.upgrade(engine)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        live = f"{leases.socket.gethostname()}:{child.pid}"
        assert leases.acquire(engine, "pull:x", live, ttl_seconds=3600)
        with pytest.raises(AlreadyRunning, match=f"pull:x is already running by {live}"):
            with leases.exclusive(engine, "pull:x"):
                pass
    finally:
        child.kill()
        child.wait()
    with leases.exclusive(engine, "pull:x") as owner:  # its process is gone: no 6-hour wait
        assert leases.holder(engine, "pull:x")[0] == owner
    assert leases.holder(engine, "pull:x") is None
    engine.dispose()
