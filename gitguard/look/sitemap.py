"""sitemap.xml (and sitemap indexes) and robots.txt as the site serves them now.

Both are hostile input: bodies are bounded, XML with a DOCTYPE (entities) is refused, only
sitemaps on the site's own host are followed, and entries are counted to a limit.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from urllib.parse import urljoin, urlsplit

from gitguard.look.fetch import FetchError, get
from gitguard.look.model import GOOGLEBOT_UA, SitemapEntry

MAX_SITEMAPS = 20  # sitemap files read per look (an index and its children)
MAX_ENTRIES = 20_000
MAX_ROBOTS = 512 << 10
_RULE = re.compile(r"^\s*(user-agent|allow|disallow|sitemap|crawl-delay|host)\s*:\s*(.*?)\s*$",
                   re.IGNORECASE)
_DOCTYPE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def robots(base: str) -> tuple[list[str], list[str]]:
    """robots.txt's rules as 'field: value' lines, and the sitemaps it names."""
    try:
        response = get(urljoin(base, "/robots.txt"), GOOGLEBOT_UA, limit=MAX_ROBOTS)
    except FetchError:
        return [], []
    if response.status != 200:
        return [], []
    rules: list[str] = []
    maps: list[str] = []
    for line in response.body.decode("utf-8", "replace").splitlines():
        match = _RULE.match(line.split("#", 1)[0])
        if match:
            name, value = match.group(1).lower(), match.group(2)
            rules.append(f"{name}: {value}")
            if name == "sitemap":
                maps.append(value)
    return list(dict.fromkeys(rules)), maps


def _local(name: str) -> str:
    return name.rpartition("}")[2]


def sitemap(base: str, named: list[str]) -> list[SitemapEntry]:
    """Every entry of /sitemap.xml and the sitemaps robots.txt names, indexes followed."""
    host = urlsplit(base).hostname
    queue = list(dict.fromkeys([urljoin(base, "/sitemap.xml"), *named]))
    seen: set[str] = set()
    entries: dict[str, SitemapEntry] = {}
    while queue and len(seen) < MAX_SITEMAPS and len(entries) < MAX_ENTRIES:
        address = queue.pop(0)
        if address in seen or urlsplit(address).hostname != host:
            continue  # only the site's own sitemaps: a look never wanders to other hosts
        seen.add(address)
        try:
            response = get(address, GOOGLEBOT_UA)
        except FetchError:
            continue
        if response.status != 200 or _DOCTYPE.search(response.body[:4096]):
            continue
        try:
            root = ET.fromstring(response.body)
        except ET.ParseError:
            continue
        if _local(root.tag) == "sitemapindex":
            queue += [loc.text.strip() for loc in root.iter() if _local(loc.tag) == "loc"
                      and loc.text]
            continue
        for item in root:
            if _local(item.tag) != "url":
                continue
            loc = ""
            titles: list[str] = []
            for child in item.iter():
                name = _local(child.tag)
                if name == "loc" and child.text and not loc:
                    loc = child.text.strip()
                elif name in ("title", "caption", "keywords") and child.text:
                    titles.append(" ".join(child.text.split()))
            if loc and loc not in entries:
                entries[loc] = SitemapEntry(loc[:2000], " ".join(titles)[:300])
            if len(entries) >= MAX_ENTRIES:
                break
    return list(entries.values())
