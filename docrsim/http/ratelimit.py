"""The ``ratelimit-*`` headers DO sends on every response, counted on the simulated clock.

docrsim counts requests per token in the current hour and reports them as DO does; it never
refuses on its own (rate-limit storms are a fault a test asks for).
"""

from __future__ import annotations

import threading

HOURLY_LIMIT = 5000


class RateLimitCounter:
    def __init__(self):
        self._lock = threading.Lock()
        self._window: dict[str, tuple[int, int]] = {}  # token -> (hour start epoch, count)

    def record(self, token: str, epoch_seconds: int) -> dict[str, str]:
        hour = epoch_seconds - epoch_seconds % 3600
        with self._lock:
            start, count = self._window.get(token, (hour, 0))
            if start != hour:
                start, count = hour, 0
            count += 1
            self._window[token] = (start, count)
        return {
            "ratelimit-limit": str(HOURLY_LIMIT),
            "ratelimit-remaining": str(max(HOURLY_LIMIT - count, 0)),
            "ratelimit-reset": str(start + 3600),
        }

    def clear(self) -> None:
        with self._lock:
            self._window.clear()
