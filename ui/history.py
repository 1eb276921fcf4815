"""Forecast history figures and texts. Pure: frames in (jobs.store.read.target_history,
target_changes), figures and text columns out (no store access, no Streamlit)."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ui import charts, periods, style

NEW_DATA = "new data arrived"
SAME_DATA = "same data as the run before"


def _day(value) -> str:
    return periods.MISSING if value is None or pd.isna(value) else f"{pd.Timestamp(value):%Y-%m-%d}"


def _run_labels(history: pd.DataFrame) -> list[str]:
    return [f"#{r}" for r in history["run_id"]]


def history_chart(history: pd.DataFrame, title: str = "") -> go.Figure:
    """One target's outlook after each complete run: probability by the deadline (top) and
    the projected crossing with its 10-90 % range (bottom). Runs where new data arrived
    are filled markers; the others hollow. Without any projected crossing (no run had half
    its paths crossing by the horizon, or the target was decided by observations) the
    bottom panel is left out rather than drawn empty."""
    history = history.sort_values("run_id")
    dated = history[history["projected_date"].notna()]
    rows = 2 if not dated.empty else 1
    x = _run_labels(history)
    finished = [f"{pd.Timestamp(v):%Y-%m-%d %H:%M}" if pd.notna(v) else "" for v in history["run_finished_at"]]
    symbols = ["circle" if new else "circle-open" for new in history["new_data"]]
    fig = make_subplots(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.12,
                        subplot_titles=("probability of meeting the target by its deadline",
                                        "projected crossing of the threshold (median, 10–90%)")[:rows])
    statuses = [style.status_label(s) for s in history["status"]]
    fig.add_trace(go.Scatter(
        x=x, y=history["probability_by_deadline"].astype(float).tolist(), mode="lines+markers", name="P(met)",
        line=dict(color=style.FORECAST_COLOUR, width=2),
        marker=dict(size=11, symbol=symbols, color=[style.STATUS_COLOURS.get(s, "#9e9e9e") for s in history["status"]],
                    line=dict(width=2, color=style.FORECAST_COLOUR)),
        customdata=list(zip(statuses, finished, [NEW_DATA if n else SAME_DATA for n in history["new_data"]])),
        hovertemplate="run %{x} (%{customdata[1]}): P(met) %{y:.0%}, %{customdata[0]}<br>%{customdata[2]}"
                      "<extra></extra>"), row=1, col=1)
    if not dated.empty:
        low, high = pd.to_datetime(dated["p10_date"]), pd.to_datetime(dated["p90_date"])
        ranged = dated[low.notna() & high.notna()]
        xs, ys = [], []
        for row in ranged.itertuples():  # one vertical segment per run: its 10-90 % dates
            xs += [f"#{row.run_id}"] * 2 + [None]
            ys += [pd.Timestamp(row.p10_date), pd.Timestamp(row.p90_date), None]
        if xs:
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name="10–90% range",
                                     line=dict(color=style.FORECAST_COLOUR, width=6), opacity=0.3,
                                     hoverinfo="skip"), row=2, col=1)
        fig.add_trace(go.Scatter(
            x=_run_labels(dated), y=pd.to_datetime(dated["projected_date"]), mode="lines+markers",
            name="projected crossing", line=dict(color=style.FORECAST_COLOUR, dash="dash"),
            marker=dict(size=10, symbol=["circle" if n else "circle-open" for n in dated["new_data"]]),
            customdata=list(zip(map(_day, dated["p10_date"]), map(_day, dated["p90_date"]))),
            hovertemplate="run %{x}: median %{y|%Y-%m-%d}, 10–90%: %{customdata[0]} – %{customdata[1]}"
                          "<extra></extra>"), row=2, col=1)
    fig.update_layout(**{**charts.LAYOUT, "height": 560 if rows == 2 else 320, "title": title or None,
                         "showlegend": True})
    fig.update_yaxes(tickformat=".0%", range=[0, 1.04], title="P(met)", row=1, col=1)
    if rows == 2:
        fig.update_yaxes(title="projected", row=2, col=1, **_date_range(dated))
    fig.update_xaxes(type="category", title="forecast run (filled: new data arrived)", row=rows, col=1)
    return fig


def _date_range(dated: pd.DataFrame) -> dict:
    """The projected panel's axis when its dates (medians, 10-90 % ends) span less than half a
    year (one run, or runs that agree): a year either side, in months; Plotly would zoom to
    milliseconds around a single date."""
    dates = pd.concat([pd.to_datetime(dated[c]) for c in ("projected_date", "p10_date", "p90_date")]).dropna()
    if dates.max() - dates.min() >= pd.Timedelta(days=183):
        return {}
    return {"range": [dates.min() - pd.Timedelta(days=365), dates.max() + pd.Timedelta(days=365)],
            "tickformat": "%Y-%m"}


def change_text(changes: pd.Series) -> pd.Series:
    """Probability changes (share units) as text: "+12 pts", "−3 pts", "0 pts", or a dash."""
    def one(value) -> str:
        if value is None or pd.isna(value):
            return periods.MISSING
        points = round(float(value) * 100)
        return "0 pts" if points == 0 else f"{'+' if points > 0 else '−'}{abs(points)} pts"

    return changes.map(one).astype(object)


__all__ = ["history_chart", "change_text"]
