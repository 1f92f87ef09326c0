"""`check --format nagios`: the monitoring-plugin output (Nagios, Naemon, Icinga 2, Zabbix).

One status line `GITGUARD CRITICAL - ...` with performance data behind `|`, then the long
output; the exit code stays the one every other format gives. Each site's job prints one
JSON record (`site_record`); the parent turns the records of all sites into the output.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from gitguard.actions.audit import render_text
from gitguard.config import Config, Site
from gitguard.model import SEVERITY_RANK, AuditResult, Severity, Status, printable
from gitguard.report.texts import describe
from gitguard.store.repo import SiteRepo

WORDS = {Status.OK: "OK", Status.WARNING: "WARNING", Status.CRITICAL: "CRITICAL",
         Status.UNKNOWN: "UNKNOWN"}
NAMED = 3  # findings named on the status line; the long output lists more
RANK = {Status.OK: 0, Status.WARNING: 1, Status.CRITICAL: 2, Status.UNKNOWN: 3}
_COUNTS = ("critical", "warning", "info")


def site_record(config: Config, site: Site, result: AuditResult, started: datetime,
                seconds: float) -> dict[str, Any]:
    """What one site's check gives the plugin output: status, counts, files, bytes, time."""
    counts = {sev.value: sum(1 for f in result.findings if f.severity is sev)
              for sev in Severity}
    files = bytes_read = 0
    # The mirror this check ran journaled its counts: read them back, not the site again.
    for record in reversed(SiteRepo.open(config.repo_path(site)).journal_records(started)):
        if record.action == "mirror" and record.site == site.name:
            files, bytes_read = (_int(record.details.get(k)) for k in ("files", "bytes_read"))
            break
    return {"site": site.name, "status": result.status.value, **counts, "files": files,
            "bytes": bytes_read, "seconds": round(seconds, 3), "named": _named(result),
            "long": render_text(result).splitlines()[1:]}


def failed_record(site: str, why: str, seconds: float) -> dict[str, Any]:
    """The record of a site whose check failed or did not finish."""
    return {"site": site, "status": Status.UNKNOWN.value, "error": why,
            "seconds": round(seconds, 3)}


def plugin_output(records: Sequence[dict[str, Any]]) -> str:
    """The whole plugin output for one site or several."""
    worst = max((_status(r) for r in records), key=RANK.__getitem__, default=Status.UNKNOWN)
    perf = {key: sum(_int(r.get(key)) for r in records) for key in (*_COUNTS, "files", "bytes")}
    seconds = max((_float(r.get("seconds")) for r in records), default=0.0)
    data = (f"critical={perf['critical']};;0;0 warning={perf['warning']};0;;0 "
            f"info={perf['info']};;;0 files={perf['files']};;;0 bytes={perf['bytes']}B;;;0 "
            f"duration={seconds:.3f}s;;;0")
    if len(records) == 1:
        record = records[0]
        first = f"{record['site']}: {_summary(record)}"
        long = [str(line) for line in record.get("long", [])]
    else:
        by_status = {s: [r for r in records if _status(r) is s] for s in RANK}
        first = f"{len(records)} sites: " + ", ".join(
            f"{len(by_status[s])} {s.value}" for s in sorted(RANK, key=RANK.__getitem__,
                                                          reverse=True) if by_status[s])
        first += "".join(f"; {r['site']}: {_summary(r)}"
                         for s in (Status.UNKNOWN, Status.CRITICAL) for r in by_status[s])
        long = []
        for record in sorted(records, key=lambda r: (-RANK[_status(r)], str(r["site"]))):
            long.append(f"{record['site']}: {WORDS[_status(record)]} - {_summary(record)}")
            long += [str(line) for line in record.get("long", [])]
        data += f" sites={len(records)};;;0 " + " ".join(
            f"sites_{s.value}={len(by_status[s])};;;0" for s in RANK)
    # '|' starts the performance data: it must not appear in the text before it
    head = printable(f"GITGUARD {WORDS[worst]} - {first}").replace("|", "/")
    return "\n".join([f"{head} | {data}", *(line.replace("|", "/") for line in long)])


def exit_status(records: Sequence[dict[str, Any]]) -> Status:
    """The worst status among the records."""
    return max((_status(r) for r in records), key=RANK.__getitem__, default=Status.UNKNOWN)


def _named(result: AuditResult) -> str:
    """The worst findings by path and first reason, shortened for the status line."""
    shown = sorted((f for f in result.findings if f.severity is not Severity.INFO),
                   key=lambda f: (-SEVERITY_RANK[f.severity], f.path))
    parts = [f"{printable(f.path)} ({describe(f.reasons[0], 'en')})" if f.reasons
             else printable(f.path) for f in shown[:NAMED]]
    parts += [describe(p, "en") for p in (*result.problems, *result.live)][:NAMED]
    more = len(shown) - NAMED
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def _summary(record: dict[str, Any]) -> str:
    if record.get("error"):
        return str(record["error"])
    counts = ", ".join(f"{_int(record.get(k))} {k}" for k in _COUNTS)
    named = str(record.get("named") or "")
    return counts + (f": {named}" if named else "")


def _status(record: dict[str, Any]) -> Status:
    try:
        return Status(str(record.get("status")))
    except ValueError:
        return Status.UNKNOWN


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _float(value: object) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else 0.0
