"""Model objects → the DO API's JSON shapes (field names exactly as DigitalOcean's spec)."""

from __future__ import annotations

from docrsim.core import graph
from docrsim.core.account import Account, Registry, Tier
from docrsim.core.clock import format_instant
from docrsim.core.store import RegistryContent, Repository


def tier(t: Tier) -> dict:
    return {
        "name": t.name,
        "slug": t.slug,
        "included_repositories": t.included_repositories,
        "included_storage_bytes": t.included_storage_bytes,
        "allow_storage_overage": t.allow_storage_overage,
        "included_bandwidth_bytes": t.included_bandwidth_bytes,
        "monthly_price_in_cents": t.monthly_price_in_cents,
        "storage_overage_price_in_cents": t.storage_overage_price_in_cents,
    }


def subscription(account: Account) -> dict:
    return {
        "tier": tier(account.tier),
        "created_at": format_instant(account.subscription_created_at),
        "updated_at": format_instant(account.subscription_updated_at),
    }


def registry(sim, r: Registry, *, with_subscription: bool = False) -> dict:
    body = {
        "name": r.name,
        "created_at": format_instant(r.created_at),
        "region": r.region,
        "storage_usage_bytes": r.storage_usage_bytes,
        "storage_usage_bytes_updated_at": format_instant(r.storage_usage_updated_at),
        "read_only": sim.gc.is_read_only(r.name),
    }
    if with_subscription:
        body["subscription"] = subscription(sim.account)
    return body


def _sizes(content: RegistryContent, digest: str) -> graph.ManifestSizes:
    return graph.manifest_sizes(content, content.manifests[digest])


def tag(registry_name: str, content: RegistryContent, repo: Repository, name: str) -> dict:
    t = repo.tags[name]
    sizes = _sizes(content, t.manifest_digest)
    return {
        "registry_name": registry_name,
        "repository": repo.name,
        "tag": name,
        "manifest_digest": t.manifest_digest,
        "compressed_size_bytes": sizes.compressed,
        "size_bytes": sizes.uncompressed,
        "updated_at": format_instant(t.updated_at),
    }


def manifest(registry_name: str, content: RegistryContent, repo: Repository, digest: str,
             tags_by_manifest: dict[str, list[str]] | None = None) -> dict:
    """``tags_by_manifest`` (Repository.tags_by_manifest) saves a page of manifests indexing
    the tags once per manifest; one manifest alone looks its tags up directly."""
    if tags_by_manifest is None:
        names = [name for name, t in repo.tags.items() if t.manifest_digest == digest]
    else:
        names = tags_by_manifest.get(digest, [])
    parsed = content.manifests[digest].parsed
    sizes = _sizes(content, digest)
    members = parsed.children if parsed.is_index else parsed.blob_references
    return {
        "registry_name": registry_name,
        "repository": repo.name,
        "digest": digest,
        "compressed_size_bytes": sizes.compressed,
        "size_bytes": sizes.uncompressed,
        "updated_at": format_instant(repo.manifests[digest]),
        "tags": sorted(names),
        "blobs": [{"digest": d.digest, "compressed_size_bytes": d.size} for d in members],
    }


def newest_tags(repo: Repository) -> list[str]:
    """Tags, most recently updated first (name breaks ties, for a stable order)."""
    return sorted(repo.tags, key=lambda n: (-repo.tags[n].updated_at.timestamp(), n))


def newest_manifests(repo: Repository) -> list[str]:
    return sorted(repo.manifests, key=lambda d: (-repo.manifests[d].timestamp(), d))


def newest_tag(repo: Repository) -> str:
    """newest_tags(repo)[0], without sorting them all."""
    newest = max(t.updated_at for t in repo.tags.values())
    return min(name for name, t in repo.tags.items() if t.updated_at == newest)


def newest_manifest(repo: Repository) -> str | None:
    """newest_manifests(repo)[0] (None for none), without sorting them all."""
    if not repo.manifests:
        return None
    newest = max(repo.manifests.values())
    return min(digest for digest, pushed in repo.manifests.items() if pushed == newest)


def repository_v1(registry_name: str, content: RegistryContent, repo: Repository) -> dict:
    return {
        "registry_name": registry_name,
        "name": repo.name,
        "latest_tag": tag(registry_name, content, repo, newest_tag(repo)),
        "tag_count": len(repo.tags),
    }


def repository_v2(registry_name: str, content: RegistryContent, repo: Repository) -> dict:
    newest = newest_manifest(repo)
    return {
        "registry_name": registry_name,
        "name": repo.name,
        "latest_manifest": manifest(registry_name, content, repo, newest) if newest else None,
        "tag_count": len(repo.tags),
        "manifest_count": len(repo.manifests),
    }


def gc_run(run) -> dict:
    return {
        "uuid": run.uuid,
        "registry_name": run.registry_name,
        "status": run.status,
        "type": run.type,
        "created_at": format_instant(run.created_at),
        "updated_at": format_instant(run.updated_at),
        "blobs_deleted": run.blobs_deleted,
        "freed_bytes": run.freed_bytes,
    }
