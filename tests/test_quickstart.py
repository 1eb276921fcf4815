"""The README quickstart as a newcomer runs it: a clean folder, no flags, no environment."""
from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from jobs.store import schema

DATA = Path(__file__).resolve().parent.parent / "data"


def test_init_with_no_settings_creates_a_useful_domshare_db_here(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOMSHARE_")}
    done = subprocess.run([sys.executable, "-m", "jobs", "init"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "bundled data loaded" in done.stdout
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("domshare.db-")) == ["domshare.db"]

    engine = create_engine(f"sqlite:///{tmp_path / 'domshare.db'}")
    with engine.connect() as conn:
        series = conn.execute(select(schema.series)).mappings().all()
        with_data = set(conn.execute(select(schema.observations.c.series_key).distinct()).scalars())
        policy_ids = set(conn.execute(select(schema.policies.c.id)).scalars())
        n_obs = conn.execute(select(func.count()).select_from(schema.observations)).scalar_one()
    engine.dispose()

    # Domestic-share series with observations, and the organisations that published them.
    # A series whose publisher is not named cannot count as an independent source.
    domestic = [s for s in series if s["kind"] == "domestic_share" and s["key"] in with_data]
    publishers = {s["publisher"] for s in domestic if s["publisher"]}
    assert len(domestic) >= 6, [s["key"] for s in domestic]
    assert len(publishers) >= 4, publishers
    assert n_obs > 300
    expected = {r["id"] for name in ("policies.csv", "policies_new.csv")
                for r in csv.DictReader(open(DATA / name, encoding="utf-8"))}
    assert policy_ids == expected

    again = subprocess.run([sys.executable, "-m", "jobs", "init"], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "nothing to do" in again.stdout



def test_a_newcomers_first_help_commands_print_help(capsys):
    """`domshare`, `domshare --help` and every `domshare COMMAND --help` print help, no traceback."""
    from jobs.cli import command_modules, main

    for args in [[], ["--help"]] + [[m.NAME, "--help"] for m in command_modules()]:
        try:
            code = main(args)
        except SystemExit as exc:  # argparse exits after printing help
            code = exc.code
        assert code in (0, 2) and "usage: domshare" in capsys.readouterr().out, args


@pytest.mark.parametrize("url, exit_code, fragment", [
    ("sqlite:////nonexistent-folder/x.db", 1, "does its folder exist"),
    ("postgresql://someone:secret@127.0.0.1:1/x", 1, "postgresql://someone:***@127.0.0.1:1/x"),
    ("postgres-ql://x/y", 2, "not a database URL"),
    ("domshare.db", 2, "not a database URL"),
])
def test_a_wrong_database_url_is_one_clear_line_not_a_traceback(url, exit_code, fragment, capsys):
    from jobs.cli import main

    # (status and import on a SQLite file that is not there say "run domshare init" instead)
    for command in (["init"],) + ((["status"], ["import", "x.csv"]) if not url.startswith("sqlite") else ()):
        assert main([*command, "--db", url]) == exit_code
        err = capsys.readouterr().err
        assert err.startswith("error: ") and fragment in err and "secret" not in err, err
        assert "Traceback" not in err and err.count("\n") == 1
