"""Resources: where the warehouse is and where the requests come from, configured per deployment."""

from datetime import timedelta
from pathlib import Path

import dagster as dg

from impacting.settings import Secret, Settings, TriageSettings
from impacting.sources.http_retry import RetryPolicy
from impacting.sources.issue_source import DocumentPolicy, IssueSource
from impacting.sources.jira_export import ExportSource
from impacting.sources.jira_live import JiraConfig, JiraSource
from impacting.warehouse.store import Warehouse

# The webhook URL often carries a token: the resource reads it from this variable at run time.
WEBHOOK_ENV = "IMPACTING_ALERT_WEBHOOK_URL"


class WarehouseResource(dg.ConfigurableResource):
    """The analysts' DuckDB file (`path`) and the working state beside it."""

    path: str

    def open(self) -> Warehouse:
        return Warehouse(Path(self.path))


class IssueSourceResource(dg.ConfigurableResource):
    """Where project requests come from: `export` (a folder of Jira JSON) or `jira` (live), and
    which attachments are design documents."""

    kind: str = "export"
    export_dir: str = ""
    team_field: str = "components"
    document_extensions: list[str] = []
    document_mime_types: list[str] = []
    document_max_bytes: int = 50 * 1024 * 1024
    jira_url: str = ""
    jira_jql: str = ""
    jira_email: str = ""
    # Set from the environment variables (dg.EnvVar), so the UI shows their names, never a value.
    jira_api_token: str = ""
    jira_pat: str = ""
    jira_extra_fields: list[str] = []
    jira_timeout_seconds: float = 30.0
    jira_max_retries: int = 5
    jira_retry_base_seconds: float = 1.0
    jira_max_wait_seconds: float = 300.0
    jira_overlap_minutes: float = 5.0
    jira_reconcile_days: float = 7.0

    def open(self, log=None) -> IssueSource:
        """The configured source; a live Jira connects on first use, so this never fails on the network."""
        if self.kind == "export":
            return ExportSource(Path(self.export_dir))
        if self.kind == "jira" and self.jira_url:
            return JiraSource(self.jira_config(), log=log)
        raise dg.Failure(
            f"issue source kind {self.kind!r} is not available: use 'export', or set JIRA_URL "
            "for a live Jira"
        )

    def jira_config(self) -> JiraConfig:
        return JiraConfig(
            url=self.jira_url.rstrip("/"), jql=self.jira_jql or None, email=self.jira_email or None,
            api_token=Secret(self.jira_api_token) if self.jira_api_token else None,
            pat=Secret(self.jira_pat) if self.jira_pat else None,
            team_field=self.team_field, extra_fields=tuple(self.jira_extra_fields),
            timeout_seconds=self.jira_timeout_seconds,
            retry=RetryPolicy(max_retries=self.jira_max_retries, base_delay=self.jira_retry_base_seconds,
                              max_delay=max(60.0, self.jira_retry_base_seconds),
                              max_wait=self.jira_max_wait_seconds),
            max_attachment_bytes=self.document_max_bytes,
        )

    def sync_options(self) -> dict:
        """How an incremental source is synced: the overlap, and how often to reconcile."""
        return {
            "overlap": timedelta(minutes=self.jira_overlap_minutes),
            "reconcile_every": timedelta(days=self.jira_reconcile_days) if self.jira_reconcile_days else None,
        }

    def document_policy(self) -> DocumentPolicy:
        defaults = DocumentPolicy()
        return DocumentPolicy(
            extensions=frozenset(self.document_extensions) or defaults.extensions,
            mime_types=frozenset(self.document_mime_types) or defaults.mime_types,
            max_bytes=self.document_max_bytes,
        )

    def base_url(self) -> str | None:
        if self.kind != "jira":
            return None
        return self.jira_url.rstrip("/") or None


class LanguageResource(dg.ConfigurableResource):
    """The sentence-embedding model every stage shares, and how summaries and keywords are made."""

    embedding_model: str = "all-MiniLM-L6-v2"
    summary_ratio: float = 0.1
    summary_words: int | None = None
    executive_words: int = 60
    summary_method: str = "extractive"
    abstractive_model: str | None = None
    keyword_count: int = 10

    def encoder(self):
        """The process-wide `Encoder` for the configured model (loaded once, on first use)."""
        from impacting.language.encoder import shared_encoder

        return shared_encoder(self.embedding_model)

    def config(self):
        """The language stage's `LanguageConfig` from these settings."""
        from impacting.language.stage import language_config

        return language_config(self.summary_ratio, self.summary_words, self.executive_words,
                               self.summary_method, self.abstractive_model, self.keyword_count)


_TRIAGE = TriageSettings()


