"""Reach a site's docroot: list, read, write and remove, never following a symlink."""

from __future__ import annotations

import sys

from gitguard.config import LocalSource, Site
from gitguard.remote.base import Remote

# paramiko imports invoke only to run `Match exec` lines of ssh_config files, which gitguard
# never reads; that import would cost 50 ms of every scheduled run.
sys.modules.setdefault("invoke", None)  # type: ignore[arg-type]


def open_remote(site: Site) -> Remote:
    """The transport for a site's source: a local directory or SSH."""
    if isinstance(site.source, LocalSource):
        from gitguard.remote.local import LocalRemote

        return LocalRemote(site.source.path)
    from gitguard.remote.ssh import SshRemote

    return SshRemote.connect(site)
