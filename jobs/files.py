"""Files we read from users and write for them: bounded reads of regular files only, and
temporary files that get the mode an ordinary new file would."""
from __future__ import annotations

import os
import stat
from pathlib import Path

from jobs.errors import InvalidData

MAX_INPUT_BYTES = 200 * 1024 * 1024  # an input file larger than this is refused, not read


def read_input(path: Path, what: str, max_bytes: int = MAX_INPUT_BYTES) -> bytes:
    """The bytes of a regular file of at most `max_bytes`, else InvalidData naming it: a FIFO
    would hang the read and /dev/zero never ends, so neither is opened for reading."""
    path = Path(path)
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            kind = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file (a pipe, device or socket)"
            raise InvalidData(f"{path}: {what}", [(str(path), None, f"{kind}: give a file")])
        if info.st_size > max_bytes:
            raise InvalidData(f"{path}: {what}", [(str(path), None, f"{info.st_size} bytes, over the "
                                                                   f"{max_bytes}-byte limit")])
        with path.open("rb") as handle:
            content = handle.read(max_bytes + 1)
    except OSError as exc:
        problem = f"cannot read the file ({exc.strerror or exc})"
        raise InvalidData(f"{path}: {what}", [(str(path), None, problem)]) from exc
    if len(content) > max_bytes:  # it grew while we read it
        raise InvalidData(f"{path}: {what}", [(str(path), None, f"over the {max_bytes}-byte limit")])
    return content


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def give_default_mode(fd: int) -> None:
    """tempfile.mkstemp makes files readable by their owner only (0600); a file written for
    users (an export) gets what open() would give it: 0666 less the process's umask."""
    os.fchmod(fd, 0o666 & ~current_umask())
