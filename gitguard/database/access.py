"""Open a session on a site's database: through its SSH connection (the server's own client)
or directly from this host; name, account and password from the config or the CMS's."""

from __future__ import annotations

import re
from dataclasses import dataclass

from gitguard.config import Site, SshSource
from gitguard.database.client import LocalPipe, Session, SshPipe, client_args
from gitguard.database.errors import DatabaseError
from gitguard.database.settings import DEFAULT_SOCKET, Database
from gitguard.errors import GitguardError
from gitguard.remote.base import Remote

CMS_CONFIG_LIMIT = 1 << 20  # bytes of wp-config.php read: a bigger one is not a config
_DEFINE = re.compile(rb"""define\s*\(\s*['"](DB_NAME|DB_USER|DB_PASSWORD|DB_HOST)['"]\s*,\s*"""
                     rb"""(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\$]|\\.)*)")\s*\)""")
_PREFIX = re.compile(rb"""\$table_prefix\s*=\s*['"]([A-Za-z0-9_]{1,32})['"]\s*;""")
# SET NAMES: the client connects as binary (it prints faster); every answer is utf8mb4
SESSION_SETUP = ("SET NAMES utf8mb4; SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO'; "
                 "SET SESSION net_write_timeout = 600; "
                 "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")


@dataclass(frozen=True)
class Account:
    """Where and as whom to log in: the config's values, or the CMS config's."""

    name: str
    user: str
    password: str
    socket: str | None
    host: str | None
    port: int
    prefix: str | None  # the CMS's table prefix, when its config said


def cms_account(db: Database, text: bytes, where: str) -> Account:
    """The account a wp-config.php names (the config's own values win)."""
    found: dict[str, str] = {}
    for match in _DEFINE.finditer(text):
        raw = match.group(2) if match.group(2) is not None else match.group(3)
        found[match.group(1).decode()] = re.sub(rb"\\(.)", rb"\1", raw).decode(
            "utf-8", "replace")
    missing = [k for k in ("DB_NAME", "DB_USER", "DB_PASSWORD") if k not in found]
    if missing:
        raise DatabaseError(f"{where}: {db.from_cms} does not define {', '.join(missing)} "
                            "as plain strings")
    prefix = _PREFIX.search(text)
    socket, host, port = db.socket, db.host, db.port
    if socket is None and host is None:
        socket, host, port = _cms_host(found.get("DB_HOST", "localhost"), port)
    password = found["DB_PASSWORD"] if db.password_file is None else db.password()
    return Account(name=db.name or found["DB_NAME"], user=db.user or found["DB_USER"],
                   password=password, socket=socket, host=host, port=port,
                   prefix=prefix.group(1).decode() if prefix else None)


def _cms_host(value: str, port: int) -> tuple[str | None, str | None, int]:
    """WordPress's DB_HOST: 'localhost', 'localhost:/path.sock', 'host' or 'host:port'."""
    host, _, rest = value.partition(":")
    if rest.startswith("/"):
        return rest, None, port
    if host in ("", "localhost") and not rest:
        return DEFAULT_SOCKET, None, port
    if rest.isdigit() and 0 < int(rest) < 65536:
        return None, host, int(rest)
    return None, host, port


def account(site: Site, remote: Remote | None) -> Account:
    """The account of a site's database, reading the CMS config on the server when asked."""
    db = site.database
    assert db is not None
    where = "database"
    if db.from_cms is None:
        assert db.name is not None and db.user is not None
        return Account(name=db.name, user=db.user, password=db.password(), socket=db.socket,
                       host=db.host, port=db.port, prefix=None)
    if remote is None:
        raise DatabaseError(f"{where}: from_cms needs the site's files")
    try:
        text = b""
        for content in remote.read([db.from_cms]):
            if content.size > CMS_CONFIG_LIMIT:
                raise DatabaseError(f"{where}: {db.from_cms} is {content.size} bytes: not a "
                                    "CMS config")
            text = b"".join(content.chunks)
    except DatabaseError:
        raise
    except GitguardError as exc:
        raise DatabaseError(f"{where}: cannot read {db.from_cms}: {exc}") from None
    if not text:
        raise DatabaseError(f"{where}: {db.from_cms} is missing or empty on the server")
    return cms_account(db, text, where)


def open_session(site: Site, remote: Remote | None, acc: Account) -> Session:
    """A session on the database, with gitguard's session settings."""
    db = site.database
    assert db is not None
    where = f"database {acc.name}"
    args = client_args(acc.user, acc.name, acc.socket, acc.host, acc.port)
    transport = getattr(remote, "transport", None)
    if db.direct or not isinstance(site.source, SshSource):
        session = Session(LocalPipe(args, acc.password, where), where)
    elif transport is None:
        raise DatabaseError(f"{where}: the site's SSH connection is not open")
    else:
        session = Session(SshPipe(transport, args, acc.password, where), where)
    try:
        session.run(SESSION_SETUP)
    except BaseException:
        session.close()
        raise
    return session
