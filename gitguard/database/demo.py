"""The demo's CMS database: where Debian's MariaDB is installed, a throwaway server in the
demo's folder holds the sample WordPress database, and the attacker changes it too."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

MARIADBD = Path("/usr/sbin/mariadbd")
INSTALL_DB = Path("/usr/bin/mariadb-install-db")
START_TIMEOUT = 60.0
NAME = "wordpress"
USER = "gitguard"
SPAM = ("<p>Situs slot gacor terpercaya, daftar judi online maxwin hari ini</p>"
        "<a href=\"https://slot88.example/\">slot88</a>")


def _client() -> str | None:
    return shutil.which("mariadb") or shutil.which("mysql")


def available() -> bool:
    """Whether this host can run the demo's database (mariadb-server and -client)."""
    return all(os.access(p, os.X_OK) for p in (MARIADBD, INSTALL_DB)) and _client() is not None


def _sql(socket: Path, text: str) -> None:
    client = _client()
    assert client is not None
    subprocess.run([client, "--no-defaults", f"--socket={socket}", "--user=root"],
                   input=text.encode(), check=True, capture_output=True, timeout=120)


@contextmanager
def sample_database(work: Path) -> Iterator[str | None]:
    """A server with the sample database for the demo's run, always stopped afterwards;
    yields the config's `[sites.sample.database]` table (None without MariaDB)."""
    if not available():
        yield None
        return
    base = work / "mariadb"
    socket = base / "mysqld.sock"
    user = ["--user=root"] if os.geteuid() == 0 else []
    process: subprocess.Popen[bytes] | None = None
    try:
        base.mkdir(parents=True, exist_ok=True)
        subprocess.run([str(INSTALL_DB), "--no-defaults", f"--datadir={base / 'data'}",
                        "--auth-root-authentication-method=normal", "--skip-test-db", *user],
                       check=True, capture_output=True, timeout=START_TIMEOUT)
        with (base / "mariadbd.log").open("wb") as log:
            process = subprocess.Popen(
                [str(MARIADBD), "--no-defaults", f"--datadir={base / 'data'}",
                 f"--socket={socket}", "--skip-networking", "--skip-log-bin",
                 f"--pid-file={base / 'mariadbd.pid'}", "--innodb-buffer-pool-size=32M",
                 *user], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        # however the demo ends (killed too), the server does not outlive it
        subprocess.Popen(["/bin/sh", "-c", f"while kill -0 {os.getpid()} 2>/dev/null; do "
                          f"sleep 1; done; kill -TERM -{process.pid} 2>/dev/null"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        while not socket.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"mariadbd did not start (see {base / 'mariadbd.log'})")
            time.sleep(0.2)
        password = "demo-" + os.urandom(8).hex()
        sample = resources.files("gitguard").joinpath("sample", "database")
        _sql(socket, f"CREATE DATABASE {NAME} CHARACTER SET utf8mb4; "
                     f"CREATE USER '{USER}'@'localhost' IDENTIFIED BY '{password}'; "
                     f"GRANT SELECT, INSERT, UPDATE, DELETE ON {NAME}.* TO '{USER}'@'localhost';"
                     f"USE {NAME};\n" + sample.joinpath("schema.sql").read_text("utf-8")
                     + sample.joinpath("data.sql").read_text("utf-8"))
        secret = work / "db-password"
        secret.write_text(password + "\n", encoding="utf-8")
        secret.chmod(0o600)
        yield (f'\n[sites.sample.database]\nname = "{NAME}"\nuser = "{USER}"\n'
               f'password_file = "db-password"\nsocket = "{socket}"\n')
    finally:
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def attack(work: Path) -> None:
    """What the attacker does in the database: a spam post with the stolen editor account,
    and the site's address moved."""
    _sql(work / "mariadb" / "mysqld.sock", f"""USE {NAME};
        INSERT INTO wp_posts (ID, post_author, post_content, post_title, post_excerpt,
          post_status, post_name, to_ping, pinged, post_content_filtered, post_type)
          VALUES (66, 2, '{SPAM}', 'Slot gacor', '', 'publish', 'slot-gacor', '', '', '', 'post');
        UPDATE wp_options SET option_value = 'https://slot88.example' WHERE option_name = 'home';
    """)
