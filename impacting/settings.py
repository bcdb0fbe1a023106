"""The one settings schema: every knob, declared once with its type, default, range and meaning.

Each setting is a field of a group model below (`WarehouseSettings`, `SourceSettings`, ...) that
names its environment variable. Everything else derives from these declarations:

- :meth:`Settings.from_env` reads the environment (relative paths resolve against the checkout);
- the Dagster resources in `impacting.defs.resources` are generated from the same fields, so a
  value typed into the launchpad passes the same range checks and cross-checks;
- `impacting config` prints the effective settings (secrets masked), and the README's settings
  tables are rendered from them (`impacting.settings_report`; a test keeps them in sync);
- messages elsewhere name a variable through :func:`var`, so each variable's name is written
  once, here.

Secrets are :class:`Secret`, whose ``repr`` and ``str`` never show the value. This module
imports no stage: the stages import it. It is long because it is nothing but declarations (one
field of about five lines per setting, and the checks that belong with them); the machinery is
in `settings_base` and what people read in `settings_report`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from impacting.settings_base import (
    Names,
    Pairs,
    ProjectPath,
    Secret,
    SettingsError,
    SettingsGroup,
    project_root,
    resolve_path,
    resource_type,
    setting,
)

__all__ = ["GROUPS", "Secret", "Settings", "SettingsError", "project_root", "resource_type", "var"]

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "data" / "sample"


# --- the groups ---------------------------------------------------------------------------------

class WarehouseSettings(SettingsGroup):
    """Where the analysts' DuckDB file is published."""

    group: ClassVar[str] = "warehouse"

    path: ProjectPath = setting(
        Path("warehouse") / "impacting.duckdb", env="IMPACTING_WAREHOUSE",
        description="the published DuckDB file; working state lives beside it in `impacting.work/`",
        example="a file path such as warehouse/impacting.duckdb", topic="general")

    # DuckDB 2.x writes a storage format that DuckDB 1.x refuses to open; v1.4.0 is the oldest
    # format that keeps every type the warehouse uses and that DuckDB 1.4 (the 1.x LTS) and later,
    # their command-line clients and drivers read.
    storage_version: str = setting(
        "v1.4.0", env="IMPACTING_WAREHOUSE_STORAGE_VERSION", topic="general",
        description="the DuckDB storage format the published file is written in: `v1.4.0` opens in "
        "DuckDB 1.4 and later as well as 2.x; `latest` is the writer's newest format",
        example="a DuckDB version such as v1.4.0, or latest")

    @field_validator("storage_version")
    @classmethod
    def _version_string(cls, value: str) -> str:
        text = value.strip().lower()
        if text != "latest" and not re.fullmatch(r"v?\d+\.\d+\.\d+", text):
            raise ValueError(f"{cls.env('storage_version')}={value!r} is not a DuckDB version; use "
                             "e.g. v1.4.0 (readable by DuckDB 1.4 and later) or latest")
        return text if text == "latest" or text.startswith("v") else f"v{text}"

    @property
    def working_dir(self) -> Path:
        """Working state beside the published file: `impacting.duckdb` → `impacting.work/`."""
        return self.path.with_name(self.path.stem + ".work")


class ScheduleSettings(SettingsGroup):
    """When the nightly run starts."""

    group: ClassVar[str] = "schedule"

    cron: str = setting("0 2 * * *", env="IMPACTING_SCHEDULE_CRON",
                        description="when the nightly run starts", topic="general",
                        example="a five-field cron expression, e.g. '0 2 * * *' for 02:00 every day")
    timezone: str = setting("UTC", env="IMPACTING_SCHEDULE_TIMEZONE",
                            description="the cron's time zone (IANA name)", topic="general",
                            example="an IANA name such as 'UTC' or 'Europe/London'")

    freshness_hours: float = setting(
        26.0, env="IMPACTING_FRESHNESS_HOURS", ge=1.0, le=24 * 365, topic="general",
        description="the published warehouse is flagged stale (its freshness in the UI turns "
        "failing) when no run has published it for this long",
        example="hours, e.g. 26 for a nightly run")

    @field_validator("cron")
    @classmethod
    def _five_fields(cls, value: str) -> str:
        if len(value.split()) != 5:
            raise ValueError(f"{cls.env('cron')}={value!r} is not a five-field cron expression, "
                             "e.g. '0 2 * * *' for 02:00 every day")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{cls.env('timezone')}={value!r} is not a time zone; use an IANA "
                             "name such as 'UTC' or 'Europe/London'") from None
        return value


DEFAULT_MAX_DOCUMENT_BYTES = 50 * 1024 * 1024