class TriageResource(dg.ConfigurableResource):
    """How team decisions, similar projects, alerts and feedback behave (IMPACTING_TRIAGE_*,
    IMPACTING_SIMILAR_*, IMPACTING_FEEDBACK_DIR, IMPACTING_ALERT_WEBHOOK_URL)."""

    # The defaults are TriageSettings' (one place to change them).
    target_recall: float = _TRIAGE.target_recall
    unsure_recall: float = _TRIAGE.unsure_recall
    reading_budget: float = _TRIAGE.reading_budget
    recall_tolerance: float = _TRIAGE.recall_tolerance
    cv_folds: int = _TRIAGE.cv_folds
    min_team_examples: int = _TRIAGE.min_team_examples
    similar_top_k: int = _TRIAGE.similar_top_k
    similar_min_score: float = _TRIAGE.similar_min_score
    similar_lexical_weight: float = _TRIAGE.similar_lexical_weight
    feedback_dir: str = "feedback"
    # Set from the environment variable (dg.EnvVar), so the UI shows its name, never the URL.
    webhook_url: str = ""

    def settings(self):
        return TriageSettings(
            target_recall=self.target_recall, unsure_recall=self.unsure_recall,
            reading_budget=self.reading_budget,
            recall_tolerance=self.recall_tolerance, cv_folds=self.cv_folds,
            min_team_examples=self.min_team_examples, similar_top_k=self.similar_top_k,
            similar_min_score=self.similar_min_score,
            similar_lexical_weight=self.similar_lexical_weight, feedback_dir=Path(self.feedback_dir),
        )

    def team_model_config(self):
        from impacting.triage.config import team_model_config

        return team_model_config(self.settings())

    def similar_config(self):
        from impacting.triage.config import similar_config

        return similar_config(self.settings())

    def feedback_folder(self) -> Path:
        return Path(self.feedback_dir)


class DeliveryResource(dg.ConfigurableResource):
    """How delivery reporting counts (IMPACTING_DELIVERY_*): active statuses, status-category
    overrides, windows, forecast trials and seed, the report's path, and an optional fixed "now"."""

    active_statuses: list[str] = ["In Progress"]
    status_categories: dict[str, str] = {}
    bottleneck_weeks: int = 12
    forecast_weeks: int = 12
    forecast_trials: int = 10_000
    forecast_seed: int = 1
    report_path: str = "reports/delivery.html"
    as_of: str = ""  # ISO 8601; empty: now for a live Jira, the newest timestamp in an export

    def settings(self):
        from datetime import datetime

        from impacting.settings import DeliverySettings

        return DeliverySettings(
            active_statuses=tuple(self.active_statuses), status_categories=dict(self.status_categories),
            bottleneck_weeks=self.bottleneck_weeks, forecast_weeks=self.forecast_weeks,
            forecast_trials=self.forecast_trials, forecast_seed=self.forecast_seed,
            report_path=Path(self.report_path),
            as_of=datetime.fromisoformat(self.as_of) if self.as_of else None,
        )


def resources_from_settings(settings: Settings) -> dict[str, dg.ConfigurableResource]:
    return {
        "warehouse": WarehouseResource(path=str(settings.warehouse_path)),
        "delivery": DeliveryResource(
            active_statuses=list(settings.delivery.active_statuses),
            status_categories=dict(settings.delivery.status_categories),
            bottleneck_weeks=settings.delivery.bottleneck_weeks,
            forecast_weeks=settings.delivery.forecast_weeks,
            forecast_trials=settings.delivery.forecast_trials,
            forecast_seed=settings.delivery.forecast_seed,
            report_path=str(settings.delivery.report_path),
            as_of=settings.delivery.as_of.isoformat() if settings.delivery.as_of else "",
        ),
        "language": LanguageResource(
            embedding_model=settings.embedding_model,
            summary_ratio=settings.summary_ratio,
            summary_words=settings.summary_words,
            executive_words=settings.executive_words,
            summary_method=settings.summary_method,
            abstractive_model=settings.abstractive_model,
            keyword_count=settings.keyword_count,
        ),
        "triage": TriageResource(
            target_recall=settings.triage.target_recall,
            unsure_recall=settings.triage.unsure_recall,
            reading_budget=settings.triage.reading_budget,
            recall_tolerance=settings.triage.recall_tolerance,
            cv_folds=settings.triage.cv_folds,
            min_team_examples=settings.triage.min_team_examples,
            similar_top_k=settings.triage.similar_top_k,
            similar_min_score=settings.triage.similar_min_score,
            similar_lexical_weight=settings.triage.similar_lexical_weight,
            feedback_dir=str(settings.triage.feedback_dir or settings.warehouse_path.parent / "feedback"),
            webhook_url=dg.EnvVar(WEBHOOK_ENV) if settings.triage.alert_webhook_url else "",
        ),
        "issue_source": IssueSourceResource(
            kind=settings.source,
            export_dir=str(settings.export_dir),
            team_field=settings.team_field,
            document_extensions=list(settings.ingest.document_extensions),
            document_mime_types=list(settings.ingest.document_mime_types),
            document_max_bytes=settings.ingest.document_max_bytes,
            jira_url=settings.jira_url or "",
            jira_jql=settings.jira_jql or "",
            jira_email=settings.jira_email or "",
            jira_api_token=dg.EnvVar("JIRA_API_TOKEN") if settings.jira_api_token else "",
            jira_pat=dg.EnvVar("JIRA_PAT") if settings.jira_pat else "",
            jira_extra_fields=list(settings.ingest.jira_extra_fields),
            jira_timeout_seconds=settings.ingest.jira_timeout_seconds,
            jira_max_retries=settings.ingest.jira_max_retries,
            jira_retry_base_seconds=settings.ingest.jira_retry_base_seconds,
            jira_max_wait_seconds=settings.ingest.jira_max_wait_seconds,
            jira_overlap_minutes=settings.ingest.jira_overlap_minutes,
            jira_reconcile_days=settings.ingest.jira_reconcile_days,
        ),
    }
