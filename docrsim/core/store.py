"""The content-addressed store of one registry: blobs, manifests, repositories and tags.

As in the CNCF distribution registry, a manifest's bytes are themselves a blob. A repository
*links* manifests; deleting a manifest through the API removes the link (and its tags) but not
the bytes, so only garbage collection ever frees storage. A repository links blobs too
(docrsim.core.links): the bytes are shared, but each repository sees only the blobs linked there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from docrsim.core import digests
from docrsim.core.changes import Edits
from docrsim.core.content import ParsedManifest, parse_manifest
from docrsim.core.errors import Invalid, NotFound
from docrsim.core.links import BlobLinks


class BlobStore:
    """Blob sizes for every blob, bytes only for those that have them.

    Synthetic blobs (a digest and a size, no bytes) let a fixture describe a registry of a
    million blobs in a few dozen megabytes, so sizes live in one flat dict.
    """

    def __init__(self):
        self._sizes: dict[str, int] = {}
        self._data: dict[str, bytes] = {}
        self._uncompressed: dict[str, int] = {}
        self.total_bytes = 0
        self.changes = Edits()  # its registry's, once in a RegistryContent

    def _changed(self, digest: str) -> None:
        changes = self.changes
        if changes.recorder is None:  # counted only: a bulk fixture stores 100,000s of blobs
            changes.touch()
        else:
            changes.add("blob", digest, self._sizes[digest], self._data.get(digest), self._uncompressed.get(digest))

    def __contains__(self, digest: str) -> bool:
        return digest in self._sizes

    def __len__(self) -> int:
        return len(self._sizes)

    def digests(self):
        return self._sizes.keys()

    def size(self, digest: str) -> int:
        try:
            return self._sizes[digest]
        except KeyError:
            raise NotFound(f"blob {digest} is not in the store") from None

    def uncompressed_size(self, digest: str) -> int:
        return self._uncompressed.get(digest, self._sizes.get(digest, 0))

    def data(self, digest: str) -> bytes | None:
        """The blob's bytes, or None for a synthetic blob."""
        self.size(digest)
        return self._data.get(digest)

    def is_synthetic(self, digest: str) -> bool:
        return digest in self._sizes and digest not in self._data

    def put(self, data: bytes, declared: str | None = None) -> str:
        """Store bytes under their digest; a declared digest must match the content."""
        digest = digests.verify(data, declared) if declared else digests.compute(data)
        return self.put_verified(data, digest)

    def put_verified(self, data: bytes, digest: str) -> str:
        """Store bytes whose digest the caller has already checked (an upload session hashes
        as bytes stream in, so hashing again here, under the state lock, would be wasted)."""
        new = digest not in self._data
        if digest not in self._sizes:
            self._sizes[digest] = len(data)
            self.total_bytes += len(data)
        self._data[digest] = data
        if new:
            self._changed(digest)
        return digest

    def put_synthetic(self, digest: str, size: int, uncompressed_size: int | None = None) -> str:
        digests.parse(digest)
        if size < 0:
            raise Invalid("a blob size must not be negative")
        existing = self._sizes.get(digest)
        if existing is not None and existing != size:
            raise Invalid(f"blob {digest} is already stored with size {existing}, not {size}")
        changed = existing is None
        if existing is None:
            self._sizes[digest] = size
            self.total_bytes += size
        if uncompressed_size is not None and uncompressed_size != size \
                and self._uncompressed.get(digest) != uncompressed_size:
            self._uncompressed[digest] = uncompressed_size
            changed = True
        if changed:
            self._changed(digest)
        return digest

    def put_generated(self, digest: str, size: int) -> None:
        """put_synthetic for a digest the caller computed itself (bulk fixtures): nothing to
        check but that a blob already stored under it has the same size."""
        existing = self._sizes.get(digest)
        if existing is None:
            self._sizes[digest] = size
            self.total_bytes += size
            self._changed(digest)
        elif existing != size:
            raise Invalid(f"blob {digest} is already stored with size {existing}, not {size}")

    def remove(self, digest: str) -> int:
        """Delete a blob and return the bytes freed."""
        size = self._sizes.pop(digest)
        self._data.pop(digest, None)
        self._uncompressed.pop(digest, None)
        self.total_bytes -= size
        self.changes.add("unblob", digest)  # its links go with it (RegistryContent.remove_blob)
        return size


@dataclass(slots=True)
class Manifest:
    digest: str
    size: int
    parsed: ParsedManifest

    @property
    def media_type(self) -> str:
        return self.parsed.media_type


@dataclass(slots=True)
class Tag:
    manifest_digest: str
    updated_at: datetime