class SourceSettings(SettingsGroup):
    """Where requests come from: an export folder or a live Jira, and which attachments are
    design documents."""

    group: ClassVar[str] = "source"

    kind: Literal["export", "jira"] | None = setting(
        None, env="IMPACTING_SOURCE", description="where requests come from",
        shown_default="`jira` when a Jira URL is set, else `export`", topic="general",
        example="'export' (a folder of Jira JSON) or 'jira' (a live Jira at the Jira URL)")
    export_dir: ProjectPath = setting(
        Path("data") / "sample", env="IMPACTING_EXPORT_DIR",
        description="a folder of Jira issue JSON (see below)", shown_default="`data/sample`",
        example="a folder path such as data/sample", topic="general")
    team_field: str = setting(
        "components", env="IMPACTING_TEAM_FIELD", topic="general",
        description="the Jira field naming the teams involved: `components`, `labels` or a "
        "custom field id such as `customfield_10100` (also requested from Jira)",
        example="components, labels or a custom field id such as customfield_10100")
    jira_url: str | None = setting(
        None, env="JIRA_URL", topic="jira", shown_default="(unset: the export folder)",
        description="the Jira's base address, with its context path if it has one; never put "
        "credentials in it", example="https://yourcompany.atlassian.net")
    jira_email: str | None = setting(
        None, env="JIRA_EMAIL", topic="jira",
        description="Cloud: the account's email (basic auth with the API token below)",
        example="triage-bot@yourcompany.com")
    jira_api_token: Secret | None = setting(
        None, env="JIRA_API_TOKEN", secret=True, topic="jira",
        description="Cloud: an API token (id.atlassian.com); a secret", example="an API token")
    jira_pat: Secret | None = setting(
        None, env="JIRA_PAT", secret=True, topic="jira",
        description="Data Center: a personal access token (bearer auth) instead; a secret",
        example="a personal access token")
    jira_jql: str | None = setting(
        None, env="JIRA_JQL", topic="jira", shown_default="(required for a live Jira)",
        description="which issues are project requests; any `ORDER BY` is ignored",
        example="project = REQ AND issuetype = Epic")
    jira_extra_fields: Names = setting(
        (), env="JIRA_EXTRA_FIELDS", topic="jira", shown_default="",
        description="more fields to store besides the built-in list (comma-separated ids, e.g. "
        "`customfield_10020`), or `*all`", example="comma-separated field ids")
    jira_overlap_minutes: float = setting(
        5.0, env="JIRA_OVERLAP_MINUTES", topic="jira", ge=1.0, le=1440,
        description="how far before the cursor each run looks again (JQL has minute precision; "
        "search is eventually consistent)", example="minutes between 1 and 1440, e.g. 5")
    jira_reconcile_days: float = setting(
        7.0, env="JIRA_RECONCILE_DAYS", topic="jira", ge=0.0, le=3650,
        description="how often a run lists the whole scope (ids and dates only) to remove issues "
        "deleted or moved out of it; `0`: only with `--full`",
        example="days between full listings, e.g. 7 (0: only --full)")
    jira_timeout_seconds: float = setting(
        30.0, env="JIRA_TIMEOUT_SECONDS", topic="jira", ge=0.01, le=3600,
        description="the longest wait for one answer", example="seconds to wait for one answer, e.g. 30")
    jira_max_retries: int = setting(
        5, env="JIRA_MAX_RETRIES", topic="jira", ge=0, le=100,
        description="retries of a request after 429, 5xx, a dropped connection or a timeout",
        example="a number of retries between 0 and 100, e.g. 5")
    jira_retry_base_seconds: float = setting(
        1.0, env="JIRA_RETRY_BASE_SECONDS", topic="jira", ge=0.0, le=600,
        description="the first backoff; it doubles each retry (with jitter), up to a minute",
        example="the first backoff in seconds, e.g. 1")
    jira_max_wait_seconds: float = setting(
        300.0, env="JIRA_MAX_WAIT_SECONDS", topic="jira", ge=0.0, le=86400,
        description="the longest single wait; a `Retry-After` asking for more fails the run "
        "instead of stalling it", example="the longest single wait in seconds, e.g. 300")
    document_extensions: Names = setting(
        (), env="IMPACTING_DOCUMENT_EXTENSIONS", topic="documents",
        shown_default="`md, markdown, txt, text, html, htm, docx, pdf` and the unreadable "
        "`doc, odt, rtf, pages, wpd, ppt, pptx, odp, key` (kept and reported)",
        description="which attachments are design documents, by extension (comma-separated)",
        example="comma-separated extensions such as md, pdf")
    document_mime_types: Names = setting(
        (), env="IMPACTING_DOCUMENT_MIME_TYPES", topic="documents",
        shown_default="Markdown, plain text, HTML, PDF and DOCX",
        description="...or by MIME type (comma-separated)",
        example="comma-separated MIME types such as text/markdown")
    document_max_bytes: int = setting(
        DEFAULT_MAX_DOCUMENT_BYTES, env="IMPACTING_DOCUMENT_MAX_BYTES", topic="documents",
        ge=1, le=10**12, shown_default="`52428800` (50 MiB)",
        description="a larger attachment is listed with `fetch_status = 'too_large'` and never "
        "downloaded", example="a size in bytes, e.g. 52428800 (50 MiB)")

    document_max_uncompressed_bytes: int = setting(
        256 * 1024 * 1024, env="IMPACTING_DOCUMENT_MAX_UNCOMPRESSED_BYTES", topic="documents",
        ge=1, le=10**12, shown_default="`268435456` (256 MiB)",
        description="a DOCX (a ZIP archive) that would inflate past this is rejected before it is "
        "unpacked: a compression bomb never reaches memory",
        example="a size in bytes, e.g. 268435456 (256 MiB)")
    document_max_words: int = setting(
        200_000, env="IMPACTING_DOCUMENT_MAX_WORDS", topic="documents", ge=100, le=10**8,
        description="words kept of one document; a longer one is truncated there, with the reason "
        "in `documents.extraction_reason`, never embedded whole",
        example="a number of words, e.g. 200000 (eight times a long design document)")
    document_timeout_seconds: float = setting(
        120.0, env="IMPACTING_DOCUMENT_TIMEOUT_SECONDS", topic="documents", ge=1.0, le=86400,
        description="the longest one document may take to read; a parser still busy then is "
        "stopped and the document rejected with the reason",
        example="seconds, e.g. 120")
    document_max_memory_mb: int = setting(
        2048, env="IMPACTING_DOCUMENT_MAX_MEMORY_MB", topic="documents", ge=128, le=1_000_000,
        description="the memory (address space) the process reading documents may use; a document "
        "that needs more is rejected with the reason, and the run goes on",
        example="mebibytes, e.g. 2048")

    @model_validator(mode="before")
    @classmethod
    def _source_follows_jira_url(cls, values: Any) -> Any:
        if isinstance(values, dict) and not values.get("kind"):
            values = {**values, "kind": "jira" if values.get("jira_url") else "export"}
        elif isinstance(values, dict):
            values = {**values, "kind": str(values["kind"]).strip().lower()}
        return values

    @field_validator("jira_url")
    @classmethod
    def _web_address(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        url = value.strip().rstrip("/")
        parts = urlsplit(url)
        if parts.username or parts.password:
            # The message must not repeat the URL: it holds a credential.
            raise ValueError(
                f"{cls.env('jira_url')} holds a user name or password; remove them from the URL "
                f"and set {cls.env('jira_email')} + {cls.env('jira_api_token')} (Cloud) or "
                f"{cls.env('jira_pat')} (Data Center)")
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError(
                f"{cls.env('jira_url')}={url!r} is not a web address; use the Jira's base "
                "address, e.g. https://yourcompany.atlassian.net or https://jira.example.com/jira")
        return url

    @field_validator("document_extensions")
    @classmethod
    def _bare_extensions(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(e.lower().lstrip(".") for e in value))

    @field_validator("document_mime_types")
    @classmethod
    def _lower_mime_types(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(m.lower() for m in value))

    @model_validator(mode="after")
    def _jira_needs_its_url(self) -> SourceSettings:
        if self.kind == "jira" and not self.jira_url:
            raise ValueError(f"{self.env('kind')}=jira needs {self.env('jira_url')}, e.g. "
                             "https://yourcompany.atlassian.net")
        return self

    @property
    def location(self) -> str:
        """Where the source reads from, safe to show (never a credential)."""
        return self.jira_url if self.kind == "jira" else str(self.export_dir)

    def describe(self) -> str:
        """`kind: location`, without opening anything."""
        return f"{self.kind}: {self.location}"


class LanguageSettings(SettingsGroup):
    """The shared embedding model, summary lengths and method, and keywords per document."""

    group: ClassVar[str] = "language"

    embedding_model: str = setting(
        "all-MiniLM-L6-v2", env="IMPACTING_EMBEDDING_MODEL", topic="general",
        shown_default="`all-MiniLM-L6-v2` (bundled)",
        description="the sentence-transformers model: the bundled default, or a local model "
        "folder (nothing is downloaded)", example="a local sentence-transformers folder")
    # Measured in docs/benchmarks.md ("A faster encoder"): kept off by default unless every
    # benchmark figure stays within one point of the float32 model's.
    embedding_precision: Literal["float32", "int8"] = setting(
        "float32", env="IMPACTING_EMBEDDING_PRECISION", topic="general",
        description="`int8`: the model's linear layers quantised to 8-bit integers when it loads "
        "(built locally from the same weights, nothing downloaded; faster on the CPU, vectors "
        "cached apart from the float32 model's); `float32`: the model as shipped",
        example="'float32' or 'int8'")
    summary_ratio: float = setting(
        0.1, env="IMPACTING_SUMMARY_RATIO", gt=0.0, le=1.0,
        description="the standard summary's length as a share of the document's prose words",
        example="a share of the document between 0 and 1, e.g. 0.1")
    summary_words: int | None = setting(
        None, env="IMPACTING_SUMMARY_WORDS", ge=1, le=10**6, shown_default="unset",
        description="the standard summary's length in words instead (overrides the ratio)",
        example="a positive number of words, e.g. 250")
    executive_words: int = setting(
        60, env="IMPACTING_EXECUTIVE_WORDS", ge=1, le=10**6,
        description="the executive summary's length in words",
        example="a positive number of words, e.g. 60")
    keyword_count: int = setting(
        10, env="IMPACTING_KEYWORDS", ge=1, le=1000, description="keywords kept per document",
        example="a number of keywords per document between 1 and 1000, e.g. 10")
    summary_method: Literal["extractive", "abstractive"] = setting(
        "extractive", env="IMPACTING_SUMMARY_METHOD",
        description="or `abstractive`: a seq2seq model rewrites an extract of the document "
        "(extract-then-abstract, so any length works)",
        example="'extractive' (sentences of the document, the default) or 'abstractive' (with "
        "an abstractive model set)")
    abstractive_model: str | None = setting(
        None, env="IMPACTING_ABSTRACTIVE_MODEL", shown_default="unset",
        description="for `abstractive`: a local folder (or a model id already in the local "
        "Hugging Face cache) holding a `transformers` seq2seq model and its tokenizer, e.g. a "
        "BART or T5 summariser; nothing is downloaded",
        example="a local folder with a transformers seq2seq model")

    @field_validator("summary_method", mode="before")
    @classmethod
    def _lower_method(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("abstractive_model")
    @classmethod
    def _local_folder(cls, value: str | None) -> str | None:
        if not value:
            return None
        root = project_root()
        if value.startswith((".", "~", "/")) or (root / value).is_dir():
            return str(resolve_path(Path(value)))
        return value

    @model_validator(mode="after")
    def _abstractive_needs_a_model(self) -> LanguageSettings:
        if self.summary_method == "abstractive" and not self.abstractive_model:
            raise ValueError(f"{self.env('summary_method')}=abstractive needs "
                             f"{self.env('abstractive_model')}: a local folder with a transformers "
                             "seq2seq model and its tokenizer")
        return self


class TriageSettings(SettingsGroup):
    """Team decisions, similar projects, alerts and feedback."""

    group: ClassVar[str] = "triage"

    target_recall: float = setting(
        0.95, env="IMPACTING_TRIAGE_TARGET_RECALL", ge=0.5, le=0.999,
        description="share of impacted teams to notify; per-team thresholds are chosen for it",
        example="a share between 0.5 and 0.999, e.g. 0.95")
    unsure_recall: float = setting(
        0.98, env="IMPACTING_TRIAGE_UNSURE_RECALL", ge=0.5, le=0.999,
        shown_default="`0.98` (at least the target)",
        description="the unsure band reaches down to the thresholds for this recall at most...",
        example="a share between the target recall and 0.999, e.g. 0.98")
    reading_budget: float = setting(
        0.40, env="IMPACTING_TRIAGE_READING_BUDGET", ge=0.01, le=1.0,
        description="...while the teams asked to read (notify + unsure) stay within this share of "
        "the known teams per request in cross-validation; notifying is never cut for it",
        example="a share of the teams between 0.01 and 1, e.g. 0.4")
    recall_tolerance: float = setting(
        0.02, env="IMPACTING_TRIAGE_RECALL_TOLERANCE", ge=0.0, le=1.0,
        description="how much lower a retrained model's cross-validated recall may be and still "
        "replace the accepted one", example="a share such as 0.02")
    cv_folds: int = setting(
        5, env="IMPACTING_TRIAGE_CV_FOLDS", ge=2, le=50, description="time-ordered cross-validation folds",
        example="a number of folds between 2 and 50, e.g. 5")
    min_team_examples: int = setting(
        3, env="IMPACTING_TRIAGE_MIN_TEAM_EXAMPLES", ge=1, le=1000,
        description="teams with fewer past projects are scored by the similarity vote",
        example="a count such as 3")
    similar_top_k: int = setting(
        10, env="IMPACTING_SIMILAR_TOP_K", ge=1, le=100,
        description="similar past projects kept per request, at most",
        example="a number of past projects between 1 and 100, e.g. 10")
    # The highest cut-off (0.01 steps) that cost under one point of recall@10 on both benchmark
    # train splits (docs/benchmarks.md).
    similar_min_score: float = setting(
        0.17, env="IMPACTING_SIMILAR_MIN_SCORE", ge=0.0, le=1.0, description="the fused-score cut-off",
        example="a score between 0 and 1, e.g. 0.15")
    # Chosen on the linked records of both benchmark train splits (KEPs and Jira tickets) and a
    # leave-one-out search over the whole KEP file: words weigh a little more than meaning.
    similar_lexical_weight: float = setting(
        0.6, env="IMPACTING_SIMILAR_LEXICAL_WEIGHT", ge=0.0, le=1.0,
        description="`w` above: 0 meaning only, 1 words only",
        example="a weight between 0 (meaning only) and 1 (words only)")
    # Up to this many past projects every one is compared (the exact search costs little there);
    # beyond, the first stage picks them. With 200 on both dev splits the two stages returned
    # 99.2% (KEPs) and 99.9% (Jira) of the exact top 10 (docs/benchmarks.md, "History at scale").
    similar_candidates: int = setting(
        500, env="IMPACTING_SIMILAR_CANDIDATES", ge=0, le=100_000,
        description="past projects per request whose passages are compared, picked by words and "
        "each document's mean sentence (two-stage search); 0 compares every past project "
        "(exact, cost grows with the history)",
        example="a number of past projects such as 500, or 0 for the exact search")
    # The index is kept between runs and extended with new past projects (triage.kept_index);
    # it is built again from scratch once they grew by this share since its last build.
    similar_index_rebuild_growth: float = setting(
        0.25, env="IMPACTING_SIMILAR_INDEX_REBUILD_GROWTH", ge=0.0, le=10.0,
        description="the similarity index is kept between runs and extended with new past "
        "projects; it is built afresh once they grew by this share since its last build (0: "
        "every run)",
        example="a share such as 0.25")
    gate_min_history: int = setting(
        200, env="IMPACTING_TRIAGE_GATE_MIN_HISTORY", ge=1, le=10**7,
        description="with at least this many past requests, a model in service whose "
        "cross-validated notify recall misses the target blocks publishing; with fewer, it is "
        "a warning (the history cannot promise the target yet)",
        example="a number of past requests, e.g. 200")
    # Learned from the history's links by time-ordered cross-validation (docs/benchmarks.md);
    # the fixed fusion above keeps serving while no learned ranking beats it.
    similar_ranking: Literal["learned", "fixed"] = setting(
        "learned", env="IMPACTING_SIMILAR_RANKING",
        description="`learned`: similar projects ordered by a model learned from past links, cut off "
        "at its calibrated probability (the fixed fusion serves until one beats it in "
        "cross-validation); `fixed`: the fused score and its cut-off alone",
        example="'learned' or 'fixed'")
    encoder: Literal["bundled", "tuned"] = setting(
        "bundled", env="IMPACTING_TRIAGE_ENCODER",
        description="`tuned`: fine-tune the embedding model on past projects and read triage with "
        "it once it beats the bundled model on a held-out later period (minutes per try, and a "
        "re-embedding of the history per promotion); `bundled`: the language stage's model",
        example="'bundled' or 'tuned'")
    encoder_retrain_growth: float = setting(
        0.25, env="IMPACTING_TRIAGE_ENCODER_RETRAIN_GROWTH", ge=0.0, le=10.0,
        description="with `tuned`: fine-tune again once the past projects grew by this share",
        example="a share such as 0.25")
    feedback_dir: ProjectPath | None = setting(
        None, env="IMPACTING_FEEDBACK_DIR", shown_default="`warehouse/feedback`",
        description="the CSV drop folder (unset: `feedback/` beside the warehouse file)",
        example="a folder path such as warehouse/feedback")
    alert_webhook_url: Secret | None = setting(
        None, env="IMPACTING_ALERT_WEBHOOK_URL", secret=True, shown_default="unset",
        description="without a routing file, where alerts are POSTed (the fallback route); a "
        "secret (the UI shows the variable's name only)",
        example="the webhook's address, e.g. https://hooks.example.com/...")

    @model_validator(mode="before")
    @classmethod
    def _unsure_defaults_to_at_least_the_target(cls, values: Any) -> Any:
        if isinstance(values, dict) and values.get("unsure_recall") in (None, "") \
                and values.get("target_recall") not in (None, ""):
            try:
                values = {**values, "unsure_recall": max(0.98, float(values["target_recall"]))}
            except (TypeError, ValueError):
                pass  # the target's own check says what is wrong with it
        return values

    @field_validator("alert_webhook_url")
    @classmethod
    def _web_address(cls, value: Secret | None) -> Secret | None:
        if value and not value.reveal().startswith(("http://", "https://")):
            raise ValueError(f"{cls.env('alert_webhook_url')} is not an http(s) URL; set it to the "
                             "webhook's address, e.g. https://hooks.example.com/...")
        return value

    @model_validator(mode="after")
    def _unsure_below_target(self) -> TriageSettings:
        if self.unsure_recall < self.target_recall:
            raise ValueError(
                f"{self.env('unsure_recall')}={self.unsure_recall} is below "
                f"{self.env('target_recall')}={self.target_recall}; the unsure band lies below the "
                "notify threshold, so use a value at least the target")
        return self


# The status categories delivery reporting knows, by Jira's keys, and the labels people use.
NEW, IN_PROGRESS, DONE = "new", "indeterminate", "done"
CATEGORY_LABELS = {NEW: "To Do", IN_PROGRESS: "In Progress", DONE: "Done"}


def normalise_status(status: str) -> str:
    """The form status names are compared in: case-folded, single-spaced."""
    return " ".join(str(status).split()).casefold()


def parse_category(value: str) -> str | None:
    """`new`/`indeterminate`/`done`, or their labels (`To Do`, `In Progress`, `Done`) → key."""
    text = normalise_status(value).replace("_", " ").replace("-", " ")
    for key, label in CATEGORY_LABELS.items():
        if text in (key, normalise_status(label), normalise_status(label).replace(" ", "")):
            return key
    return None


class DeliverySettings(SettingsGroup):
    """How delivery reporting counts: active statuses, status-category overrides, windows,
    forecast trials and seed, and an optional fixed "now". The report is a page of the site
    (`SiteSettings`)."""

    group: ClassVar[str] = "delivery"

    active_statuses: Names = setting(
        ("In Progress",), env="IMPACTING_DELIVERY_ACTIVE_STATUSES", shown_default="`In Progress`",
        description="comma-separated statuses where work is being done (flow efficiency); the "
        "rest count as waiting", example="comma-separated status names such as In Progress")
    status_categories: Pairs = setting(
        {}, env="IMPACTING_DELIVERY_STATUS_CATEGORIES", shown_default="none",
        description="overrides, e.g. `Blocked=In Progress,Released=Done` (categories To Do, In "
        "Progress, Done)",
        example="comma-separated 'Status=category' pairs with category To Do, In Progress or "
        "Done (or Jira's keys new, indeterminate, done), e.g. 'Blocked=In Progress,Released=Done'")
    bottleneck_weeks: int = setting(
        12, env="IMPACTING_DELIVERY_BOTTLENECK_WEEKS", ge=1, le=520,
        description="bottlenecks look at issues finished in this many weeks",
        example="a number of weeks between 1 and 520, e.g. 12")
    forecast_weeks: int = setting(
        12, env="IMPACTING_DELIVERY_FORECAST_WEEKS", ge=1, le=520,
        description="forecasts sample this many recent weeks of throughput",
        example="a number of weeks between 1 and 520, e.g. 12")
    forecast_trials: int = setting(
        10_000, env="IMPACTING_DELIVERY_FORECAST_TRIALS", ge=1, le=1_000_000,
        description="Monte Carlo trials per epic",
        example="a number of trials between 1 and 1000000, e.g. 10000")
    forecast_seed: int = setting(
        1, env="IMPACTING_DELIVERY_FORECAST_SEED", ge=0, le=2**63 - 1,
        description="random seed, so a run repeats (the epic key is mixed in)",
        example="a non-negative whole number, e.g. 1")
    as_of: datetime | None = setting(
        None, env="IMPACTING_DELIVERY_AS_OF", shown_default="unset",
        description="a fixed \"now\" (ISO 8601, e.g. `2024-03-20T12:00:00Z`) to see the flow as "
        "it stood then",
        example="ISO 8601, e.g. 2024-03-20 or 2024-03-20T12:00:00+00:00 (unset: now, or an "
        "export's newest update)")
    # 238 words a minute: the mean silent reading speed of adults reading non-fiction in English
    # (Brysbaert 2019, a meta-analysis of 190 studies).
    reading_words_per_minute: float = setting(
        238.0, env="IMPACTING_READING_WORDS_PER_MINUTE", ge=1.0, le=2000.0, topic="funnel",
        description="how fast a reader gets through a request's documents, for the reading hours "
        "saved", example="words a minute between 1 and 2000, e.g. 238")
    readers_per_team: float = setting(
        1.0, env="IMPACTING_READERS_PER_TEAM", ge=0.0, le=1000.0, topic="funnel",
        description="people in each team who would read every request if nobody triaged it",
        example="a number of people between 0 and 1000, e.g. 1 or 2.5")
    team_readers: Pairs = setting(
        {}, env="IMPACTING_TEAM_READERS", topic="funnel", shown_default="none",
        description="per-team exceptions to the readers per team, e.g. `sig-node=3,sig-storage=2`",
        example="comma-separated 'team=number' pairs, e.g. 'sig-node=3,sig-storage=2'")

    @field_validator("team_readers", mode="after")
    @classmethod
    def _reader_counts(cls, value: dict[str, str]) -> dict[str, str]:
        for team, count in value.items():
            try:
                number = float(count)
            except ValueError:
                number = -1.0
            if not 0 <= number <= 1000:
                raise ValueError(f"{cls.env('team_readers')} has {f'{team}={count}'!r}; use "
                                 "comma-separated 'team=number' pairs with numbers between 0 and "
                                 "1000, e.g. 'sig-node=3,sig-storage=2'")
        return value

    def readers(self, team: str) -> float:
        """How many people of `team` would read an untriaged request."""
        return float(self.team_readers.get(team, self.readers_per_team))

    @field_validator("status_categories", mode="after")
    @classmethod
    def _known_categories(cls, value: dict[str, str]) -> dict[str, str]:
        out = {}
        for name, category in value.items():
            key = parse_category(category)
            if key is None:
                raise ValueError(
                    f"{cls.env('status_categories')} has {f'{name}={category}'!r}; use "
                    "comma-separated 'Status=category' pairs with category To Do, In Progress or "
                    "Done (or Jira's keys new, indeterminate, done), e.g. "
                    "'Blocked=In Progress,Released=Done'")
            out[name] = key
        return out

    @field_validator("as_of", mode="before")
    @classmethod
    def _iso(cls, value: Any) -> Any:
        if isinstance(value, str):
            if not value.strip():
                return None
            try:
                value = datetime.fromisoformat(value.strip())
            except ValueError:
                raise ValueError(
                    f"{cls.env('as_of')}={value!r} is not a date or time; use ISO 8601, e.g. "
                    "2024-03-20 or 2024-03-20T12:00:00+00:00 (unset: now, or an export's newest "
                    "update)") from None
        if isinstance(value, datetime):
            value = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
        return value


class PeopleSettings(SettingsGroup):
    """Who hears about what, and how: the routing file, delivery retries, the people who
    delivered similar work, and the optional comment back to Jira."""

    group: ClassVar[str] = "people"

    routing_file: ProjectPath | None = setting(
        None, env="IMPACTING_ROUTING_FILE", topic="alerts", shown_default="unset",
        description="the YAML file saying where each team, person and the triage lead are reached "
        "(see Alerts); unset: everything goes to the fallback webhook, if any",
        example="a file path such as config/routing.yaml")
    max_attempts: int = setting(
        5, env="IMPACTING_ALERT_MAX_ATTEMPTS", topic="alerts", ge=1, le=100,
        description="runs that try an undelivered alert before it is given up (`gave_up`, reported)",
        example="a number of runs between 1 and 100, e.g. 5")
    retries: int = setting(
        2, env="IMPACTING_ALERT_RETRIES", topic="alerts", ge=0, le=20,
        description="retries of one message within a run after 429, 5xx, a dropped connection or "
        "a timeout", example="a number of retries between 0 and 20, e.g. 2")
    retry_base_seconds: float = setting(
        1.0, env="IMPACTING_ALERT_RETRY_BASE_SECONDS", topic="alerts", ge=0.0, le=600,
        description="the first backoff between those retries; it doubles each retry",
        example="seconds, e.g. 1")
    max_wait_seconds: float = setting(
        60.0, env="IMPACTING_ALERT_MAX_WAIT_SECONDS", topic="alerts", ge=0.0, le=3600,
        description="the longest wait a `Retry-After` may ask for; a longer one leaves the message "
        "to the next run", example="seconds, e.g. 60")
    timeout_seconds: float = setting(
        10.0, env="IMPACTING_ALERT_TIMEOUT_SECONDS", topic="alerts", ge=0.01, le=600,
        description="the longest wait for a webhook's or mail server's answer",
        example="seconds, e.g. 10")
    inactive_days: float = setting(
        365.0, env="IMPACTING_PEOPLE_INACTIVE_DAYS", topic="alerts", ge=1.0, le=36500,
        description="people with no Jira activity (assigned work created or resolved, status "
        "changes) for longer than this before the newest update in the warehouse are not alerted",
        example="days, e.g. 365")
    people_per_request: int = setting(
        5, env="IMPACTING_PEOPLE_PER_REQUEST", topic="alerts", ge=0, le=100,
        description="people who delivered similar work alerted per request, at most (0: none)",
        example="a number of people between 0 and 100, e.g. 5")
    jira_comment: bool = setting(
        False, env="IMPACTING_JIRA_COMMENT", topic="alerts",
        description="comment once on each triaged request in Jira with its decided teams and a "
        "link to its brief (a live Jira only; needs the *Add Comments* permission)",
        example="true or false")


class SiteSettings(SettingsGroup):
    """Where the static site people read is written: the briefs, the team inboxes, the index and
    the delivery report."""

    group: ClassVar[str] = "site"

    site_dir: ProjectPath = setting(
        Path("site"), env="IMPACTING_SITE_DIR", shown_default="`site`", topic="site",
        description="the folder the site is published to (`index.html`, `briefs/`, `teams/`, "
        "`delivery.html`); each run replaces it in one step, so serve it as it is",
        example="a folder path such as site or /srv/www/impacting")


class ThemeSettings(SettingsGroup):
    """Portfolio themes: how many themes k-means may find, how k is chosen, and its seed."""

    group: ClassVar[str] = "themes"

    k_min: int = setting(
        2, env="IMPACTING_THEMES_K_MIN", ge=2, le=200,
        description="the fewest themes tried", example="a whole number between 2 and 200, e.g. 2")
    k_max: int = setting(
        20, env="IMPACTING_THEMES_K_MAX", ge=2, le=200,
        description="the most themes tried (never more than a fifth of the requests, so a theme "
        "averages five requests or more)", example="a whole number between 2 and 200, e.g. 20")
    k_method: Literal["elbow", "silhouette"] = setting(
        "elbow", env="IMPACTING_THEMES_K_METHOD",
        description="which curve picks the number of themes: `elbow` (the knee of the inertia "
        "curve, Kneedle) or `silhouette` (its highest point); both curves are always reported",
        example="'elbow' or 'silhouette'")
    k: int | None = setting(
        None, env="IMPACTING_THEMES_K", ge=1, le=200, shown_default="unset",
        description="a fixed number of themes instead (the curves are still computed and shown)",
        example="a whole number between 1 and 200, e.g. 12")
    seed: int = setting(
        1, env="IMPACTING_THEMES_SEED", ge=0, le=2**32 - 1,
        description="k-means' random seed, so a run repeats",
        example="a whole number between 0 and 4294967295, e.g. 1")

    @field_validator("k_method", mode="before")
    @classmethod
    def _lower_method(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _range_in_order(self) -> ThemeSettings:
        if self.k_min > self.k_max:
            raise ValueError(f"{self.env('k_min')}={self.k_min} is above {self.env('k_max')}="
                             f"{self.k_max}; the fewest themes tried must not exceed the most")
        return self


class DistributedSettings(SettingsGroup):
    """Running beyond one machine: which Dagster executor runs the steps, the Celery broker
    and result backend, and the partitioned embedding backfill (docs/scaling.md)."""

    group: ClassVar[str] = "distributed"

    executor: Literal["in_process", "multiprocess", "celery"] = setting(
        "in_process", env="IMPACTING_EXECUTOR", topic="distributed",
        description="how runs launched by the schedule, the UI, backfills or `dagster job launch` "
        "execute their steps: `in_process` (one process), `multiprocess` (one process per step, "
        "one machine) or `celery` (steps go to Celery workers through the broker below); steps "
        "that write the working DuckDB run one at a time in every case (the `impacting_warehouse` "
        "pool). `impacting run` always runs in its own process",
        example="'in_process', 'multiprocess' or 'celery'")
    celery_broker: Secret | None = setting(
        None, env="IMPACTING_CELERY_BROKER", secret=True, topic="distributed",
        shown_default="unset (required for `celery`)",
        description="the Celery broker the run hands steps to and the workers listen on, e.g. "
        "`redis://:password@redis:6379/0`; a secret (it may hold a password)",
        example="a Redis URL such as redis://redis:6379/0")
    celery_backend: Secret | None = setting(
        None, env="IMPACTING_CELERY_BACKEND", secret=True, topic="distributed",
        shown_default="unset (required for `celery`)",
        description="where workers put step results for the run to collect, e.g. "
        "`redis://:password@redis:6379/1`; a secret",
        example="a Redis URL such as redis://redis:6379/1")
    embedding_partitions: int = setting(
        8, env="IMPACTING_EMBEDDING_PARTITIONS", ge=1, le=4096, topic="distributed",
        description="how many partitions the embedding backfill splits the documents into (by a "
        "stable hash of the document id); each is one step any worker can run, so use at least "
        "as many as the workers. Changing it re-partitions: backfill all partitions again",
        example="a number of partitions between 1 and 4096, e.g. 8")
    vectors_dir: ProjectPath | None = setting(
        None, env="IMPACTING_VECTORS_DIR", topic="distributed",
        shown_default="`vectors/` in the working folder beside the warehouse",
        description="shared storage every worker can reach (a volume, NFS): the backfill's "
        "per-partition Parquet files (documents to read, their texts, vectors); the workers also "
        "need the attachment store, `attachments/` in the working folder, at the same path",
        example="a folder path such as /srv/impacting/vectors")

    @model_validator(mode="after")
    def _celery_needs_a_broker(self) -> DistributedSettings:
        if self.executor == "celery" and not (self.celery_broker and self.celery_backend):
            raise ValueError(f"{self.env('executor')}=celery needs {self.env('celery_broker')} and "
                             f"{self.env('celery_backend')}: the Redis URLs the workers were "
                             "started with (deploy/celery.yaml)")
        return self


GROUPS: tuple[type[SettingsGroup], ...] = (
    WarehouseSettings, ScheduleSettings, SourceSettings, LanguageSettings, TriageSettings,
    DeliverySettings, PeopleSettings, SiteSettings, ThemeSettings, DistributedSettings)


class Settings(BaseModel):
    """Every group, read together; cross-group defaults filled in."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    warehouse: WarehouseSettings = Field(default_factory=WarehouseSettings)
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)
    source: SourceSettings = Field(default_factory=SourceSettings)
    language: LanguageSettings = Field(default_factory=LanguageSettings)
    triage: TriageSettings = Field(default_factory=TriageSettings)
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)
    people: PeopleSettings = Field(default_factory=PeopleSettings)
    site: SiteSettings = Field(default_factory=SiteSettings)
    themes: ThemeSettings = Field(default_factory=ThemeSettings)
    distributed: DistributedSettings = Field(default_factory=DistributedSettings)

    @model_validator(mode="after")
    def _feedback_beside_the_warehouse(self) -> Settings:
        if self.triage.feedback_dir is None:
            triage = self.triage.model_copy(
                update={"feedback_dir": self.warehouse.path.parent / "feedback"})
            object.__setattr__(self, "triage", triage)
        if self.distributed.vectors_dir is None:
            distributed = self.distributed.model_copy(
                update={"vectors_dir": self.warehouse.working_dir / "vectors"})
            object.__setattr__(self, "distributed", distributed)
        return self

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """The settings the environment gives (`os.environ` by default); a bad value raises
        :class:`SettingsError` naming the variable and a good value."""
        env = os.environ if env is None else env
        return cls(**{group.group: group.from_env(env) for group in GROUPS})

    @property
    def warehouse_path(self) -> Path:
        return self.warehouse.path

    @property
    def working_dir(self) -> Path:
        return self.warehouse.working_dir


def var(path: str) -> str:
    """The environment variable of a setting named `group.field`, e.g. `triage.target_recall`:
    messages elsewhere name variables through this, so each name is written once (here)."""
    group, _, field = path.partition(".")
    for model in GROUPS:
        if model.group == group:
            return model.env(field)
    raise KeyError(f"no settings group {group!r}")


