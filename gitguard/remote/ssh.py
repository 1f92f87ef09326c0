"""A docroot reached over SSH with paramiko: agentless, known host keys only.

Two paths, chosen by a probe at connect time:
- command accounts: the whole tree is listed by one GNU `find -printf` and the changed files
  stream back in one GNU `tar` (no per-file round trips);
- SFTP-only accounts (`ForceCommand internal-sftp`): a directory walk and prefetching reads.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import itertools
import logging
import re
import shlex
import socket
import stat
import tarfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from pathlib import Path
from queue import Empty, Queue
from typing import IO, Any, NoReturn

import paramiko
from paramiko import sftp as sftp_proto

from gitguard.config import Site, SshSource
from gitguard.errors import HostKeyError, ScanError, SourceError
from gitguard.model import Entry, Kind, path_bytes, path_str, printable
from gitguard.plan import Action, Step
from gitguard.policy import PathSet
from gitguard.remote.base import (
    CHUNK,
    Content,
    Failure,
    FailureList,
    Scan,
    UnsafePath,
    skipped,
    temp_name,
    why,
)
from gitguard.store.objects import RepoBlobs

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 20.0
WINDOW = 16 << 20
PACKET = 1 << 15
SLICE = PACKET - 64  # the most one SSH data packet carries with OpenSSH
# GCM first: with AES-NI it costs least per byte, which matters for the first mirror.
CIPHERS = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com", "aes128-ctr", "aes256-ctr")
# Nine fields a path, each NUL-terminated, and one more NUL after each record. No field is
# empty (the link target has an 'L' in front), so NUL NUL ends a record and nothing else:
# records split apart in C, and compare with the last listing's as plain bytes.
FIND_FORMAT = r"%y\0%m\0%U\0%G\0%s\0%T@\0%C@\0L%l\0%p\0\0"
_END = b"\0\0"
PERL = Path(__file__).with_name("perl")  # package data: apply.pl, hash.pl
PROBE = ("echo gitguard-probe; find --version; tar --version; "
         "perl -MDigest::SHA -e 'print qq(gitguard-perl\\n)'")
LISTING_MARK = "gitguard-listing"
BLOB_IDS = Path(__file__).with_name("blob_ids.py")  # run by the server's python3
PYTHON_CHECK = "import sys, hashlib, threading; sys.exit(sys.version_info < (3, 6))"
PYTHON_HASH_FROM = 256  # paths from which starting python3 on the server pays off
NPROC = '"$(nproc 2>/dev/null || echo 1)"'  # the server's cores, for its perl scripts
LOOK_LIMIT = 5000  # planned paths a restore looks at again one by one; more: a full listing
_NOT_THERE = ("No such file or directory", "Not a directory", "Too many levels of symbolic links")
_LOST = (paramiko.SSHException, OSError, EOFError, tarfile.TarError)
# FIFOs, sockets, devices and doors are listed too (never opened): restore removes them
_FIND_KINDS = {b"f": Kind.FILE, b"d": Kind.DIR, b"l": Kind.SYMLINK, b"p": Kind.SPECIAL,
               b"s": Kind.SPECIAL, b"c": Kind.SPECIAL, b"b": Kind.SPECIAL, b"D": Kind.SPECIAL}
_SFTP_KINDS = {stat.S_IFREG: Kind.FILE, stat.S_IFDIR: Kind.DIR, stat.S_IFLNK: Kind.SYMLINK,
               stat.S_IFIFO: Kind.SPECIAL, stat.S_IFSOCK: Kind.SPECIAL,
               stat.S_IFCHR: Kind.SPECIAL, stat.S_IFBLK: Kind.SPECIAL}
_BLOB_ID = re.compile(rb"[0-9a-f]{40}")
MAX_PATH = 1 << 16  # bytes of one listed path: deep trees pass PATH_MAX (4 KB) on purpose
TAR_PATH_MAX = 4000  # bytes of a whole path from which tar cannot open it (PATH_MAX 4096)
MAX_OUTPUT = 1 << 30  # bytes of one command's output: an endless listing is refused
PARSE_SLICE = 1 << 20  # bytes of a listing parsed at a time
STALL = 120.0  # seconds a remote command may go without progress either way
POLL = 1.0  # seconds between looks at a quiet channel
SFTP_PATH_MAX = 4096  # sftp-server drops the entries whose full path reaches this
_STEP_CODES = {Action.REMOVE: "R", Action.MKDIR: "D", Action.CHMOD: "C", Action.WRITE: "W",
               Action.LINK: "L"}  # apply.pl's
HOLD = 200  # blobs apply.pl keeps open for later copies (descriptors: ulimit -n is 1024)
APPLY_BEAT = "gitguard-apply: working"  # apply.pl's sign of life on stderr


def fingerprint(key: paramiko.PKey) -> str:
    """OpenSSH's SHA256 fingerprint of a public key."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def _host_id(source: SshSource) -> str:
    return source.host if source.port == 22 else f"[{source.host}]:{source.port}"


def _load_known_hosts(path: Path) -> paramiko.HostKeys:
    keys = paramiko.HostKeys()
    try:
        keys.load(str(path))
    except FileNotFoundError:
        raise HostKeyError(f"known_hosts file {path} does not exist") from None
    except (OSError, paramiko.SSHException, ValueError) as exc:
        raise HostKeyError(f"known_hosts file {path} is unreadable: {exc}") from None
    except paramiko.hostkeys.InvalidHostKey as exc:
        raise HostKeyError(f"known_hosts file {path}: cannot use the line {exc.line[:30]!r}...: "
                           "gitguard reads plain 'host keytype key' lines (no @revoked or "
                           "@cert-authority)") from None
    return keys


