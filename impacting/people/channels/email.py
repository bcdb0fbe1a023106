"""Email: one message per digest, plain text plus HTML, over SMTP with STARTTLS.

The connection is opened once per run and reused; with `starttls` (the default on port 587)
a server that does not offer STARTTLS is refused rather than sent credentials in clear, and
its certificate is checked against the system's authorities, or `ca_file` from the routing
file (an internal authority). `ssl: true` is implicit TLS (port 465).
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from html import escape

from impacting.people.digests import Digest
from impacting.people.routing import RoutingError, Smtp


def message(digest: Digest, to: str) -> EmailMessage:
    """The digest as an email to `to` (comma-separated addresses); the sender is set on sending."""
    mail = EmailMessage()
    mail["Subject"] = digest.title
    mail["To"] = to
    mail["Date"] = formatdate(digest.generated_at.timestamp(), usegmt=True)
    mail["Message-ID"] = make_msgid(idstring=digest.message_id, domain="impacting.invalid")
    mail["X-Impacting-Message-Id"] = digest.message_id
    mail.set_content(digest.text())
    mail.add_alternative(html(digest), subtype="html")
    return mail


def html(digest: Digest) -> str:
    parts = [f"<h2>{escape(digest.title)}</h2>"]
    for request in digest.requests:
        label = escape(request.label)
        title = f'<a href="{escape(request.link, quote=True)}">{label}</a>' if request.link else label
        items = []
        for entry in request.entries:
            answer = entry.answer(request.key)
            extra = f"<br><code>{escape(answer)}</code>" if answer else ""
            items.append(f"<li><b>{escape(entry.heading)}</b>: {escape(entry.reason)}{extra}</li>")
        parts.append(f"<h3>{title}</h3><ul>{''.join(items)}</ul>")
    if digest.how_to_answer:
        parts.append(f"<p>{escape(digest.how_to_answer)}</p>")
    parts.append(f'<p style="color:#777;font-size:small">Sent by impacting on '
                 f"{digest.generated_at:%Y-%m-%d %H:%M} UTC · message {digest.message_id}</p>")
    return "<!doctype html><html><body>" + "".join(parts) + "</body></html>"


class Mailer:
    """One SMTP session for a run's emails."""

    def __init__(self, config: Smtp, timeout: float, env: Mapping[str, str] | None = None):
        self.config, self.timeout, self.env = config, timeout, env
        self._smtp: smtplib.SMTP | None = None

    def send(self, mail: EmailMessage) -> str | None:
        """None when the server accepted the message for every recipient, else why not."""
        try:
            if self._smtp is None:
                self._smtp = self._connect()
            del mail["From"]
            mail["From"] = self.config.sender.resolve(self.env)
            refused = self._smtp.send_message(mail)
        except RoutingError as error:
            return str(error)
        except smtplib.SMTPRecipientsRefused as error:
            return f"the mail server refused every recipient ({_codes(error.recipients)})"
        except smtplib.SMTPAuthenticationError as error:
            self.close()
            return (f"the mail server refused the login (SMTP {error.smtp_code}); check the smtp "
                    "username and password variables")
        except smtplib.SMTPResponseException as error:
            self.close()
            return f"the mail server answered SMTP {error.smtp_code}"
        except ssl.SSLError as error:
            self.close()
            return (f"TLS with the mail server failed ({error.reason or type(error).__name__}); "
                    "check its certificate, or give smtp ca_file")
        except (smtplib.SMTPException, OSError) as error:
            self.close()
            return f"the mail server at {self._where()} failed ({_short(error)})"
        if refused:
            return f"the mail server refused some recipients ({_codes(refused)})"
        return None

    def _where(self) -> str:
        host = self.config.host.label
        return f"{host}:{self.config.port}"

    def _connect(self) -> smtplib.SMTP:
        config = self.config
        context = ssl.create_default_context(cafile=str(config.ca_file) if config.ca_file else None)
        host = config.host.resolve(self.env)
        if config.ssl:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, config.port, timeout=self.timeout, context=context)
        else:
            smtp = smtplib.SMTP(host, config.port, timeout=self.timeout)
        try:
            smtp.ehlo()
            if config.starttls and not config.ssl:
                if not smtp.has_extn("starttls"):
                    raise smtplib.SMTPNotSupportedError(
                        "the server does not offer STARTTLS (set starttls: false only for a "
                        "server on this machine)")
                smtp.starttls(context=context)
                smtp.ehlo()
            if config.username is not None and config.password is not None:
                smtp.login(config.username.resolve(self.env), config.password.resolve(self.env))
        except BaseException:
            _quietly_close(smtp)
            raise
        return smtp

    def close(self) -> None:
        if self._smtp is not None:
            _quietly_close(self._smtp)
            self._smtp = None


def _quietly_close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        try:
            smtp.close()
        except OSError:
            pass


def _codes(recipients: dict) -> str:
    return ", ".join(f"{address}: {code}" for address, (code, _) in recipients.items())


def _short(error: BaseException) -> str:
    if isinstance(error, socket.timeout | TimeoutError):
        return "timed out"
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return str(error)
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    return type(error).__name__
