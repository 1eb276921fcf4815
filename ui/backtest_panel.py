"""The series page's backtest panel: how the model was chosen, each model's scores, and the
curated policy dates offered to Prophet as candidate changepoints."""
from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from forecast.registry import POLICY_SUFFIX
from jobs.store import read
from ui import common, periods, style
from ui.outside_text import md


def _weights_text(run_status: dict | None) -> str:
    weights = json.loads(run_status["weights"]) if run_status and run_status.get("weights") else {}
    return ", ".join(f"{md(m)} {w:.1f}" for m, w in weights.items())


def skill_text(skill, model: str) -> str:
    if skill is None or pd.isna(skill):
        return periods.MISSING
    return f"{skill:+.2f} ({'the yardstick' if model == 'naive' else style.skill_verdict(skill)})"


def show(scores: pd.DataFrame, run_status: dict | None) -> None:
    chosen = scores.loc[scores["chosen"].astype(bool), "model"]
    reused = read.reused_choice(run_status) if run_status else None
    if reused:  # the scores are the choosing run's; the model this fit used is the run's own
        chosen = pd.Series([run_status["model"]]).dropna()
    if not chosen.empty:
        used = md(chosen.iloc[0]) + (f" ({_weights_text(run_status)})" if chosen.iloc[0] == "mixture" else "")
        skill = run_status.get("skill") if run_status else None
        verdict = ""
        if skill is not None and pd.notna(skill):
            origins = int(run_status["skill_origins"])
            verdict = (f" — out of sample it {'beats' if skill > 0 else 'does not beat'} the naive forecast "
                       f"(skill {skill:+.2f} over {origins} origin{'' if origins == 1 else 's'})")
        st.markdown(f"Model used for the forecast: **{used}**{verdict}" + (f" ({reused})" if reused else ""))
    formats = {"weight": "{:.1f}", "crps_selection": "{:.4f}", "crps": "{:.4f}",
               "coverage_80": "{:.2f}", "mae": "{:.3f}", "crossing_error_days": "{:.0f}"}
    numbers = ["weight", "crps_selection", "crps", "skill", "coverage_80", "mae", "crossing_error_days"]
    table = scores[["model", "chosen", *numbers, "n_origins", "error"]].copy()
    table[numbers] = table[numbers].apply(pd.to_numeric, errors="coerce")
    table = table.sort_values(["chosen", "crps_selection"], ascending=[False, True], na_position="last")
    # st.dataframe draws a missing number as "None": every column that can be missing is text
    shown = table.assign(**{c: common.number_text(table[c], f).to_numpy() for c, f in formats.items()},
                         skill=[skill_text(v, m) for v, m in zip(table["skill"], table["model"])],
                         chosen=table["chosen"].map(lambda c: "✔" if c else "").to_numpy(),
                         error=table["error"].fillna("").map(lambda e: f"skipped: {e}" if e else "").to_numpy())
    right = {"alignment": "right"}
    st.dataframe(
        shown, hide_index=True, width="stretch",
        column_config={
            "weight": st.column_config.TextColumn("weight", help="share of the chosen mixture's paths", **right),
            "crps_selection": st.column_config.TextColumn(
                "CRPS (choice)", help="on the latest origins, after each model's bands were widened to "
                                      "their 80% coverage: the score the choice is made on (lower is better)",
                **right),
            "crps": st.column_config.TextColumn("CRPS", help="as fitted, on the latest origins", **right),
            "skill": st.column_config.TextColumn("skill", help="1 - CRPS / naive's CRPS on the latest origins: "
                                                               "above 0 beats naive", **right),
            "mae": st.column_config.TextColumn("MAE", help="mean absolute error of the median, share points",
                                               **right),
            "coverage_80": st.column_config.TextColumn(
                "80% coverage", help="share of held-out points inside the 80% band (ideal 0.80)", **right),
            "crossing_error_days": st.column_config.TextColumn(
                "crossing error (days)", help="days between the predicted and the actual first crossing in "
                                              "the held-out data; a dash where no threshold was crossed there",
                **right),
            "n_origins": st.column_config.NumberColumn("origins"),
            "error": st.column_config.TextColumn("note", width="large"),
        },
    )
    st.caption("Rolling-origin backtest: each model is refitted at past cutoffs and scored on what "
               "came next (CRPS: the error of the whole forecast distribution). The random walks "
               "(naive, drift) are the yardstick; the choice is among the share models. The table's "
               "skill is each model's on the latest origins, which the choice saw; the line above "
               "gives the choice procedure's skill out of sample.")
    show_policy_changepoints(scores, run_status)


def show_policy_changepoints(scores: pd.DataFrame, run_status: dict | None) -> None:
    offered = json.loads(run_status["policy_changepoints"]) if run_status and run_status.get(
        "policy_changepoints") else None
    st.markdown("**Policy dates as candidate turning points**")
    if not offered:
        st.caption("No curated policy of this series' sector and technology falls inside its data, "
                   "so none was offered to Prophet as a changepoint.")
        return
    dates = "; ".join(f"{md(p)} ({md(d)})" for p, d in sorted(offered["dates"].items(), key=lambda x: x[1]))
    st.markdown(f"Offered to Prophet beside its own changepoints: {dates}.")
    by_model = scores.set_index("model")["crps_selection"]
    lines = []
    for model, kept in sorted(offered["kept"].items()):
        with_, without = by_model.get(model + POLICY_SUFFIX), by_model.get(model)
        score = (f"CRPS {with_:.5f} with them, {without:.5f} without"
                 if with_ is not None and without is not None and pd.notna(with_) and pd.notna(without) else
                 "one of the two did not fit")
        lines.append(f"- {md(model)}: **{'kept' if kept else 'not kept'}** ({score})")
    st.markdown("\n".join(lines))
    st.caption("A policy date is kept for a model only where the backtest scores that model better "
               "with it than without it.")