@dataclass
class Repository:
    name: str
    created_at: datetime
    # digest -> when the manifest was last pushed into this repository
    manifests: dict[str, datetime] = field(default_factory=dict)
    tags: dict[str, Tag] = field(default_factory=dict)

    def tags_by_manifest(self) -> dict[str, list[str]]:
        index: dict[str, list[str]] = {}
        for name, tag in self.tags.items():
            index.setdefault(tag.manifest_digest, []).append(name)
        return index

    @property
    def updated_at(self) -> datetime:
        times = [t.updated_at for t in self.tags.values()] + list(self.manifests.values())
        return max(times, default=self.created_at)


class MissingReference(Invalid):
    """A manifest names a blob or child manifest the registry does not hold."""

    def __init__(self, message: str, digest: str):
        super().__init__(message)
        self.digest = digest


class RegistryContent:
    """A registry's content. Every edit of it goes through these methods (and those of its
    BlobStore and BlobLinks), which count it in ``changes`` and report it to whoever records
    them (docrsim.core.changes)."""

    def __init__(self):
        self.blobs = BlobStore()
        self.manifests: dict[str, Manifest] = {}
        self.repositories: dict[str, Repository] = {}
        self.links = BlobLinks()
        self.changes = self.blobs.changes = self.links.changes = Edits()

    def record_changes(self, feed) -> None:
        """Report every edit from now on to ``feed`` (a docrsim.core.changes.RegistryFeed)."""
        self.changes.recorder = feed

    @property
    def recording(self) -> bool:
        return self.changes.recorder is not None

    @property
    def version(self) -> int:
        """A number that grows with every edit: equal numbers, the same content."""
        return self.changes.count

    # -- blobs --------------------------------------------------------------------------------
    def has_blob(self, repository: str, digest: str) -> bool:
        """Whether ``repository`` may serve the blob: held in the store and linked there."""
        return digest in self.blobs and self.links.linked(repository, digest)

    def link_blob(self, repository: str, digest: str) -> None:
        self.blobs.size(digest)  # NotFound: a link names a stored blob
        self.links.link(repository, digest)

    def remove_blob(self, digest: str) -> int:
        """Delete a blob with every link to it; the bytes freed."""
        self.links.drop_blob(digest)
        return self.blobs.remove(digest)

    # -- repositories -------------------------------------------------------------------------
    def repository(self, name: str) -> Repository:
        try:
            return self.repositories[name]
        except KeyError:
            raise NotFound(f"repository {name!r} not found") from None

    def ensure_repository(self, name: str, now: datetime) -> Repository:
        repo = self.repositories.get(name)
        if repo is None:
            repo = self.repositories[name] = Repository(name=name, created_at=now)
            self.changes.add("repo", name, now)
        return repo

    def delete_repository(self, name: str) -> None:
        repo = self.repository(name)
        del self.repositories[name]
        self.changes.add("unrepo", name)
        self.links.drop_repository(name)
        self._forget_unlinked(repo.manifests)

    # -- manifests ----------------------------------------------------------------------------
    def put_manifest(
        self,
        repository: str,
        raw: bytes,
        now: datetime,
        *,
        media_type: str | None = None,
        tag: str | None = None,
        expected_digest: str | None = None,
        linked_only: bool = False,
    ) -> str:
        """Store a manifest's bytes, link it into ``repository`` and optionally tag it.

        Every blob it needs (bar non-distributable layers) and every child manifest must
        already be held, as the distribution spec requires; a subject may be absent. Held
        means in the store, or with ``linked_only`` (a push through the registry host) linked
        in ``repository``. The blobs it references become linked there.
        """
        digest = digests.verify(raw, expected_digest) if expected_digest else digests.compute(raw)
        return self.put_parsed_manifest(repository, raw, digest, parse_manifest(raw, media_type), now, tag=tag,
                                        linked_only=linked_only)

    def put_parsed_manifest(
        self, repository: str, raw: bytes, digest: str, parsed: ParsedManifest, now: datetime, *,
        tag: str | None = None, linked_only: bool = False,
    ) -> str:
        """put_manifest for a caller that built ``raw`` itself from ``parsed`` (bulk fixtures);
        ``digest`` must be the digest of ``raw``."""
        blobs, links = self.blobs, self.links
        for ref in parsed.blob_references:
            if ref.non_distributable:
                continue
            if ref.digest not in blobs:
                raise MissingReference(f"blob {ref.digest} is not in the registry", ref.digest)
            if linked_only and not links.linked(repository, ref.digest):
                raise MissingReference(f"blob {ref.digest} is not linked in repository {repository!r}", ref.digest)
        repo_links = self.repositories.get(repository)
        for child in parsed.children:
            if repo_links is None or child.digest not in repo_links.manifests:
                raise MissingReference(f"manifest {child.digest} is not in repository {repository!r}", child.digest)
        if tag is not None:
            validate_tag(tag)
        self.blobs.put_verified(raw, digest)  # the digest was computed or verified by the caller
        self.manifests.setdefault(digest, Manifest(digest=digest, size=len(raw), parsed=parsed))
        self.link_references(repository, parsed)
        repo = self.ensure_repository(repository, now)
        repo.manifests[digest] = now
        # The record kept is the first push's: the same bytes pushed under another
        # Content-Type (a body without mediaType) keep the type they were first stored as.
        self.changes.add("manifest", repository, digest, self.manifests[digest].media_type, now)
        if tag is not None:
            self._set_tag(repo, tag, digest, now)
        return digest

    def link_references(self, repository: str, parsed: ParsedManifest) -> None:
        """A manifest's blobs become linked in the repository it is in."""
        blobs, links = self.blobs, self.links
        for ref in parsed.blob_references:
            if ref.digest in blobs:  # a non-distributable layer the registry happens to hold too
                links.link(repository, ref.digest)

    def manifest(self, repository: str, digest: str) -> Manifest:
        repo = self.repository(repository)
        if digest not in repo.manifests:
            raise NotFound(f"manifest {digest} not found in repository {repository!r}")
        return self.manifests[digest]

    def resolve(self, repository: str, reference: str) -> Manifest:
        """A manifest by tag or by digest."""
        repo = self.repository(repository)
        if ":" in reference:
            return self.manifest(repository, reference)
        tag = repo.tags.get(reference)
        if tag is None:
            raise NotFound(f"tag {reference!r} not found in repository {repository!r}")
        return self.manifests[tag.manifest_digest]

    def tag_manifest(self, repository: str, tag: str, digest: str, now: datetime) -> None:
        self.manifest(repository, digest)
        validate_tag(tag)
        self._set_tag(self.repositories[repository], tag, digest, now)

    def _set_tag(self, repo: Repository, tag: str, digest: str, now: datetime) -> None:
        repo.tags[tag] = Tag(manifest_digest=digest, updated_at=now)
        self.changes.add("tag", repo.name, tag, digest, now)

    def delete_tag(self, repository: str, tag: str) -> None:
        repo = self.repository(repository)
        if repo.tags.pop(tag, None) is None:
            raise NotFound(f"tag {tag!r} not found in repository {repository!r}")
        self.changes.add("untag", repository, tag)

    def delete_manifest(self, repository: str, digest: str) -> None:
        """Unlink a manifest and every tag pointing at it; its bytes stay until GC."""
        repo = self.repository(repository)
        if digest not in repo.manifests:
            raise NotFound(f"manifest {digest} not found in repository {repository!r}")
        self.unlink_manifest(repository, digest)
        for name in [n for n, t in repo.tags.items() if t.manifest_digest == digest]:
            del repo.tags[name]
            self.changes.add("untag", repository, name)
        self._forget_unlinked([digest])

    def unlink_manifest(self, repository: str, digest: str) -> None:
        """The repository no longer links the manifest (its tags are the caller's)."""
        repo = self.repositories.get(repository)
        if repo is not None and repo.manifests.pop(digest, None) is not None:
            self.changes.add("unmanifest", repository, digest)

    def forget_manifest(self, digest: str) -> None:
        """Drop the record of a manifest no repository links (its bytes remain as a blob)."""
        if self.manifests.pop(digest, None) is not None:
            self.changes.touch()  # a replay drops it too, once its last link goes

    def _forget_unlinked(self, candidates) -> None:
        """Drop manifest records no repository links any more (their bytes remain as blobs)."""
        linked = set()
        for repo in self.repositories.values():
            linked.update(repo.manifests)
        for digest in list(candidates):
            if digest not in linked:
                self.forget_manifest(digest)

    def linking_repositories(self, digest: str) -> list[str]:
        return [name for name, repo in self.repositories.items() if digest in repo.manifests]


_TAG = re.compile(r"[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}")


def validate_tag(tag: str) -> str:
    """Tags follow the distribution spec: ``[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}``."""
    if not isinstance(tag, str) or not _TAG.fullmatch(tag):
        raise Invalid(f"invalid tag {tag!r}: tags are 1-128 of [A-Za-z0-9_.-] and may not start with '.' or '-'")
    return tag
