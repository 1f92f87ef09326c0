"""Hardening of the local transport (issue #10), end to end with the real CLI on a local path.

FIFOs, sockets and devices are a kind of their own; paths git cannot hold (`.git` parts,
gitguard's reserved names) are findings a restore removes; a walk holds a bounded number of
descriptors and works past PATH_MAX; chmod never follows a symlink swapped in by the web
user; a path that changes under a scan never gives a traceback; a sparse 100 GB file is
reported, not read.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from helpers import git, gitguard, make_key, write_config
from sshd import SshServer

WEB_USER = "ggweb"
WEBSHELL = b"<?php if(isset($_GET['c'])){system($_GET['c']);} ?>\n"
FILES = {
    "index.html": b"<h1>Pemerintah Kota Contoh</h1>\n",
    "about.html": b"<p>Tentang kami</p>\n",
    "docs/guide.html": b"<p>Panduan</p>\n",
    "docs/old/2019.html": b"<p>Arsip</p>\n",
    "sub/page.html": b"<p>Sub</p>\n",
    "uploads/2024/foto.jpg": b"\xff\xd8\xff\xe0 jpeg",
}


@dataclass
class Site:
    """An approved site on a local path, and a folder outside its docroot."""

    config: Path
    docroot: Path
    repo: Path
    outside: Path
    key: Path

    def run(self, *args: str, expect: int | tuple[int, ...] = 0,
            limit_fds: int | None = None) -> subprocess.CompletedProcess[str]:
        """The real CLI; asserts the exit code, no traceback, and errors as single lines."""
        if limit_fds is None:
            proc = gitguard(*args, config=self.config, input="")
        else:
            proc = _limited(limit_fds, *args, config=self.config)
        assert "Traceback" not in proc.stderr, proc.stderr
        expected = expect if isinstance(expect, tuple) else (expect,)
        assert proc.returncode in expected, (
            f"gitguard {' '.join(args)}: exit {proc.returncode}, expected {expect}\n"
            f"stdout: {proc.stdout}\nstderr: {proc.stderr}")
        return proc

    def findings(self) -> dict[str, dict[str, Any]]:
        """The audit's findings by path."""
        proc = self.run("audit", "--json", expect=(0, 1, 2))
        return {f["path"]: f for f in json.loads(proc.stdout)["findings"]}


