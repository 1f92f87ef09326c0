"""A real OpenSSH sshd on 127.0.0.1 for the tests: keys, a web user, known_hosts files."""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import NoReturn

SSHD = Path("/usr/sbin/sshd")
WEB_USER = "ggweb"
HOST = "127.0.0.1"
# World-traversable, unlike pytest's /tmp/pytest-of-root (0700): the web user must reach it.
BASE_DIR = Path("/var/tmp")
START_TIMEOUT = 10.0
PORT_ATTEMPTS = 5


class SshServer:
    """An sshd process with its own host key, client keys and known_hosts files.

    The full account (`identity`) can run commands; the SFTP-only key (`sftp_identity`)
    logs in as the same user but is forced to internal-sftp by its authorized_keys line.
    Running as root, `identity` also logs in as root (`url(..., root=True)`), as gitguard
    does where it must restore owners; the hostile key (`hostile_identity`) logs in as the
    web user but runs every command with `hostile_bin` first on PATH: a server whose
    `find` or `tar` lies or stalls.
    """

    def __init__(self, sshd: Path = SSHD, user: str = WEB_USER) -> None:
        self.sshd = sshd
        self.host = HOST
        self.port = 0
        self._requested_user = user
        self._base: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> SshServer:
        """Create keys, user and config, start sshd and wait until it accepts connections."""
        if not os.access(self.sshd, os.X_OK):
            raise RuntimeError(f"sshd not found at {self.sshd}: install openssh-server")
        self.user = _ensure_user(self._requested_user) if os.geteuid() == 0 else _current_user()
        self.sftp_user = self.user
        self._uid, self._gid = _ids(self.user)
        try:
            base = Path(tempfile.mkdtemp(prefix="gitguard-sshd-", dir=BASE_DIR))
            self._base = base
            base.chmod(0o755)
            self._server_dir = _private_dir(base / "server")
            self._client_dir = _private_dir(base / "client")
            self._docroots = base / "docroots"
            self._docroots.mkdir(mode=0o755)
            self._docroots.chmod(0o755)

            self._host_key = _keygen(self._server_dir / "host_ed25519", "gitguard-test-host")
            other_host_key = _keygen(self._server_dir / "other_ed25519", "gitguard-test-other")
            self.identity = _keygen(self._client_dir / "full_ed25519", "gitguard-test-full")
            self.sftp_identity = _keygen(self._client_dir / "sftp_ed25519", "gitguard-test-sftp")
            self.hostile_identity = _keygen(self._client_dir / "hostile_ed25519",
                                            "gitguard-test-hostile")
            self.hostile_bin = base / "hostile-bin"
            self.hostile_bin.mkdir(mode=0o755)
            wrapper = base / "hostile-shell"
            wrapper.write_text(f'#!/bin/sh\nPATH={self.hostile_bin}:$PATH\nexport PATH\n'
                               'exec /bin/sh -c "$SSH_ORIGINAL_COMMAND"\n')
            wrapper.chmod(0o755)

            # sshd reads authorized_keys as the user it logs in, so the file sits in the 0755 base.
            self._authorized_keys = base / "authorized_keys"
            self._authorized_keys.write_text(
                f"{_public(self.identity)}\n"
                f'restrict,command="internal-sftp" {_public(self.sftp_identity)}\n'
                f'restrict,command="{wrapper}" {_public(self.hostile_identity)}\n'
            )
            self._authorized_keys.chmod(0o644)

            self.log = self._server_dir / "sshd.log"
            self._config = self._server_dir / "sshd_config"
            self.empty_known_hosts = self._client_dir / "empty_known_hosts"
            self.empty_known_hosts.write_text("")
            if os.geteuid() == 0:
                # Privilege separation needs it; a fresh container has no systemd to create it.
                Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)

            for _ in range(PORT_ATTEMPTS):
                self.port = _free_port(self.host)
                self._config.write_text(self._config_text())
                if self._launch():
                    break
            else:
                self._fail(f"sshd could not bind a port on {self.host} in {PORT_ATTEMPTS} attempts")

            self.known_hosts = self._client_dir / "known_hosts"
            self.known_hosts.write_text(self._known_hosts_line(self._host_key))
            self.wrong_known_hosts = self._client_dir / "wrong_known_hosts"
            self.wrong_known_hosts.write_text(self._known_hosts_line(other_host_key))
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop sshd and every session it started, and remove the temporary files."""
        if self._process is not None:
            self.kill_sessions()
            if self._process.poll() is None:
                self._process.terminate()
                try:
                    self._process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait()
            self._process = None
        if self._base is not None:
            _force_rmtree(self._base)
            self._base = None

    def __enter__(self) -> SshServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- what tests use --------------------------------------------------------------------

    def url(self, docroot: Path | str, sftp: bool = False, root: bool = False) -> str:
        """The `ssh://user@127.0.0.1:PORT/abs/docroot` source URL for a docroot (as root
        with `root`: the same keys log in as root too, when the tests run as root)."""
        user = "root" if root else self.sftp_user if sftp else self.user
        return f"ssh://{user}@{self.host}:{self.port}{Path(docroot).resolve()}"

    def make_docroot(self, name: str = "html") -> Path:
        """A fresh, empty directory called `name`, owned by the web user (0755)."""
        parent = Path(tempfile.mkdtemp(prefix="site-", dir=self._docroots))
        parent.chmod(0o755)
        docroot = parent / name
        docroot.mkdir(mode=0o755)
        self.chown_to_user(docroot)
        return docroot

    def run_as_user(
        self, cmd: Sequence[str] | str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run a shell command as the web user (a list is quoted into one command line)."""
        script = cmd if isinstance(cmd, str) else shlex.join(cmd)
        argv = ["sh", "-c", script]
        if os.geteuid() == 0:
            argv = ["runuser", "-u", self.user, "--", *argv]
        return subprocess.run(argv, cwd="/", check=check, capture_output=True, text=True)

    def chown_to_user(self, path: Path | str) -> None:
        """Give `path` and everything under it to the web user, without following symlinks."""
        if os.geteuid() != 0:
            return
        root = Path(path)
        os.chown(root, self._uid, self._gid, follow_symlinks=False)
        if root.is_dir() and not root.is_symlink():
            for dirpath, dirnames, filenames in os.walk(root):
                for name in dirnames + filenames:
                    os.chown(Path(dirpath, name), self._uid, self._gid, follow_symlinks=False)

    def kill_sessions(self) -> int:
        """SIGKILL every per-connection sshd process (not the listener); returns how many."""
        if self._process is None:
            return 0
        victims = _descendants(self._process.pid)
        for pid in victims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        # Return only once they are dead, so the caller sees the connection already dropped.
        deadline = time.monotonic() + 5
        while any(map(_running, victims)) and time.monotonic() < deadline:
            time.sleep(0.005)
        return len(victims)

    def log_text(self) -> str:
        """What sshd has logged so far."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    # -- internals -------------------------------------------------------------------------

    def _config_text(self) -> str:
        lines = [
            f"ListenAddress {self.host}",
            f"Port {self.port}",
            f"HostKey {self._host_key}",
            f"PidFile {self._server_dir / 'sshd.pid'}",
            f"AuthorizedKeysFile {self._authorized_keys}",
            f"AllowUsers {self.user} root" if os.geteuid() == 0 else f"AllowUsers {self.user}",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            "StrictModes no",
            "PermitRootLogin prohibit-password",
            "UseDNS no",
            "PrintMotd no",
            "PrintLastLog no",
            "X11Forwarding no",
            "AllowTcpForwarding no",
            "Subsystem sftp internal-sftp",
            "LogLevel VERBOSE",
            "MaxStartups 200",
            "MaxSessions 100",
            "MaxAuthTries 20",
            "LoginGraceTime 30",
        ]
        if _openssh_version(self.sshd) >= (9, 8):
            # Killed sessions count as crashes and would lock 127.0.0.1 out for 90 seconds.
            lines.append("PerSourcePenalties no")
        return "\n".join(lines) + "\n"

    def _known_hosts_line(self, host_key: Path) -> str:
        key_type, key_data = _public(host_key).split()[:2]
        return f"[{self.host}]:{self.port} {key_type} {key_data}\n"

    def _launch(self) -> bool:
        """Start sshd on self.port; False if the port was taken, RuntimeError on other failures."""
        assert self._base is not None
        self.log.write_text("")
        out = (self._server_dir / "sshd.out").open("wb")
        with out:
            process = subprocess.Popen(
                [str(self.sshd), "-D", "-f", str(self._config), "-E", str(self.log)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self._process = process
        listening = f"Server listening on {self.host} port {self.port}"
        deadline = time.monotonic() + START_TIMEOUT
        delay = 0.005
        while time.monotonic() < deadline:
            if process.poll() is not None:
                self._process = None
                if "Address already in use" in self.log_text():
                    return False
                self._fail(f"sshd exited with status {process.returncode}")
            if listening in self.log_text() and _accepts(self.host, self.port):
                return True
            time.sleep(delay)
            delay = min(delay * 2, 0.1)
        self._fail(f"sshd did not accept connections on {self.host}:{self.port}")

    def _fail(self, reason: str) -> NoReturn:
        output = ""
        if self._base is not None:
            out = self._server_dir / "sshd.out"
            output = out.read_text(errors="replace") if out.exists() else ""
        message = f"{reason}\n--- sshd log ---\n{self.log_text()}--- sshd output ---\n{output}"
        self.stop()
        raise RuntimeError(message)


def _current_user() -> str:
    return pwd.getpwuid(os.geteuid()).pw_name


def _ids(user: str) -> tuple[int, int]:
    entry = pwd.getpwnam(user)
    return entry.pw_uid, entry.pw_gid


def _ensure_user(user: str) -> str:
    """Create the non-root web user if it does not exist; make sure sshd lets it log in."""
    try:
        pwd.getpwnam(user)
    except KeyError:
        result = subprocess.run(
            ["useradd", "-m", "-s", "/bin/sh", user], capture_output=True, text=True
        )
        # 9: created meanwhile by a concurrent run.
        if result.returncode not in (0, 9):
            raise RuntimeError(f"useradd {user} failed: {result.stderr.strip()}") from None
    # useradd leaves the password "!" (locked), and without PAM sshd refuses locked accounts
    # even for public keys. "*" is no valid password but is not "locked".
    subprocess.run(["usermod", "-p", "*", "-s", "/bin/sh", user], check=True, capture_output=True)
    return user


def _private_dir(path: Path) -> Path:
    path.mkdir(mode=0o700)
    return path


def _keygen(path: Path, comment: str) -> Path:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True,
        capture_output=True,
    )
    return path


def _public(private_key: Path) -> str:
    return Path(f"{private_key}.pub").read_text().strip()


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _accepts(host: str, port: int) -> bool:
    """True when something on host:port answers with an SSH banner."""
    try:
        with socket.create_connection((host, port), timeout=1) as sock:
            return sock.recv(4).startswith(b"SSH-")
    except OSError:
        return False


def _openssh_version(sshd: Path) -> tuple[int, int]:
    # Older sshd have no -V, but print the version in the usage text they show instead.
    result = subprocess.run([str(sshd), "-V"], capture_output=True, text=True)
    found = re.search(r"OpenSSH_(\d+)\.(\d+)", result.stdout + result.stderr)
    return (int(found.group(1)), int(found.group(2))) if found else (0, 0)


def _descendants(root_pid: int) -> list[int]:
    """Every live process below root_pid, found through /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat_line = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses; the fields follow the last ")".
        ppid = int(stat_line.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found: list[int] = []
    pending = [root_pid]
    while pending:
        for child in children.get(pending.pop(), []):
            found.append(child)
            pending.append(child)
    return found


def _running(pid: int) -> bool:
    """True while pid exists and is not a zombie."""
    try:
        stat_line = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat_line.rsplit(")", 1)[1].split()[0] != "Z"


def _force_rmtree(path: Path) -> None:
    """Remove a tree even where tests left directories without permissions, or paths
    past PATH_MAX (GNU find and rm work folder by folder; `-type d` never follows links)."""
    # "-exec ... ;" opens a folder up before find reads it (pre-order)
    subprocess.run(["find", str(path), "-type", "d", "!", "-perm", "-u=rwx", "-exec",
                    "chmod", "u+rwx", "{}", ";"], capture_output=True, check=False)
    subprocess.run(["rm", "-rf", "--one-file-system", str(path)], capture_output=True,
                   check=False)
    if path.exists():
        shutil.rmtree(path)
