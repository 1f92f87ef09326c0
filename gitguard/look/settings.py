"""`[sites.NAME.look]`: how the live look treats a site's dynamic parts, validated."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from collections.abc import Mapping

    from gitguard.config import _Checker

_SELECTOR_FORBIDDEN = re.compile(r"[{};<>\\]")  # would break out of the masking style rule


@dataclass(frozen=True)
class Rules:
    """How one URL's dynamic parts are treated."""

    ignore_selectors: tuple[str, ...] = ()
    ignore_text: tuple[str, ...] = ()  # regular expressions removed from the visible text
    text_change: float = 0.3  # share of the words that may change before it is a finding
    pixel_change: float = 0.05  # share of the pixels


@dataclass(frozen=True)
class LookSettings:
    """The site's look settings: default rules, per-URL rules, and the run's limits."""

    rules: Rules = Rules()
    pages: Mapping[str, Rules] = field(default_factory=lambda: MappingProxyType({}))
    sitemap_pages: int = 5
    ca_file: Path | None = None
    down_critical_after: int = 3
    cert_warn_days: int = 14

    def for_url(self, url: str) -> Rules:
        """The rules for one URL: its own table, else the site's."""
        return self.pages.get(url, self.rules)


RULE_KEYS = {"ignore_selectors", "ignore_text", "text_change", "pixel_change"}
KEYS = RULE_KEYS | {"sitemap_pages", "ca_file", "down_critical_after", "cert_warn_days",
                    "pages"}


def _share(check: _Checker, data: dict[str, Any], key: str, name: str, default: float) -> float:
    value = data.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        check.errors.append(f"{key}.{name}: expected a share from 0 to 1 (e.g. 0.3)")
        return default
    return float(value)


def _rules(check: _Checker, data: dict[str, Any], key: str, base: Rules) -> Rules:
    selectors = check.strings(data, key, "ignore_selectors") if "ignore_selectors" in data \
        else base.ignore_selectors
    for selector in selectors:
        if _SELECTOR_FORBIDDEN.search(selector):
            check.errors.append(f"{key}.ignore_selectors: {selector!r} is not a plain CSS "
                                "selector (no braces, ';', '<', '>' or backslashes)")
    patterns = check.strings(data, key, "ignore_text") if "ignore_text" in data \
        else base.ignore_text
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            check.errors.append(f"{key}.ignore_text: {pattern!r} is not a regular "
                                f"expression: {exc}")
    return Rules(tuple(selectors), tuple(patterns),
                 _share(check, data, key, "text_change", base.text_change),
                 _share(check, data, key, "pixel_change", base.pixel_change))


def parse(check: _Checker, raw: Any, key: str, urls: tuple[str, ...]) -> LookSettings:
    """The look table of one site; every mistake goes to `check` with its key."""
    data = check.table(raw, key)
    check.unknown(data, key, KEYS)
    rules = _rules(check, data, key, Rules())
    pages: dict[str, Rules] = {}
    for url, table in check.table(data.get("pages"), f"{key}.pages").items():
        page_key = f'{key}.pages."{url}"'
        if urlsplit(url).scheme not in ("http", "https"):
            check.errors.append(f"{page_key}: not an http(s) URL")
        elif url not in urls:
            check.errors.append(f"{page_key}: not one of the site's urls")
        table = check.table(table, page_key)
        check.unknown(table, page_key, RULE_KEYS)
        pages[url] = _rules(check, table, page_key, rules)
    return LookSettings(
        rules=rules, pages=MappingProxyType(pages),
        sitemap_pages=check.integer(data, key, "sitemap_pages", 5, 0, 100),
        ca_file=check.path(data, key, "ca_file", must_exist=True),
        down_critical_after=check.integer(data, key, "down_critical_after", 3, 1, 1000),
        cert_warn_days=check.integer(data, key, "cert_warn_days", 14, 0, 365))