def _parse(fields: Sequence[bytes], exclude: PathSet) -> list[Entry]:
    """Entries from find's fields, nine a path (FIND_FORMAT, the NUL NUL made one NUL)."""
    entries: list[Entry] = []
    append = entries.append
    fast_skip = not exclude
    it = iter(fields)
    for kind_code, mode, uid, gid, size, mtime, ctime, target, raw in zip(*[it] * 9,
                                                                          strict=False):
        kind = _FIND_KINDS.get(kind_code)
        if kind is None or not _sound(raw):
            raise ScanError(f"the server listed {printable(path_str(raw))!r} as "
                            f"{printable(path_str(kind_code))!r}: not a path or kind gitguard "
                            "accepts (a lying or broken server?); nothing was committed")
        path = _path(raw)
        # without exclude patterns only names with '.git' in them can be skipped
        if (not fast_skip or b".git" in raw) and skipped(path, exclude, kind is Kind.DIR):
            continue
        try:
            if mtime[-11:-10] == b"." and ctime[-11:-10] == b".":  # ten digits: inline
                mtime_ns = int(mtime[:-11] + mtime[-10:-1])
                ctime_ns = int(ctime[:-11] + ctime[-10:-1])
            else:
                mtime_ns, ctime_ns = _time_ns(mtime), _time_ns(ctime)
            append(Entry(path, kind, int(mode, 8) & 0o7777, int(uid), int(gid),
                         int(size) if kind is Kind.FILE else 0, mtime_ns, ctime_ns,
                         target[1:].decode("utf-8", "surrogateescape")
                         if kind is Kind.SYMLINK else None))
        except ValueError:
            raise ScanError(f"the server's listing record for {printable(path)!r} does not "
                            "parse (a lying or broken server?); nothing was committed") from None
    return entries


def _parse_listing(listing: bytes, exclude: PathSet) -> list[Entry] | None:
    """The entries of whole records (FIND_FORMAT); None when a record is cut short. A slice
    of records at a time: the fields of 100,000 paths at once would be a million small
    objects, the bulk of a big site's first mirror's memory."""
    entries: list[Entry] = []
    start = 0
    while start < len(listing):
        cut = listing.find(_END, start + PARSE_SLICE)
        end = len(listing) if cut < 0 else cut + len(_END)
        fields = listing[start:end].replace(_END, b"\0").split(b"\0")
        if len(fields) % 9 != 1:
            return None
        entries += _parse(fields, exclude)
        start = end
    return entries


def _sound(raw: bytes) -> bool:
    """Whether find's path is './' and a relative path: no empty, '.' or '..' part."""
    path = raw[2:]
    return (raw[:2] == b"./" and 0 < len(path) <= MAX_PATH and path[:1] != b"/"
            and path[-1:] != b"/" and b"//" not in path and path not in (b".", b"..")
            and not path.startswith((b"./", b"../")) and not path.endswith((b"/.", b"/.."))
            and b"/./" not in path and b"/../" not in path)


def _path(raw: bytes) -> str:
    return raw[2:].decode("utf-8", "surrogateescape")  # find prints './' first


def _delta(before: bytes, after: bytes) -> tuple[bytes, list[bytes]]:
    """The records (FIND_FORMAT) of `after` that `before` lacks, as a listing of their own,
    and the records of `before` that `after` lacks.

    find lists a tree in the same order run after run, so the two listings are long equal
    stretches around the changes: those are skipped by comparing large slices (memcmp),
    and only the stretches that differ are split into records and compared as sets. A
    stretch found out of order only makes its records look changed (read once more)."""
    added: list[bytes] = []
    gone: list[bytes] = []
    i = j = 0
    while i < len(before) and j < len(after):
        if before[i:i + _SKIP] == after[j:j + _SKIP]:
            i, j = i + _SKIP, j + _SKIP
            continue
        # Equal bytes since the last record start on both sides: back up to where the
        # record that differs starts, then find a record further on that both hold.
        i, j = _record_start(before, i), _record_start(after, j)
        synced = _resync(before, after, i, j)
        if synced is None:
            break
        _compare(before[i:synced[0]], after[j:synced[1]], added, gone)
        i, j = synced
    _compare(before[i:], after[j:], added, gone)
    return b"".join(r + _END for r in added), gone


_SKIP = 1 << 15  # bytes compared at a time where the listings agree
_PROBE = 1 << 14  # how far past a difference a record is looked for on the other side


def _record_start(listing: bytes, at: int) -> int:
    """Where the record holding position `at` starts."""
    end = listing.rfind(_END, 0, at)
    return end + len(_END) if end >= 0 else 0


def _resync(before: bytes, after: bytes, i: int, j: int) -> tuple[int, int] | None:
    """Where the listings agree again after a difference at record starts i and j: the
    start of a record of `before` past i found whole in `after` past j, and its place
    there; None when none of a few tried is found (the rest is then compared at once)."""
    at = i + _PROBE
    for _ in range(8):
        start = before.find(_END, at)
        if start < 0:
            return None
        start += 2
        end = before.find(_END, start)
        if end < 0:
            return None
        found = after.find(before[start - 2:end + 2], max(j - 2, 0))
        if found >= 0:
            return start, found + 2
        at = end
    return None


def _compare(old: bytes, new: bytes, added: list[bytes], gone: list[bytes]) -> None:
    """Add the records of `new` that `old` lacks (in order) and those of `old` that `new`
    lacks (set differences run in C)."""
    if old == new:
        return
    old_records = old.split(_END)
    records = new.split(_END)
    fresh = set(records).difference(old_records)
    fresh.discard(b"")
    added += [r for r in records if r in fresh]
    lost = set(old_records).difference(records)
    lost.discard(b"")
    gone += lost


def _perl(script: str) -> str:
    """One of the package's perl scripts, quoted for `perl -e`."""
    return shlex.quote((PERL / script).read_text())


def _time_ns(text: bytes) -> int:
    """find's %T@ (seconds, a dot, ten digits) as integer nanoseconds."""
    seconds, _, frac = text.partition(b".")
    if len(frac) == 10:
        return int(seconds + frac[:9])
    return int(seconds) * 1_000_000_000 + int((frac[:9] or b"0").ljust(9, b"0"))


class _ChannelReader(io.RawIOBase):
    """A channel's stdout as a raw stream, so tarfile can read it buffered."""

    def __init__(self, chan: paramiko.Channel, where: str) -> None:
        self.chan = chan
        self.watch = _watch(chan, where)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.watch.recv(len(buffer))
        buffer[:len(data)] = data
        return len(data)


