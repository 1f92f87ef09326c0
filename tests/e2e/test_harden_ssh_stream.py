"""Issue #10 item 11: a restore's step script cut short changes nothing on the server.

apply.pl (what runs on the server) is run here as the bulk restore runs it, fed the script
and content the restore sends, cut at many points: as a killed connection leaves it.
"""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
from pathlib import Path

import pytest

import gitguard.remote.ssh as ssh
from gitguard.plan import Action, Step

APPLY = Path(ssh.__file__).with_name("perl") / "apply.pl"


def blob(data: bytes) -> tuple[str, bytes]:
    """A blob's id and its record in `git cat-file --batch` output."""
    oid = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
    return oid, b"%s blob %d\n" % (oid.encode(), len(data)) + data + b"\n"


def state(root: Path) -> dict[str, tuple[object, ...]]:
    """Every path below root: kind, mode, owner, content or target."""
    found: dict[str, tuple[object, ...]] = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        rel = str(path.relative_to(root))
        if stat.S_ISLNK(st.st_mode):
            found[rel] = ("link", os.readlink(path))
        elif stat.S_ISDIR(st.st_mode):
            found[rel] = ("dir", st.st_mode & 0o7777, st.st_uid, st.st_gid)
        else:
            found[rel] = ("file", st.st_mode & 0o7777, st.st_uid, st.st_gid, path.read_bytes())
    return found


def apply(root: Path, stdin: bytes) -> subprocess.CompletedProcess[bytes]:
    """apply.pl run in root with this stdin."""
    return subprocess.run(["perl", "-e", APPLY.read_text()], input=stdin, cwd=root,
                          capture_output=True, check=False, timeout=60)


CORE = b"<?php /* core */\n" * 100
INDEX = b"<h1>Pemkot</h1>\n"
LINK = b"index.html"


def damaged(root: Path) -> None:
    """A docroot as the attacker left it."""
    (root / "wp-content" / "uploads").mkdir(parents=True)
    (root / "wp-content" / "uploads" / "photo.jpg").write_bytes(b"\xff\xd8\xff allowed upload")
    (root / "wp-content" / "cache").mkdir()
    (root / "wp-content" / "cache" / "page.html").write_bytes(b"excluded cache")
    (root / "wp-content" / "shell.php").write_bytes(b"<?php system($_GET['c']);")
    (root / "index.html").write_bytes(b"Hacked by nobody")
    (root / "about.html").write_bytes(b"<p>about</p>")
    (root / "about.html").chmod(0o666)
    for name in ("a", "b", "c"):
        (root / name).mkdir()


def steps() -> list[Step]:
    """The plan that puts it back: remove, mkdir, write (shared content), link, chmod."""
    core, _ = blob(CORE)
    index, _ = blob(INDEX)
    link, _ = blob(LINK)
    return [Step(Action.REMOVE, "wp-content/shell.php"),
            Step(Action.MKDIR, "d", 0o755, 0, 0),
            Step(Action.WRITE, "index.html", 0o644, 0, 0, oid=index),
            *(Step(Action.WRITE, f"{name}/core.php", 0o644, 0, 0, oid=core)
              for name in ("a", "b", "c", "d")),
            Step(Action.LINK, "home.html", 0o777, 0, 0, oid=link),
            Step(Action.CHMOD, "about.html", 0o644, 1, 1),
            Step(Action.CHMOD, "d", 0o755, 0, 0)]


def stream() -> tuple[bytes, bytes]:
    """The script and the content stream the bulk restore sends for steps()."""
    script, order, copies = ssh._script(steps())
    assert copies == 3  # the core travels once
    records = dict(blob(data) for data in (CORE, INDEX, LINK))
    return script, b"".join(records[oid] for oid in order)


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to another owner needs root")
def test_a_script_cut_anywhere_changes_nothing(tmp_path: Path) -> None:
    """Cut at every byte of the script (as a killed connection cuts it): exit 2, and the
    docroot is exactly as it was; whole, everything is done."""
    script, content = stream()
    # every byte of the first and the last records, and a sample in between
    cuts = sorted({*range(0, 80), *range(80, len(script) - 80, 13),
                   *range(max(0, len(script) - 80), len(script))})
    for n, cut in enumerate(cuts):
        root = tmp_path / f"cut{n}"
        root.mkdir()
        damaged(root)
        before = state(root)
        done = apply(root, script[:cut])
        assert done.returncode == 2, (cut, done.stderr)
        assert b"nothing was changed" in done.stderr
        assert state(root) == before, f"cut at byte {cut} of {len(script)} changed the docroot"
    root = tmp_path / "whole"
    root.mkdir()
    damaged(root)
    done = apply(root, script + content)
    assert done.returncode == 0 and done.stdout == b"", done
    after = state(root)
    assert "wp-content/shell.php" not in after
    assert after["wp-content/uploads/photo.jpg"][4] == b"\xff\xd8\xff allowed upload"
    assert after["wp-content/cache/page.html"][4] == b"excluded cache"
    assert after["index.html"] == ("file", 0o644, 0, 0, INDEX)
    assert all(after[f"{d}/core.php"] == ("file", 0o644, 0, 0, CORE) for d in "abcd")
    assert after["home.html"] == ("link", "index.html")
    assert after["about.html"][:4] == ("file", 0o644, 1, 1)
    assert after["d"][:2] == ("dir", 0o755)


