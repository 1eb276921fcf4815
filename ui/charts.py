"""Plotly figures. Pure: frames in, figures out (no store access, no Streamlit)."""
from __future__ import annotations

from html import escape

import pandas as pd
import plotly.graph_objects as go

from forecast.frames import (
    CROSSING_STATUS, DATE, LOWER_80, LOWER_95, MEDIAN_DATE, OBSERVED_DATE, P10_DATE, P90_DATE,
    THRESHOLD, UPPER_80, UPPER_95, YHAT,
)
from ui import periods, style

SHARE_AXIS = dict(tickformat=".0%", range=[0, 1.04], title="domestic share")
LAYOUT = dict(
    template="plotly_white", height=520, margin=dict(l=60, r=30, t=70, b=40),
    legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0),
    hovermode="closest",
    # Dark text on white: Streamlit's theme otherwise greys the hover text out.
    hoverlabel=dict(bgcolor="white", font=dict(color="#111827")),
)


def _pct(value) -> str:
    return "n/a" if value is None or pd.isna(value) else f"{value:.0%}"


def _day(value) -> str:
    return "" if value is None or pd.isna(value) else pd.Timestamp(value).strftime("%Y-%m-%d")


def series_chart(meta: dict, observations: pd.DataFrame, forecast: pd.DataFrame,
                 crossings: pd.DataFrame, targets: pd.DataFrame) -> go.Figure:
    """Observed points, forecast median with 80%/95% bands, thresholds, targets, crossings.

    `observations` has date/value; `forecast` the forecast columns of forecast.frames;
    `crossings` the crossing columns; `targets` target_id, policy_title, threshold,
    deadline, status, probability_by_deadline.
    """
    if meta.get("kind") == "context":
        return context_chart(meta, observations)
    period = periods.period_of(meta.get("frequency"))
    fig = go.Figure()
    if not forecast.empty:
        fc = forecast.sort_values(DATE)
        x = pd.to_datetime(fc[DATE])
        for lower, upper, colour, name in ((LOWER_95, UPPER_95, style.BAND_95, "95% band"),
                                           (LOWER_80, UPPER_80, style.BAND_80, "80% band")):
            fig.add_trace(go.Scatter(x=x, y=fc[upper], mode="lines", line=dict(width=0),
                                     hoverinfo="skip", showlegend=False, legendgroup=name))
            fig.add_trace(go.Scatter(x=x, y=fc[lower], mode="lines", line=dict(width=0),
                                     fill="tonexty", fillcolor=colour, name=name, legendgroup=name,
                                     hoverinfo="skip"))
        fig.add_trace(go.Scatter(
            x=x, y=fc[YHAT], mode="lines", name="forecast median",
            line=dict(color=style.FORECAST_COLOUR, width=2, dash="dash"),
            customdata=fc[[LOWER_80, UPPER_80, LOWER_95, UPPER_95]].to_numpy(),
            hovertemplate="%{x|" + periods.d3(period) + "}: median %{y:.1%}<br>80%: %{customdata[0]:.1%}–%{customdata[1]:.1%}"
                          "<br>95%: %{customdata[2]:.1%}–%{customdata[3]:.1%}<extra></extra>",
        ))
    _add_observations(fig, observations, period)
    thresholds = set(crossings[THRESHOLD]) if not crossings.empty else set()
    thresholds |= set(targets[THRESHOLD]) if not targets.empty else set()
    for threshold in sorted(thresholds):
        fig.add_hline(y=threshold, line=dict(color=style.THRESHOLD_COLOUR, width=1, dash="dot"),
                      annotation_text=_pct(threshold), annotation_position="top left",
                      annotation_font_color=style.THRESHOLD_COLOUR)
    _add_crossings(fig, crossings, forecast, period)
    _add_targets(fig, targets)
    # No figure title: the page's heading names the series, and the legend needs the room.
    xaxis = _time_axis(period, observations["date"] if not observations.empty else [],
                       forecast[DATE] if not forecast.empty else [],
                       targets["deadline"] if not targets.empty else [])
    fig.update_layout(**LAYOUT, yaxis=SHARE_AXIS, xaxis=xaxis)
    return fig


# Bounds: a lower bound ("more than 30 %") points up, an upper bound ("less than 5 %") down,
# a range ("16-19 %") is a bar from its low to its high end. None of them is fitted.
BOUND_MARKERS = {"lower_bound": ("triangle-up", "lower bound (at least)"),
                 "upper_bound": ("triangle-down", "upper bound (at most)")}
LOW_RELIABILITY = ("low", "very_low")


def _kind(observations: pd.DataFrame) -> pd.Series:
    return observations["kind"].fillna("exact") if "kind" in observations.columns else \
        pd.Series("exact", index=observations.index)