class _Watch:
    """When a command's channel last moved data either way: STALL seconds without is a
    stalled (or hostile) server, given up with one line instead of hanging while the
    site's lock is held."""

    def __init__(self, chan: paramiko.Channel, where: str) -> None:
        self.chan = chan
        self.where = where
        self.last = time.monotonic()
        self.err = bytearray()  # stderr taken while waiting (apply.pl's signs of life)

    def give_up(self) -> NoReturn:
        self.chan.close()
        raise ScanError(f"{self.where}: the server made no progress for {STALL:.0f} s "
                        "(stalled or hostile); gave up, nothing was committed")

    def _quiet(self) -> None:
        while self.chan.recv_stderr_ready():
            self.err += self.chan.recv_stderr(1 << 16)
            self.last = time.monotonic()
        if time.monotonic() - self.last > STALL:
            self.give_up()

    def recv(self, size: int) -> bytes:
        """The next bytes of stdout (b"" at its end)."""
        while True:
            try:
                data: bytes = self.chan.recv(size)
            except TimeoutError:
                self._quiet()
                continue
            self.last = time.monotonic()
            return data

    def send(self, data: bytes) -> None:
        """All of data to stdin."""
        while data:
            try:
                sent: int = self.chan.send(data)
            except TimeoutError:
                if time.monotonic() - self.last > STALL:
                    raise
                continue
            data = data[sent:]
            self.last = time.monotonic()


def _watch(chan: paramiko.Channel, where: str) -> _Watch:
    """The one watch of a channel (the feeder's sends and the reader's receives are both
    progress)."""
    found: _Watch | None = getattr(chan, "gitguard_watch", None)
    if found is None:
        found = _Watch(chan, where)
        chan.gitguard_watch = found  # type: ignore[attr-defined]
    return found


def connect_transport(site: Site) -> paramiko.Transport:
    """Log in with the site's identity file, after the host key matched known_hosts."""
    source = site.source
    assert isinstance(source, SshSource) and site.known_hosts and site.identity_file
    host_id = _host_id(source)
    known = _load_known_hosts(site.known_hosts).lookup(host_id)
    try:
        pkey = paramiko.PKey.from_path(site.identity_file)
    except FileNotFoundError:
        raise SourceError(f"identity file {site.identity_file} does not exist") from None
    except (paramiko.SSHException, OSError, ValueError, TypeError) as exc:  # TypeError: passphrase
        raise SourceError(f"identity file {site.identity_file} cannot be used "
                          f"(gitguard needs an unencrypted key of its own): {exc}") from None
    try:
        sock = socket.create_connection((source.host, source.port), timeout=CONNECT_TIMEOUT)
    except OSError as exc:
        raise SourceError(f"cannot reach {host_id}: {exc.strerror or exc}") from None
    # paramiko leaves Nagle on: a short request sent while the last one is unacknowledged
    # then waits for the server's delayed ACK, up to 40 ms a command.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    transport = paramiko.Transport(sock, default_window_size=WINDOW,
                                   default_max_packet_size=PACKET)
    try:
        options = transport.get_security_options()
        options.ciphers = tuple(c for c in CIPHERS if c in options.ciphers)
        if known:
            # Ask for the key type we know, as OpenSSH does, so a server with several host
            # keys presents the one known_hosts can check.
            wanted = set(known.keys())
            if "ssh-rsa" in wanted:
                wanted |= {"rsa-sha2-512", "rsa-sha2-256"}
            preferred = [k for k in options.key_types if k in wanted]
            if preferred:
                options.key_types = tuple(preferred)
        transport.start_client(timeout=CONNECT_TIMEOUT)
        seen = transport.get_remote_server_key()
        seen_text = f"{seen.get_name()} {fingerprint(seen)}"
        if not known:
            raise HostKeyError(
                f"unknown host key for {host_id}: the server showed {seen_text}, which is not "
                f"in {site.known_hosts}; check it out of band, then add it (gitguard never "
                "adds host keys by itself)")
        expected = known.get(seen.get_name())
        if expected is None or expected.asbytes() != seen.asbytes():
            listed = ", ".join(f"{k.get_name()} {fingerprint(k)}" for k in known.values())
            raise HostKeyError(
                f"host key for {host_id} CHANGED: the server showed {seen_text}, "
                f"{site.known_hosts} has {listed}; refusing to connect (possible "
                "man-in-the-middle, or the server was reinstalled)")
        try:
            transport.auth_publickey(source.user, pkey)
        except paramiko.AuthenticationException:
            raise SourceError(f"{source.user}@{host_id} refused the key "
                              f"{site.identity_file}") from None
        transport.set_keepalive(30)
        return transport
    except (paramiko.SSHException, OSError, EOFError) as exc:
        transport.close()
        raise SourceError(f"SSH to {host_id} failed: {exc}") from None
    except BaseException:
        transport.close()
        raise


