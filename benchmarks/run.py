"""Run every benchmarks/bench_*.py, one after the other, each in its own process.

    python3 benchmarks/run.py            # all of them, default sizes
    python3 benchmarks/run.py store      # only those whose name contains "store"

Each benchmark prints its own numbers and ratios against a baseline measured in the
same run (benchmarks/README.md explains every line). PostgreSQL parts run when
DOMSHARE_TEST_PG_URL is set. Exit status: non-zero if any benchmark failed.
"""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    wanted = (argv if argv is not None else sys.argv[1:])
    scripts = [p for p in sorted(HERE.glob("bench_*.py")) if not wanted or any(w in p.stem for w in wanted)]
    if not scripts:
        print(f"no benchmark matches {wanted}", file=sys.stderr)
        return 2
    failed = []
    for script in scripts:
        print(f"=== {script.name}", flush=True)
        started = time.perf_counter()
        code = subprocess.call([sys.executable, str(script)], cwd=HERE.parent)
        print(f"=== {script.name}: {'ok' if code == 0 else f'FAILED (exit {code})'} "
              f"in {time.perf_counter() - started:.0f} s\n", flush=True)
        if code:
            failed.append(script.name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
