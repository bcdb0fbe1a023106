from pathlib import Path

import pytest

from impacting.settings import SAMPLE_DIR, Secret, Settings, SettingsError


def test_defaults_use_the_embedded_sample_and_nightly_at_two_utc():
    settings = Settings.from_env({})
    assert settings.source.kind == "export"
    assert settings.source.export_dir == SAMPLE_DIR
    assert settings.warehouse_path.name == "impacting.duckdb"
    assert settings.working_dir == settings.warehouse_path.with_name("impacting.work")
    assert (settings.schedule.cron, settings.schedule.timezone) == ("0 2 * * *", "UTC")


def test_warehouse_path_comes_from_the_environment(tmp_path):
    settings = Settings.from_env({"IMPACTING_WAREHOUSE": str(tmp_path / "x" / "w.duckdb")})
    assert settings.warehouse_path == tmp_path / "x" / "w.duckdb"
    assert settings.working_dir == tmp_path / "x" / "w.work"


def test_jira_url_switches_the_source_to_live_jira():
    settings = Settings.from_env({"JIRA_URL": "https://acme.atlassian.net/"})
    assert settings.source.kind == "jira"
    assert settings.source.jira_url == "https://acme.atlassian.net"


@pytest.mark.parametrize("env, names", [
    ({"IMPACTING_SOURCE": "ftp"}, "IMPACTING_SOURCE"),
    ({"IMPACTING_SOURCE": "jira"}, "JIRA_URL"),
    ({"IMPACTING_SCHEDULE_TIMEZONE": "Mars/Olympus"}, "IMPACTING_SCHEDULE_TIMEZONE"),
    ({"IMPACTING_SCHEDULE_CRON": "nightly"}, "IMPACTING_SCHEDULE_CRON"),
])
def test_bad_settings_name_the_variable(env, names):
    with pytest.raises(SettingsError, match=names):
        Settings.from_env(env)


def test_secrets_never_show_in_reprs():
    settings = Settings.from_env({"JIRA_URL": "https://x.example", "JIRA_API_TOKEN": "tok-123",
                                  "JIRA_PAT": "pat-456"})
    source = settings.source
    shown = repr(settings) + str(settings) + repr(source.jira_api_token) + f"{source.jira_pat}"
    shown += settings.model_dump_json()
    assert "tok-123" not in shown and "pat-456" not in shown
    assert source.jira_api_token.reveal() == "tok-123"
    assert Secret("a") == Secret("a") and not Secret("")


def test_relative_paths_resolve_against_the_project_root():
    settings = Settings.from_env({"IMPACTING_EXPORT_DIR": "data/sample"})
    assert settings.source.export_dir.is_absolute()
    assert settings.source.export_dir == Path(SAMPLE_DIR)


def test_live_jira_tuning_and_document_policy_come_from_the_environment():
    settings = Settings.from_env({
        "JIRA_URL": "https://acme.atlassian.net", "JIRA_EXTRA_FIELDS": "customfield_10020, fixVersions",
        "JIRA_OVERLAP_MINUTES": "10", "JIRA_RECONCILE_DAYS": "0", "JIRA_MAX_RETRIES": "2",
        "IMPACTING_DOCUMENT_EXTENSIONS": ".MD, pdf", "IMPACTING_DOCUMENT_MAX_BYTES": "1000",
    })
    ingest = settings.source
    assert ingest.jira_extra_fields == ("customfield_10020", "fixVersions")
    assert (ingest.jira_overlap_minutes, ingest.jira_reconcile_days, ingest.jira_max_retries) == (10, 0, 2)
    assert (ingest.document_extensions, ingest.document_max_bytes) == (("md", "pdf"), 1000)


@pytest.mark.parametrize("env, names", [
    ({"JIRA_URL": "jira.example.com"}, "JIRA_URL"),
    ({"JIRA_TIMEOUT_SECONDS": "soon"}, "JIRA_TIMEOUT_SECONDS"),
    ({"JIRA_OVERLAP_MINUTES": "0"}, "JIRA_OVERLAP_MINUTES"),
    ({"IMPACTING_DOCUMENT_MAX_BYTES": "-1"}, "IMPACTING_DOCUMENT_MAX_BYTES"),
])
def test_bad_jira_settings_name_the_variable(env, names):
    with pytest.raises(SettingsError, match=names):
        Settings.from_env(env)


def test_credentials_in_jira_url_are_refused_without_repeating_them():
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"JIRA_URL": "https://bot:hunter2@acme.atlassian.net"})
    assert "JIRA_API_TOKEN" in str(caught.value) and "hunter2" not in str(caught.value)
