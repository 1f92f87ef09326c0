"""Fixtures shared by every test level."""

from collections.abc import Iterator

import pytest
from sshd import SshServer


@pytest.fixture(scope="session")
def sshd() -> Iterator[SshServer]:
    """A real OpenSSH sshd on 127.0.0.1, started once per session."""
    server = SshServer().start()
    yield server
    server.stop()
