"""Talk to the CMS database through its own client tool (`mariadb`, else `mysql`), run on the
server over the site's SSH connection or here for a direct address: SQL in, one line per
result row out, every answer bounded in size and time."""

from __future__ import annotations

import contextlib
import os
import secrets
import selectors
import shlex
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, NoReturn, Protocol

from gitguard.database.errors import DatabaseError

if TYPE_CHECKING:
    import paramiko  # only a site reached over SSH loads it
from gitguard.model import printable

STALL = 120.0  # seconds the client may go without a byte either way
POLL = 1.0
MAX_LINE = 256 << 20  # bytes of one row line: above max_allowed_packet's usual ceiling
MAX_OUTPUT = 64 << 30  # bytes of one session's answers: an endless answer is refused
MAX_STDERR = 64 << 10
READ_SIZE = 64 << 10  # a pipe's size: a bigger read allocates (and faults in) more
CLIENTS = ("mariadb", "mysql")
NO_CLIENT = 127


class Pipe(Protocol):
    """A running client: its stdin, stdout and stderr."""

    def send(self, data: bytes) -> None:
        """All of data to stdin."""

    def recv(self, size: int) -> bytes:
        """Up to size bytes of stdout, b"" at its end; TimeoutError when none came in POLL."""

    def stderr(self) -> bytes:
        """What the client said on stderr so far."""

    def close(self) -> None:
        """End the client."""


def client_args(user: str, name: str, socket: str | None, host: str | None,
                port: int) -> list[str]:
    """The client's options: no option files, escaped batch output, the account (the
    session's first statement, SESSION_SETUP, makes the server answer in utf8mb4)."""
    where = [f"--socket={socket}"] if socket else [f"--host={host}", f"--port={port}",
                                                    "--protocol=TCP"]
    # --batch without --raw: the client escapes NUL, tab, newline and backslash in each
    # value, so one output line is one row, formatted in C, not in SQL.
    # --quick: rows are printed as they come, never the whole answer held in the client.
    # binary: the client prints without asking its character set about every byte (a
    # quarter of its CPU); the server still converts every answer to utf8mb4, and in UTF-8
    # the bytes escaped (all below 0x80) are never part of a longer character, so each
    # line is byte for byte what a utf8mb4 client prints.
    return ["--no-defaults", "--batch", "--quick", "--skip-column-names", "--unbuffered",
            "--default-character-set=binary", "--connect-timeout=20", f"--user={user}",
            f"--database={name}", *where]


def _ssh_error() -> type[Exception]:
    """paramiko's error where paramiko is loaded (a site over SSH), else OSError again."""
    import sys

    module = sys.modules.get("paramiko")
    return module.SSHException if module is not None else OSError


