"""benchmarks/bench_store.py runs (tiny sizes) and its own checks hold: both write methods leave
identical tables, a warm init changes nothing, a bad import is rejected. Times are not asserted."""
from __future__ import annotations

import re

import pytest

import benchmark_scripts


def _bench():
    return benchmark_scripts.load("bench_store")


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_store_benchmark_runs_and_prints_ratios(backend, request, capsys):
    args = ["--rows", "600", "--series", "6", "--import-rows", "500"]
    if backend == "postgresql":  # the fixture skips (or fails under DOMSHARE_REQUIRE_PG) without a server
        args += ["--pg", request.getfixturevalue("pg_url"), "--no-sqlite"]
    else:
        args += ["--no-pg"]
    assert _bench().main(args) == 0
    out = capsys.readouterr().out
    assert f"[{backend}] upsert_observations: 600 observations" in out
    assert len(re.findall(r"\d+\.\d x", out)) == 3 + 1 + 2  # 3 upsert passes, cold/warm, 2 import ratios
    assert "(0 added, 0 changed, 600 unchanged)" in out
