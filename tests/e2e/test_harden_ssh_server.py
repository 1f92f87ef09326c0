"""Issue #10 over SSH: a hostile or broken server, FIFOs and devices, paths past PATH_MAX.

The hostile server is the sshd fixture's hostile key: every command runs with a folder of
the test's own tools first on PATH (a `find` that stalls or lies).
"""

from __future__ import annotations

import os
import subprocess
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import gitguard, write_config
from sshd import SshServer
from test_harden_ssh import approver, make_site, needs_root  # noqa: F401 (a fixture)

import gitguard.remote.ssh as ssh
from gitguard.config import load as load_config
from gitguard.errors import ScanError
from gitguard.policy import PathSet
from gitguard.remote.ssh import SshRemote

HASH = Path(ssh.__file__).with_name("perl") / "hash.pl"


@pytest.fixture
def fake_find(sshd: SshServer) -> Iterator[Path]:
    """Where a test writes the hostile server's `find` (it answers --version truly)."""
    path = sshd.hostile_bin / "find"
    yield path
    path.unlink(missing_ok=True)


def hostile_site(tmp_path: Path, sshd: SshServer) -> Path:
    """A config whose site logs in with the hostile key."""
    docroot = sshd.make_docroot()
    (docroot / "index.html").write_text("<h1>Pemkot</h1>\n")
    sshd.chown_to_user(docroot)
    return write_config(tmp_path, {"www": {"source": sshd.url(docroot),
                                           "identity_file": str(sshd.hostile_identity),
                                           "known_hosts": str(sshd.known_hosts)}})


def fake(path: Path, body: str) -> None:
    """A `find` that is GNU find for --version, and `body` (sh) otherwise."""
    path.write_text('#!/bin/sh\nif [ "$1" = --version ]; then exec /usr/bin/find "$@"; fi\n'
                    + body + "\n")
    path.chmod(0o755)


