"""A look against the look taken at approval: reasons with a fixed severity, and pictures.

Content rules are detect's, the same lists as the file audit; compared with the approved
page, only what is new counts, so a news article that once quoted 'hacked' does not alarm
for ever. Views are compared with each other too: what only some of them receive is cloaking.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from gitguard.detect import Side, critical_reasons
from gitguard.look.model import VIEWS, Capture, Look, SitemapEntry, origin, url_key
from gitguard.look.settings import LookSettings, Rules
from gitguard.model import Change, Kind, Reason, Severity

if TYPE_CHECKING:
    from gitguard.look.pixels import Difference

# What a served page can show; rules about files (new scripts, home page changed) do not
# apply to a page, and its own external scripts are judged by origin below.
PAGE_CODES = frozenset({"defacement_text", "gambling_spam", "doorway_page", "hidden_links",
                        "redirect_injected"})
SEVERITY: dict[str, Severity] = {
    **dict.fromkeys(PAGE_CODES, Severity.CRITICAL),
    "look_cloaking": Severity.CRITICAL,
    "look_new_origin": Severity.CRITICAL,
    "look_redirect_away": Severity.CRITICAL,
    "look_cert_invalid": Severity.CRITICAL,
    "look_down_long": Severity.CRITICAL,
    "look_sitemap_gambling": Severity.CRITICAL,
    "look_robots_gambling": Severity.CRITICAL,
    "look_baseline_untrusted": Severity.CRITICAL,
    "look_title": Severity.WARNING,
    "look_text": Severity.WARNING,
    "look_pixels": Severity.WARNING,
    "look_status": Severity.WARNING,
    "look_cert_expiring": Severity.WARNING,
    "look_down": Severity.WARNING,
    "look_page_failed": Severity.WARNING,
    "look_failed": Severity.WARNING,
    "look_sitemap_new": Severity.WARNING,
    "look_robots_new": Severity.WARNING,
    "look_no_baseline": Severity.WARNING,
    "look_files_unchanged": Severity.INFO,
}
_PLAIN = frozenset(v.name for v in VIEWS if not v.rendered)
LISTED = 10  # new sitemap entries or robots rules named in one reason; the rest counted


def severity(code: str) -> Severity:
    """How bad a look reason is (an unknown code is a warning, never nothing)."""
    return SEVERITY.get(code, Severity.WARNING)


@dataclass(frozen=True)
class Shot:
    """One URL in one view as pictures: approved, now, and the difference."""

    url: str
    view: str
    ratio: float | None
    approved: bytes | None
    current: bytes | None
    difference: Difference | None = None
    over: bool = False  # the difference is a finding

    @property
    def diff(self) -> bytes | None:
        """The difference picture (PNG), drawn now."""
        return self.difference.picture() if self.difference is not None else None


@dataclass(frozen=True)
class Outcome:
    """What comparing a look found."""

    reasons: tuple[Reason, ...]
    shots: tuple[Shot, ...]
    down: bool  # nothing could be reached at all


def page_reasons(html: bytes, before: bytes | None) -> list[Reason]:
    """What detect's content rules find in a served page that the approved page lacked."""
    new = Side(kind=Kind.FILE, mode=0o644, data=html, target=None)
    old = Side(kind=Kind.FILE, mode=0o644, data=before, target=None) if before else None
    change = Change.MODIFIED if old else Change.ADDED
    return [r for r in critical_reasons("look.html", change, old, new) if r.code in PAGE_CODES]


def text_changed(before: str, after: str, ignore: Sequence[str]) -> float:
    """The share of words of the longer text that the other one lacks (0: same words)."""
    def words(text: str) -> Counter[str]:
        for pattern in ignore:
            text = re.sub(pattern, " ", text)
        return Counter(text.lower().split())

    old, new = words(before), words(after)
    total = max(sum(old.values()), sum(new.values()))
    return 1.0 - sum((old & new).values()) / total if total else 0.0


