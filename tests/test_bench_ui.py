"""benchmarks/bench_ui.py runs end to end at a tiny N (the bundled store and one with 3
synthetic series beside it, each built by the real commands and timed under AppTest in a
child process) and prints every figure it promises. Times are not asserted."""
from __future__ import annotations

import re

import pytest

import benchmark_scripts


def _bench():
    return benchmark_scripts.load("bench_ui")


@pytest.mark.slow
def test_ui_benchmark_runs_on_sqlite_and_prints_every_figure(capsys, tmp_path):
    assert _bench().main(["--n", "3", "--warm", "1", "--no-pg", "--keep", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "refreshed with --models naive,drift" in out
    for label in ("bundled store", "N = 3"):
        assert re.search(rf"\[sqlite\] {label}: built in \d+ s \(init \d+\.\d s, refresh --models naive,drift "
                         rf"\d+\.\d s\), kept as sqlite:///", out)
        assert re.search(rf"\[sqlite\] {label}: overview cold \d+\.\d\d s, warm \d+\.\d\d s \(median; \d+ target "
                         rf"rows shown\); series page `\w+` first \d+\.\d\d s, warm \d+\.\d\d s; peak RSS \d+ MB", out)
    assert re.search(r"\[sqlite\] N = 3 / bundled: overview warm \d+\.\d\d x, cold \d+\.\d\d x; series page warm "
                     r"\d+\.\d\d x; goal: overview warm <= 1 s at N = 2,000 \((not )?met at N = 3\)", out)
    # A second run reuses the kept stores instead of building them again.
    assert _bench().main(["--n", "3", "--warm", "1", "--no-pg", "--keep", str(tmp_path)]) == 0
    assert "[sqlite] N = 3: reusing sqlite:///" in capsys.readouterr().out