class SshRemote:
    """A docroot over SSH; `mode` is 'command' or 'sftp', found by a probe that rides along
    with the first listing (one round trip less for every scheduled check)."""

    def __init__(self, transport: paramiko.Transport, source: SshSource) -> None:
        self.transport = transport
        self.source = source
        self.mode = "unknown"
        self.root = source.path
        self.description = str(source)
        self._sftp: paramiko.SFTPClient | None = None
        self.perl = False  # perl with Digest::SHA: bulk restore and remote hashing
        # a listing started ahead of its scan: the command, its session, the stdin closer
        self._started: tuple[str, paramiko.Channel, Callable[[], None]] | None = None

    @classmethod
    def connect(cls, site: Site) -> SshRemote:
        """Connect, check the host key and log in with the site's own key."""
        assert isinstance(site.source, SshSource)
        return cls(connect_transport(site), site.source)

    def detect(self) -> str:
        """Which path this account allows: 'command' (GNU find and tar) or 'sftp'."""
        if self.mode == "unknown":
            chan = self._exec(PROBE)
            chan.shutdown_write()  # a forced internal-sftp reads stdin: EOF ends it
            chan.settimeout(CONNECT_TIMEOUT)
            out = b""
            try:
                while data := chan.recv(65536):
                    out += data
            except TimeoutError:
                pass
            finally:
                chan.close()
            self._learn(out)
        return self.mode

    def _learn(self, probe: bytes) -> None:
        self.perl = b"gitguard-perl" in probe
        command = (probe.startswith(b"gitguard-probe") and b"GNU findutils" in probe
                   and b"GNU tar" in probe)
        self.mode = "command" if command else "sftp"
        log.debug("%s: using the %s path", self.description, self.mode)

    @property
    def sees_ctime(self) -> bool:
        """Whether a scan shows ctime: on command accounts, not over SFTP."""
        return self.detect() == "command"

    # -- plumbing ------------------------------------------------------------------------

    def _exec(self, command: str) -> paramiko.Channel:
        try:
            chan = self.transport.open_session(timeout=CONNECT_TIMEOUT)
            chan.settimeout(POLL)  # every wait wakes up to see whether the server stalled
            chan.exec_command(command)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise SourceError(f"{self.description}: cannot run a command: {exc}") from None
        return chan

    def _cd(self) -> str:
        return f"cd -- {shlex.quote(self.root)}"

    @property
    def sftp(self) -> paramiko.SFTPClient:
        """The SFTP session, opened on first use."""
        if self._sftp is None:
            try:
                client = paramiko.SFTPClient.from_transport(self.transport)
            except (paramiko.SSHException, OSError, EOFError) as exc:
                raise SourceError(f"{self.description}: SFTP unavailable: {exc}") from None
            assert client is not None
            channel = client.get_channel()
            assert channel is not None
            channel.settimeout(STALL)  # a request unanswered that long: a stalled server
            self._sftp = client
        return self._sftp

    def _abs(self, path: str) -> bytes:
        return path_bytes(self.root.rstrip("/") + "/" + path if path else self.root)

    def close(self) -> None:
        """Close the SFTP session and the connection."""
        if self._sftp is not None:
            self._sftp.close()
        self.transport.close()

    # -- scan ----------------------------------------------------------------------------

    def _scan_command(self) -> str | None:
        """The listing command, with the probe in front while the account is unknown; None
        over SFTP."""
        if self.mode == "unknown":
            return (f"{{ {PROBE}; }} 2>&1 | head -c 8192; echo; echo {LISTING_MARK}; "
                    f"{self._listing()}")
        return self._listing() if self.mode == "command" else None

    def start_scan(self) -> None:
        """Start the listing command now; the server lists while gitguard works on, and
        the next scan collects what it printed."""
        command = self._scan_command()
        if command is not None and self._started is None:
            chan = self._exec(command)
            self._started = (command, chan, self._feed(chan, ()))

    def scan(self, exclude: PathSet, since: bytes | None = None) -> Scan:
        """List the whole tree: one `find` on command accounts (compared with `since` when
        given), an SFTP walk otherwise."""
        started, self._started = self._started, None
        try:
            command = self._scan_command()
            if started is not None and started[0] != command:
                started[1].close()
                started = None
            if command is not None:
                out, status, err = (self._stream(command, ()) if started is None
                                    else self._collect(*started[1:]))
                listing = out
            if self.mode == "unknown":
                probe, mark, listing = out.partition(b"\n" + LISTING_MARK.encode() + b"\n")
                self._learn(probe if mark else b"")
            if self.mode == "command":
                return self._listed(listing, status, err, exclude, since)
            return Scan(self._scan_sftp(exclude))
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise self._lost_scan(exc) from None

    def _lost_scan(self, exc: BaseException) -> ScanError:
        if isinstance(exc, TimeoutError):
            return ScanError(f"{self.description}: the server made no progress for "
                             f"{STALL:.0f} s (stalled or hostile); gave up, nothing was "
                             "committed")
        return ScanError(f"{self.description}: connection lost during the scan, nothing was "
                         f"committed: {exc}")

    def _listing(self) -> str:
        return f"{self._cd()} && LC_ALL=C find . -mindepth 1 -printf '{FIND_FORMAT}'"

    def _listed(self, out: bytes, status: int, err: bytes, exclude: PathSet,
                since: bytes | None) -> Scan:
        """The entries of a find listing; with `since`, only the records that changed."""
        if status != 0:
            lines = err.decode("utf-8", "replace").strip().splitlines()
            raise ScanError(f"{self.description}: listing failed, nothing was committed: "
                            + ("; ".join(lines[:5]) or f"exit status {status}"))
        # Every record holds a path's kind, mode, owner, size, mtime, ctime and link target:
        # a record the earlier listing has too is a path that did not change, and parsing
        # the 30,000 of them again would be the bulk of a re-mirror.
        if since is not None and out == since:
            return Scan([], removed=(), listing=out)
        if out and not out.endswith(_END):
            raise ScanError(f"{self.description}: listing was cut short, nothing was committed")
        changed, gone = (out, []) if since is None else _delta(since, out)
        entries = _parse_listing(changed, exclude)
        if entries is None:
            raise ScanError(f"{self.description}: listing was cut short, nothing was committed")
        if since is None:
            return Scan(entries, listing=out)
        present = {e.path for e in entries}
        removed = tuple(path for path in (_path(r.rpartition(b"\0")[2]) for r in gone)
                        if path not in present)
        return Scan(entries, removed=removed, listing=out)

    def _request(self, command: int, *args: object) -> paramiko.Message:
        """One raw SFTP request: paramiko's public calls decode names as strict UTF-8."""
        _, msg = self.sftp._request(command, *args)  # type: ignore[attr-defined]
        return msg  # type: ignore[no-any-return]

    def _listdir(self, path: bytes) -> list[tuple[bytes, paramiko.SFTPAttributes]]:
        """READDIR with names kept as bytes (paramiko's listdir_attr decodes them strictly)."""
        msg = self._request(sftp_proto.CMD_OPENDIR, path)
        handle = msg.get_binary()
        result: list[tuple[bytes, paramiko.SFTPAttributes]] = []
        try:
            while True:
                try:
                    msg = self._request(sftp_proto.CMD_READDIR, handle)
                except EOFError:
                    break
                for _ in range(msg.get_int()):
                    name = msg.get_binary()
                    msg.get_binary()  # the long name, unused
                    attrs = paramiko.SFTPAttributes._from_msg(msg)  # type: ignore[attr-defined]
                    if name not in (b".", b".."):
                        result.append((name, attrs))
        finally:
            self._request(sftp_proto.CMD_CLOSE, handle)
        return result

    def _scan_sftp(self, exclude: PathSet) -> list[Entry]:
        entries: list[Entry] = []
        unreadable: list[str] = []
        stack = [""]
        while stack:
            prefix = stack.pop()
            folder = self._abs(prefix.rstrip("/"))
            if len(folder) + 2 + 255 >= SFTP_PATH_MAX:
                # sftp-server silently drops every entry whose full path is too long for it
                unreadable.append(f"{printable(prefix)}: too deep for SFTP to list completely "
                                  "(its entries may be hidden; a command account can)")
                continue
            try:
                listing = self._listdir(folder)
            except FileNotFoundError:
                if not prefix:
                    raise ScanError(f"docroot {self.description} does not exist") from None
                continue
            except TimeoutError:
                raise
            except OSError as exc:
                unreadable.append(f"{printable(prefix or '.')}: {exc.strerror or exc}")
                continue
            for raw, attrs in sorted(listing):
                path = prefix + path_str(raw)
                mode = attrs.st_mode or 0
                kind = _SFTP_KINDS.get(stat.S_IFMT(mode))
                if kind is None or skipped(path, exclude, kind is Kind.DIR):
                    continue
                target = None
                if kind is Kind.SYMLINK:
                    try:
                        target = self._readlink(path)
                    except FileNotFoundError:
                        continue
                entries.append(Entry(
                    path=path, kind=kind, mode=stat.S_IMODE(mode), uid=attrs.st_uid or 0,
                    gid=attrs.st_gid or 0, size=(attrs.st_size or 0) if kind is Kind.FILE else 0,
                    mtime_ns=int(attrs.st_mtime or 0) * 1_000_000_000, ctime_ns=0,
                    target=target))
                if kind is Kind.DIR:
                    stack.append(path + "/")
        if unreadable:
            raise ScanError(f"cannot list {len(unreadable)} folder(s), nothing was committed: "
                            + "; ".join(unreadable[:10]))
        return entries

    def _readlink(self, path: str) -> str:
        msg = self._request(sftp_proto.CMD_READLINK, self._abs(path))
        if msg.get_int() != 1:
            raise ScanError(f"{printable(path)}: unexpected READLINK answer")
        return path_str(msg.get_binary())

    def _feed(self, chan: paramiko.Channel, data: Iterable[bytes]) -> Callable[[], None]:
        """Send data to the command's stdin from a thread (so stdout keeps flowing); the
        returned function waits for it and raises ScanError if the connection dropped."""
        errors: list[BaseException] = []
        watch = _watch(chan, self.description)

        def feed() -> None:
            try:
                for chunk in _ahead(_coalesced(data)):
                    # A packet's worth at a time: paramiko's sendall copies the rest of
                    # the buffer after each packet, 16 MB of copying for a 1 MB chunk.
                    for start in range(0, len(chunk), SLICE):
                        watch.send(chunk[start:start + SLICE])
                chan.shutdown_write()
            except _LOST as exc:
                errors.append(exc)

        feeder = threading.Thread(target=feed, daemon=True)
        feeder.start()

        def join() -> None:
            feeder.join()
            if errors:
                raise ScanError(f"{self.description}: connection lost, nothing was committed: "
                                f"{errors[0]}")
        return join

    def _finish(self, chan: paramiko.Channel) -> tuple[int, bytes]:
        """The command's exit status and stderr; a session that ended without a status is a
        lost connection."""
        watch = _watch(chan, self.description)
        if not chan.status_event.wait(STALL):
            watch.give_up()
        status = chan.recv_exit_status()
        err = bytes(watch.err)
        while chan.recv_stderr_ready():
            err += chan.recv_stderr(1 << 16)
        chan.close()
        if status == -1 or not self.transport.is_active():
            raise ScanError(f"{self.description}: connection lost, nothing was committed: "
                            "the session ended without a status")
        return status, err

    def _stream(self, command: str, data: Iterable[bytes]) -> tuple[bytes, int, bytes]:
        """Run a command fed from `data`; return its stdout, exit status and stderr."""
        chan = self._exec(command)
        return self._collect(chan, self._feed(chan, data))

    def _collect(self, chan: paramiko.Channel, join: Callable[[], None]
                 ) -> tuple[bytes, int, bytes]:
        """A started command's stdout, exit status and stderr."""
        out = bytearray()
        watch = _watch(chan, self.description)
        while chunk := watch.recv(1 << 20):
            out += chunk
            if len(out) > MAX_OUTPUT:
                chan.close()
                raise ScanError(f"{self.description}: the server's answer passed "
                                f"{MAX_OUTPUT >> 20} MB (an endless listing?); gave up, "
                                "nothing was committed")
        join()
        status, err = self._finish(chan)
        return bytes(out), status, err

    def look(self, paths: Sequence[str], exclude: PathSet) -> list[Entry] | None:
        """One `find` that starts at each path and every folder above it, and goes no
        deeper (xargs splits a long list); SFTP-only accounts and long plans list in full."""
        if (self.detect() != "command" or len(paths) > LOOK_LIMIT
                or any(len(self._abs(p)) >= TAR_PATH_MAX for p in paths)):
            return None  # find, too, takes whole paths: past PATH_MAX only a full listing
        wanted = {"/".join(parts[:n]) for parts in (p.split("/") for p in paths)
                  for n in range(1, len(parts) + 1)}
        try:
            out, status, err = self._stream(
                f"{self._cd()} && LC_ALL=C xargs -0 -r sh -c "
                f"""'exec find "$@" -maxdepth 0 -printf "$0"' '{FIND_FORMAT}'""",
                (b"./" + path_bytes(p) + b"\0" for p in sorted(wanted)))
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise self._lost_scan(exc) from None
        # find says so, and exits 1 (xargs 123), for a path that is not there, or that a
        # file or link on the way hides (which the folder check below then catches)
        problems = [line for line in err.decode("utf-8", "replace").splitlines()
                    if not line.endswith(_NOT_THERE)]
        scan = self._listed(out, 0 if status in (0, 123) and not problems else status,
                            "\n".join(problems).encode(), exclude, None)
        kinds = {e.path: e.kind for e in scan.entries}
        if any(kinds.get(folder, Kind.DIR) is not Kind.DIR
               for folder in {p.rpartition("/")[0] for p in wanted} - {""}):
            return None  # a folder swapped for a file or link: what is below it is elsewhere
        return scan.entries

    def hashes(self, paths: Sequence[str]) -> dict[str, str]:
        """Git blob ids computed on the server (perl, or python3 for many files), so known
        content need not travel."""
        if not paths or self.detect() != "command" or not self.perl:
            return {}
        command = f"perl -e {_perl('hash.pl')} {NPROC}"
        if len(paths) >= PYTHON_HASH_FROM:
            # the server's python3, where there is one, hashes with OpenSSL's SHA-1
            command = (f"if python3 -c {shlex.quote(PYTHON_CHECK)} 2>/dev/null; then "
                       f"python3 -c {shlex.quote(BLOB_IDS.read_text())} {NPROC}; "
                       f"else {command}; fi")
        out, status, _ = self._stream(f"{self._cd()} && {command}",
                                      (path_bytes(p) + b"\0" for p in paths))
        ids = out.split(b"\0")[:-1]
        # a hostile server's ids are only ever compared with the repository's: anything but
        # an id or "-" means the answer is not to be used at all
        if (status != 0 or len(ids) != len(paths)
                or not all(oid == b"-" or _BLOB_ID.fullmatch(oid) for oid in ids)):
            return {}
        return {p: oid.decode() for p, oid in zip(paths, ids, strict=True) if oid != b"-"}

    # -- restore -------------------------------------------------------------------------

    def apply(self, steps: Sequence[Step], blobs: RepoBlobs) -> list[Failure]:
        """Carry out a restore plan: in bulk (one tar, one perl) on command accounts with
        perl, else step by step over SFTP; every folder on the way is checked with lstat."""
        if not steps:
            return []
        if self.detect() == "command" and self.perl:
            return self._apply_bulk(steps, blobs)
        return self._apply_sftp(steps, blobs.stream)

    def _apply_bulk(self, steps: Sequence[Step], blobs: RepoBlobs) -> list[Failure]:
        """One perl run reads the whole step script, then the content as `git cat-file
        --batch` prints it, and carries the steps out by descriptor (apply.pl). Content several
        files share (a multisite's copies of the same core) travels once and is copied on the
        server from the file this run wrote."""
        script, order, copies = _script(steps)
        log.info("%s: %d file(s) and link(s) sent, %d copied on the server from those",
                 self.description, len(order), copies)
        out, status, err = self._stream(
            f"{self._cd()} && perl -e {_perl('apply.pl')}",
            itertools.chain((script,), blobs.batch(order) if order else ()))
        if status != 0:
            lines = [line for line in err.decode("utf-8", "replace").splitlines()
                     if line != APPLY_BEAT]
            raise SourceError(f"{self.description}: the restore script failed: "
                              + " ".join(lines).strip()[:300])
        fields = out.split(b"\0")
        return [Failure(path_str(fields[i]), fields[i + 1].decode("utf-8", "replace"))
                for i in range(0, len(fields) - 1, 2)]

    def _apply_sftp(self, steps: Sequence[Step],
                    blob: Callable[[str], Iterable[bytes]]) -> list[Failure]:
        """Carry out a restore plan over SFTP, checking every folder on the way with lstat
        right before each step (SFTP has no openat: see _remove_tree for what that leaves)."""
        failures: list[Failure] = []
        self._trash: str | None = None
        try:
            for step in steps:
                try:
                    self._check_parents(step.path)
                    self._apply_step(step, blob)
                except (OSError, UnsafePath) as exc:
                    failures.append(Failure(step.path, why(exc)))
            if self._trash is not None:
                with contextlib.suppress(OSError):
                    self._remove_below(self._trash)
        except (paramiko.SSHException, EOFError, TimeoutError) as exc:
            raise SourceError(f"{self.description}: connection lost during the restore "
                              f"(run it again to finish; every file is old or new): {exc}"
                              ) from None
        return failures

    def _lstat(self, path: str) -> paramiko.SFTPAttributes:
        msg = self._request(sftp_proto.CMD_LSTAT, self._abs(path))
        return paramiko.SFTPAttributes._from_msg(msg)  # type: ignore[attr-defined, no-any-return]

    def _check_parents(self, path: str) -> None:
        """Refuse to go through a folder that is a symlink (SFTP opens would follow it):
        every folder on the way, again for every step (a folder checked once can be swapped
        for a link by the next step)."""
        parts = path.split("/")
        for n in range(1, len(parts)):
            folder = "/".join(parts[:n])
            if not stat.S_ISDIR(self._lstat(folder).st_mode or 0):
                raise UnsafePath(f"folder {printable(folder)!r} on the way is a symlink or not "
                                 "a folder")

    def _remove_tree(self, path: str) -> None:
        """Remove a path, and a folder with everything in it. The folder is first renamed
        into a fresh 0700 folder of this run (an entry's rename never follows a link), then
        emptied there: a web user who is not the account cannot reach into it to swap a
        folder for a link while it is emptied."""
        try:
            mode = self._lstat(path).st_mode or 0
        except FileNotFoundError:
            return
        if not stat.S_ISDIR(mode):
            self.sftp.remove(self._abs(path))
            return
        try:
            if self._trash is None:
                trash = temp_name().replace(".tmp", ".trash")
                self.sftp.mkdir(self._abs(trash), 0o700)
                self._trash = trash
            moved = f"{self._trash}/{temp_name()}"
            self.sftp.posix_rename(self._abs(path), self._abs(moved))
        except OSError:
            # a docroot the account may not write, another file system (a mount below the
            # docroot) or a folder the account may not move: emptied where it is, each
            # folder checked right before it is listed
            self._remove_below(path)
            return
        self._remove_below(moved)

    def _remove_below(self, path: str) -> None:
        """Remove a folder's contents and the folder, lstat right before each listing and
        each removal: never through a folder that became a link."""
        mode = self._lstat(path).st_mode or 0
        if not stat.S_ISDIR(mode):
            self.sftp.remove(self._abs(path))
            return
        if mode & stat.S_IRWXU != stat.S_IRWXU:
            # The attacker's chmod 555 must not keep their files: open it up, it goes anyway.
            with contextlib.suppress(PermissionError):
                self._setstat(path, mode=stat.S_IRWXU)
        for raw, attrs in self._listdir(self._abs(path)):
            self._still_a_folder(path)
            child = f"{path}/{path_str(raw)}"
            if stat.S_ISDIR(attrs.st_mode or 0):
                self._remove_below(child)
            else:
                self.sftp.remove(self._abs(child))
        self._still_a_folder(path)
        self.sftp.rmdir(self._abs(path))

    def _still_a_folder(self, path: str) -> None:
        if not stat.S_ISDIR(self._lstat(path).st_mode or 0):
            raise UnsafePath(f"folder {printable(path)!r} became a symlink or not a folder")

    def _setstat(self, path: str, mode: int | None = None, uid: int = -1, gid: int = -1
                 ) -> None:
        """chmod/chown a path without following a link at its end (OpenSSH's lsetstat; a
        server without it gets a plain setstat after an lstat check)."""
        attrs = paramiko.SFTPAttributes()
        if mode is not None:
            attrs.st_mode = mode
        if uid >= 0:
            attrs.st_uid, attrs.st_gid = uid, gid
        try:
            self._request(sftp_proto.CMD_EXTENDED, "lsetstat@openssh.com", self._abs(path),
                          attrs)
            return
        except OSError as exc:
            if "unsupported" not in str(exc).lower():
                raise
        if stat.S_ISLNK(self._lstat(path).st_mode or 0):
            raise UnsafePath(f"{printable(path)!r} is a symlink")
        self._request(sftp_proto.CMD_SETSTAT, self._abs(path), attrs)

    def _set_owner(self, path: str, uid: int, gid: int) -> None:
        if uid < 0:
            return
        attrs = self._lstat(path)
        if (attrs.st_uid, attrs.st_gid) != (uid, gid):
            with contextlib.suppress(PermissionError):
                self._setstat(path, uid=uid, gid=gid)

    def _chmod(self, step: Step) -> None:
        """A mode (and owner) put back: a file through a handle whose fstat matches what
        lstat saw (SFTP shows no inode: type, owner, size and mtime must agree), a folder
        by lsetstat; never a link's target, never opening a FIFO or device."""
        seen = self._lstat(step.path)
        mode = seen.st_mode or 0
        if stat.S_ISLNK(mode):
            return
        if stat.S_ISREG(mode):
            try:
                handle = self.sftp.open(self._abs(step.path), "r")
            except PermissionError:
                self._setstat(step.path, mode=step.mode)
                self._set_owner(step.path, step.uid, step.gid)
                return
            with handle:
                now = handle.stat()
                if _looks(now) != _looks(seen):
                    raise UnsafePath(f"{printable(step.path)!r} was replaced meanwhile")
                if step.uid >= 0 and (now.st_uid, now.st_gid) != (step.uid, step.gid):
                    with contextlib.suppress(PermissionError):
                        handle.chown(step.uid, step.gid)
                handle.chmod(step.mode)
            return
        if not stat.S_ISDIR(mode):
            raise UnsafePath(f"{printable(step.path)!r} is not a file or folder")
        self._set_owner(step.path, step.uid, step.gid)
        self._setstat(step.path, mode=step.mode)

    def _apply_step(self, step: Step, blob: Callable[[str], Iterable[bytes]]) -> None:
        sftp, target = self.sftp, self._abs(step.path)
        if step.action is Action.REMOVE:
            self._remove_tree(step.path)
        elif step.action is Action.MKDIR:
            sftp.mkdir(target, 0o700)
            self._set_owner(step.path, step.uid, step.gid)
        elif step.action is Action.CHMOD:
            self._chmod(step)
        else:
            assert step.oid is not None
            parent = step.path.rpartition("/")[0]
            tmp = f"{parent}/{temp_name()}" if parent else temp_name()
            try:
                if step.action is Action.LINK:
                    sftp.symlink(b"".join(blob(step.oid)), self._abs(tmp))
                else:
                    # "x": O_EXCL, so nothing put at the temporary name is opened
                    with sftp.open(self._abs(tmp), "wx") as handle:
                        handle.set_pipelined(True)
                        for chunk in blob(step.oid):  # streamed, never held whole
                            handle.write(chunk)
                        if step.uid >= 0:
                            with contextlib.suppress(PermissionError):
                                handle.chown(step.uid, step.gid)
                        handle.chmod(step.mode)
                sftp.posix_rename(self._abs(tmp), target)
            except BaseException:
                with contextlib.suppress(OSError, paramiko.SSHException):
                    sftp.remove(self._abs(tmp))
                raise

    # -- read ----------------------------------------------------------------------------

    def read(self, paths: Sequence[str]) -> Iterator[Content]:
        """Stream the files' contents: one tar on command accounts, SFTP reads otherwise."""
        if not paths:
            return
        try:
            if self.detect() == "command":
                # tar opens a file by its whole path, which the kernel refuses past PATH_MAX
                long = [p for p in paths if len(self._abs(p)) >= TAR_PATH_MAX]
                if len(long) < len(paths):
                    skip = set(long)
                    yield from self._read_tar([p for p in paths if p not in skip])
                if long:
                    yield from self._read_long(long)
            else:
                yield from self._read_sftp(paths)
        except _LOST as exc:
            raise ScanError(f"{self.description}: connection lost during the transfer, "
                            f"nothing was committed: {exc}") from None

    def _read_tar(self, paths: Sequence[str]) -> Iterator[Content]:
        chan = self._exec(f"{self._cd()} && LC_ALL=C tar --create --file=- --format=gnu "
                          "--null --no-unquote --no-recursion --hard-dereference "
                          "--files-from=-")
        join = self._feed(chan, (b"./" + path_bytes(path) + b"\0" for path in paths))
        wanted = set(paths)
        seen: set[str] = set()
        stream = io.BufferedReader(_ChannelReader(chan, self.description), buffer_size=1 << 20)
        with tarfile.open(fileobj=stream, mode="r|", encoding="utf-8",
                          errors="surrogateescape") as archive:
            while (member := archive.next()) is not None:
                # tarfile keeps every member it read, about a kilobyte each: 130 MB on a
                # big site's first mirror. A stream is read once; none is needed again.
                archive.members.clear()  # type: ignore[attr-defined]  # (not in typeshed)
                name = member.name[2:] if member.name.startswith("./") else member.name
                if not member.isfile() or name not in wanted or name in seen:
                    raise ScanError(f"{self.description}: unexpected archive member "
                                    f"{printable(member.name)}")
                seen.add(name)
                handle = archive.extractfile(member)
                assert handle is not None
                yield Content(name, member.size, _chunks(handle, self.description))
        join()
        status, errors = self._finish(chan)
        failures = FailureList()
        for path in paths:
            if path not in seen:
                failures.add(path, _tar_reason(errors, path))
        failures.raise_if_any()
        if status not in (0, 1):  # 1: a file changed while read; its bytes are consistent
            raise ScanError(f"{self.description}: tar failed: "
                            + errors.decode("utf-8", "replace").strip()[:300])

    def _read_long(self, paths: Sequence[str]) -> Iterator[Content]:
        """Files past PATH_MAX, read by read.pl folder by folder (never through a link)."""
        failures = FailureList()
        if not self.perl:
            for path in paths:
                failures.add(path, "path too long for tar, and no perl on the server")
            failures.raise_if_any()
        chan = self._exec(f"{self._cd()} && perl -e {_perl('read.pl')}")
        join = self._feed(chan, (path_bytes(path) + b"\0" for path in paths))
        stream = io.BufferedReader(_ChannelReader(chan, self.description), buffer_size=1 << 20)
        for path in paths:
            head = stream.readline(64)
            if head.startswith(b"NO "):
                failures.add(path, head[3:].decode("utf-8", "replace").strip() or "unreadable")
                continue
            if not head.startswith(b"OK ") or not head[3:-1].isdigit():
                raise ScanError(f"{self.description}: unexpected answer reading "
                                f"{printable(path)}; nothing was committed")
            size = int(head[3:-1])
            data = _exactly(stream, size, self.description)
            yield Content(path, size, data)
            if stream.read(1) != b"\n" or stream.readline(16) != b"END\n":
                raise ScanError(f"{self.description}: {printable(path)} changed while it was "
                                "read; nothing was committed")
        join()
        status, errors = self._finish(chan)
        if status != 0:
            raise ScanError(f"{self.description}: reading long paths failed: "
                            + errors.decode("utf-8", "replace").strip()[:300])
        failures.raise_if_any()

    def _read_sftp(self, paths: Sequence[str]) -> Iterator[Content]:
        failures = FailureList()
        for path in paths:
            try:
                # SFTP's open follows links and blocks on a FIFO: only what lstat shows as a
                # regular file is opened, and what was opened must look the same (SFTP
                # shows no inode), or a link swapped in would bring a file from outside
                seen = self._lstat(path)
                if not stat.S_ISREG(seen.st_mode or 0):
                    failures.add(path, "no longer a regular file")
                    continue
                with self.sftp.open(self._abs(path), "rb") as handle:
                    now = handle.stat()
                    if _looks(now) != _looks(seen):
                        failures.add(path, "replaced while it was read")
                        continue
                    size = now.st_size or 0
                    handle.prefetch(size)
                    # paramiko joins prefetched blocks quadratically on one big read
                    parts = []
                    while chunk := handle.read(CHUNK):
                        parts.append(chunk)
                    data = b"".join(parts)
            except FileNotFoundError:
                failures.add(path, "vanished during the scan")
                continue
            except PermissionError:
                failures.add(path, "permission denied")
                continue
            yield Content(path, len(data), (data,))
        failures.raise_if_any()


