"""Each channel against a real local receiver: what Slack, Teams, a webhook and a mail server
get, and how failures (status codes, 429 with Retry-After, slow answers) are said."""

import json
import time
from datetime import UTC, datetime

import jsonschema
import pytest
from werkzeug import Response

from impacting.people.channels import Sender, slack, webhook
from impacting.people.channels.email import message
from impacting.people.digests import Pending, build_digest
from impacting.people.routing import REVIEW, TEAM, Channel, Routing, Value
from impacting.sources.http_retry import RetryPolicy
from impacting_tests.people.receivers import MailServer

AT = datetime(2024, 5, 2, 9, 30, tzinfo=UTC)
TOKEN = "T0KEN-do-not-leak"


def digest(route="team sig-storage", channel="slack", n=2, review=False):
    items = [Pending(f"KEP-{i}", REVIEW if review else TEAM, "sig-storage", None, 0.83,
                     f"sig-storage (p=0.83 ≥ 0.41): 'CSI drivers <must> report & topology' {i}",
                     f"Volume health {i}", f"https://triage.example.com/briefs/KEP-{i}.html",
                     datetime(2024, 5, 1, i % 24, tzinfo=UTC)) for i in range(1, n + 1)]
    return build_digest(route, channel, items, AT, "https://triage.example.com", "/srv/feedback")


def sender(env, **kwargs):
    kwargs.setdefault("policy", RetryPolicy(max_retries=2, base_delay=0.0, max_delay=0.0, max_wait=60))
    return Sender(Routing(source="test"), env=env, **kwargs)


def hook(httpserver, path="/hook"):
    channel = Channel("slack", Value("${HOOK}", "routing.yaml:3"))
    return channel, {"HOOK": httpserver.url_for(f"{path}/{TOKEN}")}


def test_slack_gets_blocks_with_a_section_per_request_linking_its_brief(httpserver):
    httpserver.expect_oneshot_request(f"/hook/{TOKEN}", method="POST").respond_with_data("ok")
    channel, env = hook(httpserver)
    assert sender(env).send(digest(n=2), channel) is None
    [(request, _)] = httpserver.log
    body = json.loads(request.get_data())
    assert body["text"] == "impacting: 2 new requests for sig-storage"
    assert [b["type"] for b in body["blocks"]] == ["header", "section", "section", "context"]
    first = body["blocks"][1]["text"]["text"]
    assert first.startswith("*<https://triage.example.com/briefs/KEP-1.html|KEP-1 Volume health 1>*")
    assert "&lt;must&gt; report &amp; topology" in first  # mrkdwn escaped
    assert request.headers["Content-Type"].startswith("application/json")


def test_slack_lists_every_request_even_past_its_block_limit():
    payload = slack.payload(digest(n=120))
    assert len(payload["blocks"]) <= 50
    text = json.dumps(payload)
    assert all(f"KEP-{i} Volume health {i}" in text for i in range(1, 121))


def test_teams_gets_an_adaptive_card_in_a_workflows_message(httpserver):
    httpserver.expect_oneshot_request(f"/hook/{TOKEN}", method="POST").respond_with_data("", status=202)
    channel, env = hook(httpserver)
    assert sender(env).send(digest(channel="teams", review=True), Channel("teams", channel.target)) is None
    body = json.loads(httpserver.log[0][0].get_data())
    assert body["type"] == "message"
    [attachment] = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    container = card["body"][1]
    assert container["items"][0]["text"] == \
        "[KEP-1 Volume health 1](https://triage.example.com/briefs/KEP-1.html)"
    fact = container["items"][1]["facts"][0]
    assert fact["title"] == "unsure: sig-storage"
    assert "answer: impacting feedback KEP-1 sig-storage confirm|reject" in fact["value"]
    assert "impacting feedback KEY TEAM confirm|reject" in card["body"][-2]["text"]


def test_the_webhook_document_follows_its_published_schema(httpserver):
    httpserver.expect_oneshot_request(f"/hook/{TOKEN}", method="POST").respond_with_data("ok")
    channel, env = hook(httpserver)
    plain = Channel("webhook", channel.target)
    assert sender(env).send(digest(channel="webhook", review=True), plain) is None
    body = json.loads(httpserver.log[0][0].get_data())
    jsonschema.validate(body, webhook.SCHEMA)
    assert body["recipient"] == {"route": "team sig-storage", "name": "sig-storage"}
    assert [r["key"] for r in body["requests"]] == ["KEP-1", "KEP-2"]
    alert = body["requests"][0]["alerts"][0]
    assert alert["recipient_kind"] == "review" and alert["answer"].startswith("impacting feedback KEP-1")
    assert "KEP-2 Volume health 2" in body["text"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**body, "requests": [{"key": "X", "alerts": []}]}, webhook.SCHEMA)


@pytest.mark.parametrize("status, said", [(500, "HTTP 500"), (404, "HTTP 404: no_service"),
                                          (400, "HTTP 400: invalid_blocks")])
