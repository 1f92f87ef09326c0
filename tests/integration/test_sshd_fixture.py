"""The sshd fixture is a real OpenSSH server with the accounts the tests rely on."""

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest
from sshd import SshServer


def connect(sshd: SshServer, identity: Path, known_hosts: Path | None = None,
            user: str | None = None) -> paramiko.SSHClient:
    """A paramiko client that trusts only the given known_hosts file."""
    client = paramiko.SSHClient()
    client.load_host_keys(str(known_hosts or sshd.known_hosts))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(
        sshd.host,
        sshd.port,
        username=user or sshd.user,
        key_filename=str(identity),
        allow_agent=False,
        look_for_keys=False,
        timeout=10,
    )
    return client


def run(client: paramiko.SSHClient, command: str) -> tuple[int, str, str]:
    """Exit status, stdout and stderr of one remote command."""
    _, stdout, stderr = client.exec_command(command, timeout=10)
    out = stdout.read().decode()
    err = stderr.read().decode()
    return stdout.channel.recv_exit_status(), out, err


@pytest.fixture
def full(sshd: SshServer) -> Iterator[paramiko.SSHClient]:
    client = connect(sshd, sshd.identity)
    yield client
    client.close()


@pytest.fixture
def sftp_only(sshd: SshServer) -> Iterator[paramiko.SSHClient]:
    client = connect(sshd, sshd.sftp_identity)
    yield client
    client.close()


def test_full_account_runs_gnu_find_and_tar(full: paramiko.SSHClient) -> None:
    status, out, _ = run(full, "find --version")
    assert status == 0
    assert "GNU findutils" in out
    status, out, _ = run(full, "tar --version")
    assert status == 0
    assert "GNU tar" in out


def test_full_account_is_the_unprivileged_web_user(
    sshd: SshServer, full: paramiko.SSHClient
) -> None:
    status, out, _ = run(full, "id -un; id -u")
    assert status == 0
    name, uid = out.split()
    assert name == sshd.user
    assert uid != "0"


def test_docroot_belongs_to_the_web_user(sshd: SshServer, full: paramiko.SSHClient) -> None:
    docroot = sshd.make_docroot("html")
    assert docroot.name == "html"
    sshd.run_as_user(f"echo hello > {docroot}/index.html")
    sshd.run_as_user(f"echo secret > {docroot}/locked.php && chmod 000 {docroot}/locked.php")
    status, out, _ = run(full, f"cat {docroot}/index.html")
    assert (status, out) == (0, "hello\n")
    # The web user really is subject to permissions: root would read the file anyway.
    status, out, err = run(full, f"cat {docroot}/locked.php")
    assert status != 0
    assert "Permission denied" in err
    status, _, _ = run(full, f"touch {docroot}/new.html")
    assert status == 0
    assert (docroot / "new.html").stat().st_uid == (docroot / "index.html").stat().st_uid


def test_chown_to_user_gives_a_tree_to_the_web_user(sshd: SshServer) -> None:
    docroot = sshd.make_docroot("site")
    (docroot / "wp-content" / "uploads").mkdir(parents=True)
    (docroot / "wp-content" / "uploads" / "a.jpg").write_bytes(b"jpg")
    sshd.chown_to_user(docroot)
    result = sshd.run_as_user(f"rm -r {docroot}/wp-content && ls -A {docroot}")
    assert result.stdout == ""


def test_sftp_only_key_lists_the_docroot(sshd: SshServer, sftp_only: paramiko.SSHClient) -> None:
    docroot = sshd.make_docroot("html")
    sshd.run_as_user(f"echo hello > {docroot}/index.html && mkdir {docroot}/img")
    sftp = sftp_only.open_sftp()
    try:
        assert sorted(sftp.listdir(str(docroot))) == ["img", "index.html"]
        with sftp.open(str(docroot / "index.html")) as remote:
            assert remote.read() == b"hello\n"
    finally:
        sftp.close()


def test_sftp_only_key_cannot_run_a_command(sshd: SshServer, sftp_only: paramiko.SSHClient) -> None:
    marker = sshd.make_docroot("html") / "ran"
    status, out, _ = run(sftp_only, f"echo hi; touch {marker}")
    assert out == "This service allows sftp connections only.\n"
    assert status != 0
    assert not marker.exists()


def test_sftp_only_key_gets_no_shell(sftp_only: paramiko.SSHClient) -> None:
    channel = sftp_only.get_transport().open_session()  # type: ignore[union-attr]
    channel.invoke_shell()
    # the forced internal-sftp may have closed the channel already: no shell there
    with contextlib.suppress(OSError):
        channel.sendall(b"echo hi\nexit\n")
    status = channel.recv_exit_status()
    out = b""
    while chunk := channel.recv(4096):
        out += chunk
    assert status != 0
    assert b"hi" not in out.split()


def test_wrong_host_key_is_rejected(sshd: SshServer) -> None:
    with pytest.raises(paramiko.BadHostKeyException):
        connect(sshd, sshd.identity, sshd.wrong_known_hosts)


def test_unknown_host_is_rejected(sshd: SshServer) -> None:
    with pytest.raises(paramiko.SSHException, match="not found in known_hosts"):
        connect(sshd, sshd.identity, sshd.empty_known_hosts)


def test_known_hosts_names_the_port(sshd: SshServer) -> None:
    host, key_type, _ = sshd.known_hosts.read_text().split()
    assert host == f"[127.0.0.1]:{sshd.port}"
    assert key_type == "ssh-ed25519"
    assert sshd.empty_known_hosts.read_text() == ""


def test_url(sshd: SshServer) -> None:
    docroot = sshd.make_docroot("html")
    assert sshd.url(docroot) == f"ssh://{sshd.user}@127.0.0.1:{sshd.port}{docroot}"
    assert sshd.url(docroot, root=True) == f"ssh://root@127.0.0.1:{sshd.port}{docroot}"


@pytest.mark.skipif(os.geteuid() != 0, reason="only a root test run has a root account to use")
def test_identity_logs_in_as_root_too(sshd: SshServer) -> None:
    client = connect(sshd, sshd.identity, user="root")
    try:
        assert run(client, "id -u") == (0, "0\n", "")
    finally:
        client.close()


def test_hostile_key_runs_commands_with_the_hostile_tools_first(sshd: SshServer) -> None:
    fake = sshd.hostile_bin / "gitguard-test-tool"
    fake.write_text("#!/bin/sh\necho lying\n")
    fake.chmod(0o755)
    client = connect(sshd, sshd.hostile_identity)
    try:
        assert run(client, "gitguard-test-tool; id -un") == (0, f"lying\n{sshd.user}\n", "")
    finally:
        client.close()
        fake.unlink()


def test_kill_sessions_breaks_an_open_connection(sshd: SshServer) -> None:
    client = connect(sshd, sshd.identity)
    try:
        status, _, _ = run(client, "true")
        assert status == 0
        channel = client.get_transport().open_session()  # type: ignore[union-attr]
        channel.exec_command("sleep 30")
        assert sshd.kill_sessions() > 0
        transport = client.get_transport()
        assert transport is not None
        deadline = time.monotonic() + 5
        while transport.is_active() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not transport.is_active()
        with pytest.raises(paramiko.SSHException):
            client.exec_command("true")
    finally:
        client.close()
    # The listener survives: a new connection works.
    again = connect(sshd, sshd.identity)
    try:
        assert run(again, "echo back") == (0, "back\n", "")
    finally:
        again.close()
