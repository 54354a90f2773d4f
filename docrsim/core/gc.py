"""Garbage collection, as DOCR documents it, on the lazy clock.

Nothing runs in the background: each run is a timeline fixed by its inputs (see
``docrsim.core.gc_run``) and ``settle(now)`` applies, in time order, whatever falls due by
``now``. What a run has done therefore never depends on when anyone looked.

Starting a run makes the registry read-only until the run succeeds, fails or is cancelled:
no write token is issued and API deletes are refused (``check_content_change``). The run
first waits for the write tokens issued before it to expire, so from the moment it starts
scanning nothing can change the content; the deletion plan is derived from that content,
with the marking spread over the scanning phase (see ``docrsim.core.gc_plan``).

Types: ``unreferenced blobs only`` removes stored blobs no linked manifest references (a
manifest's own bytes count as referenced while it is linked); ``untagged manifests only``
unlinks manifests not reachable from a tag (through index children or subject referrers)
and leaves the blobs they used; ``untagged manifests and unreferenced blobs`` does both,
the blobs last, so the ones just orphaned go too. Unlinking a manifest no repository links
any more also removes its bytes. Blob links (``docrsim.core.links``) keep nothing alive: a blob
a repository links only by upload or mount is unreferenced, and a deleted blob takes every
link to it along, so pushed again it is linked only where it is uploaded.

Accounting: ``blobs_deleted`` counts each content object whose bytes the run removed from
the blob store (a manifest's own bytes and blobs alike) and ``freed_bytes`` is their total
size. Unlinking a manifest that another repository still links removes no bytes and counts
nothing. At any instant the counters are exactly what has left the store by then. The
registry's reported storage is refreshed when a run ends (succeeded, failed or cancelled),
never during it.

Cancelling moves a run to ``cancelling`` at once; it stops at the next safe point (the end
of the object being deleted or, in earlier phases, one second later) as ``cancelled``,
keeping the counters of what it really deleted. A fault injected with ``fail_next`` makes
the registry's next run end ``failed`` halfway (by time) through the named phase, keeping
what it deleted before.

A hold (``hold``, a test's fault rule) stops the registry's runs in a given status until
``release``: the active run if it is in that status or will still reach it, and every later
run that reaches it while the hold lasts. A held run stands still (status, counters and
``updated_at``) whatever the clock does, stays read-only and can still be cancelled; released,
it goes on as if the held time had not passed for it (see ``docrsim.core.gc_run``). Holding in
``waiting for delete requests`` stops a run between scanning and deleting, in the status DOCR
shows there.

Speeds: by default a run scans 100 manifest links and deletes 100 objects plus 100 MiB per
simulated second (``Rates``); ``serve --gc-scan-rate/--gc-delete-rate`` and the control API
change them, and a run keeps the rates it started with. With deletes allowed during garbage
collection (``allow_deletes_during_gc``) a step whose target is already gone counts nothing,
and what such deletes leave unreferenced waits for a later run.

Every method expects the caller to hold the simulation's lock (``sim.transaction()``, which
also settles first).
"""

from __future__ import annotations

from datetime import datetime

from docrsim.core.errors import Conflict, Invalid, NotFound
from docrsim.core.gc_plan import GC_TYPES, UNREFERENCED_BLOBS, preview
from docrsim.core.gc_run import ACTIVE_STATUSES, FAULT_PHASES, HOLD_STATUSES, GcRun, Rates, Run
from docrsim.core.tokens import WriteToken, WriteTokenLedger

__all__ = [
    "GC_TYPES", "DEFAULT_GC_TYPE", "ACTIVE_STATUSES", "FAULT_PHASES", "HOLD_STATUSES",
    "GcRun", "GarbageCollector", "Rates", "RegistryReadOnly",
]

# godo's backwards-compatible default when a start request names no type.
DEFAULT_GC_TYPE = UNREFERENCED_BLOBS


class RegistryReadOnly(Conflict):
    """The registry is read-only while a garbage collection runs."""