def _host(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")


def _gambling(text: str) -> list[Reason]:
    """detect's gambling and defacement rules on a short text (an address or a title)."""
    words = re.sub(r"[-_/.+%]+", " ", text)
    return page_reasons(f"{text}\n{words}".encode("utf-8", "replace"), None)


def _views(names: Iterable[str]) -> str:
    return ", ".join(sorted(names))


def compare(current: Look, baseline: Look | None, urls: Sequence[str],
            settings: LookSettings) -> Outcome:
    """Every reason this look gives, against the baseline when there is one."""
    from gitguard.look.pixels import difference  # Pillow: only when pictures are compared

    found: list[Reason] = []
    shots: list[Shot] = []
    reached = False
    for url in [*urls, *current.extra_pages]:
        rule = settings.for_url(url)
        captures = [c for c in current.captures if c.url == url]
        good = [c for c in captures if c.error is None]
        reached = reached or bool(good)
        if not good:
            why = next((c.error for c in captures if c.error), "no answer")
            found.append(Reason("look_down", f"{url}: {why}"))
            continue
        for failed in (c for c in captures if c.error is not None):
            found.append(Reason("look_page_failed", f"{url} ({failed.view}): {failed.error}"))
        signals: dict[str, set[str]] = {}
        for cap in good:
            old = baseline.capture(url, cap.view) if baseline else None
            if baseline and old is None:
                old = baseline.capture(url, "desktop")
            if old is not None and old.error is not None:
                old = None
            signals[cap.view] = _signals(cap)
            found += [Reason(r.code, f"{url} ({cap.view}): {r.detail}")
                      for r in page_reasons(cap.html, old.html if old else None)]
            found += _against(url, cap, old, rule, baseline is not None)
            if cap.screenshot is not None and old is not None and old.screenshot is not None:
                diff = difference(old.screenshot, cap.screenshot)
                ratio = diff.ratio
                over = ratio > rule.pixel_change
                if over:
                    found.append(Reason("look_pixels", f"{url} ({cap.view}): "
                                        f"{ratio:.1%} > {rule.pixel_change:.1%}"))
                shots.append(Shot(url, cap.view, ratio, old.screenshot, cap.screenshot, diff,
                                  over))
            elif cap.screenshot is not None:
                shots.append(Shot(url, cap.view, None, None, cap.screenshot))
        found += _cloaking(url, signals)
        found += _link_cloaking(url, {c.view: _outside_hosts(c) for c in good})
    for cert in current.certificates:
        if not cert.valid:
            found.append(Reason("look_cert_invalid", f"{cert.host}: {cert.problem}"))
        elif cert.days_left is not None and cert.days_left < settings.cert_warn_days:
            found.append(Reason("look_cert_expiring", f"{cert.host}: {cert.days_left}"))
    found += _sitemap(current, baseline)
    return Outcome(_merged(found), tuple(shots), down=not reached)


_PER_VIEW = re.compile(r"^(?P<url>\S+) \((?P<view>[a-z]+)\): (?P<rest>.*)$", re.S)


def _merged(found: list[Reason]) -> tuple[Reason, ...]:
    """One reason for what several views of a URL received alike, naming those views."""
    views: dict[tuple[str, str, str], list[str]] = {}
    order: list[Reason | tuple[str, str, str]] = []
    for reason in found:
        match = _PER_VIEW.match(reason.detail)
        if match is None:
            order.append(reason)
            continue
        key = (reason.code, match["url"], match["rest"])
        if key not in views:
            views[key] = []
            order.append(key)
        views[key].append(match["view"])
    # then the phrases one rule found on a page in the same views: one reason, all of them
    joined: dict[tuple[str, str, str], list[str]] = {}
    out: list[Reason | tuple[str, str, str]] = []
    for item in order:
        if isinstance(item, Reason):
            out.append(item)
            continue
        code, url, rest = item
        key = (code, url, ", ".join(dict.fromkeys(views[item])))
        if code not in PAGE_CODES:
            out.append(Reason(code, f"{key[1]} ({key[2]}): {rest}"))
            continue
        if key not in joined:
            joined[key] = []
            out.append(key)
        joined[key].append(rest)
    return tuple(dict.fromkeys(
        r if isinstance(r, Reason) else Reason(r[0], f"{r[1]} ({r[2]}): "
                                               + "; ".join(dict.fromkeys(joined[r])))
        for r in out))


def _signals(cap: Capture) -> set[str]:
    """What a view received that cloaking would show to some views only."""
    found = {f"{r.code}" for r in page_reasons(cap.html, None)}
    if cap.final_url and _host(cap.final_url) != _host(cap.url):
        found.add(f"redirect to {_host(cap.final_url)}")
    return found


def _cloaking(url: str, signals: dict[str, set[str]]) -> list[Reason]:
    if len(signals) < 2:
        return []
    out: list[Reason] = []
    for signal in sorted(set.union(*signals.values())):
        views = [v for v, s in signals.items() if signal in s]
        lacking = set(signals) - set(views)
        # what scripts put into the page a plain fetch cannot see: that is an injection,
        # found as such above, not cloaking
        if lacking and not lacking <= _PLAIN:
            out.append(Reason("look_cloaking", f"{url}: {signal} shown to {_views(views)} only"))
    return out


def _outside_hosts(cap: Capture) -> set[str]:
    """The other sites a page links to."""
    own = {_host(cap.url), _host(cap.final_url)}
    return {h for h in map(_host, cap.links) if h and h not in own}


def _link_cloaking(url: str, hosts: dict[str, set[str]]) -> list[Reason]:
    """Links to other sites that only the crawler, or only a visitor from a search, gets
    (backlinks planted for search engines); a phone's menu may differ, so mobile is not
    compared."""
    out: list[Reason] = []
    rendered = [h for view, h in hosts.items() if view not in _PLAIN]
    for view in _PLAIN & set(hosts):
        only = sorted(hosts[view] - set().union(*rendered)) if rendered else []
        if only:
            out.append(Reason("look_cloaking", f"{url}: links to {', '.join(only[:LISTED])} "
                              f"shown to {view} only"))
    if "search" in hosts and "desktop" in hosts:
        only = sorted(hosts["search"] - hosts["desktop"])
        if only:
            out.append(Reason("look_cloaking", f"{url}: links to {', '.join(only[:LISTED])} "
                              "shown to search only"))
    return out


def _against(url: str, cap: Capture, old: Capture | None, rule: Rules,
             has_baseline: bool) -> list[Reason]:
    """The reasons that need the approved page (or, without one, the URL itself)."""
    where = f"{url} ({cap.view})"
    found: list[Reason] = []
    if cap.status is not None and not 200 <= cap.status < 300:
        found.append(Reason("look_status", f"{where}: HTTP {cap.status}"))
    away = _host(cap.final_url) not in (_host(url), _host(old.final_url) if old else "")
    if cap.final_url and away:
        found.append(Reason("look_redirect_away", f"{where}: {cap.final_url}"))
    if old is None:
        return found
    own = {_origin_of(url), _origin_of(cap.final_url), _origin_of(old.final_url)}
    for item in sorted(set(cap.origins) - set(old.origins)):
        kind, _, source = item.partition(" ")
        if source not in own:
            found.append(Reason("look_new_origin", f"{where}: {kind} {source}"))
    if old.title != cap.title:
        found.append(Reason("look_title", f"{where}: '{old.title}' -> '{cap.title}'"))
    # the crawler's plain fetch has no CSS to mask parts with: its text counts only where
    # no part is masked (its phrases and cloaking are judged all the same)
    masked = rule.ignore_selectors and cap.view in _PLAIN
    share = 0.0 if masked else text_changed(old.text, cap.text, rule.ignore_text)
    if share > rule.text_change:
        found.append(Reason("look_text", f"{where}: {share:.0%} > {rule.text_change:.0%}"))
    return found


def _origin_of(url: str) -> str:
    return origin(url) or ""


def _sitemap(current: Look, baseline: Look | None) -> list[Reason]:
    found: list[Reason] = []
    known = {e.url for e in baseline.sitemap} if baseline else set()
    new: list[SitemapEntry] = [e for e in current.sitemap if e.url not in known]
    bad = [e for e in new if _gambling(f"{e.url} {e.title}")]
    found += [Reason("look_sitemap_gambling", f"{e.url} {e.title}".strip())
              for e in bad[:LISTED]]
    if len(bad) > LISTED:
        found.append(Reason("look_sitemap_gambling", f"... and {len(bad) - LISTED} more"))
    if baseline is not None and new:
        names = ", ".join(e.url for e in new[:LISTED])
        more = f" (and {len(new) - LISTED} more)" if len(new) > LISTED else ""
        found.append(Reason("look_sitemap_new", f"{len(new)}: {names}{more}"))
    known_rules = set(baseline.robots) if baseline else set()
    rules = [r for r in current.robots if r not in known_rules]
    found += [Reason("look_robots_gambling", r) for r in rules if _gambling(r)][:LISTED]
    if baseline is not None and rules:
        found.append(Reason("look_robots_new", "; ".join(rules[:LISTED])))
    return found


def picture_names(site: str, stamp: str, shot: Shot) -> dict[str, str]:
    """The file names of a shot's pictures beside a report."""
    stem = f"look-{site}-{stamp}-{url_key(shot.url)}-{shot.view}"
    return {"approved": f"{stem}-approved.png", "current": f"{stem}-current.png",
            "diff": f"{stem}-diff.png"}
