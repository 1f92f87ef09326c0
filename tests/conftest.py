"""Fixtures shared by every test level."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import make_key
from mailserver import Mailbox, serve
from sshd import SshServer


@pytest.fixture(scope="session")
def sshd() -> Iterator[SshServer]:
    """A real OpenSSH sshd on 127.0.0.1, started once per session."""
    server = SshServer().start()
    yield server
    server.stop()


@pytest.fixture
def mailbox() -> Mailbox:
    """A real SMTP server's mailbox (aiosmtpd keeps what it receives)."""
    return Mailbox()


@pytest.fixture
def smtp_port(mailbox: Mailbox) -> Iterator[int]:
    """The port of a real SMTP server on 127.0.0.1 delivering into `mailbox`."""
    yield from serve(mailbox)


@pytest.fixture(scope="session")
def rina(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict[str, str]]]:
    """An approver's key file and the [people] table that names her."""
    key, public = make_key(tmp_path_factory.mktemp("keys"), "rina")
    return key, {"rina": {"name": "Rina Wulandari", "role": "kasubbag", "signing_key": public}}