def _add_observations(fig: go.Figure, observations: pd.DataFrame, period: str | None) -> None:
    """Observed values as a line, bounds as triangles, ranges as bars; low-reliability
    points ringed and labelled in the hover."""
    if observations.empty:
        return
    kind = _kind(observations)
    texts = pd.Series(_period_texts(observations, period), index=observations.index)
    low = (observations["reliability"].isin(LOW_RELIABILITY) if "reliability" in observations.columns
           else pd.Series(False, index=observations.index))
    label = texts + low.map({True: " (low reliability)", False: ""})
    fitted = observations[kind.isin(["exact", "approximate"])]
    if not fitted.empty:
        approx = kind[fitted.index] == "approximate"
        fig.add_trace(go.Scatter(
            x=pd.to_datetime(fitted["date"]), y=fitted["value"], name="observed",
            mode="lines+markers" if len(fitted) > 1 else "markers",
            line=dict(color=style.OBSERVED_COLOUR, width=1),
            marker=dict(color=style.OBSERVED_COLOUR, size=6),
            customdata=list(zip(label[fitted.index], approx.map({True: "about ", False: ""}))),
            hovertemplate="%{customdata[0]}: %{customdata[1]}%{y:.1%}<extra>observed</extra>",
        ))
    for bound, (symbol, name) in BOUND_MARKERS.items():
        rows = observations[kind == bound]
        if not rows.empty:
            fig.add_trace(go.Scatter(
                x=pd.to_datetime(rows["date"]), y=rows["value"], mode="markers", name=name,
                marker=dict(symbol=symbol, size=12, color=style.OBSERVED_COLOUR),
                customdata=list(label[rows.index]),
                hovertemplate="%{customdata}: " + ("at least" if bound == "lower_bound" else "at most")
                              + " %{y:.1%}<extra>" + name + "</extra>",
            ))
    ranges = observations[kind == "range"]
    for first, (index, row) in enumerate(ranges.iterrows()):
        fig.add_trace(go.Scatter(
            x=[pd.Timestamp(row["date"])] * 2, y=[row["value"], row["value_high"]], mode="lines+markers",
            line=dict(color=style.OBSERVED_COLOUR, width=4), marker=dict(symbol="line-ew", size=10,
                                                                          line=dict(width=2, color=style.OBSERVED_COLOUR)),
            name="range (low–high)", legendgroup="range", showlegend=first == 0,
            hovertemplate=f"{label[index]}: {_pct(row['value'])}–{_pct(row['value_high'])}<extra>range</extra>",
        ))
    rings = observations[low]
    if not rings.empty:
        fig.add_trace(go.Scatter(
            x=pd.to_datetime(rings["date"]), y=rings["value"], mode="markers", name="low reliability",
            marker=dict(symbol="circle-open", size=14, color=style.LOW_RELIABILITY_COLOUR, line=dict(width=2)),
            customdata=list(label[rings.index]), hovertemplate="%{customdata}<extra>low reliability</extra>",
        ))


def _period_texts(observations: pd.DataFrame, period: str | None) -> list[str]:
    """Each observation as the period it stands for (its own period type when recorded)."""
    own = observations["period_type"] if "period_type" in observations.columns else period
    return list(periods.texts(observations["date"], own if own is not None else period))


def _time_axis(period: str | None, *dates: pd.Series) -> dict:
    """Ticks that name periods: "2021" (not "Jan 2021") for years, "2019-Q4" (not "Oct 13")
    for quarters. A short span gets one labelled tick per period; a long one yearly ticks."""
    if period not in ("year", "quarter"):
        return dict(title=None)  # months and days: Plotly's own ticks read right
    known = pd.concat([pd.to_datetime(pd.Series(d)) for d in dates if len(d)]).dropna() if dates else pd.Series()
    if known.empty:
        return dict(title=None)
    first = known.min().to_period("Y" if period == "year" else "Q").start_time
    ticks = pd.date_range(first, known.max(), freq="YS" if period == "year" else "QS")
    if len(ticks) <= 12:
        return dict(title=None, tickvals=list(ticks), ticktext=[periods.one(t, period) for t in ticks])
    years = (known.max() - known.min()).days / 365.25
    return dict(title=None, tickformat="%Y", **({"dtick": "M12"} if years <= 12 else {}))


