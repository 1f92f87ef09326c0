"""Command line: parse, load the config, call one action, map the outcome to an exit code."""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import json
import logging
import os
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from gitguard import __version__, heap
from gitguard.config import Config, Site, default_path, load
from gitguard.errors import ExitCode, GitguardError, UsageError
from gitguard.model import Status, printable
from gitguard.output import write_atomic
from gitguard.policy import compile_glob
from gitguard.report import FORMATS, KINDS

if TYPE_CHECKING:
    from gitguard.jobs import JobResult

log = logging.getLogger("gitguard")


class _Parser(argparse.ArgumentParser):
    """argparse that exits 3 (UNKNOWN) on usage errors, as monitoring plugins must."""

    def error(self, message: str) -> NoReturn:
        # main() puts "gitguard: " before every error: name only the subcommand here
        command = self.prog.removeprefix("gitguard").strip()
        raise UsageError(f"{command}: {message}" if command else message)


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
    _many_sites(p)
    for name, text in (("audit", "compare the newest snapshot with the approved tree"),
                       ("check", "mirror, then audit: the scheduled job")):
        p = sub.add_parser(name, help=text)
        p.add_argument("sites", nargs="*", metavar="SITE")
        p.add_argument("--json", action="store_true", help="one JSON object per site and line")
        p.add_argument("--format", default="text", choices=("text", "json", "nagios"),
                       help="text (default), json (as --json), or nagios: the monitoring-"
                       "plugin status line with performance data, then the long output")
        p.add_argument("-o", "--output", type=Path, metavar="FILE",
                       help="write the state and damage report (Markdown) here")
        _many_sites(p)
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
    half = p.add_mutually_exclusive_group()
    half.add_argument("--files-only", action="store_true", help="leave the database alone")
    half.add_argument("--database-only", action="store_true", help="leave the files alone")
    p = sub.add_parser("verify", help="rescan and confirm the server equals the approved tree")
    p.add_argument("sites", nargs="*", metavar="SITE")
    _many_sites(p)
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
    sub.add_parser("run", help="long-running scheduler: check each site on its schedule, "
                   "each in its own process ([gitguard] jobs at once; SIGHUP reloads)")
    p = sub.add_parser("hooks", help="protect a central copy of the history (gitguard hooks "
                       "install REPO)")
    hooks = p.add_subparsers(dest="hooks_command", required=True, parser_class=_Parser)
    p = hooks.add_parser("install", help="install the update hook and the approvers' keys into "
                         "bare repositories (default: every site's remotes)",
                         description="Install gitguard's update hook and the approvers' "
                         "allowed-signers file into bare repositories, local or ssh://: "
                         "deleting or rewriting history, and approvals not signed by an "
                         "approver, are refused.")
    p.add_argument("repos", nargs="*", metavar="REPO", help="a path or ssh://[user@]host/path")
    p.add_argument("--identity-file", type=Path, metavar="FILE", help="SSH key to log in with")
    p.add_argument("--known-hosts", type=Path, metavar="FILE", help="the server's host key")
    p = sub.add_parser("demo", help="the whole procedure on the bundled sample site, in a "
                       "temporary folder (no config needed)")
    p.add_argument("--dir", type=Path, metavar="FOLDER",
                   help="work here instead of a new temporary folder")
    p = sub.add_parser("log", help="history: snapshots, approvals, runs")
    p.add_argument("site", metavar="SITE")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("look", help="look at the live site as visitors and crawlers see it, "
                       "compared with the approval's look")
    p.add_argument("site", metavar="SITE")
    p.add_argument("--baseline", action="store_true",
                   help="keep this look, signed, as the baseline of the approved state")
    p.add_argument("--key", type=Path, metavar="FILE",
                   help="signing key for --baseline (default: ssh-agent)")
    p.add_argument("--json", action="store_true", help="one JSON object")
    for choice in sub._choices_actions:  # each subcommand's --help starts with its purpose
        command, text = sub.choices[choice.dest], choice.help or ""
        command.description = command.description or f"{text[:1].upper()}{text[1:]}."
    return parser


def _many_sites(parser: argparse.ArgumentParser) -> None:
    """--jobs and --timeout for the commands that take every site when none is named."""
    parser.add_argument("--jobs", type=_positive, metavar="N",
                        help="sites at once when several run (default: [gitguard] jobs)")
    parser.add_argument("--timeout", type=_positive, metavar="SECONDS",
                        help="stop one site's run after this long (default: [gitguard] "
                        "site_timeout)")


