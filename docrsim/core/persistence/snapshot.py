"""Exact export and import of the whole simulated world (format ``docrsim-state/1``).

An exported document holds everything the world's future depends on: the clock, the seed and
the id generator's position (the next uuid after an import is the one the exported world would
have made), the account, every registry's blobs (bytes as base64; synthetic ones as sizes),
manifests (their bytes are blobs), repositories with their manifest links and tags, the blob
links of every repository (docrsim.core.links; a repository need not exist to link blobs, as
an upload comes before the manifest that makes it), minted docker
credentials, outstanding write tokens, garbage collection (settings, armed faults, and every
run, active ones mid-phase included: see ``gc_state``) and a test's fault
rules with their holds (``fault_state``). Lists keep the model's own order
where it matters (registries are listed, and blobs deleted, in the order they came) and are
sorted elsewhere, so export, import, export gives the same document.

Left out, as a reset throws them away too: upload sessions in progress, the request journal,
the request-id stream (restarted from the saved seed), the HTTP edge's rate-limit counters and
the registry token service's key (registry tokens issued before an import are refused after
it; clients ask for new ones on the 401).

Importing is all or nothing: the new world is built and checked aside, and only then replaces
the old one. A manual clock moves to the saved instant; the system clock cannot be moved and
keeps following the machine. The simulation's start-up seed and GC rates (what a bodyless
reset returns to) are not the saved world's and do not change.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime

from docrsim.core import progress
from docrsim.core.persistence import fault_state, gc_state
from docrsim.core.account import MULTI_REGISTRY_REGIONS, TIERS, Account, Registry, name_problem
from docrsim.core.content import parse_manifest
from docrsim.core.credentials import CredentialStore, DockerCredential
from docrsim.core.errors import DomainError, Invalid
from docrsim.core.faults import FaultSet
from docrsim.core.gc import GarbageCollector
from docrsim.core.ids import IdGenerator
from docrsim.core.persistence.format import (
    FORMAT, Problem, StateError, check_blob, check_blob_links, check_shape, read_digest, read_instant,
    write_instant,
)
from docrsim.core.store import Manifest, RegistryContent, Repository, Tag, validate_tag

__all__ = ["FORMAT", "StateError", "export_state", "import_state"]


# -- export -----------------------------------------------------------------------------------------
def export_state(sim, *, blob_bytes: bool = True, shared_plans: bool = False) -> dict:
    """The world as a ``docrsim-state/1`` document, settled to the clock's now. Without
    ``blob_bytes`` a blob that has bytes is listed without them (a state folder keeps them in
    files of their own: docrsim.core.persistence.folder); ``shared_plans`` as in export_frame."""
    return _export(sim, lambda registry: _export_content(registry.content, blob_bytes), shared_plans=shared_plans)


def export_frame(sim) -> dict:
    """export_state without the registries' content (their blobs, repositories and blob
    links): the part a state folder saves whenever it changes. GC deletion plans in it are
    shared, the same object for a plan each time (gc_state._export_plan), not to be changed."""
    return _export(sim, lambda registry: {}, shared_plans=True)


def _export(sim, content_of, *, shared_plans: bool = False) -> dict:
    with sim.transaction() as now:
        account, gc = sim.account, sim.gc
        return {
            "format": FORMAT,
            "clock": {"kind": sim.clock.kind, "now": write_instant(now)},
            "seed": sim.ids.seed,
            "id_position": sim.ids.position,
            "account": {
                "tier": account.tier_slug,
                "subscription_created_at": write_instant(account.subscription_created_at),
                "subscription_updated_at": write_instant(account.subscription_updated_at),
            },
            "registries": [
                {
                    "name": registry.name,
                    "region": registry.region,
                    "created_at": write_instant(registry.created_at),
                    "storage_usage_bytes": registry.storage_usage_bytes,
                    "storage_usage_bytes_updated_at": write_instant(registry.storage_usage_updated_at),
                    **content_of(registry),
                    "write_tokens": [
                        {"issued_at": write_instant(t.issued_at), "expires_at": write_instant(t.expires_at)}
                        for t in gc.ledger.outstanding(registry.name, now)
                    ],
                    **gc_state.export_registry(gc, registry.name, shared_plans=shared_plans),
                }
                for registry in account.registries.values()
            ],
            "credentials": [_export_credential(c) for c in sim.credentials.all()],
            "gc": gc_state.export_settings(gc),
            "faults": fault_state.export_faults(sim.faults, gc_state.holds(gc)),
        }


def _export_content(content: RegistryContent, blob_bytes: bool) -> dict:
    return {
        # In the store's order: a collection deletes unreferenced blobs in that order. Nothing
        # depends on the order of repositories, links and tags, so they are sorted.
        "blobs": [_export_blob(content.blobs, digest, blob_bytes) for digest in content.blobs.digests()],
        "repositories": [
            {
                "name": repo.name,
                "created_at": write_instant(repo.created_at),
                # A manifest's record exists exactly while a repository links it, so the links
                # carry what it needs besides its bytes: the media type it was parsed with.
                "manifests": [
                    {"digest": digest, "media_type": content.manifests[digest].media_type,
                     "updated_at": write_instant(pushed)}
                    for digest, pushed in sorted(repo.manifests.items())
                ],
                "tags": [
                    {"tag": name, "manifest_digest": tag.manifest_digest, "updated_at": write_instant(tag.updated_at)}
                    for name, tag in sorted(repo.tags.items())
                ],
            }
            for repo in sorted(content.repositories.values(), key=lambda r: r.name)
        ],
        "blob_links": [
            {"repository": name, "digests": sorted(linked)}
            for name, linked in sorted(content.links.by_repository().items())
        ],
    }


def _export_blob(blobs, digest: str, blob_bytes: bool) -> dict:
    size, data = blobs.size(digest), blobs.data(digest)
    return blob_entry(digest, size, data if blob_bytes else None, data is None,
                      blobs.uncompressed_size(digest))


def blob_entry(digest: str, size: int, data: bytes | None, synthetic: bool, uncompressed_size: int) -> dict:
    """A blob as ``blobs`` lists it; its bytes as base64 when ``data`` is given."""
    entry = {"digest": digest, "size": size, "synthetic": synthetic}
    if data is not None:
        entry["base64"] = base64.b64encode(data).decode()
    if uncompressed_size != size:
        entry["uncompressed_size"] = uncompressed_size
    return entry


def _export_credential(credential: DockerCredential) -> dict:
    return {
        "username": credential.username,
        "secret": credential.secret,
        "registry": credential.registry,
        "read_write": credential.read_write,
        "created_at": write_instant(credential.created_at),
        "expires_at": write_instant(credential.expires_at),
        "revoked": credential.revoked,
    }


# -- import -----------------------------------------------------------------------------------------
@dataclass
class _World:
    """A world rebuilt from a document, not yet part of any simulation."""

    now: datetime
    ids: IdGenerator
    account: Account
    credentials: CredentialStore
    gc: GarbageCollector
    faults: FaultSet


def import_state(sim, document, blob_source=None) -> None:
    """Replace ``sim``'s world with the one ``document`` saved; StateError (and nothing
    changed) when the document is malformed. ``blob_source(digest, size)`` gives the bytes of
    a blob listed without them (a state folder's files); it raises Problem when it cannot."""
    progress.step("checking the saved state", 0, 0)
    check_shape(document)
    with sim.lock:
        try:
            world = _rebuild(sim, document, blob_source)
        except Problem as exc:
            raise StateError([str(exc)]) from None
        if sim.clock.kind == "manual":
            sim.clock.restart(world.now)
        # A reset first, so whatever else a fresh world holds starts fresh: uploads in progress
        # are dropped and the registry token service gets a new key, as on any reset.
        sim.reset(world.account.tier_slug)
        sim.ids = world.ids
        # Request ids are no part of a saved world (else reading the state would change it);
        # as on a reset, their stream restarts, from the saved world's seed.
        sim.request_ids = IdGenerator(f"{world.ids.seed}:requests")
        sim.account, sim.credentials = world.account, world.credentials
        sim.gc, sim.faults = world.gc, world.faults


def _rebuild(sim, document: dict, blob_source) -> _World:
    seed = document["seed"]
    account_doc = document["account"]
    if account_doc["tier"] not in TIERS:
        raise Problem("account.tier", f"unknown tier {account_doc['tier']!r}: expected one of {', '.join(TIERS)}")
    account = Account(
        tier_slug=account_doc["tier"],
        subscription_created_at=read_instant(account_doc["subscription_created_at"], "account.subscription_created_at"),
        subscription_updated_at=read_instant(account_doc["subscription_updated_at"], "account.subscription_updated_at"),
    )
    rebuilt: dict[str, tuple[dict, RegistryContent]] = {}
    for index, registry_doc in enumerate(document["registries"]):
        where = f"registries[{index}]"
        if registry_doc["name"] in account.registries:
            raise Problem(f"{where}.name", f"registry {registry_doc['name']!r} appears twice")
        registry = _build_registry(registry_doc, where, blob_source)
        account.registries[registry.name] = registry
        rebuilt[registry.name] = (registry_doc, registry.content)
    gc = gc_state.build_collector(sim, document["gc"], rebuilt)
    for index, registry_doc in enumerate(document["registries"]):
        for t, token in enumerate(registry_doc["write_tokens"]):
            at = f"registries[{index}].write_tokens[{t}]"
            try:
                gc.ledger.record(registry_doc["name"], read_instant(token["issued_at"], f"{at}.issued_at"),
                                 read_instant(token["expires_at"], f"{at}.expires_at"))
            except Invalid as exc:
                raise Problem(at, exc.message) from None
    credentials = CredentialStore()
    for index, credential_doc in enumerate(document["credentials"]):
        credentials.restore(_build_credential(credential_doc, f"credentials[{index}]"))
    return _World(
        now=read_instant(document["clock"]["now"], "clock.now"),
        ids=_resume_ids(seed, document["id_position"]),
        account=account,
        credentials=credentials,
        gc=gc,
        faults=fault_state.build_faults(gc, document["faults"]),
    )


def _resume_ids(seed, position: int) -> IdGenerator:
    try:
        return IdGenerator.resume(seed, position)
    except Invalid as exc:
        raise Problem("id_position", exc.message) from None


def _build_registry(document: dict, where: str, blob_source) -> Registry:
    problem = name_problem(document["name"])
    if problem:
        raise Problem(f"{where}.name", problem)
    if document["region"] not in MULTI_REGISTRY_REGIONS:
        raise Problem(f"{where}.region", f"unknown region {document['region']!r}")
    registry = Registry(
        name=document["name"],
        region=document["region"],
        created_at=read_instant(document["created_at"], f"{where}.created_at"),
        storage_usage_updated_at=read_instant(document["storage_usage_bytes_updated_at"],
                                              f"{where}.storage_usage_bytes_updated_at"),
        storage_usage_bytes=document["storage_usage_bytes"],
    )
    content = registry.content
    blobs = document["blobs"]
    for index, blob in enumerate(blobs):
        if index % 10_000 == 0:
            progress.step(f"rebuilding {registry.name}: blobs", index, len(blobs))
        _build_blob(content, blob, f"{where}.blobs[{index}]", blob_source)
    progress.step(f"rebuilding {registry.name}: blobs", len(blobs), len(blobs))
    repositories = document["repositories"]
    for index, repo in enumerate(repositories):
        progress.step(f"rebuilding {registry.name}: repositories", index, len(repositories))
        _build_repository(content, repo, f"{where}.repositories[{index}]")
    if "blob_links" not in document:
        # Saved before blobs were linked per repository: every blob a repository's manifests
        # reference becomes linked there, as pushing those manifests would have linked it.
        for name, repo in content.repositories.items():
            for digest in repo.manifests:
                content.link_references(name, content.manifests[digest].parsed)
        return registry
    repositories_seen: set[str] = set()
    for index, entry in enumerate(document["blob_links"]):
        _build_blob_links(content, entry, f"{where}.blob_links[{index}]", repositories_seen)
    return registry


def _build_blob_links(content: RegistryContent, entry: dict, where: str, seen: set[str]) -> None:
    check_blob_links(entry, where)
    name = entry["repository"]
    if name in seen:
        raise Problem(f"{where}.repository", f"repository {name!r} appears twice")
    seen.add(name)
    for index, text in enumerate(entry["digests"]):
        at = f"{where}.digests[{index}]"
        digest = read_digest(text, at)
        if digest not in content.blobs:
            raise Problem(at, f"blob {digest} is not among the registry's blobs")
        if content.links.linked(name, digest):
            raise Problem(at, f"blob {digest} is linked twice")
        content.links.link(name, digest)


def _build_blob(content: RegistryContent, blob: dict, where: str, blob_source) -> None:
    check_blob(blob, where)
    digest = read_digest(blob["digest"], f"{where}.digest")
    if digest in content.blobs:
        raise Problem(f"{where}.digest", f"blob {digest} appears twice")
    # In a state folder a blob's bytes may be in a file of its own instead (blob_source).
    if blob["synthetic"] == ("base64" in blob) and (blob["synthetic"] or blob_source is None):
        raise Problem(where, "a blob has its bytes as 'base64' exactly when it is not synthetic")
    try:
        if blob["synthetic"]:
            content.blobs.put_synthetic(digest, blob["size"])
        else:
            if "base64" not in blob:
                data = blob_source(digest, blob["size"])
            else:
                try:
                    data = base64.b64decode(blob["base64"], validate=True)
                except (binascii.Error, ValueError):
                    raise Problem(f"{where}.base64", "not valid base64") from None
            if len(data) != blob["size"]:
                raise Problem(f"{where}.size", f"the bytes are {len(data)} long, not {blob['size']}")
            content.blobs.put(data, digest)
        if "uncompressed_size" in blob:
            content.blobs.put_synthetic(digest, blob["size"], blob["uncompressed_size"])
    except DomainError as exc:
        raise Problem(where, exc.message) from None


def _build_repository(content: RegistryContent, document: dict, where: str) -> None:
    name = document["name"]
    if name in content.repositories:
        raise Problem(f"{where}.name", f"repository {name!r} appears twice")
    repo = content.repositories[name] = Repository(name=name, created_at=read_instant(document["created_at"],
                                                                                       f"{where}.created_at"))
    for index, link in enumerate(document["manifests"]):
        at = f"{where}.manifests[{index}]"
        digest = read_digest(link["digest"], f"{at}.digest")
        if digest in repo.manifests:
            raise Problem(f"{at}.digest", f"manifest {digest} is linked twice")
        _manifest_record(content, digest, link["media_type"], at)
        repo.manifests[digest] = read_instant(link["updated_at"], f"{at}.updated_at")
    for index, tag_doc in enumerate(document["tags"]):
        at = f"{where}.tags[{index}]"
        try:
            tag = validate_tag(tag_doc["tag"])
        except Invalid as exc:
            raise Problem(f"{at}.tag", exc.message) from None
        if tag in repo.tags:
            raise Problem(f"{at}.tag", f"tag {tag!r} appears twice")
        if tag_doc["manifest_digest"] not in repo.manifests:
            raise Problem(f"{at}.manifest_digest", "a tag must name a manifest its repository links")
        repo.tags[tag] = Tag(manifest_digest=tag_doc["manifest_digest"],
                             updated_at=read_instant(tag_doc["updated_at"], f"{at}.updated_at"))


def _manifest_record(content: RegistryContent, digest: str, media_type: str, where: str) -> None:
    """The manifest's record, parsed from its bytes in the blob store as it was when pushed."""
    known = content.manifests.get(digest)
    if known is not None:
        if known.media_type != media_type:
            raise Problem(f"{where}.media_type", f"manifest {digest} is {known.media_type!r} elsewhere")
        return
    raw = content.blobs.data(digest) if digest in content.blobs else None
    if raw is None:
        raise Problem(f"{where}.digest", "the manifest's bytes are not among the registry's blobs")
    try:
        parsed = parse_manifest(raw, media_type)
    except Invalid as exc:
        raise Problem(where, exc.message) from None
    if parsed.media_type != media_type:
        raise Problem(f"{where}.media_type", f"the manifest's bytes say {parsed.media_type!r}")
    content.manifests[digest] = Manifest(digest=digest, size=len(raw), parsed=parsed)


def _build_credential(document: dict, where: str) -> DockerCredential:
    return DockerCredential(
        username=document["username"],
        secret=document["secret"],
        registry=document["registry"],
        read_write=document["read_write"],
        created_at=read_instant(document["created_at"], f"{where}.created_at"),
        expires_at=read_instant(document["expires_at"], f"{where}.expires_at"),
        revoked=document["revoked"],
    )
