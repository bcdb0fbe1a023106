"""Triage settings from the environment: defaults, validation, the webhook kept secret."""

import pytest

from impacting.settings import Settings, SettingsError
from impacting.triage.similar import SimilarConfig
from impacting.triage.teams import TeamModelConfig


def test_defaults_and_where_the_feedback_folder_lives(tmp_path):
    settings = Settings.from_env({"IMPACTING_WAREHOUSE": str(tmp_path / "wh" / "impacting.duckdb")})
    triage = settings.triage
    assert (triage.target_recall, triage.unsure_recall, triage.reading_budget) == (0.95, 0.98, 0.40)
    assert triage.feedback_dir == tmp_path / "wh" / "feedback"
    assert triage.alert_webhook_url is None
    config = TeamModelConfig.from_settings(triage)
    assert config.target_recall == 0.95 and config.folds == 5
    assert SimilarConfig.from_settings(triage).top_k == 10


def test_values_are_read_and_the_webhook_never_shows():
    settings = Settings.from_env({
        "IMPACTING_TRIAGE_TARGET_RECALL": "0.9", "IMPACTING_TRIAGE_CV_FOLDS": "3",
        "IMPACTING_SIMILAR_MIN_SCORE": "0.2", "IMPACTING_SIMILAR_TOP_K": "5",
        "IMPACTING_ALERT_WEBHOOK_URL": "https://hooks.example.com/T0/B0/s3cret",
    })
    triage = settings.triage
    assert triage.target_recall == 0.9 and triage.unsure_recall == 0.98 and triage.cv_folds == 3
    assert (triage.similar_min_score, triage.similar_top_k) == (0.2, 5)
    assert triage.alert_webhook_url.reveal().endswith("s3cret")
    assert "s3cret" not in repr(settings) and "s3cret" not in str(triage)


@pytest.mark.parametrize("name, value, hint", [
    ("IMPACTING_TRIAGE_TARGET_RECALL", "95", "between 0.5 and 0.999"),
    ("IMPACTING_TRIAGE_UNSURE_RECALL", "0.9", "at least the target"),
    ("IMPACTING_SIMILAR_MIN_SCORE", "high", "between 0 and 1"),
    ("IMPACTING_TRIAGE_CV_FOLDS", "1", "between 2 and 50"),
    ("IMPACTING_ALERT_WEBHOOK_URL", "hooks.example.com/x", "http(s) URL"),
])
def test_a_bad_value_names_the_variable_and_the_fix(name, value, hint):
    with pytest.raises(SettingsError, match=name) as error:
        Settings.from_env({name: value})
    assert hint in str(error.value)
    assert value not in str(error.value) or name != "IMPACTING_ALERT_WEBHOOK_URL"
