"""The live look: what visitors (and search engines) actually receive over HTTP.

It is the independent witness an agentless scan lacks: a root attacker can lie to `find`,
not to every visitor. Each URL is fetched as a browser and as Googlebot; the bodies go
through detect's content rules, and a difference that only the crawler sees is cloaking.
"""

from __future__ import annotations

import logging
import ssl
import urllib.error
import urllib.request
from collections.abc import Sequence

from gitguard.detect import Side, critical_reasons
from gitguard.model import Change, Kind, Reason

log = logging.getLogger(__name__)

TIMEOUT = 20.0
MAX_BODY = 4 << 20
BROWSER = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/120.0 Safari/537.36")
CRAWLER = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
# What a served page can show; rules about files (new scripts, home page changed) do not
# apply to a page, and a page's own external scripts are normal.
PAGE_CODES = frozenset({"defacement_text", "gambling_spam", "doorway_page", "hidden_links",
                        "redirect_injected"})
CRITICAL_LIVE = PAGE_CODES | {"live_cloaking"}


def fetch(url: str, agent: str) -> bytes:
    """The body of a GET, at most MAX_BODY bytes; raises OSError on any failure."""
    request = urllib.request.Request(url, headers={"User-Agent": agent,
                                                   "Accept-Language": "id,en;q=0.8"})
    context = ssl.create_default_context()
    with urllib.request.urlopen(request, timeout=TIMEOUT, context=context) as response:
        body: bytes = response.read(MAX_BODY)
        return body


def page_reasons(url: str, body: bytes) -> list[Reason]:
    """What detect's content rules find in a served page."""
    side = Side(kind=Kind.FILE, mode=0o644, data=body, target=None)
    return [Reason(r.code, f"{url}: {r.detail}" if r.detail else url)
            for r in critical_reasons("live.html", Change.ADDED, None, side)
            if r.code in PAGE_CODES]


def look(urls: Sequence[str]) -> list[Reason]:
    """Look at each URL as a visitor and as a crawler; return what is wrong."""
    found: list[Reason] = []
    for url in urls:
        try:
            visitor = fetch(url, BROWSER)
        except (OSError, urllib.error.URLError, ValueError) as exc:
            found.append(Reason("live_unreachable", f"{url}: {getattr(exc, 'reason', exc)}"))
            continue
        seen = page_reasons(url, visitor)
        found += seen
        try:
            crawler = fetch(url, CRAWLER)
        except (OSError, urllib.error.URLError, ValueError):
            continue
        only_crawler = {r.code for r in page_reasons(url, crawler)} - {r.code for r in seen}
        if only_crawler:
            found.append(Reason("live_cloaking", f"{url}: {', '.join(sorted(only_crawler))}"))
    return found
