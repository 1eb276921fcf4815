"""benchmarks/bench_refresh.py runs end to end at a tiny N (its refresh part: a synthetic
store, `domshare refresh` twice, the plain Prophet loop, the profile) and prints every
figure it promises. Times are not asserted."""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_refresh.py"
TINY = ["--parts", "crossings,refresh", "--series", "2", "--paths", "50", "--n", "3",
        "--models", "naive,drift", "--profile-series", "1"]


def _bench():
    spec = importlib.util.spec_from_file_location("bench_refresh", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
@pytest.mark.prophet
def test_refresh_benchmark_runs_on_sqlite_with_the_prophet_loop(capsys):
    assert _bench().main([*TINY, "--no-pg"]) == 0
    out = capsys.readouterr().out
    assert "refresh benchmark: 3 synthetic series (seed 0)" in out and "speed-up" in out
    assert len(re.findall(r"= \d+\.\d+ series/s", out)) == 2 + 1  # loop sequential and pooled, the refresh
    assert re.search(r"refresh / plain Prophet loop: \d+\.\d+ x sequential, \d+\.\d+ x the 2-process pool", out)
    assert re.search(r"\[sqlite\] .*peak RSS \d+ MB \(refresh process\), \d+ MB with its workers", out)
    assert re.search(r"where a fit's time goes \(cProfile, 1 series .*backtest \(model choice at origins\) \d+%", out)
    assert re.search(r"in the models' fit_predict, at origins and final: Prophet \d+%, statsforecast \d+%", out)
    assert re.search(r"\[sqlite\] after 1 series \(33%\) got a new observation: \d+\.\d s, refitted 1, carried over 2", out)


@pytest.mark.slow
@pytest.mark.postgres
def test_refresh_benchmark_runs_on_postgresql(pg_url, capsys):
    assert _bench().main([*TINY, "--pg", pg_url, "--no-sqlite", "--skip-prophet", "--profile-series", "0"]) == 0
    out = capsys.readouterr().out
    assert "[postgresql] default refresh (local, 2 workers)" in out and "[sqlite]" not in out
    assert re.search(r"\[postgresql\] after 1 series \(33%\) got a new observation: \d+\.\d s, refitted 1, carried over 2", out)