def _limited(fds: int, *args: str, config: Path) -> subprocess.CompletedProcess[str]:
    """The CLI in a process whose descriptor limit is `fds` (cron's and systemd's 1024, or
    lower)."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (fds, fds))

    return subprocess.run([sys.executable, "-m", "gitguard.cli", "-c", str(config), *args],
                          capture_output=True, text=True, input="", preexec_fn=limit,
                          timeout=300, check=False)


@pytest.fixture
def base(tmp_path: Path) -> Iterator[Path]:
    """A folder the web user can reach (pytest's own are root's, mode 0700)."""
    path = Path(tempfile.mkdtemp(prefix="gg-harden-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def make_site(tmp_path: Path, base: Path, files: dict[str, bytes] = FILES,
              options: dict[str, object] | None = None, sshd: SshServer | None = None,
              sftp: bool = False) -> Site:
    """Build, init, mirror and approve a site: local, or over SSH when `sshd` is given."""
    docroot = base / "html" if sshd is None else sshd.make_docroot()
    outside = base / "outside"
    for folder in (docroot, outside):
        folder.mkdir(exist_ok=True)
    for name, data in files.items():
        path = docroot / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        path.chmod(0o644)
    key, public = make_key(tmp_path, "rina")
    people = {"rina": {"name": "Rina Wulandari", "role": "kasubbag",
                       "email": "rina@example.go.id", "signing_key": public}}
    source: dict[str, object] = {"source": str(docroot)}
    if sshd is not None:
        sshd.chown_to_user(docroot)
        source = {"source": sshd.url(docroot, sftp=sftp),
                  "identity_file": str(sshd.sftp_identity if sftp else sshd.identity),
                  "known_hosts": str(sshd.known_hosts)}
    config = write_config(tmp_path, {"www": {**source, "allow_new": ["uploads/**/*.jpg"],
                                             **(options or {})}}, people)
    site = Site(config, docroot, tmp_path / "gitguard-data" / "www.git", outside, key)
    site.run("init")
    site.run("mirror")
    site.run("approve", "www", "-m", "base", "--key", str(key))
    return site


@pytest.fixture
def site(tmp_path: Path, base: Path) -> Site:
    """The small approved site."""
    return make_site(tmp_path, base)


def contents(root: Path) -> dict[str, object]:
    """Every path under root: ('dir',), ('file', bytes), ('link', target) or ('special',)."""
    found: dict[str, object] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root)
            mode = os.lstat(full).st_mode
            if stat.S_ISDIR(mode):
                found[rel] = ("dir",)
            elif stat.S_ISLNK(mode):
                found[rel] = ("link", os.readlink(full))
            elif stat.S_ISREG(mode):
                found[rel] = ("file", Path(full).read_bytes())
            else:
                found[rel] = ("special",)
    return found


# --- 10: FIFOs, sockets, devices ---------------------------------------------------------

def test_fifo_in_place_of_an_approved_folder_is_flagged_and_restored(site: Site) -> None:
    before = contents(site.docroot)
    shutil.rmtree(site.docroot / "docs")
    os.mkfifo(site.docroot / "docs")
    (site.docroot / "about.html").unlink()
    os.mkfifo(site.docroot / "about.html")
    site.run("check", expect=(1, 2))
    found = site.findings()
    assert found["docs"]["change"] == "type"
    assert found["about.html"]["change"] == "type"
    assert "special_file" in found["docs"]["codes"]
    # the metadata file keeps them as their own kind; git holds no blob for them
    assert " s docs\n" in git(site.repo, "show", "snapshots:.gitguard-meta") + "\n"
    proc = site.run("restore", "www", "--yes")
    assert "verified" in proc.stdout
    assert contents(site.docroot) == before
    site.run("verify", "www")


def test_new_socket_is_reported_and_removed(site: Site) -> None:
    folder = site.docroot / "uploads"
    cwd = os.getcwd()
    os.chdir(folder)  # AF_UNIX paths are short: bind by a relative name
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.bind("s.sock")
    finally:
        os.chdir(cwd)
    assert stat.S_ISSOCK(os.lstat(folder / "s.sock").st_mode)
    site.run("check", expect=1)
    found = site.findings()["uploads/s.sock"]
    assert (found["change"], found["severity"]) == ("added", "warning")
    assert found["codes"] == ["special_file"]
    site.run("restore", "www", "--yes")
    assert not os.path.lexists(folder / "s.sock")
    site.run("verify", "www")


# --- 6: paths git cannot hold under their own name ---------------------------------------

@pytest.mark.parametrize("hidden", [".git/x.php", "sub/.GIT/shell.php", ".gitguard-meta/x.php",
                                    ".gitguard-unstorable/y.phtml"])
def test_unstorable_script_is_critical_kept_as_evidence_and_removed(site: Site,
                                                                    hidden: str) -> None:
    path = site.docroot / hidden
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(WEBSHELL)
    proc = site.run("check", expect=2)
    assert "skipping" not in proc.stderr
    found = site.findings()[hidden]
    assert found["severity"] == "critical"
    assert "unstorable_path" in found["codes"]
    # the snapshot keeps the content under an escaped name no git tool refuses
    names = git(site.repo, "ls-tree", "-r", "--name-only", "snapshots").splitlines()
    escaped = [n for n in names if n.startswith(".gitguard-unstorable/")]
    assert len(escaped) == 1 and all(part.lower() != ".git" for part in escaped[0].split("/"))
    assert git(site.repo, "show", f"snapshots:{escaped[0]}") == WEBSHELL.decode().strip()
    evidence = git(site.repo, "rev-parse", "snapshots")
    proc = site.run("restore", "www", "--yes")
    assert "verified" in proc.stdout
    assert not path.exists()
    # the evidence snapshot still holds it after the restore
    assert escaped[0] in git(site.repo, "ls-tree", "-r", "--name-only", evidence)
    site.run("verify", "www")


@pytest.mark.parametrize("transport", ["ssh", "sftp"])
@pytest.mark.parametrize("hidden", [".git/x.php", ".gitguard-meta/x.php"])
def test_unstorable_script_over_ssh(tmp_path: Path, base: Path, sshd: SshServer,
                                    transport: str, hidden: str) -> None:
    """The store's side works whatever lists the tree: a find listing, or an SFTP walk."""
    site = make_site(tmp_path, base, sshd=sshd, sftp=transport == "sftp")
    path = site.docroot / hidden
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(WEBSHELL)
    sshd.chown_to_user(site.docroot)
    site.run("check", expect=2)
    assert site.findings()[hidden]["severity"] == "critical"
    names = git(site.repo, "ls-tree", "-r", "--name-only", "snapshots").splitlines()
    escaped = [n for n in names if n.startswith(".gitguard-unstorable/")]
    assert git(site.repo, "show", f"snapshots:{escaped[0]}") == WEBSHELL.decode().strip()
    site.run("restore", "www", "--yes")
    assert not path.exists()
    site.run("verify", "www")


