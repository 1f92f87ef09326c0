"""The table text format: a schema file per table, its rows one line each in primary-key
order, cut into files by key range so a changed row rewrites one small file.

A row line is its columns in table order, tab-separated, as the `mariadb` client's batch
mode writes them: NUL, tab, newline and backslash escaped (`\\0 \\t \\n \\\\`), binary
columns in hex. A column that may be NULL writes NULL as `NULL` and a value with `=` before
it, so the two never meet.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property

CHUNK = 256  # key range of one rows file (tables whose first key column is a number)
WHOLE = "all"  # the one rows file of a table without a numeric key
SCHEMA = "schema"
SUMS = "sums"
ROWS = ".tsv"
NAME = re.compile(r"^[A-Za-z0-9_$][A-Za-z0-9_$-]{0,63}$")
TEXT_TYPES = frozenset(("char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum",
                        "set", "json"))
BINARY_TYPES = frozenset(("binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob",
                          "bit", "geometry", "point", "linestring", "polygon", "multipoint",
                          "multilinestring", "multipolygon", "geometrycollection"))
INT_TYPES = frozenset(("tinyint", "smallint", "mediumint", "int", "integer", "bigint"))
_UNESCAPES = {b"\\": b"\\", b"t": b"\t", b"n": b"\n", b"r": b"\r", b"0": b"\0"}
_ESCAPED = re.compile(rb"\\(.)", re.DOTALL)
NULL = b"NULL"
SET = b"="
SUMS_HEAD = b"# gitguard table sums v2: rows, and the sum of their CRC-32s, per rows file\n"


@dataclass(frozen=True)
class Column:
    """One column as information_schema describes it."""

    name: str
    data_type: str
    column_type: str
    nullable: str
    default: str
    extra: str
    collation: str

    @property
    def binary(self) -> bool:
        """Whether the column's values are kept in hex."""
        return self.data_type in BINARY_TYPES

    @property
    def may_be_null(self) -> bool:
        """Whether the column may hold NULL (its values then carry '=')."""
        return self.nullable == "YES"

    def sql(self) -> str:
        """The expression giving this column's field of a row line."""
        ref = f"`{self.name}`"
        value = f"HEX({ref})" if self.binary else ref
        if self.may_be_null:
            return f"IF(ISNULL({ref}), NULL, CONCAT('=', {value}))"
        return value


