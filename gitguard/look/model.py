"""What a look records: frozen records of each URL in each view, and of the whole look."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

DESKTOP_UA = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/124.0 Safari/537.36")
MOBILE_UA = ("Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
             "Chrome/124.0 Mobile Safari/537.36")
GOOGLEBOT_UA = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
SEARCH_REFERER = "https://www.google.com/"


@dataclass(frozen=True)
class View:
    """One way of arriving at a page: who the visitor claims to be and where from."""

    name: str
    user_agent: str
    referer: str | None = None
    mobile: bool = False
    rendered: bool = True  # False: a plain fetch (the crawler), no JavaScript, no picture
    screenshot: bool = False


DESKTOP = View("desktop", DESKTOP_UA, screenshot=True)
MOBILE = View("mobile", MOBILE_UA, mobile=True, screenshot=True)
SEARCH = View("search", DESKTOP_UA, referer=SEARCH_REFERER)
GOOGLEBOT = View("googlebot", GOOGLEBOT_UA, rendered=False)
VIEWS = (DESKTOP, MOBILE, SEARCH, GOOGLEBOT)
VIEW_NAMES = tuple(v.name for v in VIEWS)


@dataclass(frozen=True)
class Capture:
    """One URL as one view received it."""

    url: str
    view: str
    final_url: str = ""
    redirects: tuple[str, ...] = ()  # every address passed through, the first one included
    status: int | None = None
    title: str = ""
    text: str = ""  # the visible text, ignore rules applied
    links: tuple[str, ...] = ()
    origins: tuple[str, ...] = ()  # "script https://host", "iframe ...", "form ..."
    html: bytes = field(default=b"", repr=False)  # the rendered DOM (or the fetched body)
    screenshot: bytes | None = field(default=None, repr=False)  # PNG
    error: str | None = None  # why the page could not be looked at

    @property
    def key(self) -> str:
        """A file-name-safe name for this URL in this view."""
        return f"{url_key(self.url)}-{self.view}"


@dataclass(frozen=True)
class Certificate:
    """What the TLS check found for one https host."""

    host: str
    valid: bool
    days_left: int | None
    problem: str = ""


@dataclass(frozen=True)
class SitemapEntry:
    """One address a sitemap lists, with any title the sitemap gives it."""

    url: str
    title: str = ""


@dataclass(frozen=True)
class Look:
    """Everything one look saw."""

    taken: datetime
    captures: tuple[Capture, ...]
    certificates: tuple[Certificate, ...] = ()
    sitemap: tuple[SitemapEntry, ...] = ()
    robots: tuple[str, ...] = ()  # robots.txt rule lines, normalised
    extra_pages: tuple[str, ...] = ()  # sitemap pages looked at beyond the configured URLs

    def capture(self, url: str, view: str) -> Capture | None:
        """The capture of this URL in this view, if taken."""
        return next((c for c in self.captures if c.url == url and c.view == view), None)


def url_key(url: str) -> str:
    """A short stable name for a URL (file names of pictures and pages)."""
    return hashlib.sha256(url.encode("utf-8", "surrogateescape")).hexdigest()[:12]


def origin(url: str) -> str | None:
    """scheme://host[:port] of an http(s) address, or None."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    try:
        port = parts.port
    except ValueError:
        return None
    default = {"http": 80, "https": 443}[parts.scheme]
    host = parts.hostname.lower()
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")
