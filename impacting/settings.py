"""Environment → typed settings, read and validated once.

Every knob a platform engineer turns lives here, with its environment variable and default,
so there is one place to look. Secrets are wrapped in :class:`Secret`, whose ``repr`` and ``str``
never show the value, so a logged or printed ``Settings`` cannot leak a token.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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

        return cls(
            warehouse_path=path("IMPACTING_WAREHOUSE", DEFAULT_WAREHOUSE),
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
        )
