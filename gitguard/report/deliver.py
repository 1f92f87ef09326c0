"""Delivery: e-mail over SMTP and notifications through apprise, retried, never losing a report.

`deliver` tries every channel, retries each, and returns one `Outcome` per channel instead of
raising: the caller keeps the report in the journal whatever happened here.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import smtplib
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.errors import MessageError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from functools import partial
from pathlib import Path

from gitguard import __version__
from gitguard.config import Config, Person
from gitguard.errors import ConfigError, GitguardError, UsageError

log = logging.getLogger(__name__)

USER_VARIABLE = "GITGUARD_SMTP_USER"
PASSWORD_VARIABLE = "GITGUARD_SMTP_PASSWORD"
TIMEOUT = 30.0  # seconds for one SMTP connection
MAX_BACKOFF = 30.0

# Who receives which report, by role (the procedure: staff report to the kabag).
ROUTES: dict[str, tuple[str, ...]] = {
    "critical": ("kasubbag", "staf"),  # a critical finding: at once, to those who act on it
    "state": ("kasubbag", "staf"),
    "repair": ("kabag", "kasubbag"),
    "activity": ("kabag",),
}


class DeliveryError(GitguardError):
    """A report could not be handed to a mail server or notification service."""


@dataclass(frozen=True)
class Outcome:
    """What happened on one channel: delivered, or the last error after every attempt."""

    channel: str
    delivered: bool
    attempts: int
    error: str | None = None


def recipients(config: Config, kind: str) -> list[str]:
    """The 'Name <address>' of everyone who receives a report of this kind, by role."""
    try:
        roles = ROUTES[kind]
    except KeyError:
        raise UsageError(f"unknown report kind {kind!r} (known: {', '.join(ROUTES)})") from None
    people: list[Person] = [p for role in roles for p in config.people.values()
                            if p.role == role and p.email]
    return [_address(p.name, p.email or "") for p in people]


def _address(name: str, mailbox: str) -> str:
    """'Name <user@host>', quoted where the name needs it, non-ASCII left for the header."""
    user, _, domain = mailbox.rpartition("@")
    try:
        return str(Address(display_name=" ".join(name.split()), username=user, domain=domain))
    except ValueError as exc:
        raise ConfigError(f"people: cannot address {mailbox!r}: {exc}") from None


def _credentials(config: Config) -> tuple[str, str] | None:
    """SMTP user and password from the environment, else the credentials file, else none."""
    user, password = os.environ.get(USER_VARIABLE), os.environ.get(PASSWORD_VARIABLE)
    if user and password:
        return user, password
    if user or password:
        raise ConfigError(f"set both ${USER_VARIABLE} and ${PASSWORD_VARIABLE}, or neither")
    path = config.notify.smtp_credentials_file
    if path is None:
        return None
    return read_credentials(path)


def read_credentials(path: Path) -> tuple[str, str]:
    """'user:password' from a file that only its owner can read, or a ConfigError."""
    try:
        mode = path.stat().st_mode
        if mode & 0o077:
            raise ConfigError(f"notify.smtp_credentials_file: {path} is open to others "
                              f"(mode {mode & 0o777:04o}); run chmod 600 {path}")
        line = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"notify.smtp_credentials_file: {path}: {exc.strerror}") from None
    user, sep, password = line.partition(":")
    if not sep or not user or not password or "\n" in line:
        raise ConfigError(f"notify.smtp_credentials_file: {path} must hold one line "
                          "'user:password'")
    return user, password


def _sender(config: Config) -> str:
    if config.notify.smtp_from:
        return config.notify.smtp_from
    raise ConfigError("notify.smtp_from: required to send e-mail")


def build_message(config: Config, to: Sequence[str], subject: str, markdown_text: str,
                  html_text: str) -> EmailMessage:
    """A multipart/alternative message: the Markdown as text/plain, the HTML as text/html."""
    sender = _sender(config)
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=True)
    domain = parseaddr(sender)[1].rpartition("@")[2] or None
    msg["Message-ID"] = make_msgid("gitguard", domain=domain)
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Mailer"] = f"gitguard {__version__}"
    msg.set_content(markdown_text, subtype="plain", charset="utf-8", cte="quoted-printable")
    msg.add_alternative(html_text, subtype="html", charset="utf-8", cte="quoted-printable")
    return msg


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _smtp_error(exc: Exception) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        refused = [f"{addr} ({code} {msg.decode(errors='replace')})"
                   for addr, (code, msg) in exc.recipients.items()]
        return "recipients refused: " + ", ".join(refused)
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error
        if isinstance(text, bytes):
            text = text.decode(errors="replace")
        return f"{exc.smtp_code} {text}"
    return str(exc) or type(exc).__name__


def send_email(config: Config, to: list[str], subject: str, markdown_text: str,
               html_text: str) -> None:
    """Send one report by SMTP (notify.smtp_*), or raise ConfigError or DeliveryError."""
    notify = config.notify
    if not notify.smtp_host:
        raise ConfigError("notify.smtp_host: required to send e-mail")
    if not to:
        raise ConfigError("e-mail: no recipient has an e-mail address (people.NAME.email)")
    credentials = _credentials(config)
    if credentials and notify.smtp_security == "none" and not _is_loopback(notify.smtp_host):
        raise ConfigError("notify.smtp_security: refusing to send the SMTP password "
                          f"unencrypted to {notify.smtp_host}; use starttls or tls")
    try:
        msg = build_message(config, to, subject, markdown_text, html_text)
    except (ValueError, MessageError) as exc:
        raise ConfigError(f"e-mail: cannot address the message: {exc}") from None
    host, port = notify.smtp_host, notify.smtp_port
    context = ssl.create_default_context()
    try:
        smtp: smtplib.SMTP
        if notify.smtp_security == "tls":
            smtp = smtplib.SMTP_SSL(host, port, timeout=TIMEOUT, context=context)
        else:
            smtp = smtplib.SMTP(host, port, timeout=TIMEOUT)
        with smtp:
            if notify.smtp_security == "starttls":
                smtp.starttls(context=context)
            if credentials:
                smtp.login(*credentials)
            refused = smtp.send_message(msg)
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"SMTP {host}:{port}: {_smtp_error(exc)}") from None
    for address, (code, text) in refused.items():
        log.warning("SMTP %s:%s refused %s: %s %s", host, port, address, code,
                    text.decode(errors="replace"))


def send_apprise(urls: Sequence[str], title: str, body: str) -> None:
    """Notify every apprise URL with the report as Markdown, or raise DeliveryError."""
    import apprise  # heavy to import; only a run that delivers needs it

    notifier = apprise.Apprise()
    for url in urls:
        if not notifier.add(url):
            raise ConfigError(f"notify.apprise: apprise cannot use the {_scheme(url)} URL")
    if not notifier.notify(body=body, title=title, body_format=apprise.NotifyFormat.MARKDOWN):
        raise DeliveryError("apprise: the service did not accept the notification")


def _scheme(url: str) -> str:
    """A notification URL's scheme only: the rest often holds a token."""
    return url.partition("://")[0] + "://..."


