"""TOML configuration -> typed, validated dataclasses. Every mistake names its key."""

from __future__ import annotations

import base64
import binascii
import os
import re
import subprocess
import tomllib
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gitguard.database.settings import Database
from gitguard.database.settings import parse as parse_database
from gitguard.errors import ConfigError
from gitguard.look.settings import LookSettings
from gitguard.look.settings import parse as parse_look
from gitguard.model import printable
from gitguard.policy import compile_glob

ROLES = ("kabag", "kasubbag", "staf")
APPROVER_ROLES = ("kabag", "kasubbag")
LANGUAGES = ("id", "en")
SITE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
# The fields after the type name in each kind of public key blob (RFC 4253, 5656, PROTOCOL.u2f).
KEY_FIELDS = {"ssh-ed25519": 1, "ssh-rsa": 2, "ecdsa-sha2-nistp256": 2, "ecdsa-sha2-nistp384": 2,
              "ecdsa-sha2-nistp521": 2, "sk-ssh-ed25519@openssh.com": 2,
              "sk-ecdsa-sha2-nistp256@openssh.com": 3}
DEFAULT_MAX_FILE_SIZE = 2 << 30
_SIZE = re.compile(r"^(\d+)\s*([kmgt]i?b|b)?$", re.IGNORECASE)
_SIZE_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
               "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40}


@dataclass(frozen=True)
class LocalSource:
    """A docroot on this host or a mount."""

    path: Path

    def __str__(self) -> str:
        return str(self.path)


@dataclass(frozen=True)
class SshSource:
    """A docroot reached over SSH."""

    user: str
    host: str
    port: int
    path: str

    def __str__(self) -> str:
        return f"ssh://{self.user}@{self.host}:{self.port}{self.path}"


Source = LocalSource | SshSource


@dataclass(frozen=True)
class Person:
    """Someone named in the procedure: kabag, kasubbag or staf."""

    key: str
    name: str
    role: str
    email: str | None
    signing_key: str | None

    @property
    def is_approver(self) -> bool:
        """Whether this person's signature makes a state approved."""
        return self.role in APPROVER_ROLES and self.signing_key is not None


@dataclass(frozen=True)
class Site:
    """One website gitguard guards."""

    name: str
    source: Source
    identity_file: Path | None
    known_hosts: Path | None
    urls: tuple[str, ...]
    exclude: tuple[str, ...]
    allow_new: tuple[str, ...]
    schedule: str | None
    remotes: tuple[str, ...]
    max_file_size: int = DEFAULT_MAX_FILE_SIZE  # bytes; a larger file is reported, not kept
    look: LookSettings = field(default_factory=LookSettings)  # [sites.NAME.look]
    database: Database | None = None  # [sites.NAME.database]: the CMS database


@dataclass(frozen=True)
class Notify:
    """How reports are delivered."""

    smtp_host: str | None
    smtp_port: int
    smtp_security: str  # starttls | tls | none
    smtp_from: str | None
    smtp_credentials_file: Path | None
    apprise: tuple[str, ...]
    on_critical: bool
    activity_schedule: str | None
    retries: int


@dataclass(frozen=True)
class Config:
    """The whole, validated configuration."""

    path: Path
    data_dir: Path
    language: str
    timezone: ZoneInfo
    people: Mapping[str, Person]
    sites: Mapping[str, Site]
    notify: Notify
    jobs: int = 2  # sites checked at once when several are (`--jobs`, `gitguard run`)
    site_timeout: int = 1800  # seconds one site's job may take before it is stopped

    def site(self, name: str) -> Site:
        """The named site, or a ConfigError naming the known ones."""
        try:
            return self.sites[name]
        except KeyError:
            known = ", ".join(sorted(self.sites)) or "none"
            raise ConfigError(f"unknown site {name!r} (configured: {known})") from None

    def select(self, names: list[str] | None) -> list[Site]:
        """The named sites, or all of them when no name is given."""
        if not names:
            return [self.sites[n] for n in sorted(self.sites)]
        return [self.site(n) for n in names]

    def repo_path(self, site: Site) -> Path:
        """Where the site's bare repository lives."""
        return self.data_dir / f"{site.name}.git"

    @property
    def approvers(self) -> list[Person]:
        """The people whose signatures count."""
        return [p for p in self.people.values() if p.is_approver]


def default_path() -> Path:
    """-c FILE, else $GITGUARD_CONFIG, else ./gitguard.toml (the caller handles -c)."""
    return Path(os.environ.get("GITGUARD_CONFIG") or "gitguard.toml")


