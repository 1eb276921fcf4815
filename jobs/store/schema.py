"""The database schema (SQLAlchemy Core), the single source of truth for Alembic.

Shares are stored as fractions 0-1. Dates of observations are the period's first day;
`period_type` keeps what the date stands for (month, quarter, half_year, year, ytd, list).
"""
from __future__ import annotations

from sqlalchemy import (
    Boolean, Column, Date, DateTime, Float, ForeignKey, Index, Integer, LargeBinary,
    MetaData, String, Table, Text, UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

sectors = Table(
    "sectors", metadata,
    Column("code", String(40), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("description", Text),
    Column("wave", String(40)),  # "2014 plan" or "later"
)

technologies = Table(
    "technologies", metadata,
    Column("code", String(40), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("description", Text),
)

snapshots = Table(
    "snapshots", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(100), nullable=False),
    Column("url", Text, nullable=False),
    Column("fetched_at", DateTime(timezone=True), nullable=False),
    Column("http_status", Integer),
    Column("sha256", String(64), nullable=False, index=True),
    Column("size", Integer, nullable=False),
    Column("media_type", String(200)),
    Column("content", LargeBinary),  # the payload bytes (None when kept at `path`)
    Column("path", Text),
    Column("licence", Text),
    Column("note", Text),
)

series = Table(
    "series", metadata,
    Column("key", String(120), primary_key=True),
    Column("sector", String(40), ForeignKey("sectors.code"), nullable=False),
    Column("technology", String(40), ForeignKey("technologies.code"), nullable=False),
    Column("geography", String(40), nullable=False, server_default="CN"),
    Column("unit", String(40), nullable=False, server_default="share"),
    Column("frequency", String(20), nullable=False),  # monthly|quarterly|half_yearly|annual|irregular
    Column("kind", String(20), nullable=False, server_default="domestic_share"),  # or "context"
    Column("title", String(300), nullable=False),
    Column("description", Text),
    Column("source", Text, nullable=False),
    Column("source_url", Text),
    Column("caveat", Text),
    # The organisation whose numbers these are (not the repost); NULL when it is not named.
    Column("publisher", String(200)),
    Column("origin", String(20), nullable=False, server_default="bundled"),  # bundled|import|pull
)

observations = Table(
    "observations", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("series_key", String(120), ForeignKey("series.key", ondelete="CASCADE"), nullable=False),
    Column("date", Date, nullable=False),
    Column("period_type", String(20)),
    Column("value", Float, nullable=False),
    Column("snapshot_id", Integer, ForeignKey("snapshots.id")),
    Column("source_url", Text),  # provenance link of this very number
    Column("note", Text),
    Column("updated_at", DateTime(timezone=True)),
    # What the number means: exact | approximate ("~70") | lower_bound (">30", a top-3 share
    # of the domestic share) | upper_bound ("<5", a "Linux" share of a domestic-OS share) |
    # range ("16-19": value is the low end, value_high the high end). Forecasts fit on exact
    # and approximate values only; bounds and ranges are evidence for assessments and charts.
    Column("kind", String(20), nullable=False, server_default="exact"),
    Column("value_high", Float),
    Column("quote", Text),  # the source's own words containing the number
    Column("reliability", String(20)),  # NULL (normal) | low | very_low, as the provenance flags it
    UniqueConstraint("series_key", "date", name="uq_observations_series_date"),
    Index("ix_observations_updated_at", "updated_at"),  # the app's freshness stamp: max() on every rerun
)

observation_revisions = Table(
    "observation_revisions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("series_key", String(120), ForeignKey("series.key", ondelete="CASCADE"), nullable=False),
    Column("date", Date, nullable=False),
    Column("old_value", Float, nullable=False),
    Column("old_snapshot_id", Integer, ForeignKey("snapshots.id")),
    Column("new_value", Float, nullable=False),
    Column("new_snapshot_id", Integer, ForeignKey("snapshots.id")),
    Column("revised_at", DateTime(timezone=True), nullable=False),
)

def split_codes(cell) -> list[str]:
    """The codes of a `;`-separated cell (policies.sectors / technologies, targets'
    related_series); [] for an empty or missing cell."""
    return [code.strip() for code in cell.split(";") if code.strip()] if isinstance(cell, str) else []


policies = Table(
    "policies", metadata,
    Column("id", String(120), primary_key=True),  # P01... for curated; feed:<hash> for feed items
    Column("date", Date),
    Column("date_precision", String(10), nullable=False, server_default="day"),  # day|month|year
    Column("title", Text, nullable=False),
    Column("issuer", Text),
    Column("sectors", Text),  # ;-separated sector codes
    Column("technologies", Text),  # ;-separated technology codes
    Column("url", Text),
    Column("source", Text),
    Column("summary", Text),
    Column("deadline", Date),  # the policy's own deadline, also when it sets no share target
    Column("review_status", String(20), nullable=False, server_default="curated"),  # curated|unreviewed|user
    # official (a published text) | claimed (reported by press, not published) | unofficial
    # (a secondary blog or association report): how far the target is the state's own word.
    Column("claim", String(20), nullable=False, server_default="official"),
    Column("feed", String(100)),
    Column("guid", Text),
    Column("snapshot_id", Integer, ForeignKey("snapshots.id")),
    Column("added_at", DateTime(timezone=True)),
    Index("ix_policies_feed_guid", "feed", "guid"),
)

targets = Table(
    "targets", metadata,
    Column("id", String(120), primary_key=True),
    Column("policy_id", String(120), ForeignKey("policies.id"), nullable=False),
    Column("sector", String(40), ForeignKey("sectors.code"), nullable=False),
    Column("technology", String(40), ForeignKey("technologies.code"), nullable=False),
    Column("threshold", Float, nullable=False),
    Column("deadline", Date, nullable=False),
    Column("series_key", String(120), ForeignKey("series.key")),
    Column("measure", String(10)),  # direct|proxy|None (no measuring series)
    Column("measure_reason", Text),
    Column("note", Text),
    Column("bias", String(10)),  # a proxy's direction: over|under|unknown (NULL for direct/none)
    Column("encoding", Text),  # how threshold and deadline were read from the policy's words
    Column("missing_evidence", Text),  # for measure NULL: the evidence that would answer it
    Column("related_series", Text),  # ;-separated series keys shown as context, no verdict
    Column("origin", String(20), nullable=False, server_default="curated"),  # curated|user
)

forecast_runs = Table(
    "forecast_runs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("status", String(20), nullable=False),  # running|complete|failed
    Column("code_version", String(80)),
    Column("params", Text),  # JSON
    Column("input_hash", String(64)),
    Column("seed", Integer),
    Column("trigger", String(40)),
    Column("error", Text),
    # 0005: how many series this run fitted, and how many it carried over unchanged from
    # the latest complete run (their per-series input hash matched; see jobs.fingerprints).
    Column("series_refitted", Integer),
    Column("series_carried", Integer),
    # 0007: how many of the refitted series reused their stored model choice (final fit only)
    Column("series_choice_reused", Integer),
    # 0008: of those, how many had a stored Prophet posterior updated with their new
    # observations by importance sampling instead of a new NUTS chain (forecast.psis)
    Column("series_posterior_updated", Integer),
)

run_series = Table(
    "run_series", metadata,
    Column("run_id", Integer, ForeignKey("forecast_runs.id", ondelete="CASCADE"), primary_key=True),
    Column("series_key", String(120), primary_key=True),
    Column("status", String(30), nullable=False),  # ok|insufficient_data|failed
    Column("model", String(60)),
    Column("error", Text),
    Column("n_obs", Integer),
    Column("last_obs_date", Date),
    Column("seconds", Float),
    # The choice (0003): `model` is one registry name or "mixture"; `weights` its JSON
    # {model: weight}; `skill` = 1 - CRPS / CRPS of naive on the later (held-out) origins,
    # which the choice never saw (> 0 beats naive); `skill_origins` how many there were.
    Column("weights", Text),
    Column("skill", Float),
    Column("skill_origins", Integer),
    # 0005: sha256 of everything this series' result depends on except `as_of` (its
    # observations and bounds, frequency, thresholds, engine parameters, forecasting code):
    # a later refresh with the same hash carries the result over instead of refitting.
    Column("input_hash", String(64)),
    # 0005: the run whose forecasts, crossings, crossing_cdf and backtest_scores rows hold
    # this series' results: this run when it fitted the series, else the run that did (a
    # carried-over series is a reference, not a copy). Reads go through it (jobs.store.read).
    Column("results_run_id", Integer),
    # 0006: JSON {"dates": {policy id: date}, "kept": {model: bool}}: the curated policy dates
    # offered to the models that take changepoints, and per model whether the backtest kept
    # them (the variant scored better than the model without them). NULL: none offered.
    Column("policy_changepoints", Text),
    # 0007: JSON of the model choice this result was fitted with (forecast.choice.StoredChoice
    # without its run: model, weights, spread factors, ranking, kept variants, skill, the last
    # observation date and count it chose on, and `key`, jobs.fingerprints.choice_key); a later
    # refit of changed data reuses it while the rule of jobs.incremental allows. NULL: no choice
    # (insufficient data, failed, or before 0007).
    Column("choice", Text),
    # 0007: the run whose backtest_scores rows hold the choice's scores: results_run_id when
    # this result made its choice, the earlier run that made it when it was reused.
    Column("choice_run_id", Integer),
)

# 0008: the posterior draws of a final Prophet fit made with NUTS, written by the run that
# made the fit (forecast.prophet_models.posterior_bytes: the fitted model as compressed JSON).
# A later refit that reuses the series' model choice updates the newest one (at or after the
# run that made the choice) with its new observations instead of sampling again.
posteriors = Table(
    "posteriors", metadata,
    Column("run_id", Integer, ForeignKey("forecast_runs.id", ondelete="CASCADE"), primary_key=True),
    Column("series_key", String(120), primary_key=True),
    Column("model", String(60), primary_key=True),
    Column("posterior", LargeBinary, nullable=False),
)

forecasts = Table(
    "forecasts", metadata,
    Column("run_id", Integer, ForeignKey("forecast_runs.id", ondelete="CASCADE"), primary_key=True),
    Column("series_key", String(120), primary_key=True),
    Column("date", Date, primary_key=True),
    Column("yhat", Float, nullable=False),
    Column("lower_80", Float, nullable=False),
    Column("upper_80", Float, nullable=False),
    Column("lower_95", Float, nullable=False),
    Column("upper_95", Float, nullable=False),
    Column("model", String(60), nullable=False),
)

crossings = Table(
    "crossings", metadata,
    Column("run_id", Integer, ForeignKey("forecast_runs.id", ondelete="CASCADE"), primary_key=True),
    Column("series_key", String(120), primary_key=True),
    Column("threshold", Float, primary_key=True),
    Column("status", String(30), nullable=False),  # crossed|above_since_first|projected|not_within_horizon
    Column("observed_date", Date),
    Column("median_date", Date),
    Column("p10_date", Date),
    Column("p90_date", Date),
    Column("probability_by_horizon", Float),
    Column("latest_above", Boolean),  # 0003: the latest deciding evidence is still at or above
    Column("probability_by_2027", Float),
    Column("probability_by_2030", Float),
)

# 0005: per series and threshold, the crossing date's distribution on the forecast's date
# grid (forecast.crossings.cdf_frame): a later day re-assesses targets from it without a fit.
crossing_cdf = Table(
    "crossing_cdf", metadata,
    Column("run_id", Integer, ForeignKey("forecast_runs.id", ondelete="CASCADE"), primary_key=True),
    Column("series_key", String(120), primary_key=True),
    Column("threshold", Float, primary_key=True),
    Column("date", Date, primary_key=True),
    Column("cdf", Float, nullable=False),  # P(first at or above on or before the date)
    Column("p_above", Float, nullable=False),  # P(at or above at the date)
)

target_assessments = Table(
    "target_assessments", metadata,
    Column("run_id", Integer, ForeignKey("forecast_runs.id", ondelete="CASCADE"), primary_key=True),
    Column("target_id", String(120), primary_key=True),
    Column("series_key", String(120)),
    Column("measure", String(10)),
    Column("probability_by_deadline", Float),
    Column("projected_date", Date),
    Column("status", String(20), nullable=False),
    Column("basis", String(20)),  # 0003: observation|lower_bound|upper_bound|range|forecast
    Column("evidence_date", Date),  # the deciding observation's or bound's date
)

backtest_scores = Table(
    "backtest_scores", metadata,
    Column("run_id", Integer, ForeignKey("forecast_runs.id", ondelete="CASCADE"), primary_key=True),
    Column("series_key", String(120), primary_key=True),
    Column("model", String(60), primary_key=True),
    Column("n_origins", Integer),
    Column("mae", Float),
    Column("mase", Float),
    Column("coverage_80", Float),
    Column("crossing_error_days", Float),
    Column("chosen", Boolean, nullable=False, server_default="0"),
    # 0003: mean CRPS of the paths on the earlier origins (the choice) and the later ones
    # (the reported skill), skill = 1 - crps / naive's crps, the steps scored, the model's
    # weight in the chosen mixture, and why a model was skipped.
    Column("crps_selection", Float),
    Column("crps", Float),
    Column("skill", Float),
    Column("horizon_steps", Integer),
    Column("weight", Float),
    Column("error", Text),
)

pulls = Table(
    "pulls", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(100), nullable=False, index=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("status", String(20), nullable=False),  # ok|unchanged|failed
    Column("rows_added", Integer, nullable=False, server_default="0"),
    Column("rows_changed", Integer, nullable=False, server_default="0"),
    Column("error_kind", String(40)),  # SourceUnavailable|SourceChanged|InvalidData
    Column("error", Text),
    Column("snapshot_id", Integer, ForeignKey("snapshots.id")),
    Column("detail", Text),  # JSON: unmapped vendors, counted-not-stored items, ...
)

source_state = Table(
    "source_state", metadata,
    Column("source", String(100), primary_key=True),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("last_sha256", String(64)),
    Column("updated_at", DateTime(timezone=True)),
)

job_runs = Table(
    "job_runs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job", String(120), nullable=False, index=True),
    Column("started_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True), nullable=False),
    Column("outcome", String(20), nullable=False),  # ok|failed|missed|skipped
    Column("error", Text),
    Column("scheduler", String(120)),  # host:pid of the scheduler process
)

leases = Table(
    "leases", metadata,
    Column("name", String(120), primary_key=True),
    Column("owner", String(120), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

# 0004: numeric targets found in feed items, alerts after each complete run, webhook deliveries.
target_proposals = Table(
    "target_proposals", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("policy_id", String(120), ForeignKey("policies.id", ondelete="CASCADE"), nullable=False),
    Column("sentence", Text, nullable=False),  # the item's sentence the numbers were read from
    Column("threshold", Float, nullable=False),
    Column("deadline", Date, nullable=False),
    Column("sector", String(40)),  # guesses from the keyword rules; NULL when none matched
    Column("technology", String(40)),
    Column("pattern", String(40), nullable=False),  # which extraction rule matched (README)
    Column("status", String(20), nullable=False, server_default="unreviewed"),  # unreviewed|accepted|rejected
    Column("target_id", String(120)),  # the accepted target
    Column("found_at", DateTime(timezone=True), nullable=False),
    Column("reviewed_at", DateTime(timezone=True)),
    UniqueConstraint("policy_id", "threshold", "deadline", name="uq_target_proposals_item"),
)

alerts = Table(
    "alerts", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("forecast_runs.id", ondelete="CASCADE"), nullable=False),
    Column("previous_run_id", Integer),
    Column("kind", String(30), nullable=False),  # status_change|probability_move|crossing_move|new_policy_item
    Column("key", String(300), nullable=False),  # what it is about, so a run never alerts twice
    Column("target_id", String(120)),
    Column("series_key", String(120)),
    Column("threshold", Float),
    Column("policy_id", String(120)),
    Column("before", Text),
    Column("after", Text),
    Column("change", Float),  # probability points or months moved
    Column("message", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("run_id", "key", name="uq_alerts_run_key"),
)

webhook_deliveries = Table(
    "webhook_deliveries", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("forecast_runs.id", ondelete="CASCADE"), nullable=False),
    Column("url", Text, nullable=False),
    Column("alerts", Integer, nullable=False),  # how many alerts the payload carried
    Column("status", String(20), nullable=False),  # delivered|failed
    Column("attempts", Integer, nullable=False),
    Column("http_status", Integer),
    Column("error", Text),
    Column("payload_sha256", String(64), nullable=False),
    Column("delivered_at", DateTime(timezone=True), nullable=False),
)
