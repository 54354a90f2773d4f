"""A reference model of one docrsim registry, written from DOCR's documented behaviour.

It knows nothing of docrsim's code: it keeps the blob store as an insertion-ordered dict (the
order a collection deletes unreferenced blobs in), repositories as links and tags, the push
tokens the test was granted, and each garbage-collection run as a timeline in integer
microseconds since the start of the world.

The rules it applies:

- a run is ``requested`` for one second, then waits until every push token issued at or before
  its start has expired, then scans every (repository, manifest) link at SCAN_RATE, then
  deletes its plan one object after another (DELETE_RATE objects and BYTE_RATE bytes per
  second, cumulatively), then has ``succeeded``;
- the plan: untagged links first (repositories by name, digests in order; a manifest's bytes go
  with its last untagged link unless something kept needs them), then every stored blob no kept
  manifest needs, in store order. "Kept" is every link for ``unreferenced blobs only``, else
  what a tag reaches (tagged, children of a reached index, referrers of a reached manifest);
- a cancel stops a deleting run when the object in progress is gone, any other run a second
  later, keeping what was deleted;
- the reported storage is refreshed by every push and by the end of a run;
- blob links: a blob is served through a repository only when it is stored and linked there
  (uploaded there, mounted there from a repository linking it, or referenced by a manifest
  pushed there); a manifest push needs its config and layers linked in its repository;
  deleting a repository drops its links, deleting a manifest drops none, and a collection
  deleting a blob drops every link to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.stateful.support import (
    ACTIVE, BLOBS_ONLY, CANCELLED, CANCELLING, DELETING, REQUESTED, SCANNING, SUCCEEDED, TOKEN_TTL_US,
    UNTAGGED_ONLY, US, WAITING, Doc, deletion_offset_us, scan_us,
)


@dataclass
class Repo:
    created_us: int
    links: dict[str, int] = field(default_factory=dict)  # digest -> when last pushed here
    tags: dict[str, tuple[str, int]] = field(default_factory=dict)  # tag -> (digest, when)


@dataclass
class Token:
    jwt: str
    push: bool
    issued_us: int
    jwt_exp_us: int  # the JWT carries whole seconds


@dataclass
class Step:
    kind: str  # "unlink" or "blob"
    repo: str | None
    digest: str
    size: int  # bytes it removes from the store
    frees: bool


class Run:
    def __init__(self, uuid: str, gc_type: str, now: int, drained_us: int):
        self.uuid, self.type = uuid, gc_type
        self.created = self.updated = now
        self.status = REQUESTED
        self.blobs_deleted = self.freed_bytes = 0
        self.waiting_at = now + US
        self.scanning_at = max(self.waiting_at, drained_us)
        self.deleting_at: int | None = None
        self.ends_at: int | None = None
        self.stop_at: int | None = None
        self.steps: list[Step] = []
        self.prefix: list[int] = [0]  # bytes of the first k steps
        self.done = 0
        self.deleting = False

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    def summary(self) -> tuple:
        return (self.uuid, self.type, self.status, self.created, self.updated, self.blobs_deleted, self.freed_bytes)

    def _step_end(self, k: int) -> int:
        """When the first ``k`` steps are done."""
        return self.deleting_at + deletion_offset_us(k, self.prefix[k])

    def _delete_until(self, t: int, reg: "Registry") -> None:
        while self.done < len(self.steps) and self._step_end(self.done + 1) <= t:
            step = self.steps[self.done]
            if step.kind == "unlink":
                reg.repos[step.repo].links.pop(step.digest, None)
            if step.frees:
                data = reg.blobs.pop(step.digest)
                for linked in reg.blob_links.values():
                    linked.discard(step.digest)
                assert len(data) == step.size
                self.blobs_deleted += 1
                self.freed_bytes += step.size
            self.done += 1

    def advance(self, now: int, reg: "Registry") -> None:
        while self.active:
            if self.status == REQUESTED and now >= self.waiting_at:
                self.status, self.updated = WAITING, self.waiting_at
            elif self.status == WAITING and now >= self.scanning_at:
                self.steps = reg.plan(self.type)
                for step in self.steps:
                    self.prefix.append(self.prefix[-1] + step.size)
                self.deleting_at = self.scanning_at + scan_us(reg.link_count())
                self.status, self.updated = SCANNING, self.scanning_at
            elif self.status == SCANNING and now >= self.deleting_at:
                self.ends_at = self._step_end(len(self.steps))
                self.status, self.updated, self.deleting = DELETING, self.deleting_at, True
            elif self.status == DELETING:
                self._delete_until(min(now, self.ends_at), reg)
                if now < self.ends_at:
                    return
                self._end(SUCCEEDED, self.ends_at, reg)
            elif self.status == CANCELLING:
                if self.deleting:
                    self._delete_until(min(now, self.stop_at), reg)
                if now < self.stop_at:
                    return
                self._end(CANCELLED, self.stop_at, reg)
            else:
                return

    def _end(self, status: str, at: int, reg: "Registry") -> None:
        self.status, self.updated = status, at
        reg.usage = reg.total_bytes()

    def cancel(self, now: int) -> None:
        if self.status == CANCELLING:
            return
        if self.status == DELETING:
            self.stop_at = self._step_end(self.done + 1)
        else:
            self.stop_at = now + US
        self.status, self.updated = CANCELLING, now


class Registry:
    def __init__(self, name: str):
        self.name = name
        self.blobs: dict[str, bytes] = {}  # in the order the store received them
        self.repos: dict[str, Repo] = {}
        self.docs: dict[str, Doc] = {}  # every manifest pushed here, linked or not
        self.usage = 0
        self.runs: list[Run] = []  # oldest first
        self.ledger: list[tuple[int, int]] = []  # (issued, expires) of push tokens granted
        self.added_bytes = 0  # bytes and objects the test ever added to the store
        self.added_count = 0
        self.write_token: Token | None = None
        self.read_token: Token | None = None
        self.known_blobs: set[str] = set()  # every blob digest ever stored, to probe later
        self.blob_links: dict[str, set[str]] = {}  # repository -> blobs linked there

    # -- reading ------------------------------------------------------------------------------
    def active_run(self) -> Run | None:
        return next((r for r in self.runs if r.active), None)

    def total_bytes(self) -> int:
        return sum(map(len, self.blobs.values()))

    def has_blob(self, repo: str, digest: str) -> bool:
        return digest in self.blobs and digest in self.blob_links.get(repo, ())

    def first_unlinked(self, repo: str, doc: Doc) -> str | None:
        """What a push of ``doc`` into ``repo`` lacks first: a config or layer not linked there,
        else a child not linked there; None when it may land."""
        for ref in doc.refs:
            if not self.has_blob(repo, ref):
                return ref
        manifests = self.repos[repo].links if repo in self.repos else {}
        return next((c for c in doc.children if c not in manifests), None)

    def link_count(self) -> int:
        return sum(len(r.links) for r in self.repos.values())

    def protected(self, repo_name: str) -> set[str]:
        """Digests of ``repo_name`` a tag reaches: tagged, children, referrers, transitively."""
        repo = self.repos[repo_name]
        referrers: dict[str, list[str]] = {}
        for digest in repo.links:
            subject = self.docs[digest].subject
            if subject is not None:
                referrers.setdefault(subject, []).append(digest)
        reached: set[str] = set()
        todo = [digest for digest, _ in repo.tags.values()]
        while todo:
            digest = todo.pop()
            if digest in reached or digest not in repo.links:
                continue
            reached.add(digest)
            todo.extend(self.docs[digest].children)
            todo.extend(referrers.get(digest, ()))
        return reached

    def live_objects(self) -> set[str]:
        """Every digest (manifest or blob) some tag reaches, across repositories."""
        live: set[str] = set()
        for name in self.repos:
            for digest in self.protected(name):
                live.add(digest)
                live.update(self.docs[digest].refs)
        return live

    def plan(self, gc_type: str) -> list[Step]:
        removes_manifests = gc_type != BLOBS_ONLY
        removes_blobs = gc_type != UNTAGGED_ONLY
        untagged: list[tuple[str, str]] = []
        kept: set[str] = set()
        for name in sorted(self.repos):
            links = self.repos[name].links
            keep = self.protected(name) if removes_manifests else set(links)
            for digest in sorted(links):
                if digest in keep:
                    kept.add(digest)
                else:
                    untagged.append((name, digest))
        needed: set[str] = set()
        for digest in kept:
            needed.add(digest)
            needed.update(self.docs[digest].refs)
        last = {digest: i for i, (_, digest) in enumerate(untagged)}
        steps, freed = [], set()
        for i, (name, digest) in enumerate(untagged):
            frees = last[digest] == i and digest not in needed and digest in self.blobs
            if frees:
                freed.add(digest)
            steps.append(Step("unlink", name, digest, len(self.blobs[digest]) if frees else 0, frees))
        if removes_blobs:
            steps.extend(Step("blob", None, digest, len(data), True)
                         for digest, data in self.blobs.items() if digest not in needed and digest not in freed)
        return steps

    def writable_token(self, now: int) -> tuple[bool, str | None]:
        """(may push, why not: None | "missing" | "invalid_token" | "insufficient_scope")."""
        token = self.write_token
        if token is None:
            return False, "missing"
        if now >= token.jwt_exp_us:
            return False, "invalid_token"
        if not token.push:
            return False, "insufficient_scope"
        return True, None

    def outstanding(self, now: int) -> list[tuple[int, int]]:
        return sorted(t for t in self.ledger if t[1] > now)

    # -- changing -----------------------------------------------------------------------------
    def settle(self, now: int) -> None:
        for run in self.runs:
            if run.active:
                run.advance(now, self)

    def store_blob(self, data: bytes, digest: str, repo: str | None) -> None:
        """Store bytes once; an uploaded blob (``repo`` given) is linked where it was uploaded."""
        if digest not in self.blobs:
            self.blobs[digest] = data
            self.added_bytes += len(data)
            self.added_count += 1
            self.known_blobs.add(digest)
        if repo is not None:
            self.blob_links.setdefault(repo, set()).add(digest)
        self.usage = self.total_bytes()

    def mount(self, repo: str, digest: str, source: str) -> bool:
        if not self.has_blob(source, digest):
            return False
        self.blob_links.setdefault(repo, set()).add(digest)
        return True

    def delete_repository(self, repo: str) -> None:
        del self.repos[repo]
        self.blob_links.pop(repo, None)

    def put_manifest(self, repo: str, doc: Doc, tag: str | None, now: int) -> None:
        self.store_blob(doc.raw, doc.digest, None)  # a manifest's bytes are linked as a manifest
        self.blob_links.setdefault(repo, set()).update(doc.refs)
        self.docs.setdefault(doc.digest, doc)
        repository = self.repos.setdefault(repo, Repo(now))
        repository.links[doc.digest] = now
        if tag is not None:
            repository.tags[tag] = (doc.digest, now)

    def grant_push(self, now: int) -> None:
        self.ledger.append((now, now + TOKEN_TTL_US))

    def start(self, uuid: str, gc_type: str, now: int) -> Run:
        drained = max((exp for issued, exp in self.ledger if issued <= now), default=now)
        run = Run(uuid, gc_type, now, drained)
        self.runs.append(run)
        return run
