"""Delivery against real servers on loopback: aiosmtpd (plain, STARTTLS, TLS), HTTP for apprise."""

from __future__ import annotations

import email
import email.policy
import json
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import replace
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from mailserver import Mailbox, free_port, serve

from gitguard.config import Config, validate
from gitguard.errors import ConfigError, GitguardError, UsageError
from gitguard.report.deliver import (
    PASSWORD_VARIABLE,
    USER_VARIABLE,
    deliver,
    recipients,
    send_apprise,
    send_email,
)

MARKDOWN = "# LAPORAN KEADAAN DAN KERUSAKAN WEBSITE\n\nKeadaan: **KRITIS** — ada perubahan.\n"
HTML = "<!DOCTYPE html><html lang=\"id\"><body><h1>LAPORAN</h1><p>KRITIS — é</p></body></html>"
SUBJECT = "[KRITIS] Laporan Keadaan dan Kerusakan Website www — 28 November 2026"
TO = ["Rína Wulandari <rina@example.go.id>", "budi@example.go.id"]


def make_config(port: int, security: str = "none", retries: int = 2,
                credentials: Path | None = None, apprise: list[str] | None = None) -> Config:
    notify: dict[str, Any] = {
        "smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": security,
        "smtp_from": "gitguard Diskominfo Kabupaten Contoh <gitguard@example.go.id>",
        "retries": retries, "apprise": apprise or [],
    }
    if credentials is not None:
        notify["smtp_credentials_file"] = str(credentials)
    return validate({
        "people": {
            "ahmad": {"name": "Drs. H. Ahmad Fauzi", "role": "kabag",
                      "email": "ahmad@example.go.id"},
            "rina": {"name": "Rína Wulandari", "role": "kasubbag", "email": "rina@example.go.id"},
            "budi": {"name": "Budi Santoso", "role": "staf", "email": "budi@example.go.id"},
            "siti": {"name": "Siti", "role": "staf"},
        },
        "sites": {"www": {"source": "/srv/www"}},
        "notify": notify,
    }, Path("/etc/gitguard/gitguard.toml"))


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made with openssl."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


