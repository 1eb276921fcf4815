"""Plotly figures. Pure: frames in, figures out (no store access, no Streamlit)."""
from __future__ import annotations

from html import escape

import pandas as pd
import plotly.graph_objects as go

from forecast.frames import (
    CROSSING_STATUS, DATE, LOWER_80, LOWER_95, MEDIAN_DATE, OBSERVED_DATE, P10_DATE, P90_DATE,
    THRESHOLD, UPPER_80, UPPER_95, YHAT,
)
from ui import style

SHARE_AXIS = dict(tickformat=".0%", range=[0, 1.04], title="domestic share")
LAYOUT = dict(
    template="plotly_white", height=520, margin=dict(l=60, r=30, t=70, b=40),
    legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0),
    hovermode="closest",
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
            hovertemplate="%{x|%Y-%m}: median %{y:.1%}<br>80%: %{customdata[0]:.1%}–%{customdata[1]:.1%}"
                          "<br>95%: %{customdata[2]:.1%}–%{customdata[3]:.1%}<extra></extra>",
        ))
    if not observations.empty:
        fig.add_trace(go.Scatter(
            x=pd.to_datetime(observations["date"]), y=observations["value"], name="observed",
            mode="lines+markers" if len(observations) > 1 else "markers",
            line=dict(color=style.OBSERVED_COLOUR, width=1),
            marker=dict(color=style.OBSERVED_COLOUR, size=6),
            hovertemplate="%{x|%Y-%m-%d}: %{y:.1%}<extra>observed</extra>",
        ))
    thresholds = set(crossings[THRESHOLD]) if not crossings.empty else set()
    thresholds |= set(targets[THRESHOLD]) if not targets.empty else set()
    for threshold in sorted(thresholds):
        fig.add_hline(y=threshold, line=dict(color=style.THRESHOLD_COLOUR, width=1, dash="dot"),
                      annotation_text=_pct(threshold), annotation_position="top left",
                      annotation_font_color=style.THRESHOLD_COLOUR)
    _add_crossings(fig, crossings, forecast)
    _add_targets(fig, targets)
    # No figure title: the page's heading names the series, and the legend needs the room.
    fig.update_layout(**LAYOUT, yaxis=SHARE_AXIS, xaxis=dict(title=None))
    return fig


def _add_crossings(fig: go.Figure, crossings: pd.DataFrame, forecast: pd.DataFrame) -> None:
    """Projected crossings: median marker and a 10–90% line; crossed: the observed date."""
    if crossings.empty:
        return
    horizon_end = pd.to_datetime(forecast[DATE]).max() if not forecast.empty else None
    first = True
    for row in crossings.itertuples(index=False):
        row = row._asdict()
        if row[CROSSING_STATUS] == "projected" and pd.notna(row[MEDIAN_DATE]):
            start = row[P10_DATE] if pd.notna(row[P10_DATE]) else row[MEDIAN_DATE]
            end = row[P90_DATE] if pd.notna(row[P90_DATE]) else horizon_end
            note = "" if pd.notna(row[P90_DATE]) else " (90th percentile beyond the horizon)"
            hover = (f"crosses {_pct(row[THRESHOLD])}: median {_day(row[MEDIAN_DATE])}<br>"
                     f"10–90%: {_day(row[P10_DATE])} – {_day(row[P90_DATE]) or 'after horizon'}{note}")
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
                name="first observed crossing", showlegend=False,
                hovertemplate=f"first at or above {_pct(row[THRESHOLD])}: {_day(row[OBSERVED_DATE])}"
                              "<extra></extra>",
            ))


