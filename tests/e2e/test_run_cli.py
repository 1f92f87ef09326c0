"""Small things an operator notices (issue #14, item 8): each subcommand's --help says what
it does, and an error carries the "gitguard:" prefix once."""

from __future__ import annotations

import re

from helpers import gitguard


def subcommands() -> list[str]:
    usage = gitguard("--help").stdout
    found = re.search(r"\{([a-z,]+)\}", usage)
    assert found, usage
    return found.group(1).split(",")


def test_every_subcommand_help_has_a_description() -> None:
    names = subcommands()
    assert {"check", "run", "hooks", "demo", "verify"} <= set(names)
    for name in [*names, "hooks install"]:
        proc = gitguard(*name.split(), "--help")
        assert proc.returncode == 0, proc.stderr
        # usage lines, a blank line, then the description (argparse's layout)
        after_usage = proc.stdout.split("\n\n", 1)[1]
        first = after_usage.lstrip().splitlines()[0]
        assert not first.startswith(("positional arguments", "options")), (name, first)
        assert first[0].isupper(), (name, first)


def test_errors_are_prefixed_once() -> None:
    for args in (["check", "--bogus"], ["bogus"], ["check", "--jobs", "x"],
                 ["-c", "/nonexistent.toml", "check"]):
        proc = gitguard(*args)
        assert proc.returncode == 3, args
        assert proc.stderr.startswith("gitguard: ") and "gitguard: gitguard" not in proc.stderr
        assert len(proc.stderr.splitlines()) == 1, proc.stderr
    proc = gitguard("check", "--jobs", "x")
    assert proc.stderr == "gitguard: check: argument --jobs: 'x' is not a whole number from 1 up\n"
