"""What WordPress's tables mean: which rows make an administrator, move the site, switch
plugins or themes, and which change on their own (transients, sessions, cron)."""

from __future__ import annotations

import re
from collections.abc import Iterable

CORE = ("options", "users", "usermeta", "posts", "postmeta")
ADDRESS_OPTIONS = frozenset(("siteurl", "home"))
CODE_OPTIONS = frozenset(("active_plugins", "template", "stylesheet", "active_sitewide_plugins"))
# Options WordPress rewrites by itself all day: no finding, never restored.
VOLATILE_OPTIONS = frozenset(("cron", "doing_cron", "recently_edited", "recovery_keys",
                              "rewrite_rules", "auto_updater.lock", "core_updater.lock"))
VOLATILE_OPTION_PREFIXES = ("_transient_", "_site_transient_", "_wc_session_")
VOLATILE_USERMETA = frozenset(("session_tokens", "community-events-location",
                               "dismissed_wp_pointers", "last_login", "wp_last_login"))
VOLATILE_USERMETA_SUFFIXES = ("user-settings", "user-settings-time",
                              "dashboard_quick_press_last_post_id")
QUIET_POSTMETA = frozenset(("_edit_lock", "_edit_last", "_wp_old_slug", "_wp_old_date",
                            "_encloseme", "_pingme"))
# Post columns WordPress updates without anyone editing the content.
BOOKKEEPING_POST_COLUMNS = frozenset(("comment_count", "post_modified", "post_modified_gmt",
                                      "ping_status", "pinged", "to_ping"))
ADMIN = re.compile(rb's:13:"administrator";b:1;|s:\d+:"administrator"')
_SERIALIZED_STRING = re.compile(rb's:\d+:"([^"]*)"')


def prefix_of(tables: Iterable[str]) -> str | None:
    """The table prefix of a WordPress install (e.g. 'wp_'): the one all core tables share."""
    names = set(tables)
    found = [name[:-len("options")] for name in names if name.endswith("options")]
    for prefix in sorted(found, key=len):
        if all(prefix + core in names for core in CORE):
            return prefix
    return None


def volatile_option(name: str) -> bool:
    """An option WordPress keeps rewriting (transients, cron): never a finding."""
    return name in VOLATILE_OPTIONS or name.startswith(VOLATILE_OPTION_PREFIXES)


def volatile_usermeta(key: str, prefix: str) -> bool:
    """A user setting every login rewrites: never a finding."""
    return key in VOLATILE_USERMETA or (key.startswith(prefix)
                                        and key.endswith(VOLATILE_USERMETA_SUFFIXES))


def is_admin(capabilities: bytes | None) -> bool:
    """Whether a `<prefix>capabilities` value grants the administrator role."""
    return capabilities is not None and bool(ADMIN.search(capabilities))


def listed(value: bytes | None) -> set[str]:
    """The strings of a serialized PHP array (active_plugins) or a plain value (template)."""
    if value is None:
        return set()
    found = {m.group(1).decode("utf-8", "replace") for m in _SERIALIZED_STRING.finditer(value)}
    return found or {value.decode("utf-8", "replace")}


def code_folder(option: str, item: str) -> str | None:
    """The folder in the docroot a plugin or theme named in an option lives in."""
    if option in ("active_plugins", "active_sitewide_plugins"):
        slug = item.split("/")[0]
        return f"wp-content/plugins/{slug}" if slug and slug not in (".", "..") else None
    if option in ("template", "stylesheet"):
        return f"wp-content/themes/{item}" if item and "/" not in item else None
    return None
