"""POSTing JSON to a webhook: retried as the Jira client is (429 honouring `Retry-After`, 5xx,
dropped connections, timeouts), and failures said without the address, which often holds a
token."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import requests

from impacting.sources.http_retry import GaveUp, RetryPolicy, call_with_retries

ACCEPTED = range(200, 300)


def post_json(url: str, payload: dict[str, Any], *, what: str, timeout: float, policy: RetryPolicy,
              sleep: Callable[[float], None] = time.sleep,
              warn: Callable[[str], None] | None = None) -> str | None:
    """POST `payload`; None when a 2xx came back, else what went wrong (never the URL)."""
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")

    def once() -> requests.Response:
        response = requests.post(url, data=body, timeout=timeout, allow_redirects=False,
                                 headers={"Content-Type": "application/json; charset=utf-8"})
        if response.status_code not in ACCEPTED:
            raise requests.HTTPError(f"HTTP {response.status_code}", response=response)
        return response

    try:
        call_with_retries(once, what=what, policy=policy, sleep=sleep, warn=warn)
    except GaveUp as error:
        return f"{what}: {error.reason} (after {error.attempts} attempt{'s' * (error.attempts != 1)})"
    except requests.HTTPError as error:
        return f"{what} answered HTTP {error.response.status_code}{_said(error.response, url)}"
    except requests.RequestException as error:
        return f"{what} unreachable ({type(error).__name__})"
    return None


def _said(response: requests.Response, url: str) -> str:
    """A little of what the receiver said (Slack answers `invalid_blocks`, `no_service` ...)."""
    text = " ".join((response.text or "").split())[:200]
    if not text or url in text:
        return ""
    return f": {text}"
