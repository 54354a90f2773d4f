"""The garbage collector in-process: every status path, the write-token drain, cancel, faults,
the read-only rule and the look-ahead, driven by a ManualClock and by freezegun moving a
SystemClock.

The world is the shipped ``small-app`` scenario (registry ``acme``): five manifest links, of
which one untagged build is garbage (the untagged signature refers to a tagged image and is
kept), plus one dangling blob. Runs use slow, round rates so each phase is seconds long:
one link scanned per second, one object deleted per second (bytes add a microsecond).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from freezegun import freeze_time

from docrsim.core import digests
from docrsim.core.clock import ManualClock, SystemClock
from docrsim.core.content import OCI_MANIFEST
from docrsim.core.errors import Conflict, Invalid, NotFound
from docrsim.core.gc import DEFAULT_GC_TYPE, GC_TYPES, GcRun, Rates, RegistryReadOnly
from docrsim.core.state import Simulation
from docrsim.core.tokens import WRITE_TOKEN_TTL, WriteTokenLedger
from docrsim.scenarios import ScenarioError, apply, read_file

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
START = datetime(2026, 1, 1, tzinfo=timezone.utc)
SLOW = Rates(scan_manifests_per_second=1, delete_objects_per_second=1, delete_bytes_per_second=1e15)
BLOBS_ONLY, MANIFESTS_ONLY, BOTH = GC_TYPES
DANGLING = b"layer of an image deleted before this scenario begins"
RETAGGED_LAYER = b"web build that was re-tagged away"
LINKS = 5  # manifest links in small-app: four in web, one in tools/migrate


@dataclass
class World:
    sim: Simulation
    move: Callable[[float], object]  # moves the clock forward by some seconds
    move_to: Callable[[datetime], object]  # moves the clock to an instant

    @property
    def content(self):
        return self.sim.account.registry("acme").content

    def at(self, seconds: float) -> GcRun | None:
        """Move the clock to START + ``seconds`` and read the newest run, if any."""
        self.move((START + timedelta(seconds=seconds) - self.sim.now()).total_seconds())
        return self.run()

    def run(self) -> GcRun | None:
        with self.sim.transaction():
            runs = self.sim.gc.runs("acme")
        return runs[0] if runs else None

    def start(self, gc_type: str = BOTH, registry: str = "acme") -> GcRun:
        with self.sim.transaction() as now:
            return self.sim.gc.start(registry, gc_type, now)

    def cancel(self, uuid: str) -> GcRun:
        with self.sim.transaction() as now:
            return self.sim.gc.cancel("acme", uuid, now)

    def issue_token(self):
        with self.sim.transaction() as now:
            return self.sim.gc.issue_write_token("acme", now)

    def read_only(self) -> bool:
        with self.sim.transaction():
            return self.sim.gc.is_read_only("acme")

    def stored(self) -> set[str]:
        return set(self.content.blobs.digests())

    def build_digest(self) -> str:
        """The untagged build in web (the untagged manifest that is not a referrer)."""
        repo = self.content.repositories["web"]
        tagged = {t.manifest_digest for t in repo.tags.values()}
        return next(d for d in repo.manifests if d not in tagged and self.content.manifests[d].parsed.subject is None)


def _small_app(sim: Simulation) -> None:
    apply(sim, read_file(FIXTURES / "small-app.yaml"), replace=True)


@pytest.fixture(params=["manual", "freezegun"])
def world(request):
    """small-app at START, on a ManualClock or on a SystemClock frozen by freezegun."""
    if request.param == "manual":
        sim = Simulation(clock=ManualClock(START), gc_rates=SLOW)
        _small_app(sim)
        yield World(sim, sim.clock.advance, sim.clock.set)
    else:
        with freeze_time(START) as frozen:
            sim = Simulation(clock=SystemClock(), gc_rates=SLOW)
            _small_app(sim)
            yield World(sim, lambda seconds: frozen.tick(timedelta(seconds=seconds)), frozen.move_to)


@pytest.fixture
def manual():
    sim = Simulation(clock=ManualClock(START), gc_rates=SLOW)
    _small_app(sim)
    return World(sim, sim.clock.advance, sim.clock.set)


# -- succeeding ---------------------------------------------------------------------------------

def test_phases_follow_the_documented_timeline(world):
    started = world.start(BOTH)
    assert (started.status, started.blobs_deleted, started.freed_bytes) == ("requested", 0, 0)
    assert started.created_at == started.updated_at == START
    assert world.read_only()

    assert world.at(0.5).status == "requested"
    # No write token is outstanding, so the wait ends as it begins.
    run = world.at(1.5)
    assert run.status == "scanning manifests" and run.updated_at == START + timedelta(seconds=1)
    assert world.at(1 + LINKS - 0.5).status == "scanning manifests"
    run = world.at(1 + LINKS + 0.5)
    assert run.status == "deleting unreferenced blobs" and run.blobs_deleted == 0
    assert run.updated_at == START + timedelta(seconds=1 + LINKS)
    # One object a second: the untagged build's bytes, its layer, its config, the dangling blob.
    counts = [world.at(1 + LINKS + k + 0.5).blobs_deleted for k in range(1, 4)]
    assert counts == [1, 2, 3]
    done = world.at(1 + LINKS + 4 + 0.5)
    assert (done.status, done.blobs_deleted) == ("succeeded", 4)
    assert START + timedelta(seconds=1 + LINKS + 4) <= done.updated_at < START + timedelta(seconds=1 + LINKS + 4.001)
    assert done.created_at == START
    assert not world.read_only()


@pytest.mark.parametrize("gc_type", GC_TYPES)
def test_each_type_removes_what_it_should_and_counts_it(world, gc_type):
    build = world.build_digest()
    parsed = world.content.manifests[build].parsed
    build_bytes = world.content.blobs.size(build)
    expected = {
        BLOBS_ONLY: len(DANGLING),
        MANIFESTS_ONLY: build_bytes,
        BOTH: build_bytes + parsed.config.size + len(RETAGGED_LAYER) + len(DANGLING),
    }[gc_type]
    with world.sim.transaction():
        preview = world.sim.gc.preview("acme")[gc_type]
    before = world.stored()
    usage_before = world.sim.account.registry("acme").storage_usage_bytes

    world.start(gc_type)
    mid = world.at(1 + LINKS + 0.5)
    # Storage usage is refreshed when the run ends, not while it deletes.
    assert world.sim.account.registry("acme").storage_usage_bytes == usage_before
    done = world.at(3600)
    assert mid.status == "deleting unreferenced blobs" and done.status == "succeeded"

    removed = before - world.stored()
    assert (done.blobs_deleted, done.freed_bytes) == (len(removed), expected)
    assert (preview["count"], preview["bytes"]) == (done.blobs_deleted, done.freed_bytes)
    assert set(preview["digests"]) == removed
    registry = world.sim.account.registry("acme")
    assert registry.storage_usage_bytes == usage_before - expected
    assert registry.storage_usage_updated_at == done.updated_at

    web = world.content.repositories["web"]
    if gc_type == BLOBS_ONLY:
        assert build in web.manifests  # untagged manifests are left alone
    else:
        assert build not in web.manifests and build not in world.content.manifests
        assert len(web.manifests) == 3  # v1, v2 and the signature of v2 stay
    if gc_type == MANIFESTS_ONLY:
        assert parsed.config.digest in world.content.blobs  # its blobs are left for a later run
    # Nothing a live manifest needs went missing.
    for manifest in world.content.manifests.values():
        for ref in manifest.parsed.blob_references:
            assert ref.digest in world.content.blobs


def test_a_second_run_finds_nothing_left(manual):
    manual.start(BOTH)
    manual.at(3600)
    with manual.sim.transaction():
        assert all(p["count"] == 0 for p in manual.sim.gc.preview("acme").values())
    manual.start(BOTH)
    again = manual.at(7200)
    assert (again.status, again.blobs_deleted, again.freed_bytes) == ("succeeded", 0, 0)


def test_runs_are_listed_newest_first_and_finished_ones_never_change(manual):
    first = manual.start(BLOBS_ONLY)
    finished = manual.at(60)
    second = manual.start(MANIFESTS_ONLY)
    with manual.sim.transaction():
        runs = manual.sim.gc.runs("acme")
        assert [r.uuid for r in runs] == [second.uuid, first.uuid]
        assert manual.sim.gc.active("acme").uuid == second.uuid
    manual.at(3600)
    with manual.sim.transaction():
        assert manual.sim.gc.runs("acme")[1] == finished


# -- the write-token drain ----------------------------------------------------------------------

def test_waits_until_a_token_issued_just_before_the_start_expires(world):
    world.at(10)
    token = world.issue_token()
    assert token.expires_at == START + timedelta(seconds=10) + WRITE_TOKEN_TTL
    world.start()  # the same instant: the token counts
    assert world.at(11.5).status == "waiting for write JWTs to expire"
    expiry = (token.expires_at - START).total_seconds()
    assert world.at(expiry - 0.001).status == "waiting for write JWTs to expire"
    run = world.at(expiry)
    assert run.status == "scanning manifests" and run.updated_at == token.expires_at


def test_no_wait_when_every_token_has_expired(world):
    world.issue_token()
    world.at(WRITE_TOKEN_TTL.total_seconds() + 60)
    world.start()
    assert world.at(WRITE_TOKEN_TTL.total_seconds() + 61.5).status == "scanning manifests"


def test_no_write_token_while_read_only(world):
    world.start()
    with pytest.raises(RegistryReadOnly) as refused:
        world.issue_token()
    assert world.run().uuid in refused.value.message
    world.at(3600)
    assert world.issue_token().registry_name == "acme"


def test_a_scenario_can_declare_outstanding_write_tokens():
    sim = Simulation(clock=ManualClock(START), gc_rates=SLOW)
    document = read_file(FIXTURES / "small-app.yaml")
    document["registries"][0]["write_tokens"] = [
        {"issued_at": "2025-12-31T23:50:00Z"},  # expires at 00:05
        {"issued_at": "2025-12-31T23:59:00Z", "expires_at": "2026-01-01T00:03:00Z"},
        {"issued_at": "2025-12-31T23:00:00Z"},  # long expired
    ]
    apply(sim, document, replace=True)
    assert sim.export_state()["registries"][0]["write_tokens"] == [
        {"issued_at": "2025-12-31T23:50:00Z", "expires_at": "2026-01-01T00:05:00Z"},
        {"issued_at": "2025-12-31T23:59:00Z", "expires_at": "2026-01-01T00:03:00Z"},
    ]
    world = World(sim, sim.clock.advance, sim.clock.set)
    world.start()
    assert world.at(299).status == "waiting for write JWTs to expire"
    assert world.at(300).status == "scanning manifests"


@pytest.mark.parametrize("token, path", [
    ({"issued_at": "2026-01-01T00:00:01Z"}, "registries[0].write_tokens[0].issued_at"),
    ({"issued_at": "2025-12-31T23:59:00Z", "expires_at": "2025-12-31T23:58:00Z"}, "registries[0].write_tokens[0].expires_at"),
    ({"issued_at": "2025-12-31T23:59:00Z", "expires_at": "2026-01-01T00:15:00Z"}, "registries[0].write_tokens[0].expires_at"),
    ({"issued_at": "2025-13-01T00:00:00Z"}, "registries[0].write_tokens[0].issued_at"),
    ({"issued_at": "yesterday"}, "registries[0].write_tokens[0].issued_at"),
    ({"expires_at": "2026-01-01T00:00:00Z"}, "registries[0].write_tokens[0]"),
    ({"issued_at": "2025-12-31T23:59:00Z", "scope": "push"}, "registries[0].write_tokens[0]"),
])
def test_bad_write_tokens_are_reported_with_their_path(token, path):
    document = {"clock": {"start": "2026-01-01T00:00:00Z"},
                "registries": [{"name": "acme", "write_tokens": [token]}]}
    sim = Simulation(clock=ManualClock(START))
    with pytest.raises(ScenarioError) as failed:
        apply(sim, document, replace=True)
    assert failed.value.problems[0].startswith(path + ":")
    assert sim.account.registries == {}


# -- cancelling ---------------------------------------------------------------------------------

@pytest.mark.parametrize("when, status", [(0.5, "requested"), (1.5, "scanning manifests")])
def test_cancel_before_deleting_deletes_nothing(world, when, status):
    before = world.stored()
    run = world.start()
    assert world.at(when).status == status
    cancelling = world.cancel(run.uuid)
    assert cancelling.status == "cancelling" and cancelling.updated_at == START + timedelta(seconds=when)
    assert world.read_only()
    assert world.at(when + 0.9).status == "cancelling"
    done = world.at(when + 1)
    assert (done.status, done.blobs_deleted, done.freed_bytes) == ("cancelled", 0, 0)
    assert done.updated_at == START + timedelta(seconds=when + 1)
    assert not world.read_only() and world.stored() == before
    assert world.at(3600) == done  # terminal


def test_cancel_while_waiting_for_tokens(world):
    world.issue_token()
    run = world.start()
    assert world.at(60).status == "waiting for write JWTs to expire"
    world.cancel(run.uuid)
    done = world.at(61)
    assert (done.status, done.blobs_deleted) == ("cancelled", 0)
    assert not world.read_only()


def test_cancel_mid_deletion_finishes_the_object_in_progress(world):
    before = world.stored()
    sizes = {d: world.content.blobs.size(d) for d in before}
    run = world.start(BOTH)
    partway = world.at(1 + LINKS + 2.5)
    assert (partway.status, partway.blobs_deleted) == ("deleting unreferenced blobs", 2)
    cancelling = world.cancel(run.uuid)
    assert (cancelling.status, cancelling.blobs_deleted) == ("cancelling", 2)
    assert world.cancel(run.uuid) == cancelling  # asking again changes nothing
    assert world.at(1 + LINKS + 2.9).blobs_deleted == 2
    done = world.at(1 + LINKS + 3.5)
    assert (done.status, done.blobs_deleted) == ("cancelled", 3)
    removed = before - world.stored()
    assert len(removed) == 3 and done.freed_bytes == sum(sizes[d] for d in removed)
    # The last object of the plan, the dangling blob, was never started.
    assert digests.compute(DANGLING) in world.content.blobs
    assert world.sim.account.registry("acme").storage_usage_updated_at == done.updated_at
    assert not world.read_only()


def test_cancel_needs_the_active_run(manual):
    run = manual.start()
    with manual.sim.transaction() as now:
        with pytest.raises(NotFound):
            manual.sim.gc.cancel("acme", "00000000-0000-4000-8000-000000000000", now)
        with pytest.raises(NotFound):
            manual.sim.gc.cancel("nope", run.uuid, now)
    manual.at(3600)
    with pytest.raises(NotFound):
        manual.cancel(run.uuid)


# -- failing ------------------------------------------------------------------------------------

@pytest.mark.parametrize("phase, fails_at", [
    ("requested", 0.5),
    ("waiting for write JWTs to expire", (1 + WRITE_TOKEN_TTL.total_seconds()) / 2),
    ("scanning manifests", WRITE_TOKEN_TTL.total_seconds() + LINKS / 2),
])
def test_fail_next_before_deleting(world, phase, fails_at):
    before = world.stored()
    world.issue_token()  # so that the waiting phase lasts 15 minutes
    world.sim.gc.fail_next("acme", phase)
    world.start()
    assert world.at(fails_at - 0.001).status == phase
    failed = world.at(fails_at + 0.001)
    assert (failed.status, failed.blobs_deleted) == ("failed", 0)
    assert abs((failed.updated_at - START).total_seconds() - fails_at) < 0.001
    assert world.stored() == before and not world.read_only()
    # The fault is spent: the next run succeeds.
    world.start()
    assert world.at(7200).status == "succeeded"


def test_fail_next_while_deleting_keeps_what_was_deleted(world):
    before = world.stored()
    world.sim.gc.fail_next("acme", "deleting unreferenced blobs")
    world.start(BOTH)
    failed = world.at(3600)
    assert failed.status == "failed"
    assert 0 < failed.blobs_deleted < 4
    removed = before - world.stored()
    assert len(removed) == failed.blobs_deleted
    # Halfway through a deletion phase of four one-second objects.
    assert abs((failed.updated_at - START).total_seconds() - (1 + LINKS + 2)) < 0.001
    assert not world.read_only()


def test_fail_next_checks_its_arguments(manual):
    with pytest.raises(Invalid):
        manual.sim.gc.fail_next("acme", "succeeded")
    with pytest.raises(NotFound):
        manual.sim.gc.fail_next("nope", "requested")


# -- refusals and the read-only rule ------------------------------------------------------------

def test_start_refusals(manual):
    with pytest.raises(Invalid):
        manual.start("everything")
    with pytest.raises(NotFound):
        manual.start(BOTH, registry="nope")
    run = manual.start()
    with pytest.raises(Conflict) as clash:
        manual.start(BLOBS_ONLY)
    assert run.uuid in clash.value.message
    with pytest.raises(NotFound):
        with manual.sim.transaction():
            manual.sim.gc.active("nope")
    assert DEFAULT_GC_TYPE == BLOBS_ONLY


def test_content_changes_are_refused_while_a_run_is_active(manual):
    gc = manual.sim.gc
    gc.check_content_change("acme")
    run = manual.start()
    with pytest.raises(RegistryReadOnly) as refused:
        gc.check_content_change("acme")
    assert isinstance(refused.value, Conflict) and run.uuid in refused.value.message
    gc.allow_deletes_during_gc = True
    gc.check_content_change("acme")
    gc.allow_deletes_during_gc = False
    with pytest.raises(Conflict):
        manual.sim.delete_registry("acme")
    manual.at(3600)
    gc.check_content_change("acme")
    with pytest.raises(NotFound):
        with manual.sim.transaction():
            gc.active("acme")
    manual.sim.delete_registry("acme")
    with pytest.raises(NotFound):
        gc.runs("acme")


def test_reset_forgets_runs_tokens_and_faults(manual):
    manual.issue_token()
    manual.sim.gc.fail_next("acme", "requested")
    manual.start()
    _small_app(manual.sim)
    registry = manual.sim.export_state()["registries"][0]
    assert registry["garbage_collections"] == [] and registry["write_tokens"] == []
    manual.start()
    assert manual.at(3600).status == "succeeded"  # no fault, no wait
    assert manual.sim.gc.rates == SLOW  # the start-up rates survive a reset


def test_the_saved_state_lists_runs_and_tokens(manual):
    manual.issue_token()
    run = manual.start(MANIFESTS_ONLY)
    registry = manual.sim.export_state()["registries"][0]
    assert registry["write_tokens"] == [{"issued_at": "2026-01-01T00:00:00Z", "expires_at": "2026-01-01T00:15:00Z"}]
    [saved] = registry["garbage_collections"]
    progress = saved.pop("progress")  # an active run also saves where it stands
    assert saved == {
        "uuid": run.uuid, "type": MANIFESTS_ONLY, "status": "requested",
        "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
        "blobs_deleted": 0, "freed_bytes": 0,
    }
    assert (progress["waiting_at"], progress["scanning_at"]) == ("2026-01-01T00:00:01Z", "2026-01-01T00:15:00Z")


# -- looking ahead ------------------------------------------------------------------------------

@pytest.mark.parametrize("setup", ["plain", "token", "fail scanning", "fail deleting", "cancelling"])
def test_idle_at_is_when_the_last_run_ends(world, setup):
    with world.sim.transaction():
        assert world.sim.gc.idle_at() is None
    if setup == "token":
        world.issue_token()
    if setup.startswith("fail"):
        world.sim.gc.fail_next("acme", {"fail scanning": "scanning manifests",
                                        "fail deleting": "deleting unreferenced blobs"}[setup])
    run = world.start(BOTH)
    if setup == "cancelling":
        world.at(1 + LINKS + 1.5)
        world.cancel(run.uuid)
    with world.sim.transaction():
        idle = world.sim.gc.idle_at()
    world.move_to(idle - timedelta(microseconds=1))
    assert world.read_only()
    world.move_to(idle)
    assert not world.read_only()
    assert world.run().updated_at == idle
    with world.sim.transaction():
        assert world.sim.gc.idle_at() is None


def test_stepping_by_checkpoints_reaches_idle_at(manual):
    manual.issue_token()
    manual.start(BOTH)
    with manual.sim.transaction():
        idle = manual.sim.gc.idle_at()
    steps = 0
    while True:
        with manual.sim.transaction() as now:
            stop = manual.sim.gc.next_checkpoint()
            if stop is None:
                break
            assert stop > now
            manual.sim.clock.set(stop)
            steps += 1
    assert manual.sim.now() == idle and steps >= 4


def test_idle_at_while_tokens_may_still_push_does_not_fix_the_plan(manual):
    """The look-ahead must not decide what the run deletes while content can still change."""
    manual.issue_token()
    manual.start(BOTH)
    with manual.sim.transaction():
        manual.sim.gc.idle_at()
    # A push with the still-valid token leaves a new dangling blob before scanning starts.
    extra = manual.content.blobs.put(b"pushed while the run waited")
    done = manual.at(3600)
    assert extra not in manual.content.blobs and done.blobs_deleted == 5


# -- determinism --------------------------------------------------------------------------------

def _final_state(looks: list[float], cancel_at: float | None = None) -> dict:
    sim = Simulation(clock=ManualClock(START), seed=7, gc_rates=SLOW)
    _small_app(sim)
    world = World(sim, sim.clock.advance, sim.clock.set)
    world.issue_token()
    world.at(30)
    run = world.start(BOTH)
    for seconds in sorted([*looks, *([cancel_at] if cancel_at else [])]):
        world.at(seconds)
        if seconds == cancel_at:
            world.cancel(run.uuid)
    world.at(3600)
    return sim.export_state()


# The token issued at 0 holds the run back until 900; scanning ends at 905 and one object
# completes each second after that. Cancelling at 907.5 lets the third object finish.
@pytest.mark.parametrize("cancel_at", [None, WRITE_TOKEN_TTL.total_seconds() + LINKS + 2.5])
def test_the_outcome_does_not_depend_on_when_anyone_looked(cancel_at):
    one_jump = _final_state([], cancel_at)
    polled = _final_state([x / 3 for x in range(91, 3 * 1000)], cancel_at)
    assert one_jump == polled
    run = one_jump["registries"][0]["garbage_collections"][0]
    assert run["status"] == ("cancelled" if cancel_at else "succeeded")
    assert run["blobs_deleted"] == (3 if cancel_at else 4)


# -- rates and the ledger -----------------------------------------------------------------------

@pytest.mark.parametrize("value", [0, -1, float("nan"), float("inf"), True, "fast"])
def test_rates_must_be_positive_numbers(value):
    with pytest.raises(Invalid):
        Rates(scan_manifests_per_second=value)


def test_the_ledger_answers_and_forgets():
    ledger = WriteTokenLedger()
    t = START
    ledger.record("a", t)
    ledger.record("a", t + timedelta(minutes=5), t + timedelta(minutes=6))
    ledger.record("b", t + timedelta(minutes=1))
    assert ledger.drain_deadline("a", t) == t + WRITE_TOKEN_TTL
    assert ledger.drain_deadline("a", t + timedelta(minutes=5)) == t + WRITE_TOKEN_TTL
    assert ledger.drain_deadline("c", t) is None
    assert ledger.has_valid("a", t + timedelta(minutes=14)) and not ledger.has_valid("a", t + WRITE_TOKEN_TTL)
    ledger.prune(t + timedelta(minutes=10))
    assert [x.expires_at for x in ledger.outstanding("a", t + timedelta(minutes=10))] == [t + WRITE_TOKEN_TTL]
    ledger.prune(t + timedelta(minutes=30))
    assert ledger._tokens == {}  # nothing that can matter is kept
    ledger.record("b", t + timedelta(minutes=31))
    ledger.forget("b")
    assert ledger.drain_deadline("b", t + timedelta(minutes=40)) is None
    with pytest.raises(Invalid):
        ledger.record("a", t, t)


# -- shared content -----------------------------------------------------------------------------

def _push(content, repo, label, now, tag=None) -> str:
    layer = content.blobs.put(f"layer of {label}".encode())
    config = content.blobs.put(json.dumps({"label": label}).encode())
    document = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config,
                           "size": content.blobs.size(config)},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer,
                            "size": content.blobs.size(layer)}]}
    return content.put_manifest(repo, json.dumps(document).encode(), now, tag=tag)


def test_a_manifest_untagged_in_one_repository_but_tagged_in_another_keeps_its_bytes(manual):
    content = manual.content
    shared = _push(content, "web", "shared", START)  # untagged in web
    _push(content, "tools/migrate", "shared", START, tag="keep")  # same bytes, tagged here
    twice = _push(content, "web", "twice", START)
    _push(content, "tools/migrate", "twice", START)  # untagged in both repositories
    before = manual.stored()
    manual.start(MANIFESTS_ONLY)
    done = manual.at(3600)
    assert shared not in content.repositories["web"].manifests
    assert shared in content.repositories["tools/migrate"].manifests and shared in content.blobs
    assert twice not in content.manifests and twice not in content.blobs
    # The untagged build and ``twice`` lose their bytes, each counted once; ``shared`` does not.
    assert done.blobs_deleted == 2 == len(before - manual.stored())


def test_children_of_a_tagged_index_are_kept():
    sim = Simulation(clock=ManualClock(START), gc_rates=SLOW)
    apply(sim, read_file(FIXTURES / "multi-arch.yaml"), replace=True)
    content = sim.account.registry("multiarch").content
    tagged_index = content.repositories["tool"].tags["1.0"].manifest_digest
    children = [c.digest for c in content.manifests[tagged_index].parsed.children]
    with sim.transaction() as now:
        sim.gc.start("multiarch", BOTH, now)
    sim.clock.advance(3600)
    with sim.transaction():
        run = sim.gc.runs("multiarch")[0]
    assert run.status == "succeeded"
    assert set(content.repositories["tool"].manifests) == {tagged_index, *children}
    assert run.blobs_deleted == 1 + 2 + 2 * 2  # old index, its two children, their configs and layers
