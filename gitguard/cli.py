"""Command line: parse, load the config, call one action, map the outcome to an exit code."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from gitguard import __version__
from gitguard.config import Config, default_path, load
from gitguard.errors import ExitCode, GitguardError, UsageError

log = logging.getLogger("gitguard")


class _Parser(argparse.ArgumentParser):
    """argparse that exits 3 (UNKNOWN) on usage errors, as monitoring plugins must."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


def _parser() -> _Parser:
    parser = _Parser(prog="gitguard", description="Back up, audit, restore and report on "
                     "websites with git.")
    parser.add_argument("--version", action="version", version=f"gitguard {__version__}")
    parser.add_argument("-c", "--config", type=Path, help="config file (default: "
                        "$GITGUARD_CONFIG, else ./gitguard.toml)")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    sub.add_parser("init", help="create the site repositories and check every source")
    p = sub.add_parser("mirror", help="back up each site: a snapshot commit when it changed")
    p.add_argument("sites", nargs="*", metavar="SITE")
    p.add_argument("--deep", action="store_true", help="re-read every file, trust no stat")
    p = sub.add_parser("log", help="history: snapshots, approvals, runs")
    p.add_argument("site", metavar="SITE")
    p.add_argument("--json", action="store_true")
    return parser


def _cmd_init(config: Config, args: argparse.Namespace) -> ExitCode:
    from gitguard.actions.init import init

    return _each(config.select(None), lambda site: print(f"{site.name}: {init(config, site)}"))


def _cmd_mirror(config: Config, args: argparse.Namespace) -> ExitCode:
    from gitguard.actions.mirror import describe, mirror

    return _each(config.select(args.sites),
                 lambda site: print(f"{site.name}: {describe(mirror(config, site, args.deep))}"))


def _cmd_log(config: Config, args: argparse.Namespace) -> ExitCode:
    from gitguard.actions.log import history, render

    data = history(config, config.site(args.site))
    print(json.dumps(data, indent=2, ensure_ascii=False) if args.json else render(data))
    return ExitCode.OK


def _each(sites: Sequence[object], work: Callable[..., None]) -> ExitCode:
    """Run work for every site; one site's failure is reported and the others still run."""
    worst = ExitCode.OK
    for site in sites:
        try:
            work(site)
        except GitguardError as exc:
            _fail(f"{getattr(site, 'name', site)}: {exc}")
            worst = max(worst, exc.exit_code)
    return worst


COMMANDS: dict[str, Callable[[Config, argparse.Namespace], ExitCode]] = {
    "init": _cmd_init,
    "mirror": _cmd_mirror,
    "log": _cmd_log,
}


def _fail(message: str) -> None:
    print(f"gitguard: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the monitoring exit code."""
    try:
        args = _parser().parse_args(argv)
        logging.basicConfig(level=logging.WARNING - 10 * min(args.verbose, 2),
                            format="gitguard: %(message)s", stream=sys.stderr)
        config = load(args.config or default_path())
        return int(COMMANDS[args.command](config, args))
    except GitguardError as exc:
        _fail(str(exc))
        return int(exc.exit_code)
    except KeyboardInterrupt:
        _fail("interrupted")
        return int(ExitCode.UNKNOWN)


if __name__ == "__main__":
    sys.exit(main())
