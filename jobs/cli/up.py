"""`domshare up`: the one command to run the service (README's first command ends here)."""
from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from jobs import settings as settings_module
from jobs.cli._args import port_number

NAME = "up"
HELP = ("Run the whole service: create and load the database if needed, fit forecasts if there "
        "is no run yet, then start the scheduler and the web app; Ctrl-C stops both.")
EXAMPLES = [
    "domshare up",
    "domshare up --port 8502 --out /srv/domshare/exports",
    "domshare up --db postgresql://user@localhost/domshare --no-ui",
]
STOP_TIMEOUT = 120  # seconds for children to finish a running job before they are killed


def add_arguments(parser) -> None:
    parser.add_argument("--port", type=port_number, default=8501, help="web app port (default: 8501)")
    parser.add_argument("--host", default="127.0.0.1", help="web app address (default: 127.0.0.1)")
    parser.add_argument("--sources", metavar="FILE", type=Path, default=None,
                        help="sources TOML for the scheduler (default: $DOMSHARE_SOURCES or data/sources.toml)")
    parser.add_argument("--out", metavar="DIR", type=Path, default=None,
                        help="folder of the scheduler's daily export (default: $DOMSHARE_EXPORT_DIR or exports)")
    parser.add_argument("--no-ui", action="store_true", help="start only the scheduler")


def prepare(settings) -> None:
    """Init if the database has no schema; refresh if it has no forecast run."""
    from forecast.engine import EngineConfig
    from jobs.bundled import init_database
    from jobs.refresh import refresh
    from jobs.store import db, read

    engine = db.make_engine(settings.db_url)
    try:
        if not db.is_initialised(engine):
            print(f"creating {engine.url.render_as_string(hide_password=True)} from the bundled data ...", flush=True)
            init_database(engine, settings.data_dir, progress=True)
        with engine.connect() as conn:
            has_run = read.latest_run(conn) is not None
        if not has_run:
            print("no forecast run yet: fitting forecasts (a few minutes) ...", flush=True)
            refresh(engine, EngineConfig(seed=settings.seed), workers=settings.workers, trigger="up")
    finally:
        engine.dispose()


def _children(args, settings) -> dict[str, list[str]]:
    """The children's command lines. The database URL is not on them (`ps` shows every
    user the command line, password included): it goes through the environment."""
    base = [sys.executable, "-m", "jobs"]
    commands = {"scheduler": [*base, "scheduler", "--sources", str(settings.sources_path),
                              "--out", str(settings.export_dir)]}
    if not args.no_ui and importlib.util.find_spec("jobs.cli.ui") is not None:
        commands["ui"] = [*base, "ui", "--port", str(args.port), "--host", args.host]
    return commands


def child_environment(settings) -> dict[str, str]:
    """This process's environment with the database URL (readable only by its own user)."""
    return {**os.environ, "DOMSHARE_DB_URL": settings.db_url}


def _stop(processes: dict[str, subprocess.Popen]) -> None:
    for process in processes.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    for name, process in processes.items():
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"{name} did not stop in {STOP_TIMEOUT}s: killing it", file=sys.stderr)
            process.kill()
            process.wait()


def run(args, settings) -> int:
    settings = settings.with_(sources_file=args.sources, export_dir=args.out)
    prepare(settings)
    stop_requested = []

    def on_signal(signum, _frame) -> None:
        stop_requested.append(signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    settings_module.writable_folder(settings.export_dir, "--out")
    environment = child_environment(settings)
    processes = {name: subprocess.Popen(cmd, env=environment) for name, cmd in _children(args, settings).items()}
    if "ui" in processes:
        print(f"\n  domshare is up: open http://{'localhost' if args.host == '127.0.0.1' else args.host}"
              f":{args.port}/  (Ctrl-C stops the app and the scheduler)\n", flush=True)
    else:
        print("\n  domshare scheduler is running (no web app); Ctrl-C stops it\n", flush=True)
    code = 0
    try:
        while not stop_requested:
            for name, process in processes.items():
                if process.poll() is not None:
                    print(f"{name} exited with code {process.returncode}; stopping the rest", file=sys.stderr)
                    code = process.returncode or 1
                    stop_requested.append(None)
                    break
            time.sleep(0.5)
    finally:
        print("stopping (the scheduler finishes its running job first) ...", file=sys.stderr, flush=True)
        _stop(processes)
    return code
