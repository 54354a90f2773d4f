"""The root of the simulated world: clock, ids, the account, and the one lock around changes."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from datetime import datetime

from docrsim.core.account import Account
from docrsim.core.clock import Clock, ManualClock, format_instant
from docrsim.core.graph import manifest_sizes
from docrsim.core.ids import IdGenerator

DEFAULT_TIER = "basic"


class Simulation:
    def __init__(self, clock: Clock | None = None, seed: int = 0, tier: str = DEFAULT_TIER):
        self.clock = clock or ManualClock()
        self.seed = seed
        # Re-entrant: a control call such as reset loads fixtures while holding it.
        self.lock = threading.RLock()
        # Callables run with ``now`` at the start of each transaction (see transaction()).
        self._settlers: list = []
        self._fresh(tier)

    def _fresh(self, tier: str) -> None:
        now = self.clock.now()
        self.ids = IdGenerator(self.seed)
        # A separate stream, so how many requests a script makes never shifts object ids.
        self.request_ids = IdGenerator(f"{self.seed}:requests")
        self.account = Account(tier_slug=tier, subscription_created_at=now, subscription_updated_at=now)

    def now(self) -> datetime:
        return self.clock.now()

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

    def snapshot(self) -> dict:
        """The whole state as plain JSON-ready data, in a stable order."""
        with self.lock:
            account = self.account
            return {
                "clock": {"kind": self.clock.kind, "now": format_instant(self.clock.now())},
                "seed": self.seed,
                "account": {
                    "tier": account.tier_slug,
                    "subscription_created_at": format_instant(account.subscription_created_at),
                    "subscription_updated_at": format_instant(account.subscription_updated_at),
                },
                "registries": [_registry_snapshot(r) for r in account.registries.values()],
            }


def _registry_snapshot(registry) -> dict:
    content = registry.content
    blobs = content.blobs
    return {
        "name": registry.name,
        "region": registry.region,
        "created_at": format_instant(registry.created_at),
        "storage_usage_bytes": registry.storage_usage_bytes,
        "storage_usage_bytes_updated_at": format_instant(registry.storage_usage_updated_at),
        "blobs": [
            {"digest": d, "size": blobs.size(d), "synthetic": blobs.is_synthetic(d)} for d in sorted(blobs.digests())
        ],
        "repositories": [
            {
                "name": repo.name,
                "created_at": format_instant(repo.created_at),
                "manifests": [
                    {
                        "digest": digest,
                        "media_type": content.manifests[digest].media_type,
                        "compressed_size_bytes": manifest_sizes(content, content.manifests[digest]).compressed,
                        "updated_at": format_instant(pushed),
                    }
                    for digest, pushed in sorted(repo.manifests.items())
                ],
                "tags": [
                    {"tag": name, "manifest_digest": tag.manifest_digest, "updated_at": format_instant(tag.updated_at)}
                    for name, tag in sorted(repo.tags.items())
                ],
            }
            for repo in sorted(content.repositories.values(), key=lambda r: r.name)
        ],
    }