def parse_source(text: str, base: Path) -> Source:
    """An ssh:// URL or a local directory (relative to the config file)."""
    if "://" not in text:
        local = Path(text).expanduser()
        return LocalSource(local if local.is_absolute() else base / local)
    parts = urlsplit(text)
    if parts.scheme != "ssh":
        raise ValueError(f"unsupported scheme {parts.scheme!r}: use ssh:// or a local path")
    if not parts.hostname or not parts.username:
        raise ValueError("expected ssh://user@host[:port]/path")
    try:
        port = parts.port or 22
    except ValueError as exc:
        raise ValueError(f"bad port: {exc}") from None
    path = unquote(parts.path)
    if not path.startswith("/") or path == "/":
        raise ValueError("the docroot must be an absolute path other than /")
    return SshSource(unquote(parts.username), parts.hostname, port, path.rstrip("/") or "/")


def parse_size(value: object) -> int:
    """A size in bytes: a whole number, or text like '500 MB' or '2 GiB'."""
    if isinstance(value, int) and not isinstance(value, bool):
        size = value
    elif isinstance(value, str) and (m := _SIZE.match(value.strip())):
        size = int(m.group(1)) * _SIZE_UNITS[(m.group(2) or "b").lower()]
    else:
        raise ValueError(f"{value!r} is not a size: use bytes, or e.g. '500 MB', '2 GiB'")
    if not 1 <= size <= 1 << 44:
        raise ValueError(f"{value!r}: a size from 1 byte to 16 TiB")
    return size


def _ssh_strings(blob: bytes, pos: int = 0, count: int | None = None) -> tuple[list[bytes], int]:
    """Length-prefixed SSH strings from `pos`: `count` of them, or up to the end."""
    out: list[bytes] = []
    while pos < len(blob) and (count is None or len(out) < count):
        size = int.from_bytes(blob[pos:pos + 4], "big")
        if pos + 4 + size > len(blob):
            raise ValueError("cut short")
        out.append(blob[pos + 4:pos + 4 + size])
        pos += 4 + size
    if count is not None and len(out) < count:
        raise ValueError("cut short")
    return out, pos


def key_blob(line: str) -> bytes:
    """The binary public key of an OpenSSH public key line, checked whole."""
    parts = line.split()
    if len(parts) < 2 or parts[0] not in KEY_FIELDS:
        raise ValueError("expected an SSH public key line ('ssh-ed25519 AAAA... comment') of "
                         "type " + ", ".join(KEY_FIELDS))
    try:
        blob = base64.b64decode(parts[1], validate=True)
        fields, _ = _ssh_strings(blob)
    except (binascii.Error, ValueError):
        fields = []
    if (len(fields) != 1 + KEY_FIELDS[parts[0]] or fields[0] != parts[0].encode()
            or ("ed25519" in parts[0] and len(fields[1]) != 32)):
        raise ValueError(f"not a whole {parts[0]} key (damaged or cut short)")
    return blob


def login_keys(identity: Path) -> set[bytes]:
    """The public keys an identity file stands for: from the OpenSSH private key file itself
    (readable without its passphrase), from ssh-keygen -y for other formats, and its .pub."""
    found: set[bytes] = set()
    try:
        text = identity.read_text(encoding="ascii", errors="replace") if identity.is_file() else ""
    except OSError:
        return found
    if "BEGIN OPENSSH PRIVATE KEY" in text:
        try:
            body = "".join(text.split("-----")[2].split())
            blob = base64.b64decode(body, validate=True).removeprefix(b"openssh-key-v1\0")
            _, pos = _ssh_strings(blob, 0, 3)  # cipher, kdf, kdf options
            found.update(_ssh_strings(blob, pos + 4, int.from_bytes(blob[pos:pos + 4], "big"))[0])
        except (binascii.Error, ValueError, IndexError):
            pass
    elif text:
        with suppress(OSError, ValueError, subprocess.TimeoutExpired):
            found.add(key_blob(subprocess.run(
                ["ssh-keygen", "-y", "-P", "", "-f", str(identity)], capture_output=True,
                text=True, stdin=subprocess.DEVNULL, check=False, timeout=10).stdout))
    with suppress(OSError, ValueError):
        found.add(key_blob(Path(f"{identity}.pub").read_text(encoding="utf-8")))
    return found


