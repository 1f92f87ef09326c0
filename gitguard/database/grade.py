"""Row changes -> graded findings: WordPress-aware where the tables are WordPress's, the
same content detection as files for every text value, generic rules for any database."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from gitguard.database import wordpress as wp
from gitguard.database.rows import (
    DB_PATH,
    DbState,
    RowChange,
    read_db,
    row_changes,
    row_diff,
    rows_of,
)
from gitguard.database.table import TEXT_TYPES, Table
from gitguard.detect import Side, critical_reasons
from gitguard.model import Change, Finding, Kind, Reason, Severity
from gitguard.store.git import Git
from gitguard.store.objects import BlobReader

CONTENT_LIMIT = 2 << 20  # bytes of one value the content rules look at
_PUBLISHED = frozenset((b"publish", b"future", b"private"))


@dataclass(frozen=True)
class _Context:
    """What the approved database says about accounts, and what the files show as new."""

    prefix: str | None
    users: frozenset[str]  # user ids that existed at approval
    logins: dict[str, str]  # user id -> login, both sides
    new_paths: Collection[str]  # files added since approval (new plugin or theme folders)
    quiet_posts: set[str]  # posts added in this diff and graded info


def row_findings(approved: DbState, current: DbState, reader: BlobReader,
                 new_paths: Collection[str]) -> list[Finding]:
    """Every unapproved row change of the CMS database, graded."""
    changes = list(row_changes(approved, current, reader))
    if not changes:
        return []
    prefix = wp.prefix_of(current.tables) or wp.prefix_of(approved.tables)
    users: set[str] = set()
    logins: dict[str, str] = {}
    if prefix is not None:
        for state, into in ((current, None), (approved, users)):
            tab = _users_table(state, prefix, reader)
            if tab is None:
                continue
            files = state.tables[prefix + "users"]
            names = {n for n in files if n.endswith(".tsv")}
            for key, line in rows_of(tab, files, names, reader).items():
                values = dict(zip((c.name for c in tab.columns), tab.values(line), strict=True))
                logins[key] = (values.get("user_login") or b"").decode("utf-8", "replace")
                if into is not None:
                    into.add(key)
    ctx = _Context(prefix, frozenset(users), logins, new_paths, set())
    found: list[Finding] = []
    rows = [c for c in changes if isinstance(c, RowChange)]
    # posts first: their meta and terms follow how the post itself was graded
    rows.sort(key=lambda c: not _is(c.table.name, ctx, "posts"))
    for item in changes:
        if not isinstance(item, RowChange):
            name, change = item
            found.append(Finding(path=f"{DB_PATH}{name}", change=change,
                                 severity=Severity.WARNING,
                                 reasons=(Reason("db_schema_changed", name),), table=name))
    for row in rows:
        finding = _grade(row, ctx)
        if finding is not None:
            found.append(finding)
    return found


def _users_table(state: DbState, prefix: str, reader: BlobReader) -> Table | None:
    from gitguard.database.rows import schema_of

    return schema_of(state, prefix + "users", reader) if prefix + "users" in state.tables \
        else None


def _is(name: str, ctx: _Context, core: str) -> bool:
    return ctx.prefix is not None and name == ctx.prefix + core


def _content(row: RowChange, columns: Iterable[str] | None = None) -> list[Reason]:
    """The file detection's verdict on the row's new or changed text values."""
    if row.new is None:
        return []
    old, new = row.old_values(), row.new_values()
    reasons: list[Reason] = []
    for col in row.table.columns:
        if col.data_type not in TEXT_TYPES or (columns is not None and col.name not in columns):
            continue
        value = new.get(col.name)
        if value is None or value == old.get(col.name) or len(value) > CONTENT_LIMIT:
            continue
        before = old.get(col.name)
        path = f"{DB_PATH}{row.table.name}/{row.key}/{col.name}.html"
        change = Change.MODIFIED if before is not None else Change.ADDED
        reasons += critical_reasons(
            path, change, Side(Kind.FILE, 0o644, before, None) if before is not None else None,
            Side(Kind.FILE, 0o644, value, None))
    return list(dict.fromkeys(reasons))


def _text(value: bytes | None) -> str:
    return "" if value is None else value.decode("utf-8", "replace")


def _grade(row: RowChange, ctx: _Context) -> Finding | None:
    """One row's finding (None for rows WordPress rewrites by itself)."""
    name = row.table.name
    values = row.new_values() or row.old_values()
    title: str | None = None
    reasons = _content(row)
    severity = Severity.CRITICAL if reasons else Severity.WARNING
    if row.change is Change.DELETED:
        reasons = [Reason("db_row_deleted", name)]
    elif _is(name, ctx, "options"):
        option = _text(values.get("option_name"))
        title = option
        if wp.volatile_option(option):
            return None
        if option in wp.ADDRESS_OPTIONS:
            severity = Severity.CRITICAL
            reasons.insert(0, Reason("db_site_address", f"{option} = "
                                     f"{_text(row.new_values().get('option_value'))[:200]}"))
        elif option in wp.CODE_OPTIONS:
            before = wp.listed(row.old_values().get("option_value"))
            added = wp.listed(row.new_values().get("option_value")) - before
            fresh = [f for f in (wp.code_folder(option, a) for a in added)
                     if f and any(p == f or p.startswith(f + "/") for p in ctx.new_paths)]
            if fresh:
                severity = Severity.CRITICAL
                reasons.insert(0, Reason("db_code_new_folder", ", ".join(fresh)))
            else:
                reasons.append(Reason("db_code_switched", f"{option}: "
                                      f"{', '.join(sorted(added)) or 'removed'}"))
    elif _is(name, ctx, "users"):
        title = _text(values.get("user_login"))
        if row.change is Change.ADDED and not reasons:
            reasons = [Reason("db_new_account", title)]
    elif _is(name, ctx, "usermeta"):
        key = _text(values.get("meta_key"))
        user = _text(values.get("user_id"))
        login = ctx.logins.get(user, user)
        title = f"{login}: {key}"
        prefix = ctx.prefix or ""
        if wp.volatile_usermeta(key, prefix):
            return None
        old_value, new_value = row.old_values().get("meta_value"), \
            row.new_values().get("meta_value")
        if key == prefix + "capabilities" and wp.is_admin(new_value) \
                and not wp.is_admin(old_value):
            severity = Severity.CRITICAL
            code = "db_admin_added" if user not in ctx.users else "db_admin_raised"
            reasons.insert(0, Reason(code, login))
        elif key == prefix + "user_level" and new_value == b"10" and old_value != b"10":
            severity = Severity.CRITICAL
            reasons.insert(0, Reason("db_admin_raised", login))
        elif row.change is Change.ADDED and not reasons and user in ctx.users:
            severity, reasons = Severity.INFO, [Reason("db_new_setting", key)]
    elif _is(name, ctx, "posts"):
        title = _text(values.get("post_title"))[:200] or None
        author = _text(values.get("post_author"))
        login = ctx.logins.get(author, author)
        if not reasons and row.change is Change.ADDED:
            if author in ctx.users:
                severity, reasons = Severity.INFO, [Reason("db_new_content", login)]
                ctx.quiet_posts.add(row.key)
            else:
                reasons = [Reason("db_new_content_new_account", login)]
        elif not reasons and row.change is Change.MODIFIED:
            old = row.old_values()
            moved = {c for c, v in row.new_values().items() if old.get(c) != v}
            if moved <= wp.BOOKKEEPING_POST_COLUMNS:
                severity, reasons = Severity.INFO, [Reason("db_bookkeeping", name)]
            elif values.get("post_status") not in _PUBLISHED and author in ctx.users:
                severity, reasons = Severity.INFO, [Reason("db_draft_changed", login)]
    elif ctx.prefix is not None and name.startswith(ctx.prefix) and name[len(ctx.prefix):] in (
            "postmeta", "term_relationships", "comments", "commentmeta", "termmeta"):
        post = _text(values.get("post_id") or values.get("object_id")
                     or values.get("comment_post_ID"))
        if not reasons and (row.change is Change.ADDED or post in ctx.quiet_posts
                            or _text(values.get("meta_key")) in wp.QUIET_POSTMETA):
            severity, reasons = Severity.INFO, [Reason("db_new_content_detail", name)]
    if not reasons:
        reasons = [Reason("db_row_changed", name)]
    return Finding(path=f"{DB_PATH}{name}/{row.key}", change=row.change, severity=severity,
                   reasons=tuple(reasons), diff=row_diff(row), table=name, key=row.key,
                   title=title)


def database_findings(git: Git, approved: str, snapshot: str,
                      new_paths: Collection[str]) -> list[Finding]:
    """The graded row changes between an approved commit's database and a snapshot's."""
    old, new = read_db(git, approved), read_db(git, snapshot)
    if old.trees == new.trees:
        return []
    with BlobReader(git) as reader:
        return row_findings(old, new, reader, new_paths)