def _add_crossings(fig: go.Figure, crossings: pd.DataFrame, forecast: pd.DataFrame,
                   period: str | None = None) -> None:
    """Projected crossings: median marker and a 10–90% line; crossed: the observed date.
    Hovers name periods (a crossing of an annual series happens in a year, not on 1 January)."""
    if crossings.empty:
        return

    def when(value) -> str:
        return "" if value is None or pd.isna(value) else periods.one(value, period)

    horizon_end = pd.to_datetime(forecast[DATE]).max() if not forecast.empty else None
    first, first_crossed = True, True
    for row in crossings.itertuples(index=False):
        row = row._asdict()
        if row[CROSSING_STATUS] == "projected" and pd.notna(row[MEDIAN_DATE]):
            start = row[P10_DATE] if pd.notna(row[P10_DATE]) else row[MEDIAN_DATE]
            end = row[P90_DATE] if pd.notna(row[P90_DATE]) else horizon_end
            note = "" if pd.notna(row[P90_DATE]) else " (90th percentile beyond the horizon)"
            hover = (f"crosses {_pct(row[THRESHOLD])}: median {when(row[MEDIAN_DATE])}<br>"
                     f"10–90%: {when(row[P10_DATE])} – {when(row[P90_DATE]) or 'after horizon'}{note}")
            fig.add_trace(go.Scatter(
                x=[pd.Timestamp(start), pd.Timestamp(end)], y=[row[THRESHOLD]] * 2, mode="lines",
                line=dict(color=style.FORECAST_COLOUR, width=5), opacity=0.45,
                name="crossing 10–90% range", legendgroup="crossing", showlegend=first,
                hovertemplate=hover + "<extra></extra>",
            ))
            fig.add_trace(go.Scatter(
                x=[pd.Timestamp(row[MEDIAN_DATE])], y=[row[THRESHOLD]], mode="markers",
                marker=dict(symbol="line-ns", size=16, line=dict(width=3, color=style.FORECAST_COLOUR)),
                name="median crossing", legendgroup="crossing", showlegend=first,
                hovertemplate=hover + "<extra></extra>",
            ))
            first = False
        elif row[CROSSING_STATUS] == "crossed" and pd.notna(row[OBSERVED_DATE]):
            fig.add_trace(go.Scatter(
                x=[pd.Timestamp(row[OBSERVED_DATE])], y=[row[THRESHOLD]], mode="markers",
                marker=dict(symbol="circle-open", size=14, color=style.FORECAST_COLOUR, line=dict(width=2)),
                name="first observed crossing", legendgroup="crossed", showlegend=first_crossed,
                hovertemplate=f"first at or above {_pct(row[THRESHOLD])}: {when(row[OBSERVED_DATE])}"
                              "<extra></extra>",
            ))
            first_crossed = False


def _add_targets(fig: go.Figure, targets: pd.DataFrame) -> None:
    """Each target as a diamond at (deadline, threshold), one legend entry per status."""
    if targets.empty:
        return
    for status, group in targets.groupby(targets["status"].fillna(""), sort=False):
        xs, ys, hover = _coinciding(group, "deadline", THRESHOLD, lambda first: (
            f"{_pct(first.threshold)} by {_day(first.deadline)}"
            f"<br>probability by deadline: {_pct(first.probability_by_deadline)}"
            f"<br>status: {style.status_label(status)}"))
        fig.add_trace(go.Scatter(
            x=xs, y=ys, mode="markers",
            marker=dict(symbol="diamond", size=15, color=style.status_colour(status),
                        line=dict(width=1.5, color="white")),
            name=f"target: {style.status_label(status)}", hovertext=hover, hoverinfo="text",
        ))


def _coinciding(group: pd.DataFrame, x: str, y: str, common, each=lambda r: "") -> tuple[list, list, list[str]]:
    """One point per (x, y) with a hover listing every target there: one policy often sets
    the same threshold and deadline for several sectors, and a marker must not hide the rest."""
    points: dict[tuple, list] = {}
    for row in group.itertuples(index=False):  # one pass: a groupby of hundreds of points costs seconds
        key = (getattr(row, x), getattr(row, y))
        if not (pd.isna(key[0]) or pd.isna(key[1])):
            points.setdefault(key, []).append(row)
    xs, ys, hover = [], [], []
    for (x_value, y_value), rows in sorted(points.items(), key=lambda item: item[0]):
        names = "<br>".join(f"<b>{escape(str(r.target_id))}</b> {escape(shorten(r.policy_title))}{each(r)}"
                            for r in rows)
        xs.append(pd.Timestamp(x_value))
        ys.append(y_value)
        hover.append((f"{len(rows)} targets:<br>" if len(rows) > 1 else "") + names + "<br>" + common(rows[0]))
    return xs, ys, hover


