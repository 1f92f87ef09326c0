"""Issue #10, item 18 over SSH: a hostile server's archive may not make gitguard read
without end. The fixture's hostile key runs every command with the test's `tar` first on
PATH."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import gitguard, write_config
from sshd import SshServer

# A GNU tar for --version; for --create, an archive whose only member claims 1 GiB and
# then streams zeros for as long as anyone reads.
FAKE_TAR = """#!/bin/sh
case "$*" in *--create*) ;; *) exec /usr/bin/tar "$@" ;; esac
cat >/dev/null
exec python3 -c '
import sys, tarfile
info = tarfile.TarInfo("./index.html")
info.size = 1 << 30
out = sys.stdout.buffer
out.write(info.tobuf(tarfile.GNU_FORMAT))
block = bytes(1 << 16)
while True:
    out.write(block)
'
"""


@pytest.fixture
def fake_tar(sshd: SshServer) -> Iterator[Path]:
    path = sshd.hostile_bin / "tar"
    path.write_text(FAKE_TAR)
    path.chmod(0o755)
    yield path
    path.unlink(missing_ok=True)


def test_an_archive_member_larger_than_the_limit_stops_the_read_at_once(
        tmp_path: Path, sshd: SshServer, fake_tar: Path) -> None:
    docroot = sshd.make_docroot()
    (docroot / "index.html").write_text("<h1>Pemkot</h1>\n")
    sshd.chown_to_user(docroot)
    config = write_config(tmp_path, {"www": {"source": sshd.url(docroot),
                                             "identity_file": str(sshd.hostile_identity),
                                             "known_hosts": str(sshd.known_hosts),
                                             "max_file_size": "1 MB"}})
    assert gitguard("init", config=config).returncode == 0
    started = time.monotonic()
    proc = gitguard("mirror", config=config)
    assert proc.returncode == 3, (proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "index.html" in lines[0] and "max_file_size" in lines[0], lines
    assert time.monotonic() - started < 30  # it did not read the claimed gigabyte
    assert "Traceback" not in proc.stderr