@dataclass(frozen=True)
class Table:
    """One table's schema and how its rows are read."""

    name: str
    engine: str
    collation: str
    columns: tuple[Column, ...]
    primary: tuple[str, ...]  # primary key columns, in key order (none: the whole row)
    indexes: tuple[str, ...]  # one line per index column, for the schema file

    @cached_property
    def chunked(self) -> bool:
        """Whether rows are cut into files by the first key column's value."""
        return bool(self.primary) and self._col(self.primary[0]).data_type in INT_TYPES

    def _col(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @cached_property
    def key_positions(self) -> tuple[int, ...]:
        """Where the key columns sit in a row line (every column when there is no key)."""
        names = [c.name for c in self.columns]
        return tuple(names.index(k) for k in self.primary) or tuple(range(len(names)))

    def chunk_sql(self) -> str:
        """The expression of a row's rows file."""
        if not self.chunked:
            return f"'{WHOLE}'"
        return f"`{self.primary[0]}` DIV {CHUNK}"  # integer division: cheap to group by

    def order_sql(self) -> str:
        """ORDER BY the key (or every column)."""
        return ", ".join(f"`{c}`" for c in self.primary) or ", ".join(
            str(n + 1) for n in range(len(self.columns)))

    def row_sum_sql(self) -> str:
        """A row's CRC-32 over every column and which are NULL: what a range's sum adds."""
        # Columns in character sets that do not convert into one another (latin1 beside
        # cp1251) cannot be joined as text ("Illegal mix of collations"): where a table
        # mixes character sets, their stored bytes are joined. A table of one character
        # set hashes the same bytes either way, so its sums files stay valid.
        charsets = {c.collation.partition("_")[0] for c in self.columns if c.collation}
        refs = [f"CAST(`{c.name}` AS BINARY)" if len(charsets) > 1 and c.collation
                else f"`{c.name}`" for c in self.columns]
        flags = [f"ISNULL(`{c.name}`)" for c in self.columns if c.may_be_null]
        return f"CRC32(CONCAT_WS(CHAR(0), {', '.join(refs + flags)}))"

    def select_sql(self, chunks: Iterable[str] | None) -> str:
        """The rows of some chunks (all with None), in key order, each line ending in one
        more field, the row's CRC-32: the ranges' sums come with the rows, in one scan."""
        where = ""
        if chunks is not None and self.chunked:
            # key ranges, not FLOOR(key / CHUNK) IN (...): the primary key's index finds them
            key = f"`{self.primary[0]}`"
            # no negative bound on an unsigned key: MariaDB then scans the whole index
            unsigned = "unsigned" in self._col(self.primary[0]).column_type.lower()
            spans = _spans(sorted(int(c) for c in chunks))
            where = " WHERE " + " OR ".join(
                f"{key} BETWEEN {max(_bounds(lo)[0], 0) if unsigned else _bounds(lo)[0]} "
                f"AND {_bounds(hi)[1]}" for lo, hi in spans)
        return (f"SELECT {', '.join(c.sql() for c in self.columns)}, {self.row_sum_sql()} "
                f"FROM `{self.name}`{where} ORDER BY {self.order_sql()}")

    def sums_sql(self, tag: int, where: str = "") -> str:
        """Per chunk: its rows, and the sum of their CRC-32s (cheap in the server; only
        which ranges to read again is decided from them). A sum, not a XOR: CRC-32 is
        linear, so the same edit to two rows of equal length (two editors raised to
        administrator in one UPDATE) leaves the XOR of their CRCs as it was. `where` picks
        some keys (a condition gitguard wrote, never the server's text)."""
        total = f"SUM({self.row_sum_sql()})"
        if self.chunked and len(self.primary) == 1:
            # A range of a one-column integer key holds at most 511 rows (range 0 spans
            # -255..255), so its sum stays below 2^41 and a DOUBLE adds it exactly: 15 to
            # 20% less server CPU than SUM's DECIMAL on postmeta. Other tables keep DECIMAL.
            total = f"CAST(SUM({self.row_sum_sql()} + 0e0) AS UNSIGNED)"
        return (f"SELECT {tag}, {self.chunk_sql()} AS c, COUNT(*), {total} "
                f"FROM `{self.name}`{f' WHERE {where}' if where else ''} GROUP BY c ORDER BY c")

    def chunk_of(self, line: bytes) -> str:
        """The rows file a line belongs in (ValueError for a key that is not a number)."""
        if not self.chunked:
            return WHOLE
        pos = self.key_positions[0]
        key = int(line.split(b"\t", pos + 1)[pos])
        return str(key // CHUNK if key >= 0 else -(-key // CHUNK))  # as SQL's DIV: to zero

    def schema_text(self) -> bytes:
        """The schema file: what makes a schema change show as a diff."""
        lines = ["# gitguard table schema v1", f"table\t{self.name}", f"engine\t{self.engine}",
                 f"collation\t{self.collation}"]
        lines += ["column\t" + "\t".join((c.name, c.column_type, c.nullable, c.default, c.extra,
                                          c.collation)) for c in self.columns]
        lines += [f"primary\t{','.join(self.primary)}"]
        lines += [f"index\t{i}" for i in self.indexes]
        return ("\n".join(lines) + "\n").encode("utf-8", "surrogateescape")

    def key(self, fields: list[bytes | None]) -> str:
        """A row's key as text ('3', or '4,2' for a two-column key)."""
        return ",".join(_text(fields[p]) for p in self.key_positions)

    def values(self, line: bytes) -> list[bytes | None]:
        """The column values of a row line (ValueError when it does not fit the schema)."""
        fields = line.split(b"\t")
        if len(fields) != len(self.columns):
            raise ValueError(f"{self.name}: a row of {len(fields)} fields, not "
                             f"{len(self.columns)}")
        return [_value(f, c) for f, c in zip(fields, self.columns, strict=True)]


def _value(field: bytes, col: Column) -> bytes | None:
    if col.may_be_null:
        if field == NULL:
            return None
        if not field.startswith(SET):
            raise ValueError(f"column {col.name}: a value without its '='")
        field = field[1:]
    value = unescape(field)
    return bytes.fromhex(value.decode("ascii")) if col.binary else value


def _bounds(chunk: int) -> tuple[int, int]:
    """The first and last key of a chunk, as `key DIV CHUNK` (toward zero) makes them."""
    if chunk > 0:
        return chunk * CHUNK, chunk * CHUNK + CHUNK - 1
    if chunk < 0:
        return chunk * CHUNK - CHUNK + 1, chunk * CHUNK
    return -CHUNK + 1, CHUNK - 1


def _spans(chunks: list[int]) -> list[tuple[int, int]]:
    """Sorted chunk numbers as runs of neighbours: (first, last)."""
    spans: list[tuple[int, int]] = []
    for chunk in chunks:
        if spans and spans[-1][1] + 1 == chunk:
            spans[-1] = (spans[-1][0], chunk)
        else:
            spans.append((chunk, chunk))
    return spans


def _text(value: bytes | None) -> str:
    return "NULL" if value is None else value.decode("utf-8", "backslashreplace")


def unescape(field: bytes) -> bytes:
    """A text field's value."""
    if b"\\" not in field:
        return field
    return _ESCAPED.sub(lambda m: _UNESCAPES.get(m.group(1), m.group(0)), field)


@dataclass(frozen=True)
class Sums:
    """A table's sums file: what tells the next run, cheaply, what to read again."""

    checksum: str  # CHECKSUM TABLE at the backup ('' unknown)
    updated: str  # the server's UPDATE_TIME (epoch seconds), when it can vouch ('' not)
    ranges: Mapping[str, tuple[int, int]]  # per rows file: rows, and their CRC-32s' sum
    seen: str = ""  # UPDATE_TIME at the backup, vouching or not: another one is a commit

    def text(self) -> bytes:
        """The file's bytes."""
        head = b"checksum\t%s\nupdated\t%s\nseen\t%s\n" % (
            self.checksum.encode(), self.updated.encode(), self.seen.encode())
        return SUMS_HEAD + head + b"".join(
            b"%s\t%d\t%d\n" % (chunk.encode(), *self.ranges[chunk])
            for chunk in sorted(self.ranges, key=chunk_order))

    @classmethod
    def parse(cls, data: bytes) -> Sums:
        """A sums file back (ValueError when malformed)."""
        if not data.startswith(SUMS_HEAD):  # an older file (XORs): the table is read whole
            raise ValueError("a sums file without its head")
        lines = data[len(SUMS_HEAD):].splitlines()
        if len(lines) < 3:
            raise ValueError("a sums file without its head")
        head, _, checksum = lines[0].partition(b"\t")
        mark, _, updated = lines[1].partition(b"\t")
        label, _, seen = lines[2].partition(b"\t")
        if head != b"checksum" or mark != b"updated" or label != b"seen":
            raise ValueError("a sums file without its head")
        ranges: dict[str, tuple[int, int]] = {}
        for line in lines[3:]:
            chunk, count, crc = line.split(b"\t")
            ranges[chunk.decode("ascii")] = (int(count), int(crc))
        return cls(checksum.decode("ascii"), updated.decode("ascii"), ranges,
                   seen.decode("ascii"))


def chunk_order(chunk: str) -> tuple[int, str]:
    """Rows files in key order."""
    return (int(chunk), "") if chunk != WHOLE else (0, chunk)


def rows_file(chunk: str) -> str:
    """The name of a chunk's rows file."""
    return chunk + ROWS
