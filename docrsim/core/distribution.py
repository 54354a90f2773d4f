"""What the registry host may do to a registry: the rules pushes and deletes obey there.

Tier limits apply to new content: a push that would create a repository beyond the tier's
allowance, or exceed storage on a tier without overage, is refused. Stored content is counted
at once in the registry's reported usage.

Read-only mode is checked again when content lands: a request authorised while a push token
was valid may finish after the token expired (a blob upload streams its body between the two),
and once a garbage collection has drained, nothing may enter its registry until it ends.
"""

from __future__ import annotations

import re
from datetime import datetime

from docrsim.core import digests
from docrsim.core.errors import Invalid

# OCI repository name components; DOCR puts the registry name first.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPOSITORY = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
MAX_NAME_LENGTH = 255


def split_name(name: str) -> tuple[str, str]:
    """``<registry>/<repository>`` from an image name; Invalid unless both parts are valid."""
    registry, sep, repository = name.partition("/")
    if not sep or not registry or not _REPOSITORY.fullmatch(repository) or len(name) > MAX_NAME_LENGTH:
        raise Invalid(f"invalid repository name {name!r}: expected <registry>/<repository>")
    return registry, repository


def check_repository_allowed(sim, registry_name: str, repository: str) -> None:
    """A push into ``repository`` must not create one beyond the tier's allowance."""
    registry = sim.account.registry(registry_name)
    if repository not in registry.content.repositories:
        sim.account.check_new_repository(registry)


def check_writable(sim, registry_name: str, now: datetime) -> None:
    """Refuse content while a garbage collection holds the registry and no push token issued
    before it is still valid: the run has drained, and scans or deletes from then on."""
    if not sim.gc.ledger.has_valid(registry_name, now):
        sim.gc.check_idle(registry_name)


def store_blob(sim, registry_name: str, repository: str, data: bytes, digest: str, now: datetime) -> str:
    """Store a blob uploaded into ``repository`` and link it there; its upload session has
    verified ``digest`` against the bytes. Bytes the registry already holds count once."""
    registry = sim.account.registry(registry_name)
    check_writable(sim, registry_name, now)
    if digest not in registry.content.blobs:
        sim.account.check_storage_for(len(data))
    registry.content.blobs.put_verified(data, digest)
    registry.content.link_blob(repository, digest)
    registry.refresh_usage(now)
    return digest


def put_manifest(sim, registry_name: str, repository: str, raw: bytes, now: datetime, *,
                 media_type: str | None, tag: str | None, expected_digest: str | None) -> str:
    check_repository_allowed(sim, registry_name, repository)
    registry = sim.account.registry(registry_name)
    check_writable(sim, registry_name, now)
    # Only new bytes count: re-tagging a stored manifest (by tag or digest) adds nothing.
    digest = digests.verify(raw, expected_digest) if expected_digest else digests.compute(raw)
    if digest not in registry.content.blobs:
        sim.account.check_storage_for(len(raw))
    digest = registry.content.put_manifest(
        repository, raw, now, media_type=media_type, tag=tag, expected_digest=expected_digest, linked_only=True
    )
    registry.refresh_usage(now)
    return digest


def mount_blob(sim, registry_name: str, repository: str, digest: str, source: str, now: datetime) -> bool:
    """Cross-repository mount: link into ``repository`` a blob that ``source``, a repository of
    the same registry, links. False (the client uploads instead) when the source does not."""
    content = sim.account.registry(registry_name).content
    if not content.has_blob(source, digest):
        return False
    check_writable(sim, registry_name, now)
    content.link_blob(repository, digest)
    return True
