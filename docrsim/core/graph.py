"""The reference graph of one registry: what is referenced, what is garbage, what things weigh.

Mark-and-sweep in the manner of the distribution registry's collector: the marks are derived
from the current links, never stored, so they cannot go stale.
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter

from docrsim.core.store import Manifest, RegistryContent, Repository

_DIGEST = attrgetter("digest")
_SIZE = attrgetter("size")
_SUBJECT = attrgetter("parsed.subject")
_CHILDREN = attrgetter("parsed.children")


def referenced_blobs(content: RegistryContent) -> set[str]:
    """Every blob a live (linked) manifest needs: its own bytes, its config and its layers."""
    marked: set[str] = set()
    for manifest in content.manifests.values():
        marked.add(manifest.digest)
        for ref in manifest.parsed.blob_references:
            marked.add(ref.digest)
    return marked


def unreferenced_blobs(content: RegistryContent) -> list[str]:
    """Stored blobs nothing references, in a stable (sorted) order."""
    marked = referenced_blobs(content)
    return sorted(d for d in content.blobs.digests() if d not in marked)


def protected_manifests(content: RegistryContent, repo: Repository) -> set[str]:
    """Manifests of ``repo`` reachable from its tags.

    Reachable means tagged, a child of a reachable index, or a referrer (``subject``) of a
    reachable manifest. Everything else in the repository is untagged garbage.
    """
    manifests, links = content.manifests, repo.manifests
    tagged = {t.manifest_digest for t in repo.tags.values()}
    referrers: dict[str, list[str]] = {}
    if any(map(_SUBJECT, map(manifests.__getitem__, links))):
        for digest in links:
            subject = manifests[digest].parsed.subject
            if subject is not None:
                referrers.setdefault(subject.digest, []).append(digest)
    elif not any(map(_CHILDREN, map(manifests.__getitem__, tagged.intersection(links)))):
        # No referrers and no tagged index: what the tags name is all that is reachable.
        return tagged.intersection(links)

    reached: set[str] = set()
    pending = list(tagged)
    while pending:
        digest = pending.pop()
        if digest in reached or digest not in links:
            continue
        reached.add(digest)
        children = manifests[digest].parsed.children
        if children:
            pending.extend(map(_DIGEST, children))
        if referrers and digest in referrers:
            pending.extend(referrers[digest])
    return reached


def untagged_manifests(content: RegistryContent) -> list[tuple[str, str]]:
    """(repository, digest) pairs of untagged garbage, in a stable order."""
    garbage = []
    for name in sorted(content.repositories):
        repo = content.repositories[name]
        keep = protected_manifests(content, repo)
        garbage.extend((name, d) for d in sorted(repo.manifests) if d not in keep)
    return garbage


@dataclass(frozen=True)
class ManifestSizes:
    compressed: int
    uncompressed: int


def manifest_sizes(content: RegistryContent, manifest: Manifest, _seen: frozenset = frozenset()) -> ManifestSizes:
    """What the API reports as ``compressed_size_bytes`` and ``size_bytes``.

    An image weighs its config plus its layers (compressed as stored; uncompressed where a
    fixture declared it, else the same). An index weighs the sum of its children.
    """
    parsed = manifest.parsed
    if parsed.is_index:
        compressed = uncompressed = 0
        for child in parsed.children:
            child_manifest = content.manifests.get(child.digest)
            if child_manifest is None or child.digest in _seen:
                compressed += child.size
                uncompressed += child.size
                continue
            sizes = manifest_sizes(content, child_manifest, _seen | {manifest.digest})
            compressed += sizes.compressed
            uncompressed += sizes.uncompressed
        return ManifestSizes(compressed, uncompressed)
    refs = parsed.blob_references
    sizes = tuple(map(_SIZE, refs))
    compressed = sum(sizes)
    blobs = content.blobs
    if blobs._uncompressed:
        uncompressed = sum(blobs.uncompressed_size(ref.digest) if ref.digest in blobs else ref.size for ref in refs)
    else:
        # No blob declares an uncompressed size (the usual case): each counts its stored size,
        # or the descriptor's when the registry does not hold it. Looked up in C, as listings
        # weigh every manifest on the page.
        uncompressed = sum(map(blobs._sizes.get, map(_DIGEST, refs), sizes))
    return ManifestSizes(compressed, uncompressed)


def storage_usage(content: RegistryContent) -> int:
    """Bytes held: every unique stored blob, manifests' own bytes included."""
    return content.blobs.total_bytes