def _add_targets(fig: go.Figure, targets: pd.DataFrame) -> None:
    """Each target as a diamond at (deadline, threshold), one legend entry per status."""
    if targets.empty:
        return
    for status, group in targets.groupby(targets["status"].fillna(""), sort=False):
        hover = [
            f"<b>{escape(str(r.target_id))}</b> {escape(str(r.policy_title))}<br>{_pct(r.threshold)} by {_day(r.deadline)}"
            f"<br>probability by deadline: {_pct(r.probability_by_deadline)}"
            f"<br>status: {style.status_label(r.status)}"
            for r in group.itertuples(index=False)
        ]
        fig.add_trace(go.Scatter(
            x=pd.to_datetime(group["deadline"]), y=group["threshold"], mode="markers",
            marker=dict(symbol="diamond", size=15, color=style.status_colour(status),
                        line=dict(width=1.5, color="white")),
            name=f"target: {style.status_label(status)}", hovertext=hover, hoverinfo="text",
        ))


def context_chart(meta: dict, observations: pd.DataFrame) -> go.Figure:
    """A context indicator on its own axis and unit: never drawn as a domestic share."""
    unit = meta.get("unit") or "value"
    fig = go.Figure(go.Scatter(
        x=pd.to_datetime(observations["date"]), y=observations["value"], mode="lines+markers",
        name=meta.get("title", "context indicator"), line=dict(color=style.CONTEXT_COLOUR),
        hovertemplate="%{x|%Y}: %{y:.2f} " + unit + "<extra></extra>",
    ))
    fig.update_layout(**LAYOUT, title=f"Context indicator (not a domestic share): {escape(str(meta.get('title', '')))}",
                      yaxis=dict(title=f"{unit} (context indicator)", rangemode="tozero"))
    return fig


def targets_chart(targets: pd.DataFrame) -> go.Figure:
    """Probability of meeting each target by its deadline, coloured by status."""
    assessed = targets[targets["probability_by_deadline"].notna()]
    fig = go.Figure()
    for status, group in assessed.groupby("status", sort=False):
        fig.add_trace(go.Scatter(
            x=pd.to_datetime(group["deadline"]), y=group["probability_by_deadline"], mode="markers",
            marker=dict(size=13, color=style.status_colour(status), line=dict(width=1, color="white")),
            name=style.status_label(status),
            hovertext=[f"<b>{escape(str(r.target_id))}</b> {escape(str(r.policy_title))}<br>{r.sector} / {r.technology}: "
                       f"{_pct(r.threshold)} by {_day(r.deadline)}<br>probability {_pct(r.probability_by_deadline)}"
                       for r in group.itertuples(index=False)],
            hoverinfo="text",
        ))
    for level in (0.3, 0.7):
        fig.add_hline(y=level, line=dict(color=style.THRESHOLD_COLOUR, width=1, dash="dot"))
    fig.update_layout(**{**LAYOUT, "height": 340}, title="Probability of meeting each target by its deadline",
                      yaxis=dict(tickformat=".0%", range=[-0.04, 1.04], title="probability"))
    return fig


def policy_timeline(policies: pd.DataFrame, sector_names: dict[str, str]) -> go.Figure:
    """Curated policies and unreviewed feed items on one time axis, one row per sector."""
    rows = policies.assign(sector=policies["sector_list"]).explode("sector")
    rows["sector"] = rows["sector"].map(lambda c: sector_names.get(c, c) if isinstance(c, str) else c)
    rows = rows[rows["date"].notna()]
    fig = go.Figure()
    for review, colour, symbol in (("curated", style.CURATED_COLOUR, "circle"),
                                   ("unreviewed", style.UNREVIEWED_COLOUR, "triangle-up")):
        group = rows[rows["review_status"] == review]
        if group.empty:
            continue
        fig.add_trace(go.Scatter(
            x=group["date"], y=group["sector"].fillna("unassigned"), mode="markers",
            marker=dict(size=12, color=colour, symbol=symbol, line=dict(width=1, color="white")),
            name="curated policy" if review == "curated" else "feed item (unreviewed)",
            hovertext=[f"<b>{escape(str(r.id))}</b> {escape(str(r.title))}<br>{_day(r.date)}" for r in group.itertuples()],
            hoverinfo="text",
        ))
    fig.update_layout(**{**LAYOUT, "height": 120 + 28 * max(1, rows["sector"].nunique())},
                      title="Policy timeline", yaxis=dict(title=None, type="category"))
    return fig
