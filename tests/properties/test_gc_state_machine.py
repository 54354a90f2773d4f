"""Garbage collection under random interleavings of pushes, deletes, tokens, runs and time.

Pushes and deletes go through the store API the way the registry host and the DO API use it:
a push needs a valid write token, which the test asks for first when the registry is not
read-only; a delete asks ``check_content_change`` first. After every step the invariants
below are checked against the test's own bookkeeping (what it stored, which tokens it was
given, what was protected a step earlier), never against the collector's internals.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from docrsim.core import graph
from docrsim.core.clock import ManualClock
from docrsim.core.content import OCI_INDEX, OCI_MANIFEST
from docrsim.core.errors import Conflict, NotFound
from docrsim.core.gc import FAULT_PHASES, GC_TYPES, Rates, RegistryReadOnly
from docrsim.core.gc_run import ACTIVE_STATUSES
from docrsim.core.state import Simulation
from docrsim.scenarios import apply

START = datetime(2026, 1, 1, tzinfo=timezone.utc)
REGISTRIES = ("acme", "beta")
REPOS = ("app", "lib")
TAGS = ("latest", "v1", "v2")
LAYERS = [f"layer {i}".encode() for i in range(5)]
# Quick enough that runs finish within a few large steps, slow enough that small steps land
# inside phases.
RATES = Rates(scan_manifests_per_second=2, delete_objects_per_second=2, delete_bytes_per_second=1000)
STARTED_SCANNING = ("scanning manifests", "deleting unreferenced blobs", "succeeded")
CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def _descriptor(media_type: str, digest: str, size: int) -> dict:
    return {"mediaType": media_type, "digest": digest, "size": size}


def protected_links(content) -> set[tuple[str, str]]:
    """(repository, digest) links reachable from a tag: the test's own walk of the graph."""
    keep = set()
    for name, repo in content.repositories.items():
        referrers: dict[str, set[str]] = {}
        for digest in repo.manifests:
            subject = content.manifests[digest].parsed.subject
            if subject is not None:
                referrers.setdefault(subject.digest, set()).add(digest)
        todo = [t.manifest_digest for t in repo.tags.values()]
        while todo:
            digest = todo.pop()
            if (name, digest) in keep or digest not in repo.manifests:
                continue
            keep.add((name, digest))
            todo.extend(c.digest for c in content.manifests[digest].parsed.children)
            todo.extend(referrers.get(digest, ()))
    return keep


