import duckdb
import pytest

from impacting.cli import main

pytestmark = pytest.mark.slow


def test_run_selection_then_publish(small_export, tmp_path, monkeypatch, capsys):
    warehouse = tmp_path / "w" / "impacting.duckdb"
    monkeypatch.setenv("IMPACTING_EXPORT_DIR", str(small_export))
    monkeypatch.setenv("IMPACTING_WAREHOUSE", str(warehouse))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    (tmp_path / "dagster").mkdir()

    assert main(["run", "--select", "group:ingest", "--no-publish"]) == 0
    assert not warehouse.exists()
    assert "nothing published" in capsys.readouterr().out

    assert main(["run", "--select", "projects"]) == 0
    out = capsys.readouterr().out
    assert list((tmp_path / "dagster").rglob("runs.db")), "the run is recorded for the UI"
    assert f"Published: {warehouse}" in out and "SELECT" in out
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM projects").fetchone()[0] == 6


def test_bad_selection_and_bad_settings_exit_2_with_a_message(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("IMPACTING_WAREHOUSE", str(tmp_path / "w.duckdb"))
    assert main(["run", "--select", "no_such_asset"]) == 2
    assert "no_such_asset" in capsys.readouterr().err
    monkeypatch.setenv("IMPACTING_SCHEDULE_TIMEZONE", "Nowhere/Land")
    assert main(["run"]) == 2
    assert "IMPACTING_SCHEDULE_TIMEZONE" in capsys.readouterr().err
