"""Progress on the user's terminal for the commands' long work: a line that rewrites itself,
and nothing at all when the stream is not a terminal (a log file, a pipe, CI)."""

from __future__ import annotations

import sys
import threading
import time
from contextlib import contextmanager

_INTERVAL = 0.2  # seconds between two redraws: often enough to look alive, rarely enough to cost nothing


def is_terminal(stream) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class ProgressLine:
    """A ``core.progress`` reporter drawing ``what: done/total (n%)`` (or ``what …`` for a
    phase of unknown length) on one line."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.shown = False
        self._last = 0.0

    def __call__(self, what: str, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self._last < _INTERVAL:
            return
        self._last = now
        # A total of 0 is a phase whose length is unknown: its name alone.
        self._draw(f"{what}: {done:,}/{total:,} ({done * 100 // total}%)" if total else f"{what} …")

    def _draw(self, text: str) -> None:
        self.stream.write(f"\r\033[K{text}")
        self.stream.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self.shown = False


class _Shown:
    def __init__(self, line: ProgressLine | None):
        self.line = line

    def end(self) -> None:
        """Stop reporting and clear the line, before anything else is written."""
        from docrsim.core import progress

        progress.report_to(None)
        if self.line is not None:
            self.line.clear()


def show_progress(stream=None) -> _Shown:
    """Draw the progress of this thread's long work (``core.progress``) on ``stream`` (stderr)
    if it is a terminal; ``end()`` the returned object when the work is over."""
    from docrsim.core import progress

    stream = stream or sys.stderr
    line = ProgressLine(stream) if is_terminal(stream) else None
    progress.report_to(line)
    return _Shown(line)


@contextmanager
def waiting(message: str, stream=None):
    """``message … 12 s`` on a terminal while a running docrsim works on a request."""
    stream = stream or sys.stderr
    if not is_terminal(stream):
        yield
        return
    line = ProgressLine(stream)
    done = threading.Event()
    started = time.monotonic()

    def tick():
        while not done.wait(0.5):
            line._draw(f"{message} … {time.monotonic() - started:.0f} s")

    ticker = threading.Thread(target=tick, daemon=True)
    ticker.start()
    try:
        yield
    finally:
        done.set()
        ticker.join()
        line.clear()
