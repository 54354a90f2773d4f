"""What a garbage collection deletes: the scan of a registry's manifests and its deletion plan.

The scan walks every (repository, manifest) link in a fixed order, repositories by name and
manifests by digest within each. It can be advanced a few links at a time, so a run's
scanning phase spreads its marking over the settles that fall inside it instead of doing it
all in one call. The rules themselves (what is referenced, what is reachable from a tag) are
those of ``docrsim.core.graph``; this module applies them per GC type and orders the result.

A plan lists steps in the order a run performs them: first the untagged manifests to unlink
(in scan order), then the blobs to remove (in the order the store received them, which the
same inputs always reproduce). A step's ``size`` is the number of bytes it removes from the
blob store; unlinking a manifest that another repository still links removes none.
"""

from __future__ import annotations

from functools import partial
from itertools import chain, filterfalse
from operator import attrgetter, is_not

from docrsim.core.graph import protected_manifests
from docrsim.core.store import BlobStore, RegistryContent

UNREFERENCED_BLOBS = "unreferenced blobs only"
UNTAGGED_MANIFESTS = "untagged manifests only"
UNTAGGED_AND_BLOBS = "untagged manifests and unreferenced blobs"
GC_TYPES = (UNREFERENCED_BLOBS, UNTAGGED_MANIFESTS, UNTAGGED_AND_BLOBS)

_DIGEST = attrgetter("digest")
_IS_SIZE = partial(is_not, None)


def _size_table(blobs: BlobStore) -> dict[str, int]:
    """The store's digest-to-size table, read directly: a million-blob registry marks a million
    blobs, and one dict look-up each (in C, through map) is what keeps that under a second."""
    return blobs._sizes


_REMOVES_MANIFESTS = frozenset({UNTAGGED_MANIFESTS, UNTAGGED_AND_BLOBS})
_REMOVES_BLOBS = frozenset({UNREFERENCED_BLOBS, UNTAGGED_AND_BLOBS})


class DeletionPlan:
    """The steps of a run: untagged manifest links first, then unreferenced blobs.

    How many steps there are and what they weigh is known when the plan is made (the scan
    kept count of what it marked), so the deletion phase's end is too. Which blobs they are is
    found lazily, a chunk of the store at a time, as the run reaches them: no single call has
    to walk 100k blobs. A run deletes in plan order, so a blob is still stored when found.
    """

    SWEEP_CHUNK = 4096

    def __init__(self, blobs: BlobStore, manifests: list[tuple[str, str, bool, int]], *,
                 sweep: list[str], skip: tuple[set[str], set[str]], blob_count: int, blob_bytes: int):
        self.manifests = manifests  # (repository, digest, frees_bytes, size) per link to remove
        self.blob_count = blob_count
        self.total_bytes = sum(m[3] for m in manifests) + blob_bytes
        self._blobs = blobs
        self._sweep = sweep
        self._marked, self._freed = skip
        self._position = 0
        self._found: list[str] = []
        self._found_sizes: list[int] = []

    @classmethod
    def with_known_blobs(cls, blobs: BlobStore, manifests: list[tuple[str, str, bool, int]],
                         blob_digests: list[str], blob_sizes: list[int], total_bytes: int) -> "DeletionPlan":
        """A plan whose blob steps are all known already (a saved plan), so it never sweeps."""
        plan = cls(blobs, manifests, sweep=[], skip=(set(), set()), blob_count=len(blob_digests),
                   blob_bytes=total_bytes - sum(m[3] for m in manifests))
        plan._found[:] = blob_digests
        plan._found_sizes[:] = blob_sizes
        return plan

    def __len__(self) -> int:
        return len(self.manifests) + self.blob_count

    def size(self, index: int) -> int | None:
        """Bytes step ``index`` removes from the store; None past the last step."""
        if index < len(self.manifests):
            return self.manifests[index][3]
        if index >= len(self):
            return None
        index -= len(self.manifests)
        self._find(index)
        return self._found_sizes[index]

    def blob(self, index: int) -> str:
        """Digest of blob step ``index`` (counted from the first blob step)."""
        self._find(index)
        return self._found[index]

    def _find(self, index: int) -> None:
        found, marked, freed = self._found, self._marked, self._freed
        while len(found) <= index:
            chunk = self._sweep[self._position:self._position + self.SWEEP_CHUNK]
            assert chunk, "the sweep ran out before the counted garbage was found"
            self._position += len(chunk)
            garbage = list(filterfalse(marked.__contains__, chunk))  # the C-speed filter first
            if freed:
                garbage = [d for d in garbage if d not in freed]
            found.extend(garbage)
            self._found_sizes.extend(map(self._blobs.size, garbage))

    def summary(self) -> dict:
        """``{"count", "bytes", "digests"}``: the objects whose bytes the plan removes."""
        if self.blob_count:
            self._find(self.blob_count - 1)
        freed = [m[1] for m in self.manifests if m[2]] + self._found
        return {"count": len(freed), "bytes": self.total_bytes, "digests": freed}


