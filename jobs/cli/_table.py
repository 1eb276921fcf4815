"""Plain-text tables for command output (not a command: the leading `_` keeps it out of discovery)."""
from __future__ import annotations

from typing import Iterable, Sequence

import pandas as pd


def format_table(head: Sequence[str], rows: Iterable[Sequence[str]], right: Iterable[int] = ()) -> str:
    """Columns padded to their widest cell and joined by two spaces; columns at the
    indexes in `right` (numbers) are right-aligned. Trailing blanks are stripped."""
    rows = [tuple(row) for row in rows]
    right = set(right)
    widths = [max(len(cell) for cell in column) for column in zip(head, *rows)]
    return "\n".join(
        "  ".join(cell.rjust(w) if i in right else cell.ljust(w)
                  for i, (cell, w) in enumerate(zip(row, widths))).rstrip()
        for row in (tuple(head), *rows))


def minute(value) -> str:
    """A stored time (UTC) to the minute, "2026-12-01 17:37"; "-" for none."""
    return "-" if value is None or pd.isna(value) else pd.Timestamp(value).strftime("%Y-%m-%d %H:%M")
