"""Back the database up into git: one consistent read, and only the key ranges whose
checksums differ from the newest snapshot's are read again."""

from __future__ import annotations

import contextlib
import logging
import operator
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from gitguard.config import Site
from gitguard.database import table as fmt
from gitguard.database.access import Account, account, open_session
from gitguard.database.client import Session
from gitguard.database.errors import DatabaseError
from gitguard.database.gittree import BLOB, TREE, TreeReader, database_of, write_tree
from gitguard.database.pack import PackWriter, Writer
from gitguard.database.settings import excluded
from gitguard.database.table import Column, Table
from gitguard.database.wordpress import prefix_of
from gitguard.model import printable
from gitguard.remote.base import Remote
from gitguard.store.objects import BlobWriter
from gitguard.store.repo import SNAPSHOTS, SiteRepo

log = logging.getLogger(__name__)

PARALLEL_ROWS = 100_000  # rows to checksum above which a second session takes half

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
        return _dump(repo, site, session, acc, deep,
                     lambda: open_session(site, remote, acc))
    finally:
        session.close()


def _dump(repo: SiteRepo, site: Site, session: Session, acc: Account,
          deep: bool = False, second: Callable[[], Session] | None = None) -> DumpOutcome:
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
    with contextlib.ExitStack() as stack:
        reader = stack.enter_context(TreeReader(repo.git))
        prev = _previous(repo, reader)
        # A whole read (a first backup, --deep) writes thousands of rows files: as one
        # pack; a check's few changed ones as loose objects.
        writer: Writer = PackWriter(repo.git) if prev.root is None or deep \
            else BlobWriter(repo.git)
        stack.enter_context(writer)
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
                old_sums[tab.name] = fmt.Sums.parse(reader.read(old[fmt.SUMS][1]))
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
        # An UPDATE_TIME other than the one the last backup saw (vouching or not) is a commit
        # since: straight to the ranges (CHECKSUM TABLE would scan the table once more to
        # say what is known).
        moved = {t.name for t in unsure if not deep and t.name in old_sums
                 and old_sums[t.name].seen and t.name in update_times
                 and update_times[t.name] != old_sums[t.name].seen}
        # CHECKSUM TABLE where it decides now (the sums file has one to compare), or where
        # UPDATE_TIME cannot vouch for this backup (the next one compares it then)
        checksums = _checksums(session, [
            t for t in unsure if t.name not in moved
            and (deep or t.name not in vouched or (t.name in old_sums
                                                   and bool(old_sums[t.name].checksum)))])
        for tab in unsure:
            kept = old_sums.get(tab.name)
            if not deep and kept is not None and kept.checksum \
                    and kept.checksum == checksums.get(tab.name):
                sums = fmt.Sums(kept.checksum, vouched.get(tab.name, ""), kept.ranges,
                                update_times.get(tab.name, ""))
                if sums == kept:
                    same.add(tab.name)
                else:  # the same rows; the sums file learns the new UPDATE_TIME
                    written[tab.name] = {**old_files[tab.name], fmt.SUMS: (
                        BLOB, writer.add_bytes(sums.text()))}
        for name in same:
            entries[name] = (TREE, prev.tables[name])
        todo = [t for t in unsure if t.name not in written and t.name not in same]
        # The ranges' checksums only where the sums file can say which rows files to keep;
        # every other table is read whole, its sums coming with its rows.
        ranges = _ranges(session, second, [t for t in todo if not deep and t.chunked
                                           and t.name in old_sums], old_sums)
        for tab in todo:
            files, found, count = _read_table(session, writer, tab, ranges.get(tab.name),
                                              old_sums.get(tab.name), old_files.get(tab.name))
            rows_read += count
            files[fmt.SCHEMA] = (BLOB, schemas[tab.name])
            files[fmt.SUMS] = (BLOB, writer.add_bytes(fmt.Sums(
                checksums.get(tab.name, ""), vouched.get(tab.name, ""), found,
                update_times.get(tab.name, "")).text()))
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


def _ranges(session: Session, second: Callable[[], Session] | None, tables: list[Table],
            old_sums: dict[str, fmt.Sums]) -> dict[str, dict[str, tuple[int, int]]]:
    """The per-range checksums of some tables; where there is much to scan, the upper half
    of each table's keys on a second session at the same time (the server scans each half
    on a core of its own).

    The second session's statements begin after this one's snapshot, so they see every
    commit it does: a range found as the sums file has it held the same rows at this
    snapshot too, unless a commit and its undoing both came in between (then the file
    kept is the database as it then was). Ranges read again take their sums from the
    read, so a sums file always describes its rows files."""
    rows = sum(count for t in tables for count, _ in old_sums[t.name].ranges.values())
    if second is None or rows < PARALLEL_ROWS:
        return _server_sums(session, [(t, "") for t in tables])
    lower: list[tuple[Table, str]] = []
    upper: list[tuple[Table, str]] = []
    for tab in tables:
        bound = _middle(old_sums[tab.name])
        if bound is None:
            lower.append((tab, ""))
        else:
            key = f"`{tab.primary[0]}`"
            lower.append((tab, f"{key} < {bound}"))
            upper.append((tab, f"{key} >= {bound}"))
    try:
        other = second()
    except DatabaseError as exc:  # an account allowed one connection: one session it is
        log.debug("no second session: %s", exc)
        return _server_sums(session, [(t, "") for t in tables])
    theirs: dict[str, dict[str, tuple[int, int]]] = {}
    failed: list[BaseException] = []

    def scan() -> None:
        try:
            theirs.update(_server_sums(other, upper))
        except BaseException as exc:  # raised again in the caller's thread
            failed.append(exc)

    helper = threading.Thread(target=scan, daemon=True)
    try:
        helper.start()
        found = _server_sums(session, lower)
        # each of its reads gives up after STALL without a byte: this join ends with it
        helper.join()
    finally:
        other.close()
    if failed:
        raise failed[0]
    for name, chunks in theirs.items():
        found.setdefault(name, {}).update(chunks)  # two halves: no range in both
    return found


