"""Every error we raise is a class in jobs/errors.py, drawn in its docstring; forecast/ (pure)
keeps its three documented failures; module-private signals stay private."""
from __future__ import annotations

import ast
from pathlib import Path

from jobs import errors

ROOT = Path(__file__).resolve().parents[2]
FORECAST_FAILURES = {"forecast/models.py": {"CannotFit"}, "forecast/frames.py": {"InvalidHistory"},
                     "forecast/registry.py": {"UnknownModel"}}


def _exception_classes(path: Path) -> set[str]:
    """Classes in `path` deriving from an exception class (by name: ...Error, Exception, ...)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ClassDef):
            bases = {b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases}
            if any(b.endswith(("Error", "Exception")) or b in ("Exception", "NotFound") for b in bases) \
                    or bases & found:
                found.add(node.name)
    return found


def test_error_classes_live_in_jobs_errors():
    found = {}
    for path in [*ROOT.glob("jobs/**/*.py"), *ROOT.glob("ui/**/*.py"), *ROOT.glob("forecast/*.py")]:
        relative = str(path.relative_to(ROOT))
        public = {name for name in _exception_classes(path) if not name.startswith("_")}
        if public and relative != "jobs/errors.py":
            found[relative] = public
    assert found == FORECAST_FAILURES


def test_the_tree_in_the_docstring_names_every_class():
    classes = {name for name, value in vars(errors).items()
               if isinstance(value, type) and issubclass(value, errors.DomshareError)}
    assert classes == _exception_classes(ROOT / "jobs" / "errors.py") | {"DomshareError"}
    for name in classes:
        assert f"+-- {name}" in errors.__doc__ or name == "DomshareError", name
    for name in {n for names in FORECAST_FAILURES.values() for n in names}:
        assert name in errors.__doc__
