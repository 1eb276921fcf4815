"""What a refresh's results depend on, as hashes: per series (the skip key of an
incremental refresh, and its choice key: the same without the data) and for the whole store
(the run record's `input_hash`).

A series' key covers its observations and bounds (exact values), its declared frequency,
the thresholds it is assessed against (the engine's and its targets'), the engine
parameters and the forecasting code with the numerical libraries it runs on. It leaves out
`as_of` (a new day re-assesses targets from the stored crossing CDFs, without a fit) and
the targets' other fields (deadline, measure: every target is re-assessed in every run).
"""
from __future__ import annotations

import hashlib
import json
import subprocess
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd

from forecast.frames import BOUND_LOWER, BOUND_UPPER, DS, TARGET_INPUT_COLUMNS, Y, as_datetimes
from jobs import backends
from jobs.errors import InternalError

ROOT = Path(__file__).resolve().parent.parent


def code_version() -> str:
    """The checkout's `git describe` (or the installed version): recorded with each run."""
    try:
        out = subprocess.run(["git", "describe", "--always", "--dirty", "--tags"], cwd=ROOT,
                             capture_output=True, text=True, timeout=10)
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return f"domshare {version('domshare')}"


@lru_cache(maxsize=1)
def forecast_code_version() -> str:
    """sha256 of what decides a fit's numbers here (jobs.backends.fit_environment: the
    forecasting code and the numerical libraries' versions), so a commit that touches only
    the UI or the docs does not refit every series."""
    return hashlib.sha256(json.dumps(backends.fit_environment(), sort_keys=True).encode()).hexdigest()


def data_hash(history: pd.DataFrame, bounds: pd.DataFrame | None) -> str:
    """sha256 of one series' fitted observations (ds, y) and bounds, exact bits, date order."""
    digest = hashlib.sha256()
    h = history if history[DS].is_monotonic_increasing else history.sort_values(DS)  # as read: in date order
    digest.update(as_datetimes(h[DS]).astype("datetime64[D]").astype(np.int64).tobytes())
    digest.update(h[Y].to_numpy(float).tobytes())
    if bounds is not None and not bounds.empty:
        b = bounds.sort_values(DS)
        digest.update(b"bounds")
        digest.update(as_datetimes(b[DS]).astype("datetime64[D]").astype(np.int64).tobytes())
        digest.update(b[[BOUND_LOWER, BOUND_UPPER]].to_numpy(float).tobytes())
    return digest.hexdigest()


def series_key(data: str, frequency: str | None, thresholds, params: dict, code: str,
               policy_dates: dict | None = None) -> str:
    """The skip key of one series: its data hash with everything else its result depends on
    (policy dates offered as changepoints included)."""
    return _sha256({"data": data, **_choice_parts(frequency, thresholds, params, code, policy_dates)})


def choice_key(frequency: str | None, thresholds, params: dict, code: str, policy_dates: dict | None = None) -> str:
    """What a series' model choice depends on besides its data: the skip key without the data
    part. While it is unchanged, a refit of changed data may reuse the stored choice."""
    return _sha256(_choice_parts(frequency, thresholds, params, code, policy_dates))


NOT_IN_KEYS = ("as_of",  # a new day re-assesses targets from stored CDFs, it refits nothing
               "psis_updates")  # how a reused choice's posterior is refreshed, not what the choice is


def _choice_parts(frequency, thresholds, params, code, policy_dates) -> dict:
    parts = {"frequency": frequency, "thresholds": sorted({float(t) for t in thresholds}),
             "params": {k: v for k, v in params.items() if k not in NOT_IN_KEYS}, "code": code}
    if policy_dates:
        parts["policies"] = {policy: str(date) for policy, date in sorted(policy_dates.items())}
    return parts


def _sha256(parts: dict) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


class InputHash:
    """sha256 of every series' data hash, in key order, and every target row: what the whole
    run reads (the run record's `input_hash`). Fed a chunk of series at a time, in key order,
    so the refresh never holds every series' hash."""

    def __init__(self):
        self._digest, self._last = hashlib.sha256(), None

    def add(self, data_hashes: dict[str, str]) -> None:
        for key in sorted(data_hashes):
            if self._last is not None and key <= self._last:
                raise InternalError(f"series {key!r} added after {self._last!r}: chunks must come in key order")
            self._digest.update(f"{key}|{data_hashes[key]}\n".encode())
            self._last = key

    def hexdigest(self, targets: pd.DataFrame) -> str:
        digest = self._digest.copy()
        for row in targets[TARGET_INPUT_COLUMNS].astype(str).sort_values(TARGET_INPUT_COLUMNS[0]).itertuples(index=False):
            digest.update(("T|" + "|".join(row) + "\n").encode())
        return digest.hexdigest()


__all__ = ["code_version", "forecast_code_version", "data_hash", "series_key", "choice_key", "InputHash"]
