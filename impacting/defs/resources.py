"""Dagster resources, generated from the settings schema (`impacting.settings`).

Each resource has exactly the fields of one settings group, with the same defaults, ranges and
descriptions, so the launchpad shows every setting and refuses what the environment would
refuse; cross-checks (the unsure recall at least the target, a live source needs its URL) run
when a run sets the resource up. Secrets are `EnvVar`s: the UI shows the variable's name only.
The methods only hand the validated settings to the stages.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

import dagster as dg
from pydantic import Field, PrivateAttr, create_model

from impacting.settings import (
    DeliverySettings,
    DistributedSettings,
    LanguageSettings,
    PeopleSettings,
    Settings,
    SettingsGroup,
    SiteSettings,
    SourceSettings,
    ThemeSettings,
    TriageSettings,
    WarehouseSettings,
    resource_type,
)
from impacting.warehouse.store import Warehouse

# Every step that opens the working DuckDB is in this concurrency pool; with the pool's limit
# at 1 (deploy/dagster.yaml) no two of them ever run at once, so a multiprocess or distributed
# executor is safe. DuckDB allows one writing process per file.
WAREHOUSE_POOL = "impacting_warehouse"


class SettingsResource(dg.ConfigurableResource):
    """A resource holding one settings group; `settings()` is the validated group."""

    settings_model: ClassVar[type[SettingsGroup]]
    _validated: Any = PrivateAttr(default=None)

    def settings(self):
        if self._validated is None:
            self._validated = self.settings_model.from_values(self.model_dump())
        return self._validated

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self.settings()  # a bad launchpad value fails the run here, saying which and why


def _plain(value: Any) -> Any:
    """A settings value as Dagster config holds it."""
    if isinstance(value, Path | datetime):
        return str(value) if isinstance(value, Path) else value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, dict):
        return dict(value)
    return value


def _fields(model: type[SettingsGroup]) -> dict[str, tuple[Any, Any]]:
    fields = {}
    for name, info in model.model_fields.items():
        bounds = {key: getattr(item, key) for item in info.metadata
                  for key in ("ge", "gt", "le", "lt") if getattr(item, key, None) is not None}
        default = None if info.json_schema_extra["secret"] else \
            _plain(info.get_default(call_default_factory=True))
        description = f"{info.description} ({info.json_schema_extra['env']})"
        fields[name] = (resource_type(info.annotation), Field(default, description=description, **bounds))
    return fields


def _resource(name: str, model: type[SettingsGroup], base: type[SettingsResource]):
    cls = create_model(name, __base__=base, __module__=__name__, __doc__=base.__doc__, **_fields(model))
    cls.settings_model = model
    return cls


class _Warehouse(SettingsResource):
    """The analysts' DuckDB file (`path`) and the working state beside it; declared tables are
    created once per run, when the run sets this resource up."""

    _store: Any = PrivateAttr(default=None)

    def open(self) -> Warehouse:
        if self._store is None:
            self._store = Warehouse(self.settings().path, storage_version=self.settings().storage_version)
        return self._store

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        super().setup_for_execution(context)
        self.open().prepare()


class _IssueSource(SettingsResource):
    """Where project requests come from (an export folder or a live Jira) and which
    attachments are design documents."""

    def open(self, log=None):
        from impacting.sources.configured import open_source

        return open_source(self.settings(), log=log)

    def describe(self) -> str:
        """`kind: location`, without opening the source."""
        return self.settings().describe()


class _Language(SettingsResource):
    """The sentence-embedding model every stage shares, and how summaries and keywords are made."""

    def encoder(self):
        """The process-wide `Encoder` for the configured model (loaded once, on first use)."""
        from impacting.language.encoder import configured_encoder

        return configured_encoder(self.settings())

    def config(self):
        """The language stage's configuration from these settings."""
        from impacting.language.analysis import LanguageConfig

        return LanguageConfig.from_settings(self.settings())


class _Triage(SettingsResource):
    """How team decisions, similar projects, alerts and feedback behave."""


class _Delivery(SettingsResource):
    """How delivery reporting counts: active statuses, status-category overrides, windows,
    forecast trials and seed, and an optional fixed "now"."""


class _Site(SettingsResource):
    """Where the static site people read is published (briefs, team inboxes, index, delivery
    report)."""


class _People(SettingsResource):
    """Who hears about what: the routing file (checked when a run starts, so a typo stops the
    run before anything is sent), retries, people who delivered similar work, Jira comments."""

    def routing(self, fallback_webhook=None):
        """The routing file, or the fallback webhook route without one."""
        from impacting.people.routing import fallback_routing, load_routing

        path = self.settings().routing_file
        return load_routing(path) if path else fallback_routing(fallback_webhook)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        super().setup_for_execution(context)
        from impacting.defs.errors import failures

        with failures():
            self.routing()


class _Themes(SettingsResource):
    """Portfolio themes: how many themes k-means may find, how k is chosen, and its seed."""


class _Distributed(SettingsResource):
    """Running beyond one machine: the executor, the Celery broker, and the embedding backfill's
    partitions and shared folder."""


WarehouseResource = _resource("WarehouseResource", WarehouseSettings, _Warehouse)
IssueSourceResource = _resource("IssueSourceResource", SourceSettings, _IssueSource)
LanguageResource = _resource("LanguageResource", LanguageSettings, _Language)
TriageResource = _resource("TriageResource", TriageSettings, _Triage)
DeliveryResource = _resource("DeliveryResource", DeliverySettings, _Delivery)
PeopleResource = _resource("PeopleResource", PeopleSettings, _People)
SiteResource = _resource("SiteResource", SiteSettings, _Site)
ThemesResource = _resource("ThemesResource", ThemeSettings, _Themes)
DistributedResource = _resource("DistributedResource", DistributedSettings, _Distributed)

_RESOURCES = {"warehouse": WarehouseResource, "issue_source": IssueSourceResource,
              "language": LanguageResource, "triage": TriageResource, "delivery": DeliveryResource,
              "people": PeopleResource, "site": SiteResource, "themes": ThemesResource,
              "distributed": DistributedResource}


def resources_from_settings(settings: Settings) -> dict[str, dg.ConfigurableResource]:
    """Every resource with the effective settings as its configuration (secrets as EnvVars)."""
    out = {}
    for key, cls in _RESOURCES.items():
        group = getattr(settings, cls.settings_model.group)
        values = {}
        for name, info in cls.settings_model.model_fields.items():
            value = getattr(group, name)
            if info.json_schema_extra["secret"]:
                value = dg.EnvVar(info.json_schema_extra["env"]) if value else None
            values[name] = _plain(value)
        out[key] = cls(**values)
    return out
