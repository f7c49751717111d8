"""Progress of a folder run on stderr: documents and segments, with rate and ETA (rich).

Bars are shown only when stderr is a terminal and the run is not ``--quiet``; otherwise lines
are printed plainly (or not at all), so logs and pipes stay clean.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.progress import Progress, Task, TaskID
    from rich.text import Text

    from workbench.runs.report import Row


def _rate_column() -> Any:
    # Built on first use: rich is imported only when bars are actually shown.
    from rich.progress import ProgressColumn
    from rich.text import Text

    class RateColumn(ProgressColumn):
        """Items per second, e.g. ``37.5/s``."""

        def render(self, task: Task) -> Text:
            speed = task.finished_speed or task.speed
            return Text("" if speed is None else f"{speed:,.1f}/s", style="progress.data.speed")

    return RateColumn()


class RunProgress:
    """A ``workbench.runs.report.Listener`` that draws bars on stderr and prints a line per row.

    ``line(row)`` gives the text printed for each finished row (None prints nothing); lines
    go above the bars while they are shown.
    """

    def __init__(
        self,
        *,
        quiet: bool = False,
        line: Callable[[Row], str | None] | None = None,
        bars: bool | None = None,
    ) -> None:
        self.show_bars = (not quiet and sys.stderr.isatty()) if bars is None else bars
        self.line = line
        self._progress: Progress | None = None
        self._docs: TaskID | None = None
        self._segs: TaskID | None = None

    def __enter__(self) -> RunProgress:
        if self.show_bars:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(
                TextColumn("{task.description:<9}"),
                BarColumn(),
                MofNCompleteColumn(),
                _rate_column(),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                refresh_per_second=4,
            )
            self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def print(self, message: str) -> None:
        """One line on stderr, above the bars when they are shown."""
        if self._progress is not None:
            self._progress.console.print(message, markup=False, highlight=False, soft_wrap=True)
        else:
            print(message, file=sys.stderr, flush=True)

    # --- Listener ----------------------------------------------------------------------------

    def documents(self, total: int) -> None:
        if self._progress is not None:
            self._docs = self._progress.add_task("documents", total=total)

    def document_done(self) -> None:
        if self._progress is not None and self._docs is not None:
            self._progress.advance(self._docs)

    def segments(self, total: int) -> None:
        if self._progress is None or total <= 0:
            return
        if self._segs is None:
            self._segs = self._progress.add_task("segments", total=total)
        else:  # a later step adds its own segments
            task = self._progress.tasks[self._segs]
            self._progress.update(self._segs, total=(task.total or 0) + total)

    def segments_done(self, count: int) -> None:
        if self._progress is not None and self._segs is not None:
            self._progress.advance(self._segs, count)

    def row(self, row: Row) -> None:
        if self.line is not None:
            text = self.line(row)
            if text is not None:
                self.print(text)
