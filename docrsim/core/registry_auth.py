"""DOCR's token auth for the registry host, as the distribution token protocol has it.

A client shows HTTP Basic credentials (a pair minted by docker-credentials, or a DO API token
as both user and password) and asks for scopes such as ``repository:acme/web:pull,push``. It is
granted the subset it may have, as a signed JWT. Push is withheld from read-only credentials
and from a registry that a garbage collection holds read-only; every push grant is recorded in
the write-token ledger, which the collector waits on.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from docrsim.core.credentials import TokenPolicy
from docrsim.core.errors import Invalid, Unauthorized
from docrsim.core.tokens import WRITE_TOKEN_TTL

TOKEN_TTL = WRITE_TOKEN_TTL  # DOCR's tokens live at most 15 minutes, pull-only ones too
ISSUER = "docrsim"
_ALGORITHM = "HS256"
_WRITE_ACTIONS = frozenset({"push", "delete"})
_REGISTRY_CLAIM = "docrsim_registry"


@dataclass(frozen=True)
class Principal:
    username: str
    registry: str | None  # the one registry the credential serves, or None for all
    can_write: bool


@dataclass(frozen=True)
class Scope:
    type: str
    name: str
    actions: tuple[str, ...]


def parse_scope(text: str) -> Scope:
    """``repository:<registry>/<repo>:pull,push`` or ``registry:catalog:*``."""
    kind, sep, rest = text.partition(":")
    name, sep2, actions = rest.rpartition(":")
    if not sep or not sep2 or not kind or not name or not actions:
        raise Invalid(f"invalid scope {text!r}: expected <type>:<name>:<actions>")
    return Scope(kind, name, tuple(a for a in actions.split(",") if a))


@dataclass(frozen=True)
class Claims:
    subject: str
    expires_at: datetime
    access: tuple[Scope, ...]
    registry: str | None = None  # the one registry the credential serves, or None for all

    def reaches(self, registry: str) -> bool:
        """Whether the credential behind the token may reach ``registry`` at all (whatever
        this token grants): it decides what the catalog lists and DENIED versus a challenge."""
        return self.registry is None or self.registry == registry

    def allows(self, kind: str, name: str, action: str) -> bool:
        return any(s.type == kind and s.name == name and (action in s.actions or "*" in s.actions) for s in self.access)


class RegistryTokenService:
    def __init__(self, key: bytes):
        self._key = key

    @classmethod
    def for_world(cls, seed, generation: int) -> "RegistryTokenService":
        # Derived, not random: the same script makes the same tokens; a reset changes the key,
        # so tokens from before a reset stop working, as the world they named is gone.
        return cls(hashlib.sha256(f"docrsim-jwt:{seed}:{generation}".encode()).digest())

    # -- who is asking ------------------------------------------------------------------------
    def authenticate(self, sim, username: str, password: str, policy: TokenPolicy, now: datetime) -> Principal:
        credential = sim.credentials.find(password)
        if credential is not None:
            if credential.username != username or not credential.valid_at(now):
                raise Unauthorized("invalid or expired registry credentials")
            return Principal(username, credential.registry, credential.read_write)
        if username and username == password:
            # A DO API token used as both user name and password, as DO's CI docs describe.
            try:
                scopes = policy.scopes(password)
            except Unauthorized:
                raise Unauthorized("invalid registry credentials") from None
            return Principal(username, None, "registry:update" in scopes or "registry:create" in scopes)
        raise Unauthorized("invalid registry credentials")

    # -- what they get ------------------------------------------------------------------------
    def grant(self, sim, principal: Principal, requested: list[Scope], now: datetime) -> list[Scope]:
        granted: list[Scope] = []
        for scope in requested:
            if scope.type == "registry" and scope.name == "catalog":
                granted.append(Scope("registry", "catalog", ("*",)))
                continue
            if scope.type != "repository" or "/" not in scope.name:
                continue
            registry = scope.name.split("/", 1)[0]
            if registry not in sim.account.registries:
                continue
            if principal.registry is not None and principal.registry != registry:
                continue
            actions = []
            for action in scope.actions:
                if action == "pull":
                    actions.append(action)
                elif action in _WRITE_ACTIONS and principal.can_write and not sim.gc.is_read_only(registry):
                    actions.append(action)
            if actions:
                granted.append(Scope(scope.type, scope.name, tuple(dict.fromkeys(actions))))
        return granted

    def issue(self, sim, principal: Principal, granted: list[Scope], service: str, now: datetime) -> dict:
        expires_at = now + TOKEN_TTL
        for registry in sorted({s.name.split("/", 1)[0] for s in granted if _WRITE_ACTIONS & set(s.actions)}):
            # The collector's drain waits on exactly these.
            expires_at = min(expires_at, sim.gc.issue_write_token(registry, now).expires_at)
        claims = {
            "iss": ISSUER,
            "sub": principal.username,
            "aud": service,
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int(expires_at.timestamp()),
            "jti": sim.ids.hex(16),
            "access": [{"type": s.type, "name": s.name, "actions": list(s.actions)} for s in granted],
        }
        if principal.registry is not None:
            # The catalog scope names no registry; this keeps its listing to the credential's.
            claims[_REGISTRY_CLAIM] = principal.registry
        import jwt  # here, not at the top: PyJWT loads `cryptography`, a tenth of serve's start-up

        token = jwt.encode(claims, self._key, algorithm=_ALGORITHM)
        return {
            "token": token,
            "access_token": token,
            "expires_in": int((expires_at - now).total_seconds()),
            "issued_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }

    # -- checking a presented token -----------------------------------------------------------
    def verify(self, token: str, service: str, now: datetime) -> Claims:
        import jwt  # see issue()

        try:
            # Expiry is checked against the simulated clock below, not the machine's.
            claims = jwt.decode(
                token, self._key, algorithms=[_ALGORITHM], audience=service, issuer=ISSUER,
                options={"verify_exp": False, "verify_nbf": False, "verify_iat": False,
                         "require": ["exp", "aud", "iss", "access"]},
            )
        except jwt.InvalidTokenError as exc:
            raise Unauthorized(f"invalid token: {exc}") from None
        expires_at = _instant(claims["exp"], "exp", now)
        if now >= expires_at:
            raise Unauthorized("token expired")
        if now + timedelta(seconds=1) < _instant(claims.get("nbf", 0), "nbf", now):
            raise Unauthorized("token not yet valid")
        access = []
        for entry in claims["access"]:
            try:
                actions = entry["actions"]
                if not isinstance(actions, list) or not all(isinstance(a, str) for a in actions):
                    raise TypeError("actions is a list of strings")
                access.append(Scope(entry["type"], entry["name"], tuple(actions)))
            except (KeyError, TypeError):
                raise Unauthorized("invalid token: malformed access claim") from None
        registry = claims.get(_REGISTRY_CLAIM)
        if registry is not None and not isinstance(registry, str):
            raise Unauthorized("invalid token: malformed registry claim")
        return Claims(subject=claims.get("sub", ""), expires_at=expires_at, access=tuple(access), registry=registry)


def _instant(value, claim: str, now: datetime) -> datetime:
    """A NumericDate claim as an instant; a token whose date is no date is not a token."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Unauthorized(f"invalid token: {claim} is not a number")
    try:
        return datetime.fromtimestamp(value, tz=now.tzinfo)
    except (OverflowError, OSError, ValueError):
        raise Unauthorized(f"invalid token: {claim} is out of range") from None
