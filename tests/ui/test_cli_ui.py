"""`domshare ui` wraps `streamlit run ui/app.py`: headless, no usage statistics, the database
passed through DOMSHARE_DB_URL. (The browser test starts it for real.)"""
from __future__ import annotations

from jobs import settings as settings_module
from jobs.cli import build_parser
from jobs.cli import ui as ui_command


def test_ui_command_line_is_headless_without_telemetry():
    args = build_parser().parse_args(["ui", "--port", "8600", "--host", "0.0.0.0", "--db", "sqlite:///x.db"])
    settings = settings_module.from_environment({}, db_url=args.db)
    argv = ui_command.command(settings, args.port, args.host)
    pairs = dict(zip(argv[::1], argv[1::1]))
    assert argv[1:4] == ["-m", "streamlit", "run"] and argv[4] == str(ui_command.APP)
    assert ui_command.APP.is_file()
    assert pairs["--server.headless"] == "true"
    assert pairs["--browser.gatherUsageStats"] == "false"
    assert pairs["--server.port"] == "8600" and pairs["--server.address"] == "0.0.0.0"
    assert ui_command.environment(settings)["DOMSHARE_DB_URL"] == "sqlite:///x.db"


def test_ui_defaults_to_localhost_8501():
    args = build_parser().parse_args(["ui"])
    assert (args.host, args.port) == ("127.0.0.1", 8501)
