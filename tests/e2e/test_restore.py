"""`gitguard restore` end to end: the real CLI against a local docroot and a real sshd.

Every scenario builds a site, approves it with a real SSH signature, damages it the way an
attacker would (as the web user over SSH), restores, and then checks the server's files byte
for byte, their modes, owners and link targets, the evidence kept in git and the journal.
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import stat
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import git, gitguard, make_key, tree_files, write_config
from sshd import SshServer

TRANSPORTS = ["local", "ssh", "sftp"]
APPROVED = "refs/heads/approved"
SNAPSHOTS = "refs/heads/snapshots"
JOURNAL = "refs/heads/journal"
# The web user's own Python: the attacker's scripts run as that user, outside root's pyenv.
ATTACKER_PYTHON = "/usr/bin/python3"

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
JPG = b"\xff\xd8\xff\xe0" + bytes(reversed(range(256))) * 16
ODD_NAMES = [b"file with spaces.html", b"new\nline.txt", b"-dash.html", b"bad\xffname.txt",
             "berita/ünïcødé-产品.html".encode(), b"tab\there.txt", b" leading space.txt",
             b'quote"back\\slash.txt']

# The approved site: path -> (mode, content); folders get 0755 unless listed in DIRS.
FILES: dict[bytes, tuple[int, bytes]] = {
    b"index.html": (0o644, b"<h1>Pemerintah Kota Contoh</h1>\n<p>Selamat datang</p>\n"),
    b"about.html": (0o644, b"<p>Tentang kami</p>\n"),
    b"news.html": (0o644, b"<p>Berita terbaru</p>\n"),
    b"footer.html": (0o644, b"<footer>Pemkot</footer>\n"),
    b"css/style.css": (0o644, b"body { color: #222; }\n"),
    b"js/app.js": (0o755, b"#!/usr/bin/env node\nconsole.log('ok');\n"),
    b"config.php": (0o640, b"<?php $db_password = 'rahasia';\n"),
    b"readme.txt": (0o644, b"Situs resmi.\n"),
    b"docs/guide.html": (0o644, b"<p>Panduan</p>\n"),
    b"docs/old/2019.html": (0o644, b"<p>Arsip</p>\n"),
    b"assets/logo.svg": (0o644, b"<svg/>\n"),
    b"assets/img/banner.png": (0o644, PNG),
    b"wp-content/uploads/2024/photo.jpg": (0o644, JPG),
    b"wp-content/plugins/contact/contact.php": (0o644, b"<?php /* contact form */\n"),
    b"wp-content/cache/page.html": (0o644, b"<p>cached</p>\n"),
    **{name: (0o644, b"odd: " + name + b"\n") for name in ODD_NAMES},
}
LINKS: dict[bytes, bytes] = {b"home.html": b"index.html", b"assets/current.svg": b"logo.svg"}
DIRS: dict[bytes, int] = {b"empty": 0o755, b"private": 0o750}
EXCLUDE = ["wp-content/cache/**", "*.log"]
ALLOW_NEW = ["wp-content/uploads/**/*.jpg"]

WEBSHELL = b"<?php if(isset($_GET['c'])){system($_GET['c']);} // b374k ?>\n"
DEFACED = b"<html><body><h1>Hacked by Anonymous Cyber Team</h1></body></html>\n"

State = dict[bytes, tuple[object, ...]]


@dataclass
class Site:
    """A site under test: its config, docroot, repository and how the attacker gets in."""

    config: Path
    docroot: Path
    repo: Path
    sshd: SshServer | None
    outside: Path  # a folder outside the docroot the attacker can write to

    def attack(self, code: str) -> None:
        """Run Python as the attacker in the docroot: the web user over SSH, root locally."""
        if self.sshd is None:
            self.as_root(code)
        else:
            self.sshd.run_as_user([ATTACKER_PYTHON, "-c", self._script(code)])

    def as_root(self, code: str) -> None:
        """Run Python as root in the docroot (an attacker with root, or the administrator)."""
        subprocess.run([sys.executable, "-c", self._script(code)], check=True)

    def _script(self, code: str) -> str:
        return f"import os, shutil\nos.chdir({str(self.docroot)!r})\n" + textwrap.dedent(code)


def run(*args: str, site: Site, expect: int = 0,
        input: str | None = "") -> subprocess.CompletedProcess[str]:
    """The real CLI (stdin a pipe, never a terminal); asserts the exit code and no crash."""
    proc = gitguard(*args, config=site.config, input=input)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == expect, (
        f"gitguard {' '.join(args)}: exit {proc.returncode}, expected {expect}\n"
        f"stdout: {proc.stdout}\nstderr: {proc.stderr}")
    return proc


def build(root: Path, files: dict[bytes, tuple[int, bytes]], links: dict[bytes, bytes],
          dirs: dict[bytes, int]) -> None:
    """Create files, links and folders under root with exact modes."""
    base = os.fsencode(root)
    for name in dirs:
        os.makedirs(os.path.join(base, name), exist_ok=True)
    for name, (mode, data) in files.items():
        path = os.path.join(base, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(data)
        os.chmod(path, mode)
    for name, target in links.items():
        os.symlink(target, os.path.join(base, name))
    for dirpath, dirnames, _ in os.walk(base):
        for name in dirnames:
            full = os.path.join(dirpath, name)
            os.chmod(full, dirs.get(os.path.relpath(full, base), 0o755))


def server_state(root: Path) -> State:
    """Every path under root (never following links): kind, mode, owner, content or target."""
    base = os.fsencode(root)
    state: State = {}
    for dirpath, dirnames, filenames in os.walk(base):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, base)
            st = os.lstat(full)
            owner = (st.st_uid, st.st_gid)
            if stat.S_ISLNK(st.st_mode):
                state[rel] = ("link", os.readlink(full), owner)
            elif stat.S_ISDIR(st.st_mode):
                state[rel] = ("dir", stat.S_IMODE(st.st_mode), owner)
            else:
                with open(full, "rb") as handle:
                    state[rel] = ("file", stat.S_IMODE(st.st_mode), handle.read(), owner)
    return state


def assert_same(actual: State, expected: State) -> None:
    """Equal states, with a readable list of the paths that differ."""
    differ = sorted(p for p in set(actual) | set(expected) if actual.get(p) != expected.get(p))
    assert not differ, "paths differ: " + "; ".join(
        f"{p!r}: server {actual.get(p)!r}, expected {expected.get(p)!r}" for p in differ[:10])


def sha256(path: str) -> str:
    """A file's SHA-256, to prove it was not touched."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def evidence_of(proc: subprocess.CompletedProcess[str], repo: Path) -> str:
    """The evidence snapshot a restore names on stdout, as a full commit id."""
    found = re.search(r"evidence kept in snapshot ([0-9a-f]{7,})", proc.stdout)
    assert found, proc.stdout
    return git(repo, "rev-parse", "--verify", found.group(1) + "^{commit}")