def test_a_refusing_receiver_is_reported_by_status_without_its_address(httpserver, status, said):
    text = {404: "no_service", 400: "invalid_blocks"}.get(status, "oops")
    httpserver.expect_request(f"/hook/{TOKEN}").respond_with_data(text, status=status)
    channel, env = hook(httpserver)
    error = sender(env).send(digest(), channel)
    assert said in error and TOKEN not in error and "127.0.0.1" not in error
    # 5xx is retried within the run (twice here), a 4xx is not: asking again cannot help.
    assert len(httpserver.log) == (3 if status == 500 else 1)


def test_429_waits_as_retry_after_says_then_delivers(httpserver):
    waits = []
    answers = iter([Response("slow down", status=429, headers={"Retry-After": "7"}),
                    Response("ok", status=200)])
    httpserver.expect_request(f"/hook/{TOKEN}").respond_with_handler(lambda request: next(answers))
    channel, env = hook(httpserver)
    assert sender(env, sleep=waits.append).send(digest(), channel) is None
    assert waits == [7.0] and len(httpserver.log) == 2


def test_a_retry_after_longer_than_allowed_leaves_the_message_to_the_next_run(httpserver):
    waits = []
    httpserver.expect_request(f"/hook/{TOKEN}").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "3600"})
    channel, env = hook(httpserver)
    error = sender(env, sleep=waits.append).send(digest(), channel)
    assert waits == [] and "HTTP 429" in error and "3600 s" in error and TOKEN not in error


def test_a_slow_receiver_times_out_and_says_so(httpserver):
    def slow(request):
        time.sleep(1.0)
        return Response("ok")

    httpserver.expect_request(f"/hook/{TOKEN}").respond_with_handler(slow)
    channel, env = hook(httpserver)
    error = sender(env, timeout=0.2, policy=RetryPolicy(max_retries=0)).send(digest(), channel)
    assert "timed out" in error and TOKEN not in error


def test_an_unset_variable_fails_the_message_naming_the_variable():
    channel = Channel("slack", Value("${NOT_SET_HOOK}", "routing.yaml:4"))
    assert sender({}).send(digest(), channel) == \
        "routing.yaml:4: environment variable NOT_SET_HOOK is not set; set it where the pipeline runs"


def test_email_is_plain_text_and_html_over_starttls_with_a_login(tmp_path):
    from impacting.people.routing import Smtp

    with MailServer(tmp_path) as server:
        smtp = Smtp(Value("127.0.0.1"), server.port, True, False, Value("${FROM}"), Value("${USER}"),
                    Value("${PASSWORD}"), server.ca_file)
        env = {"FROM": "triage@example.com", "USER": server.username, "PASSWORD": server.password}
        mail = Sender(Routing(source="test", smtp=smtp), env=env)
        channel = Channel("email", Value("node-leads@example.com, lead@example.com"))
        assert mail.send(digest(route="triage_lead", review=True), channel) is None
        assert mail.send(digest(route="team sig-node"), channel) is None
        mail.close()
        first, second = server.received
    assert first.tls and first.login == server.username
    assert first.recipients == ["node-leads@example.com", "lead@example.com"]
    assert first.sender == "triage@example.com"
    assert first.message["Subject"] == "impacting: 2 new requests to triage for the triage lead"
    assert "KEP-1 Volume health 1\n  https://triage.example.com/briefs/KEP-1.html" in first.text
    assert "answer: impacting feedback KEP-1 sig-storage confirm|reject" in first.text
    assert '<a href="https://triage.example.com/briefs/KEP-2.html">KEP-2 Volume health 2</a>' in first.html
    assert "&lt;must&gt;" in first.html
    assert second.message["Subject"] == "impacting: 2 new requests for sig-node"


def test_email_failures_are_said_without_credentials(tmp_path):
    from impacting.people.routing import Smtp

    with MailServer(tmp_path) as server:
        channel = Channel("email", Value("lead@example.com"))
        env = {"PASSWORD": "wr0ng-pa55"}
        wrong = Smtp(Value("127.0.0.1"), server.port, True, False, Value("a@example.com"),
                     Value("triage-bot"), Value("${PASSWORD}"), server.ca_file)
        error = Sender(Routing(source="t", smtp=wrong), env=env).send(digest(), channel)
        assert "refused the login" in error and "wr0ng" not in error
        untrusted = Smtp(Value("127.0.0.1"), server.port, True, False, Value("a@example.com"))
        error = Sender(Routing(source="t", smtp=untrusted)).send(digest(), channel)
        assert "TLS with the mail server failed" in error and "ca_file" in error
        assert server.received == []
    with MailServer(tmp_path, starttls=False) as plain:
        config = Smtp(Value("127.0.0.1"), plain.port, True, False, Value("a@example.com"))
        error = Sender(Routing(source="t", smtp=config)).send(digest(), channel)
        assert "does not offer STARTTLS" in error


def test_the_email_message_carries_the_digest_id():
    mail = message(digest(), "lead@example.com")
    assert mail["X-Impacting-Message-Id"] == digest().message_id
    assert mail.get_body(("plain",)) is not None and mail.get_body(("html",)) is not None
