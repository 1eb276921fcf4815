"""`domshare ui`: start the Streamlit app (a thin wrapper over `streamlit run ui/app.py`)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from jobs.cli._args import port_number
from jobs.store import db

NAME = "ui"
HELP = "Start the web app (Streamlit) that shows forecasts against policy targets."
EXAMPLES = [
    "domshare ui",
    "domshare ui --port 8502 --host 0.0.0.0",
    "domshare ui --db postgresql://user@localhost/domshare",
]
APP = Path(__file__).resolve().parents[2] / "ui" / "app.py"


def add_arguments(parser) -> None:
    parser.add_argument("--port", type=port_number, default=8501, help="port to listen on (default: 8501)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default: 127.0.0.1; 0.0.0.0 for every interface)")


def command(settings, port: int, host: str) -> list[str]:
    """The `streamlit run` command line: headless, no usage statistics, no file watcher."""
    return [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.port", str(port), "--server.address", host,
        "--server.headless", "true", "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none", "--global.developmentMode", "false", "--client.toolbarMode", "minimal",
    ]


def environment(settings) -> dict[str, str]:
    return {**os.environ, "DOMSHARE_DB_URL": settings.db_url}


def run(args, settings) -> int:
    print(f"domshare ui: http://{args.host}:{args.port}/ (database {db.shown_url(settings.db_url)}); "
          "Ctrl-C stops it",
          file=sys.stderr, flush=True)
    # Replace this process with Streamlit's, so signals (Ctrl-C, `domshare up` stopping its
    # children) reach the server itself and no orphan is left behind.
    argv = command(settings, args.port, args.host)
    os.execve(argv[0], argv, environment(settings))
    return 0  # not reached
