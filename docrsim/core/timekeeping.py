"""Moving a manual clock forward without making anyone wait.

Jumping far ahead in one go would leave the next transaction to settle whole GC runs on a large
registry while it holds the lock. These helpers step from one GC checkpoint to the next, each
step in its own transaction; what the runs do is the same whatever the steps.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from docrsim.core.errors import Invalid


def _step_through_gc(sim, until: datetime | None) -> None:
    """Advance to each checkpoint before ``until`` (or, with None, until every run has ended)."""
    while True:
        with sim.transaction() as now:
            stop = sim.gc.next_checkpoint()
            if stop is None or (until is not None and stop >= until):
                return
            assert stop > now, "a checkpoint must lie ahead of a settled clock"
            sim.clock.set(stop)


def move_to(sim, instant: datetime) -> datetime:
    """Set the manual clock to ``instant`` (never backwards), passing through GC checkpoints."""
    if sim.clock.kind != "manual":
        sim.clock.set(instant)  # the system clock refuses, saying why
    if instant < sim.clock.now():
        sim.clock.set(instant)  # refused: time only moves forward
    _step_through_gc(sim, until=instant)
    with sim.lock:
        sim.clock.set(instant)
    return sim.clock.now()


def advance(sim, seconds: float) -> datetime:
    if sim.clock.kind != "manual" or not seconds >= 0:
        sim.clock.advance(seconds)  # refused: the clock says why
    try:
        target = sim.clock.now() + timedelta(seconds=seconds)
    except (OverflowError, ValueError):
        raise Invalid(f"cannot advance the clock by {seconds} seconds") from None
    return move_to(sim, target)


def run_until_idle(sim) -> datetime:
    """Advance the manual clock to the instant every active GC run has ended (a system clock
    refuses only if a run is active, as there is then something to move)."""
    _step_through_gc(sim, until=None)
    return sim.clock.now()
