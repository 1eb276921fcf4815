"""Guards on the architecture: forecast/ is pure, ui/ only reads and draws."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
IO_LIBRARIES = {"sqlalchemy", "httpx", "requests", "urllib", "streamlit", "apscheduler", "jobs",
                "ui", "psycopg", "alembic", "feedparser", "tenacity", "socket", "http"}


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("path", modules("forecast"), ids=lambda p: str(p.relative_to(ROOT)))
def test_forecast_is_pure(path):
    assert imported_roots(path) & IO_LIBRARIES == set()


def _ui_imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", modules("ui"), ids=lambda p: str(p.relative_to(ROOT)))
def test_ui_never_schedules_fits_or_fetches(path):
    forbidden = ("apscheduler", "jobs.scheduler", "jobs.refresh", "jobs.pull", "prophet",
                 "forecast.prophet", "httpx", "jobs.sources")
    bad = {name for name in _ui_imports(path) if name.startswith(forbidden)}
    assert bad == set()


def test_nothing_reads_the_environment_at_import_time():
    """Settings are built at the entry point: no module-level os.environ reads outside settings."""
    offenders = []
    for package in ("forecast", "jobs", "ui"):
        for path in modules(package):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in tree.body:
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    continue
                reads = [n for n in ast.walk(node)
                         if (isinstance(n, ast.Attribute) and n.attr in ("environ", "getenv"))
                         or (isinstance(n, ast.Name) and n.id in ("environ", "getenv"))]
                if reads and path.name != "settings.py":
                    offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
