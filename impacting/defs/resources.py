"""Resources: where the warehouse is and where the requests come from, configured per deployment."""

from pathlib import Path

import dagster as dg

from impacting.settings import Settings
from impacting.sources.issue_source import DocumentPolicy, IssueSource
from impacting.sources.jira_export import ExportSource
from impacting.warehouse.store import Warehouse


class WarehouseResource(dg.ConfigurableResource):
    """The analysts' DuckDB file (`path`) and the working state beside it."""

    path: str

    def open(self) -> Warehouse:
        return Warehouse(Path(self.path))


class IssueSourceResource(dg.ConfigurableResource):
    """Where project requests come from: `export` (a folder of Jira JSON) or `jira` (live)."""

    kind: str = "export"
    export_dir: str = ""
    team_field: str = "components"
    document_max_bytes: int = 50 * 1024 * 1024

    def open(self) -> IssueSource:
        if self.kind == "export":
            return ExportSource(Path(self.export_dir))
        raise dg.Failure(
            f"issue source kind {self.kind!r} is not available: use 'export', or set JIRA_URL "
            "for a live Jira"
        )

    def document_policy(self) -> DocumentPolicy:
        return DocumentPolicy(max_bytes=self.document_max_bytes)

    def base_url(self) -> str | None:
        return None


def resources_from_settings(settings: Settings) -> dict[str, dg.ConfigurableResource]:
    return {
        "warehouse": WarehouseResource(path=str(settings.warehouse_path)),
        "issue_source": IssueSourceResource(
            kind=settings.source,
            export_dir=str(settings.export_dir),
            team_field=settings.team_field,
        ),
    }
