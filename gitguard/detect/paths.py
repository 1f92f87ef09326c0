"""Risky paths: what a change means by its path alone, and symbolic links."""

from __future__ import annotations

import posixpath

from gitguard.detect.common import (
    _CONFIG_NAMES,
    _HANDLER_EXTS,
    _HOME_PAGES,
    _IMAGE_LIKE_EXTS,
    _SCRIPT_EXTS,
    _UPLOAD_DIRS,
    _VERIFY_FILE,
    _ext,
    _is_sitemap,
    _names,
)
from gitguard.model import Change, Reason


def _path_reasons(path: str, change: Change, appeared: bool) -> list[Reason]:
    """Reasons that follow from the path and the kind of change alone."""
    name = posixpath.basename(path)
    low = name.lower()
    out: list[Reason] = []
    if low in _CONFIG_NAMES:
        out.append(Reason("server_config", name))
    if "/" not in path and low in _HOME_PAGES and change is not Change.MODE:
        out.append(Reason("home_page", name))
    if not appeared:
        return out
    ext = _ext(name)
    if ext in _SCRIPT_EXTS:
        dirs = {part.lower() for part in path.split("/")[:-1]}
        code = "new_script_upload" if dirs & _UPLOAD_DIRS else "new_script"
        out.append(Reason(code, "." + name.rpartition(".")[2]))
    parts = low.split(".")
    if any(part in _HANDLER_EXTS for part in parts[1:-1]) or (
        len(parts) == 3 and ext in _SCRIPT_EXTS and parts[1] in _IMAGE_LIKE_EXTS
    ):
        out.append(Reason("double_extension", name))
    if _is_sitemap(name):
        out.append(Reason("sitemap_new", name))
    if _VERIFY_FILE.fullmatch(low):
        out.append(Reason("search_verification", name))
    return out


# --- symlinks ------------------------------------------------------------------------------

_SYSTEM_DIRS = (
    "/etc", "/root", "/proc", "/sys", "/dev", "/boot", "/home", "/var/lib", "/var/log",
    "/var/spool", "/var/mail", "/usr/local/etc", "/run",
)  # fmt: skip
_SECRET_NAMES = _names(
    "wp-config.php configuration.php config.php settings.php local.xml env.php database.php "
    "config.inc.php .env .htpasswd passwd shadow id_rsa id_ed25519 id_ecdsa authorized_keys "
    ".bash_history .my.cnf my.cnf .pgpass credentials"
)


def _symlink_reasons(path: str, target: str) -> list[Reason]:
    """A link is critical when it leaves the docroot or points at system or secret files."""
    absolute = target.startswith("/")
    outside = absolute or _climbs_out(path, target)
    resolved = posixpath.normpath(target)
    system = absolute and any(
        resolved == top or resolved.startswith(top + "/") for top in _SYSTEM_DIRS
    )
    # A link named like a page that points at a secret serves the secret as text; one named
    # *.php would run it instead.
    secret = posixpath.basename(resolved).lower() in _SECRET_NAMES and not path.lower().endswith(
        ".php"
    )
    if system or secret or target.startswith("~"):
        return [Reason("symlink_sensitive", target)]
    if outside:
        return [Reason("symlink_outside", target)]
    return []


def _climbs_out(path: str, target: str) -> bool:
    """Whether a relative target, read from the link's directory, goes above the docroot."""
    depth = path.count("/")
    for part in target.split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                return True
        elif part not in ("", "."):
            depth += 1
    return False
