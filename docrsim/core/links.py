"""Blob links: which repositories of a registry may serve each stored blob.

The bytes are held once per registry (the blob store is content-addressed and shared), but a
blob *exists* in a repository only once it is linked there, as in the CNCF distribution
registry. A link is made by uploading the blob into the repository, by mounting it there from
a repository that links it, or by pushing a manifest there that references it (its config and
layers; a manifest's own bytes are linked as a manifest, not as a blob). Elsewhere the blob is
unknown.

Links go away three ways only: deleting a repository drops all of its links; garbage
collection, deleting a blob from the store, drops every link to it; deleting a manifest drops
none (its layers stay linked where they were, as distribution keeps them). Links never protect
a blob from garbage collection: a blob is referenced only through a linked manifest.

Kept as a map from blob to the repositories linking it, mostly one, so that a collection
deleting a million blobs pays one look-up each, and a registry of a million linked blobs holds
one dict entry each rather than a set per repository.
"""

from __future__ import annotations

from docrsim.core.changes import Edits


class BlobLinks:
    def __init__(self):
        # digest -> the one linking repository's name, or a tuple of names when several link it
        self._by_blob: dict[str, str | tuple[str, ...]] = {}
        self.changes = Edits()  # its registry's, once in a RegistryContent

    def link(self, repository: str, digest: str) -> None:
        held = self._by_blob.get(digest)
        if held is None:
            self._by_blob[digest] = repository
        elif type(held) is str:
            if held == repository:
                return
            self._by_blob[digest] = (held, repository)
        elif repository not in held:
            self._by_blob[digest] = held + (repository,)
        else:
            return
        self.changes.add("link", repository, digest)

    def linked(self, repository: str, digest: str) -> bool:
        held = self._by_blob.get(digest)
        return held is not None and (held == repository if type(held) is str else repository in held)

    def repositories(self, digest: str) -> tuple[str, ...]:
        held = self._by_blob.get(digest)
        return () if held is None else (held,) if type(held) is str else held

    def drop_blob(self, digest: str) -> None:
        self._by_blob.pop(digest, None)

    def drop_repository(self, repository: str) -> None:
        """Forget every link of ``repository`` (one pass over the links: deletes are rare)."""
        self.changes.add("drop_links", repository)
        for digest, held in list(self._by_blob.items()):
            if type(held) is str:
                if held == repository:
                    del self._by_blob[digest]
            elif repository in held:
                rest = tuple(name for name in held if name != repository)
                self._by_blob[digest] = rest[0] if len(rest) == 1 else rest

    def by_repository(self) -> dict[str, list[str]]:
        """Each linking repository's blobs, in the order they were first linked anywhere."""
        grouped: dict[str, list[str]] = {}
        for digest, held in self._by_blob.items():
            for name in (held,) if type(held) is str else held:
                grouped.setdefault(name, []).append(digest)
        return grouped

    def __len__(self) -> int:
        """How many blobs are linked somewhere."""
        return len(self._by_blob)
