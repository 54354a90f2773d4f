"""Exact export and import of the world (docrsim.core.persistence.snapshot).

Random worlds are built from scripts of steps (pushes through the store API, deletes,
credentials, write tokens, fault rules, GC runs started, cancelled, failed and held, and time
moving by uneven amounts), so exports catch runs in every phase. The properties: export,
import, export gives the same document; and a world imported from an export goes on exactly
as the original does under the same further steps (same outcomes, same exports, same next
uuid). Steps are plain data, applied to a world by choosing among its current names by index,
so the very same script can be applied to two worlds.
"""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta, timezone

import pytest
from freezegun import freeze_time
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from docrsim.core import digests, distribution, images, timekeeping
from docrsim.core.clock import ManualClock, SystemClock
from docrsim.core.content import OCI_INDEX
from docrsim.core.errors import DomainError
from docrsim.core.gc import FAULT_PHASES, GC_TYPES, Rates
from docrsim.core.persistence import gc_state
from docrsim.core.persistence.snapshot import FORMAT, StateError
from docrsim.core.state import Simulation
from docrsim.scenarios import apply
from tests.documents import set_at

START = datetime(2026, 1, 1, tzinfo=timezone.utc)
# Slow enough that runs spend several steps in each phase, quick enough to finish in a script.
RATES = Rates(scan_manifests_per_second=2, delete_objects_per_second=3, delete_bytes_per_second=5000)
REGISTRIES = ("acme", "beta", "gamma")
REPOS = ("app", "lib/core")
TAGS = ("latest", "v1", "v2")
HOLD_STATUSES = ("requested", "waiting for write JWTs to expire", "scanning manifests",
                 "waiting for delete requests", "deleting unreferenced blobs")

SCENARIO = {
    "account": {"tier": "professional"},
    "registries": [
        {
            "name": "acme",
            "region": "fra1",
            "repositories": [{"name": "app", "manifests": [
                {"id": "base", "tags": ["v1"], "layers": [{"content": "base layer"}, {"size": 700, "seed": "os"}]},
                {"tags": [], "layers": [{"size": 300, "seed": "old", "uncompressed_size": 900}]},
                {"subject": "base", "artifact_type": "application/vnd.dev.cosign.artifact.sig.v1+json",
                 "layers": [{"content": "signature"}]},
            ]}],
            "blobs": [{"content": "dangling"}, {"size": 50, "seed": "dangling synthetic"}],
            "write_tokens": [{"issued_at": "2025-12-31T23:55:00Z"}],
        },
        {"name": "beta"},
    ],
}


def new_world(seed: int = 0) -> Simulation:
    sim = Simulation(clock=ManualClock(START), seed=seed, gc_rates=RATES)
    apply(sim, SCENARIO, replace=True)
    return sim


def clone(sim: Simulation, seed: int = 99) -> Simulation:
    """A different simulation (other seed, other time) made to hold ``sim``'s exported world."""
    other = Simulation(clock=ManualClock(START + timedelta(days=400)), seed=seed)
    other.import_state(json.loads(json.dumps(sim.export_state())))
    return other


# -- steps ------------------------------------------------------------------------------------------
def _pick(options, index):
    options = sorted(options)
    return options[index % len(options)] if options else None


def _registry(sim, index):
    return _pick(sim.account.registries, index)


def apply_step(sim: Simulation, step: tuple) -> str:
    """Apply one step; what happened, as text (refusals included), so runs can be compared."""
    kind, a, b, c = step
    if kind == "gc_story":  # a run started, then followed from checkpoint to checkpoint
        story = [("start_gc", a, b, 0), *[("toward_checkpoint", 7, 0, 0)] * (c % 8), ("toward_checkpoint", b, 0, 0)]
        return "; ".join(apply_step(sim, part) for part in story)
    try:
        with sim.transaction() as now:
            return _STEPS[kind](sim, now, a, b, c) or "ok"
    except DomainError as exc:
        return f"{type(exc).__name__}: {exc.message}"