def shorten(text, limit: int = 90) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def context_chart(meta: dict, observations: pd.DataFrame) -> go.Figure:
    """A context indicator on its own axis and unit: never drawn as a domestic share."""
    unit = meta.get("unit") or "value"
    period = periods.period_of(meta.get("frequency"))
    # A fraction reads in percent, as the observation table under the chart gives it (26.3%, not 0.263).
    percent = unit == "fraction"
    fig = go.Figure(go.Scatter(
        x=pd.to_datetime(observations["date"]), y=observations["value"], mode="lines+markers",
        name=meta.get("title", "context indicator"), line=dict(color=style.CONTEXT_COLOUR),
        customdata=_period_texts(observations, period),
        hovertemplate="%{customdata}: " + ("%{y:.1%}" if percent else "%{y:.3g} " + escape(unit)) + "<extra></extra>",
    ))
    # No figure title: the page's heading names the series and a box says it is context.
    fig.update_layout(**LAYOUT, yaxis=dict(title=f"{'percent' if percent else unit} (context indicator)",
                                           rangemode="tozero", tickformat=".0%" if percent else None),
                      xaxis=_time_axis(period, observations["date"] if not observations.empty else []))
    return fig


def targets_chart(targets: pd.DataFrame) -> go.Figure:
    """Probability of meeting each target by its deadline, coloured by status."""
    assessed = targets[targets["probability_by_deadline"].notna()]
    fig = go.Figure()
    for status, group in assessed.groupby("status", sort=False):
        xs, ys, hover = _coinciding(
            group, "deadline", "probability_by_deadline",
            lambda first: f"deadline {_day(first.deadline)}<br>probability {_pct(first.probability_by_deadline)}",
            lambda r: f" ({escape(str(r.sector))} / {escape(str(r.technology))}: {_pct(r.threshold)})")
        fig.add_trace(go.Scatter(
            x=xs, y=ys, mode="markers",
            marker=dict(size=13, color=style.status_colour(status), line=dict(width=1, color="white")),
            name=style.status_label(status), hovertext=hover, hoverinfo="text",
        ))
    for level, text in ((0.7, "on track at 70% or more"), (0.3, "off track below 30%")):
        fig.add_hline(y=level, line=dict(color=style.THRESHOLD_COLOUR, width=1, dash="dot"),
                      annotation_text=text, annotation_position="top right",
                      annotation_font=dict(color=style.THRESHOLD_COLOUR, size=11))
    fig.update_layout(**{**LAYOUT, "height": 340}, title="Probability of meeting each target by its deadline",
                      yaxis=dict(tickformat=".0%", range=[-0.04, 1.04], title="probability"),
                      xaxis=dict(title="deadline"))
    return fig


def _position_labels(group: pd.DataFrame) -> list[str]:
    """Each dot's policy id; dots on one spot (one sector, one date) share one label, "P10 P11"."""
    spot = group["sector"].fillna("").astype(str) + "|" + group["date"].astype(str)
    ids = group["id"].astype(str).groupby(spot.to_numpy()).agg(" ".join)
    return [ids[s] if first else "" for s, first in zip(spot, ~spot.duplicated())]


def policy_timeline(policies: pd.DataFrame, sector_names: dict[str, str]) -> go.Figure:
    """Curated policies and unreviewed feed items on one time axis, one row per sector."""
    rows = policies.assign(sector=policies["sector_list"]).explode("sector")
    rows["sector"] = rows["sector"].map(lambda c: sector_names.get(c, c) if isinstance(c, str) else c)
    rows = rows[rows["date"].notna()]
    fig = go.Figure()
    for review, colour, symbol in (("curated", style.CURATED_COLOUR, "circle"),
                                   ("user", style.USER_COLOUR, "square"),
                                   ("unreviewed", style.UNREVIEWED_COLOUR, "triangle-up")):
        group = rows[rows["review_status"] == review]
        if group.empty:
            continue
        labelled = review != "unreviewed"  # a policy's short id beside its dot (a feed item's id is a hash)
        fig.add_trace(go.Scatter(
            x=group["date"], y=group["sector"].fillna("no sector matched"),
            mode="markers+text" if labelled else "markers",
            text=_position_labels(group) if labelled else None, textposition="middle right",
            textfont=dict(size=9, color=style.THRESHOLD_COLOUR) if labelled else None,
            marker=dict(size=12, color=colour, symbol=symbol, line=dict(width=1, color="white")),
            name={"curated": "curated policy", "user": "user-supplied policy"}.get(review, "feed item (unreviewed)"),
            hovertext=[f"<b>{escape(str(r.id))}</b> {escape(shorten(r.title))}<br>{periods.at_precision(r.date, r.date_precision)}"
                       for r in group.itertuples()],
            hoverinfo="text",
        ))
    # The legend says what the colour and shape mean even when only one kind is shown.
    fig.update_layout(**{**LAYOUT, "height": 140 + 28 * max(1, rows["sector"].nunique()),
                         "legend": {**LAYOUT["legend"], "x": 1, "xanchor": "right"}},
                      title="Policy timeline", showlegend=True,
                      yaxis=dict(title=None, type="category"), xaxis=dict(title=None))
    return fig
