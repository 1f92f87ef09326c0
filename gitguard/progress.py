"""Progress bars on stderr, only when stderr is a terminal; stdout stays parseable."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol


class Progress(Protocol):
    """Something that counts work done."""

    def advance(self, amount: int = 1) -> None:
        """Count `amount` more units done."""


class _Silent:
    def advance(self, amount: int = 1) -> None:
        """Do nothing: not a terminal."""


class _Bar:
    def __init__(self, progress: object, task: object) -> None:
        self._progress = progress
        self._task = task

    def advance(self, amount: int = 1) -> None:
        self._progress.advance(self._task, amount)  # type: ignore[attr-defined]


@contextmanager
def progress(description: str, total: int, unit: str = "files") -> Iterator[Progress]:
    """A rich progress bar on stderr for long work, or nothing when stderr is not a tty."""
    if not sys.stderr.isatty() or total < 50:
        yield _Silent()
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
    from rich.progress import Progress as RichProgress

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn(unit), TimeRemainingColumn())
    with RichProgress(*columns, console=Console(stderr=True), transient=True) as bar:
        yield _Bar(bar, bar.add_task(description, total=total))
