"""`gitguard init`, `mirror` and `log` on a local path and over a real sshd (both accounts)."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import git, gitguard, tree_files, write_config
from sshd import SshServer

import gitguard as gitguard_package
from gitguard.actions.mirror import mirror_locked
from gitguard.config import load
from gitguard.errors import ScanError
from gitguard.policy import PathSet
from gitguard.progress import progress
from gitguard.remote import open_remote
from gitguard.remote import ssh as ssh_remote
from gitguard.store.objects import blob_id
from gitguard.store.repo import SNAPSHOTS, SiteRepo
from gitguard.store.snapshot import commit_snapshot, files_to_read

ODD_NAMES = [b"with space.html", b"new\nline.txt", b"-leading-dash.php", b"\xff\xfe.bin",
             b"caf\xc3\xa9.html", b"back\\slash", b'quote".txt', b"tab\there", b"..dots",
             b"\xe2\x80\xaertl.php"]


def build_site(root: Path) -> None:
    """A small site with every kind of path gitguard must keep exactly."""
    (root / "index.html").write_text("<h1>Pemerintah Kabupaten</h1>\n")
    (root / "wp-content" / "uploads" / "2024").mkdir(parents=True)
    (root / "wp-content" / "uploads" / "2024" / "foto.jpg").write_bytes(
        b"\xff\xd8\xff\xe0" + os.urandom(50_000))
    (root / "cgi").mkdir()
    (root / "cgi" / "run.sh").write_text("#!/bin/sh\necho hi\n")
    (root / "cgi" / "run.sh").chmod(0o755)
    (root / "empty-dir").mkdir()
    os.symlink("index.html", root / "home.html")
    os.symlink("/etc/passwd", root / "passwd-link")
    odd = root / "odd"
    odd.mkdir()
    for raw in ODD_NAMES:
        (odd / os.fsdecode(raw)).write_bytes(b"content of " + raw)


def expected_files(root: Path) -> dict[bytes, bytes]:
    """What a snapshot must hold: path bytes -> content (link target for symlinks)."""
    result: dict[bytes, bytes] = {}
    for dirpath, dirnames, filenames in os.walk(os.fsencode(root)):
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, os.fsencode(root))
            result[rel] = os.readlink(full) if os.path.islink(full) else Path(
                os.fsdecode(full)).read_bytes()
    return result


class Site:
    """A configured site and its repository."""

    def __init__(self, workdir: Path, docroot: Path, site: dict[str, object]) -> None:
        self.docroot = docroot
        self.config = write_config(workdir, {"www": site})
        self.repo = workdir / "gitguard-data" / "www.git"

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        proc = gitguard(*args, config=self.config)
        assert "Traceback" not in proc.stderr, proc.stderr
        return proc


@pytest.fixture(params=["local", "ssh", "sftp"])
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Site]:
    """The same small site behind each transport."""
    if request.param == "local":
        docroot = tmp_path / "htdocs"
        docroot.mkdir()
        build_site(docroot)
        yield Site(tmp_path, docroot, {"source": str(docroot)})
        return
    sshd: SshServer = request.getfixturevalue("sshd")
    docroot = sshd.make_docroot("html")
    build_site(docroot)
    sshd.chown_to_user(docroot)
    identity = sshd.sftp_identity if request.param == "sftp" else sshd.identity
    yield Site(tmp_path, docroot, {"source": sshd.url(docroot), "identity_file": str(identity),
                                   "known_hosts": str(sshd.known_hosts)})


def test_first_mirror_keeps_every_path_exactly(site: Site) -> None:
    assert site.run("init").returncode == 0
    proc = site.run("mirror")
    assert proc.returncode == 0, proc.stderr
    assert "added" in proc.stdout
    assert tree_files(site.repo, "snapshots") == expected_files(site.docroot)
    listing = git(site.repo, "ls-tree", "-r", "snapshots")
    assert "100755 blob" in listing and "cgi/run.sh" in listing
    assert "120000 blob" in listing
    metadata = git(site.repo, "show", "snapshots:.gitguard-meta")
    assert " d empty-dir" in metadata
    assert "0755" in metadata


def test_unchanged_mirror_commits_nothing_but_is_journaled(site: Site) -> None:
    site.run("init")
    site.run("mirror")
    first = git(site.repo, "rev-parse", "snapshots")
    proc = site.run("mirror")
    assert proc.returncode == 0
    assert "unchanged" in proc.stdout
    assert git(site.repo, "rev-parse", "snapshots") == first
    runs = json.loads(site.run("log", "www", "--json").stdout)["runs"]
    assert [r["action"] for r in runs] == ["mirror", "mirror"]
    assert "unchanged" in runs[1]["summary"]


def test_changes_are_counted_in_the_commit(site: Site, request: pytest.FixtureRequest) -> None:
    site.run("init")
    site.run("mirror")
    (site.docroot / "index.html").write_text("<h1>Diubah</h1>\n")
    (site.docroot / "baru.html").write_text("baru\n")
    (site.docroot / "cgi" / "run.sh").unlink()
    (site.docroot / "wp-content").chmod(0o777)
    if "sshd" in request.fixturenames:
        request.getfixturevalue("sshd").chown_to_user(site.docroot)
    proc = site.run("mirror")
    assert proc.returncode == 0, proc.stderr
    subject = git(site.repo, "log", "-1", "--format=%s", "snapshots")
    assert subject.startswith("snapshot: 1 added, 1 modified, 1 deleted, 1 mode or owner")
    diff = git(site.repo, "diff", "snapshots~1", "snapshots", "--", ".gitguard-meta")
    assert "+0777" in diff and "wp-content" in diff
    # the tree built from the kept index is exactly the docroot
    assert tree_files(site.repo, "snapshots") == expected_files(site.docroot)
    (site.docroot / "cgi").rename(site.docroot / "cgi2")
    (site.docroot / "baru.html").unlink()
    (site.docroot / "baru.html").mkdir()
    (site.docroot / "baru.html" / "dalam.txt").write_text("x\n")
    assert site.run("mirror").returncode == 0
    assert tree_files(site.repo, "snapshots") == expected_files(site.docroot)


def test_lost_scan_cache_is_rebuilt_from_the_snapshot(site: Site,
                                                      request: pytest.FixtureRequest) -> None:
    """Without gitguard's private cache every file is read again, and the commit still
    counts only what really changed against the newest snapshot."""
    site.run("init")
    site.run("mirror")
    first = git(site.repo, "rev-parse", "snapshots")
    private = site.repo / "gitguard"

    def forget() -> None:
        for name in ("scan-cache", "snapshot.index", "listing"):
            (private / name).unlink(missing_ok=True)

    forget()
    proc = site.run("mirror")
    assert "unchanged" in proc.stdout, proc.stdout
    assert git(site.repo, "rev-parse", "snapshots") == first
    forget()
    (site.docroot / "index.html").write_text("<h1>Diubah lagi</h1>\n")
    (site.docroot / "cgi" / "run.sh").chmod(0o700)
    (site.docroot / "odd" / "with space.html").unlink()
    if "sshd" in request.fixturenames:
        request.getfixturevalue("sshd").chown_to_user(site.docroot)
    proc = site.run("mirror")
    assert proc.returncode == 0, proc.stderr
    files, read = re.search(r"\((\d+) files, (\d+) read", proc.stdout).groups()  # type: ignore[union-attr]
    assert int(read) == int(files) - 2  # every regular file again; the two links are not read
    subject = git(site.repo, "log", "-1", "--format=%s", "snapshots")
    assert subject == "snapshot: 0 added, 1 modified, 1 deleted, 1 mode or owner changes"
    assert tree_files(site.repo, "snapshots") == expected_files(site.docroot)
    assert "unchanged" in site.run("mirror").stdout


def test_same_size_edit_with_reset_mtime_is_caught(site: Site,
                                                   request: pytest.FixtureRequest) -> None:
    """An attacker who keeps the size and puts the mtime back is still seen: by ctime where
    the transport shows it, and by `mirror --deep` on SFTP-only accounts, which cannot."""
    site.run("init")
    site.run("mirror")
    target = site.docroot / "index.html"
    before = target.stat()
    target.write_bytes(target.read_bytes().replace(b"Pemerintah", b"HACKED!!!!"))
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert target.stat().st_size == before.st_size
    assert site.run("mirror").returncode == 0
    caught = b"HACKED" in tree_files(site.repo, "snapshots")[b"index.html"]
    if request.node.callspec.params["site"] == "sftp":
        assert not caught  # the documented limit of SFTP: no ctime
        assert site.run("mirror", "--deep").returncode == 0
        caught = b"HACKED" in tree_files(site.repo, "snapshots")[b"index.html"]
    assert caught


def test_unknown_and_changed_host_keys_stop_the_run(sshd: SshServer, tmp_path: Path) -> None:
    docroot = sshd.make_docroot("html")
    build_site(docroot)
    sshd.chown_to_user(docroot)
    assert sshd.wrong_known_hosts.read_text().count("\n") == 1
    for known_hosts, word in ((sshd.empty_known_hosts, "unknown host key"),
                              (sshd.wrong_known_hosts, "CHANGED")):
        work = tmp_path / word.replace(" ", "-")
        work.mkdir()
        config = write_config(work, {"www": {"source": sshd.url(docroot),
                                             "identity_file": str(sshd.identity),
                                             "known_hosts": str(known_hosts)}})
        for command in ("init", "mirror"):
            proc = gitguard(command, config=config)
            assert proc.returncode == 3
            assert "host key" in proc.stderr and word in proc.stderr
            assert "SHA256:" in proc.stderr
            assert "Traceback" not in proc.stderr
    # never auto-added
    assert sshd.empty_known_hosts.read_text() == ""
    assert sshd.wrong_known_hosts.read_text().count("\n") == 1


def _remote_site(sshd: SshServer, tmp_path: Path, sftp: bool = False) -> tuple[Path, Path]:
    docroot = sshd.make_docroot("html")
    build_site(docroot)
    for i in range(20):
        # 40 MB in all: more than the SSH window, so a kill cannot come after the last byte
        (docroot / f"berkas-{i:02d}.bin").write_bytes(os.urandom(2_000_000))
    sshd.chown_to_user(docroot)
    config = write_config(tmp_path, {"www": {
        "source": sshd.url(docroot),
        "identity_file": str(sshd.sftp_identity if sftp else sshd.identity),
        "known_hosts": str(sshd.known_hosts)}})
    assert gitguard("init", config=config).returncode == 0
    return docroot, config


@pytest.mark.parametrize("sftp", [False, True], ids=["ssh", "sftp"])
def test_connection_killed_mid_transfer_commits_nothing(sshd: SshServer, tmp_path: Path,
                                                        sftp: bool) -> None:
    _docroot, config_path = _remote_site(sshd, tmp_path, sftp)
    config = load(config_path)
    site = config.sites["www"]
    repo = SiteRepo.open(config.repo_path(site))
    remote = open_remote(site)
    entries = remote.scan(PathSet(())).entries
    cache = repo.load_cache()
    paths = files_to_read(cache, entries, deep=False)
    assert len(paths) > 10

    def killed_after_first() -> Iterator[object]:
        for n, content in enumerate(remote.read(paths)):
            yield content
            if n == 0:
                assert sshd.kill_sessions() > 0

    with pytest.raises(ScanError, match="connection lost"), progress("test", 0) as bar:
        commit_snapshot(repo, cache, entries, killed_after_first(), "t", bar)  # type: ignore[arg-type]
    remote.close()
    assert repo.git.rev(SNAPSHOTS) is None
    # The next run completes the snapshot.
    proc = gitguard("mirror", config=config_path)
    assert proc.returncode == 0, proc.stderr
    assert repo.git.rev(SNAPSHOTS) is not None


@pytest.mark.parametrize("sftp", [False, True], ids=["ssh", "sftp"])
def test_unreadable_and_vanished_files_are_named(sshd: SshServer, tmp_path: Path,
                                                 sftp: bool) -> None:
    docroot, config_path = _remote_site(sshd, tmp_path, sftp)
    sshd.run_as_user(f"chmod 000 {docroot}/berkas-03.bin")
    proc = gitguard("mirror", config=config_path)
    assert proc.returncode == 3
    assert "berkas-03.bin" in proc.stderr and "permission denied" in proc.stderr.lower()
    assert "nothing was committed" in proc.stderr
    assert "Traceback" not in proc.stderr
    repo_path = tmp_path / "gitguard-data" / "www.git"
    assert git(repo_path, "for-each-ref", "refs/heads/snapshots") == ""
    sshd.run_as_user(f"chmod 644 {docroot}/berkas-03.bin")

    # A file listed by the scan but gone before it is read.
    config = load(config_path)
    site = config.sites["www"]
    repo = SiteRepo.open(config.repo_path(site))
    remote = open_remote(site)
    entries = remote.scan(PathSet(())).entries
    sshd.run_as_user(f"rm {docroot}/berkas-07.bin")
    with pytest.raises(ScanError, match=r"berkas-07\.bin.*vanished"), progress("t", 0) as bar:
        cache = repo.load_cache()
        commit_snapshot(repo, cache, entries,
                        remote.read(files_to_read(cache, entries, False)), "test", bar)
    remote.close()
    assert repo.git.rev(SNAPSHOTS) is None


def test_unreadable_folder_is_named(sshd: SshServer, tmp_path: Path) -> None:
    docroot, config_path = _remote_site(sshd, tmp_path)
    sshd.run_as_user(f"chmod 000 {docroot}/odd")
    proc = gitguard("mirror", config=config_path)
    sshd.run_as_user(f"chmod 755 {docroot}/odd")
    assert proc.returncode == 3
    assert "odd" in proc.stderr and "Traceback" not in proc.stderr


def test_symlinked_folder_is_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("rahasia\n")
    docroot = tmp_path / "htdocs"
    docroot.mkdir()
    (docroot / "index.html").write_text("x\n")
    os.symlink(outside, docroot / "uploads")
    config = write_config(tmp_path, {"www": {"source": str(docroot)}})
    gitguard("init", config=config)
    assert gitguard("mirror", config=config).returncode == 0
    files = tree_files(tmp_path / "gitguard-data" / "www.git", "snapshots")
    assert files == {b"index.html": b"x\n", b"uploads": os.fsencode(outside)}


def test_exclude_is_never_backed_up(tmp_path: Path) -> None:
    docroot = tmp_path / "htdocs"
    (docroot / "wp-content" / "cache").mkdir(parents=True)
    (docroot / "wp-content" / "cache" / "page.html").write_text("cache\n")
    (docroot / "error.log").write_text("log\n")
    (docroot / "index.html").write_text("x\n")
    config = write_config(tmp_path, {"www": {"source": str(docroot),
                                             "exclude": ["*.log", "wp-content/cache/**"]}})
    gitguard("init", config=config)
    assert gitguard("mirror", config=config).returncode == 0
    files = tree_files(tmp_path / "gitguard-data" / "www.git", "snapshots")
    assert set(files) == {b"index.html"}


def test_unchanged_listing_shortcut_over_ssh(sshd: SshServer, tmp_path: Path) -> None:
    """An unchanged re-mirror on a command account compares the raw listing with the last
    one and skips the rest; a new exclude pattern or any change takes the full path."""
    docroot = sshd.make_docroot("html")
    build_site(docroot)
    sshd.chown_to_user(docroot)
    site = {"source": sshd.url(docroot), "identity_file": str(sshd.identity),
            "known_hosts": str(sshd.known_hosts)}
    config = write_config(tmp_path, {"www": site})
    repo = tmp_path / "gitguard-data" / "www.git"
    gitguard("init", config=config)
    assert gitguard("mirror", config=config).returncode == 0
    assert (repo / "gitguard" / "listing").is_file()
    first = git(repo, "rev-parse", "snapshots")
    files = len(tree_files(repo, "snapshots"))
    # the shortcut: the cache is never read, so a broken one goes unnoticed and unneeded
    (repo / "gitguard" / "scan-cache").write_bytes(b"broken")
    proc = gitguard("mirror", config=config)
    assert proc.stdout.strip() == f"www: unchanged (snapshot {first[:12]}, {files} files)"
    sshd.run_as_user(f"chmod 600 {docroot}/index.html")
    assert "1 mode or owner changes" in gitguard("mirror", config=config).stdout
    config = write_config(tmp_path, {"www": {**site, "exclude": ["odd/**"]}})
    proc = gitguard("mirror", config=config)
    assert f"{len(ODD_NAMES)} deleted" in proc.stdout, proc.stdout
    assert not any(path.startswith(b"odd/") for path in tree_files(repo, "snapshots"))
    assert "unchanged" in gitguard("mirror", config=config).stdout
    # a change: only the records that differ from the last listing are parsed
    sshd.run_as_user(f"echo diubah >> {docroot}/index.html; rm {docroot}/cgi/run.sh")
    proc = gitguard("-v", "mirror", config=config)
    assert "1 modified, 1 deleted" in proc.stdout, proc.stdout + proc.stderr
    assert "paths listed as new or changed" in proc.stderr
    assert tree_files(repo, "snapshots")[b"index.html"].endswith(b"diubah\n")
    assert not any(path.startswith(b"odd/") for path in tree_files(repo, "snapshots"))
    # what the delta committed is what a full, deep read of the server gives
    assert "unchanged" in gitguard("mirror", "--deep", config=config).stdout


def test_lock_keeps_two_runs_apart_and_a_killed_holder_releases_it(tmp_path: Path) -> None:
    docroot = tmp_path / "htdocs"
    docroot.mkdir()
    (docroot / "index.html").write_text("x\n")
    config = write_config(tmp_path, {"www": {"source": str(docroot)}})
    gitguard("init", config=config)
    repo = tmp_path / "gitguard-data" / "www.git"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path; from gitguard.store.repo import SiteRepo\n"
        f"repo = SiteRepo.open(Path({str(repo)!r}))\n"
        "with repo.lock():\n    print('locked', flush=True); time.sleep(60)\n")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        proc = gitguard("mirror", config=config)
        assert proc.returncode == 3
        assert "busy" in proc.stderr and str(holder.pid) in proc.stderr
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    time.sleep(0.1)
    assert gitguard("mirror", config=config).returncode == 0


def test_missing_docroot_and_unreachable_server(tmp_path: Path) -> None:
    config = write_config(tmp_path, {
        "gone": {"source": str(tmp_path / "nope")},
        "down": {"source": "ssh://u@127.0.0.1:1/var/www", "identity_file": str(tmp_path / "k"),
                 "known_hosts": str(tmp_path / "kh")}})
    (tmp_path / "kh").write_text("")
    shutil.copy("/etc/hostname", tmp_path / "k")
    proc = gitguard("init", config=config)
    assert proc.returncode == 3
    assert "gone:" in proc.stderr and "down:" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = gitguard("mirror", "gone", config=config)
    assert proc.returncode == 3 and proc.stderr.count("\n") == 1


def test_usage_errors_exit_3(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"www": {"source": str(tmp_path)}})
    for args in (("mirror", "--bogus"), ("nosuchcommand",), ("log",)):
        proc = gitguard(*args, config=config)
        assert proc.returncode == 3, args
        assert "Traceback" not in proc.stderr
    proc = gitguard("mirror", "nosite", config=config)
    assert proc.returncode == 3 and "unknown site" in proc.stderr


def test_look_at_single_paths_over_ssh(sshd: SshServer, tmp_path: Path) -> None:
    """After a restore only the paths it wrote are looked at again: each of them and the
    folders above them, never through a link; a folder swapped for a link means a full
    listing."""
    docroot = sshd.make_docroot("html")
    build_site(docroot)
    sshd.chown_to_user(docroot)
    config = write_config(tmp_path, {"www": {
        "source": sshd.url(docroot), "identity_file": str(sshd.identity),
        "known_hosts": str(sshd.known_hosts)}})
    remote = open_remote(load(config).sites["www"])
    try:
        odd = [os.fsdecode(b"odd/" + raw) for raw in ODD_NAMES]
        looked = remote.look(["index.html", "cgi/run.sh", "gone/not-here.php", *odd],
                             PathSet(()))
        assert looked is not None
        kinds = {e.path: e.kind for e in looked}
        assert set(kinds) == {"index.html", "cgi", "cgi/run.sh", "odd", *odd}
        full = {e.path: e for e in remote.scan(PathSet(())).entries}
        assert all(full[e.path] == e for e in looked)  # what a listing would say
        assert remote.look(["index.html/under-a-file"], PathSet(())) is None
        sshd.run_as_user(f"mv {docroot}/cgi {docroot}/cgi2 && ln -s cgi2 {docroot}/cgi")
        assert remote.look(["cgi/run.sh"], PathSet(())) is None
        sshd.run_as_user(f"chmod 000 {docroot}/odd")
        with pytest.raises(ScanError, match="Permission denied"):
            remote.look([odd[0]], PathSet(()))
        sshd.run_as_user(f"chmod 755 {docroot}/odd")
        assert remote.look([], PathSet(())) == []
    finally:
        remote.close()


def test_blob_ids_hashed_on_the_server(sshd: SshServer, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The server's blob ids, by perl or python3, in one process or thread or several (a
    whole site is hashed in parallel), are git's, in the order asked; a link, a folder, a
    fifo or a missing path has none."""
    docroot = sshd.make_docroot("html")
    rng = random.Random(3)
    paths = []
    for i in range(400):
        path = docroot / f"d{i % 9}" / f"f{i}.php"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(rng.randbytes(rng.choice([0, 1, 700, 70_000, 200_000])))
        paths.append(f"d{i % 9}/f{i}.php")
    (docroot / os.fsdecode(b"odd\xff name")).write_bytes(b"odd")
    (docroot / "link.php").symlink_to("d0/f0.php")
    sshd.chown_to_user(docroot)
    asked = [*paths[:200], os.fsdecode(b"odd\xff name"), "link.php", "d1", "missing.php",
             *paths[200:]]
    expected = [blob_id((docroot / p).read_bytes()) if (docroot / p).is_file()
                and not (docroot / p).is_symlink() else "-" for p in asked]
    config = write_config(tmp_path, {"www": {
        "source": sshd.url(docroot), "identity_file": str(sshd.identity),
        "known_hosts": str(sshd.known_hosts)}})
    remote = open_remote(load(config).sites["www"])
    try:
        hashed = remote.hashes(asked)  # 404 paths: the server's python3
        assert hashed == {p: oid for p, oid in zip(asked, expected, strict=True) if oid != "-"}
        assert remote.hashes(asked[:3]) == {p: hashed[p] for p in asked[:3]}  # perl
        # a server whose python3 will not do: perl hashes the many files too
        monkeypatch.setattr(ssh_remote, "PYTHON_CHECK", "import no_such_module")
        assert remote.hashes(asked) == hashed
    finally:
        remote.close()
    # Both hashers, run as the server runs them: perl (processes) and python3 (threads).
    remote_dir = Path(gitguard_package.__file__).parent / "remote"
    fifo = docroot / "fifo"
    os.mkfifo(fifo)  # never opened: a hasher that did would hang here
    stdin = b"".join(os.fsencode(p) + b"\0" for p in [*asked, "fifo"])
    for argv in (["perl", "-e", (remote_dir / "perl" / "hash.pl").read_text()],
                 ["python3", "-c", (remote_dir / "blob_ids.py").read_text()]):
        for workers in ("1", "3", "9", "junk"):  # one, three, the cap of four, a typo
            out = subprocess.run([*argv, workers], input=stdin, cwd=docroot, timeout=60,
                                 capture_output=True, check=True).stdout
            assert out.decode().split("\0")[:-1] == [*expected, "-"], (argv[0], workers)


