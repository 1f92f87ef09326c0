"""`gitguard demo`: the whole procedure on the bundled sample site, in a folder of its own.

Back the site up, approve it with a demo approver key made for the occasion, deface it and
drop a webshell, catch both, restore, verify, and write the three reports; every step is the
real command line, run in this process, and must end with the exit code the procedure
expects."""

from __future__ import annotations

import functools
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path

from gitguard.errors import ExitCode, UsageError

DEFACED = "<html><body><h1>Hacked by Demo Team</h1></body></html>\n"
WEBSHELL = '<?php eval(base64_decode($_POST["c"])); ?>\n'
SHELL_PATH = "wp-content/uploads/2026/12/cache.php"


def _deface(work: Path) -> None:
    """What an attacker does: a defaced home page and a webshell among the uploads."""
    (work / "site" / "index.html").write_text(DEFACED, encoding="utf-8")
    shell = work / "site" / SHELL_PATH
    shell.parent.mkdir(parents=True, exist_ok=True)
    shell.write_text(WEBSHELL, encoding="utf-8")
    if (work / "mariadb").is_dir():  # the sample database runs: the attacker posts spam too
        from gitguard.database.demo import attack

        attack(work)


# (title, arguments after -c CONFIG, the exit code the procedure expects, done before it)
STEPS: tuple[tuple[str, tuple[str, ...], int, Callable[[Path], None] | None], ...] = (
    ("create the site repository, check the source is reachable", ("init",), 0, None),
    ("first backup and check: no approved baseline yet (WARNING)", ("check",), 1, None),
    ("the kasubbag signs the backup as the approved state",
     ("approve", "sample", "-m", "Initial approved state of the sample site",
      "--key", "kasubbag"), 0, None),
    ("scheduled check: all clear (OK)", ("check",), 0, None),
    ("the site was defaced and a webshell dropped: the check catches it (CRITICAL)",
     ("check", "-o", "laporan-keadaan.md"), 2, _deface),
    ("restore the approved state, keeping the evidence", ("restore", "sample", "--yes"), 0,
     None),
    ("verify: a fresh scan equals the approved tree", ("verify", "sample"), 0, None),
    ("the repair report and the activity report for the Kepala Bagian (Markdown and HTML)",
     ("report", "sample", "--kind", "repair,activity", "--format", "md,html",
      "-o", "laporan.md"), 0, None),
    ("history for the auditors", ("log", "sample"), 0, None),
)


def demo(folder: Path | None, main: Callable[[Sequence[str]], int]) -> ExitCode:
    """Run the procedure in `folder` (a new temporary one by default) with the command
    line's `main`; OK when every step ended as expected."""
    work = folder or Path(tempfile.mkdtemp(prefix="gitguard-demo-"))
    _prepare(work)
    config = str(work / "gitguard.toml")
    from gitguard.database.demo import sample_database

    with sample_database(work) as database:  # where MariaDB is installed: the CMS database
        if database is not None:
            with open(config, "a", encoding="utf-8") as handle:
                handle.write(database)
        for number, (title, args, expected, before) in enumerate(STEPS):
            if before is not None:
                before(work)
            print(f"\n== {number}. {title}\n$ gitguard {shlex.join(args)}", flush=True)
            code = _in(work, functools.partial(main, ["-c", config, *args]))
            print(f"(exit {code})", flush=True)
            if code != expected:
                raise UsageError(f"demo step {number} ({args[0]}) ended with exit {code}, "
                                 f"expected {expected}; its files are in {work}")
    evidence = f"git --git-dir {work}/gitguard-data/sample.git log --all"
    print(f"\nWork folder: {work}")
    for name, what in (("site/", "the sample site, restored"),
                       ("gitguard-data/sample.git", f"the evidence: {evidence}"),
                       ("laporan-keadaan.md", "the state and damage report of step 4"),
                       ("laporan-repair.md, .html", "the repair report of steps 5 and 6"),
                       ("laporan-activity.md, .html", "the activity report for the Kepala "
                        "Bagian (open the .html in a browser, print to A4)"),
                       ("gitguard.toml, kasubbag", "the demo's config and its approver key "
                        "(made for this demo only)")):
        print(f"  {name:28}  {what}")
    return ExitCode.OK


def _prepare(work: Path) -> None:
    """The sample site, a fresh approver key, and the sample config naming it."""
    sample = resources.files("gitguard").joinpath("sample")
    for name in ("site", "gitguard-data"):
        if (work / name).is_symlink() or (work / name).exists():
            raise UsageError(f"{work / name} exists: give the demo an empty or new folder")
    work.mkdir(parents=True, exist_ok=True)
    with resources.as_file(sample.joinpath("site")) as site:
        shutil.copytree(site, work / "site", symlinks=True)
    key = work / "kasubbag"
    if not key.exists():
        try:
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C",
                            "demo kasubbag", "-f", str(key)], check=True, timeout=30,
                           stdin=subprocess.DEVNULL, capture_output=True)
        except (OSError, subprocess.SubprocessError) as exc:
            raise UsageError(f"cannot make the demo approver key with ssh-keygen: {exc}") \
                from None
    public = Path(f"{key}.pub").read_text(encoding="utf-8").strip()
    text = sample.joinpath("gitguard.toml").read_text(encoding="utf-8")
    (work / "gitguard.toml").write_text(text.replace("@SIGNING_KEY@", public),
                                        encoding="utf-8")


def _in(folder: Path, work: Callable[[], int]) -> int:
    """Run work() with `folder` as the current folder, as a user of the demo would."""
    before = os.getcwd()
    os.chdir(folder)
    try:
        return work()
    finally:
        sys.stdout.flush()
        os.chdir(before)
