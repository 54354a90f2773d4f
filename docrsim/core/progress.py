"""How far long work has got (a bulk scenario being generated, a saved world being rebuilt),
for whoever wants to show it.

The work calls ``step`` as it goes; nothing listens unless a caller wraps the work in
``reporting``, or sets a reporter with ``report_to`` (``docrsim serve`` on a terminal does), so the Simulator, the server's request
threads and every test stay silent and pay one context-variable read per step.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Callable

Reporter = Callable[[str, int, int], None]  # (what, done, total)

_reporter: ContextVar[Reporter | None] = ContextVar("docrsim_progress", default=None)


@contextmanager
def reporting(reporter: Reporter | None):
    """Send the steps of the work done inside to ``reporter`` (None: to no one)."""
    token = _reporter.set(reporter)
    try:
        yield
    finally:
        _reporter.reset(token)


def report_to(reporter: Reporter | None) -> None:
    """Send the steps of this thread's work from now on to ``reporter`` (None: to no one).
    Threads started later begin with no reporter of their own."""
    _reporter.set(reporter)


def step(what: str, done: int, total: int) -> None:
    reporter = _reporter.get()
    if reporter is not None:
        reporter(what, done, total)
