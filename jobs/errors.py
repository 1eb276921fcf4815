"""Our error tree. Foreign exceptions are translated at the edge (`raise X(...) from exc`).

    DomshareError                 anything the CLI reports as a clean message + exit code
     +-- ConfigError              bad flags, settings or sources.toml
     +-- NotInitialised           the database has no schema yet: run `domshare init`
     +-- InvalidData              input rows that break the rules; carries file/row details
     +-- SourceError              a pull failed; nothing was changed
          +-- SourceUnavailable   network, timeout, 429/5xx: try again later
          +-- SourceChanged       the payload no longer has the expected shape: a human must look
          +-- (InvalidData is also raised by source parsers for bad rows)
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
    """The payload does not look like the format we speak (HTML page, new header...)."""
