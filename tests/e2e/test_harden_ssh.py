"""Issue #10 over SSH: a web user racing a restore must not turn it against the server.

Each attack runs against the real sshd on the transports it concerns: a command account
logged in as root (the docroot still belongs to the web user), a command account as the web
user, and SFTP-only. Races are run by a racer process as the web user, for several rounds.
"""

from __future__ import annotations

import os
import signal
import subprocess
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import gitguard, make_key, write_config
from sshd import SshServer

ATTACKER_PYTHON = "/usr/bin/python3"  # the web user's own Python, outside root's venv

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: a web user and root login")


@dataclass
class Site:
    """A site under test, approved, and how it is reached."""

    config: Path
    docroot: Path
    sshd: SshServer

    def restore(self, *, allowed: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[str]:
        """`gitguard restore --yes`: one line on failure, never a traceback."""
        proc = gitguard("restore", "www", "--yes", config=self.config, input="")
        assert "Traceback" not in proc.stderr, proc.stderr
        assert proc.returncode in allowed, (proc.returncode, proc.stdout, proc.stderr)
        if proc.returncode:
            assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        return proc

    def run(self, *args: str, expect: int = 0) -> subprocess.CompletedProcess[str]:
        """Any gitguard command against this site."""
        proc = gitguard(*args, config=self.config, input="")
        assert "Traceback" not in proc.stderr, proc.stderr
        assert proc.returncode == expect, (proc.returncode, proc.stdout, proc.stderr)
        return proc

    def attack(self, code: str) -> None:
        """Python run as the web user in the docroot."""
        done = self.sshd.run_as_user([ATTACKER_PYTHON, "-c", as_script(self.docroot, code)],
                                     check=False)
        assert done.returncode == 0, done.stderr

    def restore_racing(self, code: str) -> None:
        """A restore while a racer (a loop, as the web user in the docroot) runs; it may
        fail (one line), never crash."""
        racer = self.racer(code)
        try:
            self.restore(allowed=(0, 2, 3))
        finally:
            stop(racer)

    def racer(self, code: str) -> subprocess.Popen[bytes]:
        """A loop run as the web user in the docroot until it is killed."""
        return subprocess.Popen(["runuser", "-u", self.sshd.user, "--", ATTACKER_PYTHON, "-c",
                                 as_script(self.docroot, code)], cwd="/",
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)


def as_script(docroot: Path, code: str) -> str:
    """Code run in the docroot, with a RENAME_EXCHANGE helper at hand."""
    return (f"import ctypes, os, sys, time\nos.chdir({str(docroot)!r})\n"
            "_libc = ctypes.CDLL(None, use_errno=True)\n"
            "def exchange(a, b):\n"
            "    return _libc.renameat2(-100, os.fsencode(a), -100, os.fsencode(b), 2) == 0\n"
            + textwrap.dedent(code))


def stop(racer: subprocess.Popen[bytes]) -> None:
    """End a racer started by this test: runuser and the loop it runs (its own group)."""
    os.killpg(racer.pid, signal.SIGKILL)
    racer.wait()


@pytest.fixture(scope="module")
def approver(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The kasubbag's key pair."""
    return make_key(tmp_path_factory.mktemp("keys"), "rina")


# how gitguard logs in: (login as root, SFTP only)
HOW = {"root": (True, False), "web": (False, False), "sftp": (False, True),
       "sftp-root": (True, True)}


def make_site(tmp_path: Path, sshd: SshServer, approver: tuple[Path, str], how: str,
              files: dict[str, bytes], exclude: tuple[str, ...] = ()) -> Site:
    """A docroot owned by the web user holding `files`, mirrored and approved."""
    root, sftp = HOW[how]
    docroot = sshd.make_docroot()
    for name, data in files.items():
        path = docroot / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    sshd.chown_to_user(docroot)
    people = {"rina": {"name": "Rina", "role": "kasubbag", "email": "rina@example.go.id",
                       "signing_key": approver[1]}}
    options = {"source": sshd.url(docroot, sftp=sftp and not root, root=root),
               "identity_file": str(sshd.sftp_identity if sftp else sshd.identity),
               "known_hosts": str(sshd.known_hosts), "exclude": list(exclude)}
    site = Site(write_config(tmp_path, {"www": options}, people), docroot, sshd)
    site.run("init")
    site.run("mirror")
    site.run("approve", "www", "-m", "base", "--key", str(approver[0]))
    return site


def victim(sshd: SshServer, names: list[str], owner: str) -> Path:
    """A folder outside the docroot holding `names` (and sub/ with them too), owned by
    root or by the web user: what a restore must never touch."""
    folder = sshd.make_docroot("victim")
    for name in names:
        (folder / name).write_bytes(b"sentinel\n")
        (folder / "sub").mkdir(exist_ok=True)
        (folder / "sub" / name).write_bytes(b"sentinel\n")
    if owner == "web":
        sshd.chown_to_user(folder)
    return folder


def survivors(folder: Path) -> int:
    """How many sentinel files are still there."""
    return sum(1 for path in folder.rglob("*") if path.is_file())


BASE = {"index.html": b"<h1>Pemkot</h1>\n", "css/site.css": b"body{}\n"}
COUNT = 1000
NAMES = [f"f{n:04d}.php" for n in range(COUNT)]


# -- item 2: a folder swapped for a link while the restore empties it ------------------------


# Waits until the restore starts removing in evil/ (its mtime moves; a scan before the
# removal must see the tree as it is, or the restore stops before it removes anything), then
# swaps evil/ and evil/sub/ with links to the victim folder, back and forth.
SWAP_FOR_A_LINK = """
    VICTIM = {victim!r}
    PAIRS = (("evil", ".lnk0", VICTIM), ("evil/sub", "evil/.lnk1", VICTIM + "/sub"))
    for name, link, target in PAIRS:
        os.symlink(target, link)
    def mtime():
        try:
            return os.stat("evil").st_mtime_ns
        except OSError:
            return None
    start = mtime()
    while mtime() == start:
        pass
    while True:
        for name, link, _ in PAIRS:
            exchange(name, link)
            exchange(name, link)
"""


@needs_root
@pytest.mark.slow
@pytest.mark.parametrize("how", ["root", "web", "sftp-root", "sftp"])
def test_folder_swapped_for_a_link_during_removal(how: str, sshd: SshServer, tmp_path: Path,
                                                  approver: tuple[Path, str]) -> None:
    """The attacker's folder of webshells, swapped back and forth with a link to a folder
    outside the docroot while the restore removes it: nothing outside is removed, round
    after round, and the restore ends with the folder gone."""
    site = make_site(tmp_path, sshd, approver, how, BASE)
    count = COUNT if how in ("root", "web") else COUNT // 4  # SFTP: a round trip a file
    outside = victim(sshd, NAMES[:count], "root" if HOW[how][0] else "web")
    total = survivors(outside)
    for _round in range(4):
        site.attack(f"""
            import shutil
            for name in ("evil/.lnk1", "evil/sub", ".lnk0", "evil"):  # the last racer's
                if os.path.islink(name):
                    os.unlink(name)
            for name in (".lnk0", "evil"):
                if os.path.isdir(name):
                    shutil.rmtree(name)
            os.makedirs("evil/sub", exist_ok=True)
            for n in range({count}):
                for folder in ("evil", "evil/sub"):
                    with open(folder + "/f%04d.php" % n, "wb") as handle:
                        handle.write(b"<?php system($_GET['c']);")
        """)
        site.restore_racing(SWAP_FOR_A_LINK.format(victim=str(outside)))
        assert survivors(outside) == total, f"round {_round}: files outside were removed"
    site.restore(allowed=(0,))
    assert not (site.docroot / "evil").exists()
    assert survivors(outside) == total


# -- item 3: the folder a restore writes into, swapped for a link ----------------------------

PAGES = [f"p{n:03d}.html" for n in range(300)]

# Once the restore writes in pages/ (its mtime moves), swaps pages/ with a link to the
# victim folder back and forth, and any staging folder the restore makes with a link too.
SWAP_THE_TARGET = """
    VICTIM = {victim!r}
    os.symlink(VICTIM, ".lnk0")
    start = os.stat("pages").st_mtime_ns
    while os.stat("pages").st_mtime_ns == start:
        for name in os.listdir("."):
            if name.startswith(".gitguard-restore.") and not os.path.islink(name):
                os.symlink(VICTIM, ".lnk1")
                exchange(name, ".lnk1")
    while True:
        exchange("pages", ".lnk0")
        exchange("pages", ".lnk0")
"""

# What a racer killed mid-swap leaves: pages/ back in its place, the links gone.
UNDO_THE_SWAP = textwrap.dedent("""
    for name in (".lnk0", ".lnk1"):
        if os.path.islink(name):
            os.unlink(name)
    if os.path.islink("pages"):
        os.unlink("pages")
        os.rename(".lnk0", "pages")
""")


@needs_root
@pytest.mark.slow
@pytest.mark.parametrize("how", ["root", "web"])
def test_folder_written_into_swapped_for_a_link(how: str, sshd: SshServer, tmp_path: Path,
                                                approver: tuple[Path, str]) -> None:
    """Defaced pages put back while their folder is swapped with a link to a folder outside
    the docroot: nothing outside is written, replaced or created, round after round."""
    files = {**BASE, **{f"pages/{name}": b"<p>page %d</p>\n" % n for n, name in enumerate(PAGES)}}
    site = make_site(tmp_path, sshd, approver, how, files)
    # the names the old restore staged content under, and the pages' own
    names = PAGES + [f"{n:x}" for n in range(len(PAGES) + 10)]
    outside = victim(sshd, names, "root" if HOW[how][0] else "web")
    before = {path: path.read_bytes() for path in outside.rglob("*") if path.is_file()}
    for _round in range(3):
        site.attack(UNDO_THE_SWAP + textwrap.dedent("""
            for name in os.listdir("pages"):
                with open("pages/" + name, "wb") as handle:
                    handle.write(b"<h1>Hacked by nobody</h1>")
        """))
        site.restore_racing(SWAP_THE_TARGET.format(victim=str(outside)))
        after = {path: path.read_bytes() for path in outside.rglob("*") if path.is_file()}
        assert after == before, f"round {_round}: the folder outside was written"
    site.attack(UNDO_THE_SWAP)
    site.restore(allowed=(0,))
    assert (site.docroot / "pages" / "p007.html").read_bytes() == b"<p>page 7</p>\n"
    assert not [p for p in site.docroot.rglob("*") if ".gitguard-" in p.name]


# -- item 4: chmod and chown through a link --------------------------------------------------

# deep, so that every lookup by path takes long: the old check-then-chmod window widens
DEEP = "/".join(["lib"] * 40)
CONFIGS = [f"config{n:03d}.php" for n in range(300)]

# Once the restore has put the first file's mode back (a scan before must see the files as
# they are, or the plan replaces them instead), swaps every other config file with a link
# to the victim's secret, all at once, and back.
SWAP_THE_FILES = """
    NAMES = {names!r}
    os.chdir({deep!r})
    for name in NAMES:
        os.symlink({secret!r}, ".lnk-" + name)
    first = NAMES.pop(0)
    while os.lstat(first).st_mode & 0o777 == 0o666:
        pass
    while True:
        for name in NAMES:
            exchange(name, ".lnk-" + name)
        for name in NAMES:
            exchange(name, ".lnk-" + name)
"""


@needs_root
@pytest.mark.slow
@pytest.mark.parametrize("how", ["root", "web", "sftp-root"])
def test_mode_put_back_never_through_a_link(how: str, sshd: SshServer, tmp_path: Path,
                                            approver: tuple[Path, str]) -> None:
    """Files whose mode the restore puts back, each swapped with a link to a 0600 file
    outside: the file outside keeps its mode and owner, round after round."""
    site = make_site(tmp_path, sshd, approver, how,
                     {**BASE, **{f"{DEEP}/{name}": b"<?php\n" for name in CONFIGS}})
    secret = sshd.make_docroot("victim") / "secret"
    secret.write_bytes(b"root only\n")
    secret.chmod(0o600)
    if not HOW[how][0]:
        sshd.chown_to_user(secret)
    owner = (secret.stat().st_uid, secret.stat().st_gid)
    for _round in range(4):
        site.attack(f"""
            os.chdir({DEEP!r})
            for name in {CONFIGS!r}:
                link = ".lnk-" + name
                if os.path.islink(name):
                    os.unlink(name)
                if os.path.islink(link):
                    os.unlink(link)
                if os.path.exists(link):
                    os.rename(link, name)
                if not os.path.exists(name):
                    with open(name, "wb") as handle:
                        handle.write(b"<?php\\n")
                os.chmod(name, 0o666)
        """)
        site.restore_racing(SWAP_THE_FILES.format(names=CONFIGS, secret=str(secret), deep=DEEP))
        st = secret.stat()
        assert (st.st_mode & 0o7777, st.st_uid, st.st_gid) == (0o600, *owner), _round


# -- item 11: what a killed restore leaves behind --------------------------------------------


@needs_root
@pytest.mark.parametrize("how", ["root", "sftp"])
def test_leftovers_of_killed_restores_are_cleaned(how: str, sshd: SshServer, tmp_path: Path,
                                                 approver: tuple[Path, str]) -> None:
    """Temporary files, an old staging folder and an SFTP removal folder that killed runs
    left behind are removed by the next restore, which ends verified."""
    site = make_site(tmp_path, sshd, approver, how, BASE)
    site.attack("""
        os.makedirs(".gitguard-restore.Ab12Cd/sub")
        with open(".gitguard-restore.Ab12Cd/sub/0", "wb") as handle:
            handle.write(b"staged")
        os.makedirs(".gitguard-0123456789ab.trash/.gitguard-ba9876543210.tmp")
        for name in ("css/.gitguard-4242-1f.tmp", ".gitguard-0123456789ab.tmp"):
            with open(name, "wb") as handle:
                handle.write(b"<?php half")
    """)
    site.restore(allowed=(0,))
    assert not [p for p in site.docroot.rglob("*") if ".gitguard-" in p.name]
    site.run("verify", "www")
