"""A real MariaDB server for the tests: Debian's mariadbd, unprivileged, in a temporary folder.

No system service: `mariadb-install-db` makes a data folder under /var/tmp (world-traversable,
so the sshd fixture's web user reaches the socket), `mariadbd` serves it on that socket and on
a free port of 127.0.0.1, and `stop` kills it and removes everything. As root the server runs
with `--user=root` (it refuses root otherwise); as anyone else, as that user.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

MARIADBD = Path("/usr/sbin/mariadbd")
INSTALL_DB = Path("/usr/bin/mariadb-install-db")
CLIENT = Path("/usr/bin/mariadb")
BASE_DIR = Path("/var/tmp")
HOST = "127.0.0.1"
START_TIMEOUT = 60.0
QUERY_TIMEOUT = 120.0
READER = "gitguard"  # read-only account: backup and audit
WRITER = "gitguard_rw"  # with write rights: restore
READER_PASSWORD = "baca-saja 'rahasia\" 1"
WRITER_PASSWORD = "tulis\\rahasia $2"


class MariaDb:
    """One mariadbd process with a root account on its socket and two gitguard accounts."""

    def __init__(self) -> None:
        self.base: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0

    def start(self) -> MariaDb:
        """Create the data folder, start the server, wait until it answers, add accounts."""
        for tool in (MARIADBD, INSTALL_DB, CLIENT):
            if not os.access(tool, os.X_OK):
                raise RuntimeError(f"{tool} not found: install mariadb-server and "
                                   "mariadb-client (scripts/setup.sh --test)")
        try:
            self.base = Path(tempfile.mkdtemp(prefix="gitguard-mariadb-", dir=BASE_DIR))
            self.base.chmod(0o755)
            self.data = self.base / "data"
            self.socket = self.base / "mysqld.sock"
            user = ["--user=root"] if os.geteuid() == 0 else []
            subprocess.run([str(INSTALL_DB), "--no-defaults", f"--datadir={self.data}",
                            "--auth-root-authentication-method=normal", "--skip-test-db",
                            *user], check=True, capture_output=True, timeout=START_TIMEOUT)
            self.port = _free_port()
            self.log = self.base / "mariadbd.log"
            with self.log.open("wb") as out:
                self.process = subprocess.Popen(
                    [str(MARIADBD), "--no-defaults", f"--datadir={self.data}",
                     f"--socket={self.socket}", f"--port={self.port}", f"--bind-address={HOST}",
                     f"--pid-file={self.base / 'mariadbd.pid'}", "--skip-log-bin",
                     "--innodb-buffer-pool-size=256M", "--innodb-log-file-size=64M",
                     "--innodb-flush-log-at-trx-commit=2", "--max-allowed-packet=64M",
                     "--skip-name-resolve", *user],
                    stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
            self._watch()
            deadline = time.monotonic() + START_TIMEOUT
            while not self._answers():
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("mariadbd did not start:\n"
                                       + self.log.read_text(errors="replace")[-3000:])
                time.sleep(0.2)
            self.sql(f"""
                CREATE USER '{READER}'@'localhost' IDENTIFIED BY {quote(READER_PASSWORD)};
                CREATE USER '{READER}'@'127.0.0.1' IDENTIFIED BY {quote(READER_PASSWORD)};
                CREATE USER '{WRITER}'@'localhost' IDENTIFIED BY {quote(WRITER_PASSWORD)};
                CREATE USER '{WRITER}'@'127.0.0.1' IDENTIFIED BY {quote(WRITER_PASSWORD)};
            """)
        except BaseException:
            self.stop()
            raise
        return self

    def _watch(self) -> None:
        """A watchdog that kills the server and removes its folder once this process is
        gone, however it ended (a test run killed by a timeout never reaches `stop`)."""
        assert self.process is not None and self.base is not None
        script = (f"while kill -0 {os.getpid()} 2>/dev/null; do sleep 1; done; "
                  f"kill -TERM -{self.process.pid} 2>/dev/null; sleep 10; "
                  f"kill -KILL -{self.process.pid} 2>/dev/null; rm -rf {self.base}")
        subprocess.Popen(["/bin/sh", "-c", script], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)

    def _answers(self) -> bool:
        done = subprocess.run(self._client(), input=b"SELECT 1;", capture_output=True,
                              timeout=10, check=False)
        return done.returncode == 0

    def _client(self, database: str | None = None) -> list[str]:
        return [str(CLIENT), "--no-defaults", f"--socket={self.socket}", "--user=root",
                "--batch", "--skip-column-names", "--default-character-set=utf8mb4",
                *([f"--database={database}"] if database else [])]

    def sql(self, text: str, database: str | None = None) -> str:
        """Run SQL as root; its output (tab-separated rows)."""
        done = subprocess.run(self._client(database), input=text.encode(), capture_output=True,
                              timeout=QUERY_TIMEOUT, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"mariadb failed: {done.stderr.decode(errors='replace')}")
        return done.stdout.decode()

    def create_database(self, name: str, writer: bool = True) -> None:
        """A fresh database the reader may read (and the writer write)."""
        grants = f"GRANT SELECT, SHOW VIEW ON `{name}`.* TO '{READER}'@'localhost';" \
                 f"GRANT SELECT, SHOW VIEW ON `{name}`.* TO '{READER}'@'127.0.0.1';"
        if writer:
            grants += (f"GRANT SELECT, INSERT, UPDATE, DELETE ON `{name}`.* "
                       f"TO '{WRITER}'@'localhost';"
                       f"GRANT SELECT, INSERT, UPDATE, DELETE ON `{name}`.* "
                       f"TO '{WRITER}'@'127.0.0.1';")
        self.sql(f"DROP DATABASE IF EXISTS `{name}`; CREATE DATABASE `{name}` "
                 f"CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci; {grants}")

    def stop(self) -> None:
        """Kill the server and remove its folder."""
        if self.process is not None:
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGTERM)
                try:
                    self.process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(self.process.pid, signal.SIGKILL)
                    self.process.wait(timeout=10)
            self.process = None
        if self.base is not None:
            shutil.rmtree(self.base, ignore_errors=True)
            self.base = None

    def down(self) -> None:
        """Stop the server but keep its data (`up` starts it again)."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=30)

    def __enter__(self) -> MariaDb:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def quote(text: str) -> str:
    """A SQL string literal (backslashes and quotes escaped, as the default sql_mode reads)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port
