"""The write-token ledger: which push-scoped registry tokens are still out there, and until when.

DOCR's token service hands out write (push) JWTs that stay valid for 15 minutes and cannot be
revoked. A garbage collection therefore waits until every write token issued before it
started has expired. The ledger keeps only what that wait and the "may this registry still be
pushed to" question can need: a token is dropped once it has expired.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from docrsim.core.errors import Invalid

WRITE_TOKEN_TTL = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class WriteToken:
    registry_name: str
    issued_at: datetime
    expires_at: datetime

    def valid_at(self, instant: datetime) -> bool:
        return self.issued_at <= instant < self.expires_at


class WriteTokenLedger:
    """Write tokens per registry. Queries are about instants no earlier than the last prune."""

    def __init__(self):
        self._tokens: dict[str, list[WriteToken]] = {}
        # The earliest expiry held, so prune() is a single comparison while nothing expires.
        self._next_expiry: datetime | None = None

    def record(self, registry_name: str, issued_at: datetime, expires_at: datetime | None = None) -> WriteToken:
        """Note a write token; without ``expires_at`` it lives the standard 15 minutes."""
        if expires_at is None:
            expires_at = issued_at + WRITE_TOKEN_TTL
        if expires_at <= issued_at:
            raise Invalid("a write token must expire after it is issued")
        token = WriteToken(registry_name, issued_at, expires_at)
        self._tokens.setdefault(registry_name, []).append(token)
        if self._next_expiry is None or expires_at < self._next_expiry:
            self._next_expiry = expires_at
        return token

    def drain_deadline(self, registry_name: str, at: datetime) -> datetime | None:
        """The latest expiry among the registry's write tokens issued at or before ``at``:
        the instant from which none of them can push any more (None when there are none)."""
        expiries = [t.expires_at for t in self._tokens.get(registry_name, ()) if t.issued_at <= at]
        return max(expiries, default=None)

    def has_valid(self, registry_name: str, at: datetime) -> bool:
        return any(t.valid_at(at) for t in self._tokens.get(registry_name, ()))

    def outstanding(self, registry_name: str, at: datetime) -> list[WriteToken]:
        """Tokens not yet expired at ``at``, oldest first."""
        tokens = [t for t in self._tokens.get(registry_name, ()) if t.expires_at > at]
        return sorted(tokens, key=lambda t: (t.issued_at, t.expires_at))

    def prune(self, now: datetime) -> None:
        """Forget tokens expired by ``now``: they no longer delay a run nor allow a push."""
        if self._next_expiry is None or self._next_expiry > now:
            return
        kept: dict[str, list[WriteToken]] = {}
        for name, tokens in self._tokens.items():
            alive = [t for t in tokens if t.expires_at > now]
            if alive:
                kept[name] = alive
        self._tokens = kept
        self._next_expiry = min((t.expires_at for ts in kept.values() for t in ts), default=None)

    def forget(self, registry_name: str) -> None:
        self._tokens.pop(registry_name, None)
