"""A site's `[sites.NAME.database]` table: how its CMS database is reached, validated."""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from gitguard.errors import ConfigError

ENGINES = ("mariadb", "mysql")
DEFAULT_SOCKET = "/run/mysqld/mysqld.sock"
PASSWORD_ENV = "GITGUARD_DB_PASSWORD"
# Names go into the client's command line and SQL: plain identifiers only.
_NAME = re.compile(r"^[A-Za-z0-9_$][A-Za-z0-9_$.-]{0,79}$")
_PLAIN = re.compile(r"^[^\x00-\x1f\x7f]{1,4096}$")
KEYS = {"engine", "name", "user", "password_file", "socket", "host", "port", "direct",
        "from_cms", "exclude_tables"}
# Left out whatever the config says: rows that change on every page view or login, and
# caches the CMS rebuilds. `{p}` is the table prefix the CMS uses.
CMS_EXCLUDES = ("{p}statistics_*", "{p}wfhits", "{p}wflivetraffic*", "{p}wflogins",
                "{p}actionscheduler_logs", "{p}*_log", "{p}*_logs", "{p}sessions",
                "{p}woocommerce_sessions", "{p}redirection_404", "{p}yoast_seo_links",
                "{p}litespeed_*", "{p}wc_rate_limits", "{p}cache*", "{p}*_cache")


@dataclass(frozen=True)
class Database:
    """How a site's CMS database is reached; the password is read when it is needed."""

    engine: str
    name: str | None  # None with from_cms until the CMS config is read
    user: str | None
    password_file: Path | None
    socket: str | None
    host: str | None
    port: int
    direct: bool  # reached from the monitoring host, not through the site's SSH
    from_cms: str | None  # e.g. "wp-config.php", relative to the docroot
    exclude_tables: tuple[str, ...]

    def password(self) -> str:
        """The password: the file (owner-only), else $GITGUARD_DB_PASSWORD."""
        if self.password_file is not None:
            try:
                mode = self.password_file.stat().st_mode
                if mode & 0o077:
                    raise ConfigError(f"database password_file {self.password_file} is readable "
                                      "by others: chmod 600 it")
                text = self.password_file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise ConfigError(f"database password_file {self.password_file}: "
                                  f"{exc}") from None
            return text.splitlines()[0] if text else ""
        value = os.environ.get(PASSWORD_ENV)
        if value is None:
            raise ConfigError(f"database: no password_file and ${PASSWORD_ENV} is not set")
        return value


def excluded(table: str, patterns: tuple[str, ...], prefix: str | None) -> bool:
    """Whether a table is left out: by the config's patterns, or the CMS defaults."""
    defaults = tuple(p.format(p=prefix) for p in CMS_EXCLUDES) if prefix is not None else ()
    return any(fnmatchcase(table, p) for p in patterns + defaults)


def parse(check: Any, data: Any, site_key: str) -> Database | None:
    """The database table of a site, every mistake added to the checker (config.py's)."""
    if data is None:
        return None
    key = f"{site_key}.database"
    data = check.table(data, key)
    for secret in ("password", "pass", "passwd"):
        if secret in data:
            check.errors.append(f"{key}.{secret}: a password never goes in this file: use "
                                f"password_file (mode 0600) or ${PASSWORD_ENV}")
            data = {k: v for k, v in data.items() if k != secret}
    check.unknown(data, key, KEYS)
    engine = check.string(data, key, "engine", choices=ENGINES, default="mariadb")
    from_cms = check.string(data, key, "from_cms")
    if from_cms is not None and (from_cms.startswith("/") or ".." in from_cms.split("/")
                                 or not _PLAIN.match(from_cms)):
        check.errors.append(f"{key}.from_cms: a path inside the docroot, e.g. 'wp-config.php'")
    name = check.string(data, key, "name", required=from_cms is None)
    user = check.string(data, key, "user", required=from_cms is None)
    for field, value in (("name", name), ("user", user)):
        if value is not None and not _NAME.match(value):
            check.errors.append(f"{key}.{field}: {value!r}: letters, digits, '_', '$', '.' "
                                "and '-' only")
    password_file = check.path(data, key, "password_file")
    if password_file is not None:
        try:
            mode = password_file.stat().st_mode
            if not stat.S_ISREG(mode):
                check.errors.append(f"{key}.password_file: {password_file} is not a file")
            elif mode & 0o077:
                check.errors.append(f"{key}.password_file: {password_file} is readable by "
                                    "others (mode {:04o}): chmod 600 it".format(mode & 0o7777))
        except OSError:
            check.errors.append(f"{key}.password_file: {password_file} does not exist")
    socket = check.string(data, key, "socket")
    host = check.string(data, key, "host")
    if socket is not None and host is not None:
        check.errors.append(f"{key}: socket and host: choose one")
    for field, value in (("socket", socket), ("host", host)):
        if value is not None and not _PLAIN.match(value):
            check.errors.append(f"{key}.{field}: control characters are not allowed")
    if socket is not None and not socket.startswith("/"):
        check.errors.append(f"{key}.socket: an absolute path on the server")
    port = check.integer(data, key, "port", 3306, 1, 65535)
    direct = check.boolean(data, key, "direct", False)
    if "port" in data and host is None:
        check.errors.append(f"{key}.port: only with host")
    if socket is None and host is None and from_cms is None:
        socket = DEFAULT_SOCKET
    exclude = check.strings(data, key, "exclude_tables")
    return Database(engine=engine or "mariadb", name=name, user=user,
                    password_file=password_file, socket=socket, host=host, port=port,
                    direct=direct, from_cms=from_cms, exclude_tables=exclude)
