"""The retry policy on its own: what is retried, how long it waits, when it gives up."""

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import requests
from jira.exceptions import JIRAError

from impacting.sources.http_retry import GaveUp, RetryPolicy, call_with_retries, retry_after_seconds


class Response:
    """The part of `requests.Response` a JIRAError carries that the policy reads."""

    def __init__(self, status, headers=None):
        self.status_code = status
        self.reason = {429: "Too Many Requests", 503: "Service Unavailable"}.get(status, "")
        self.headers = headers or {}


def failing(*errors, result="ok"):
    queue = list(errors)

    def call():
        if queue:
            raise queue.pop(0)
        return result
    return call


def http(status, **headers):
    return JIRAError(status_code=status, response=Response(status, headers))


def test_retry_after_in_seconds_and_as_an_http_date():
    now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("7", now) == 7.0
    assert retry_after_seconds(format_datetime(now + timedelta(seconds=90), usegmt=True), now) == 90.0
    assert retry_after_seconds(format_datetime(now - timedelta(seconds=5), usegmt=True), now) == 0.0
    assert retry_after_seconds("soon", now) is None and retry_after_seconds(None, now) is None


def test_backoff_doubles_with_jitter_and_is_capped():
    policy = RetryPolicy(base_delay=1.0, max_delay=8.0)
    assert [policy.backoff(n, draw=lambda: 1.0) for n in (1, 2, 3, 4, 5)] == [1, 2, 4, 8, 8]
    assert [policy.backoff(n, draw=lambda: 0.0) for n in (1, 2, 3)] == [0.5, 1, 2]


def test_429_waits_as_long_as_retry_after_says_then_succeeds():
    sleeps = []
    result = call_with_retries(failing(http(429, **{"Retry-After": "7"})), what="search",
                               policy=RetryPolicy(), sleep=sleeps.append)
    assert result == "ok" and sleeps == [7.0]


@pytest.mark.parametrize("error", [
    http(500), http(502), http(503), http(504),
    requests.exceptions.ConnectionError("reset"), requests.exceptions.ReadTimeout("slow"),
    requests.exceptions.ChunkedEncodingError("cut"),
])
def test_server_errors_drops_and_timeouts_are_retried_with_backoff(error):
    sleeps = []
    policy = RetryPolicy(base_delay=2.0)
    assert call_with_retries(failing(error, error), what="x", policy=policy, sleep=sleeps.append) == "ok"
    assert len(sleeps) == 2 and 1.0 <= sleeps[0] <= 2.0 and 2.0 <= sleeps[1] <= 4.0


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410])
def test_client_errors_are_not_retried(status):
    sleeps = []
    with pytest.raises(JIRAError):
        call_with_retries(failing(http(status)), what="x", policy=RetryPolicy(), sleep=sleeps.append)
    assert sleeps == []


def test_gives_up_after_the_limit_and_on_a_wait_longer_than_allowed():
    sleeps = []
    with pytest.raises(GaveUp, match="after 3 attempts") as caught:
        call_with_retries(failing(*[http(503)] * 5), what="search", sleep=sleeps.append,
                          policy=RetryPolicy(max_retries=2, base_delay=0.01))
    assert len(sleeps) == 2 and "HTTP 503" in caught.value.reason
    with pytest.raises(GaveUp, match="asked to wait 3600 s"):
        call_with_retries(failing(http(429, **{"Retry-After": "3600"})), what="search",
                          policy=RetryPolicy(max_wait=300), sleep=sleeps.append)
    assert len(sleeps) == 2, "it gave up instead of sleeping an hour"


def test_a_certificate_error_is_not_retried():
    with pytest.raises(requests.exceptions.SSLError):
        call_with_retries(failing(requests.exceptions.SSLError("bad cert")), what="x",
                          policy=RetryPolicy(), sleep=lambda s: pytest.fail("slept"))
