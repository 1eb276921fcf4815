"""Where a refresh's per-series fits run, chosen by name (`domshare refresh --backend`):

    local   a process pool on this machine (spawn); `--workers 1` fits in this process
    dask    the workers of an existing Dask cluster (`--scheduler-address tcp://HOST:PORT`)

Every backend only computes: tasks get plain values and return results, and the refresh
process alone writes them to the store. `open_backend(name, ...)` is a context manager
yielding a Backend; leaving it (normally, on an error or on Ctrl-C) cancels the tasks not
yet started and waits only for those under way.
"""
from __future__ import annotations

import concurrent.futures as cf
import hashlib
import multiprocessing
import os
import signal
import sys
import threading
import time
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Callable, Iterable, Iterator
from urllib.parse import urlsplit

from jobs.errors import ConfigError

PARENT_CHECK_SECONDS = 0.5  # how soon a local pool worker notices that the refresh process died
DASK_SCHEMES = ("tcp", "tls")
FIT_LIBRARIES = ("domshare", "numpy", "pandas", "prophet", "cmdstanpy", "statsforecast")


class Backend:
    """`submit(fn, *args)` -> future; `as_completed(futures)` yields them as they finish;
    `cancel_pending()` drops the tasks not started yet. `local_files`: the workers' temporary
    folders are on this machine and ours to delete (spawned workers skip cmdstanpy's clean-up).
    `slots`: how many tasks run at once (the refresh keeps a few per slot submitted)."""

    def __init__(self, submit: Callable, as_completed: Callable[[Iterable], Iterator],
                 cancel: Callable[[list], object], local_files: bool, slots: int = 1):
        self._submit, self.as_completed, self._cancel, self.local_files = submit, as_completed, cancel, local_files
        self.slots = max(slots, 1)
        self._submitted: list = []

    def submit(self, fn: Callable, *args):
        # finished futures are forgotten here: their results must not pile up over a long refresh
        self._submitted = [f for f in self._submitted if not f.done()] + [self._submit(fn, *args)]
        return self._submitted[-1]

    def cancel_pending(self) -> None:
        self._cancel([f for f in self._submitted if not f.done()])


# ---- local: a process pool ------------------------------------------------------------

def _worker_start(parent_pid: int) -> None:
    """Pool worker initializer: lead a process group of its own (its CmdStan children join
    it), and end that group once the refresh process is gone (SIGKILL leaves no clean-up)."""
    os.setpgrp()
    threading.Thread(target=_end_with_parent, args=(parent_pid,), name="parent-watch", daemon=True).start()


def _end_with_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:  # a dead parent's children are handed to another process
        time.sleep(PARENT_CHECK_SECONDS)
    os.killpg(os.getpgrp(), signal.SIGKILL)


@contextmanager
def local(workers: int, address: str | None = None) -> Iterator[Backend]:
    if workers > 1:
        pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                      initializer=_worker_start, initargs=(os.getpid(),))
    else:  # the same tasks, one at a time in this process (no spawn start-up)
        pool = cf.ThreadPoolExecutor(max_workers=1)
    try:
        yield Backend(pool.submit, cf.as_completed, lambda futures: [f.cancel() for f in futures], local_files=True,
                      slots=workers)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


# ---- dask: an existing cluster ----------------------------------------------------------

def fit_environment() -> dict[str, str]:
    """What decides a fit's numbers on a machine: our forecasting code and the versions of
    the libraries it runs on. Workers must match the refresh process for identical results."""
    digest = hashlib.sha256()
    root = Path(__file__).resolve().parent.parent
    for path in sorted((root / "forecast").rglob("*.py")) + [root / "jobs" / "refresh.py"]:
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    env = {"python": ".".join(map(str, sys.version_info[:2])), "forecast code": digest.hexdigest()[:12]}
    for name in FIT_LIBRARIES:
        try:
            env[name] = version(name)
        except PackageNotFoundError:
            env[name] = "not installed"
    return env


def check_address(address: str | None) -> str:
    """`address` as a Dask scheduler address, else a ConfigError saying what is wrong."""
    if not address:
        raise ConfigError("--backend dask needs the Dask scheduler's address: --scheduler-address "
                          "tcp://HOST:PORT or DOMSHARE_DASK_ADDRESS")
    parts = urlsplit(address)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme not in DASK_SCHEMES or not parts.hostname or port is None:
        raise ConfigError(f"--scheduler-address {address!r} is not a Dask scheduler address "
                          "like tcp://HOST:PORT (`dask scheduler` prints it)")
    return address


def _check_workers(client, address: str) -> None:
    """Every worker runs one thread (fits seed NumPy's global RNG) and the same code and
    libraries as this process, or the results would differ from the local backend's."""
    info = client.scheduler_info(n_workers=-1)["workers"]  # -1: all of them (distributed >= 2025.4)
    threaded = sorted(w for w, spec in info.items() if spec.get("nthreads", 1) != 1)
    if threaded:
        raise ConfigError(f"Dask workers {', '.join(threaded)} at {address} run more than one thread: start "
                          "them with `dask worker ADDRESS --nthreads 1` (each fit seeds NumPy's global RNG)")
    ours = fit_environment()
    theirs = client.run(fit_environment)
    differ = {worker: {k: v for k, v in env.items() if ours.get(k) != v} for worker, env in theirs.items()}
    differ = {worker: d for worker, d in differ.items() if d}
    if differ:
        worker, diff = sorted(differ.items())[0]
        shown = ", ".join(f"{k} {v} (here {ours.get(k)})" for k, v in diff.items())
        raise ConfigError(f"{len(differ)} Dask worker(s) at {address} run other code than this process, "
                          f"e.g. {worker}: {shown}; install this domshare version on every worker")


@contextmanager
def dask(workers: int, address: str | None = None) -> Iterator[Backend]:
    """`workers` is ignored: the cluster's workers decide (one fit per worker thread)."""
    address = check_address(address)
    import distributed
    from dask import config as dask_config
    from dask.utils import parse_timedelta

    try:  # connect timeout: dask's distributed.comm.timeouts.connect (env DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT)
        client = distributed.Client(address, set_as_default=False)
    except OSError as exc:
        raise ConfigError(f"--scheduler-address {address}: no Dask scheduler answered ({exc})") from None
    backend = Backend(lambda fn, *args: client.submit(fn, *args, pure=False),  # pure=False: every task runs
                      lambda futures: distributed.as_completed(futures, loop=client.loop), client.cancel,
                      local_files=False)  # workers keep (and clean up) their own temporary folders
    try:
        try:
            client.wait_for_workers(1, timeout=parse_timedelta(dask_config.get("distributed.comm.timeouts.connect")))
        except TimeoutError:
            raise ConfigError(f"the Dask scheduler at {address} has no workers (start some with "
                              f"`dask worker {address} --nthreads 1`)") from None
        _check_workers(client, address)
        backend.slots = len(client.scheduler_info(n_workers=-1)["workers"])  # one thread each (checked)
        yield backend
    finally:
        backend.cancel_pending()
        client.close()


BACKENDS = {"local": local, "dask": dask}


def open_backend(name: str, workers: int, address: str | None = None):
    """The backend `name` (see BACKENDS) as a context manager yielding a Backend."""
    if name not in BACKENDS:
        raise ConfigError(f"--backend {name!r}: choose one of {', '.join(BACKENDS)}")
    return BACKENDS[name](workers, address)
