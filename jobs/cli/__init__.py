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
import pkgutil
import sys

from jobs import settings as settings_module
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url

from jobs.errors import DomshareError

PROG = "domshare"


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
        epilog="Run 'domshare COMMAND --help' for a command's options and examples.",
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
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    settings = None
    try:
        settings = settings_module.from_environment(db_url=args.db)
        return int(args._module.run(args, settings) or 0)
    except DomshareError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except sa_exc.ArgumentError as exc:  # includes NoSuchModuleError (unknown scheme)
        print(f"error: not a database URL: {_shown_url(settings)} ({exc}); use e.g. sqlite:///domshare.db "
              "or postgresql://user@host/dbname in --db or DOMSHARE_DB_URL", file=sys.stderr)
        return 2
    except sa_exc.OperationalError as exc:  # unreachable server, missing folder, locked file ...
        logging.getLogger(__name__).debug("database error", exc_info=True)
        hint = " (does its folder exist, and may you write there?)" \
            if _shown_url(settings).startswith("sqlite") and "unable to open" in str(exc.orig) else ""
        print(f"error: database {_shown_url(settings)}: {' '.join(str(exc.orig).split())}{hint}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _shown_url(settings) -> str:
    """The database URL without its password, for error messages."""
    url = getattr(settings, "db_url", None) or "?"
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not even parseable: the text as given
        return url