def _push(sim, now, a, b, c):
    registry = _registry(sim, a)
    if registry is None:
        return "no registry"
    sim.gc.issue_write_token(registry, now)  # refused while a run holds the registry read-only
    tag = TAGS[c % len(TAGS)] if c % 4 else None
    return images.push_image(sim, registry, REPOS[b % 2], tag=tag, layers=1 + c % 3, layer_size=20 + 7 * (b % 3),
                             now=now, label=f"image {b % 5}")


def _push_index(sim, now, a, b, c):
    registry = _registry(sim, a)
    if registry is None:
        return "no registry"
    content = sim.account.registry(registry).content
    repo = content.repositories.get(REPOS[b % 2])
    children = sorted(d for d in (repo.manifests if repo else ()) if not content.manifests[d].parsed.is_index)
    if not children:
        return "no images"
    sim.gc.issue_write_token(registry, now)
    chosen = children[: 1 + c % len(children)]
    raw = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": content.manifests[d].media_type, "digest": d, "size": content.manifests[d].size} for d in chosen
    ]}).encode()
    return content.put_manifest(repo.name, raw, now, tag=TAGS[c % len(TAGS)] if c % 2 else None)


def _link(sim, now, a, b, c):
    """Upload a blob into a repository (one without manifests too), or mount one from another."""
    registry = _registry(sim, a)
    if registry is None:
        return "no registry"
    sim.gc.issue_write_token(registry, now)
    repository = (*REPOS, "uploads-only")[b % 3]
    if c % 2:
        source = REPOS[c % 2]
        digest = _pick(sim.account.registry(registry).content.blobs.digests(), c)
        return str(digest and distribution.mount_blob(sim, registry, repository, digest, source, now))
    data = images.generated_bytes(f"loose {c}", 10 + c)
    return distribution.store_blob(sim, registry, repository, data, digests.compute(data), now)


def _retag(sim, now, a, b, c):
    registry = _registry(sim, a)
    content = sim.account.registry(registry).content if registry else None
    repo = _pick(content.repositories, b) if content else None
    if repo is None:
        return "no repository"
    digest = _pick(content.repositories[repo].manifests, c)
    if digest is None:
        return "empty repository"
    sim.gc.issue_write_token(registry, now)
    content.tag_manifest(repo, TAGS[c % len(TAGS)], digest, now)


def _delete(sim, now, a, b, c):
    """Delete a tag, a manifest or a repository, as the DO API does."""
    registry = _registry(sim, a)
    content = sim.account.registry(registry).content if registry else None
    repo = _pick(content.repositories, b) if content else None
    if repo is None:
        return "no repository"
    sim.gc.check_content_change(registry)
    links = content.repositories[repo]
    if c % 3 == 0 and links.tags:
        content.delete_tag(repo, _pick(links.tags, c))
    elif c % 3 == 1 and links.manifests:
        content.delete_manifest(repo, _pick(links.manifests, c))
    else:
        content.delete_repository(repo)


def _credential(sim, now, a, b, c):
    if c % 4 == 3 and sim.credentials.all():
        sim.credentials.revoke(sim.credentials.all()[b % len(sim.credentials.all())].secret)
        return "revoked"
    registry = _registry(sim, a) if c % 2 else None
    sim.credentials.mint("dop_v1_" + sim.ids.hex(32), registry=registry, read_write=bool(b % 2),
                         expiry_seconds=(0, 60, 3600)[c % 3], now=now)


def _write_token(sim, now, a, b, c):
    registry = _registry(sim, a)
    return "no registry" if registry is None else str(sim.gc.issue_write_token(registry, now).expires_at)


def _start_gc(sim, now, a, b, c):
    registry = _registry(sim, a)
    return "no registry" if registry is None else sim.gc.start(registry, GC_TYPES[b % 3], now).uuid