class _Checker:
    """Collects every mistake so the user sees them all at once."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.errors: list[str] = []

    def table(self, data: Any, key: str) -> dict[str, Any]:
        if data is None:
            return {}
        if not isinstance(data, dict):
            self.errors.append(f"{key}: expected a table")
            return {}
        return data

    def unknown(self, data: dict[str, Any], key: str, allowed: set[str]) -> None:
        for name in sorted(set(data) - allowed):
            self.errors.append(f"{key}.{name}: unknown key (allowed: {', '.join(sorted(allowed))})")

    def string(self, data: dict[str, Any], key: str, name: str, *, required: bool = False,
               choices: tuple[str, ...] | None = None, default: str | None = None) -> str | None:
        value = data.get(name)
        if value is None:
            if required:
                self.errors.append(f"{key}.{name}: required")
            return default
        if not isinstance(value, str) or not value.strip():
            self.errors.append(f"{key}.{name}: expected a non-empty string")
            return default
        if choices and value not in choices:
            self.errors.append(f"{key}.{name}: {value!r} is not one of {', '.join(choices)}")
            return default
        return value

    def strings(self, data: dict[str, Any], key: str, name: str) -> tuple[str, ...]:
        value = data.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.errors.append(f"{key}.{name}: expected a list of non-empty strings")
            return ()
        return tuple(value)

    def globs(self, data: dict[str, Any], key: str, name: str,
              files: bool = False) -> tuple[str, ...]:
        patterns = self.strings(data, key, name)
        for pattern in patterns:
            compiled = self.convert(f"{key}.{name}", pattern, compile_glob)
            if files and compiled is not None and compiled[0] is None:
                self.errors.append(f"{key}.{name}: {pattern!r} names only folders, and this "
                                   "rule covers files by their own path (e.g. 'uploads/**/*.jpg')")
        return patterns

    def size(self, data: dict[str, Any], key: str, name: str, default: int) -> int:
        if name not in data:
            return default
        return self.convert(f"{key}.{name}", data[name], parse_size) or default

    def integer(self, data: dict[str, Any], key: str, name: str, default: int,
                low: int, high: int) -> int:
        value = data.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.errors.append(f"{key}.{name}: expected a whole number from {low} to {high}")
            return default
        return value

    def boolean(self, data: dict[str, Any], key: str, name: str, default: bool) -> bool:
        value = data.get(name, default)
        if not isinstance(value, bool):
            self.errors.append(f"{key}.{name}: expected true or false")
            return default
        return value

    def path(self, data: dict[str, Any], key: str, name: str, *, must_exist: bool = False,
             default: str | None = None) -> Path | None:
        text = self.string(data, key, name, default=default)
        if text is None:
            return None
        path = Path(text).expanduser()
        path = path if path.is_absolute() else self.base / path
        if must_exist and not path.exists():
            self.errors.append(f"{key}.{name}: {path} does not exist")
        return path

    def convert(self, key: str, value: Any, fn: Callable[[Any], Any]) -> Any:
        if value is None:
            return None
        try:
            return fn(value)
        except ValueError as exc:
            self.errors.append(f"{key}: {exc}")
            return None


def load(path: Path) -> Config:
    """Read, validate and normalise the configuration file."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {path} not found "
                          "(use -c FILE or $GITGUARD_CONFIG)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path}: TOML syntax: {exc}") from None
    return validate(raw, path.resolve())