def test_a_record_that_does_not_parse_changes_nothing(tmp_path: Path) -> None:
    """A step naming a path outside the docroot, or a count that does not match: refused
    whole before anything is done."""
    script, content = stream()
    bad = [script.replace(b"wp-content/shell.php", b"../outside/x.php"),
           script.replace(b"wp-content/shell.php", b"/etc/passwd"),
           script.replace(b"wp-content/shell.php", b"wp-content//shell.php"),
           script.replace(b"wp-content/shell.php", b"wp-content/./shell.php"),
           script.replace(b"E\0%d\0" % script.count(b"\0"), b"E\0999\0")[:-4] + b"E\0999\0end\0",
           script.replace(b"end\0", b"eof\0")]
    for n, text in enumerate(bad):
        root = tmp_path / f"bad{n}"
        root.mkdir()
        damaged(root)
        before = state(root)
        done = apply(root, text + content)
        assert done.returncode == 2, (n, done)
        assert state(root) == before, n


def test_content_cut_short_leaves_every_file_old_or_new(tmp_path: Path) -> None:
    """The whole script, content cut at many points: every file is old or new, never torn,
    no temporary file is left, and the steps that lacked content are named."""
    script, content = stream()
    for cut in range(0, len(content), 97):
        root = tmp_path / f"content{cut}"
        root.mkdir()
        damaged(root)
        done = apply(root, script + content[:cut])
        assert done.returncode == 0, done
        after = state(root)
        assert after["index.html"][4] in (b"Hacked by nobody", INDEX)
        for d in "abc":
            assert after.get(f"{d}/core.php", ("file", 0, 0, 0, CORE))[4] == CORE
        assert not [p for p in after if ".gitguard-" in p], after
        failed = done.stdout.split(b"\0")[:-1][::2]
        assert failed or cut == len(content)
        if failed:
            assert b"content stream was cut short" in done.stdout


@pytest.mark.parametrize("hold", [200, 1])
def test_shared_content_is_copied_on_the_server_never_through_a_link(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hold: int) -> None:
    """Content many files share travels once (or again, past what the server keeps open)
    and each copy is a file of its own; the first file's folder being a link to outside
    fails that step only: nothing is written outside, the other copies still land."""
    monkeypatch.setattr(ssh, "HOLD", hold)
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "html"
    root.mkdir()
    (root / "a").symlink_to(outside)
    for name in "bcde":
        (root / name).mkdir()
    core, _ = blob(CORE)
    other, _ = blob(INDEX)
    plan = [Step(Action.WRITE, f"{name}/core.php", 0o640, -1, -1, oid=core) for name in "abcde"]
    plan.insert(1, Step(Action.WRITE, "b/other.php", 0o644, -1, -1, oid=other))
    plan.insert(3, Step(Action.WRITE, "c/other.php", 0o644, -1, -1, oid=other))
    script, order, copies = ssh._script(plan)
    # past HOLD, the second shared content is sent again instead of kept open
    assert (order.count(core), order.count(other), copies) == (
        (1, 1, 5) if hold > 1 else (1, 2, 4))
    records = dict(blob(data) for data in (CORE, INDEX))
    done = apply(root, script + b"".join(records[oid] for oid in order))
    assert done.returncode == 0, done
    assert done.stdout.split(b"\0")[:-1][::2] == [b"a/core.php"]
    assert not any(outside.iterdir())
    after = state(root)
    for name in "bcde":
        assert after[f"{name}/core.php"][:2] == ("file", 0o640)
        assert after[f"{name}/core.php"][4] == CORE
    assert after["b/other.php"][4] == after["c/other.php"][4] == INDEX
    assert len({(root / n / "core.php").stat().st_ino for n in "bcde"}) == 4