def _cancel_gc(sim, now, a, b, c):
    registry = _registry(sim, a)
    if registry is None:
        return "no registry"
    return sim.gc.cancel(registry, sim.gc.active(registry).uuid, now).status


def _fail_next(sim, now, a, b, c):
    registry = _registry(sim, a)
    return "no registry" if registry is None else sim.gc.fail_next(registry, FAULT_PHASES[b % len(FAULT_PHASES)])


def _fault_rule(sim, now, a, b, c):
    """Add a request fault or a GC hold, or delete the oldest rule."""
    rules = sim.faults.rules()
    if c % 3 == 0 and rules:
        return sim.faults.remove(rules[0].id, now).id
    if c % 3 == 1:
        registry = _registry(sim, a)
        if registry is None:
            return "no registry"
        return sim.faults.add({"gc_hold": {"registry": registry, "status": HOLD_STATUSES[b % 5]}}, now).id
    return sim.faults.add({"status": 503, "times": 1 + b % 3, "path": "/v2/*"}, now).id


def _rates(sim, now, a, b, c):
    sim.gc.rates = Rates(scan_manifests_per_second=1 + a % 4, delete_objects_per_second=0.5 + b % 3,
                         delete_bytes_per_second=1000 * (1 + c % 5))


def _deletes_during_gc(sim, now, a, b, c):
    sim.gc.allow_deletes_during_gc = bool(a % 2)


def _registry_change(sim, now, a, b, c):
    if a % 2:
        sim.account.create_registry(REGISTRIES[b % 3], "nyc3", now)
    else:
        sim.delete_registry(_registry(sim, b) or "none")


def _look_ahead(sim, now, a, b, c):
    """idle_at works out (and, when nothing can change, keeps) a waiting run's scan."""
    return f"{sim.gc.idle_at()} {sim.gc.next_checkpoint()}"


def _advance(sim, now, a, b, c):
    seconds = (0.25, 0.5, 1, 1.5, 3, 7.3, 60, 400)[a % 8] * (1 + b % 3)
    sim.clock.advance(seconds)


def _toward_checkpoint(sim, now, a, b, c):
    """Move part of the way (or all of it) to the next GC checkpoint: into the middle of phases."""
    stop = sim.gc.next_checkpoint()
    if stop is None:
        return "idle"
    sim.clock.set(now + (stop - now) * (1 + a) / 8)


_STEPS = {
    "push": _push, "push_index": _push_index, "link": _link, "retag": _retag, "delete": _delete, "credential": _credential,
    "write_token": _write_token, "start_gc": _start_gc, "cancel_gc": _cancel_gc, "fail_next": _fail_next,
    "fault_rule": _fault_rule, "rates": _rates, "deletes_during_gc": _deletes_during_gc,
    "registry": _registry_change, "look_ahead": _look_ahead, "advance": _advance,
    "toward_checkpoint": _toward_checkpoint,
}
# Time moves often, and runs start often, so that exports land inside every phase.
_KINDS = [*_STEPS, "advance", "advance", "start_gc", *["toward_checkpoint"] * 3, *["gc_story"] * 4]
steps = st.lists(st.tuples(st.sampled_from(_KINDS), st.integers(0, 7), st.integers(0, 7), st.integers(0, 11)),
                 max_size=40)

PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def run_script(sim: Simulation, script) -> list[str]:
    return [apply_step(sim, step) for step in script]


def statuses(sim: Simulation) -> set[str]:
    return {run["status"] for r in sim.export_state()["registries"] for run in r["garbage_collections"]}


# -- properties -------------------------------------------------------------------------------------
@PROPERTY
@given(seed=st.integers(0, 3), script=steps)
def test_export_import_export_is_identical(seed, script):
    sim = new_world(seed)
    run_script(sim, script)
    exported = sim.export_state()
    for status in statuses(sim):
        event(f"exported with a run {status!r}")
    assert json.loads(json.dumps(exported)) == exported  # plain JSON
    assert clone(sim).export_state() == exported


