"""Each registry request needs a JWT from the token service granting its action."""

from __future__ import annotations

from flask import request

from docrsim.core.errors import Unauthorized
from docrsim.core.registry_auth import Claims
from docrsim.http import addresses
from docrsim.http.registry.errors import OciError


def _challenge(scope: str | None, error: str | None = None) -> dict:
    said = addresses.of_request()
    parts = [f'realm="{said.realm}"', f'service="{said.service}"']
    if scope:
        parts.append(f'scope="{scope}"')
    if error:
        parts.append(f'error="{error}"')
    return {"WWW-Authenticate": "Bearer " + ",".join(parts)}


def _claims(sim, now, scope: str | None) -> Claims:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise OciError("UNAUTHORIZED", "authentication required", headers=_challenge(scope))
    try:
        return sim.registry_tokens.verify(token.strip(), addresses.of_request().service, now)
    except Unauthorized as exc:
        raise OciError("UNAUTHORIZED", exc.message, headers=_challenge(scope, "invalid_token")) from None


def require_any_token(sim, now) -> Claims:
    return _claims(sim, now, None)


def require(sim, now, kind: str, name: str, action: str, *, challenge_actions: str | None = None,
            pull_from: str | None = None) -> Claims:
    """The request's token must grant ``action`` on ``name``; otherwise the challenge asks
    for ``challenge_actions`` (push flows ask for pull and push together, as docker does).

    ``pull_from`` names a second repository the token must let the client pull (the source of
    a cross-repository mount, as distribution requires); the challenge then names both scopes,
    space-separated as the token protocol has them. Every route calls this before it looks at
    names, tags or digests, so a client without a fitting token learns nothing but 401.
    """
    wanted = [(kind, name, action, challenge_actions or action)]
    if pull_from is not None:
        wanted.append(("repository", pull_from, "pull", "pull"))
    scope = " ".join(f"{k}:{n}:{asked}" for k, n, _, asked in wanted)
    claims = _claims(sim, now, scope)
    for k, n, granted, _ in wanted:
        if claims.allows(k, n, granted):
            continue
        registry = n.split("/", 1)[0]
        if k == "repository" and not claims.reaches(registry):
            # No new token could help: the credential serves another registry.
            raise OciError("DENIED", f"token does not grant access to registry {registry!r}")
        raise OciError("UNAUTHORIZED", f"token does not grant {granted} on {n}",
                       headers=_challenge(scope, "insufficient_scope"))
    return claims
