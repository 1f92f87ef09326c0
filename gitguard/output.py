"""Files gitguard writes for people: always whole, never half."""

from __future__ import annotations

import os
from pathlib import Path

from gitguard.errors import UsageError


def write_atomic(path: Path, text: str) -> None:
    """Write a file through a temporary name, so a reader never sees half of it."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None