@PROPERTY
@given(seed=st.integers(0, 3), before=steps, after=steps)
def test_an_imported_world_goes_on_exactly_as_the_original(seed, before, after):
    original = new_world(seed)
    run_script(original, before)
    imported = clone(original)
    for status in statuses(original):
        event(f"imported with a run {status!r}")
    assert run_script(imported, after) == run_script(original, after)
    assert imported.export_state() == original.export_state()
    assert imported.ids.uuid() == original.ids.uuid()
    # And to the end of every run.
    for sim in (original, imported):
        for rule in sim.faults.rules():
            with sim.transaction() as now:
                sim.faults.remove(rule.id, now)
        timekeeping.run_until_idle(sim)
    assert imported.export_state() == original.export_state()


# -- runs caught in each phase ----------------------------------------------------------------------
def _started(gc_type=GC_TYPES[2], *, fail_in=None, token=True) -> Simulation:
    sim = new_world()
    with sim.transaction() as now:
        if token:
            sim.gc.issue_write_token("acme", now)
        if fail_in:
            sim.gc.fail_next("acme", fail_in)
        sim.gc.start("acme", gc_type, now)
    return sim


def _run(sim) -> dict:
    return sim.export_state()["registries"][0]["garbage_collections"][0]


# Seconds after the start: 0.5 requested, 300 waiting (the token expires at 900), 901 scanning
# (three links at two a second), then deleting (an object a third of a second plus its bytes;
# only the type that deletes both still is at 902.5).
@pytest.mark.parametrize("seconds, status", [
    (0.5, "requested"), (300, "waiting for write JWTs to expire"), (901, "scanning manifests"),
    (901.7, "deleting unreferenced blobs"), (902.5, "deleting unreferenced blobs"),
])
@pytest.mark.parametrize("gc_type", GC_TYPES)
def test_a_run_exported_mid_phase_ends_as_the_original(seconds, status, gc_type):
    original = _started(gc_type)
    original.clock.advance(seconds)
    if _run(original)["status"] != status:  # the single-purpose types have less to delete
        assert gc_type != GC_TYPES[2] and seconds == 902.5
        return
    assert "progress" in _run(original)
    imported = clone(original)
    for sim in (original, imported):
        sim.clock.advance(3600)
    assert _run(imported)["status"] == "succeeded"
    assert imported.export_state() == original.export_state()


@pytest.mark.parametrize("cancel_at", [0.5, 300, 901, 902.2])
def test_a_cancelling_run_is_restored_to_stop_where_the_original_stops(cancel_at):
    original = _started()
    original.clock.advance(cancel_at)
    with original.transaction() as now:
        original.gc.cancel("acme", original.gc.active("acme").uuid, now)
    assert _run(original)["status"] == "cancelling"
    imported = clone(original)
    for sim in (original, imported):
        sim.clock.advance(60)
    assert _run(imported)["status"] == "cancelled"
    assert imported.export_state() == original.export_state()


@pytest.mark.parametrize("phase", FAULT_PHASES)
def test_an_armed_fault_fails_the_restored_run_at_the_same_instant(phase):
    for armed_before_start in (True, False):
        original = _started(fail_in=phase) if armed_before_start else new_world()
        if not armed_before_start:
            with original.transaction():
                original.gc.fail_next("acme", phase)
            assert original.export_state()["registries"][0]["gc_fault"] == phase
        imported = clone(original)
        for sim in (original, imported):
            if not armed_before_start:
                with sim.transaction() as now:
                    sim.gc.start("acme", GC_TYPES[2], now)
            sim.clock.advance(3600)
        assert _run(imported)["status"] == "failed"
        assert imported.export_state() == original.export_state()


