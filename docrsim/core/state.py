"""The root of the simulated world: clock, ids, the account, and the one lock around changes."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from datetime import datetime

from docrsim.core.account import Account
from docrsim.core.clock import Clock, ManualClock
from docrsim.core.credentials import CredentialStore
from docrsim.core.faults import FaultSet
from docrsim.core.gc import GarbageCollector, Rates
from docrsim.core.ids import IdGenerator
from docrsim.core.journal import Journal
from docrsim.core.registry_auth import RegistryTokenService
from docrsim.core.uploads import Uploads

DEFAULT_TIER = "basic"


class Simulation:
    def __init__(self, clock: Clock | None = None, seed: int = 0, tier: str = DEFAULT_TIER,
                 gc_rates: Rates | None = None):
        self.clock = clock or ManualClock()
        self.seed = seed
        # The rates GC runs work at after every reset (the control API may change them until then).
        self.gc_rates = gc_rates or Rates()
        # Re-entrant: a control call such as reset loads fixtures while holding it.
        self.lock = threading.RLock()
        # Callables run with ``now`` at the start of each transaction (see transaction()).
        self._settlers: list = [self._settle_gc]
        self._fresh(tier)

    def _fresh(self, tier: str) -> None:
        now = self.clock.now()
        self.ids = IdGenerator(self.seed)
        # A separate stream, so how many requests a script makes never shifts object ids.
        self.request_ids = IdGenerator(f"{self.seed}:requests")
        self.account = Account(tier_slug=tier, subscription_created_at=now, subscription_updated_at=now)
        self.credentials = CredentialStore()
        # Runs and write tokens belong to the world a reset throws away.
        self.gc = GarbageCollector(self, self.gc_rates)
        # So do a test's fault rules (gc holds act on this collector) and the request journal.
        self.faults = FaultSet(self.gc)
        self.journal = Journal()
        # So do uploads in progress and registry tokens: a new key each world.
        if hasattr(self, "uploads"):
            self.uploads.clear()
        self.uploads = Uploads()
        self._generation = getattr(self, "_generation", -1) + 1
        self.registry_tokens = RegistryTokenService.for_world(self.seed, self._generation)

    def now(self) -> datetime:
        return self.clock.now()

    def _settle_gc(self, now: datetime) -> None:
        self.gc.settle(now)

    @contextmanager
    def transaction(self):
        """Hold the lock and bring time-dependent state up to the clock's now.

        Time is lazy: nothing happens when the clock moves; whoever looks next settles
        everything due by then (GC progress, expiries) before reading or changing state.
        Yields the instant the transaction sees.
        """
        with self.lock:
            now = self.clock.now()
            for settle in self._settlers:
                settle(now)
            yield now

    def reset(self, tier: str = DEFAULT_TIER) -> None:
        """Forget all content and restart the id sequence; the clock keeps its time."""
        with self.lock:
            self._fresh(tier)

    def delete_registry(self, name: str) -> None:
        """Delete a registry with its GC runs and write tokens; refused while a run is active."""
        with self.transaction():
            self.account.registry(name)
            self.gc.check_idle(name)
            self.account.delete_registry(name)
            self.gc.forget_registry(name)

    def export_state(self) -> dict:
        """The whole world as an exact, versioned JSON document (see docrsim.core.persistence.snapshot)."""
        from docrsim.core.persistence import snapshot  # it builds worlds from this module's parts

        return snapshot.export_state(self)

    def import_state(self, document, blob_source=None) -> None:
        """Replace the world with an exported one; StateError, with nothing changed, if the
        document is malformed (``blob_source``: see snapshot.import_state)."""
        from docrsim.core.persistence import snapshot

        snapshot.import_state(self, document, blob_source)
