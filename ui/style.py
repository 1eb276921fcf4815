"""Status colours, labels and the urgency order, declared once for every page and chart."""
from __future__ import annotations

from forecast.frames import TARGET_STATUSES

# Colour-blind-safe-ish ramp from good (greens) to bad (reds); the label is always shown
# next to the colour, so nobody has to rely on the colour alone.
STATUS_COLOURS = {
    "met": "#1b7837",
    "reached_then_fell": "#b2182b",
    "unobserved": "#4393c3",
    "on_track": "#5aae61",
    "at_risk": "#f1a340",
    "off_track": "#d6604d",
    "missed": "#8e0152",
    "no_data": "#9e9e9e",
}
STATUS_LABELS = {
    "met": "met",
    "missed": "missed",
    "reached_then_fell": "reached, then fell",
    "unobserved": "not observed",
    "on_track": "on track",
    "at_risk": "at risk",
    "off_track": "off track",
    "no_data": "no data",
}
STATUS_MEANINGS = {
    "met": "observed at or above the threshold by the deadline",
    "missed": "observed below the threshold at the deadline",
    "reached_then_fell": "reached the threshold earlier, observed below it at the deadline",
    "unobserved": "deadline passed without an observation near it: the forecast's probability",
    "on_track": "probability of reaching it by the deadline is 70% or more",
    "at_risk": "probability between 30% and 70%",
    "off_track": "probability below 30%",
    "no_data": "no series measures this target",
}
# Most urgent first: targets still open and likely to be missed, then the open ones going
# well, then those nobody can measure, then the settled ones.
URGENCY = {"off_track": 0, "at_risk": 1, "on_track": 2, "no_data": 3, "unobserved": 4,
           "missed": 5, "reached_then_fell": 6, "met": 7}
UNKNOWN_COLOUR = "#737373"  # "not assessed": dark enough for white text

assert set(STATUS_COLOURS) == set(TARGET_STATUSES) == set(URGENCY), "status lists drifted"

# Colours of the series chart.
OBSERVED_COLOUR = "#1f2937"
FORECAST_COLOUR = "#2563eb"
BAND_80 = "rgba(37, 99, 235, 0.28)"
BAND_95 = "rgba(37, 99, 235, 0.12)"
THRESHOLD_COLOUR = "#6b7280"
CONTEXT_COLOUR = "#7c3aed"
LOW_RELIABILITY_COLOUR = "#d97706"
USER_COLOUR = "#6d28d9"  # a user-supplied policy or target
CURATED_COLOUR = "#2563eb"
UNREVIEWED_COLOUR = "#f59e0b"

# Freshness: older than this and the page warns.
STALE_RUN_DAYS = 45
STALE_PULL_DAYS = 45
# The overview's tables list at most this many rows (the most urgent targets; the first
# forecast series by technology) and say so: thousands of rows help no reader and slow every rerun.
TARGET_ROWS, MILESTONE_ROWS = 200, 100


def status_colour(status: str | None) -> str:
    return STATUS_COLOURS.get(status or "", UNKNOWN_COLOUR)


def status_label(status: str | None) -> str:
    return STATUS_LABELS.get(status or "", status or "not assessed")


def badge(status: str | None) -> str:
    """An inline HTML badge: the colour plus the words."""
    return tag(status_label(status), status_colour(status))


def tag(words: str, colour: str) -> str:
    """An inline HTML badge of our own words (never outside text) on a colour."""
    return (
        f'<span style="background:{colour};color:white;padding:2px 8px;'
        f'border-radius:10px;font-size:0.85em;white-space:nowrap">{words}</span>'
    )


def status_cell_css(status: str | None) -> str:
    """CSS for a dataframe cell holding a status label (used with pandas Styler)."""
    colour = STATUS_COLOURS.get(_status_key(status), UNKNOWN_COLOUR)
    return f"background-color: {colour}; color: white; font-weight: 600"


def _status_key(label: str | None) -> str:
    for key, text in STATUS_LABELS.items():
        if label in (key, text):
            return key
    return ""


def skill_verdict(skill: float) -> str:
    """What a skill (1 - CRPS / naive's) means: below 0 the forecast is worse than naive."""
    return "beats naive" if skill > 0 else "worse than naive" if skill < 0 else "ties naive"