def test_a_scan_worked_out_ahead_before_scanning_is_kept():
    original = new_world()
    original.clock.advance(700)  # the scenario's write token has expired
    with original.transaction() as now:
        original.gc.start("acme", GC_TYPES[2], now)
    original.clock.advance(0.5)
    with original.transaction():
        original.gc.idle_at()  # nothing can change the content now: the scan is made and kept
    progress = _run(original)["progress"]
    assert progress["scan"] is not None and progress["scan"]["plan"] is not None
    imported = clone(original)
    for sim in (original, imported):
        sim.clock.advance(3600)
    assert imported.export_state() == original.export_state()


def test_a_held_run_stays_held_and_goes_on_when_released():
    original = _started()
    with original.transaction() as now:
        rule = original.faults.add({"gc_hold": {"registry": "acme", "status": "scanning manifests"}}, now)
    original.clock.advance(1000)
    assert _run(original)["status"] == "scanning manifests"
    imported = clone(original)
    assert [r.as_dict() for r in imported.faults.rules()] == [rule.as_dict()]
    for sim in (original, imported):
        sim.clock.advance(500)
        assert _run(sim)["status"] == "scanning manifests"
        with sim.transaction() as now:
            sim.faults.remove(rule.id, now)
        sim.clock.advance(3600)
    assert _run(imported)["status"] == "succeeded"
    assert imported.export_state() == original.export_state()


# -- what the document holds ------------------------------------------------------------------------
def test_the_document_names_its_format_and_keeps_the_world():
    sim = new_world(seed=5)
    with sim.transaction() as now:
        secret = sim.credentials.mint("dop_v1_secret", registry="acme", read_write=True, expiry_seconds=60,
                                      now=now).secret
    sim.clock.advance(0.123456)
    document = sim.export_state()
    assert document["format"] == FORMAT == "docrsim-state/1"
    assert document["clock"] == {"kind": "manual", "now": "2026-01-01T00:00:00.123456Z"}
    assert document["seed"] == 5
    assert [r["name"] for r in document["registries"]] == ["acme", "beta"]
    acme = document["registries"][0]
    blobs = {b["digest"]: b for b in acme["blobs"]}
    assert sum(b["synthetic"] for b in blobs.values()) == 3
    assert [b.get("uncompressed_size") for b in blobs.values() if "uncompressed_size" in b] == [900]
    assert all(("base64" in b) != b["synthetic"] for b in blobs.values())
    assert acme["write_tokens"] == [{"issued_at": "2025-12-31T23:55:00Z", "expires_at": "2026-01-01T00:10:00Z"}]
    assert [c["secret"] for c in document["credentials"]] == [secret]
    imported = clone(sim)
    assert imported.credentials.find(secret).valid_at(imported.now())
    assert imported.account.registry("acme").content.blobs.data(next(d for d, b in blobs.items() if "base64" in b))


def test_blob_links_are_saved_per_repository_and_loose_blobs_have_none():
    sim = new_world()
    with sim.transaction() as now:
        data = b"uploaded before any manifest"
        distribution.store_blob(sim, "acme", "staging", data, digests.compute(data), now)
    acme = sim.export_state()["registries"][0]
    content = sim.account.registry("acme").content
    app = set()
    for digest in content.repositories["app"].manifests:
        app.update(ref.digest for ref in content.manifests[digest].parsed.blob_references)
    assert acme["blob_links"] == [{"repository": "app", "digests": sorted(app)},
                                  {"repository": "staging", "digests": [digests.compute(data)]}]
    assert clone(sim).export_state()["registries"][0]["blob_links"] == acme["blob_links"]


def test_a_state_saved_before_blob_links_gets_the_links_its_manifests_imply():
    """Nothing lost: a world saved before blobs were linked per repository still serves every
    image it held, each blob linked where a manifest of the repository references it."""
    sim = new_world()
    with sim.transaction() as now:
        data = b"a loose upload"
        distribution.store_blob(sim, "acme", "staging", data, digests.compute(data), now)
    saved = sim.export_state()
    old = copy.deepcopy(saved)
    for registry in old["registries"]:
        del registry["blob_links"]
    migrated = new_world()
    migrated.import_state(old)
    exported = migrated.export_state()
    # Every link a manifest implies is back; a loose upload was linked by nothing but itself.
    assert exported["registries"][0]["blob_links"] == [e for e in saved["registries"][0]["blob_links"]
                                                       if e["repository"] != "staging"]
    assert {**exported, "registries": None} == {**saved, "registries": None}


