"""Back the database up into git: one consistent read, and only the key ranges whose
checksums differ from the newest snapshot's are read again."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field

from gitguard.config import Site
from gitguard.database import table as fmt
from gitguard.database.access import Account, account, open_session
from gitguard.database.client import Session
from gitguard.database.gittree import BLOB, TREE, TreeReader, database_of, write_tree
from gitguard.database.settings import excluded
from gitguard.database.table import Column, Table
from gitguard.database.wordpress import prefix_of
from gitguard.model import printable
from gitguard.remote.base import Remote
from gitguard.store.objects import BlobWriter
from gitguard.store.repo import SNAPSHOTS, SiteRepo

log = logging.getLogger(__name__)

_TABLES = ("SELECT TABLE_NAME, IFNULL(ENGINE, ''), IFNULL(TABLE_COLLATION, ''), "
           "IFNULL(UNIX_TIMESTAMP(UPDATE_TIME), '') "
           "FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
           "AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME")
_COLUMNS = ("SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, "
            "IF(ISNULL(COLUMN_DEFAULT), 'NULL', CONCAT('=', COLUMN_DEFAULT)), EXTRA, "
            "IFNULL(COLLATION_NAME, '') FROM information_schema.COLUMNS "
            "WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, ORDINAL_POSITION")
_INDEXES = ("SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, SEQ_IN_INDEX, COLUMN_NAME, "
            "IFNULL(SUB_PART, '') FROM information_schema.STATISTICS "
            "WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX")


@dataclass(frozen=True)
class DumpOutcome:
    """What one backup of the database did."""

    tree: str  # the database folder's tree
    tables: int
    changed: tuple[str, ...]  # tables whose rows or schema differ from the newest snapshot
    rows_read: int
    skipped: tuple[str, ...] = ()  # tables left out: names gitguard does not store
    prefix: str | None = None
    previous: str | None = None  # the newest snapshot's database folder before this run


@dataclass
class _Previous:
    """The newest snapshot's database folder: table -> its files."""

    root: str | None = None
    tables: dict[str, str] = field(default_factory=dict)  # table -> tree id
    files: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)


def discover(session: Session, site: Site, prefix_hint: str | None,
             update_times: dict[str, str]) -> tuple[list[Table], list[str], str | None]:
    """The tables to back up (CMS defaults and the config's exclusions left out), the names
    skipped, and the CMS table prefix; `update_times` gets each table's UPDATE_TIME."""
    db = site.database
    assert db is not None
    heads: dict[str, tuple[str, str]] = {}
    skipped: list[str] = []
    for line in session.rows(_TABLES):
        name, engine, collation, updated = _fields(line, 4, session)
        if not fmt.NAME.match(name):
            skipped.append(printable(name))
            continue
        heads[name] = (engine, collation)
        if updated.isdigit():
            update_times[name] = updated
    columns: dict[str, list[Column]] = {}
    for line in session.rows(_COLUMNS):
        tname, cname, dtype, ctype, nullable, default, extra, collation = _fields(line, 8,
                                                                                  session)
        if tname in heads:
            if not fmt.NAME.match(cname):
                skipped.append(printable(tname))
                heads.pop(tname)
                continue
            columns.setdefault(tname, []).append(Column(cname, dtype.lower(), ctype, nullable,
                                                        default, extra, collation))
    primary: dict[str, list[str]] = {}
    indexes: dict[str, list[str]] = {}
    for line in session.rows(_INDEXES):
        tname, iname, non_unique, seq, cname, sub = _fields(line, 6, session)
        if tname not in heads:
            continue
        if iname == "PRIMARY":
            primary.setdefault(tname, []).append(cname)
        indexes.setdefault(tname, []).append(
            f"{iname}\t{'unique' if non_unique == '0' else 'key'}\t{seq}\t{cname}\t{sub}")
    prefix = prefix_hint if prefix_hint is not None else prefix_of(heads)
    tables = [Table(name, engine, collation, tuple(columns.get(name, ())),
                    tuple(primary.get(name, ())), tuple(indexes.get(name, ())))
              for name, (engine, collation) in sorted(heads.items())
              if columns.get(name) and not excluded(name, db.exclude_tables, prefix)]
    return tables, skipped, prefix


def _fields(line: bytes, count: int, session: Session) -> list[str]:
    parts = line.split(b"\t")
    if len(parts) != count:
        session.fail(f"a schema answer of {len(parts)} fields, not {count}")
    return [fmt.unescape(p).decode("utf-8", "surrogateescape") for p in parts]


