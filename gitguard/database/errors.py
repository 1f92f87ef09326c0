"""The database's errors: one line each, exit 3 (UNKNOWN) like any source that cannot be read."""

from __future__ import annotations

from gitguard.errors import SourceError


class DatabaseError(SourceError):
    """The database could not be read or written."""


class DatabaseNotBackedUp(DatabaseError):
    """The files were backed up and committed; the database was not."""
