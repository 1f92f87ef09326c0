"""Progress bars go to stderr on a terminal only; stdout stays one parseable line a site."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from pathlib import Path

from helpers import gitguard, write_config


def site_with_files(tmp_path: Path, count: int) -> Path:
    docroot = tmp_path / "htdocs"
    docroot.mkdir()
    for i in range(count):
        (docroot / f"halaman-{i:04d}.html").write_bytes(os.urandom(20_000))
    config = write_config(tmp_path, {"www": {"source": str(docroot)}})
    assert gitguard("init", config=config).returncode == 0
    return config


def test_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    config = site_with_files(tmp_path, 3000)
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "gitguard.cli", "-c", str(config), "mirror"],
                            stdout=subprocess.PIPE, stderr=follower, env={**os.environ,
                                                                         "TERM": "xterm"})
    os.close(follower)
    seen = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 30)
        if not ready:
            break
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    out, _ = proc.communicate(timeout=60)
    os.close(leader)
    assert proc.returncode == 0
    assert b"backing up" in seen  # the bar's label, drawn on the terminal
    assert out.decode().startswith("www: snapshot ") and out.count(b"\n") == 1


def test_no_progress_bar_when_not_a_terminal(tmp_path: Path) -> None:
    config = site_with_files(tmp_path, 300)
    proc = gitguard("mirror", config=config)
    assert proc.returncode == 0
    assert proc.stderr == ""
    assert proc.stdout.startswith("www: snapshot ") and proc.stdout.count("\n") == 1
