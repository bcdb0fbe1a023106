"""Retrying calls to Jira: which failures deserve another try, and how long to wait first.

Jira answers 429 when a client goes too fast (with `Retry-After` in seconds or as an HTTP
date), 5xx while it is briefly unwell, and networks drop connections and time out. Those are
retried with exponential backoff and jitter, up to a limit. Everything else (401, 403, 400,
404 ...) is raised at once: asking again cannot help.

The `jira` library's own `ResilientSession` retries only 429 and 503, cannot read an HTTP-date
`Retry-After`, and sleeps up to a minute on its own clock; the live connector switches it off
(`max_retries=0`) so that this policy is the only one, end to end.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

import requests
from jira.exceptions import JIRAError

T = TypeVar("T")

RETRIED_STATUS = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: `max_retries` retries after the first attempt, backoff starting at
    `base_delay` seconds and doubling up to `max_delay`, and never a single wait over `max_wait`
    (a `Retry-After` asking for more gives up instead of stalling the nightly run)."""

    max_retries: int = 5
    base_delay: float = 1.0
    max_delay: float = 60.0
    max_wait: float = 300.0

    def backoff(self, retry: int, draw: Callable[[], float] = random.random) -> float:
        """Seconds before retry number `retry` (1-based): between half and all of
        base·2^(retry-1), capped, so that many clients rate-limited together spread out."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** (retry - 1))
        return ceiling * (0.5 + 0.5 * draw())


@dataclass(frozen=True)
class Transient:
    """A failure worth retrying: what happened, in words, and any wait the server asked for."""

    description: str
    retry_after: float | None = None


class GaveUp(Exception):
    """Retries are used up, or the server asked for a longer wait than the policy allows."""

    def __init__(self, what: str, attempts: int, reason: str):
        super().__init__(f"{what}: {reason} (after {attempts} attempt{'s' * (attempts != 1)})")
        self.what = what
        self.attempts = attempts
        self.reason = reason


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """`Retry-After` as seconds to wait: a number of seconds, or an HTTP date (RFC 9110)."""
    if not value or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def transient(error: BaseException) -> Transient | None:
    """The retryable reading of `error`, or None when retrying cannot help."""
    if isinstance(error, JIRAError):
        status = error.status_code
        if status not in RETRIED_STATUS:
            return None
        response = error.response
        reason = getattr(response, "reason", "") or ""
        header = response.headers.get("Retry-After") if response is not None else None
        return Transient(f"HTTP {status} {reason}".strip(), retry_after_seconds(header))
    if isinstance(error, requests.HTTPError) and error.response is not None:
        response = error.response  # any other HTTP service (webhooks): the same reading
        if response.status_code not in RETRIED_STATUS:
            return None
        return Transient(f"HTTP {response.status_code} {response.reason or ''}".strip(),
                         retry_after_seconds(response.headers.get("Retry-After")))
    if isinstance(error, requests.exceptions.SSLError):
        return None  # a certificate problem does not go away by asking again
    if isinstance(error, requests.exceptions.Timeout):
        return Transient("timed out")
    if isinstance(error, requests.exceptions.ChunkedEncodingError):
        return Transient("connection dropped in the middle of the answer")
    if isinstance(error, requests.exceptions.ConnectionError):
        return Transient("connection failed or dropped")
    return None


def call_with_retries(call: Callable[[], T], *, what: str, policy: RetryPolicy,
                      sleep: Callable[[float], None] = time.sleep,
                      warn: Callable[[str], None] | None = None) -> T:
    """`call()`, retried on transient failures as `policy` says; other errors pass through.

    Raises GaveUp (from the last error) when the retries are used up or the server asks for a
    wait longer than `policy.max_wait`.
    """
    retry = 0
    while True:
        try:
            return call()
        except Exception as error:
            problem = transient(error)
            if problem is None:
                raise
            retry += 1
            if retry > policy.max_retries:
                raise GaveUp(what, retry, problem.description) from error
            if problem.retry_after is not None:
                wait, why = problem.retry_after, "as Retry-After asks"
            else:
                wait, why = policy.backoff(retry), "backing off"
            if wait > policy.max_wait:
                raise GaveUp(what, retry, f"{problem.description}; the server asked to wait {wait:.0f} s, "
                             f"more than the {policy.max_wait:.0f} s allowed") from error
            if warn is not None:
                warn(f"{what}: {problem.description}; retry {retry} of {policy.max_retries} "
                     f"in {wait:.1f} s ({why})")
            sleep(wait)
