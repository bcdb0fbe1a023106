"""The JQL the connector sends: scope, time window in the user's zone, key lists."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from impacting.sources.jql import jql_time, keys_in, scoped, without_order_by

LA = ZoneInfo("America/Los_Angeles")


def test_the_window_is_written_in_the_users_zone_and_floored_to_the_minute():
    instant = datetime(2024, 5, 1, 17, 30, 45, tzinfo=UTC)
    assert jql_time(instant, ZoneInfo("UTC")) == "2024/05/01 17:30"
    assert jql_time(instant, LA) == "2024/05/01 10:30"
    assert jql_time(instant, ZoneInfo("Asia/Kolkata")) == "2024/05/01 23:00"


def test_an_ambiguous_wall_clock_time_steps_back_so_the_window_only_widens():
    # 2024-11-03 01:30 happens twice in Los Angeles; Jira may read either. 08:40 UTC is the
    # second 01:40 (PST); "01:40" read as the first (PDT, 08:40 - 1 h) is earlier: safe.
    # 09:10 UTC is 01:10 PST, whose first reading (08:10 UTC) is also earlier: safe.
    for instant in (datetime(2024, 11, 3, 8, 40, tzinfo=UTC), datetime(2024, 11, 3, 9, 10, tzinfo=UTC)):
        text = jql_time(instant, LA)
        wall = datetime.strptime(text, "%Y/%m/%d %H:%M")
        readings = [wall.replace(tzinfo=LA, fold=fold).astimezone(UTC) for fold in (0, 1)]
        assert max(readings) <= instant, text
    # the first 01:30 (PDT, 08:30 UTC) would be read as the later PST one: step back an hour
    assert jql_time(datetime(2024, 11, 3, 8, 30, tzinfo=UTC), LA) == "2024/11/03 00:30"


def test_an_unknown_zone_widens_the_window_by_fourteen_hours():
    assert jql_time(datetime(2024, 5, 1, 17, 30, tzinfo=UTC), None) == "2024/05/01 03:30"


def test_the_configured_order_by_is_replaced_but_quoted_text_is_kept():
    assert without_order_by("project = AC ORDER BY created DESC") == "project = AC"
    assert without_order_by('summary ~ "order by" order  by rank') == 'summary ~ "order by"'
    assert without_order_by("ORDER BY key") == ""
    assert scoped("project = AC ORDER BY rank", updated_since="2024/05/01 10:30") == \
        '(project = AC) AND updated >= "2024/05/01 10:30" ORDER BY updated DESC'
    assert scoped("project = AC OR project = MOD") == "(project = AC OR project = MOD) ORDER BY updated DESC"
    assert keys_in(["AC-1", 'X"-2']) == 'key in ("AC-1", "X\\"-2") ORDER BY key ASC'
