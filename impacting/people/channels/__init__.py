"""Channels: one module per kind of place a digest can be delivered.

- `slack`: a Slack incoming webhook (Block Kit `blocks`, `text` for notifications);
- `teams`: a Microsoft Teams Workflows webhook (an Adaptive Card in a `message`);
- `webhook`: any HTTP endpoint, a JSON document with a published schema;
- `email`: SMTP with STARTTLS, a plain-text and an HTML part.

`Sender.send` delivers one digest on one channel and says what went wrong, if anything, in
words that never contain an address's secret part or a credential. A channel that fails never
raises: the caller records the failure and the next run tries again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from impacting.people.channels import email, slack, teams, webhook
from impacting.people.channels.http import post_json
from impacting.people.digests import Digest
from impacting.people.routing import EMAIL, SLACK, TEAMS, WEBHOOK, Channel, Routing, RoutingError
from impacting.sources.http_retry import RetryPolicy

PAYLOADS: dict[str, Callable[[Digest], dict[str, Any]]] = {
    SLACK: slack.payload, TEAMS: teams.payload, WEBHOOK: webhook.payload}


class Sender:
    """Delivers digests for one run; holds at most one mail-server connection, closed by `close`."""

    def __init__(self, routing: Routing, *, timeout: float = 10.0, policy: RetryPolicy | None = None,
                 env: Mapping[str, str] | None = None, sleep: Callable[[float], None] = time.sleep,
                 warn: Callable[[str], None] | None = None):
        self.routing = routing
        self.timeout = timeout
        self.policy = policy or RetryPolicy(max_retries=2, base_delay=1.0, max_delay=30.0, max_wait=60.0)
        self.env = env
        self.sleep = sleep
        self.warn = warn
        self._mailer: email.Mailer | None = None

    def send(self, digest: Digest, channel: Channel) -> str | None:
        """None when the channel accepted the digest, else why not (safe to store and show)."""
        try:
            if channel.kind == EMAIL:
                if self.routing.smtp is None:
                    return "no smtp: block in the routing file"
                if self._mailer is None:
                    self._mailer = email.Mailer(self.routing.smtp, self.timeout, self.env)
                return self._mailer.send(email.message(digest, channel.target.resolve(self.env)))
            url = channel.target.resolve(self.env)
            what = "webhook" if channel.kind == WEBHOOK else f"{channel.kind} webhook"
            return post_json(url, PAYLOADS[channel.kind](digest), what=what,
                             timeout=self.timeout, policy=self.policy, sleep=self.sleep, warn=self.warn)
        except RoutingError as error:  # a variable that is not set: said by name, never by value
            return str(error)
        except Exception as error:  # noqa: BLE001 - one channel's surprise must not stop the others
            return f"{channel.kind} failed unexpectedly ({type(error).__name__}); retried next run"

    def close(self) -> None:
        if self._mailer is not None:
            self._mailer.close()
            self._mailer = None