def test_blobs_keep_the_order_a_collection_deletes_them_in():
    sim = new_world()
    content = sim.account.registry("acme").content
    for text in ("zz", "aa", "mm"):  # dangling, so a run deletes them in the order they came
        content.blobs.put(text.encode())
    stored = list(content.blobs.digests())
    assert stored != sorted(stored)
    assert [b["digest"] for b in sim.export_state()["registries"][0]["blobs"]] == stored
    assert list(clone(sim).account.registry("acme").content.blobs.digests()) == stored


def test_the_next_ids_are_the_ones_the_original_would_have_made():
    sim = new_world(seed=3)
    for _ in range(5):
        sim.ids.uuid()
    sim.ids.hex(32)
    imported = clone(sim)
    assert [imported.ids.uuid(), imported.ids.hex(7)] == [sim.ids.uuid(), sim.ids.hex(7)]
    # Request ids are no part of the world: they restart from the saved seed, as on a reset.
    assert imported.request_ids.uuid() == Simulation(seed=3).request_ids.uuid()


def test_an_import_keeps_the_start_up_seed_and_rates_for_later_resets():
    target = Simulation(clock=ManualClock(START), seed=11, gc_rates=Rates(scan_manifests_per_second=9))
    world = new_world(seed=2)
    with world.transaction():
        world.gc.rates = Rates(scan_manifests_per_second=4)
    target.import_state(world.export_state())
    assert target.ids.seed == 2 and target.gc.rates.scan_manifests_per_second == 4
    target.reset()
    assert target.ids.seed == 11 and target.gc.rates.scan_manifests_per_second == 9


def test_a_manual_clock_moves_to_the_saved_instant_even_backwards():
    sim = new_world()
    target = Simulation(clock=ManualClock(START + timedelta(days=30)))
    target.import_state(sim.export_state())
    assert target.now() == START


def test_the_system_clock_keeps_following_the_machine():
    document = new_world().export_state()
    with freeze_time("2026-03-04 05:06:07"):
        target = Simulation(clock=SystemClock())
        target.import_state(document)
        assert target.export_state()["clock"] == {"kind": "system", "now": "2026-03-04T05:06:07Z"}
        assert [r["name"] for r in target.export_state()["registries"]] == ["acme", "beta"]


def test_an_import_drops_uploads_in_progress():
    sim = new_world()
    sim.uploads.start("upload-1", "acme", "app", START)
    sim.import_state(new_world().export_state())
    assert len(sim.uploads) == 0


def test_a_class_that_gains_state_the_snapshot_does_not_save_fails_loudly():
    sim = _started()
    sim.gc._runs["acme"][0].something_new = 1
    with pytest.raises(RuntimeError, match="Run.something_new"):
        sim.export_state()


# -- malformed documents ----------------------------------------------------------------------------
def _damaged(change) -> dict:
    sim = _started()
    sim.clock.advance(902.2)  # deleting
    document = copy.deepcopy(sim.export_state())
    change(document)
    return document


def _acme(document):
    return document["registries"][0]


def _first_link(document):
    return next(r for r in _acme(document)["repositories"] if r["manifests"])["manifests"][0]


def _drop_manifest_bytes(document):
    digest = _first_link(document)["digest"]
    _acme(document)["blobs"] = [b for b in _acme(document)["blobs"] if b["digest"] != digest]


def _two_active_runs(document):
    runs = _acme(document)["garbage_collections"]
    runs.append({**copy.deepcopy(runs[0]), "uuid": "another"})


