"""A database folder as rows: read from git (checked), and the row changes between two."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from gitguard.database import table as fmt
from gitguard.database.gittree import TREE, TreeReader, database_of
from gitguard.database.table import Column, Table
from gitguard.model import Change
from gitguard.store.git import Git
from gitguard.store.objects import BlobReader

DB_PATH = "database:"  # how a row's finding is named: database:<table>/<key>


@dataclass(frozen=True)
class RowChange:
    """One row that differs: its table, key, and the approved and current lines."""

    table: Table
    key: str
    change: Change
    old: bytes | None  # the row line, None when absent
    new: bytes | None

    def old_values(self) -> dict[str, bytes | None]:
        """Column -> value of the approved row."""
        return _named(self.table, self.old)

    def new_values(self) -> dict[str, bytes | None]:
        """Column -> value of the current row."""
        return _named(self.table, self.new)


def _named(tab: Table, line: bytes | None) -> dict[str, bytes | None]:
    if line is None:
        return {}
    return dict(zip((c.name for c in tab.columns), tab.values(line), strict=True))


@dataclass(frozen=True)
class DbState:
    """A database folder: each table's files (name -> blob id)."""

    git: Git
    tables: Mapping[str, Mapping[str, tuple[str, str]]]
    trees: Mapping[str, str]


def read_db(git: Git, commit: str | None) -> DbState:
    """The database folder of a commit (empty when it has none), trees checked."""
    tree = database_of(git, commit)
    tables: dict[str, dict[str, tuple[str, str]]] = {}
    trees: dict[str, str] = {}
    if tree is not None:
        with TreeReader(git) as reader:
            for name, (mode, oid) in reader.entries(tree).items():
                if mode == TREE:
                    trees[name] = oid
                    tables[name] = reader.entries(oid)
    return DbState(git, tables, trees)


def parse_schema(data: bytes) -> Table:
    """A schema file back as a Table (ValueError when malformed)."""
    name = engine = collation = ""
    columns: list[Column] = []
    primary: tuple[str, ...] = ()
    indexes: list[str] = []
    for line in data.decode("utf-8", "surrogateescape").splitlines():
        kind, _, rest = line.partition("\t")
        if kind == "table":
            name = rest
        elif kind == "engine":
            engine = rest
        elif kind == "collation":
            collation = rest
        elif kind == "column":
            cname, ctype, nullable, default, extra, ccoll = rest.split("\t")
            dtype = ctype.split("(")[0].split(" ")[0].lower()
            columns.append(Column(cname, dtype, ctype, nullable, default, extra, ccoll))
        elif kind == "primary":
            primary = tuple(p for p in rest.split(",") if p)
        elif kind == "index":
            indexes.append(rest)
    if not name or not columns:
        raise ValueError("a schema file without its table or columns")
    return Table(name, engine, collation, tuple(columns), primary, tuple(indexes))


def schema_of(state: DbState, name: str, reader: BlobReader) -> Table | None:
    """A table's schema as the folder holds it."""
    entry = state.tables.get(name, {}).get(fmt.SCHEMA)
    return parse_schema(reader.read(entry[1])) if entry else None


def rows_of(tab: Table, files: Mapping[str, tuple[str, str]], names: set[str],
            reader: BlobReader) -> dict[str, bytes]:
    """Key -> line of the rows in some rows files."""
    found: dict[str, bytes] = {}
    for name in names:
        entry = files.get(name)
        if entry is None:
            continue
        for line in reader.read(entry[1]).split(b"\n"):
            if line:
                found[tab.key(tab.values(line))] = line
    return found


def row_changes(approved: DbState, current: DbState, reader: BlobReader
                ) -> Iterator[RowChange | tuple[str, Change]]:
    """Every row that differs (only the rows files whose ids differ are read); a table whose
    schema changed, was added or removed comes as (table, change)."""
    for name in sorted(set(approved.tables) | set(current.tables)):
        if approved.trees.get(name) == current.trees.get(name):
            continue
        old_files, new_files = approved.tables.get(name, {}), current.tables.get(name, {})
        old_tab, new_tab = schema_of(approved, name, reader), schema_of(current, name, reader)
        if old_tab is None or new_tab is None or old_tab != new_tab:
            change = (Change.ADDED if old_tab is None else Change.DELETED if new_tab is None
                      else Change.MODIFIED)
            yield name, change
        if new_tab is None and old_tab is None:
            continue
        tab = new_tab or old_tab
        assert tab is not None
        if old_tab is not None and new_tab is not None and \
                [c.name for c in old_tab.columns] != [c.name for c in new_tab.columns]:
            continue  # other columns: the rows are not comparable line by line
        differ = {n for n in set(old_files) | set(new_files)
                  if n.endswith(fmt.ROWS) and old_files.get(n) != new_files.get(n)}
        old_rows = rows_of(old_tab, old_files, differ, reader) if old_tab else {}
        new_rows = rows_of(new_tab, new_files, differ, reader) if new_tab else {}
        for key in sorted(set(old_rows) | set(new_rows), key=_key_order):
            old, new = old_rows.get(key), new_rows.get(key)
            if old == new:
                continue
            change = (Change.ADDED if old is None else Change.DELETED if new is None
                      else Change.MODIFIED)
            yield RowChange(tab, key, change, old, new)


def _key_order(key: str) -> tuple[int, str]:
    head = key.split(",")[0]
    return (int(head), key) if head.lstrip("-").isdigit() else (0, key)


def row_diff(change: RowChange, limit: int = 4000) -> str:
    """The changed columns, approved and current, for the reports."""
    old, new = change.old_values(), change.new_values()
    lines = []
    for col in change.table.columns:
        a, b = old.get(col.name), new.get(col.name)
        if change.change is Change.MODIFIED and a == b:
            continue
        if change.change is not Change.ADDED:
            lines.append(f"- {col.name}: {_show(a, limit)}")
        if change.change is not Change.DELETED:
            lines.append(f"+ {col.name}: {_show(b, limit)}")
    return "\n".join(lines) + "\n"


def _show(value: bytes | None, limit: int) -> str:
    if value is None:
        return "NULL"
    text = value.decode("utf-8", "backslashreplace")
    text = text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} characters)"
