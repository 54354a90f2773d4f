"""One garbage collection run: its timeline, and its progress through it at a given instant.

A run started at t0 moves through its phases at instants derived from its inputs:

    requested                          t0 .. t0 + 1 s (so the 201 answer shows ``requested``)
    waiting for write JWTs to expire   .. the latest expiry among the registry's write tokens
                                          issued at or before t0 (no wait if none is left)
    scanning manifests                 links / scan rate (every repository's manifests)
    deleting unreferenced blobs        step k (0-based) of the plan completes at
                                          (k + 1) / objects rate + (bytes of steps 0..k) / bytes rate
    succeeded                          when the last step completes

A hold (``hold``, from a test's fault rule) stops a run once it is in the held status; while
held, time passing does not move it. ``release`` shifts the rest of its timeline by how long
it was held, so it goes on exactly as if the held time had not passed for it. One status,
``waiting for delete requests`` (DOCR shows it, undocumented), exists only under a hold: a run
held in it stops between scanning and deleting.

``advance(now)`` applies, in time order, what falls due by ``now``; calling it often or
rarely gives the same result. Instants are kept to the microsecond and offsets are computed
from prefix sums, never accumulated, so the same inputs give the same instants.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from docrsim.core.errors import Invalid
from docrsim.core.gc_plan import DeletionPlan, Scan
from docrsim.core.store import RegistryContent

REQUESTED = "requested"
WAITING = "waiting for write JWTs to expire"
SCANNING = "scanning manifests"
DELETING = "deleting unreferenced blobs"
# Entered only when a hold asks for it, between scanning and deleting (see Run.hold).
WAITING_FOR_DELETES = "waiting for delete requests"
CANCELLING = "cancelling"
SUCCEEDED = "succeeded"
FAILED = "failed"
CANCELLED = "cancelled"
ACTIVE_STATUSES = (REQUESTED, WAITING, SCANNING, WAITING_FOR_DELETES, DELETING, CANCELLING)
# Phases a fault can be injected into.
FAULT_PHASES = (REQUESTED, WAITING, SCANNING, DELETING)
# Statuses a hold can stop a run in, in the order a run reaches them.
HOLD_STATUSES = (REQUESTED, WAITING, SCANNING, WAITING_FOR_DELETES, DELETING)

REQUESTED_DURATION = timedelta(seconds=1)
CANCEL_DELAY = timedelta(seconds=1)  # time to reach a safe point outside the deletion phase
# At most this much work lies between two checkpoints (see Run.checkpoint).
SCAN_CHUNK = 500  # manifest links
DELETE_CHUNK = 1000  # objects

_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class Rates:
    """How fast runs work. A run keeps the rates it started with."""

    scan_manifests_per_second: float = 100.0
    delete_objects_per_second: float = 100.0
    delete_bytes_per_second: float = 100 * 1024 * 1024

    def __post_init__(self):
        for name, value in self.as_dict().items():
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
                raise Invalid(f"{name} must be a positive number, not {value!r}")

    def as_dict(self) -> dict:
        return {
            "scan_manifests_per_second": self.scan_manifests_per_second,
            "delete_objects_per_second": self.delete_objects_per_second,
            "delete_bytes_per_second": self.delete_bytes_per_second,
        }

    def scan_time(self, links: int) -> timedelta:
        return timedelta(microseconds=math.ceil(links * 1_000_000 / self.scan_manifests_per_second))

    def scanned_within(self, elapsed: timedelta) -> int:
        return math.floor((elapsed // _MICROSECOND) * self.scan_manifests_per_second / 1_000_000)

    def deletion_offset_us(self, objects: int, total_bytes: int) -> int:
        """Microseconds from the start of deletion until ``objects`` objects weighing
        ``total_bytes`` in all have been removed."""
        return math.ceil(
            objects * 1_000_000 / self.delete_objects_per_second
            + total_bytes * 1_000_000 / self.delete_bytes_per_second
        )


@dataclass(frozen=True)
class GcRun:
    """A run as it stood when it was read."""

    uuid: str
    registry_name: str
    type: str
    status: str
    created_at: datetime
    updated_at: datetime
    blobs_deleted: int
    freed_bytes: int

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES


def _midpoint(start: datetime, end: datetime) -> datetime:
    return start + (end - start) / 2


class Run:
    def __init__(self, uuid: str, registry_name: str, gc_type: str, created_at: datetime, *,
                 rates: Rates, drained_at: datetime | None, fail_in: str | None, hold_in: str | None = None):
        self.uuid = uuid
        self.registry_name = registry_name
        self.type = gc_type
        self.created_at = self.updated_at = created_at
        self.rates = rates
        self.fail_in = fail_in
        self.status = REQUESTED
        self.blobs_deleted = 0
        self.freed_bytes = 0
        # Phase boundaries; the later ones become known as the run gets there.
        self.waiting_at = created_at + REQUESTED_DURATION
        self.scanning_at = max(self.waiting_at, drained_at) if drained_at else self.waiting_at
        self.deleting_at: datetime | None = None
        self.ends_at: datetime | None = None
        self.stop_at: datetime | None = None  # when a cancelling run reaches its safe point
        self.fail_at = _midpoint(created_at, self.waiting_at) if fail_in == REQUESTED else None
        self.scan: Scan | None = None
        self.plan: DeletionPlan | None = None
        self.steps_done = 0
        self.planned_bytes_done = 0  # planned sizes of the steps done: the prefix sum so far
        # The status a hold stops this run in (None: no hold it can still reach), and since when
        # it stands still there (None: not stopped yet).
        self.hold_in: str | None = None
        self.held_since: datetime | None = None
        if hold_in is not None:
            self.hold(hold_in, created_at)

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    def view(self) -> GcRun:
        return GcRun(self.uuid, self.registry_name, self.type, self.status, self.created_at, self.updated_at,
                     self.blobs_deleted, self.freed_bytes)

    def phase_end(self) -> datetime:
        """When the current phase ends on its own."""
        return {
            REQUESTED: self.waiting_at,
            WAITING: self.scanning_at,
            SCANNING: self.deleting_at,
            WAITING_FOR_DELETES: self.deleting_at,  # no time of its own: it lasts while held
            DELETING: self.ends_at,
            CANCELLING: self.stop_at,
        }[self.status]

    def _step_done_at(self, index: int, planned_bytes_through: int) -> datetime:
        return self.deleting_at + timedelta(microseconds=self.rates.deletion_offset_us(index + 1, planned_bytes_through))

    def _deletion_end(self, plan: DeletionPlan, deleting_at: datetime) -> datetime:
        return deleting_at + timedelta(microseconds=self.rates.deletion_offset_us(len(plan), plan.total_bytes))

    # -- moving through time ------------------------------------------------------------------
    def advance(self, now: datetime, content: RegistryContent) -> None:
        """Apply everything due by ``now``; the run may end (see ``active``)."""
        while self.active:
            if self.held_since is not None:  # stopped by a hold: nothing after it happens yet
                self._work(min(now, self.held_since), content)
                return
            end, fail_at = self.phase_end(), self.fail_at
            self._work(min(now, end) if fail_at is None else min(now, end, fail_at), content)
            if fail_at is not None and fail_at <= now and fail_at <= end:
                self._end(FAILED, fail_at)
            elif end <= now:
                self._enter_next_phase(end, content)
            else:
                return

    def _work(self, until: datetime, content: RegistryContent) -> None:
        if self.status == SCANNING:
            self.scan.advance(self.rates.scanned_within(until - self.scanning_at))
        elif self.plan is not None:  # deleting, or cancelling while deleting
            self._delete(until, content)

    def _delete(self, until: datetime, content: RegistryContent) -> None:
        plan = self.plan
        elapsed_us = (until - self.deleting_at) // _MICROSECOND
        offset = self.rates.deletion_offset_us
        while self.steps_done < len(plan):
            index = self.steps_done
            through = self.planned_bytes_done + plan.size(index)
            if offset(index + 1, through) > elapsed_us:
                return
            self._apply_step(index, content)
            self.steps_done, self.planned_bytes_done = index + 1, through

    def _apply_step(self, index: int, content: RegistryContent) -> None:
        plan, blobs = self.plan, content.blobs
        if index >= len(plan.manifests):
            digest = plan.blob(index - len(plan.manifests))
            if digest in blobs:
                self.freed_bytes += content.remove_blob(digest)
                self.blobs_deleted += 1
            return
        repo_name, digest, frees, _ = plan.manifests[index]
        content.unlink_manifest(repo_name, digest)
        # While a run is active links can only disappear, so a step whose bytes the plan frees
        # removes the manifest's last link. Any other step drops the record only if allowed API
        # deletes took the remaining links meanwhile.
        if not frees and content.linking_repositories(digest):
            return
        content.forget_manifest(digest)
        if frees and digest in blobs:
            self.freed_bytes += content.remove_blob(digest)
            self.blobs_deleted += 1

    def _enter_next_phase(self, at: datetime, content: RegistryContent) -> None:
        if self.status == REQUESTED:
            self._transition(WAITING, at)
        elif self.status == WAITING:
            self.scan = self.scan or Scan(content, self.type)
            self.deleting_at = at + self.rates.scan_time(self.scan.total)
            self._transition(SCANNING, at)
        elif self.status == SCANNING and self.hold_in == WAITING_FOR_DELETES:
            self._transition(WAITING_FOR_DELETES, at)  # the hold stops it here at once
        elif self.status in (SCANNING, WAITING_FOR_DELETES):
            self.plan = self.scan.plan()
            self.scan = None  # the plan keeps what it needs of the marks
            self.ends_at = self._deletion_end(self.plan, at)
            self._transition(DELETING, at)
        elif self.status == DELETING:
            self._end(SUCCEEDED, at)
        else:
            self._end(CANCELLED, at)

    def _transition(self, status: str, at: datetime) -> None:
        self.status, self.updated_at = status, at
        if self.fail_in == status:
            self.fail_at = _midpoint(at, self.phase_end())
        if self.hold_in == status:
            self.held_since = at

    # -- holds ----------------------------------------------------------------------------------
    def can_reach(self, status: str) -> bool:
        """Whether the run is in ``status`` or will still enter it (a hold status)."""
        if self.status not in HOLD_STATUSES:
            return False
        return HOLD_STATUSES.index(status) >= HOLD_STATUSES.index(self.status)

    def hold(self, status: str, now: datetime) -> None:
        """Stop the run in ``status``: at once if it is there now (settled to ``now``), else when
        it enters it. The caller checks ``can_reach`` first."""
        self.hold_in = status
        if self.status == status:
            self.held_since = now

    def release(self, now: datetime) -> None:
        """Let a held run go on from ``now`` exactly as it stood when the hold stopped it.

        Every instant of its timeline moves by the time it was held, including the start of the
        current phase, from which scanning and deletion progress are measured."""
        self.hold_in = None
        if self.held_since is None:
            return
        held_for, self.held_since = now - self.held_since, None
        for name in ("waiting_at", "scanning_at", "deleting_at", "ends_at", "stop_at", "fail_at"):
            instant = getattr(self, name)
            if instant is not None:
                setattr(self, name, instant + held_for)

    def _end(self, status: str, at: datetime) -> None:
        self.status, self.updated_at = status, at
        self.scan = self.plan = None
        self.fail_at = None

    def cancel(self, now: datetime) -> None:
        """Stop at the next safe point: the end of the object being deleted, or shortly."""
        if self.status == CANCELLING:
            return
        self.release(now)  # a cancel overrides a hold: the run stops as it would have unheld
        if self.status == DELETING:
            # A settled deleting run has a step in progress. Every later step completes after
            # it, so ending the run when it completes deletes nothing more. Only a plan with no
            # step left (an empty one, held as deletion began) has none: it stops when it would
            # have ended, which the release has just moved to now.
            size = self.plan.size(self.steps_done)
            self.stop_at = (self.ends_at if size is None
                            else self._step_done_at(self.steps_done, self.planned_bytes_done + size))
        else:
            self.stop_at = now + CANCEL_DELAY
        self.status, self.updated_at = CANCELLING, now
        self.fail_at = None
        self.scan = None

    # -- looking ahead ------------------------------------------------------------------------
    def checkpoint(self) -> datetime:
        """The next instant worth stopping at: at most a chunk of work after a settled now."""
        stops = [t for t in (self.phase_end(), self.fail_at) if t is not None]
        if self.status == SCANNING:
            stops.append(self.scanning_at + self.rates.scan_time(self.scan.done + SCAN_CHUNK))
        elif self.status == DELETING:
            last = min(self.steps_done + DELETE_CHUNK, len(self.plan)) - 1
            chunk_bytes = sum(self.plan.size(i) for i in range(self.steps_done, last + 1))
            stops.append(self._step_done_at(last, self.planned_bytes_done + chunk_bytes))
        return min(stops)

    def predicted_end(self, content: RegistryContent, frozen: bool) -> datetime:
        """When the run will end if nothing else happens. While ``frozen`` (nothing can change
        the content until the run ends) the scan and plan are the ones the run will make, so
        the work is kept; otherwise it looks ahead on a copy."""
        if self.status == CANCELLING:
            return self.stop_at
        if self.fail_at is not None:
            return self.fail_at
        if self.status == DELETING:
            return self.ends_at
        if self.fail_in == WAITING:  # not there yet: still requested
            return _midpoint(self.waiting_at, self.scanning_at)
        if self.scan is not None:
            scan = self.scan if frozen else self.scan.copy()
        else:
            scan = Scan(content, self.type)
            if frozen:
                self.scan = scan
        deleting_at = self.deleting_at or self.scanning_at + self.rates.scan_time(scan.total)
        if self.fail_in == SCANNING:
            return _midpoint(self.scanning_at, deleting_at)
        ends_at = self._deletion_end(scan.plan(), deleting_at)
        if self.fail_in == DELETING:
            return _midpoint(deleting_at, ends_at)
        return ends_at
