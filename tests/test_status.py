from __future__ import annotations

import json
import subprocess
import sys

from jobs.store import db


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "jobs", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def test_status_json_keys_on_an_empty_schema(any_db_url):
    db.upgrade(db.make_engine(any_db_url))
    out = run_cli("status", "--json", "--db", any_db_url)
    assert out.returncode == 0, out.stderr
    status = json.loads(out.stdout)
    for key in ("series", "observations", "policies", "targets", "runs"):
        assert status[key] == 0
    assert status["latest_run"] is None


def test_status_without_schema_says_which_command_to_run(tmp_path):
    out = run_cli("status", "--db", f"sqlite:///{tmp_path / 'x.db'}")
    assert out.returncode == 3
    assert "domshare init" in out.stderr
    assert "Traceback" not in out.stderr