def _looks(attrs: paramiko.SFTPAttributes) -> tuple[int | None, ...]:
    """What SFTP shows of a file to tell it from another: type and mode, owner, size,
    mtime."""
    return attrs.st_mode, attrs.st_uid, attrs.st_gid, attrs.st_size, attrs.st_mtime


def _script(steps: Sequence[Step]) -> tuple[bytes, list[str], int]:
    """apply.pl's step script, the blob ids its content stream carries in order, and how
    many files are copied on the server instead. A blob that later steps need again is
    kept open there, up to HOLD at once; past that it travels again."""
    uses = Counter(s.oid for s in steps if s.action is Action.WRITE)
    held: set[str] = set()
    order: list[str] = []
    copies = 0
    records = []
    for step in steps:
        code = _STEP_CODES[step.action]
        arg = "-" if step.action is Action.REMOVE else f"{step.mode:o} {step.uid} {step.gid}"
        if step.oid is not None and step.action in (Action.WRITE, Action.LINK):
            if step.action is Action.LINK:
                source = "s"
                order.append(step.oid)
            else:
                uses[step.oid] -= 1
                if step.oid in held:
                    copies += 1
                    source = "h" if uses[step.oid] else "h-"
                    if not uses[step.oid]:
                        held.discard(step.oid)
                else:
                    order.append(step.oid)
                    source = "s"
                    if uses[step.oid] and len(held) < HOLD:
                        held.add(step.oid)
                        source = "s+"
            arg += f" {step.oid} {source}"
        records.append(b"%s\0%s\0%s\0" % (code.encode(), path_bytes(step.path), arg.encode()))
    records.append(b"E\0%d\0end\0" % len(records))
    return b"".join(records), order, copies


