"""benchmarks/bench_refresh.py runs end to end at a tiny N (its refresh part: a synthetic
store, `domshare refresh` three times -- the third reusing model choices --, the plain
Prophet loop, the profile) and prints every
figure it promises. Times are not asserted."""
from __future__ import annotations

import re

import pytest

import benchmark_scripts

TINY = ["--parts", "crossings,refresh", "--series", "2", "--paths", "50", "--n", "3",
        "--models", "naive,drift", "--profile-series", "1"]


def _bench():
    return benchmark_scripts.load("bench_refresh")


@pytest.mark.slow
@pytest.mark.prophet
def test_refresh_benchmark_runs_on_sqlite_with_the_prophet_loop(capsys):
    assert _bench().main([*TINY, "--no-pg"]) == 0
    out = capsys.readouterr().out
    assert "refresh benchmark: 3 synthetic series (seed 0)" in out and "speed-up" in out
    assert len(re.findall(r"= \d+\.\d+ series/s", out)) == 2 + 2  # loop sequential and pooled, two refreshes
    assert re.search(r"refresh / plain Prophet loop: \d+\.\d+ x sequential, \d+\.\d+ x the 2-process pool", out)
    assert re.search(r"\[sqlite\] .*peak RSS \d+ MB \(refresh process\), \d+ MB with its workers", out)
    assert re.search(r"where a fit's time goes \(cProfile, 1 series .*backtest \(model choice at origins\) \d+%", out)
    assert re.search(r"in the models' fit_predict, at origins and final: Prophet \d+%, statsforecast \d+%", out)
    assert re.search(r"\[sqlite\] after 1 series \(33%\) got a new observation: \d+\.\d s, refitted 1, carried over 2", out)
    assert_choice_reused(out, "sqlite")
    assert re.search(r"choice reused: .* series/s = \d+\.\d+ x the plain Prophet loop's sequential rate", out)


def assert_choice_reused(out: str, kind: str) -> None:
    """Every series got a new point: the quarterly and the monthly one reuse their choice,
    the annual one (its new point a year after the choice's data) chooses again."""
    assert re.search(rf"\[{kind}\] choice reused: after every series \(3\) got one new observation: \d+\.\d s = "
                     r"\d+\.\d+ series/s.*; refitted 3, carried over 0 \(run 3\), choice reused by 2 \(expected 2; "
                     r"the other 1 choose again\); fits \d+\.\d\d s/series x 2 reused, \d+\.\d\d s/series x 1 reselected", out)
    assert re.search(rf"\[{kind}\] final fits only: the 2 series whose rule allows reusing the choice got one more "
                     r"observation: \d+\.\d s = \d+\.\d+ refitted series/s.*; refitted 2, carried over 1 \(run 4\), "
                     r"choice reused by 2, posterior updated by importance sampling for [0-2]; fits", out)


@pytest.mark.slow
@pytest.mark.postgres
def test_refresh_benchmark_runs_on_postgresql(pg_url, capsys):
    assert _bench().main([*TINY, "--pg", pg_url, "--no-sqlite", "--skip-prophet", "--profile-series", "0"]) == 0
    out = capsys.readouterr().out
    assert "[postgresql] default refresh (local, 2 workers)" in out and "[sqlite]" not in out
    assert re.search(r"\[postgresql\] after 1 series \(33%\) got a new observation: \d+\.\d s, refitted 1, carried over 2", out)
    assert_choice_reused(out, "postgresql")


LARGE_N_TINY = ["--parts", "rss,incremental", "--n", "12", "--rss-n", "3,6", "--workers", "1"]


def assert_large_n_parts(out: str, kind: str) -> None:
    """The rss and incremental parts printed their figures and their checks held."""
    assert f"[{kind}] memory at N = 3, 6 (models naive,drift: the refresh's own memory" in out
    assert len(re.findall(rf"\[{kind}\]   N = \d: full refresh \d+\.\d s, peak RSS \d+ MB \(refresh process\), "
                          r"\d+ MB with its workers; new-day refresh \(all carried over\)", out)) == 2
    assert re.search(rf"\[{kind}\]   peak RSS at N = 6 over N = 3: full refresh \d\.\d\d x \(refresh process\), "
                     r"\d\.\d\d x with its workers; new-day refresh \d\.\d\d x", out)
    assert re.search(rf"\[{kind}\] incremental refresh at N = 12 \(models naive,drift, 1 workers\); seed refresh "
                     r"\d+\.\d s = .*refitted 12, carried over 0", out)
    assert re.search(rf"\[{kind}\]   \(a\) 1 series \(1 %\) got a new observation: \d+\.\d s .*refitted 1, carried over 11 "
                     r".*; refitted exactly the changed series: yes", out)
    assert re.search(rf"\[{kind}\]   \(b\) a new day .*: \d+\.\d s, refitted 0, carried over 12 .*every target "
                     r"re-assessed on \S+: yes \(targets due \S+: \{.*\} the day before, \{'unobserved': 2\} now\)", out)


@pytest.mark.slow
def test_large_n_parts_run_on_sqlite_and_their_checks_hold(capsys):
    assert _bench().main([*LARGE_N_TINY, "--no-pg"]) == 0
    out = capsys.readouterr().out
    assert_large_n_parts(out, "sqlite")
    assert "default models' cost per refitted series was not measured in this run" in out


@pytest.mark.slow
@pytest.mark.postgres
def test_large_n_parts_run_on_postgresql(pg_url, capsys):
    assert _bench().main([*LARGE_N_TINY, "--pg", pg_url, "--no-sqlite"]) == 0
    out = capsys.readouterr().out
    assert_large_n_parts(out, "postgresql")
    assert "[sqlite]" not in out
