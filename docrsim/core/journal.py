"""The request journal: what each host was asked, in the order the requests arrived.

An entry is opened when a request arrives (its place in the order and its simulated time) and
written when its answer is ready; only written entries are listed, so a request still being
served does not show yet. The journal keeps the latest ``CAPACITY`` entries and counts the
ones it dropped. ``clear`` forgets every request that arrived before it, answered or not.
Entry numbers (``seq``) keep growing across ``clear`` so a reader's cursor stays valid; a
reset starts a new journal. Every method expects the caller to hold the
simulation's lock.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from datetime import datetime

from docrsim.core.errors import Invalid
from docrsim.core.faults import names_of

CAPACITY = 10_000
MAX_PAGE = 1000

_STATUS_FILTER = re.compile(r"^[1-5](?:[0-9]{2}|xx)$")


@dataclass(frozen=True)
class Entry:
    seq: int
    at: datetime  # simulated time at arrival
    host: str  # "api" or "registry"
    method: str
    path: str  # as sent, still percent-encoded
    query: str  # the raw query string, "" when none
    operation_id: str | None
    control: bool  # a call to docrsim's own endpoints (control API, /openapi.json)
    status: int
    request_id: str | None
    fault: dict | None  # the fault rule that acted on the request, as the edge describes it


@dataclass(frozen=True)
class Query:
    """Which entries to list; an empty tuple filters nothing, values within one are alternatives."""

    methods: tuple[str, ...] = ()
    operation_ids: tuple[str, ...] = ()  # a family-free name (delete_repositoryTag) stands for both families'
    hosts: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()  # "404", or a class such as "5xx"
    since: datetime | None = None  # at or after
    after: int = 0  # entries numbered above this
    include_control: bool = False
    faulted: bool | None = None  # only entries a fault acted on (True) or none did (False)
    limit: int = MAX_PAGE

    def __post_init__(self):
        for status in self.statuses:
            if not _STATUS_FILTER.match(status):
                raise Invalid(f"status must be a status code or a class such as 5xx, not {status!r}")
        if not 1 <= self.limit <= MAX_PAGE:
            raise Invalid(f"limit must be between 1 and {MAX_PAGE}")
        if self.after < 0:
            raise Invalid("after must not be negative")

    def wants(self, entry: Entry) -> bool:
        return ((self.include_control or not entry.control)
                and (not self.methods or entry.method in self.methods)
                and (not self.operation_ids or any(n in self.operation_ids for n in names_of(entry.operation_id)))
                and (not self.hosts or entry.host in self.hosts)
                and (not self.statuses or any(_status_matches(entry.status, s) for s in self.statuses))
                and (self.since is None or entry.at >= self.since)
                and (self.faulted is None or (entry.fault is not None) == self.faulted))


def _status_matches(status: int, wanted: str) -> bool:
    return str(status) == wanted if not wanted.endswith("xx") else str(status)[0] == wanted[0]


class Journal:
    def __init__(self, capacity: int = CAPACITY):
        self.capacity = capacity
        self.dropped = 0
        self._entries: list[Entry] = []  # written entries, by seq
        self._last_seq = 0
        self._cleared_through = 0  # requests numbered up to this arrived before the last clear

    def open(self) -> int:
        """Number a request that has just arrived."""
        self._last_seq += 1
        return self._last_seq

    def write(self, entry: Entry) -> None:
        """Keep a request's entry once answered; overlapping requests still list by arrival."""
        if entry.seq <= self._cleared_through:
            return
        if self._entries and entry.seq < self._entries[-1].seq:
            bisect.insort(self._entries, entry, key=lambda e: e.seq)
        else:
            self._entries.append(entry)
        excess = len(self._entries) - self.capacity
        if excess > 0:
            del self._entries[:excess]
            self.dropped += excess

    def clear(self) -> None:
        self._entries.clear()
        self.dropped = 0
        self._cleared_through = self._last_seq

    def select(self, query: Query) -> tuple[list[Entry], int | None]:
        """Up to ``query.limit`` entries in order, and the ``after`` that lists the next ones
        (None when there are none)."""
        start = bisect.bisect_right(self._entries, query.after, key=lambda e: e.seq)
        found: list[Entry] = []
        for entry in self._entries[start:]:
            if query.wants(entry):
                if len(found) == query.limit:
                    return found, found[-1].seq
                found.append(entry)
        return found, None
