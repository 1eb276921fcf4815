"""Every command is documented in README with an example, and its --help shows examples."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from jobs import cli, settings

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
COMMANDS = cli.command_modules()


@pytest.mark.parametrize("module", COMMANDS, ids=lambda m: m.NAME)
def test_command_has_examples_that_run_the_command(module):
    assert module.EXAMPLES, f"{module.NAME} has no examples"
    for example in module.EXAMPLES:
        assert example.startswith(f"domshare {module.NAME}"), example


@pytest.mark.parametrize("module", COMMANDS, ids=lambda m: m.NAME)
def test_command_is_documented_in_readme_with_an_example(module):
    assert re.search(rf"^\s*(\$ )?domshare {re.escape(module.NAME)}\b", README, re.M), \
        f"README.md has no example line for `domshare {module.NAME}`"


@pytest.mark.parametrize("module", COMMANDS, ids=lambda m: m.NAME)
def test_help_shows_examples(module):
    out = subprocess.run([sys.executable, "-m", "jobs", module.NAME, "--help"],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "examples:" in out.stdout and module.EXAMPLES[0] in out.stdout
    assert "--db" in out.stdout


def test_domshare_help_shows_a_first_run():
    out = subprocess.run([sys.executable, "-m", "jobs", "--help"], capture_output=True, text=True,
                         cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    shown = [line.split("#")[0].strip() for line in out.stdout.partition("examples")[2].splitlines()]
    assert {"domshare init", "domshare refresh", "domshare status", "domshare ui"} <= set(shown)


def test_every_environment_setting_is_documented():
    for variable in re.findall(r"DOMSHARE_[A-Z_]+", Path(settings.__file__).read_text()):
        assert variable in README, f"{variable} is not documented in README.md"