def _positive(text: str) -> int:
    """A whole number from 1 up."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number from 1 up")
    return int(text)


def _cmd_init(config: Config, args: argparse.Namespace) -> ExitCode:
    from gitguard.actions.init import init

    return _each(config.select(None), lambda site: print(f"{site.name}: {init(config, site)}"))


def _cmd_mirror(config: Config, args: argparse.Namespace) -> ExitCode:
    from gitguard.actions.mirror import describe, mirror

    def one(site: Site) -> ExitCode:
        print(f"{site.name}: {describe(mirror(config, site, args.deep))}")
        return ExitCode.OK

    return _at_once(config, args, config.select(args.sites), one)


def _cmd_audit(config: Config, args: argparse.Namespace) -> ExitCode:
    from gitguard.actions.audit import as_json, audit, render_text
    from gitguard.clock import now
    from gitguard.monitoring import failed_record, plugin_output, site_record
    from gitguard.report.markdown import state_report

    run = audit
    if args.command == "check":  # mirror, alerts, off-site copies: only the scheduled job
        from gitguard.actions.check import check

        run = check
    form = "json" if args.json else args.format
    reports = Path(tempfile.mkdtemp(prefix="gitguard-reports-")) if args.output else None

    def one(site: Site) -> ExitCode | tuple[ExitCode, dict[str, Any]]:
        started, clock = now(), time.monotonic()
        try:
            # a report written with -o is an official copy: the journal keeps it too
            result = run(config, site, keep_report=args.output is not None)
        except Exception as exc:  # one site's failure, even a bug, leaves the others checked
            code = _site_failed(site.name, exc)
            if form == "nagios":
                return code, failed_record(site.name, str(exc), time.monotonic() - clock)
            failed(site.name, str(exc), time.monotonic() - clock)
            return code
        if reports is not None:
            write_atomic(reports / f"{site.name}.md", state_report(result, config, now()))
        if form == "nagios":  # handed back to the plugin's one status line, not printed
            return STATUS_EXIT[result.status], site_record(config, site, result, started,
                                                           time.monotonic() - clock)
        print(json.dumps(as_json(result), ensure_ascii=False) if form == "json"
              else render_text(result))
        return STATUS_EXIT[result.status]

    def failed(site: str, why: str, seconds: float) -> None:
        if form == "json":
            print(json.dumps({"site": site, "status": "unknown", "snapshot": None,
                              "approved": None, "findings": [], "error": why}))

    def collect(result: JobResult) -> None:
        # a job stopped or crashed handed nothing back: a stand-in says why
        records.append(result.value if isinstance(result.value, dict) else failed_record(
            result.name, result.failure or "the check gave no result", result.seconds))

    sites = config.select(args.sites)
    records: list[dict[str, Any]] = []
    try:
        worst = _at_once(config, args, sites, one, failed,
                         collect if form == "nagios" else None)
        if form == "nagios":
            print(plugin_output(records))
        if reports is not None:
            texts = [(reports / f"{s.name}.md") for s in sites]
            found = [p.read_text(encoding="utf-8") for p in texts if p.exists()]
            if found:
                write_atomic(args.output, "\n\n---\n\n".join(found))
    finally:
        if reports is not None:
            shutil.rmtree(reports, ignore_errors=True)
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
                           dry_run=args.dry_run, confirm=None if args.yes else ask,
                           files=not args.database_only, database=not args.files_only)
    if result is None:
        print(describe_plan(plan))
        if (plan.steps or plan.rows) and not args.dry_run:
            print(f"{args.site}: restore cancelled; nothing on the server was changed")
        return ExitCode.OK
    print(f"{args.site}: restored {len(result.paths)} path(s) to {result.approved[:12]}; "
          f"evidence kept in snapshot {(result.evidence or '')[:12]}")
    if result.verified:
        print(f"{args.site}: verified: the site equals the approved tree")
        return ExitCode.OK
    if result.still_different:
        _fail(f"{args.site}: verification failed, still different: "
              + ", ".join(printable(p) for p in result.still_different[:20]))
    if result.look_problems:  # the files are back, but visitors still get something else
        from gitguard.report.texts import describe

        _fail(f"{args.site}: verification failed, the live look is not clean: "
              + "; ".join(describe(r, "en") for r in result.look_problems[:5]))
    return ExitCode.CRITICAL


def _cmd_verify(config: Config, args: argparse.Namespace) -> ExitCode:
    from gitguard.actions.verify import differing, look_blocking, verify
    from gitguard.report.texts import describe

    def one(site: Site) -> ExitCode:
        result = verify(config, site)
        differ, unclean = differing(result), look_blocking(result)
        if not differ and not unclean:
            print(f"{site.name}: verified: the site equals the approved tree")
            return ExitCode.OK
        if differ:
            print(f"{site.name}: {len(differ)} path(s) differ from the approved tree:")
            print("\n".join(f"  {p}" for p in differ))
        if unclean:
            print(f"{site.name}: the live look is not clean:")
            print("\n".join(f"  {printable(describe(r, 'en'))}" for r in unclean))
        return ExitCode.CRITICAL

    return _at_once(config, args, config.select(args.sites), one)


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


def _cmd_look(config: Config, args: argparse.Namespace) -> ExitCode:
    from gitguard.actions.look import as_json, look, render_text

    result, baseline = look(config, config.site(args.site), args.baseline, args.key)
    if baseline is not None:
        print(f"{args.site}: baseline look {baseline} kept")
        return ExitCode.OK
    assert result is not None
    print(json.dumps(as_json(args.site, result), ensure_ascii=False) if args.json
          else render_text(args.site, result))
    return STATUS_EXIT[result.status]


def _cmd_hooks(config: Config, args: argparse.Namespace) -> ExitCode:
    from gitguard.actions.hooks import install

    repos = args.repos or list(dict.fromkeys(url for site in config.select(None)
                                             for url in site.remotes))
    if not repos:
        raise UsageError("no REPO given and no site has remotes")
    return _each(repos, lambda repo: print(install(config, repo, args.identity_file,
                                                   args.known_hosts)))


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


def _at_once(config: Config, args: argparse.Namespace, sites: Sequence[Site],
             one: Callable[[Site], ExitCode | tuple[ExitCode, Any]],
             failed: Callable[[str, str, float], None] | None = None,
             collect: Callable[[JobResult], None] | None = None) -> ExitCode:
    """Run one(site) for every site, each in its own process, --jobs at once, each stopped
    after --timeout; each site's output is passed on whole as it ends (to `collect` instead,
    when given); `failed` prints the stand-in of a site stopped or crashed. The worst exit."""
    from gitguard.actions.run import journal_failure, preload
    from gitguard.clock import now
    from gitguard.jobs import run_each

    by_name = {site.name: site for site in sites}
    started = now()
    if len(sites) > 1:
        preload(list(sites))  # the jobs are forks: imported once, not once per site

    def guarded(name: str) -> int | tuple[int, Any]:
        try:
            done = one(by_name[name])
        except Exception as exc:  # as in _each: one line, or a bug's traceback
            return int(_site_failed(name, exc))
        return (int(done[0]), done[1]) if isinstance(done, tuple) else int(done)

    worst = ExitCode.OK
    for result in run_each(by_name, guarded, args.jobs or config.jobs,
                           args.timeout or config.site_timeout,
                           capture=len(sites) > 1 or collect is not None):
        if result.failure and failed is not None:
            with contextlib.redirect_stdout(io.StringIO()) as stand_in:
                failed(result.name, f"{args.command} {result.failure}", result.seconds)
            result = replace(result, stdout=result.stdout + stand_in.getvalue())
        if collect is not None:
            collect(result)
        else:
            sys.stdout.write(result.stdout)
        sys.stderr.write(result.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
        if result.failure:
            why = f"{args.command} {result.failure}"
            _fail(f"{result.name}: {why}")
            journal_failure(config, by_name[result.name], args.command, started, why)
        worst = max(worst, result.code)
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
    "look": _cmd_look,
    "audit": _cmd_audit,
    "check": _cmd_audit,
    "approve": _cmd_approve,
    "restore": _cmd_restore,
    "verify": _cmd_verify,
    "report": _cmd_report,
    "run": _cmd_run,
    "hooks": _cmd_hooks,
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
    heap.tune()
    if isinstance(sys.stdout, io.TextIOWrapper):
        # Paths are escaped where they are printed; anything that slips through must neither
        # crash a strict UTF-8 stdout (cron's) nor write bytes that are not UTF-8.
        sys.stdout.reconfigure(errors="backslashreplace")
    try:
        args = _parser().parse_args(argv)
        logging.basicConfig(level=logging.WARNING - 10 * min(args.verbose, 2),
                            format="gitguard: %(message)s", stream=sys.stderr)
        if args.command == "demo":  # brings its own config
            from gitguard.actions.demo import demo

            return int(demo(args.dir, main))
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
