"""Mapping tables kept in data/ (vendor/manufacturer -> origin), read into plain dicts.

Keys are matched case-insensitively with whitespace collapsed, so `Lenovo` and
`lenovo` are one manufacturer; spelling variants (Dawning/Sugon) are separate rows.
Lines starting with `#` are comments (a table's caveats travel with it).
"""
from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Mapping

from jobs.settings import REPO_DATA_DIR


def norm_key(label: str) -> str:
    return " ".join(str(label).split()).casefold()


def read_mapping(path: Path, key: str, value: str = "origin") -> dict[str, str]:
    """{normalised key: value} from a CSV mapping table."""
    lines = Path(path).read_text(encoding="utf-8").splitlines(keepends=True)
    text = "".join(line for line in lines if not line.startswith("#"))
    return {norm_key(row[key]): row[value].strip() for row in csv.DictReader(io.StringIO(text))}


def mapping_option(options: Mapping, option: str, filename: str, key: str) -> dict[str, str]:
    """The mapping passed in `options[option]` (normalised), else the bundled table."""
    given = options.get(option)
    if given is not None:
        return {norm_key(k): v for k, v in dict(given).items()}
    data_dir = Path(options.get("data_dir") or REPO_DATA_DIR)
    return read_mapping(data_dir / filename, key)