def validate(raw: dict[str, Any], path: Path) -> Config:
    """Turn parsed TOML into a Config, or raise one ConfigError listing every mistake."""
    check = _Checker(path.parent)
    check.unknown(raw, "", {"gitguard", "people", "sites", "notify"})
    check.errors = [e.lstrip(".") for e in check.errors]

    main = check.table(raw.get("gitguard"), "gitguard")
    check.unknown(main, "gitguard", {"data_dir", "language", "timezone", "jobs", "site_timeout"})
    data_dir = check.path(main, "gitguard", "data_dir", default="gitguard-data")
    language = check.string(main, "gitguard", "language", choices=LANGUAGES, default="id")
    tz_name = check.string(main, "gitguard", "timezone", default="Asia/Jakarta") or "Asia/Jakarta"
    jobs = check.integer(main, "gitguard", "jobs", 2, 1, 64)
    site_timeout = check.integer(main, "gitguard", "site_timeout", 1800, 10, 86400)
    try:
        timezone = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        check.errors.append(f"gitguard.timezone: unknown time zone {tz_name!r}")
        timezone = ZoneInfo("UTC")

    people: dict[str, Person] = {}
    for name, data in check.table(raw.get("people"), "people").items():
        key = f"people.{name}"
        data = check.table(data, key)
        check.unknown(data, key, {"name", "role", "email", "signing_key"})
        signing_key = check.string(data, key, "signing_key")
        if signing_key is not None and check.convert(f"{key}.signing_key", signing_key,
                                                     key_blob) is None:
            signing_key = None
        email = check.string(data, key, "email")
        if email is not None and "@" not in email:
            check.errors.append(f"{key}.email: {email!r} is not an e-mail address")
        people[name] = Person(
            key=name,
            name=check.string(data, key, "name", required=True) or name,
            role=check.string(data, key, "role", required=True, choices=ROLES) or "staf",
            email=email,
            signing_key=signing_key.strip() if signing_key else None,
        )

    sites: dict[str, Site] = {}
    site_keys = {"source", "identity_file", "known_hosts", "urls", "exclude", "allow_new",
                 "schedule", "remotes", "max_file_size", "look",
                 "database"}
    signers = {key_blob(p.signing_key): p.key for p in people.values() if p.signing_key}
    raw_sites = check.table(raw.get("sites"), "sites")
    if not raw_sites:
        check.errors.append("sites: at least one [sites.NAME] table is required")
    for name, data in raw_sites.items():
        key = f"sites.{name}"
        if not SITE_NAME.match(name):
            check.errors.append(f"{key}: a site name is letters, digits, '.', '_' and '-'")
        data = check.table(data, key)
        check.unknown(data, key, site_keys)
        source = check.convert(f"{key}.source",
                               check.string(data, key, "source", required=True),
                               lambda s: parse_source(s, check.base))
        identity = check.path(data, key, "identity_file")
        known_hosts = check.path(data, key, "known_hosts")
        if isinstance(source, SshSource):
            if identity is None:
                check.errors.append(f"{key}.identity_file: required for an ssh:// source")
            if known_hosts is None:
                check.errors.append(f"{key}.known_hosts: required for an ssh:// source")
        for blob in login_keys(identity) if identity is not None else ():
            if blob in signers:
                check.errors.append(
                    f"{key}.identity_file: {identity} is gitguard's login key and also "
                    f"people.{signers[blob]}.signing_key: an approver's key must never be "
                    "the key the monitoring host logs in with")
        urls = check.strings(data, key, "urls")
        for url in urls:
            if urlsplit(url).scheme not in ("http", "https"):
                check.errors.append(f"{key}.urls: {url!r} is not an http(s) URL")
        schedule = check.string(data, key, "schedule")
        if schedule is not None:
            from gitguard.schedule import parse_schedule

            check.convert(f"{key}.schedule", schedule, parse_schedule)
        sites[name] = Site(
            name=name,
            source=source if source is not None else LocalSource(Path("/nonexistent")),
            identity_file=identity,
            known_hosts=known_hosts,
            urls=urls,
            exclude=check.globs(data, key, "exclude"),
            allow_new=check.globs(data, key, "allow_new", files=True),
            schedule=schedule,
            remotes=check.strings(data, key, "remotes"),
            max_file_size=check.size(data, key, "max_file_size", DEFAULT_MAX_FILE_SIZE),
            look=parse_look(check, data.get("look"), f"{key}.look", urls),
            database=parse_database(check, data.get("database"), key),
        )

    data = check.table(raw.get("notify"), "notify")
    check.unknown(data, "notify", {"smtp_host", "smtp_port", "smtp_security", "smtp_from",
                                   "smtp_credentials_file", "apprise", "on_critical",
                                   "activity_schedule", "retries"})
    if "smtp_password" in data or "smtp_user" in data:
        check.errors.append("notify: SMTP credentials never go in this file: use "
                            "smtp_credentials_file or $GITGUARD_SMTP_USER/$GITGUARD_SMTP_PASSWORD")
    activity = check.string(data, "notify", "activity_schedule")
    if activity is not None:
        from gitguard.schedule import parse_schedule

        check.convert("notify.activity_schedule", activity, parse_schedule)
    notify = Notify(
        smtp_host=check.string(data, "notify", "smtp_host"),
        smtp_port=check.integer(data, "notify", "smtp_port", 587, 1, 65535),
        smtp_security=check.string(data, "notify", "smtp_security",
                                   choices=("starttls", "tls", "none"), default="starttls")
        or "starttls",
        smtp_from=check.string(data, "notify", "smtp_from"),
        smtp_credentials_file=check.path(data, "notify", "smtp_credentials_file"),
        apprise=check.strings(data, "notify", "apprise"),
        on_critical=check.boolean(data, "notify", "on_critical", True),
        activity_schedule=activity,
        retries=check.integer(data, "notify", "retries", 3, 0, 20),
    )

    if check.errors:
        # one line, whatever the file's keys spell (quoted TOML keys may hold any character)
        raise ConfigError(printable(f"{path}: {len(check.errors)} mistake(s): "
                                    + "; ".join(check.errors)))
    return Config(path=path, data_dir=data_dir or path.parent / "gitguard-data",
                  language=language or "id", timezone=timezone, people=people, sites=sites,
                  notify=notify, jobs=jobs, site_timeout=site_timeout)
