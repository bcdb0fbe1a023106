"""The routing file: read once, every mistake named with its line, secrets never resolved early."""

from pathlib import Path

import pytest

from impacting.people.routing import (
    EMAIL,
    PERSON,
    REVIEW,
    SLACK,
    TEAM,
    TEAMS,
    WEBHOOK,
    RoutingError,
    fallback_routing,
    load_routing,
)
from impacting.settings import Secret

GOOD = """\
site_url: https://triage.example.com/          # links point to the briefs here
backlog_days: 14
triage_lead: {email: triage-lead@example.com}
teams:
  sig-storage: {slack: "${SLACK_STORAGE_WEBHOOK}"}
  sig-node: {teams: "${TEAMS_NODE_WEBHOOK}", email: node-leads@example.com}
people:
  jdoe: {email: [jdoe@example.com, "j.doe@example.com"]}
fallback: {webhook: "${TRIAGE_WEBHOOK}"}
smtp: {host: smtp.example.com, port: 587, starttls: true, from: triage@example.com,
       username: "${SMTP_USER}", password: "${SMTP_PASSWORD}"}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "routing.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_issue_example_loads_and_routes_each_kind_of_recipient(tmp_path):
    routing = load_routing(write(tmp_path, GOOD))
    assert routing.site_url == "https://triage.example.com" and routing.backlog_days == 14
    storage = routing.route_for(TEAM, "sig-storage")
    assert [(c.kind, c.target.label) for c in storage.channels] == [(SLACK, "${SLACK_STORAGE_WEBHOOK}")]
    node = routing.route_for(TEAM, "sig-node")
    assert [c.kind for c in node.channels] == [TEAMS, EMAIL] and node.where == "routing.yaml:6"
    assert routing.route_for(PERSON, "Jane Doe", "jdoe").channels[0].target.text == \
        "jdoe@example.com, j.doe@example.com"
    assert routing.route_for(REVIEW, "sig-apps").owner == "triage_lead"
    # Anyone else goes to the fallback.
    assert routing.route_for(TEAM, "sig-apps").owner == "fallback"
    assert routing.route_for(PERSON, "Someone Else").channels[0].kind == WEBHOOK
    assert routing.smtp.port == 587 and routing.smtp.starttls
    assert routing.smtp.username.references == ["SMTP_USER"]
    assert routing.link("KEP-1") == "https://triage.example.com/briefs/KEP-1.html"
    assert routing.references() == ["SLACK_STORAGE_WEBHOOK", "SMTP_PASSWORD", "SMTP_USER",
                                    "TEAMS_NODE_WEBHOOK", "TRIAGE_WEBHOOK"]


def test_variables_are_read_when_sent_and_a_missing_one_is_named_never_its_neighbours(tmp_path):
    routing = load_routing(write(tmp_path, GOOD))
    target = routing.route_for(TEAM, "sig-storage").channels[0].target
    assert target.resolve({"SLACK_STORAGE_WEBHOOK": "https://hooks.slack.com/T0/B0/s3cret"}) == \
        "https://hooks.slack.com/T0/B0/s3cret"
    with pytest.raises(RoutingError, match=r"routing.yaml:5: environment variable SLACK_STORAGE_WEBHOOK "
                       "is not set"):
        target.resolve({"OTHER": "x"})
    assert "s3cret" not in repr(routing)


@pytest.mark.parametrize("text, message", [
    ("teams:\n  sig-a: {slak: x}\n", r"routing.yaml:2: unknown key 'slak' in the route of team sig-a"),
    ("teamz: {}\n", r"routing.yaml:1: unknown key 'teamz' in the routing file"),
    ("teams:\n  sig-a: {email: a@example.com}\n", r"routing.yaml:2: team sig-a is reached by email but "
     "the file has no smtp"),
    ("fallback: {webhook: hooks.example.com/x}\n", r"routing.yaml:1: the webhook address of fallback is "
     "not a web address"),
    ("fallback: {webhook: '${BROKEN'}\n", r"routing.yaml:1: .*malformed"),
    ("teams:\n  a: {slack: '${A}'}\n  a: {slack: '${B}'}\n", r"routing.yaml:3: 'a' appears twice"),
    ("teams:\n  sig-a: {slack: '${A}'\n", r"routing.yaml:\d+: not valid YAML"),
    ("site_url: triage\nfallback: {webhook: '${A}'}\n",
     r"routing.yaml:1: site_url 'triage' is not a web address"),
    ("backlog_days: soon\nfallback: {webhook: '${A}'}\n", r"routing.yaml:1: backlog_days must be a number"),
    ("people:\n  jdoe: {email: not-an-address}\nsmtp: {host: h, from: a@example.com}\n",
     r"routing.yaml:2: 'not-an-address' is not an email address"),
    ("fallback: {webhook: '${A}'}\nsmtp: {host: h, from: a@example.com, username: u}\n",
     r"routing.yaml:2: smtp needs both username and password"),
    ("site_url: https://x.example.com\n", r"routing.yaml:1: no route at all"),
    ("", r"routing.yaml: the file is empty"),
])
def test_every_mistake_names_the_file_and_line(tmp_path, text, message):
    with pytest.raises(RoutingError, match=message):
        load_routing(write(tmp_path, text))


def test_a_missing_file_says_which_setting_points_at_it(tmp_path):
    with pytest.raises(RoutingError, match="IMPACTING_ROUTING_FILE"):
        load_routing(tmp_path / "nowhere.yaml")


def test_secrets_written_into_the_file_are_warned_about_and_never_shown(tmp_path):
    routing = load_routing(write(tmp_path, (
        "fallback: {webhook: 'https://hooks.example.com/services/T0/tok3n'}\n"
        "people:\n  jdoe: {email: jdoe@example.com}\n"
        "smtp: {host: h, from: a@example.com, username: u, password: pl4in}\n")))
    assert routing.fallback.channels[0].target.label == "https://hooks.example.com/…"
    assert [w.split(":")[1] for w in routing.warnings] == ["1", "4"]
    assert not any("tok3n" in w or "pl4in" in w for w in routing.warnings)


def test_routed_teams_and_people_the_warehouse_never_saw_are_reported(tmp_path):
    routing = load_routing(write(tmp_path, GOOD))
    assert routing.unknown_recipients(["sig-storage"], ["jdoe"]) == [
        "routing.yaml:6: team 'sig-node' is not a team the warehouse knows"]


def test_without_a_routing_file_the_settings_webhook_is_the_fallback():
    routing = fallback_routing(Secret("https://hooks.example.com/tok3n"))
    channel = routing.route_for(TEAM, "anyone").channels[0]
    assert channel.kind == WEBHOOK and channel.target.resolve({}) == "https://hooks.example.com/tok3n"
    assert channel.target.label == "${IMPACTING_ALERT_WEBHOOK_URL}"
    assert fallback_routing(None).route_for(TEAM, "anyone") is None


def test_variables_the_file_names_but_the_environment_lacks_are_listed_by_name(tmp_path):
    routing = load_routing(write(tmp_path, GOOD))
    env = {"SLACK_STORAGE_WEBHOOK": "x", "TRIAGE_WEBHOOK": "y", "SMTP_USER": "u"}
    assert routing.unset_variables(env) == ["SMTP_PASSWORD", "TEAMS_NODE_WEBHOOK"]
