"""Command line: parse, load the config, call one action, map the outcome to an exit code."""

from __future__ import annotations

import argparse
import gc
import io
import json
import logging
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import NoReturn

from gitguard import __version__
from gitguard.config import Config, default_path, load
from gitguard.errors import ExitCode, GitguardError, UsageError
from gitguard.model import Status, printable
from gitguard.output import write_atomic
from gitguard.policy import compile_glob
from gitguard.report import FORMATS, KINDS

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
    for name, text in (("audit", "compare the newest snapshot with the approved tree"),
                       ("check", "mirror, then audit: the scheduled job")):
        p = sub.add_parser(name, help=text)
        p.add_argument("sites", nargs="*", metavar="SITE")
        p.add_argument("--json", action="store_true", help="one JSON object per site and line")
        p.add_argument("-o", "--output", type=Path, metavar="FILE",
                       help="write the state and damage report (Markdown) here")
    p = sub.add_parser("approve", help="sign a snapshot as the new approved state")
    p.add_argument("site", metavar="SITE")
    p.add_argument("-m", "--message", required=True, metavar="MSG")
    p.add_argument("--key", type=Path, metavar="FILE", help="signing key (default: ssh-agent)")
    p.add_argument("--snapshot", metavar="REV", help="the snapshot to approve (default: newest)")
    p.add_argument("--path", nargs="+", type=_glob, metavar="GLOB",
                   help="approve only these paths")
    p = sub.add_parser("restore", help="make the server equal to the approved tree")
    p.add_argument("site", metavar="SITE")
    p.add_argument("--to", metavar="REV", help="an older verified approved commit")
    p.add_argument("--path", nargs="+", type=_glob, metavar="GLOB",
                   help="restore only these paths")
    p.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p = sub.add_parser("verify", help="rescan and confirm the server equals the approved tree")
    p.add_argument("site", metavar="SITE")
    p = sub.add_parser("report", help="write (and --send) state, repair or activity reports")
    p.add_argument("site", metavar="SITE")
    p.add_argument("--kind", default="state", type=_choices("kind", KINDS),
                   help="state, repair, activity (comma-separated)")
    p.add_argument("--since", type=_date, metavar="D", help="start of the period (YYYY-MM-DD)")
    p.add_argument("--until", type=_date, metavar="D", help="end of the period (exclusive)")
    p.add_argument("--format", default="md", type=_choices("format", FORMATS),
                   help="md, html (comma-separated)")
    p.add_argument("-o", "--output", type=Path, metavar="FILE")
    p.add_argument("--send", action="store_true", help="deliver by e-mail / apprise")
    sub.add_parser("run", help="long-running scheduler: check each site on its schedule")
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


def _cmd_audit(config: Config, args: argparse.Namespace) -> ExitCode:
    from gitguard.actions.audit import as_json, audit, render_text
    from gitguard.clock import now
    from gitguard.report.markdown import state_report

    run = audit
    if args.command == "check":  # mirror, alerts, off-site copies: only the scheduled job
        from gitguard.actions.check import check

        run = check
    reports: list[str] = []
    worst = ExitCode.OK
    for site in config.select(args.sites):
        try:
            # a report written with -o is an official copy: the journal keeps it too
            result = run(config, site, keep_report=args.output is not None)
        except Exception as exc:  # one site's failure, even a bug, leaves the others checked
            code = _site_failed(site.name, exc)
            if args.json:
                print(json.dumps({"site": site.name, "status": "unknown", "snapshot": None,
                                  "approved": None, "findings": [], "error": str(exc)}))
            worst = max(worst, code)
            continue
        print(json.dumps(as_json(result), ensure_ascii=False) if args.json
              else render_text(result))
        if args.output:
            reports.append(state_report(result, config, now()))
        worst = max(worst, STATUS_EXIT[result.status])
    if args.output and reports:
        write_atomic(args.output, "\n\n---\n\n".join(reports))
    return worst


def _cmd_approve(config: Config, args: argparse.Namespace) -> ExitCode:
    from gitguard.actions.approve import approve

    commit = approve(config, config.site(args.site), args.message, key=args.key,
                     snapshot=args.snapshot, paths=args.path)
    print(f"{args.site}: approved {commit}")
    return ExitCode.OK


def _cmd_restore(config: Config, args: argparse.Namespace) -> ExitCode:
    from gitguard.actions.restore import ask, describe_plan, restore

    result, plan = restore(config, config.site(args.site), rev=args.to, paths=args.path,
                           dry_run=args.dry_run, confirm=None if args.yes else ask)
    if result is None:
        print(describe_plan(plan))
        if plan.steps and not args.dry_run:
            print(f"{args.site}: restore cancelled; nothing on the server was changed")
        return ExitCode.OK
    print(f"{args.site}: restored {len(result.paths)} path(s) to {result.approved[:12]}; "
          f"evidence kept in snapshot {(result.evidence or '')[:12]}")
    if result.verified:
        print(f"{args.site}: verified: the site equals the approved tree")
        return ExitCode.OK
    _fail(f"{args.site}: verification failed, still different: "
          + ", ".join(printable(p) for p in result.still_different[:20]))
    return ExitCode.CRITICAL