def _attempt(channel: str, send: Callable[[], None], retries: int, backoff: float,
             sleep: Callable[[float], None]) -> Outcome:
    """Send once, then up to `retries` more times with a doubling pause; never raise."""
    attempts = 0
    while True:
        attempts += 1
        try:
            send()
        except ConfigError as exc:
            # A wrong configuration does not heal by waiting.
            log.error("%s: %s", channel, exc)
            return Outcome(channel, False, attempts, str(exc))
        except GitguardError as exc:
            if attempts > retries:
                log.error("%s: not delivered after %d attempt(s): %s", channel, attempts, exc)
                return Outcome(channel, False, attempts, str(exc))
            log.warning("%s: attempt %d failed, retrying: %s", channel, attempts, exc)
            sleep(min(MAX_BACKOFF, backoff * 2 ** (attempts - 1)))
        else:
            log.info("%s: delivered", channel)
            return Outcome(channel, True, attempts)


def deliver(config: Config, to: Sequence[str], subject: str, markdown_text: str,
            html_text: str, *, backoff: float = 2.0,
            sleep: Callable[[float], None] = time.sleep) -> list[Outcome]:
    """Send a report by e-mail (when notify.smtp_host is set) and to every apprise URL.

    Each channel is retried notify.retries times; the result is one Outcome per channel.
    """
    retries = config.notify.retries
    outcomes = []
    if config.notify.smtp_host:
        outcomes.append(_attempt(
            "e-mail to " + (", ".join(to) or "nobody"),
            partial(send_email, config, list(to), subject, markdown_text, html_text),
            retries, backoff, sleep))
    for n, url in enumerate(config.notify.apprise, 1):
        outcomes.append(_attempt(
            f"apprise #{n} ({_scheme(url)})",
            partial(send_apprise, [url], subject, markdown_text),
            retries, backoff, sleep))
    return outcomes