def test_a_stalled_listing_gives_up_in_bounded_time(
        tmp_path: Path, sshd: SshServer, fake_find: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A `find` that never answers: the scan gives up after the stall limit with one
    ScanError (exit 3), instead of hanging while it holds the site's lock."""
    fake(fake_find, "sleep 600")
    config = load_config(hostile_site(tmp_path, sshd))
    monkeypatch.setattr(ssh, "STALL", 2.0)
    remote = SshRemote.connect(config.sites["www"])
    started = time.monotonic()
    try:
        with pytest.raises(ScanError, match="no progress for 2 s"):
            remote.scan(PathSet(()))
    finally:
        remote.close()
    assert time.monotonic() - started < 15


def test_a_listing_that_never_ends_is_refused(
        tmp_path: Path, sshd: SshServer, fake_find: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A `find` that prints forever: refused past the output bound, not held in memory."""
    fake(fake_find, "exec yes 'f 644 0 0 1 1.0 1.0 L ./x'")
    config = load_config(hostile_site(tmp_path, sshd))
    monkeypatch.setattr(ssh, "MAX_OUTPUT", 8 << 20)
    remote = SshRemote.connect(config.sites["www"])
    try:
        with pytest.raises(ScanError, match="passed 8 MB"):
            remote.scan(PathSet(()))
    finally:
        remote.close()


@pytest.mark.parametrize("path", ["./../../etc", "./a/../../x", "./", "./a//b", "/etc/passwd",
                                  "./a/.", "./a/./b"])
def test_a_path_outside_the_docroot_in_the_listing_is_refused(
        path: str, tmp_path: Path, sshd: SshServer, fake_find: Path) -> None:
    """A listing record naming a path outside (or beside) the docroot: the mirror fails
    with one line, exit 3, and commits nothing."""
    fake(fake_find, f"printf '%s\\0' d 755 0 0 4096 1.0 1.0 L '{path}'; printf '\\0'")
    config = hostile_site(tmp_path, sshd)
    assert gitguard("init", config=config).returncode == 0
    proc = gitguard("mirror", config=config)
    assert proc.returncode == 3, proc
    assert "Traceback" not in proc.stderr
    assert "not a path or kind gitguard accepts" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_a_record_that_does_not_parse_is_one_line(tmp_path: Path, sshd: SshServer,
                                                  fake_find: Path) -> None:
    """A non-octal mode in a listing record: one line, exit 3."""
    fake(fake_find, r"printf '%s\0' f 999 0 0 1 1.0 1.0 L ./x; printf '\0'")
    config = hostile_site(tmp_path, sshd)
    assert gitguard("init", config=config).returncode == 0
    proc = gitguard("mirror", config=config)
    assert proc.returncode == 3 and "Traceback" not in proc.stderr, proc
    assert "does not parse" in proc.stderr


def test_hashing_a_path_swapped_for_a_fifo_does_not_block(tmp_path: Path) -> None:
    """hash.pl given a FIFO (what a file was swapped for after the listing), a link, and a
    file: answers at once, the file's id only."""
    os.mkfifo(tmp_path / "fifo.php")
    (tmp_path / "real.php").write_bytes(b"<?php\n")
    (tmp_path / "link.php").symlink_to("real.php")
    done = subprocess.run(["perl", "-e", HASH.read_text(), "1"], cwd=tmp_path, timeout=20,
                          input=b"fifo.php\0link.php\0real.php\0", capture_output=True,
                          check=True)
    ids = done.stdout.split(b"\0")[:-1]
    assert ids[:2] == [b"-", b"-"]
    assert ids[2] == subprocess.run(["git", "hash-object", "real.php"], cwd=tmp_path,
                                    capture_output=True, check=True).stdout.strip()


# -- item 10: FIFOs, sockets and devices ------------------------------------------------------


@needs_root
@pytest.mark.parametrize("how", ["root", "web", "sftp"])
def test_a_fifo_in_place_of_a_folder_is_listed_and_removed(
        how: str, sshd: SshServer, tmp_path: Path, approver: tuple[Path, str]) -> None:  # noqa: F811
    """A FIFO where an approved folder was, and a new FIFO beside: the scan lists them
    (never opening them), the restore removes them and puts the folder back."""
    site = make_site(tmp_path, sshd, approver, how,
                     {"index.html": b"<h1>Pemkot</h1>\n", "berita/a.html": b"<p>a</p>\n"})
    site.attack("""
        import shutil
        shutil.rmtree("berita")
        os.mkfifo("berita")
        os.mkfifo("pipe.php")
    """)
    site.restore(allowed=(0,))
    assert (site.docroot / "berita" / "a.html").read_bytes() == b"<p>a</p>\n"
    assert not (site.docroot / "pipe.php").exists()
    site.run("verify", "www")


# -- item 9: one path past PATH_MAX ----------------------------------------------------------

DEEP = "/".join(["d" * 200] * 25)  # 5 KB
# A webshell at the end of DEEP, made folder by folder (no call takes the whole path).
DEEP_SHELL = textwrap.dedent(f"""
    DOCROOT = os.getcwd()
    for part in {DEEP!r}.split("/"):
        os.makedirs(part, exist_ok=True)
        os.chdir(part)
    with open("shell.php", "wb") as handle:
        handle.write(b"<?php system($_GET['c']);")
""")


@needs_root
@pytest.mark.parametrize("how", ["root", "web"])
def test_a_path_past_path_max_does_not_stop_backup_or_restore(
        how: str, sshd: SshServer, tmp_path: Path, approver: tuple[Path, str]) -> None:  # noqa: F811
    """A webshell 5 KB deep on a command account: the mirror still works, the restore
    removes it, and the rest of the site is put back."""
    site = make_site(tmp_path, sshd, approver, how, {"index.html": b"<h1>Pemkot</h1>\n"})
    site.attack(DEEP_SHELL + textwrap.dedent("""
        os.chdir(DOCROOT)
        with open("index.html", "wb") as handle:
            handle.write(b"Hacked by nobody")
    """))
    site.run("mirror")
    site.restore(allowed=(0,))
    assert not (site.docroot / DEEP.split("/")[0]).exists()
    assert (site.docroot / "index.html").read_bytes() == b"<h1>Pemkot</h1>\n"


@needs_root
def test_a_folder_too_deep_for_sftp_is_reported(
        sshd: SshServer, tmp_path: Path, approver: tuple[Path, str]) -> None:  # noqa: F811
    """Over SFTP, sftp-server silently drops entries past its PATH_MAX: the scan names the
    folder it cannot list completely (exit 3) rather than believing a cut listing."""
    site = make_site(tmp_path, sshd, approver, "sftp", {"index.html": b"<h1>Pemkot</h1>\n"})
    site.attack(DEEP_SHELL)
    proc = site.run("mirror", expect=3)
    assert "too deep for SFTP" in proc.stderr
