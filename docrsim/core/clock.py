"""Simulated time.

Everything in the model that depends on time asks a clock, never the OS directly, so a test can
either freeze time in-process (freezegun patches ``datetime.now``, which SystemClock reads on
every call) or drive a ManualClock that moves only when told.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from typing import Protocol

from docrsim.core.errors import Invalid


class Clock(Protocol):
    kind: str

    def now(self) -> datetime: ...


def parse_instant(text: str) -> datetime:
    """Parse an ISO 8601 instant; a value without a zone is taken as UTC."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        # Converting can overflow at the ends of the calendar (9999-12-31T23:00:00-05:00).
        return value.astimezone(timezone.utc)
    except (TypeError, ValueError, AttributeError, OverflowError):
        raise Invalid(f"not an ISO 8601 instant: {text!r}") from None


def format_instant(value: datetime) -> str:
    """RFC 3339, UTC, whole seconds: doctl prints these verbatim in its tables."""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_exact_instant(value: datetime) -> str:
    """Like format_instant, but to the microsecond when there is one: a saved world must
    not round its clock or its garbage collection timelines."""
    value = value.astimezone(timezone.utc)
    fraction = f".{value.microsecond:06d}" if value.microsecond else ""
    return value.strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z"


class SystemClock:
    kind = "system"

    def now(self) -> datetime:
        # Looked up at call time so freezegun's patched datetime is honoured.
        return datetime.now(timezone.utc)

    def advance(self, seconds: float) -> datetime:
        raise Invalid("the system clock cannot be moved; start docrsim with --clock manual")

    def set(self, instant: datetime) -> datetime:
        raise Invalid("the system clock cannot be moved; start docrsim with --clock manual")


class ManualClock:
    """A clock that only moves forward, and only when told."""

    kind = "manual"

    def __init__(self, start: datetime | None = None):
        start = start or datetime(2026, 1, 1, tzinfo=timezone.utc)
        if start.tzinfo is None:
            start = start.replace(tzinfo=timezone.utc)
        self._now = start.astimezone(timezone.utc)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            raise Invalid("advance_seconds must not be negative: simulated time only moves forward")
        with self._lock:
            try:
                self._now = self._now + timedelta(seconds=seconds)
            except (OverflowError, ValueError):  # NaN, infinity, or past year 9999
                raise Invalid(f"cannot advance the clock by {seconds!r} seconds") from None
            return self._now

    def set(self, instant: datetime) -> datetime:
        if instant.tzinfo is None:
            instant = instant.replace(tzinfo=timezone.utc)
        with self._lock:
            if instant < self._now:
                raise Invalid(
                    f"cannot set the clock back from {format_instant(self._now)} "
                    f"to {format_instant(instant)}: simulated time only moves forward"
                )
            self._now = instant.astimezone(timezone.utc)
            return self._now

    def restart(self, instant: datetime) -> datetime:
        """Put the clock at ``instant`` even if that is earlier: only a reset of the whole
        simulated world may do this, since nothing then remains that saw the later time."""
        if instant.tzinfo is None:
            instant = instant.replace(tzinfo=timezone.utc)
        with self._lock:
            self._now = instant.astimezone(timezone.utc)
            return self._now


def make_clock(kind: str, start: datetime | None = None) -> Clock:
    if kind == "manual":
        return ManualClock(start)
    if kind == "system":
        if start is not None:
            raise Invalid("a start time needs the manual clock (--clock manual)")
        return SystemClock()
    raise Invalid(f"unknown clock kind {kind!r}: expected 'manual' or 'system'")
