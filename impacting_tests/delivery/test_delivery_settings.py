"""IMPACTING_DELIVERY_* settings: defaults, parsing, and errors that name the variable."""

from datetime import UTC, datetime

import pytest

from impacting.defs.resources import resources_from_settings
from impacting.settings import DeliverySettings, Settings, SettingsError


def test_defaults():
    defaults = DeliverySettings()
    assert defaults.active_statuses == ("In Progress",)
    assert (defaults.bottleneck_weeks, defaults.forecast_weeks) == (12, 12)
    assert (defaults.forecast_trials, defaults.forecast_seed) == (10_000, 1)
    assert defaults.as_of is None and dict(defaults.status_categories) == {}


def test_values_from_the_environment_reach_the_resource():
    settings = Settings.from_env({
        "IMPACTING_DELIVERY_ACTIVE_STATUSES": "In Progress, Development ,In Progress",
        "IMPACTING_DELIVERY_STATUS_CATEGORIES": "Blocked=In Progress, Released = done,Parked=new",
        "IMPACTING_DELIVERY_BOTTLENECK_WEEKS": "6",
        "IMPACTING_DELIVERY_FORECAST_WEEKS": "8",
        "IMPACTING_DELIVERY_FORECAST_TRIALS": "2000",
        "IMPACTING_DELIVERY_FORECAST_SEED": "42",
        "IMPACTING_DELIVERY_AS_OF": "2024-03-20T13:00:00+01:00",
    }).delivery
    assert settings.active_statuses == ("In Progress", "Development")
    assert dict(settings.status_categories) == {"Blocked": "indeterminate", "Released": "done",
                                                "Parked": "new"}
    assert (settings.bottleneck_weeks, settings.forecast_weeks) == (6, 8)
    assert (settings.forecast_trials, settings.forecast_seed) == (2000, 42)
    assert settings.as_of == datetime(2024, 3, 20, 12, tzinfo=UTC)
    resource = resources_from_settings(Settings.from_env({
        "IMPACTING_DELIVERY_AS_OF": "2024-03-20", "IMPACTING_DELIVERY_FORECAST_SEED": "42"}))["delivery"]
    assert resource.settings().as_of == datetime(2024, 3, 20, tzinfo=UTC)  # a date is midnight UTC
    assert resource.settings().forecast_seed == 42


@pytest.mark.parametrize("name, value", [
    ("IMPACTING_DELIVERY_STATUS_CATEGORIES", "Blocked=stalled"),
    ("IMPACTING_DELIVERY_STATUS_CATEGORIES", "Blocked"),
    ("IMPACTING_DELIVERY_BOTTLENECK_WEEKS", "0"),
    ("IMPACTING_DELIVERY_FORECAST_WEEKS", "twelve"),
    ("IMPACTING_DELIVERY_FORECAST_TRIALS", "0"),
    ("IMPACTING_DELIVERY_FORECAST_SEED", "-1"),
    ("IMPACTING_DELIVERY_AS_OF", "yesterday"),
])
def test_bad_values_name_the_variable(name, value):
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})