def repair_reports(repo: Path) -> list[str]:
    """The repair reports in the journal, as plain git lists them."""
    names = git(repo, "ls-tree", "-r", "--name-only", JOURNAL).splitlines()
    return [n for n in names if re.fullmatch(r"reports/\d{4}/\d\d/\d\d/repair-.+\.md", n)]


@pytest.fixture(scope="module")
def approver(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The kasubbag's key pair."""
    return make_key(tmp_path_factory.mktemp("keys"), "rina")


def make_site(tmp_path: Path, transport: str, sshd: SshServer | None,
              approver: tuple[Path, str], files: dict[bytes, tuple[int, bytes]] = FILES,
              links: dict[bytes, bytes] = LINKS, dirs: dict[bytes, int] = DIRS) -> Site:
    """Build, init, mirror and approve a site reached through `transport`."""
    people = {"rina": {"name": "Rina Wulandari", "role": "kasubbag",
                       "email": "rina@example.go.id", "signing_key": approver[1]}}
    options: dict[str, object] = {"exclude": EXCLUDE, "allow_new": ALLOW_NEW}
    if transport == "local":
        docroot = tmp_path / "html"
        docroot.mkdir()
        outside = tmp_path / "outside"
        outside.mkdir()
        build(docroot, files, links, dirs)
        options["source"] = str(docroot)
    else:
        assert sshd is not None
        docroot = sshd.make_docroot()
        outside = sshd.make_docroot("outside")
        build(docroot, files, links, dirs)
        sshd.chown_to_user(docroot)
        sftp = transport == "sftp"
        options.update(source=sshd.url(docroot, sftp=sftp),
                       identity_file=str(sshd.sftp_identity if sftp else sshd.identity),
                       known_hosts=str(sshd.known_hosts))
    (outside / "keep.txt").write_bytes(b"not the docroot\n")
    config = write_config(tmp_path, {"www": options}, people)
    site = Site(config, docroot, tmp_path / "gitguard-data" / "www.git",
                None if transport == "local" else sshd, outside)
    run("init", site=site)
    run("mirror", site=site)
    run("approve", "www", "-m", "base", "--key", str(approver[0]), site=site)
    return site


@pytest.fixture(params=TRANSPORTS)
def site(request: pytest.FixtureRequest, tmp_path: Path, approver: tuple[Path, str]) -> Site:
    """The standard site, approved, over each transport."""
    transport: str = request.param
    sshd = request.getfixturevalue("sshd") if transport != "local" else None
    return make_site(tmp_path, transport, sshd, approver)


@pytest.fixture
def local_site(tmp_path: Path, approver: tuple[Path, str]) -> Site:
    """The standard site on a local path."""
    return make_site(tmp_path, "local", None, approver)


ATTACK = """
    def put(name, data, mode=None):
        with open(name, "wb") as handle:
            handle.write(data)
        if mode is not None:
            os.chmod(name, mode)

    put(b"index.html", DEFACED)
    # Same size, mtime put back: only the content (or ctime) can tell.
    st = os.stat(b"footer.html")
    with open(b"footer.html", "r+b") as handle:
        handle.write(b"<footer>HACKED</footer>")
    os.utime(b"footer.html", ns=(st.st_atime_ns, st.st_mtime_ns))
    put(b"wp-content/uploads/2024/shell.php", WEBSHELL)
    os.remove(b"css/style.css")
    os.chmod(b"about.html", 0o777)
    os.chmod(b"js/app.js", 0o644)
    os.chmod(b"wp-content/plugins", 0o777)
    os.makedirs(b"evil/a/b")
    put(b"evil/slot-gacor.html", b"<h1>slot gacor maxwin</h1>\\n")
    put(b"evil/a/b/doorway.html", b"<a href=//judi.example>judi online</a>\\n")
    put(b"evil/a/x.php", WEBSHELL)
    for name in ODD_NAMES:
        put(name, b"spam " + name)
    os.remove(b"-dash.html")
    os.chmod(b"bad\\xffname.txt", 0o666)
    shutil.rmtree(b"assets")
    os.symlink(OUTSIDE, b"assets")
    os.remove(b"config.php")
    os.symlink(b"/etc/passwd", b"config.php")
    shutil.rmtree(b"docs")
    put(b"docs", b"<p>docs was a folder</p>\\n")
    os.remove(b"readme.txt")
    os.makedirs(b"readme.txt/inner")
    put(b"readme.txt/inner/payload.php", WEBSHELL)
    os.remove(b"home.html")
    os.symlink(b"../../../etc/shadow", b"home.html")
    os.rmdir(b"empty")
    os.chmod(b"private", 0o777)
    put(b"wp-content/uploads/2024/new-photo.jpg", JPG[::-1])
    put(b"wp-content/uploads/2024/polyglot.jpg", b"\\xff\\xd8\\xff\\xe0" + WEBSHELL)
    os.link(b"news.html", os.path.join(OUTSIDE, b"hardlink.html"))
    put(os.path.join(OUTSIDE, b"victim.html"), b"<p>the attacker's own file</p>\\n")
    os.remove(b"news.html")
    os.link(os.path.join(OUTSIDE, b"victim.html"), b"news.html")
    os.makedirs(b"wp-content/uploads/2025/01")
    put(b"wp-content/uploads/2025/01/fresh.jpg", JPG)
    put(b"wp-content/cache/page.html", b"<p>cached again</p>\\n")
    put(b"error.log", b"PHP Warning\\n")
"""


def attack(site: Site) -> None:
    """The full attack: defacement, webshells, spam folders, swapped types, odd names."""
    header = (f"DEFACED = {DEFACED!r}\nWEBSHELL = {WEBSHELL!r}\nJPG = {JPG!r}\n"
              f"ODD_NAMES = {ODD_NAMES!r}\nOUTSIDE = {os.fsencode(site.outside)!r}\n")
    site.attack(header + textwrap.dedent(ATTACK))


# Paths the restore must leave as the attacker left them: allowed new uploads, excluded paths.
KEPT = [b"wp-content/uploads/2024/new-photo.jpg", b"wp-content/uploads/2025",
        b"wp-content/uploads/2025/01", b"wp-content/uploads/2025/01/fresh.jpg",
        b"wp-content/cache/page.html", b"error.log"]


def test_restore_undoes_the_attack(site: Site) -> None:
    """Every kind of damage is put back exactly; what policy keeps stays; evidence kept."""
    approved = server_state(site.docroot)
    attack(site)
    damaged = server_state(site.docroot)
    # The attacker hard-linked files across the docroot's edge: a restore must not write
    # through those links either (a new file is renamed into place, the old inode untouched).
    outside_before = server_state(site.outside)
    passwd = sha256("/etc/passwd")
    assert damaged != approved

    proc = run("restore", "www", "--yes", site=site)
    assert sha256("/etc/passwd") == passwd
    assert "verified" in proc.stdout

    expected = {**approved, **{p: damaged[p] for p in KEPT}}
    assert_same(server_state(site.docroot), expected)
    assert_same(server_state(site.outside), outside_before)
    assert not any(b".gitguard-" in p for p in server_state(site.docroot))

    # The evidence snapshot holds what the attacker left, in the snapshots history.
    evidence = evidence_of(proc, site.repo)
    git(site.repo, "merge-base", "--is-ancestor", evidence, SNAPSHOTS)
    kept = tree_files(site.repo, evidence)
    assert kept[b"wp-content/uploads/2024/shell.php"] == WEBSHELL
    assert kept[b"index.html"] == DEFACED
    assert kept[b"footer.html"] == b"<footer>HACKED</footer>\n"
    assert kept[b"evil/a/b/doorway.html"].startswith(b"<a href=//judi")
    assert kept[b"readme.txt/inner/payload.php"] == WEBSHELL
    assert kept[b"config.php"] == b"/etc/passwd"  # the link, as a link
    assert kept[b"assets"] == os.fsencode(site.outside)
    assert kept[b"bad\xffname.txt"] == b"spam bad\xffname.txt"
    assert repair_reports(site.repo)

    run("verify", "www", site=site)
    # The snapshot the restore committed afterwards holds exactly what the server holds.
    assert "unchanged" in run("mirror", "--deep", site=site).stdout
    # A second restore finds nothing to do and changes nothing.
    again = run("restore", "www", "--yes", site=site)
    assert "restored 0 path(s)" in again.stdout or "nothing to do" in again.stdout
    assert_same(server_state(site.docroot), expected)


def test_shared_content_travels_once_and_lands_as_separate_files(
        sshd: SshServer, tmp_path: Path, approver: tuple[Path, str]) -> None:
    """A multisite holds the same core file many times: the bulk restore sends it once and
    copies it on the server, and every copy is a file of its own with its own mode."""
    core = b"<?php /* wp-load */\n" * 50
    files = {b"index.php": (0o644, core),
             **{b"site%d/wp-load.php" % n: (0o644, core) for n in range(1, 5)},
             b"site5/wp-load.php": (0o600, core),
             b"site5/deep/er/copy.php": (0o755, core),
             b"site1/other.php": (0o644, b"<?php /* other */\n")}
    site = make_site(tmp_path, "ssh", sshd, approver, files=files, links={}, dirs={})
    approved = server_state(site.docroot)
    site.attack("""
        import shutil
        for n in range(1, 6):
            shutil.rmtree(b"site%d" % n)
        with open(b"index.php", "wb") as handle:
            handle.write(b"Hacked by nobody")
    """)
    proc = run("-v", "restore", "www", "--yes", site=site)
    assert "verified" in proc.stdout
    assert "2 file(s) and link(s) sent, 6 copied on the server" in proc.stderr, proc.stderr
    assert_same(server_state(site.docroot), approved)
    copies = [site.docroot / os.fsdecode(p) for p, (_, data) in files.items() if data == core]
    inodes = {path.stat().st_ino for path in copies}
    assert len(inodes) == len(copies)  # no hard links: each copy can change on its own
    assert all(path.stat().st_nlink == 1 for path in copies)


def test_dry_run_and_unconfirmed_restore_change_nothing(local_site: Site) -> None:
    """--dry-run prints the plan; without --yes and without a terminal: exit 3, no change."""
    site = local_site
    attack(site)
    damaged = server_state(site.docroot)

    proc = run("restore", "www", "--dry-run", site=site)
    plan = proc.stdout
    assert re.search(r"write\s+index\.html", plan), plan
    assert re.search(r"remove\s+wp-content/uploads/2024/shell\.php", plan), plan
    assert re.search(r"remove\s+evil$", plan, re.M), plan
    assert re.search(r"chmod\s+about\.html \(mode 0644\)", plan), plan
    assert "new-photo.jpg" not in plan and "wp-content/cache" not in plan
    assert "error.log" not in plan
    # Odd names are shown escaped, each step on one line.
    assert re.search(r"write\s+new\\x0aline\.txt$", plan, re.M), plan
    assert re.search(r"write\s+bad\\xffname\.txt$", plan, re.M), plan
    assert_same(server_state(site.docroot), damaged)

    proc = run("restore", "www", site=site, expect=3)
    assert "--yes" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert_same(server_state(site.docroot), damaged)
    assert not repair_reports(site.repo)


def test_path_restores_only_matching_paths(local_site: Site) -> None:
    """--path GLOB: the matching paths are put back, every other change stays."""
    site = local_site
    approved = server_state(site.docroot)
    attack(site)
    damaged = server_state(site.docroot)

    run("restore", "www", "--yes", "--path", "index.html", "wp-content/uploads/**", site=site)
    state = server_state(site.docroot)
    assert state[b"index.html"] == approved[b"index.html"]
    assert b"wp-content/uploads/2024/shell.php" not in state
    assert b"wp-content/uploads/2024/polyglot.jpg" not in state
    assert state[b"wp-content/uploads/2024/new-photo.jpg"] == damaged[
        b"wp-content/uploads/2024/new-photo.jpg"]  # allow_new
    unmatched = {p: v for p, v in damaged.items()
                 if p != b"index.html" and not p.startswith(b"wp-content/uploads/")}
    assert_same({p: v for p, v in state.items()
                 if p != b"index.html" and not p.startswith(b"wp-content/uploads/")}, unmatched)

    proc = run("verify", "www", site=site, expect=2)
    listed = {line.strip() for line in proc.stdout.splitlines()[1:]}
    assert {"about.html", "evil/slot-gacor.html", "config.php"} <= listed, proc.stdout
    assert "index.html" not in listed
    assert not [p for p in listed if p.startswith("wp-content/uploads/")]


def test_to_an_older_approved_commit(local_site: Site, approver: tuple[Path, str]) -> None:
    """--to REV puts back an older signed state; a snapshot commit is refused (exit 3)."""
    site = local_site
    first = server_state(site.docroot)
    first_commit = git(site.repo, "rev-parse", APPROVED)
    (site.docroot / "about.html").write_bytes(b"<p>Tentang kami, edisi 2</p>\n")
    (site.docroot / "agenda.html").write_bytes(b"<p>Agenda</p>\n")
    run("mirror", site=site)
    run("approve", "www", "-m", "second", "--key", str(approver[0]), site=site)
    attack(site)
    damaged = server_state(site.docroot)

    snapshot = git(site.repo, "rev-parse", SNAPSHOTS)
    proc = run("restore", "www", "--yes", "--to", snapshot, site=site, expect=3)
    assert "approved history" in proc.stderr
    assert_same(server_state(site.docroot), damaged)

    run("restore", "www", "--yes", "--to", first_commit[:12], site=site)
    expected = {**first, **{p: damaged[p] for p in KEPT}}
    assert_same(server_state(site.docroot), expected)
    # The tip is the second approval: against it, the older state is a difference.
    proc = run("verify", "www", site=site, expect=2)
    assert "agenda.html" in proc.stdout


def test_tampered_approved_tip_is_refused(local_site: Site) -> None:
    """An unsigned commit put on approved with plain git: restore refuses, server unchanged."""
    site = local_site
    attack(site)
    run("mirror", site=site)
    damaged = server_state(site.docroot)
    tree = git(site.repo, "rev-parse", f"{SNAPSHOTS}^{{tree}}")
    forged = git(site.repo, "commit-tree", tree, "-p", APPROVED, "-m", "approve the defacement")
    git(site.repo, "update-ref", APPROVED, forged)

    proc = gitguard("restore", "www", "--yes", config=site.config, input="")
    assert proc.returncode in (2, 3), proc
    assert "Traceback" not in proc.stderr
    assert "trusted" in proc.stderr
    assert_same(server_state(site.docroot), damaged)
    assert not repair_reports(site.repo)
    proc = gitguard("restore", "www", "--yes", "--to", f"{APPROVED}~1", config=site.config,
                    input="")
    assert proc.returncode in (2, 3), proc
    assert_same(server_state(site.docroot), damaged)
    run("verify", "www", site=site, expect=2)


def test_owner_and_special_bits_put_back_locally(local_site: Site) -> None:
    """Running as root on the server: a changed owner and a setuid bit are undone."""
    site = local_site
    approved = server_state(site.docroot)
    site.as_root("""
        os.chown("index.html", 65534, 65534)
        os.chmod("js/app.js", 0o4755)
        os.chown("docs", 65534, 65534)
    """)
    run("restore", "www", "--yes", site=site)
    assert_same(server_state(site.docroot), approved)


@pytest.mark.parametrize("transport", ["ssh", "sftp"])
def test_read_only_path_is_named_and_the_rest_restored(
        transport: str, sshd: SshServer, tmp_path: Path, approver: tuple[Path, str]) -> None:
    """A folder the web user may not write (root's): exit 3 naming it, the rest put back."""
    files = {**FILES, b"locked/settings.php": (0o644, b"<?php $debug = false;\n")}
    site = make_site(tmp_path, transport, sshd, approver, files=files)
    site.as_root("os.chown('locked', 0, 0)\nos.chown('locked/settings.php', 0, 0)")
    run("mirror", site=site)
    run("approve", "www", "-m", "locked folder", "--key", str(approver[0]), site=site)
    approved = server_state(site.docroot)

    site.as_root("open('locked/settings.php', 'ab').write(b'eval($_POST[1]);\\n')")
    attack(site)
    damaged = server_state(site.docroot)
    proc = run("restore", "www", "--yes", site=site, expect=3)
    assert "locked/settings.php" in proc.stderr
    assert "1 path(s) could not be restored" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr

    state = server_state(site.docroot)
    assert state[b"locked/settings.php"] == damaged[b"locked/settings.php"]
    expected = {**approved, **{p: damaged[p] for p in [*KEPT, b"locked/settings.php"]}}
    assert_same(state, expected)
    assert repair_reports(site.repo)
    proc = run("verify", "www", site=site, expect=2)
    assert "locked/settings.php" in proc.stdout


@pytest.mark.parametrize("transport", ["ssh", "sftp"])
def test_attacker_made_folders_read_only(transport: str, sshd: SshServer, tmp_path: Path,
                                         approver: tuple[Path, str]) -> None:
    """The web user's chmod 555 on folders (a common webshell habit) does not stop a restore."""
    site = make_site(tmp_path, transport, sshd, approver)
    approved = server_state(site.docroot)
    site.attack("""
        with open("wp-content/plugins/contact/contact.php", "ab") as handle:
            handle.write(b"<?php eval(base64_decode($_POST['x'])); ?>\\n")
        with open("wp-content/plugins/contact/backdoor.php", "wb") as handle:
            handle.write(b"<?php system($_GET['c']); ?>\\n")
        os.chmod("wp-content/plugins/contact/contact.php", 0o444)
        os.chmod("wp-content/plugins/contact", 0o555)
        os.makedirs("spam/deep")
        with open("spam/deep/slot.html", "wb") as handle:
            handle.write(b"<h1>slot gacor</h1>\\n")
        os.chmod("spam/deep", 0o555)
        os.chmod("spam", 0o555)
    """)
    run("restore", "www", "--yes", site=site)
    assert_same(server_state(site.docroot), approved)
    run("verify", "www", site=site)


@pytest.mark.parametrize("transport", ["ssh", "sftp"])
def test_folder_on_another_file_system(transport: str, sshd: SshServer, tmp_path: Path,
                                       approver: tuple[Path, str]) -> None:
    """A mount below the docroot (uploads on their own volume) is restored like the rest."""
    site = make_site(tmp_path, transport, sshd, approver,
                     files={b"index.html": FILES[b"index.html"]}, links={}, dirs={})
    media = site.docroot / "media"
    media.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755", "gitguard-test",
                              str(media)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        build(media, {b"a.html": (0o644, b"<p>media</p>\n"), b"sub/b.pdf": (0o640, PNG)},
              {b"latest.pdf": b"sub/b.pdf"}, {})
        sshd.chown_to_user(media)
        run("mirror", site=site)
        run("approve", "www", "-m", "media", "--key", str(approver[0]), site=site)
        approved = server_state(site.docroot)
        site.attack("""
            with open("media/a.html", "wb") as handle:
                handle.write(b"<h1>hacked</h1>")
            os.remove("media/latest.pdf")
            os.symlink("/etc/passwd", "media/latest.pdf")
            os.remove("media/sub/b.pdf")
            with open("media/sub/x.php", "wb") as handle:
                handle.write(b"<?php system($_GET['c']);")
        """)
        run("restore", "www", "--yes", site=site)
        assert_same(server_state(site.docroot), approved)
    finally:
        subprocess.run(["umount", str(media)], check=True)


PAGES = 1500


def test_killed_restore_leaves_old_or_new_and_finishes_when_rerun(
        tmp_path: Path, approver: tuple[Path, str]) -> None:
    """SIGKILL halfway: every file is whole (old or new); running it again finishes."""
    files = {f"pages/p{i:04d}.html".encode(): (0o644, b"<p>approved page %d</p>\n" % i * 20)
             for i in range(PAGES)}
    site = make_site(tmp_path, "local", None, approver, files=files, links={}, dirs={})
    new = {name: data for name, (_, data) in files.items()}
    old = {name: b"<h1>hacked %s</h1>\n" % name for name in files}
    for name, data in old.items():
        (site.docroot / os.fsdecode(name)).write_bytes(data)

    # Files are written in path order: wait for one a tenth of the way in.
    probe = f"pages/p{PAGES // 10:04d}.html"
    argv = [sys.executable, "-m", "gitguard.cli", "-c", str(site.config), "restore", "www",
            "--yes"]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    try:
        # Kill as soon as that file is back, while the rest are still being written.
        while (site.docroot / probe).read_bytes() != new[probe.encode()]:
            assert proc.poll() is None, "restore ended before it wrote anything"
            assert time.monotonic() < deadline
            time.sleep(0.001)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL

    restored = 0
    for path, content in server_state(site.docroot).items():
        if path.startswith(b"pages/.gitguard-"):
            continue  # a temporary file the kill left behind; never a real name
        if content[0] == "dir":
            continue
        body = content[2]
        assert isinstance(body, bytes)
        assert body in (old[path], new[path]), f"{path!r} is torn: {body[:60]!r}"
        restored += body == new[path]
    assert 0 < restored < PAGES, f"{restored} of {PAGES} restored before the kill"
    # Make sure a leftover temporary file is there to be cleaned, as a kill mid-write leaves.
    (site.docroot / "pages" / ".gitguard-0123456789ab.tmp").write_bytes(b"<p>appro")

    run("restore", "www", "--yes", site=site)
    run("verify", "www", site=site)
    state = server_state(site.docroot)
    assert not [p for p in state if b".gitguard-" in p]
    assert {p: c[2] for p, c in state.items() if c[0] == "file"} == new
