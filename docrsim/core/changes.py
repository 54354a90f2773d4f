"""What changed in the registries' content, kept for whoever makes it durable.

A state folder (docrsim.core.persistence.folder) writes every change to disk before its
response goes out. The small part of the world (clock, ids, account, credentials, GC runs,
faults) it simply saves again when it differs; the content of registries, possibly millions
of blobs, it cannot, so the store reports each change to that content as it makes it: one
tuple per change, in the order made, naming the registry first.

The changes are the store's own primitive edits, so that replaying them needs no rule of the
store (which tags a manifest delete takes with it, which links a repository delete drops):

    (registry, "registry")                           an empty registry appears
    (registry, "unregistry")                         the registry and all its content go
    (registry, "blob", digest, size, bytes | None, uncompressed_size | None)
                                                     a blob is stored, or its entry changes
    (registry, "unblob", digest)                     a blob and every link to it go
    (registry, "link", repository, digest)           a blob is linked in a repository
    (registry, "drop_links", repository)             every link of a repository goes
    (registry, "repo", repository, created_at)       a repository appears
    (registry, "unrepo", repository)                 a repository goes
    (registry, "manifest", repository, digest, media_type, updated_at)
                                                     a repository links a manifest
    (registry, "unmanifest", repository, digest)     ... or stops linking it
    (registry, "tag", repository, tag, digest, updated_at)
    (registry, "untag", repository, tag)

Each registry's content counts its edits whether or not anyone records them (``Edits``): the
count tells anyone who keeps something derived from the content (the API's memo of listing
pages) whether it has changed since. Nothing is recorded while no one listens (the default).
"""

from __future__ import annotations


class Edits:
    """One registry content's edits: counted always, passed on to ``recorder`` (a
    RegistryFeed) while one is attached."""

    __slots__ = ("count", "recorder")

    def __init__(self):
        self.count = 0
        self.recorder: RegistryFeed | None = None

    def add(self, *change) -> None:
        self.count += 1
        if self.recorder is not None:
            self.recorder.add(*change)

    def touch(self) -> None:
        """Count an edit that needs no record: one replay derives from the recorded ones."""
        self.count += 1


class Changes:
    """The changes made since they were last taken."""

    def __init__(self):
        self._pending: list[tuple] = []

    def feed(self, registry: str) -> "RegistryFeed":
        """Where the content of ``registry`` reports its changes."""
        return RegistryFeed(self._pending, registry)

    def __len__(self) -> int:
        return len(self._pending)

    def take(self) -> list[tuple]:
        """The changes so far, oldest first; they are no longer pending."""
        taken, self._pending[:] = list(self._pending), []
        return taken

    def give_back(self, taken: list[tuple]) -> None:
        """Put changes taken but not saved back in front of any made since."""
        self._pending[:0] = taken


class RegistryFeed:
    __slots__ = ("_pending", "registry")

    def __init__(self, pending: list, registry: str):
        self._pending, self.registry = pending, registry

    def add(self, *change) -> None:
        self._pending.append((self.registry, *change))
