"""Put the flagged rows back: the approved version of modified and deleted rows, flagged new
rows removed, all in one transaction (a killed restore changes nothing)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from gitguard.config import Site
from gitguard.database.access import account, open_session
from gitguard.database.errors import DatabaseError
from gitguard.database.grade import database_findings
from gitguard.database.rows import DbState, read_db, rows_of, schema_of
from gitguard.database.table import ROWS, Table
from gitguard.model import Finding, Severity
from gitguard.plan import RowStep
from gitguard.remote.base import Remote
from gitguard.store.git import Git
from gitguard.store.objects import BlobReader

_DENIED = ("command denied", "Access denied", "read only", "READ ONLY", "read-only")


def _rows(state: DbState, tab: Table, reader: BlobReader) -> dict[str, bytes]:
    files = state.tables.get(tab.name, {})
    return rows_of(tab, files, {n for n in files if n.endswith(ROWS)}, reader)


def row_plan(git: Git, approved: str, evidence: str, graded: Iterable[Finding]
             ) -> tuple[RowStep, ...]:
    """The row steps for every flagged (warning or critical) row finding: deletions first
    (a new row may hold a unique value the approved one needs), then the approved rows."""
    flagged: dict[str, set[str]] = {}
    titles: dict[tuple[str, str], str | None] = {}
    for f in graded:
        if f.table is not None and f.key is not None and f.severity is not Severity.INFO:
            flagged.setdefault(f.table, set()).add(f.key)
            titles[(f.table, f.key)] = f.title
    if not flagged:
        return ()
    old, new = read_db(git, approved), read_db(git, evidence)
    deletes: list[RowStep] = []
    puts: list[RowStep] = []
    with BlobReader(git) as reader:
        for name, keys in sorted(flagged.items()):
            tab = schema_of(new, name, reader) or schema_of(old, name, reader)
            if tab is None:
                continue
            # a table without a primary key: a row's key is the whole row, so a changed row
            # is one deleted and one added, put back by matching every column
            want = _rows(old, tab, reader) if name in old.tables else {}
            have = _rows(new, tab, reader) if name in new.tables else {}
            binary = tuple(c.binary for c in tab.columns)
            for key in sorted(keys):
                if key in want:
                    puts.append(RowStep("put", name, key, titles[(name, key)],
                                        tuple(c.name for c in tab.columns),
                                        tuple(tab.values(want[key])), binary))
                elif key in have:
                    values = tab.values(have[key])
                    pos = tab.key_positions
                    deletes.append(RowStep("delete", name, key, titles[(name, key)],
                                           tuple(tab.columns[p].name for p in pos),
                                           tuple(values[p] for p in pos),
                                           tuple(binary[p] for p in pos)))
    return tuple(deletes + puts)


def _literal(value: bytes | None, binary: bool) -> str:
    """A value as SQL no server data can break out of: hex, relabelled as text."""
    if value is None:
        return "NULL"
    if binary:
        return f"X'{value.hex()}'"
    return f"CONVERT(X'{value.hex()}' USING utf8mb4)"


def statements(steps: Sequence[RowStep]) -> str:
    """The SQL of the row steps, as one transaction."""
    out = ["START TRANSACTION"]
    for s in steps:
        if s.action == "delete":
            where = " AND ".join(f"`{c}` <=> {_literal(v, b)}"
                                 for c, v, b in zip(s.columns, s.values, s.binary, strict=True))
            # one row: a table without a key may hold the same row twice, and only the one
            # flagged goes (with a key, one row matches anyway)
            out.append(f"DELETE FROM `{s.table}` WHERE {where} LIMIT 1")
        else:
            cols = ", ".join(f"`{c}`" for c in s.columns)
            vals = ", ".join(_literal(v, b) for v, b in zip(s.values, s.binary, strict=True))
            out.append(f"REPLACE INTO `{s.table}` ({cols}) VALUES ({vals})")
    out.append("COMMIT")
    return ";\n".join(out)


def apply_rows(site: Site, remote: Remote | None, steps: Sequence[RowStep]) -> None:
    """Apply the row steps in one transaction; a client that stops before COMMIT (an error,
    a kill, a lost connection) leaves the database as it was."""
    if not steps:
        return
    session = open_session(site, remote, account(site, remote))
    try:
        session.run(statements(steps))
    except DatabaseError as exc:
        if any(word in str(exc) for word in _DENIED):
            raise DatabaseError(f"{exc}: the database account has no right to write; restore "
                                "needs one that may INSERT, UPDATE and DELETE. Nothing in the "
                                "database was changed") from None
        raise DatabaseError(f"{exc}; nothing in the database was changed") from None
    finally:
        session.close()


def still_different(git: Git, approved: str, after: str, steps: Sequence[RowStep],
                    new_paths: Iterable[str] = ()) -> list[str]:
    """The planned rows that still differ from the approved state after a restore."""
    wanted = {(s.table, s.key) for s in steps}
    return [f.path for f in database_findings(git, approved, after, set(new_paths))
            if (f.table, f.key) in wanted]


def describe_rows(steps: Sequence[RowStep]) -> list[str]:
    """The row plan as lines for a terminal."""
    return [f"  {'row' if s.action == 'put' else 'delrow':6} {s.table}/{s.key}"
            + (f" ({s.title})" if s.title else "")
            + (" (approved version)" if s.action == "put" else " (flagged new row)")
            for s in steps]
