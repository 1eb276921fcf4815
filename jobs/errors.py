"""Our error tree. Foreign exceptions are translated at the edge (`raise X(...) from exc`).

    DomshareError                 anything the CLI reports as a clean message + exit code
     +-- ConfigError        (2)   bad flags, settings or sources.toml
     +-- NotInitialised     (3)   the database has no schema yet: run `domshare init`
     +-- InvalidData        (4)   input rows that break the rules; carries file/row details
     +-- SourceError        (5)   a pull failed; nothing was changed
     |    +-- SourceUnavailable   network, timeout, 429/5xx: try again later
     |    +-- SourceChanged       the payload is not what was asked for: a human must look
     |    |    +-- NotFound       HTTP 404 / a missing file (for list sources: not published yet)
     |    +-- RevisionsHeld       the payload would rewrite too much stored history: held
     |    +-- (InvalidData is also raised by source parsers for bad rows)
     +-- AlreadyRunning     (6)   another process holds the job's lease (jobs.leases)
     +-- InternalError     (70)   a bug in our own code (the CLI shows the traceback with -v)

forecast/ is pure and cannot import this module; its documented failures are ValueErrors of
its own, each failing one series alone (a 'failed' series, the run goes on):
forecast.models.CannotFit, forecast.frames.InvalidHistory, forecast.registry.UnknownModel.
Any other exception is a bug: the CLI reports it as InternalError (exit 70), never as a
user error or a quiet fallback. Module-private signals (`_Retryable` in jobs.sources.http)
never leave their module. tests/reliability/test_error_tree.py keeps it so.
"""
from __future__ import annotations


class DomshareError(Exception):
    exit_code = 1


class ConfigError(DomshareError):
    exit_code = 2


class NotInitialised(DomshareError):
    exit_code = 3


class InvalidData(DomshareError):
    """Bad input. `problems` lists (where, row, message) so every bad row can be named."""

    exit_code = 4

    def __init__(self, message: str, problems: list[tuple[str, int | None, str]] | None = None):
        self.problems = problems or []
        super().__init__(message)

    def __str__(self) -> str:
        lines = [super().__str__()]
        for where, row, problem in self.problems[:50]:
            lines.append(f"  {where}" + (f", row {row}" if row is not None else "") + f": {problem}")
        if len(self.problems) > 50:
            lines.append(f"  ... and {len(self.problems) - 50} more")
        return "\n".join(lines)


class SourceError(DomshareError):
    exit_code = 5


class SourceUnavailable(SourceError):
    """Network trouble, timeout, HTTP 429 or 5xx: the source may work later."""


class SourceChanged(SourceError):
    """The payload does not look like the format we speak (HTML page, new header...), or it
    is another region's, stat's, indicator's or country's than the source asked for."""


class NotFound(SourceChanged):
    """HTTP 404 / a missing file: the URL is wrong, or (for list sources) not published yet."""


class RevisionsHeld(SourceError):
    """The payload would revise more of a series' stored history than the source allows;
    its snapshot is kept and `domshare pull NAME --accept-revisions` applies it."""


class AlreadyRunning(DomshareError):
    """Another process holds the lease of this job (a pull of the same source, a refresh)."""

    exit_code = 6


class InternalError(DomshareError):
    """A bug in our own code, recorded under this name (e.g. a pull's error_kind)."""

    exit_code = 70  # EX_SOFTWARE