class GarbageCollectionMachine(RuleBasedStateMachine):
    @initialize()
    def setup(self):
        self.sim = Simulation(clock=ManualClock(START), gc_rates=RATES)
        apply(self.sim, {"account": {"tier": "professional"},
                         "registries": [{"name": name} for name in REGISTRIES]}, replace=True)
        self.gc = self.sim.gc
        self.tokens = {name: [] for name in REGISTRIES}  # (issued_at, expires_at) the test was given
        self.stored_bytes = {name: 0 for name in REGISTRIES}  # bytes the test added to each store
        self.stored_count = {name: 0 for name in REGISTRIES}
        self.counters: dict[str, tuple[int, int]] = {}  # uuid -> last (blobs_deleted, freed_bytes)
        self.terminal: dict[str, object] = {}  # uuid -> the run as first seen finished
        self.drain: dict[str, datetime] = {}  # uuid -> when its write tokens have all expired
        self.protected: set[tuple[str, str, str]] = set()
        self.unlinked_by_api: set[tuple[str, str, str]] = set()
        self.labels = 0
        self.faults: set[str] = set()  # registries whose next run is to fail

    # -- helpers ------------------------------------------------------------------------------
    def content(self, registry):
        return self.sim.account.registry(registry).content

    def may_push(self, registry, now) -> bool:
        """A push needs a valid write token; ask for one when the registry is writable."""
        if any(issued <= now < expires for issued, expires in self.tokens[registry]):
            return True
        if self.gc.is_read_only(registry):
            return False
        token = self.gc.issue_write_token(registry, now)
        self.tokens[registry].append((token.issued_at, token.expires_at))
        return True

    def put_blob(self, registry, data: bytes) -> str:
        blobs = self.content(registry).blobs
        count_before = len(blobs)
        digest = blobs.put(data)
        if len(blobs) > count_before:
            self.stored_bytes[registry] += len(data)
            self.stored_count[registry] += 1
        return digest

    def put_manifest(self, registry, repo, document, tag) -> str:
        raw = json.dumps(document).encode()
        before = len(self.content(registry).blobs)
        digest = self.content(registry).put_manifest(repo, raw, self.sim.now(), tag=tag)
        if len(self.content(registry).blobs) > before:
            self.stored_bytes[registry] += len(raw)
            self.stored_count[registry] += 1
        return digest

    def image_document(self, registry, layers, label, subject=None) -> dict:
        config = json.dumps({"label": label}).encode()
        config_digest = self.put_blob(registry, config)
        document = {
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": _descriptor(CONFIG, config_digest, len(config)),
            "layers": [_descriptor(LAYER, self.put_blob(registry, data), len(data)) for data in layers],
        }
        if subject is not None:
            document["subject"] = subject
        return document

    def linked(self, registry, repo) -> list[str]:
        repository = self.content(registry).repositories.get(repo)
        return sorted(repository.manifests) if repository else []

    def descriptor_of(self, registry, digest) -> dict:
        manifest = self.content(registry).manifests[digest]
        return _descriptor(manifest.media_type, digest, manifest.size)

    # -- pushes -------------------------------------------------------------------------------
    @rule(registry=st.sampled_from(REGISTRIES), repo=st.sampled_from(REPOS),
          layers=st.lists(st.sampled_from(LAYERS), min_size=1, max_size=3, unique=True),
          label=st.integers(0, 3), tag=st.none() | st.sampled_from(TAGS))
    def push_image(self, registry, repo, layers, label, tag):
        with self.sim.transaction() as now:
            if self.may_push(registry, now):
                self.put_manifest(registry, repo, self.image_document(registry, layers, label), tag)

    @rule(registry=st.sampled_from(REGISTRIES), repo=st.sampled_from(REPOS), data=st.data(),
          tag=st.none() | st.sampled_from(TAGS))
    def push_index(self, registry, repo, data, tag):
        with self.sim.transaction() as now:
            images = [d for d in self.linked(registry, repo) if not self.content(registry).manifests[d].parsed.is_index]
            if not images:
                return  # nothing to act on yet
            if not self.may_push(registry, now):
                return
            children = data.draw(st.lists(st.sampled_from(images), min_size=1, max_size=3, unique=True))
            document = {"schemaVersion": 2, "mediaType": OCI_INDEX,
                        "manifests": [self.descriptor_of(registry, c) for c in children]}
            self.put_manifest(registry, repo, document, tag)

    @rule(registry=st.sampled_from(REGISTRIES), repo=st.sampled_from(REPOS), data=st.data())
    def push_referrer(self, registry, repo, data):
        with self.sim.transaction() as now:
            linked = self.linked(registry, repo)
            if not linked:
                return  # nothing to act on yet
            if not self.may_push(registry, now):
                return
            subject = data.draw(st.sampled_from(linked))
            self.labels += 1
            document = self.image_document(registry, [f"signature {self.labels}".encode()], f"sig {self.labels}",
                                           subject=self.descriptor_of(registry, subject))
            self.put_manifest(registry, repo, document, None)

    @rule(registry=st.sampled_from(REGISTRIES), repo=st.sampled_from(REPOS), tag=st.sampled_from(TAGS),
          data=st.data())
    def retag(self, registry, repo, tag, data):
        with self.sim.transaction() as now:
            linked = self.linked(registry, repo)
            if not linked:
                return  # nothing to act on yet
            if not self.may_push(registry, now):
                return
            self.content(registry).tag_manifest(repo, tag, data.draw(st.sampled_from(linked)), now)

    @rule(registry=st.sampled_from(REGISTRIES), source=st.sampled_from(REPOS), data=st.data(),
          tag=st.none() | st.sampled_from(TAGS))
    def copy_to_the_other_repository(self, registry, source, data, tag):
        """Push an image already in one repository to the other: one manifest, two links."""
        with self.sim.transaction() as now:
            content = self.content(registry)
            images = [d for d in self.linked(registry, source) if not content.manifests[d].parsed.is_index]
            if not images:
                return  # nothing to act on yet
            if not self.may_push(registry, now):
                return
            digest = data.draw(st.sampled_from(images))
            target = REPOS[1 - REPOS.index(source)]
            content.put_manifest(target, content.blobs.data(digest), now, tag=tag)

    @rule(registry=st.sampled_from(REGISTRIES), size=st.integers(1, 64), label=st.integers(0, 1000))
    def upload_dangling_blob(self, registry, size, label):
        with self.sim.transaction() as now:
            if self.may_push(registry, now):
                self.put_blob(registry, f"dangling {label}".encode().ljust(size, b"."))

    # -- API deletes --------------------------------------------------------------------------
    def api_delete(self, registry, action) -> None:
        try:
            self.gc.check_content_change(registry)
        except RegistryReadOnly:
            assert self.gc.is_read_only(registry)
            return
        assert not self.gc.is_read_only(registry)
        action()

    @rule(registry=st.sampled_from(REGISTRIES), repo=st.sampled_from(REPOS), tag=st.sampled_from(TAGS))
    def delete_tag(self, registry, repo, tag):
        with self.sim.transaction():
            repository = self.content(registry).repositories.get(repo)
            if not (repository is not None and tag in repository.tags):
                return  # nothing to act on yet
            self.api_delete(registry, lambda: self.content(registry).delete_tag(repo, tag))

    @rule(registry=st.sampled_from(REGISTRIES), repo=st.sampled_from(REPOS), data=st.data())
    def delete_manifest(self, registry, repo, data):
        with self.sim.transaction():
            linked = self.linked(registry, repo)
            if not linked:
                return  # nothing to act on yet
            digest = data.draw(st.sampled_from(linked))

            def unlink():
                self.content(registry).delete_manifest(repo, digest)
                self.unlinked_by_api.add((registry, repo, digest))

            self.api_delete(registry, unlink)

    # -- tokens and runs ----------------------------------------------------------------------
    @rule(registry=st.sampled_from(REGISTRIES))
    def issue_write_token(self, registry):
        with self.sim.transaction() as now:
            read_only = self.gc.is_read_only(registry)
            try:
                token = self.gc.issue_write_token(registry, now)
            except RegistryReadOnly:
                assert read_only
                return
            assert not read_only, "a write token was issued while the registry is read-only"
            self.tokens[registry].append((token.issued_at, token.expires_at))

    @rule(registry=st.sampled_from(REGISTRIES), gc_type=st.sampled_from(GC_TYPES))
    def start_gc(self, registry, gc_type):
        with self.sim.transaction() as now:
            active = self.gc.is_read_only(registry)
            try:
                run = self.gc.start(registry, gc_type, now)
            except Conflict:
                assert active
                return
            assert not active and run.status == "requested"
            self.faults.discard(registry)
            expiries = [exp for issued, exp in self.tokens[registry] if issued <= now]
            self.drain[run.uuid] = max(expiries, default=now)

    @rule(registry=st.sampled_from(REGISTRIES))
    def cancel(self, registry):
        with self.sim.transaction() as now:
            if not self.gc.is_read_only(registry):
                try:
                    self.gc.cancel(registry, "00000000-0000-4000-8000-000000000000", now)
                except NotFound:
                    return
                raise AssertionError("cancelling without an active run must be NotFound")
            run = self.gc.cancel(registry, self.gc.active(registry).uuid, now)
            assert run.status == "cancelling"

    @rule(registry=st.sampled_from(REGISTRIES), phase=st.sampled_from(FAULT_PHASES))
    def fail_next(self, registry, phase):
        self.gc.fail_next(registry, phase)
        self.faults.add(registry)

    @rule(seconds=st.floats(0.1, 5) | st.floats(60, 1200))
    def advance(self, seconds):
        self.sim.clock.advance(seconds)

    @rule(registry=st.sampled_from(REGISTRIES))
    def full_collection(self, registry):
        """Start a run of the fullest type and let it finish with nothing else happening."""
        with self.sim.transaction() as now:
            if self.gc.is_read_only(registry):
                return  # a run is already active
            faulty = registry in self.faults
            self.faults.discard(registry)
            run = self.gc.start(registry, GC_TYPES[2], now)
            expiries = [exp for issued, exp in self.tokens[registry] if issued <= now]
            self.drain[run.uuid] = max(expiries, default=now)
        while True:
            with self.sim.transaction():
                stop = self.gc.next_checkpoint()
                if stop is None:
                    break
                self.sim.clock.set(stop)
            self.check_everything()
        with self.sim.transaction():
            done = self.gc.runs(registry)[0]
            assert done.uuid == run.uuid
            assert done.status == ("failed" if faulty else "succeeded")
            if not faulty:
                content = self.content(registry)
                assert graph.unreferenced_blobs(content) == []
                assert graph.untagged_manifests(content) == []

    # -- invariants ---------------------------------------------------------------------------
    @invariant()
    def check_everything(self):
        with self.sim.transaction() as now:
            for registry in REGISTRIES:
                content = self.content(registry)
                self._nothing_live_lost(content)
                self._protected_links_kept(registry, content)
                self._counters_match_the_store(registry, content)
                self._runs_behave(registry, now)
            self.unlinked_by_api.clear()

    def _nothing_live_lost(self, content):
        for repo in content.repositories.values():
            for digest in repo.manifests:
                assert digest in content.blobs, "a linked manifest lost its bytes"
                for ref in content.manifests[digest].parsed.blob_references:
                    assert ref.digest in content.blobs, "a blob a live manifest needs was deleted"

    def _protected_links_kept(self, registry, content):
        for reg, repo, digest in self.protected:
            if reg != registry or (reg, repo, digest) in self.unlinked_by_api:
                continue
            assert digest in content.repositories[repo].manifests, "a protected manifest was deleted"
        self.protected = {(r, repo, d) for r, repo, d in self.protected if r != registry}
        self.protected |= {(registry, repo, d) for repo, d in protected_links(content)}

    def _counters_match_the_store(self, registry, content):
        runs = self.gc.runs(registry)
        removed_bytes = self.stored_bytes[registry] - content.blobs.total_bytes
        removed_count = self.stored_count[registry] - len(content.blobs)
        assert sum(r.freed_bytes for r in runs) == removed_bytes
        assert sum(r.blobs_deleted for r in runs) == removed_count
        for run in runs:
            before = self.counters.get(run.uuid, (0, 0))
            assert run.blobs_deleted >= before[0] and run.freed_bytes >= before[1], "a counter went down"
            self.counters[run.uuid] = (run.blobs_deleted, run.freed_bytes)

    def _runs_behave(self, registry, now):
        runs = self.gc.runs(registry)
        active = [r for r in runs if r.status in ACTIVE_STATUSES]
        assert len(active) <= 1
        assert self.gc.is_read_only(registry) == bool(active)
        for run in runs:
            if run.uuid in self.terminal:
                assert run == self.terminal[run.uuid], "a finished run changed"
            elif run.status not in ACTIVE_STATUSES:
                self.terminal[run.uuid] = run
            drained = self.drain[run.uuid]
            if now < drained:
                assert run.status not in STARTED_SCANNING, "scanning began while a write token was valid"
            if run.status == "scanning manifests":
                assert run.updated_at >= drained


TestGarbageCollection = GarbageCollectionMachine.TestCase
# Sized to stay well under a minute in the ci profile (see tests/conftest.py).
TestGarbageCollection.settings = settings(
    max_examples=300, stateful_step_count=50, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