class Scan:
    """The marking pass of one GC type over one registry's content, resumable link by link."""

    def __init__(self, content: RegistryContent, gc_type: str):
        self.content = content
        self.gc_type = gc_type
        self._repositories = sorted(content.repositories)
        # Fixed when the scan starts: it sets how long the scanning phase lasts.
        self.total = sum(len(content.repositories[name].manifests) for name in self._repositories)
        self.done = 0
        self._repo_index = -1
        self._digests: list[str] = []
        self._position = 0
        self._keep: set[str] | None = None
        self.marked: set[str] = set()  # blobs a kept manifest needs, its own bytes included
        self.kept: set[str] = set()  # manifests that stay linked somewhere
        # The stored blobs among the marked ones, so the garbage is counted without a sweep.
        self.marked_stored = 0
        self.marked_bytes = 0
        self.untagged: list[tuple[str, str]] = []
        self._plan: DeletionPlan | None = None

    # Where a resumable scan stands, beyond its public counters: saved and restored by
    # docrsim.core.persistence.gc_state so that a restored run scans on exactly as it would have.
    def position(self) -> dict:
        return {"repositories": list(self._repositories), "repository_index": self._repo_index,
                "digests": list(self._digests), "position": self._position,
                "keep": None if self._keep is None else set(self._keep), "plan": self._plan}

    @classmethod
    def resume(cls, content: RegistryContent, gc_type: str, *, total: int, done: int, marked: set[str],
               kept: set[str], marked_stored: int, marked_bytes: int, untagged: list[tuple[str, str]],
               repositories: list[str], repository_index: int, digests: list[str], position: int,
               keep: set[str] | None, plan: "DeletionPlan | None") -> "Scan":
        """A scan standing where a saved one stood (see ``position``)."""
        scan = object.__new__(cls)
        scan.content, scan.gc_type = content, gc_type
        scan.total, scan.done = total, done
        scan.marked, scan.kept, scan.untagged = marked, kept, untagged
        scan.marked_stored, scan.marked_bytes = marked_stored, marked_bytes
        scan._repositories, scan._repo_index = repositories, repository_index
        scan._digests, scan._position, scan._keep, scan._plan = digests, position, keep, plan
        return scan

    def copy(self) -> "Scan":
        """An independent copy, to look ahead without touching a run's own scan."""
        twin = object.__new__(Scan)
        twin.__dict__.update(self.__dict__)
        twin.marked, twin.kept, twin.untagged = set(self.marked), set(self.kept), list(self.untagged)
        return twin

    def advance(self, target: int) -> None:
        """Scan links until ``target`` of them (at most all) have been looked at."""
        target = min(target, self.total)
        content = self.content
        manifests, sizes_get = content.manifests, _size_table(content.blobs).get
        marked, kept, untagged = self.marked, self.kept, self.untagged
        while self.done < target:
            if self._position >= len(self._digests):
                if not self._enter_next_repository():
                    self.done = self.total  # repositories deleted meanwhile: nothing left to scan
                    return
                continue
            stop = min(len(self._digests), self._position + (target - self.done))
            repo_name = self._repositories[self._repo_index]
            repo = content.repositories.get(repo_name)
            links = repo.manifests if repo is not None else {}
            keep = self._keep
            # The links of this stretch in scan order: untagged ones are noted, the newly kept
            # ones marked together (the union of their references is what each would add).
            fresh_manifests = []
            for digest in self._digests[self._position:stop]:
                if digest not in links:  # unlinked since the scan began (deletes allowed during GC)
                    continue
                if keep is not None and digest not in keep:
                    untagged.append((repo_name, digest))
                elif digest not in kept:
                    kept.add(digest)
                    fresh_manifests.append(digest)
            if fresh_manifests:
                fresh = set(fresh_manifests)
                fresh.update(map(_DIGEST, chain.from_iterable(
                    manifests[digest].parsed.blob_references for digest in fresh_manifests)))
                fresh -= marked
                marked |= fresh
                # One look-up per newly marked blob: its size if stored, None if not.
                fresh_sizes = list(filter(_IS_SIZE, map(sizes_get, fresh)))
                self.marked_stored += len(fresh_sizes)
                self.marked_bytes += sum(fresh_sizes)
            self.done += stop - self._position
            self._position = stop

    def _enter_next_repository(self) -> bool:
        self._repo_index += 1
        while self._repo_index < len(self._repositories):
            repo = self.content.repositories.get(self._repositories[self._repo_index])
            if repo is not None:
                self._digests = sorted(repo.manifests)
                self._position = 0
                # Only the untagged types need reachability; the blobs-only type keeps every link.
                self._keep = protected_manifests(self.content, repo) if self.gc_type in _REMOVES_MANIFESTS else None
                return True
            self._repo_index += 1
        return False

    def plan(self) -> DeletionPlan:
        """Finish the scan: what a run of this type removes, in order (made once)."""
        if self._plan is None:
            self.advance(self.total)
            self._plan = self._make_plan()
        return self._plan

    def _make_plan(self) -> DeletionPlan:
        blobs = self.content.blobs
        last_link = {digest: i for i, (_, digest) in enumerate(self.untagged)}
        freed: set[str] = set()
        manifests = []
        for i, (repo_name, digest) in enumerate(self.untagged):
            # The bytes go with the last link, unless a kept manifest still needs them.
            frees = last_link[digest] == i and digest not in self.marked and digest in blobs
            if frees:
                freed.add(digest)
            manifests.append((repo_name, digest, frees, blobs.size(digest) if frees else 0))
        if self.gc_type not in _REMOVES_BLOBS:
            return DeletionPlan(blobs, manifests, sweep=[], skip=(set(), set()), blob_count=0, blob_bytes=0)
        # Every stored blob neither marked nor freed with its manifest is garbage.
        freed_bytes = sum(m[3] for m in manifests)
        return DeletionPlan(
            blobs, manifests,
            sweep=list(blobs.digests()),
            skip=(self.marked, freed),
            blob_count=len(blobs) - self.marked_stored - len(freed),
            blob_bytes=blobs.total_bytes - self.marked_bytes - freed_bytes,
        )


def preview(content: RegistryContent) -> dict:
    """Per GC type, what a run started now would delete if nothing else changed."""
    return {gc_type: Scan(content, gc_type).plan().summary() for gc_type in GC_TYPES}