def test_unstorable_plain_file_is_a_warning(site: Site) -> None:
    (site.docroot / ".git").mkdir()
    (site.docroot / ".git" / "config").write_bytes(b"[core]\n")
    site.run("check", expect=1)
    found = site.findings()[".git/config"]
    assert found["severity"] == "warning"
    assert found["codes"] == ["unstorable_path"]
    site.run("restore", "www", "--yes")
    assert not (site.docroot / ".git").exists()
    site.run("verify", "www")


def test_approved_unstorable_file_round_trips(tmp_path: Path, base: Path) -> None:
    """An approved `.gitguard-meta` file and `.git` folder come back byte for byte."""
    files = {**FILES, ".gitguard-meta": b"not gitguard's\n", "a/.git/HEAD": b"ref: x\n"}
    site = make_site(tmp_path, base, files)
    site.run("check")
    before = contents(site.docroot)
    (site.docroot / ".gitguard-meta").write_bytes(b"changed\n")
    shutil.rmtree(site.docroot / "a")
    site.run("check", expect=1)
    site.run("restore", "www", "--yes")
    assert contents(site.docroot) == before
    site.run("verify", "www")


# --- 8 and 9: descriptors and PATH_MAX ----------------------------------------------------

def _deep_chain(root: Path, depth: int, name: str) -> tuple[int, list[str]]:
    """A chain of `depth` folders called `name` below root, made by descriptors (no path
    string too long for the OS); an open descriptor of the last, and the path parts."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(depth):
        os.mkdir(name, dir_fd=fd)
        nxt = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = nxt
    return fd, [name] * depth


def _write_at(fd: int, name: str, data: bytes) -> None:
    out = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644, dir_fd=fd)
    try:
        os.write(out, data)
    finally:
        os.close(out)
    os.chmod(name, 0o644, dir_fd=fd)


def _read_at(fd: int, name: str) -> bytes:
    inp = os.open(name, os.O_RDONLY, dir_fd=fd)
    try:
        return os.read(inp, 1 << 16)
    finally:
        os.close(inp)


@pytest.mark.slow
def test_wide_and_deep_trees_under_a_low_descriptor_limit(tmp_path: Path, base: Path) -> None:
    site = make_site(tmp_path, base, {"index.html": b"<h1>x</h1>\n"})
    for n in range(1100):
        (site.docroot / "wide" / f"d{n:04d}").mkdir(parents=True)
    fd, _ = _deep_chain(site.docroot, 300, "d")
    try:
        _write_at(fd, "bottom.html", b"<p>deep</p>\n")
        site.run("mirror", limit_fds=256)
        site.run("approve", "www", "-m", "wide and deep", "--key", str(site.key))
        _write_at(fd, "bottom.html", b"<h1>Hacked by X</h1>\n")
        _write_at(fd, "shell.php", WEBSHELL)
        for n in range(0, 1100, 100):
            (site.docroot / "wide" / f"d{n:04d}").rmdir()
        os.mkdir("evil", dir_fd=fd)
        evil, _ = _deep_chain(site.docroot / "wide" / "d0001", 300, "e")
        os.close(evil)
        site.run("check", limit_fds=256, expect=2)
        site.run("restore", "www", "--yes", limit_fds=256)
        site.run("verify", "www", limit_fds=256)
        assert _read_at(fd, "bottom.html") == b"<p>deep</p>\n"
        assert sorted(os.listdir(fd)) == ["bottom.html"]
        assert len(os.listdir(site.docroot / "wide")) == 1100
        assert os.listdir(site.docroot / "wide" / "d0001") == []
    finally:
        os.close(fd)


def test_paths_longer_than_path_max(site: Site) -> None:
    fd, parts = _deep_chain(site.docroot, 40, "n" * 120)
    try:
        _write_at(fd, "deep.html", b"<p>deep</p>\n")
        assert len("/".join([*parts, "deep.html"]).encode()) > 4096
        site.run("mirror")
        site.run("approve", "www", "-m", "deep", "--key", str(site.key))
        _write_at(fd, "deep.html", b"<h1>Hacked by X</h1>\n")
        _write_at(fd, "shell.php", WEBSHELL)
        site.run("check", expect=2)
        site.run("restore", "www", "--yes")
        assert _read_at(fd, "deep.html") == b"<p>deep</p>\n"
        assert sorted(os.listdir(fd)) == ["deep.html"]
        site.run("verify", "www")
    finally:
        os.close(fd)


# --- 4 and 16: races ----------------------------------------------------------------------

def _racer(code: str, user: str | None = WEB_USER) -> subprocess.Popen[bytes]:
    """An endless loop of the attacker's, as the web user (root with user None)."""
    script = "import os, time\n" + textwrap.dedent(code)
    argv = ["/usr/bin/python3", "-c", script]
    if user is not None:
        argv = ["runuser", "-u", user, "--", *argv]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Kill the racer and its children (runuser's child outlives runuser)."""
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _chown_tree(root: Path, user: str) -> None:
    uid, gid = int(subprocess.check_output(["id", "-u", user])), \
        int(subprocess.check_output(["id", "-g", user]))
    os.chown(root, uid, gid)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            os.chown(os.path.join(dirpath, name), uid, gid, follow_symlinks=False)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root and the web user")
@pytest.mark.slow
def test_chmod_never_follows_a_symlink_swapped_in_during_restores(tmp_path: Path,
                                                                   base: Path) -> None:
    names = [f"p{n:03d}.html" for n in range(200)]
    files = {name: b"<p>page</p>\n" for name in names}
    docroot = base / "html"
    site = make_site(tmp_path, base, files)
    _chown_tree(docroot, WEB_USER)
    site.run("mirror")
    site.run("approve", "www", "-m", "owned by the web user", "--key", str(site.key))
    secret = site.outside / "secret"
    secret.write_bytes(b"root only\n")
    secret.chmod(0o600)
    for name in names:
        (docroot / name).chmod(0o600)
    # Idle while the restore takes its evidence. The restore then puts the modes back in
    # name order: told of each by inotify, swap the next name with a link to the secret and
    # back (renameat2 RENAME_EXCHANGE, one atomic call a swap) until its turn has passed,
    # aiming at the moment between the restore's look at the name and its chmod. Afterwards
    # put the files back and lock them again for the next round.
    ahead = 4  # names swapped at once: the restore runs ahead of the events
    racer = _racer(f"""
        import ctypes, struct
        libc = ctypes.CDLL(None, use_errno=True)
        def exchange(a, b):
            return libc.renameat2(-100, a, -100, b, 2) == 0  # AT_FDCWD, RENAME_EXCHANGE
        os.chdir({str(docroot)!r})
        names = [os.fsencode(n) for n in {names!r}]
        order = {{name: n for n, name in enumerate(names)}}
        events = libc.inotify_init1(os.O_NONBLOCK)
        libc.inotify_add_watch(events, b".", 0x4)  # IN_ATTRIB
        def changed():
            try:
                data = os.read(events, 65536)
            except BlockingIOError:
                return []
            out, pos = [], 0
            while pos < len(data):
                _wd, _mask, _cookie, size = struct.unpack_from("iIII", data, pos)
                out.append(data[pos + 16:pos + 16 + size].rstrip(b"\\0"))
                pos += 16 + size
            return out
        def quietly(call, *args):
            try:
                call(*args)
            except OSError:
                pass
        while True:
            at, last, turn = None, time.monotonic(), 0
            while True:
                seen = [order[n] for n in changed() if n in order]
                if seen:
                    last = time.monotonic()
                    if at is None and 0 in seen:
                        at = 0
                    if at is not None:
                        at = max(at, max(seen) + 1)
                if at is None or at >= len(names):
                    if at is not None and time.monotonic() - last > 0.3:
                        break
                    time.sleep(0.0001)
                    continue
                turn += 1
                name = names[min(at + turn % {ahead}, len(names) - 1)]
                link = name + b".l"
                if not os.path.lexists(link):
                    quietly(os.symlink, {str(secret)!r}, link)
                exchange(name, link)
            for name in names:
                if os.path.islink(name):
                    quietly(exchange, name, name + b".l")
            for name in names:
                quietly(os.chmod, name, 0o600)
            time.sleep(0.05)
            changed()
        """)
    try:
        for rounds in range(4):
            site.run("restore", "www", "--yes", expect=(0, 2, 3))
            st = os.lstat(secret)
            assert (stat.S_IMODE(st.st_mode), st.st_uid) == (0o600, 0), f"round {rounds}"
    finally:
        _stop(racer)
    for name in names:  # the racer may have left one swapped
        link = docroot / (name + ".l")
        if (docroot / name).is_symlink() and os.path.lexists(link):
            os.replace(link, docroot / name)
            (docroot / name).unlink()
        if os.path.lexists(link):
            link.unlink()
    site.run("restore", "www", "--yes")
    site.run("verify", "www")
    assert stat.S_IMODE(os.lstat(secret).st_mode) == 0o600


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root and the web user")
@pytest.mark.slow
def test_paths_changing_under_the_scan_never_give_a_traceback(tmp_path: Path,
                                                             base: Path) -> None:
    docroot = base / "html"
    site = make_site(tmp_path, base)
    _chown_tree(docroot, WEB_USER)
    site.run("mirror")
    site.run("approve", "www", "-m", "web user's", "--key", str(site.key))
    racer = _racer(f"""
        os.chdir({str(docroot)!r})
        n = 0
        while True:
            n += 1
            try:
                os.symlink("index.html", "x.tmp")
                os.rename("x.tmp", "x")
                with open("y.tmp", "w") as handle:
                    handle.write("y")
                os.rename("y.tmp", "x")
                os.mkdir("d.tmp")
                os.rename("d.tmp", "d") if not os.path.lexists("d") else None
                os.rmdir("d") if os.path.isdir("d") and not os.path.islink("d") else None
                os.symlink("docs", "d")
                os.unlink("d")
            except OSError:
                pass
        """)
    reports = 0
    try:
        deadline = time.monotonic() + 12
        while time.monotonic() < deadline:
            proc = site.run("mirror", expect=(0, 3))
            if proc.returncode == 3:
                assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
            proc = site.run("restore", "www", "--yes", expect=(0, 2, 3))
            if proc.returncode != 3 or "rescan after the restore" in proc.stderr:
                reports += 1
            names = git(site.repo, "ls-tree", "-r", "--name-only",
                        "refs/heads/journal").splitlines()
            assert len([n for n in names if "/repair-" in n]) == reports
    finally:
        _stop(racer)
    for name in ("x", "x.tmp", "y.tmp", "d", "d.tmp"):
        path = docroot / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif os.path.lexists(path):
            path.unlink()
    site.run("restore", "www", "--yes")
    site.run("verify", "www")


# --- 7: files above max_file_size -------------------------------------------------------

def _peak_rss_kb(*args: str, config: Path) -> tuple[subprocess.CompletedProcess[str], int]:
    """The CLI's result and the peak memory (KiB) of it and everything it ran."""
    probe = textwrap.dedent("""
        import resource, subprocess, sys
        proc = subprocess.run(sys.argv[1:], capture_output=True, text=True)
        sys.stderr.write(proc.stderr)
        sys.stdout.write(proc.stdout)
        sys.stdout.write("\\nPEAK %d\\n" % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
        sys.exit(proc.returncode)
        """)
    proc = subprocess.run([sys.executable, "-c", probe, sys.executable, "-m", "gitguard.cli",
                           "-c", str(config), *args], capture_output=True, text=True,
                          timeout=300, check=False)
    peak = int(proc.stdout.rsplit("PEAK ", 1)[1])
    return proc, peak


def test_sparse_100g_file_is_reported_not_read_and_not_removed(site: Site) -> None:
    big = site.docroot / "unduhan" / "backup.tar"
    big.parent.mkdir()
    subprocess.run(["truncate", "-s", "100G", str(big)], check=True)
    started = time.monotonic()
    proc, peak = _peak_rss_kb("check", config=site.config)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "max_file_size" in proc.stderr
    assert peak < 300_000, f"peak memory {peak} KiB"
    assert time.monotonic() - started < 60
    found = site.findings()["unduhan/backup.tar"]
    assert found["severity"] == "warning"
    assert "not_backed_up" in found["codes"]
    # a restore puts back what it can, and leaves the file it holds no copy of
    (site.docroot / "about.html").write_bytes(b"<h1>Hacked by X</h1>\n")
    proc = site.run("restore", "www", "--yes", expect=2)
    assert "unduhan/backup.tar" in proc.stderr
    assert big.stat().st_size == 100 << 30
    assert (site.docroot / "about.html").read_bytes() == FILES["about.html"]
    site.run("verify", "www", expect=2)


def test_file_above_a_configured_limit_is_listed_not_kept(tmp_path: Path, base: Path) -> None:
    site = make_site(tmp_path, base, options={"max_file_size": "1 MB"})
    (site.docroot / "dump.sql").write_bytes(b"x" * 2_000_000)
    site.run("check", expect=1)
    assert "dump.sql" in git(site.repo, "show", "snapshots:.gitguard-meta")
    names = git(site.repo, "ls-tree", "-r", "--name-only", "snapshots").splitlines()
    assert "dump.sql" not in names
    # approved as it is: listed, mode and owner compared, the content never kept
    site.run("approve", "www", "-m", "the dump stays", "--key", str(site.key))
    site.run("check")
    site.run("verify", "www")