def _coalesced(data: Iterable[bytes], size: int = 1 << 16) -> Iterator[bytes]:
    """The same bytes in chunks of at least `size` (but the last): every sendall is an SSH
    packet, and a restore script of 30,000 short steps would be 30,000 of them."""
    pending: list[bytes] = []
    held = 0
    for chunk in data:
        if held == 0 and len(chunk) >= size:
            yield chunk
            continue
        pending.append(chunk)
        held += len(chunk)
        if held >= size:
            yield b"".join(pending)
            pending.clear()
            held = 0
    if pending:
        yield b"".join(pending)


def _ahead(data: Iterable[bytes], depth: int = 16) -> Iterator[bytes]:
    """The same chunks, produced by a thread of their own up to `depth` ahead: `git archive`
    keeps writing the tar while the previous chunks are encrypted and sent."""
    queue: Queue[bytes | BaseException | None] = Queue(depth)
    stop = threading.Event()

    def produce() -> None:
        chunks = iter(data)
        try:
            for chunk in chunks:
                queue.put(chunk)
                if stop.is_set():
                    break
            queue.put(None)
        except BaseException as exc:  # handed to the consumer, which raises it
            queue.put(exc)
        finally:
            if isinstance(chunks, Generator):
                # a consumer that gave up stops `git archive` too; its complaint about the
                # broken pipe says nothing the consumer's own error does not
                with contextlib.suppress(Exception):
                    chunks.close()

    producer = threading.Thread(target=produce, daemon=True)
    producer.start()
    try:
        while (item := queue.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while producer.is_alive():  # unblock a producer waiting for room
            with contextlib.suppress(Empty):
                queue.get(timeout=0.1)


def _exactly(stream: IO[bytes], size: int, where: str) -> Iterator[bytes]:
    """The next `size` bytes of a stream, in chunks; fewer is a lost connection."""
    while size > 0:
        chunk = stream.read(min(size, CHUNK))
        if not chunk:
            raise ScanError(f"{where}: connection lost during the transfer, nothing was "
                            "committed")
        size -= len(chunk)
        yield chunk


def _chunks(handle: IO[bytes], where: str) -> Iterator[bytes]:
    """A tar member's bytes; a dropped connection mid-file is a ScanError like any other."""
    try:
        while chunk := handle.read(CHUNK):
            yield chunk
    except _LOST as exc:
        raise ScanError(f"{where}: connection lost during the transfer, nothing was "
                        f"committed: {exc}") from None


def _tar_reason(errors: bytes, path: str) -> str:
    """Why tar did not send a file, from its stderr."""
    for line in errors.decode("utf-8", "replace").splitlines():
        if f"./{path}:" in line:
            if "Permission denied" in line:
                return "permission denied"
            if "No such file" in line:
                return "vanished during the scan"
            return line.split(": ", 1)[-1][:120]
    return "not sent by the server (vanished or unreadable)"
