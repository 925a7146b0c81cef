"""Progress bars for long work (rich), quiet when stderr is not a terminal."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

if TYPE_CHECKING:
    from rich.console import Console


@contextmanager
def progress_bar(
    label: str, *, enabled: bool | None = None
) -> Iterator[Callable[[int, int], None]]:
    """Yield ``update(done, total)``; draws a bar on a terminal, nothing otherwise."""
    show = sys.stderr.isatty() if enabled is None else enabled
    if not show:
        yield lambda done, total: None
        return
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


@contextmanager
def count_bar(
    label: str, unit: str, *, enabled: bool | None = None, console: Console | None = None
) -> Iterator[Callable[[int, int], None]]:
    """Like :func:`progress_bar` for counted items: done/total, ``<rate> <unit>/s`` and ETA."""
    show = sys.stderr.isatty() if enabled is None else enabled
    if not show:
        yield lambda done, total: None
        return
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        transient=console is None,
    ) as bar:
        task = bar.add_task(label, total=None, rate=f"- {unit}/s")

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)
            speed = bar.tasks[task].speed
            rate = f"{speed:.2f} {unit}/s" if speed else f"- {unit}/s"
            bar.update(task, rate=rate)

        yield update
