"""The shape the code promises: one settings schema, one owner per table, Dagster only at the edge."""

import re
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pydantic
import pytest

from impacting.definitions import build_definitions
from impacting.defs.resources import TriageResource, resources_from_settings
from impacting.settings import GROUPS, Settings, SettingsError
from impacting.settings_report import README, fields_by_topic, readme_topics, render_readme
from impacting.warehouse.tables import ALL_TABLES

PACKAGE = Path(__file__).resolve().parents[1] / "impacting"
# A module may be longer than this only if its docstring says why.
LONG_MODULE_LINES = 500


def _modules():
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def test_only_definitions_cli_and_defs_import_dagster():
    importers = {p.relative_to(PACKAGE).as_posix() for p in _modules()
                 if re.search(r"^\s*(import dagster|from dagster)", p.read_text(), re.M)}
    assert importers, "the scan must find the Dagster layer"
    assert {m for m in importers if not (m in {"definitions.py", "cli.py"} or m.startswith("defs/"))} == set()


def test_each_environment_variable_is_written_once_in_the_package():
    variables = [info.json_schema_extra["env"] for model in GROUPS for info in model.model_fields.values()]
    assert len(variables) == len(set(variables)) > 40
    for variable in variables:
        found = [(p.relative_to(PACKAGE).as_posix(), n) for p in _modules()
                 for n in [len(re.findall(rf"\b{variable}\b", p.read_text()))] if n]
        assert found == [("settings.py", 1)], f"{variable} is written in {found}"


def test_readme_settings_tables_are_generated_from_the_schema():
    text = README.read_text(encoding="utf-8")
    assert readme_topics(text) == set(fields_by_topic()), "every topic has one table in the README"
    assert text == render_readme(text), "README settings are stale: run `python -m impacting.settings_report`"


def test_no_module_is_long_without_saying_why():
    for path in _modules():
        lines = path.read_text().splitlines()
        if len(lines) > LONG_MODULE_LINES:
            head = "\n".join(lines[:30]).lower()
            assert "long because" in head, f"{path.name} has {len(lines)} lines and no reason at its top"


def test_every_table_has_exactly_one_owning_asset():
    graph = build_definitions(Settings.from_env({})).resolve_asset_graph()
    owners: dict[str, list[str]] = {}
    for key in graph.get_all_asset_keys():
        table = graph.get(key).metadata.get("dagster/table_name")
        if table is not None:
            owners.setdefault(str(table), []).append(key.to_user_string())
    for declared in ALL_TABLES:
        owned_by = owners.get(declared.qualified, [])
        assert len(owned_by) == 1, f"{declared.qualified} is owned by {owned_by}"


def test_launchpad_values_pass_the_same_checks_as_the_environment():
    with pytest.raises(pydantic.ValidationError, match="less than or equal to 0.999"):
        TriageResource(target_recall=2.0)
    resource = TriageResource(target_recall=0.99, unsure_recall=0.9)
    with pytest.raises(SettingsError, match="at least the target"):
        resource.settings()
    with pytest.raises(SettingsError, match="at least the target"):
        Settings.from_env({"IMPACTING_TRIAGE_TARGET_RECALL": "0.99",
                           "IMPACTING_TRIAGE_UNSURE_RECALL": "0.9"})


def test_a_bad_launchpad_value_fails_the_run_before_any_work_saying_why(tmp_path):
    settings = Settings.from_env({"IMPACTING_WAREHOUSE": str(tmp_path / "impacting.duckdb")})

    @dg.asset
    def probe(triage: TriageResource) -> None:  # never reached
        raise AssertionError("ran with an invalid setting")

    result = dg.materialize([probe], resources=resources_from_settings(settings), raise_on_error=False,
                            run_config={"resources": {"triage": {"config": {
                                "target_recall": 0.99, "unsure_recall": 0.9}}}})
    assert not result.success
    errors = " ".join(str(e.event_specific_data) for e in result.all_events if e.is_failure)
    assert "at least the target" in errors and "ran with an invalid setting" not in errors


def test_impacting_config_masks_secrets_and_says_where_values_came_from():
    env = {"PATH": "/usr/bin:/bin", "JIRA_URL": "https://acme.example", "JIRA_API_TOKEN": "tok-s3cret",
           "IMPACTING_TRIAGE_TARGET_RECALL": "0.9", "HF_HUB_OFFLINE": "1"}
    shown = subprocess.run([sys.executable, "-m", "impacting.cli", "config"], env=env,
                           capture_output=True, text=True, check=True).stdout
    assert "tok-s3cret" not in shown
    assert re.search(r"JIRA_API_TOKEN\s+\*\*\* \(set\)", shown)
    assert re.search(r"IMPACTING_TRIAGE_TARGET_RECALL\s+0.9\s+\(from the environment\)", shown)
    assert re.search(r"IMPACTING_TRIAGE_CV_FOLDS\s+5\n", shown)


def test_every_step_that_opens_the_working_database_is_in_the_one_pool():
    from impacting.defs.resources import WAREHOUSE_POOL

    defs = build_definitions(Settings.from_env({}))
    steps = [a for a in defs.assets if isinstance(a, dg.AssetsDefinition) and a.is_executable]
    checks = [c for c in defs.asset_checks or [] if isinstance(c, dg.AssetChecksDefinition)]
    assert len(steps) > 15 and len(checks) > 20
    for definition in [*steps, *checks]:
        assert definition.op.pool == WAREHOUSE_POOL, f"{definition.op.name} is outside the pool"
