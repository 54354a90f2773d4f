"""Seeded identifiers, so the same script with the same seed yields the same UUIDs."""

from __future__ import annotations

import random
import threading
import uuid


class IdGenerator:
    def __init__(self, seed: int | str = 0):
        self.seed = seed
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def uuid(self) -> str:
        with self._lock:
            bits = self._rng.getrandbits(128)
        return str(uuid.UUID(int=bits, version=4))

    def hex(self, nbytes: int = 16) -> str:
        with self._lock:
            return self._rng.getrandbits(nbytes * 8).to_bytes(nbytes, "big").hex()
