"""The `domshare` command line: a thin layer over plain library functions.

Each command lives in its own module in this package and declares:
    NAME, HELP, EXAMPLES   (examples are shown in --help and checked against README.md)
    add_arguments(parser)
    run(args, settings) -> int
Modules are discovered, so adding a command is adding a file.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import os
import pkgutil
import signal
import sys
import traceback

from sqlalchemy import exc as sa_exc

from jobs import settings as settings_module
from jobs.errors import DomshareError, InternalError, InvalidData
from jobs.store import db

PROG = "domshare"
QUICK_START = """examples (a first run, offline, in an empty folder):
  domshare init            # domshare.db here, from the bundled real data
  domshare refresh         # fit the forecasts (under a minute on the bundled data)
  domshare status          # what the store holds
  domshare export          # the CSV files, in exports/
  domshare ui              # the web app on http://127.0.0.1:8501/
  domshare up              # all of it, plus the scheduler's pulls

Run 'domshare COMMAND --help' for a command's options and examples."""


def command_modules() -> list:
    modules = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "NAME") and hasattr(module, "run"):
            modules.append(module)
    return modules


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Forecast China's domestic-technology share by sector and assess policy targets.",
        epilog=QUICK_START, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in command_modules():
        examples = "\n".join(f"  {line}" for line in module.EXAMPLES)
        command = sub.add_parser(
            module.NAME, help=module.HELP.replace("%", "%%"),  # argparse %-formats help (e.g. "80%")
            description=module.HELP,
            epilog=f"examples:\n{examples}", formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        command.add_argument(
            "--db", metavar="URL", default=None,
            help="database URL (default: $DOMSHARE_DB_URL or sqlite:///domshare.db)",
        )
        module.add_arguments(command)
        command.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S",
    )
    for noisy in ("cmdstanpy", "prophet", "httpx", "httpcore", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if not args.verbose:  # "Added job ...", "Running job ...": jobs.scheduler logs each job's outcome itself
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    settings = None
    try:
        settings = settings_module.from_environment(db_url=args.db)
        code = int(args._module.run(args, settings) or 0)
        sys.stdout.flush()  # a reader that went away (`| head`) shows up here, not at exit
        return code
    except BrokenPipeError:
        return _reader_gone()
    except InternalError as exc:
        return _bug(exc, args.verbose)
    except DomshareError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except sa_exc.OperationalError as exc:  # unreachable server, missing folder, locked file ...
        logging.getLogger(__name__).debug("database error", exc_info=True)
        hint = " (does its folder exist, and may you write there?)" \
            if _shown_url(settings).startswith("sqlite") and "unable to open" in str(exc.orig) else ""
        print(f"error: database {_shown_url(settings)}: {' '.join(str(exc.orig).split())}{hint}", file=sys.stderr)
        return 1
    except sa_exc.DataError as exc:  # e.g. PostgreSQL refuses NUL characters in text
        print(f"error: database {_shown_url(settings)} refused a value: {' '.join(str(exc.orig).split())}",
              file=sys.stderr)
        return InvalidData.exit_code
    except sa_exc.DatabaseError as exc:  # e.g. a file that is no SQLite database after all
        print(f"error: database {_shown_url(settings)}: {' '.join(str(exc.orig).split())}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # our bug: say so, never pass it off as a user error
        return _bug(exc, args.verbose)


def _reader_gone() -> int:
    """stdout's reader closed the pipe (`domshare status | head`): stop quietly, as `cat` does.
    stdout is pointed at /dev/null so the interpreter's final flush cannot fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 128 + signal.SIGPIPE


def _bug(exc: Exception, verbose: bool) -> int:
    """An exception we did not foresee: one line naming it as a bug; the traceback with -v."""
    if verbose:
        traceback.print_exception(exc, file=sys.stderr)
    what = exc if isinstance(exc, InternalError) else f"{type(exc).__name__}: {exc}"
    print(f"error: internal error (a bug in domshare, please report it): {what}"
          + ("" if verbose else "; run with -v for the traceback"), file=sys.stderr)
    return InternalError.exit_code


def _shown_url(settings) -> str:
    """The database URL without its password, for error messages."""
    return db.shown_url(getattr(settings, "db_url", None) or "?")
