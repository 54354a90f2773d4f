"""Seeded identifiers, so the same script with the same seed yields the same UUIDs."""

from __future__ import annotations

import random
import threading
import uuid

from docrsim.core.errors import Invalid

_WORD_BITS = 32  # the Mersenne Twister hands out 32-bit words; getrandbits(k) takes ceil(k / 32)
_RESUME_CHUNK = 1 << 20  # words skipped per call when resuming


class IdGenerator:
    def __init__(self, seed: int | str = 0):
        self.seed = seed
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        # Words drawn so far: with the seed, all it takes to continue the sequence (resume).
        self.position = 0

    def uuid(self) -> str:
        return str(uuid.UUID(int=self._draw(128), version=4))

    def hex(self, nbytes: int = 16) -> str:
        return self._draw(nbytes * 8).to_bytes(nbytes, "big").hex()

    def _draw(self, bits: int) -> int:
        with self._lock:
            self.position += -(-bits // _WORD_BITS)
            return self._rng.getrandbits(bits)

    @classmethod
    def resume(cls, seed: int | str, position: int) -> "IdGenerator":
        """The generator for ``seed`` after ``position`` words: it goes on with the very ids a
        generator that had drawn them would make next (a saved world's next uuid)."""
        if isinstance(position, bool) or not isinstance(position, int) or position < 0:
            raise Invalid(f"an id generator's position is a count of words drawn, not {position!r}")
        generator = cls(seed)
        remaining = position
        while remaining:
            step = min(remaining, _RESUME_CHUNK)
            generator._rng.getrandbits(step * _WORD_BITS)  # takes exactly ``step`` words
            remaining -= step
        generator.position = position
        return generator
