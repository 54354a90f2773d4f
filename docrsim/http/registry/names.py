"""Resolve ``<registry>/<repository>`` from the URL, with the OCI errors for bad names."""

from __future__ import annotations

from docrsim.core import digests
from docrsim.core.distribution import split_name
from docrsim.core.errors import Invalid
from docrsim.http.registry.errors import OciError


def parse_name(name: str) -> tuple[str, str]:
    try:
        return split_name(name)
    except Invalid as exc:
        raise OciError("NAME_INVALID", exc.message) from None


def known_registry(sim, registry: str, name: str):
    found = sim.account.registries.get(registry)
    if found is None:
        raise OciError("NAME_UNKNOWN", f"repository name not known to registry: {name}")
    return found


def known_repository(sim, name: str):
    registry, repository = parse_name(name)
    content = known_registry(sim, registry, name).content
    repo = content.repositories.get(repository)
    if repo is None:
        raise OciError("NAME_UNKNOWN", f"repository name not known to registry: {name}")
    return content, repo


def parse_digest(value: str, code: str = "DIGEST_INVALID") -> str:
    try:
        digests.parse(value)
    except Invalid as exc:
        raise OciError(code, exc.message, detail={"digest": value}) from None
    return value
