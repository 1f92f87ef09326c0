"""The one error hierarchy; each class knows the exit code it maps to."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Monitoring-plugin exit codes (Nagios, Icinga, Zabbix)."""

    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3


class GitguardError(Exception):
    """An expected failure: printed as one line, mapped to an exit code."""

    exit_code: ExitCode = ExitCode.UNKNOWN


class ConfigError(GitguardError):
    """The configuration file is missing or wrong."""


class UsageError(GitguardError):
    """The command line is wrong."""


class SourceError(GitguardError):
    """The site's files could not be read or written."""


class HostKeyError(SourceError):
    """The server's host key is unknown or changed."""


class ScanError(SourceError):
    """A scan could not produce one complete, consistent manifest."""


class StoreError(GitguardError):
    """The site repository is missing, locked or inconsistent."""


class LockedError(StoreError):
    """Another gitguard run holds the site's lock."""


class TrustError(GitguardError):
    """A signature does not verify or a key is not an approver's."""


class CriticalError(GitguardError):
    """A failure that must page someone: e.g. the approved tip does not verify."""

    exit_code = ExitCode.CRITICAL


class DeliveryFailed(GitguardError):
    """A report was kept but could not be delivered on every channel."""