class LocalPipe:
    """The client run on this host (a direct address), the password in its environment."""

    def __init__(self, args: list[str], password: str, where: str) -> None:
        client = next((found for c in CLIENTS if (found := shutil.which(c))), None)
        if client is None:
            raise DatabaseError(f"{where}: no mariadb or mysql client on this host (install "
                                "mariadb-client)")
        env = {**os.environ, "MYSQL_PWD": password}
        self.process = subprocess.Popen([client, *args], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        assert self.process.stdout is not None and self.process.stderr is not None
        self._out = self.process.stdout.fileno()
        os.set_blocking(self._out, False)
        self._select = selectors.DefaultSelector()
        self._select.register(self._out, selectors.EVENT_READ)
        self._err = bytearray()
        self._err_thread = threading.Thread(target=self._drain_stderr, daemon=True)
        self._err_thread.start()

    def _drain_stderr(self) -> None:
        assert self.process.stderr is not None
        while data := os.read(self.process.stderr.fileno(), 1 << 14):
            if len(self._err) < MAX_STDERR:
                self._err += data

    def send(self, data: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def recv(self, size: int) -> bytes:
        if not self._select.select(POLL):
            raise TimeoutError
        try:
            return os.read(self._out, size)
        except BlockingIOError:
            raise TimeoutError from None

    def stderr(self) -> bytes:
        self._err_thread.join(timeout=POLL)
        return bytes(self._err)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self._select.close()
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


class SshPipe:
    """The server's own client, run over the site's SSH connection; the password goes in
    on stdin (never on a command line the server's `ps` shows)."""

    def __init__(self, transport: paramiko.Transport, args: list[str], password: str,
                 where: str) -> None:
        quoted = " ".join(shlex.quote(a) for a in args)
        tries = "; ".join(f"command -v {c} >/dev/null 2>&1 && exec {c} {quoted}"
                          for c in CLIENTS)
        command = ("IFS= read -r p || exit 1; MYSQL_PWD=$p; export MYSQL_PWD; "
                   f"{tries}; echo 'no mariadb or mysql client on the server' >&2; "
                   f"exit {NO_CLIENT}")
        try:
            self.chan = transport.open_session(timeout=20)
            self.chan.settimeout(POLL)
            self.chan.exec_command(command)
        except (OSError, EOFError, _ssh_error()) as exc:
            raise DatabaseError(f"{where}: cannot run the database client over SSH: "
                                f"{exc}") from None
        self._err = bytearray()
        self.send(password.encode("utf-8") + b"\n")

    def send(self, data: bytes) -> None:
        self.chan.sendall(data)

    def recv(self, size: int) -> bytes:
        while self.chan.recv_stderr_ready() and len(self._err) < MAX_STDERR:
            self._err += self.chan.recv_stderr(1 << 14)
        data: bytes = self.chan.recv(size)
        return data

    def stderr(self) -> bytes:
        deadline = time.monotonic() + POLL
        while time.monotonic() < deadline and not self.chan.exit_status_ready():
            time.sleep(0.05)
        while self.chan.recv_stderr_ready() and len(self._err) < MAX_STDERR:
            self._err += self.chan.recv_stderr(1 << 14)
        return bytes(self._err)

    def close(self) -> None:
        self.chan.close()


class Session:
    """One client session: statements in, the one-column rows of their answers out."""

    def __init__(self, pipe: Pipe, where: str) -> None:
        self.pipe = pipe
        self.where = where
        self._read = 0
        self._writer: threading.Thread | None = None
        self._write_error: BaseException | None = None

    def _write(self, data: bytes) -> None:
        """Feed stdin from a thread, so a long answer never blocks a long question."""
        self._join()

        def feed() -> None:
            try:
                self.pipe.send(data)
            except (OSError, EOFError, _ssh_error()) as exc:
                self._write_error = exc

        self._writer = threading.Thread(target=feed, daemon=True)
        self._writer.start()

    def _join(self) -> None:
        if self._writer is not None:
            self._writer.join(STALL)
            self._writer = None

    def rows(self, sql: str) -> Iterator[bytes]:
        """Run statements; yield each output line (without its newline) up to their end."""
        for block in self.blocks(sql):
            yield from block

    def blocks(self, sql: str) -> Iterator[list[bytes]]:
        """Run statements; yield their output lines as they arrive, many at a time."""
        marker = b"gitguard-end-" + secrets.token_hex(12).encode()
        self._write(sql.encode("utf-8") + b";\nSELECT '" + marker + b"';\n")
        last = time.monotonic()
        pending: list[bytes] = []  # a line not yet ended: joined once its newline comes
        size = 0
        while True:
            try:
                data = self.pipe.recv(READ_SIZE)
            except TimeoutError:
                if time.monotonic() - last > STALL:
                    self.fail(f"no answer for {STALL:.0f} s (stalled or hostile)")
                continue
            if not data:
                raise self.ended()
            last = time.monotonic()
            self._read += len(data)
            if self._read > MAX_OUTPUT:
                self.fail(f"an answer of more than {MAX_OUTPUT >> 30} GB")
            pending.append(data)
            size += len(data)
            if size > MAX_LINE:
                self.fail(f"a row of more than {MAX_LINE >> 20} MB")
            if b"\n" not in data:
                continue  # a long row: its pieces are kept, never copied again until it ends
            lines = b"".join(pending).split(b"\n")
            rest = lines.pop()
            pending, size = [rest], len(rest)
            if lines and lines[-1] == marker:
                lines.pop()
                if rest:
                    self.fail("an answer after its end")
                if lines:
                    yield lines
                self._join()
                return
            if lines:
                yield lines

    def run(self, sql: str) -> None:
        """Run statements that answer nothing."""
        for line in self.rows(sql):
            self.fail(f"an unexpected answer: {printable(line[:80].decode('utf-8', 'replace'))}")

    def ended(self) -> DatabaseError:
        """The error for a client that ended before its answer: its own message."""
        err = self.pipe.stderr().decode("utf-8", "replace").strip().splitlines()
        said = next((line for line in err if line.startswith("ERROR")), err[0] if err else "")
        return DatabaseError(f"{self.where}: {printable(said) or 'the client ended early'}")

    def fail(self, why: str) -> NoReturn:
        """Give up on the session with one line."""
        self.close()
        raise DatabaseError(f"{self.where}: {why}; gave up")

    def close(self) -> None:
        """End the client."""
        self.pipe.close()