def _tamper_bytes(document):
    blob = next(b for b in _acme(document)["blobs"] if "base64" in b)
    blob["base64"] = "aGVsbG8="
    blob["size"] = 5


@pytest.mark.parametrize("change, where", [
    (set_at(["format"], "docrsim-state/0"), "format"),
    (lambda d: d.pop("clock"), "'clock' is a required property"),
    (set_at(["id_position"], -1), "id_position"),
    (set_at(["clock", "now"], "yesterday"), "clock.now"),
    (set_at(["account", "tier"], "gold"), "account.tier"),
    (lambda d: d["registries"].append(copy.deepcopy(d["registries"][0])), "registries[2].name"),
    (lambda d: _acme(d)["blobs"][0].update(digest="sha256:nothex"), "registries[0].blobs[0].digest"),
    (lambda d: _acme(d)["blobs"][1].update(size="12"), "registries[0].blobs[1].size: '12' is not an integer"),
    (lambda d: _acme(d)["blobs"][1].update(colour="red"), "registries[0].blobs[1]: unknown field 'colour'"),
    (lambda d: _acme(d)["blobs"][1].pop("synthetic"), "registries[0].blobs[1]: 'synthetic' is a required"),
    (_tamper_bytes, "hashes to"),
    (_drop_manifest_bytes, "bytes are not among the registry's blobs"),
    (lambda d: _acme(d)["blob_links"][0]["digests"].append("sha256:" + "0" * 64),
     "sha256:" + "0" * 64 + " is not among the registry's blobs"),
    (lambda d: _acme(d)["blob_links"][0]["digests"].append(_acme(d)["blob_links"][0]["digests"][0]),
     "is linked twice"),
    (lambda d: _acme(d)["blob_links"].append(copy.deepcopy(_acme(d)["blob_links"][0])), "appears twice"),
    (lambda d: _acme(d)["blob_links"][0].update(colour="red"), "blob_links[0]: unknown field 'colour'"),
    (lambda d: _acme(d)["blob_links"][0].update(digests="all"), "blob_links[0].digests: a list of digests"),
    (lambda d: next(r for r in _acme(d)["repositories"] if r["tags"])["tags"][0].update(manifest_digest="sha256:"
                                                                                        + "0" * 64),
     "a tag must name a manifest its repository links"),
    (lambda d: _acme(d)["garbage_collections"][0].update(status="sleeping"), "garbage_collections[0].status"),
    (lambda d: _acme(d)["garbage_collections"][0].pop("progress"), "needs its 'progress'"),
    (lambda d: _acme(d)["garbage_collections"][0]["progress"].update(plan=None), "needs its plan"),
    (_two_active_runs, "at most one active run"),
    (lambda d: d["gc"]["rates"].update(scan_manifests_per_second=0), "gc.rates"),
    (lambda d: d["faults"]["rules"].append({"id": "fault-9", "created_at": "2026-01-01T00:00:00Z", "colour": "red"}),
     "faults.rules[0]: unknown field"),
])
def test_a_malformed_document_is_refused_naming_what_is_wrong_and_changes_nothing(change, where):
    document = _damaged(change)
    sim = new_world(seed=8)
    sim.clock.advance(5)
    before = sim.export_state()
    with pytest.raises(StateError) as refused:
        sim.import_state(document)
    assert where in refused.value.message
    assert sim.export_state() == before


def test_not_an_object_is_refused():
    with pytest.raises(StateError, match="JSON object"):
        Simulation().import_state(["docrsim-state/1"])


def test_every_known_attribute_list_matches_the_classes():
    """The snapshot's lists of saved attributes are those the classes have now."""
    sim = _started()
    sim.clock.advance(901)
    with sim.transaction():  # settled: scanning
        run = sim.gc._runs["acme"][0]
    assert set(vars(run)) <= gc_state._RUN_KNOWN
    assert set(vars(run.scan)) <= gc_state._SCAN_KNOWN
    assert set(vars(sim.gc)) <= gc_state._COLLECTOR_KNOWN
