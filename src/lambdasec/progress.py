"""Progress of long work as a bar on stderr: accounts x regions of a live scan, the code and layers a scan reads,
the log files of a hunt.

Library code takes a :class:`Progress` and calls ``start``/``advance``/``finish``; the default,
:data:`SILENT`, does nothing. The command line gives :func:`terminal_progress`, which draws a rich bar only when
stderr is a terminal (never into a pipe or a CI log), honours ``--no-progress``, and draws without colour under
``NO_COLOR``. The bar is transient: it disappears when the work is done, so the final summary stays on one screen.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import IO, Any, Protocol


class Progress(Protocol):
    def start(self, total: int, what: str) -> None: ...

    def advance(self, count: int = 1) -> None: ...

    def finish(self) -> None: ...


class _Silent:
    def start(self, total: int, what: str) -> None:
        """Nothing to show."""

    def advance(self, count: int = 1) -> None:
        """Nothing to show."""

    def finish(self) -> None:
        """Nothing to show."""


SILENT: Progress = _Silent()


class _Bar:
    """A rich progress bar on ``stream``; safe to advance from worker threads."""

    def __init__(self, stream: IO[str], color: bool) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as RichProgress

        console = Console(file=stream, force_terminal=True, no_color=not color, highlight=False)
        self._bar = RichProgress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=console, transient=True)
        self._task: Any = None
        self._lock = threading.Lock()

    def start(self, total: int, what: str) -> None:
        with self._lock:
            if self._task is None:
                self._bar.start()
                self._task = self._bar.add_task(what, total=total)
            else:
                self._bar.update(self._task, description=what, total=total, completed=0)

    def advance(self, count: int = 1) -> None:
        with self._lock:
            if self._task is not None:
                self._bar.advance(self._task, count)

    def finish(self) -> None:
        with self._lock:
            if self._task is not None:
                self._bar.stop()
                self._task = None


def terminal_progress(*, enabled: bool = True, stream: IO[str] | None = None) -> Progress:
    """A bar on stderr when it is a terminal and progress is wanted; else :data:`SILENT`."""
    stream = stream if stream is not None else sys.stderr
    if not enabled or not _is_terminal(stream):
        return SILENT
    return _Bar(stream, color=not os.environ.get("NO_COLOR"))


def _is_terminal(stream: IO[str]) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
