"""Who may call what: DO API tokens with their scopes, and the docker credentials the API mints.

By default every non-empty API token is accepted with every scope, as a permissive test double
should; a token policy (``docrsim serve --tokens FILE``) restricts tokens to listed scopes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from docrsim.core.errors import Forbidden, Invalid, Unauthorized

SCOPES = ("registry:read", "registry:create", "registry:update", "registry:delete")
ACCOUNT_EMAIL = "docrsim@example.com"


class TokenPolicy:
    """Maps API tokens to scopes; ``None`` means any token gets every scope."""

    def __init__(self, tokens: dict[str, frozenset[str]] | None = None):
        self.tokens = tokens

    @classmethod
    def from_file(cls, path: str | Path) -> "TokenPolicy":
        import yaml  # only a token file needs it: not imported with docrsim

        try:
            document = yaml.safe_load(Path(path).read_text())
        except OSError as exc:
            raise Invalid(f"{path}: cannot read the token file: {exc.strerror or exc}") from None
        except yaml.YAMLError as exc:
            raise Invalid(f"{path}: not valid YAML: {exc}") from None
        if not isinstance(document, dict) or not document:
            raise Invalid(f"{path}: expected a mapping of token to a list of scopes")
        tokens = {}
        for token, scopes in document.items():
            if not isinstance(token, str) or not token:
                raise Invalid(f"{path}: tokens must be non-empty strings")
            if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
                raise Invalid(f"{path}: {token}: expected a list of scopes")
            unknown = sorted(set(scopes) - set(SCOPES) - {"registry:*", "*"})
            if unknown:
                raise Invalid(f"{path}: {token}: unknown scope {unknown[0]!r}; known: {', '.join(SCOPES)}")
            expanded = set(SCOPES) if {"registry:*", "*"} & set(scopes) else set(scopes)
            tokens[token] = frozenset(expanded)
        return cls(tokens)

    def scopes(self, token: str | None) -> frozenset[str]:
        if not token:
            raise Unauthorized("Unable to authenticate you.")
        if self.tokens is None:
            return frozenset(SCOPES)
        try:
            return self.tokens[token]
        except KeyError:
            raise Unauthorized("Unable to authenticate you.") from None

    def require(self, token: str | None, *needed: str) -> None:
        granted = self.scopes(token)
        missing = [s for s in needed if s not in granted]
        if missing:
            raise Forbidden(f"You do not have permission to perform this action (needs {', '.join(missing)}).")


@dataclass
class DockerCredential:
    username: str
    secret: str
    registry: str | None  # None: valid for every registry of the account
    read_write: bool
    created_at: datetime
    expires_at: datetime | None
    revoked: bool = False

    def valid_at(self, now: datetime) -> bool:
        return not self.revoked and (self.expires_at is None or now < self.expires_at)


class CredentialStore:
    """Docker credentials minted by the docker-credentials endpoints, found by their secret."""

    def __init__(self):
        self._by_secret: dict[str, DockerCredential] = {}

    def mint(self, secret: str, *, registry: str | None, read_write: bool, expiry_seconds: int,
             now: datetime) -> DockerCredential:
        if expiry_seconds < 0:
            raise Invalid("expiry_seconds must not be negative")
        credential = DockerCredential(
            username=ACCOUNT_EMAIL,
            secret=secret,
            registry=registry,
            read_write=read_write,
            created_at=now,
            expires_at=now + timedelta(seconds=expiry_seconds) if expiry_seconds else None,
        )
        self._by_secret[secret] = credential
        return credential

    def restore(self, credential: DockerCredential) -> None:
        """Hold a credential exactly as a saved world had it (docrsim.core.persistence.snapshot)."""
        self._by_secret[credential.secret] = credential

    def find(self, secret: str) -> DockerCredential | None:
        return self._by_secret.get(secret)

    def revoke(self, secret: str) -> bool:
        credential = self._by_secret.get(secret)
        if credential is None:
            return False
        credential.revoked = True
        return True

    def all(self) -> list[DockerCredential]:
        return list(self._by_secret.values())