class GarbageCollector:
    def __init__(self, sim, rates: Rates | None = None):
        self.sim = sim
        self.rates = rates or Rates()
        self.ledger = WriteTokenLedger()
        self.allow_deletes_during_gc = False
        self._runs: dict[str, list[Run]] = {}  # per registry, oldest first
        self._active: dict[str, Run] = {}
        self._faults: dict[str, str] = {}  # registry -> phase its next run fails in
        self._holds: dict[str, str] = {}  # registry -> status its runs stop in until released

    # -- reading ------------------------------------------------------------------------------
    def active(self, registry_name: str) -> GcRun:
        self.sim.account.registry(registry_name)
        run = self._active.get(registry_name)
        if run is None:
            raise NotFound(f"no garbage collection is active in registry {registry_name!r}")
        return run.view()

    def runs(self, registry_name: str) -> list[GcRun]:
        """Every run of the registry, newest first."""
        self.sim.account.registry(registry_name)
        return [run.view() for run in reversed(self._runs.get(registry_name, []))]

    # -- what a saved world holds (docrsim.core.persistence.gc_state) ---------------------------
    def run_records(self, registry_name: str) -> list[Run]:
        """The registry's runs themselves, oldest first (``runs`` gives their public views)."""
        return list(self._runs.get(registry_name, []))

    def armed_fault(self, registry_name: str) -> str | None:
        """The phase the registry's next run will fail in, if ``fail_next`` armed one."""
        return self._faults.get(registry_name)

    def holds(self) -> dict[str, str]:
        """Registry -> the status its runs are held in."""
        return dict(self._holds)

    def restore_registry(self, registry_name: str, runs: list[Run], fault: str | None) -> None:
        """Put back a registry's saved runs (oldest first, at most one active) and armed fault."""
        active = [run for run in runs if run.active]
        if len(active) > 1:
            raise Invalid("a registry has at most one active run")
        if runs:
            self._runs[registry_name] = list(runs)
        if active:
            self._active[registry_name] = active[0]
        if fault is not None:
            self._faults[registry_name] = fault

    def restore_hold(self, registry_name: str, status: str) -> None:
        """Put back a hold as it stood: held runs keep their own hold state, so unlike ``hold``
        this touches no run."""
        if registry_name in self._holds:
            raise Invalid(f"registry {registry_name!r} is held twice")
        self._holds[registry_name] = status

    def is_read_only(self, registry_name: str) -> bool:
        return registry_name in self._active

    def check_idle(self, registry_name: str) -> None:
        """Refuse, naming the run, while the registry has an active run."""
        run = self._active.get(registry_name)
        if run is not None:
            raise RegistryReadOnly(
                f"registry {registry_name!r} is read-only while garbage collection {run.uuid} is active"
            )

    def check_content_change(self, registry_name: str) -> None:
        """Refuse an API change to the registry's content while a run is active, unless
        deletes during garbage collection are allowed."""
        if not self.allow_deletes_during_gc:
            self.check_idle(registry_name)

    def preview(self, registry_name: str) -> dict:
        """Per GC type, ``{"count", "bytes", "digests"}`` a run started now would delete if
        nothing else changed. Walks the whole registry three times: a control-API aid."""
        return preview(self.sim.account.registry(registry_name).content)

    def idle_at(self) -> datetime | None:
        """The instant every active run will have ended, if nothing else happens meanwhile;
        None when none is active. Before a run's deletion phase this works out its plan. Runs a
        hold stops (or will stop) are left out: they end only after their release."""
        now = self.sim.now()
        ends = [run.predicted_end(self._content(run), self._frozen(run, now))
                for run in self._active.values() if run.hold_in is None]
        return max(ends, default=None)

    def next_checkpoint(self) -> datetime | None:
        """The next instant worth stopping at: a phase change, or the time by which a chunk of
        links is scanned or of objects deleted; None when no run is active. Moving the clock
        from checkpoint to checkpoint reaches ``idle_at()`` without any settle doing more
        than a chunk of work per run. A held run has none: nothing happens to it until its
        release."""
        return min((run.checkpoint() for run in self._active.values() if run.held_since is None), default=None)

    # -- changing -----------------------------------------------------------------------------
    def start(self, registry_name: str, gc_type: str, now: datetime) -> GcRun:
        self.sim.account.registry(registry_name)
        if gc_type not in GC_TYPES:
            raise Invalid(f"unknown garbage collection type {gc_type!r}: expected one of "
                          + ", ".join(repr(t) for t in GC_TYPES))
        self.settle(now)
        running = self._active.get(registry_name)
        if running is not None:
            raise Conflict(f"garbage collection {running.uuid} is already active in registry {registry_name!r}")
        run = Run(
            self.sim.ids.uuid(), registry_name, gc_type, now,
            rates=self.rates,
            drained_at=self.ledger.drain_deadline(registry_name, now),
            fail_in=self._faults.pop(registry_name, None),
            hold_in=self._holds.get(registry_name),
        )
        self._runs.setdefault(registry_name, []).append(run)
        self._active[registry_name] = run
        return run.view()

    def cancel(self, registry_name: str, uuid: str, now: datetime) -> GcRun:
        self.sim.account.registry(registry_name)
        self.settle(now)
        run = self._active.get(registry_name)
        if run is None or run.uuid != uuid:
            raise NotFound(f"no active garbage collection {uuid} in registry {registry_name!r}")
        run.cancel(now)
        return run.view()

    def fail_next(self, registry_name: str, phase: str) -> None:
        """Make the next run started on the registry fail halfway through ``phase``."""
        self.sim.account.registry(registry_name)
        if phase not in FAULT_PHASES:
            raise Invalid(f"cannot fail a garbage collection in {phase!r}: expected one of "
                          + ", ".join(repr(p) for p in FAULT_PHASES))
        self._faults[registry_name] = phase

    def hold(self, registry_name: str, status: str, now: datetime) -> None:
        """Stop the registry's runs in ``status`` until ``release``: the active one if it is
        there or will get there, and each later one that gets there."""
        self.sim.account.registry(registry_name)
        if status not in HOLD_STATUSES:
            raise Invalid(f"cannot hold a garbage collection in {status!r}: expected one of "
                          + ", ".join(repr(s) for s in HOLD_STATUSES))
        if registry_name in self._holds:
            raise Conflict(f"garbage collection in registry {registry_name!r} is already held "
                           f"in {self._holds[registry_name]!r}")
        self.settle(now)
        self._holds[registry_name] = status
        run = self._active.get(registry_name)
        if run is not None and run.can_reach(status):
            run.hold(status, now)

    def release(self, registry_name: str, now: datetime) -> None:
        """End the registry's hold; a run it stopped goes on from ``now``."""
        self.settle(now)
        self._holds.pop(registry_name, None)
        run = self._active.get(registry_name)
        if run is not None:
            run.release(now)
            self.settle(now)  # a run released at its phase's end moves on at once

    def issue_write_token(self, registry_name: str, now: datetime) -> WriteToken:
        """Record a push-scoped token for the registry; refused while it is read-only."""
        self.sim.account.registry(registry_name)
        self.settle(now)
        self.check_idle(registry_name)
        return self.ledger.record(registry_name, now)

    def forget_registry(self, registry_name: str) -> None:
        self._runs.pop(registry_name, None)
        self._active.pop(registry_name, None)
        self._faults.pop(registry_name, None)
        # A hold stays: it belongs to the fault rule that set it, which names the registry and
        # outlives it (a registry created again under that name is held too).
        self.ledger.forget(registry_name)

    # -- time ---------------------------------------------------------------------------------
    def settle(self, now: datetime) -> None:
        """Apply everything due by ``now``: phase changes, deletions, run ends."""
        self.ledger.prune(now)
        for name in sorted(self._active):
            run = self._active[name]
            registry = self.sim.account.registries.get(name)
            if registry is None:  # deleted without forget_registry(): nothing left to collect
                self.forget_registry(name)
                continue
            run.advance(now, registry.content)
            if not run.active:
                del self._active[name]
                registry.refresh_usage(run.updated_at)

    def _content(self, run: Run):
        return self.sim.account.registry(run.registry_name).content

    def _frozen(self, run: Run, now: datetime) -> bool:
        """Whether nothing can change the registry's content before the run ends: no write
        token can push any more, none can be issued, and API deletes are refused."""
        return not self.allow_deletes_during_gc and not self.ledger.has_valid(run.registry_name, now)
