"""What every page shares: the database URL, the empty states, the freshness warnings and
the download buttons."""
from __future__ import annotations

import functools

import pandas as pd
import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from jobs import settings as settings_module
from jobs.errors import DomshareError, NotInitialised
from jobs.store.db import shown_url
from ui import periods, queries, style
from ui.outside_text import http_link, md

RELIABILITY_LABELS = {"low": "⚠ low reliability", "very_low": "⚠ very low reliability"}
KIND_LABELS = {"exact": "exact", "approximate": "approximate (~)", "lower_bound": "lower bound (≥)",
               "upper_bound": "upper bound (≤)", "range": "range (low–high)"}


def db_url() -> str:
    """From DOMSHARE_DB_URL (set by `domshare ui`), else the CLI's default."""
    return settings_module.from_environment().db_url


def load_stamp(url: str) -> queries.Stamp:
    """The store's stamp, or an empty-state message and a stopped page."""
    try:
        return queries.stamp(url)
    except NotInitialised:
        st.info(
            f"**The database has no tables yet** (`{shown_url(url)}`).\n\n"
            "Create them and load the bundled data with `domshare init`, then fit the "
            "forecasts with `domshare refresh` (or run `domshare up`, which does both).",
            icon=":material/database:",
        )
        st.stop()
    except (SQLAlchemyError, OSError, DomshareError) as exc:  # DomshareError: a URL make_engine refuses
        st.error(
            f"**Cannot read the database** `{shown_url(url)}`: {type(exc).__name__}: "
            f"{str(exc).splitlines()[0]}\n\nCheck `--db` / `DOMSHARE_DB_URL`.",
            icon=":material/error:",
        )
        st.stop()


def most_urgent_first(targets: pd.DataFrame) -> pd.DataFrame:
    """Targets whose deadline is still ahead and that have a probability, the likeliest misses
    first; then the open ones nothing can forecast; then those whose deadline has passed
    (nearest deadline first within each). Adds the `closed` flag the overview shows."""
    targets = targets.assign(
        closed=pd.to_datetime(targets["deadline"]) < pd.Timestamp.now().normalize(),
        unforecast=targets["probability_by_deadline"].isna(),
        urgency=targets["status"].map(style.URGENCY).fillna(len(style.URGENCY)))
    return targets.sort_values(["closed", "unforecast", "urgency", "deadline", "probability_by_deadline"],
                               na_position="last").reset_index(drop=True)


def no_run_message() -> None:
    st.info(
        "**No forecast run yet.** Run `domshare refresh` to fit the forecasts and assess the "
        "targets (or `domshare up`, which also starts the scheduler). This page updates as soon "
        "as the run completes.",
        icon=":material/query_stats:",
    )


def when(value) -> str:
    """A UTC time in words a viewer can read, with how long ago."""
    if value is None or pd.isna(value):
        return "never"
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    age = pd.Timestamp.now(tz="UTC") - stamp
    return f"{stamp:%Y-%m-%d %H:%M} UTC ({_age(age)})"