def _middle(sums: fmt.Sums) -> int | None:
    """The first key of the range where half a table's rows lie below (None: no such
    positive range, the table is not cut)."""
    chunks = sorted((int(c), n) for c, (n, _) in sums.ranges.items() if c != fmt.WHOLE)
    half = sum(n for _, n in chunks) / 2
    below = 0
    for chunk, count in chunks:
        if below + count > half:
            return chunk * fmt.CHUNK if chunk > 0 else None  # DIV's range 0 spans -255..255
        below += count
    return None


def _server_sums(session: Session, parts: list[tuple[Table, str]]
                 ) -> dict[str, dict[str, tuple[int, int]]]:
    """The per-range checksums of some tables (or of the keys a condition picks), in one
    round trip."""
    if not parts:
        return {}
    sql = ";\n".join(t.sums_sql(n, where) for n, (t, where) in enumerate(parts))
    found: dict[str, dict[str, tuple[int, int]]] = {t.name: {} for t, _ in parts}
    for line in session.rows(sql):
        try:
            tag, chunk, count, crc = line.split(b"\t")
            tab = parts[int(tag)][0]
            name = chunk.decode("ascii")
            if name != fmt.WHOLE:
                name = str(int(name))
            found[tab.name][name] = (int(count), int(crc))
        except (ValueError, IndexError, UnicodeDecodeError):
            session.fail("a malformed checksum answer")
    return found


def _read_table(session: Session, writer: Writer, tab: Table,
                now: dict[str, tuple[int, int]] | None, before: fmt.Sums | None,
                old: dict[str, tuple[str, str]] | None
                ) -> tuple[dict[str, tuple[str, str]], dict[str, tuple[int, int]], int]:
    """A table's rows files and their sums: the ranges whose server checksums (`now`)
    differ from the sums file's read again and the other files kept, or (`now` None)
    every row read; and how many rows were read."""
    files: dict[str, tuple[str, str]] = {}
    sums: dict[str, tuple[int, int]] = {}
    stale: list[str] | None = None
    if now is not None and before is not None and old is not None:
        stale = [c for c in now if before.ranges.get(c) != now[c]
                 or fmt.rows_file(c) not in old]
        if len(stale) == len(now):
            stale = None  # nothing to keep: one scan, no key ranges to send
        else:
            files = {n: e for n, e in old.items()
                     if n.endswith(fmt.ROWS) and n[:-len(fmt.ROWS)] in now}
            sums = {c: now[c] for c in now if c not in stale}
            if not stale:  # a commit that left every row as it was
                return files, sums, 0
    count = 0
    for chunk, data, rows, total in _chunks(session, tab, stale):
        count += rows
        if rows:
            files[fmt.rows_file(chunk)] = (BLOB, writer.add_bytes(data))
            sums[chunk] = (rows, total)
        else:
            files.pop(fmt.rows_file(chunk), None)
            sums.pop(chunk, None)
    return files, sums, count


def _chunks(session: Session, tab: Table, chunks: list[str] | None
            ) -> Iterator[tuple[str, bytes, int, int]]:
    """The rows files of the given ranges (all with None), in key order: the range, its
    lines, how many, and the sum of their CRC-32s. Rows come sorted, so a block whose last
    line is in the current range is all in it; only a block that crosses a range is
    searched for the boundary."""
    wanted = None if chunks is None else set(chunks)
    current: str | None = None
    parts: list[bytes] = []
    count = total = 0
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
                    yield current, b"".join(parts), count, total
                    done.add(current)
                if first in done or (wanted is not None and first not in wanted):
                    session.fail(f"{tab.name}: rows out of key order")
                current, parts, count, total = first, [], 0, 0
            text, crcs = _row_sums(session, tab, block[:cut])
            parts.append(text)
            count += cut
            total += crcs
            block = block[cut:]
    if current is not None:
        yield current, b"".join(parts), count, total
        done.add(current)
    for chunk in (wanted or set()) - done:
        yield chunk, b"", 0, 0  # a range the checksums had and the read no longer found


_FIRST, _LAST = operator.itemgetter(0), operator.itemgetter(2)


def _row_sums(session: Session, tab: Table, lines: list[bytes]) -> tuple[bytes, int]:
    """Lines as the rows file holds them (their CRC field cut off), and the CRCs' sum."""
    parts = [line.rpartition(b"\t") for line in lines]  # the one Python step per row
    try:
        total = sum(map(int, map(_LAST, parts)))
    except ValueError:
        session.fail(f"{tab.name}: a row without its checksum")
    text = b"\n".join(map(_FIRST, parts)) + b"\n"
    # as many fields as columns in every line (checked once for the block, in C)
    if text.count(b"\t") != len(lines) * (len(tab.columns) - 1):
        session.fail(f"{tab.name}: a row of the wrong number of fields")
    return text, total


def check_access(site: Site, remote: Remote | None) -> None:
    """Log in and read nothing: init's check that the database is reachable."""
    session = open_session(site, remote, account(site, remote))
    session.close()