@pytest.fixture
def trust(certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> ssl.SSLContext:
    """The client trusts the test certificate (as an operator would with SSL_CERT_FILE)."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return context


@pytest.fixture(autouse=True)
def no_credentials_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(USER_VARIABLE, raising=False)
    monkeypatch.delenv(PASSWORD_VARIABLE, raising=False)


def parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def check_message(raw: bytes) -> None:
    """Headers encoded for the wire and decoded back; both alternatives in UTF-8."""
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    head.decode("ascii")  # every non-ASCII header is an encoded word
    assert b"=?utf-8?" in head
    message = parse(raw)
    assert message["Subject"] == SUBJECT
    assert message["From"] == "gitguard Diskominfo Kabupaten Contoh <gitguard@example.go.id>"
    to = message["To"]
    assert [a.display_name for a in to.addresses] == ["Rína Wulandari", ""]
    assert [a.addr_spec for a in to.addresses] == ["rina@example.go.id", "budi@example.go.id"]
    assert message["Date"] and message["Message-ID"].endswith("@example.go.id>")
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "multipart/alternative"
    plain, html = (part for part in message.iter_parts())
    assert isinstance(plain, EmailMessage) and isinstance(html, EmailMessage)
    assert plain.get_content_type() == "text/plain"
    assert plain.get_content_charset() == "utf-8"
    assert plain.get_content().replace("\r\n", "\n") == MARKDOWN
    assert html.get_content_type() == "text/html"
    assert html.get_content().replace("\r\n", "\n").rstrip("\n") == HTML


def test_send_email_plain(mailbox: Mailbox, smtp_port: int) -> None:
    send_email(make_config(smtp_port), TO, SUBJECT, MARKDOWN, HTML)
    assert len(mailbox.messages) == 1
    rcpts, raw = mailbox.messages[0]
    assert rcpts == ["rina@example.go.id", "budi@example.go.id"]
    check_message(raw)


def test_starttls_with_credentials_from_the_environment(
        trust: ssl.SSLContext, monkeypatch: pytest.MonkeyPatch) -> None:
    mailbox = Mailbox()
    for port in serve(mailbox, tls_context=trust, require_starttls=True,
                      authenticator=mailbox.authenticate, auth_required=True):
        monkeypatch.setenv(USER_VARIABLE, "gitguard@example.go.id")
        monkeypatch.setenv(PASSWORD_VARIABLE, "rahasia:123")
        send_email(make_config(port, "starttls"), TO, SUBJECT, MARKDOWN, HTML)
    assert mailbox.logins == [("gitguard@example.go.id", "rahasia:123")]
    check_message(mailbox.messages[0][1])


def test_tls_with_credentials_file(trust: ssl.SSLContext, tmp_path: Path) -> None:
    secret = tmp_path / "smtp-credentials"
    secret.write_text("gitguard@example.go.id:rahasia:123\n", encoding="utf-8")
    secret.chmod(0o600)
    mailbox = Mailbox()
    # aiosmtpd does not count implicit TLS as TLS for AUTH; the connection is encrypted.
    for port in serve(mailbox, ssl_context=trust, authenticator=mailbox.authenticate,
                      auth_required=True, auth_require_tls=False):
        send_email(make_config(port, "tls", credentials=secret), TO, SUBJECT, MARKDOWN, HTML)
    assert mailbox.logins == [("gitguard@example.go.id", "rahasia:123")]
    check_message(mailbox.messages[0][1])


def test_starttls_refuses_an_untrusted_certificate(certificate: tuple[Path, Path]) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    mailbox = Mailbox()
    for port in serve(mailbox, tls_context=context, require_starttls=True):
        with pytest.raises(GitguardError, match="CERTIFICATE_VERIFY_FAILED"):
            send_email(make_config(port, "starttls"), TO, SUBJECT, MARKDOWN, HTML)
    assert mailbox.messages == []


def test_credentials_file_open_to_others_is_refused(tmp_path: Path, smtp_port: int,
                                                     mailbox: Mailbox) -> None:
    secret = tmp_path / "smtp-credentials"
    secret.write_text("user:password\n", encoding="utf-8")
    secret.chmod(0o644)
    config = make_config(smtp_port, credentials=secret)
    with pytest.raises(ConfigError, match=r"mode 0644.*chmod 600") as caught:
        send_email(config, TO, SUBJECT, MARKDOWN, HTML)
    assert "\n" not in str(caught.value)
    outcomes = deliver(config, TO, SUBJECT, MARKDOWN, HTML, backoff=0)
    assert len(outcomes) == 1 and not outcomes[0].delivered
    assert outcomes[0].attempts == 1  # a configuration mistake is not retried
    assert mailbox.attempts == 0


def test_password_never_sent_unencrypted_to_another_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(USER_VARIABLE, "u")
    monkeypatch.setenv(PASSWORD_VARIABLE, "p")
    config = make_config(25)
    config = replace(config, notify=replace(config.notify, smtp_host="mail.example.go.id"))
    with pytest.raises(ConfigError, match="unencrypted"):
        send_email(config, TO, SUBJECT, MARKDOWN, HTML)


def test_refusing_server_is_retried_then_reported(caplog: pytest.LogCaptureFixture) -> None:
    mailbox = Mailbox(refuse=True)
    pauses: list[float] = []
    for port in serve(mailbox):
        outcomes = deliver(make_config(port, retries=2), TO, SUBJECT, MARKDOWN, HTML,
                           backoff=0.5, sleep=pauses.append)
    assert mailbox.attempts == 3
    assert pauses == [0.5, 1.0]
    [outcome] = outcomes
    assert not outcome.delivered and outcome.attempts == 3
    assert outcome.error is not None and "550" in outcome.error and "ditolak" in outcome.error
    assert "not delivered after 3 attempt(s)" in caplog.text


def test_server_down_is_retried_then_reported() -> None:
    port = free_port()  # nothing listens here
    outcomes = deliver(make_config(port, retries=1), TO, SUBJECT, MARKDOWN, HTML, backoff=0)
    [outcome] = outcomes
    assert not outcome.delivered and outcome.attempts == 2
    assert outcome.error is not None and f"127.0.0.1:{port}" in outcome.error


class _Hook(BaseHTTPRequestHandler):
    """Records every POST; answers with the server's configured status."""

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        server: Any = self.server
        server.received.append((self.path, json.loads(self.rfile.read(length))))
        self.send_response(server.status)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[Any]:
    server: Any = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    server.received, server.status = [], 200
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_send_apprise_json(webhook: Any) -> None:
    url = f"json://127.0.0.1:{webhook.server_address[1]}/gitguard/hook"
    send_apprise([url], SUBJECT, MARKDOWN)
    [(path, body)] = webhook.received
    assert path == "/gitguard/hook"
    assert body["title"] == SUBJECT
    assert body["message"] == MARKDOWN.rstrip("\n") or body["message"] == MARKDOWN


def test_deliver_every_channel(webhook: Any, mailbox: Mailbox, smtp_port: int) -> None:
    url = f"json://127.0.0.1:{webhook.server_address[1]}/hook"
    config = make_config(smtp_port, apprise=[url])
    outcomes = deliver(config, TO, SUBJECT, MARKDOWN, HTML, backoff=0)
    assert [o.delivered for o in outcomes] == [True, True]
    assert outcomes[1].channel == "apprise #1 (json://...)"  # no token in logs or journal
    assert len(mailbox.messages) == 1 and len(webhook.received) == 1


def test_apprise_failure_is_retried_then_reported(webhook: Any) -> None:
    webhook.status = 500
    url = f"json://127.0.0.1:{webhook.server_address[1]}/hook"
    config = make_config(free_port(), apprise=[url])
    config = replace(config, notify=replace(config.notify, smtp_host=None))
    [outcome] = deliver(config, TO, SUBJECT, MARKDOWN, HTML, backoff=0)
    assert not outcome.delivered and outcome.attempts == 3
    assert len(webhook.received) == 3


def test_routing_by_role() -> None:
    config = make_config(25)
    assert recipients(config, "critical") == ["Rína Wulandari <rina@example.go.id>",
                                              "Budi Santoso <budi@example.go.id>"]
    assert recipients(config, "activity") == ["\"Drs. H. Ahmad Fauzi\" <ahmad@example.go.id>"]
    with pytest.raises(UsageError):
        recipients(config, "gossip")


def test_header_injection_is_refused(mailbox: Mailbox, smtp_port: int) -> None:
    [outcome] = deliver(make_config(smtp_port), ["Evil\r\nBcc: all@example.go.id <a@b.c>"],
                        SUBJECT, MARKDOWN, HTML, backoff=0)
    assert not outcome.delivered and outcome.attempts == 1
    assert outcome.error is not None and "cannot address" in outcome.error
    assert mailbox.attempts == 0
