"""Environment → typed settings, read and validated once.

Every knob a platform engineer turns lives here, with its environment variable and default,
so there is one place to look. Secrets are wrapped in :class:`Secret`, whose ``repr`` and ``str``
never show the value, so a logged or printed ``Settings`` cannot leak a token.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from impacting.delivery.categories import parse_category

PACKAGE_DIR = Path(__file__).resolve().parent


def project_root() -> Path:
    """The checkout the package runs from (editable install), else the current directory.

    Relative paths in settings resolve against it, so `make run`, `dagster dev` and the daemon
    agree on where the warehouse is whatever directory they were started from.
    """
    candidate = PACKAGE_DIR.parent
    if (candidate / "pyproject.toml").is_file() and (candidate / "workspace.yaml").is_file():
        return candidate
    return Path.cwd()


SAMPLE_DIR = PACKAGE_DIR.parent / "data" / "sample"
DEFAULT_WAREHOUSE = Path("warehouse") / "impacting.duckdb"


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable and the fix."""


class Secret:
    """A credential that never shows itself in logs, reprs, metadata or error messages."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class TriageSettings:
    """Team relevance, similar projects, alerts and feedback (IMPACTING_TRIAGE_*, ...)."""

    target_recall: float = 0.95       # share of impacted teams that must be notified
    unsure_recall: float = 0.98       # the unsure band reaches down to this recall at most,
    reading_budget: float = 0.40      # while notified + unsure stay within this share of teams
    recall_tolerance: float = 0.02    # how much worse a retrained model may be and still serve
    cv_folds: int = 5
    min_team_examples: int = 3        # teams with fewer past requests use the similarity vote
    similar_top_k: int = 10
    similar_min_score: float = 0.17
    similar_lexical_weight: float = 0.6
    feedback_dir: Path | None = None  # None: `feedback/` beside the warehouse file
    alert_webhook_url: Secret | None = field(default=None, repr=False)


@dataclass(frozen=True)
class IngestSettings:
    """How the live Jira is read and which attachments are design documents (JIRA_*, IMPACTING_DOCUMENT_*)."""

    jira_extra_fields: tuple[str, ...] = ()  # besides the built-in list; ("*all",) for every field
    jira_timeout_seconds: float = 30.0
    jira_max_retries: int = 5
    jira_retry_base_seconds: float = 1.0
    jira_max_wait_seconds: float = 300.0
    jira_overlap_minutes: float = 5.0
    jira_reconcile_days: float = 7.0  # 0: only on `impacting run --full`
    document_extensions: tuple[str, ...] = ()  # empty: the built-in list
    document_mime_types: tuple[str, ...] = ()  # empty: the built-in list
    document_max_bytes: int = 50 * 1024 * 1024


DEFAULT_DELIVERY_REPORT = Path("reports") / "delivery.html"


@dataclass(frozen=True)
class DeliverySettings:
    """Delivery reporting (IMPACTING_DELIVERY_*).

    - `active_statuses`: statuses where work is actively done (flow efficiency's numerator);
      every other status, queues and reviews included, counts as waiting.
    - `status_categories`: status name -> `new` / `indeterminate` / `done`, overriding Jira.
    - `bottleneck_weeks`: bottlenecks look at issues finished in this many recent weeks.
    - `forecast_weeks`: forecasts sample the weekly throughput of this many recent weeks.
    - `forecast_trials`, `forecast_seed`: Monte Carlo trials, and the seed that makes runs repeat.
    - `report_path`: where the HTML report is written each run.
    - `as_of`: the "now" ages and times in status are measured to; None = the source's own (the
      run's time for a live Jira, the newest timestamp in an export folder).
    """

    active_statuses: tuple[str, ...] = ("In Progress",)
    status_categories: Mapping[str, str] = field(default_factory=dict)
    bottleneck_weeks: int = 12
    forecast_weeks: int = 12
    forecast_trials: int = 10_000
    forecast_seed: int = 1
    report_path: Path = DEFAULT_DELIVERY_REPORT
    as_of: datetime | None = None


@dataclass(frozen=True)
class Settings:
    """What the pipeline needs to know about its environment."""

    warehouse_path: Path
    source: str  # "export" or "jira"
    export_dir: Path
    team_field: str
    embedding_model: str
    schedule_cron: str
    schedule_timezone: str
    jira_url: str | None = None
    jira_email: str | None = None
    jira_api_token: Secret | None = field(default=None, repr=False)
    jira_pat: Secret | None = field(default=None, repr=False)
    jira_jql: str | None = None
    # Language: summary lengths and method, keywords per document.
    summary_ratio: float = 0.1
    summary_words: int | None = None  # when set, the standard summary's length instead of the ratio
    executive_words: int = 60
    summary_method: str = "extractive"  # or "abstractive" (needs abstractive_model)
    abstractive_model: str | None = None
    keyword_count: int = 10
    # Triage: team decisions, similar projects, alerts, feedback.
    triage: TriageSettings = field(default_factory=TriageSettings)
    # Ingest: live Jira tuning and the design-document policy.
    ingest: IngestSettings = field(default_factory=IngestSettings)
    # Delivery: flow metrics, forecasts and the report.
    delivery: DeliverySettings = field(default_factory=DeliverySettings)

    @property
    def working_dir(self) -> Path:
        """Working state beside the published file: `impacting.duckdb` → `impacting.work/`."""
        return self.warehouse_path.with_name(self.warehouse_path.stem + ".work")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        root = project_root()

        def path(name: str, default: Path) -> Path:
            raw = env.get(name, "").strip()
            value = Path(raw).expanduser() if raw else default
            return value if value.is_absolute() else (root / value)

        jira_url = env.get("JIRA_URL", "").strip().rstrip("/") or None
        _check_jira_url(jira_url)
        source = env.get("IMPACTING_SOURCE", "").strip().lower() or ("jira" if jira_url else "export")
        if source not in {"export", "jira"}:
            raise SettingsError(
                f"IMPACTING_SOURCE={source!r} is not a source; use 'export' (a folder of Jira JSON) "
                "or 'jira' (a live Jira at JIRA_URL)"
            )
        if source == "jira" and not jira_url:
            raise SettingsError("IMPACTING_SOURCE=jira needs JIRA_URL, e.g. https://yourcompany.atlassian.net")

        timezone = env.get("IMPACTING_SCHEDULE_TIMEZONE", "").strip() or "UTC"
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise SettingsError(
                f"IMPACTING_SCHEDULE_TIMEZONE={timezone!r} is not a time zone; use an IANA name "
                "such as 'UTC' or 'Europe/London'"
            ) from error
        cron = env.get("IMPACTING_SCHEDULE_CRON", "").strip() or "0 2 * * *"
        if len(cron.split()) != 5:
            raise SettingsError(
                f"IMPACTING_SCHEDULE_CRON={cron!r} is not a five-field cron expression, "
                "e.g. '0 2 * * *' for 02:00 every day"
            )

        def secret(name: str) -> Secret | None:
            value = env.get(name, "").strip()
            return Secret(value) if value else None

        language = _language_settings(env, root)
        warehouse_path = path("IMPACTING_WAREHOUSE", DEFAULT_WAREHOUSE)
        triage = _triage_settings(env, path("IMPACTING_FEEDBACK_DIR", warehouse_path.parent / "feedback"),
                                  secret("IMPACTING_ALERT_WEBHOOK_URL"))
        return cls(
            **language,
            warehouse_path=warehouse_path,
            triage=triage,
            source=source,
            export_dir=path("IMPACTING_EXPORT_DIR", SAMPLE_DIR),
            team_field=env.get("IMPACTING_TEAM_FIELD", "").strip() or "components",
            embedding_model=env.get("IMPACTING_EMBEDDING_MODEL", "").strip() or "all-MiniLM-L6-v2",
            schedule_cron=cron,
            schedule_timezone=timezone,
            jira_url=jira_url,
            jira_email=env.get("JIRA_EMAIL", "").strip() or None,
            jira_api_token=secret("JIRA_API_TOKEN"),
            jira_pat=secret("JIRA_PAT"),
            jira_jql=env.get("JIRA_JQL", "").strip() or None,
            ingest=_ingest_settings(env),
            delivery=_delivery_settings(env, path("IMPACTING_DELIVERY_REPORT", DEFAULT_DELIVERY_REPORT)),
        )


def _number(env: Mapping[str, str], name: str, kind, default, low, high, example: str):
    """The number in `env[name]` (`default` when unset), checked to lie within [low, high]."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise SettingsError(f"{name}={raw!r} is not valid; use {example}")
    return value


def _language_settings(env: Mapping[str, str], root: Path) -> dict:
    """Summary and keyword settings (IMPACTING_SUMMARY_*, IMPACTING_EXECUTIVE_WORDS, ...)."""

    number = partial(_number, env)

    method = env.get("IMPACTING_SUMMARY_METHOD", "").strip().lower() or "extractive"
    if method not in {"extractive", "abstractive"}:
        raise SettingsError(f"IMPACTING_SUMMARY_METHOD={method!r} is not a method; use "
                            "'extractive' (sentences of the document, the default) or "
                            "'abstractive' (with IMPACTING_ABSTRACTIVE_MODEL)")
    model = env.get("IMPACTING_ABSTRACTIVE_MODEL", "").strip() or None
    if model and (model.startswith((".", "~", "/")) or (root / model).is_dir()):
        candidate = Path(model).expanduser()
        model = str(candidate if candidate.is_absolute() else root / candidate)
    if method == "abstractive" and not model:
        raise SettingsError("IMPACTING_SUMMARY_METHOD=abstractive needs IMPACTING_ABSTRACTIVE_MODEL: "
                            "a local folder with a transformers seq2seq model and its tokenizer")
    return {
        "summary_ratio": number("IMPACTING_SUMMARY_RATIO", float, 0.1, 1e-6, 1.0,
                                "a share of the document between 0 and 1, e.g. 0.1"),
        "summary_words": number("IMPACTING_SUMMARY_WORDS", int, None, 1, 10**6,
                                "a positive number of words, e.g. 250"),
        "executive_words": number("IMPACTING_EXECUTIVE_WORDS", int, 60, 1, 10**6,
                                  "a positive number of words, e.g. 60"),
        "summary_method": method,
        "abstractive_model": model,
        "keyword_count": number("IMPACTING_KEYWORDS", int, 10, 1, 1000,
                                "a number of keywords per document between 1 and 1000, e.g. 10"),
    }


def _triage_settings(env: Mapping[str, str], feedback_dir: Path,
                     webhook: Secret | None) -> TriageSettings:
    """Triage settings: IMPACTING_TRIAGE_*, IMPACTING_SIMILAR_*, IMPACTING_ALERT_WEBHOOK_URL,
    IMPACTING_FEEDBACK_DIR."""
    defaults = TriageSettings()

    number = partial(_number, env)

    target = number("IMPACTING_TRIAGE_TARGET_RECALL", float, defaults.target_recall, 0.5, 0.999,
                    "a share between 0.5 and 0.999, e.g. 0.95")
    unsure = number("IMPACTING_TRIAGE_UNSURE_RECALL", float, max(defaults.unsure_recall, target),
                    0.5, 0.999, "a share between the target recall and 0.999, e.g. 0.98")
    if unsure < target:
        raise SettingsError(f"IMPACTING_TRIAGE_UNSURE_RECALL={unsure} is below "
                            f"IMPACTING_TRIAGE_TARGET_RECALL={target}; the unsure band lies below "
                            "the notify threshold, so use a value at least the target")
    if webhook and not webhook.reveal().startswith(("http://", "https://")):
        raise SettingsError("IMPACTING_ALERT_WEBHOOK_URL is not an http(s) URL; set it to the "
                            "webhook's address, e.g. https://hooks.example.com/...")
    return TriageSettings(
        target_recall=target,
        unsure_recall=unsure,
        reading_budget=number("IMPACTING_TRIAGE_READING_BUDGET", float, defaults.reading_budget,
                              0.01, 1.0, "a share of the teams between 0.01 and 1, e.g. 0.4"),
        recall_tolerance=number("IMPACTING_TRIAGE_RECALL_TOLERANCE", float,
                                defaults.recall_tolerance, 0.0, 1.0, "a share such as 0.02"),
        cv_folds=number("IMPACTING_TRIAGE_CV_FOLDS", int, defaults.cv_folds, 2, 50,
                        "a number of folds between 2 and 50, e.g. 5"),
        min_team_examples=number("IMPACTING_TRIAGE_MIN_TEAM_EXAMPLES", int,
                                 defaults.min_team_examples, 1, 1000, "a count such as 3"),
        similar_top_k=number("IMPACTING_SIMILAR_TOP_K", int, defaults.similar_top_k, 1, 100,
                             "a number of past projects between 1 and 100, e.g. 10"),
        similar_min_score=number("IMPACTING_SIMILAR_MIN_SCORE", float, defaults.similar_min_score,
                                 0.0, 1.0, "a score between 0 and 1, e.g. 0.15"),
        similar_lexical_weight=number("IMPACTING_SIMILAR_LEXICAL_WEIGHT", float,
                                      defaults.similar_lexical_weight, 0.0, 1.0,
                                      "a weight between 0 (meaning only) and 1 (words only)"),
        feedback_dir=feedback_dir,
        alert_webhook_url=webhook,
    )


def _check_jira_url(url: str | None) -> None:
    if url is None:
        return
    parts = urlsplit(url)
    if parts.username or parts.password:
        # The message must not repeat the URL: it holds a credential.
        raise SettingsError("JIRA_URL holds a user name or password; remove them from the URL and "
                            "set JIRA_EMAIL + JIRA_API_TOKEN (Cloud) or JIRA_PAT (Data Center)")
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise SettingsError(f"JIRA_URL={url!r} is not a web address; use the Jira's base address, "
                            "e.g. https://yourcompany.atlassian.net or https://jira.example.com/jira")


def _ingest_settings(env: Mapping[str, str]) -> IngestSettings:
    """JIRA_EXTRA_FIELDS, JIRA_TIMEOUT_SECONDS, JIRA_MAX_RETRIES, JIRA_RETRY_BASE_SECONDS,
    JIRA_MAX_WAIT_SECONDS, JIRA_OVERLAP_MINUTES, JIRA_RECONCILE_DAYS and IMPACTING_DOCUMENT_*."""
    defaults = IngestSettings()

    number = partial(_number, env)

    def names(name: str) -> tuple[str, ...]:
        return tuple(dict.fromkeys(part.strip() for part in env.get(name, "").split(",") if part.strip()))

    return IngestSettings(
        jira_extra_fields=names("JIRA_EXTRA_FIELDS"),
        jira_timeout_seconds=number("JIRA_TIMEOUT_SECONDS", float, defaults.jira_timeout_seconds,
                                    0.01, 3600, "seconds to wait for one answer, e.g. 30"),
        jira_max_retries=number("JIRA_MAX_RETRIES", int, defaults.jira_max_retries, 0, 100,
                                "a number of retries between 0 and 100, e.g. 5"),
        jira_retry_base_seconds=number("JIRA_RETRY_BASE_SECONDS", float,
                                       defaults.jira_retry_base_seconds, 0.0, 600,
                                       "the first backoff in seconds, e.g. 1"),
        jira_max_wait_seconds=number("JIRA_MAX_WAIT_SECONDS", float, defaults.jira_max_wait_seconds,
                                     0.0, 86400, "the longest single wait in seconds, e.g. 300"),
        jira_overlap_minutes=number("JIRA_OVERLAP_MINUTES", float, defaults.jira_overlap_minutes,
                                    1.0, 1440, "minutes between 1 and 1440, e.g. 5"),
        jira_reconcile_days=number("JIRA_RECONCILE_DAYS", float, defaults.jira_reconcile_days,
                                   0.0, 3650, "days between full listings, e.g. 7 (0: only --full)"),
        document_extensions=tuple(e.lower().lstrip(".") for e in names("IMPACTING_DOCUMENT_EXTENSIONS")),
        document_mime_types=tuple(m.lower() for m in names("IMPACTING_DOCUMENT_MIME_TYPES")),
        document_max_bytes=number("IMPACTING_DOCUMENT_MAX_BYTES", int, defaults.document_max_bytes,
                                  1, 10**12, "a size in bytes, e.g. 52428800 (50 MiB)"),
    )


def _delivery_settings(env: Mapping[str, str], report_path: Path) -> DeliverySettings:
    """IMPACTING_DELIVERY_ACTIVE_STATUSES, _STATUS_CATEGORIES, _BOTTLENECK_WEEKS, _FORECAST_WEEKS,
    _FORECAST_TRIALS, _FORECAST_SEED, _REPORT and _AS_OF."""
    defaults = DeliverySettings()

    def number(name: str, default: int, low: int, high: int, example: str) -> int:
        return _number(env, name, int, default, low, high, example)

    active = tuple(dict.fromkeys(
        part.strip() for part in env.get("IMPACTING_DELIVERY_ACTIVE_STATUSES", "").split(",")
        if part.strip())) or defaults.active_statuses

    categories: dict[str, str] = {}
    for part in env.get("IMPACTING_DELIVERY_STATUS_CATEGORIES", "").split(","):
        if not part.strip():
            continue
        name, _, value = part.rpartition("=")
        category = parse_category(value) if name.strip() else None
        if category is None:
            raise SettingsError(
                f"IMPACTING_DELIVERY_STATUS_CATEGORIES has {part.strip()!r}; use comma-separated "
                "'Status=category' pairs with category To Do, In Progress or Done (or Jira's keys "
                "new, indeterminate, done), e.g. 'Blocked=In Progress,Released=Done'"
            )
        categories[name.strip()] = category

    as_of = None
    raw_as_of = env.get("IMPACTING_DELIVERY_AS_OF", "").strip()
    if raw_as_of:
        try:
            as_of = datetime.fromisoformat(raw_as_of)
        except ValueError as error:
            raise SettingsError(
                f"IMPACTING_DELIVERY_AS_OF={raw_as_of!r} is not a date or time; use ISO 8601, e.g. "
                "2024-03-20 or 2024-03-20T12:00:00+00:00 (unset: now, or an export's newest update)"
            ) from error
        as_of = (as_of if as_of.tzinfo else as_of.replace(tzinfo=UTC)).astimezone(UTC)

    return DeliverySettings(
        active_statuses=active,
        status_categories=categories,
        bottleneck_weeks=number("IMPACTING_DELIVERY_BOTTLENECK_WEEKS", defaults.bottleneck_weeks, 1,
                                520, "a number of weeks between 1 and 520, e.g. 12"),
        forecast_weeks=number("IMPACTING_DELIVERY_FORECAST_WEEKS", defaults.forecast_weeks, 1, 520,
                              "a number of weeks between 1 and 520, e.g. 12"),
        forecast_trials=number("IMPACTING_DELIVERY_FORECAST_TRIALS", defaults.forecast_trials, 1,
                               1_000_000, "a number of trials between 1 and 1000000, e.g. 10000"),
        forecast_seed=number("IMPACTING_DELIVERY_FORECAST_SEED", defaults.forecast_seed, 0, 2**63 - 1,
                             "a non-negative whole number, e.g. 1"),
        report_path=report_path,
        as_of=as_of,
    )