def _cmd_verify(config: Config, args: argparse.Namespace) -> ExitCode:
    from gitguard.actions.verify import differing, verify

    differ = differing(verify(config, config.site(args.site)))
    if not differ:
        print(f"{args.site}: verified: the site equals the approved tree")
        return ExitCode.OK
    print(f"{args.site}: {len(differ)} path(s) differ from the approved tree:")
    print("\n".join(f"  {p}" for p in differ))
    return ExitCode.CRITICAL


def _choices(what: str, allowed: tuple[str, ...]) -> Callable[[str], list[str]]:
    def parse(text: str) -> list[str]:
        items = [item.strip() for item in text.split(",") if item.strip()]
        wrong = [item for item in items if item not in allowed]
        if wrong or not items:
            raise argparse.ArgumentTypeError(f"{what} must be among {', '.join(allowed)}")
        return items
    return parse


def _date(text: str) -> datetime:
    """A date or date-time; read in the configured time zone unless it names one."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None
    # a period's ends are moved by a day and across time zones: keep clear of year 1 and 9999
    if not 1970 <= moment.year <= 9998:
        raise argparse.ArgumentTypeError(f"{text!r} is outside the years 1970 to 9998")
    return moment


def _glob(text: str) -> str:
    """A path pattern as exclude and allow_new take them."""
    try:
        compile_glob(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _cmd_report(config: Config, args: argparse.Namespace) -> ExitCode:
    from gitguard.actions.report import report

    since, until = (d if d is None or d.tzinfo else d.replace(tzinfo=config.timezone)
                    for d in (args.since, args.until))
    if since and until and since >= until:
        raise UsageError("--since must be before --until")
    produced = report(config, config.site(args.site), args.kind, args.format, since, until,
                      args.output, args.send)
    if args.output is None:
        print("\n\n".join(text for _, _, text in produced))
    return ExitCode.OK


def _cmd_run(config: Config, args: argparse.Namespace) -> ExitCode:
    from gitguard.actions.run import run

    run(config)
    return ExitCode.OK


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
        except Exception as exc:  # each site on its own, as in _cmd_audit
            worst = max(worst, _site_failed(getattr(site, "name", str(site)), exc))
    return worst


def _site_failed(name: str, exc: Exception) -> ExitCode:
    """Report one site's failure and give its exit code: an expected one as one line; a bug
    with its traceback, still visible, and UNKNOWN as the monitoring convention wants."""
    if isinstance(exc, BrokenPipeError):
        raise exc
    if isinstance(exc, GitguardError):
        _fail(f"{name}: {exc}")
        return exc.exit_code
    traceback.print_exception(exc, file=sys.stderr)
    _fail(f"{name}: unexpected {type(exc).__name__}: {exc}")
    return ExitCode.UNKNOWN


COMMANDS: dict[str, Callable[[Config, argparse.Namespace], ExitCode]] = {
    "init": _cmd_init,
    "mirror": _cmd_mirror,
    "log": _cmd_log,
    "audit": _cmd_audit,
    "check": _cmd_audit,
    "approve": _cmd_approve,
    "restore": _cmd_restore,
    "verify": _cmd_verify,
    "report": _cmd_report,
    "run": _cmd_run,
}

STATUS_EXIT = {Status.OK: ExitCode.OK, Status.WARNING: ExitCode.WARNING,
               Status.CRITICAL: ExitCode.CRITICAL, Status.UNKNOWN: ExitCode.UNKNOWN}


def _fail(message: str) -> None:
    """One line on stderr, whatever names the message quotes."""
    print(f"gitguard: {printable(message)}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the monitoring exit code."""
    # A run builds a few 30,000-path trees of small tuples and makes almost no reference
    # cycles: the default (a collection every 700 new objects) spent 40 ms of a restore
    # walking the same live tuples again and again.
    gc.set_threshold(300_000, 20, 20)
    if isinstance(sys.stdout, io.TextIOWrapper):
        # Paths are escaped where they are printed; anything that slips through must neither
        # crash a strict UTF-8 stdout (cron's) nor write bytes that are not UTF-8.
        sys.stdout.reconfigure(errors="backslashreplace")
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
    except BrokenPipeError:
        # The reader (`| head`) went away: not an error worth a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return int(ExitCode.OK)
    except Exception:
        # A bug: its traceback stays visible, and the exit is UNKNOWN, not Python's 1, which
        # a monitoring system would read as a mere WARNING.
        traceback.print_exc()
        return int(ExitCode.UNKNOWN)
    finally:
        # The interpreter's last collection, at exit, would walk every object once more
        # (80 ms after a restore); a process about to end has no garbage worth finding.
        gc.freeze()


if __name__ == "__main__":
    sys.exit(main())
