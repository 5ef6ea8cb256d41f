"""A progress bar for big loads, shown only on a terminal."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from dialer.loader.load import Progress as ProgressCallback

BIG_FILE_BYTES = 1_000_000


@contextmanager
def file_progress(path: Path, *, enabled: bool) -> Iterator[ProgressCallback | None]:
    """Yield a ``progress(bytes_read, total)`` callback drawing a bar on stderr, or ``None``
    when not on a TTY or the file is small."""
    try:
        size = path.stat().st_size
    except OSError:
        size = 0
    if not enabled or size < BIG_FILE_BYTES:
        yield None
        return
    columns = (BarColumn(), DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(f"loading {path.name}", total=size)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total or size)

        yield update
