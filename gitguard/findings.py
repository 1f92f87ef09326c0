"""Turn the difference between the approved tree and a snapshot into findings."""

from __future__ import annotations

import difflib
import itertools
import re

from gitguard.detect import Side, critical_reasons, runs_as_script
from gitguard.model import Change, Finding, Kind, Reason, Severity
from gitguard.policy import Policy
from gitguard.store import meta
from gitguard.store.objects import BlobReader
from gitguard.store.tree import TreeState, changed_paths

DIFF_LINES = 120
TEXT_LIMIT = 2 << 20
UNAPPROVED = Reason("unapproved_change")
ALLOWED_NEW = Reason("allowed_new")
SPECIAL_FILE = Reason("special_file")
NOT_BACKED_UP = Reason("not_backed_up")
_HIDING = frozenset((".git", ".gitmodules", meta.META_PATH, meta.UNSTORABLE_DIR))


def _side(state: TreeState, path: str, reader: BlobReader,
          with_data: bool = True) -> Side | None:
    kind = state.kind(path)
    if kind is None:
        return None
    info = state.meta.get(path)
    mode = info.mode if info else 0
    entry = state.files.get(path)
    if kind is Kind.DIR or entry is None:
        return Side(kind=kind, mode=mode, data=None, target=None)
    if kind is Kind.FILE and not with_data:
        return Side(kind=kind, mode=mode, data=None, target=None)
    data = reader.read(entry[1])
    if kind is Kind.SYMLINK:
        return Side(kind=kind, mode=mode, data=None,
                    target=data.decode("utf-8", "surrogateescape"))
    return Side(kind=kind, mode=mode, data=data, target=None)


def _notes(path: str, state: TreeState, new: Side) -> list[Reason]:
    """What makes the path itself notable, beside its change: a name git cannot hold (kept
    escaped in the snapshot), a FIFO, socket or device, a file too big to back up."""
    notes = []
    if not meta.storable(path, new.kind is Kind.SYMLINK):
        part = next((p for p in path.split("/") if p.lower() in _HIDING), "")
        notes.append(Reason("unstorable_path", part))
    if new.kind is Kind.SPECIAL:
        notes.append(SPECIAL_FILE)
    elif state.unread(path):
        notes.append(NOT_BACKED_UP)
    return notes


def _text(data: bytes | None) -> list[str] | None:
    if data is None or len(data) > TEXT_LIMIT or b"\0" in data[:8192]:
        return None
    return data.decode("utf-8", "replace").splitlines(keepends=True)


_HUNK = re.compile(r"@@ -(\d+)(\S*) \+(\d+)(\S*) @@")


def _range(start: int, stop: int) -> str:
    """A hunk header's range, as difflib writes it."""
    length = stop - start
    return str(start + 1) if length == 1 else f"{start + 1 - (not length)},{length}"


def unified_diff(path: str, old: Side | None, new: Side | None) -> str | None:
    """A unified diff of two text sides, cut after DIFF_LINES lines; None for binaries."""
    a = _text(old.data) if old else []
    b = _text(new.data) if new else []
    if a is None or b is None:
        return None
    # The lines both sides share at either end need no matching, and a middle that shares
    # next to nothing (a file replaced, a payload appended) is shown as replaced without
    # matching it line by line: difflib's cost grows with the file, what is shown does not.
    most = min(len(a), len(b))
    head = next((i for i in range(most) if a[i] != b[i]), most)
    most -= head
    tail = next((i for i in range(most) if a[-1 - i] != b[-1 - i]), most)
    if head == len(a) == len(b):
        return None
    start = max(0, head - 3)
    a_end, b_end = len(a) - max(0, tail - 3), len(b) - max(0, tail - 3)
    a_mid, b_mid = a[head : len(a) - tail], b[head : len(b) - tail]
    small, large = sorted((a_mid, b_mid), key=len)
    replaced = not small or (
        len(a_mid) + len(b_mid) > DIFF_LINES and len(set(small) & set(large)) * 10 <= len(small)
    )
    if replaced:
        total = 3 + (head - start) + len(a_mid) + len(b_mid) + (a_end - len(a) + tail)
        body = itertools.chain(
            (f"--- a/{path}\n", f"+++ b/{path}\n",
             f"@@ -{_range(start, a_end)} +{_range(start, b_end)} @@\n"),
            (" " + line for line in a[start:head]),
            ("-" + line for line in a_mid),
            ("+" + line for line in b_mid),
            (" " + line for line in a[len(a) - tail : a_end]),
        )  # fmt: skip
        lines = list(itertools.islice(body, DIFF_LINES))
    else:
        lines = [
            _HUNK.sub(lambda m: f"@@ -{int(m[1]) + start}{m[2]} +{int(m[3]) + start}{m[4]} @@",
                      line) if line.startswith("@@") else line
            for line in difflib.unified_diff(a[start:a_end], b[start:b_end], f"a/{path}",
                                             f"b/{path}")
        ]  # fmt: skip
        total = len(lines)
    cut = total > DIFF_LINES
    body_text = "".join(line if line.endswith("\n") else line + "\n" for line in lines[:DIFF_LINES])
    return body_text + (f"... ({total - DIFF_LINES} more diff lines)\n" if cut else "")


def findings(approved: TreeState, snapshot: TreeState, policy: Policy,
             reader: BlobReader) -> list[Finding]:
    """Every unapproved change, graded: critical by detect, info by allow_new, else warning."""
    result: list[Finding] = []
    for path, change in changed_paths(approved, snapshot, policy):
        # A deleted file's old bytes matter to no rule and to no reader of the report.
        old = _side(approved, path, reader, with_data=change is not Change.DELETED)
        new = _side(snapshot, path, reader)
        reasons = critical_reasons(path, change, old, new)
        notes = _notes(path, snapshot, new) if new is not None else []
        if notes and notes[0].code == "unstorable_path" and runs_as_script(path):
            reasons = [*notes, *reasons]  # a script where most tools never look
        if reasons:
            severity = Severity.CRITICAL
            reasons += [n for n in notes if n not in reasons]
        elif (change is Change.ADDED and new is not None and new.kind is Kind.FILE
              and policy.allowed_new(path) and (not notes or notes == [NOT_BACKED_UP])):
            # allow_new covers only new files, and never one that detect calls critical.
            severity, reasons = Severity.INFO, [ALLOWED_NEW, *notes]
        else:
            severity, reasons = Severity.WARNING, notes or [UNAPPROVED]
        old_meta, new_meta = approved.meta.get(path), snapshot.meta.get(path)
        old_file, new_file = approved.files.get(path), snapshot.files.get(path)
        result.append(Finding(
            path=path, change=change, severity=severity, reasons=tuple(reasons),
            old_blob=old_file[1] if old_file else None,
            new_blob=new_file[1] if new_file else None,
            old_mode=old_meta.describe() if old_meta else None,
            new_mode=new_meta.describe() if new_meta else None,
            diff=(unified_diff(path, old, new)
                  if change in (Change.MODIFIED, Change.ADDED, Change.TYPE) else None),
            size=len(new.data) if new and new.data is not None else None,
        ))
    return result