def _previous(repo: SiteRepo, reader: TreeReader) -> _Previous:
    """The database folder of the newest snapshot, every tree checked against its id."""
    prev = _Previous()
    prev.root = database_of(repo.git, repo.git.rev(SNAPSHOTS), reader)
    if prev.root is None:
        return prev
    for name, (mode, oid) in reader.entries(prev.root).items():
        if mode == TREE:
            prev.tables[name] = oid
            prev.files[name] = reader.entries(oid)
    return prev


def dump(repo: SiteRepo, site: Site, remote: Remote | None, deep: bool = False) -> DumpOutcome:
    """Read what changed in the site's database (everything when `deep`) and write its
    folder's tree."""
    acc = account(site, remote)
    session = open_session(site, remote, acc)
    try:
        return _dump(repo, site, session, acc, deep)
    finally:
        session.close()


def _dump(repo: SiteRepo, site: Site, session: Session, acc: Account,
          deep: bool = False) -> DumpOutcome:
    # The server's clock before the snapshot: an UPDATE_TIME older than it (by a second, its
    # resolution) is a commit the snapshot holds, and one that will change when the next
    # commit comes. A later one vouches for nothing.
    clock = list(session.rows("SELECT UNIX_TIMESTAMP()"))
    started = clock[0].decode("ascii", "replace") if len(clock) == 1 else ""
    session.run("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
    update_times: dict[str, str] = {}
    tables, skipped, prefix = discover(session, site, acc.prefix, update_times)
    start = int(started) if started.isdigit() else 0
    vouched = {name: u for name, u in update_times.items() if int(u) <= start - 2}
    entries: dict[str, tuple[str, str]] = {}
    written: dict[str, dict[str, tuple[str, str]]] = {}  # trees once the blobs are in
    changed: list[str] = []
    rows_read = 0
    with BlobWriter(repo.git) as writer, TreeReader(repo.git) as reader:
        prev = _previous(repo, reader)
        # what each table's folder held, where its schema is unchanged
        old_files: dict[str, dict[str, tuple[str, str]]] = {}
        old_sums: dict[str, fmt.Sums] = {}
        schemas: dict[str, str] = {}
        for tab in tables:
            schemas[tab.name] = writer.add_bytes(tab.schema_text())
            old = prev.files.get(tab.name, {})
            if old.get(fmt.SCHEMA, ("", ""))[1] != schemas[tab.name] or fmt.SUMS not in old:
                continue
            try:
                old_sums[tab.name] = fmt.Sums.parse(reader.blob(old[fmt.SUMS][1]))
            except ValueError:
                continue  # an older or damaged sums file: the table is read whole
            old_files[tab.name] = old
        # Unchanged, cheapest first: the server's UPDATE_TIME, where it vouched at the last
        # backup and still reads the same; then CHECKSUM TABLE; then the key ranges'
        # checksums say which rows files to read again.
        same = {t.name for t in tables if not deep and t.name in old_sums
                and old_sums[t.name].updated
                and old_sums[t.name].updated == vouched.get(t.name)}
        unsure = [t for t in tables if t.name not in same]
        # CHECKSUM TABLE where UPDATE_TIME cannot tell (never vouched, or the server
        # restarted); where it vouched and moved, a commit came: straight to the ranges
        moved = {t.name for t in unsure if not deep and t.name in old_sums
                 and old_sums[t.name].updated and t.name in vouched}
        checksums = _checksums(session, [t for t in unsure if t.name not in moved])
        for tab in unsure:
            kept = old_sums.get(tab.name)
            if not deep and kept is not None and kept.checksum \
                    and kept.checksum == checksums.get(tab.name):
                sums = fmt.Sums(kept.checksum, vouched.get(tab.name, ""), kept.ranges)
                if sums == kept:
                    same.add(tab.name)
                else:  # the same rows; the sums file learns the new UPDATE_TIME
                    written[tab.name] = {**old_files[tab.name], fmt.SUMS: (
                        BLOB, writer.add_bytes(sums.text()))}
        for name in same:
            entries[name] = (TREE, prev.tables[name])
        todo = [t for t in unsure if t.name not in written and t.name not in same]
        ranges = _server_sums(session, todo)
        for tab in todo:
            now = ranges.get(tab.name, {})
            before = old_sums[tab.name].ranges if tab.name in old_sums else {}
            old = old_files.get(tab.name, {})
            stale = [c for c in now if deep or before.get(c) != now[c]
                     or fmt.rows_file(c) not in old]
            files = {n: e for n, e in old.items()
                     if n.endswith(fmt.ROWS) and n[:-len(fmt.ROWS)] in now}
            whole = len(stale) == len(now) or not tab.chunked
            for chunk, data, count in _chunks(session, tab, None if whole else stale):
                rows_read += count
                if count:
                    files[fmt.rows_file(chunk)] = (BLOB, writer.add_bytes(data))
                else:
                    files.pop(fmt.rows_file(chunk), None)
            files[fmt.SCHEMA] = (BLOB, schemas[tab.name])
            files[fmt.SUMS] = (BLOB, writer.add_bytes(fmt.Sums(
                checksums.get(tab.name, ""), vouched.get(tab.name, ""), now).text()))
            written[tab.name] = files
    for name, files in written.items():
        tree = write_tree(repo.git, files)
        entries[name] = (TREE, tree)
        if prev.tables.get(name) != tree:
            changed.append(name)
    changed += [t for t in prev.tables if t not in entries]
    session.run("COMMIT")
    same_root = prev.root is not None and not changed and set(entries) == set(prev.tables)
    root = prev.root if same_root and prev.root else write_tree(repo.git, entries)
    return DumpOutcome(tree=root, tables=len(tables), changed=tuple(changed),
                       rows_read=rows_read, skipped=tuple(skipped), prefix=prefix,
                       previous=prev.root)


def _checksums(session: Session, tables: list[Table]) -> dict[str, str]:
    """CHECKSUM TABLE of every table, in one statement."""
    if not tables:
        return {}
    found: dict[str, str] = {}
    for line in session.rows("CHECKSUM TABLE " + ", ".join(f"`{t.name}`" for t in tables)):
        qualified, _, value = line.decode("utf-8", "replace").partition("\t")
        if value.isdigit():
            found[qualified.rpartition(".")[2]] = value
    return found


def _server_sums(session: Session, tables: list[Table]
                 ) -> dict[str, dict[str, tuple[int, int]]]:
    """The per-range checksums of some tables, in one round trip."""
    if not tables:
        return {}
    sql = ";\n".join(t.sums_sql(n) for n, t in enumerate(tables))
    found: dict[str, dict[str, tuple[int, int]]] = {t.name: {} for t in tables}
    for line in session.rows(sql):
        try:
            tag, chunk, count, crc = line.split(b"\t")
            tab = tables[int(tag)]
            name = chunk.decode("ascii")
            if name != fmt.WHOLE:
                name = str(int(name))
            found[tab.name][name] = (int(count), int(crc))
        except (ValueError, IndexError, UnicodeDecodeError):
            session.fail("a malformed checksum answer")
    return found


def _chunks(session: Session, tab: Table, chunks: list[str] | None
            ) -> Iterator[tuple[str, bytes, int]]:
    """The rows files of the given ranges (all with None), in key order: the range, its
    lines, and how many. Rows come sorted, so a block whose last line is in the current
    range is all in it; only a block that crosses a range is searched for the boundary."""
    wanted = None if chunks is None else set(chunks)
    current: str | None = None
    parts: list[bytes] = []
    count = 0
    done: set[str] = set()

    def chunk_of(line: bytes) -> str:
        try:
            return tab.chunk_of(line)
        except (ValueError, IndexError):
            session.fail(f"{tab.name}: a row whose key is not a number")

    for block in session.blocks(tab.select_sql(chunks)):
        while block:
            first = chunk_of(block[0])
            # rows are sorted: the lines of `first`'s range are a prefix of the block
            cut = len(block)
            if chunk_of(block[-1]) != first:
                low, high = 1, len(block) - 1
                while low < high:
                    mid = (low + high) // 2
                    if chunk_of(block[mid]) == first:
                        low = mid + 1
                    else:
                        high = mid
                cut = low
            if first != current:
                if current is not None:
                    yield current, b"".join(parts), count
                    done.add(current)
                if first in done or (wanted is not None and first not in wanted):
                    session.fail(f"{tab.name}: rows out of key order")
                current, parts, count = first, [], 0
            parts.append(b"\n".join(block[:cut]) + b"\n")
            count += cut
            block = block[cut:]
    if current is not None:
        yield current, b"".join(parts), count
        done.add(current)
    for chunk in (wanted or set()) - done:
        yield chunk, b"", 0  # a range the checksums had and the read no longer found


def check_access(site: Site, remote: Remote | None) -> None:
    """Log in and read nothing: init's check that the database is reachable."""
    session = open_session(site, remote, account(site, remote))
    session.close()