def _age(age: pd.Timedelta) -> str:
    seconds = age.total_seconds()
    if seconds < 0:
        return "in " + _age(-age)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = int(seconds // size)
            return f"{n} {unit}{'s' if n > 1 else ''} ago"
    return "just now"


def time_text(values, missing: str = periods.MISSING) -> pd.Series:
    """UTC times as 'YYYY-MM-DD HH:MM' text, `missing` where there is none (never "None")."""
    stamps = pd.to_datetime(pd.Series(values), utc=True)
    return stamps.dt.strftime("%Y-%m-%d %H:%M").fillna(missing)


def text(values, missing: str = periods.MISSING) -> pd.Series:
    """Any column as text with a dash for a missing value."""
    values = pd.Series(values)
    return values.map(lambda v: missing if v is None or (not isinstance(v, str) and pd.isna(v))
                      or v == "" else str(v))


def file_label(name: str, rows: int) -> str:
    """A download button's words: "targets.csv (42 rows)", "evidence_P10.csv (1 row)"."""
    return f"{name} ({rows:,} row{'' if rows == 1 else 's'})"


def number_text(values, fmt: str = "{:.0%}", missing: str = periods.MISSING) -> pd.Series:
    """Numbers as text, a dash where there is none. st.dataframe draws every missing cell as
    "None" whatever the format, so a column that can be missing is shown as text."""
    return pd.Series(values).map(lambda v: missing if v is None or pd.isna(v) else fmt.format(v))


SOURCE_COLUMNS = {  # shown column -> how to read it from a source_freshness / file_sources frame
    "source": lambda f: f["source"],
    "newest observation": lambda f: periods.texts(f["newest_observation"], f["newest_period"]),
    "observations": lambda f: pd.to_numeric(f["observations"]).fillna(0).astype(int),
    "files": lambda f: pd.to_numeric(f["files"]).fillna(0).astype(int),
    "loaded": lambda f: time_text(f["last_snapshot"]),
    "last snapshot": lambda f: time_text(f["last_snapshot"]),
    "last pull": lambda f: time_text(f["last_pull"], missing="never"),
    "outcome": lambda f: text(f["last_outcome"]),
    "next scheduled run": lambda f: time_text(f["next_run"], missing="not scheduled"),
    "rows added": lambda f: number_text(f["rows_added"], "{:.0f}"),
    "rows changed": lambda f: number_text(f["rows_changed"], "{:.0f}"),
    "last success": lambda f: time_text(f["last_success"], missing="never"),
    "error kind": lambda f: text(f["error_kind"]),
    "error": lambda f: text(f["error"], missing=""),
}


def _share(value: float) -> str:
    return f"{value * 100:.1f}".removesuffix(".0") + "%"


def value_text(kind, value, value_high=None) -> str:
    """An observation as its source gave it: 31%, ~70%, ≥30%, ≤5%, 16–19%."""
    if value is None or pd.isna(value):
        return periods.MISSING
    kind = kind if isinstance(kind, str) else "exact"
    if kind == "range" and value_high is not None and pd.notna(value_high):
        return f"{_share(value)}–{_share(value_high)}"
    return {"approximate": "~", "lower_bound": "≥", "upper_bound": "≤"}.get(kind, "") + _share(value)


def observation_table(obs: pd.DataFrame) -> pd.DataFrame:
    """One row per observation with what its number means and the source's own words:
    period, value (bounds as bounds), kind, reliability, publisher, quote, link."""
    # The source's words right after the value, so a narrow screen shows them; a flagged
    # value carries a ⚠ in its own cell, so the flag is seen wherever the value is.
    low = obs["reliability"].isin(RELIABILITY_LABELS)
    columns = {
        "period": obs["period"] if "period" in obs.columns else periods.texts(obs["date"], obs["period_type"]),
        "value": [value_text(k, v, h) + (" ⚠" if flagged else "")
                  for k, v, h, flagged in zip(obs["kind"], obs["value"], obs["value_high"], low)],
        "quote": text(obs["quote"], missing=""),
        "reliability": obs["reliability"].map(lambda r: RELIABILITY_LABELS.get(r, "")),
        "kind": obs["kind"].fillna("exact").map(lambda k: KIND_LABELS.get(k, k)),
        "publisher": text(obs["publisher"]) if "publisher" in obs.columns else None,
        # never a javascript: or file: link; "" where there is none (st.dataframe would write "None")
        "link": obs["source_url"].map(http_link).fillna(""),
        "note": text(obs["note"], missing=""),
    }
    return pd.DataFrame({k: v for k, v in columns.items() if v is not None}, index=obs.index)


OBSERVATION_COLUMN_CONFIG = {
    "quote": st.column_config.TextColumn("source's words", width="large",
                                         help="the source's own words containing the number"),
    "link": st.column_config.LinkColumn("link", width="medium"),
    "note": st.column_config.TextColumn(width="medium"),
    "value": st.column_config.TextColumn(alignment="right",
                                         help="as the source gave it: ~ approximate, ≥ a lower bound, ≤ an upper bound, low–high a range"),
}


def sources_table(sources: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Source freshness as a viewer reads it: periods for observations, dashes for what never
    happened (a source scheduled but not pulled yet)."""
    return pd.DataFrame({name: SOURCE_COLUMNS[name](sources) for name in columns})


def days_since(value) -> float | None:
    if value is None or pd.isna(value):
        return None
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return (pd.Timestamp.now(tz="UTC") - stamp).total_seconds() / 86400


def freshness_warnings(url: str, stamp: queries.Stamp) -> list[str]:
    """Stale forecasts, data newer than the forecasts, failed last pulls, stale sources."""
    warnings = []
    runs = queries.runs(url, stamp)
    if stamp.run_id is not None:
        age = days_since(stamp.run_finished_at)
        if age is not None and age > style.STALE_RUN_DAYS:
            warnings.append(f"The latest forecast run is {age:.0f} days old: run `domshare refresh`.")
        latest = runs[runs["id"] == stamp.run_id].iloc[0]
        if stamp.last_share_update is not None and _after(stamp.last_share_update,
                                                                 latest["started_at"]):
            warnings.append("Observations changed after the latest forecast run started: the "
                            "forecasts are out of date until `domshare refresh` runs.")
    newer = runs[(runs["id"] > (stamp.run_id or 0)) & (runs["status"] == "failed")]
    if not newer.empty:
        failed = newer.iloc[0]
        warnings.append(f"Forecast run {failed['id']} failed ({md(_first_line(failed['error']))}); "
                        "the page shows the last complete run.")
    sources = queries.source_freshness(url, stamp)
    failed = sources[sources["last_outcome"] == "failed"]
    if len(failed) == 1:
        row = failed.iloc[0]
        warnings.append(f"The last pull of **{md(row['source'])}** failed ({md(row['error_kind'] or 'error')}: "
                        f"{md(_first_line(row['error']))}); its data may be stale.")
    elif len(failed) > 1:
        # One line, not one per source: a machine without network fails every pull at once.
        kinds = failed["error_kind"].fillna("error").value_counts()
        warnings.append(f"The last pull of **{len(failed)} sources** failed ("
                        + ", ".join(f"{kind} ×{n}" for kind, n in kinds.items()) + "): "
                        + _names(failed["source"]) + "; their data may be stale (details on *Data & runs*).")
    pulled = sources[(sources["last_outcome"] != "failed") & sources["last_pull"].notna()]
    stale = pulled[pulled["last_success"].map(lambda v: (days_since(v) or 0) > style.STALE_PULL_DAYS)]
    if len(stale) == 1:
        warnings.append(f"**{stale.iloc[0]['source']}** has not been pulled successfully for "
                        f"{days_since(stale.iloc[0]['last_success']):.0f} days.")
    elif len(stale) > 1:
        warnings.append(f"**{len(stale)} sources** have not been pulled successfully for more than "
                        f"{style.STALE_PULL_DAYS} days: {_names(stale['source'])}.")
    return warnings


def _names(sources: pd.Series, limit: int = 6) -> str:
    names = sorted(sources)
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _after(a, b) -> bool:
    a, b = pd.Timestamp(a), pd.Timestamp(b)
    a = a.tz_localize("UTC") if a.tzinfo is None else a
    b = b.tz_localize("UTC") if b.tzinfo is None else b
    return a > b


def _first_line(text) -> str:
    return str(text).strip().splitlines()[0][:200] if isinstance(text, str) and text.strip() else "no message"


def show_warnings(url: str, stamp: queries.Stamp) -> None:
    for message in freshness_warnings(url, stamp):
        st.warning(message, icon=":material/schedule:")


def download_buttons(url: str, stamp: queries.Stamp, series_keys: list[str] | None, scope: str, key: str) -> None:
    """Every CSV of `domshare export`, in its order, of `series_keys` (None = whole), one
    button each. A file is built only when its button is clicked (Streamlit calls `data`
    then): a rerun of the page counts the rows and reads none of them."""
    keys = None if series_keys is None else tuple(series_keys)
    # A wrapping row, not fixed columns: on a narrow screen a button moves to the next line
    # instead of cutting its file name to "foreca…".
    with st.container(horizontal=True, wrap=True, key=f"downloads-{key}"):
        for name, rows in queries.export_rows(url, stamp, keys).items():
            filename = name if scope == "all" else name.replace(".csv", f"_{scope}.csv")
            st.download_button(
                file_label(name, rows), data=functools.partial(_file, url, stamp, keys, name),
                file_name=filename, mime="text/csv", icon=":material/download:", key=f"download-{key}-{name}",
                width="content", on_click="ignore",
            )


def _file(url: str, stamp: queries.Stamp, keys: tuple[str, ...] | None, name: str) -> bytes:
    return queries.export_files(url, stamp, keys)[name]