@pytest.mark.parametrize("sftp", [False, True], ids=["ssh", "sftp"])
def test_listing_started_ahead_is_the_scan(sshd: SshServer, tmp_path: Path,
                                           sftp: bool) -> None:
    """A restore starts the listing before it checks the approval: what the scan then
    collects is the tree as it is, the same as a scan started on its own."""
    docroot = sshd.make_docroot("html")
    build_site(docroot)
    sshd.chown_to_user(docroot)
    config = write_config(tmp_path, {"www": {
        "source": sshd.url(docroot),
        "identity_file": str(sshd.sftp_identity if sftp else sshd.identity),
        "known_hosts": str(sshd.known_hosts)}})
    site = load(config).sites["www"]
    plain = open_remote(site)
    ahead = open_remote(site)
    try:
        ahead.start_scan()
        ahead.start_scan()  # once is enough; a second call starts nothing more
        expected = plain.scan(PathSet(())).entries
        assert len(expected) > 10
        assert ahead.scan(PathSet(())).entries == expected
        assert ahead.scan(PathSet(())).entries == expected  # the next one lists anew
        ahead.start_scan()
        sshd.run_as_user(f"rm {docroot}/index.html")  # while it lists, or after: either
        seen = {e.path for e in ahead.scan(PathSet(())).entries}
        assert seen - {"index.html"} == {e.path for e in expected} - {"index.html"}  # tree
        assert "index.html" not in {e.path for e in ahead.scan(PathSet(())).entries}
    finally:
        plain.close()
        ahead.close()


def test_paths_a_restore_wrote_are_read_whatever_their_stat(site: Site) -> None:
    """The check after a restore reads the paths it wrote even when their size and mtime
    are what the last snapshot had: over SFTP (no ctime) a file written back within the
    second of the attack, at the same size, would otherwise keep the attacker's content
    in the snapshot that proves the repair."""
    assert site.run("init").returncode == 0
    assert site.run("mirror").returncode == 0
    index = site.docroot / "index.html"
    before = index.stat()
    index.write_bytes(bytes(reversed(index.read_bytes())))  # same size, other bytes
    os.utime(index, ns=(before.st_atime_ns, before.st_mtime_ns))  # the same mtime too
    config = load(site.config)
    www = config.sites["www"]
    repo = SiteRepo.open(config.repo_path(www))
    with repo.lock():
        outcome = mirror_locked(repo, www, only=["index.html"])
    assert outcome.commit is not None and outcome.read >= 1
    assert tree_files(site.repo, "snapshots")[b"index.html"] == index.read_bytes()
