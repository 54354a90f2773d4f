"""Nothing lost under load: eight ``skopeo copy`` pushes at once into one registry of a
``docrsim serve`` (manual clock, a state folder), DO API readers all along, and a garbage
collection started once half the pushes have ended. The clock is moved through the run; a
push either landed whole or was refused, and the counters add up. Then the server is killed
(SIGKILL) and started again on its state folder, which must give back the same world.

The nightly profile (``HYPOTHESIS_PROFILE=nightly``) pushes images four times as large."""

from __future__ import annotations

import base64
import os
import shutil
import time
from dataclasses import dataclass

import pytest
import requests

from tests.reliability.load import (
    GC_ORDER, GC_TYPE, REGISTRY, Image, Push, Readers, build_images, memory, pull_matches,
)
from tests.served import ServedProcess
from tests.stateful.support import nightly

pytestmark = pytest.mark.skipif(
    shutil.which("skopeo") is None and not os.environ.get("DOCRSIM_REQUIRE_TOOLS"),
    reason="skopeo is not installed (make test installs it)",
)

PUSHES = 8
MiB = 1024 * 1024
UNIT = (8 if nightly() else 2) * MiB  # image i holds (i + 1) units in two layers
SEED = 15
TOKEN = "dop_v1_load"
WARM_UP = "warm-up"
WAIT = 120  # seconds for the pushes to end, or the run to reach a status
# Peak memory growth of the server over what it stores at most (the benchmarks' goal too).
MEMORY_BOUND = 1.2


@dataclass
class Run:
    served: ServedProcess
    args: tuple[str, ...]
    api: str
    host: str  # the registry host, as skopeo names it
    creds: str
    images: list[Image]
    pushes: list[Push]
    readers: Readers
    gc_started: float  # time.monotonic() just before the run was asked for
    preview: dict  # what the run would delete, once every push had ended
    stored_before: int  # storage_usage_bytes then: the most the registry ever held
    baseline_rss: int  # the server's, once ready, the registries made and the warm-up done
    seconds: float = 0.0


def call(method: str, url: str, **kwargs) -> requests.Response:
    answer = requests.request(method, url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60, **kwargs)
    assert answer.status_code < 300, f"{method} {url}: {answer.status_code} {answer.text[:300]}"
    return answer


def gc_status(api: str) -> str:
    """The status of the registry's one run (the list's, which keeps it once it has ended)."""
    [only] = call("GET", f"{api}/v2/registry/{REGISTRY}/garbage-collections").json()["garbage_collections"]
    return only["status"]


def advance(api: str, seconds: float) -> None:
    call("POST", f"{api}/_docrsim/clock", json={"advance_seconds": seconds})


def until(what: str, predicate, seconds: float = WAIT):
    deadline = time.monotonic() + seconds
    while not (value := predicate()):
        assert time.monotonic() < deadline, f"not {what} within {seconds}s"
        time.sleep(0.05)
    return value


def warm_up(api: str, host: str, root) -> None:
    """One small push (into a registry of its own) and one of each read, before the baseline:
    the first requests import and build what every later one reuses (some 14 MiB), which is
    no cost of the bytes stored."""
    call("POST", f"{api}/v2/registries", json={"name": WARM_UP, "region": "fra1"})
    [image] = build_images(root, 1, 4096, SEED + 1)
    push = Push.start(image, host, f"{TOKEN}:{TOKEN}", registry=WARM_UP)
    assert push.done.wait(WAIT) and push.landed, push.stderr
    for path in ("", "/repositoriesV2", f"/repositories/{image.repository}/tags", "/garbage-collections"):
        call("GET", f"{api}/v2/registries/{WARM_UP}{path}")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("load")
    images = build_images(root / "images", PUSHES, UNIT, SEED)
    args = ("--clock", "manual", "--state", str(root / "state"))  # a folder not made yet
    served = ServedProcess(*args)
    started = time.monotonic()
    try:
        urls = served.wait_ready()
        api, host = urls["API host"], urls["registry host"].split("://", 1)[1]
        call("POST", f"{api}/v2/registries", json={"name": REGISTRY, "region": "fra1",
                                                   "subscription_tier_slug": "professional"})
        auths = call("GET", f"{api}/v2/registries/{REGISTRY}/docker-credentials?read_write=true").json()["auths"]
        creds = base64.b64decode(next(iter(auths.values()))["auth"]).decode()
        warm_up(api, host, root / "warm-up")
        baseline = memory(served.proc.pid, "VmRSS")

        # The largest image's manifest arrives 5 s late (real time): that push is still under
        # way when the collection starts, unless half the others take 5 s longer to end.
        call("POST", f"{api}/_docrsim/faults", json={
            "method": "PUT", "path": f"/v2/{REGISTRY}/{images[-1].repository}/manifests/*",
            "delay_ms": 5000, "times": 1})
        with Readers(api, TOKEN, images) as readers:
            pushes = [Push.start(image, host, creds) for image in images]
            # Mid-way: once half the pushes have ended.
            until("half the pushes ended", lambda: sum(p.done.is_set() for p in pushes) >= PUSHES // 2)
            # The run is held when it reaches scanning, so that what it deletes can be known
            # (asked for) once every push has ended, and compared with what it did.
            hold = call("POST", f"{api}/_docrsim/faults",
                        json={"gc_hold": {"registry": REGISTRY, "status": "scanning manifests"}}).json()
            gc_started = time.monotonic()
            call("POST", f"{api}/v2/registry/{REGISTRY}/garbage-collection", json={"type": GC_TYPE})
            # Through requested and the wait for the write tokens (15 minutes), a minute at a
            # time while the other pushes go on.
            for _ in range(16):
                advance(api, 60)
            until("scanning", lambda: gc_status(api) == "scanning manifests")
            for push in pushes:
                assert push.done.wait(WAIT), f"{push.image.ref()} still pushing after {WAIT}s"
            preview = call("GET", f"{api}/_docrsim/registries/{REGISTRY}/garbage").json()[GC_TYPE]
            stored_before = call("GET", f"{api}/v2/registries/{REGISTRY}").json()["registry"]["storage_usage_bytes"]
            call("DELETE", f"{api}/_docrsim/faults/{hold['id']}")
            # Scanning and deleting, a second at a time, the readers polling all along.
            for _ in range(600):
                if gc_status(api) in ("succeeded", "failed", "cancelled"):
                    break
                advance(api, 1)
        yield Run(served, args, api, host, creds, images, pushes, readers, gc_started, preview,
                  stored_before, baseline, time.monotonic() - started)
    finally:
        served.kill()


def test_each_push_landed_whole_or_was_refused_and_the_counters_add_up(run, tmp_path):
    landed = [p.image for p in run.pushes if p.landed]
    refused = [p for p in run.pushes if not p.landed]
    assert run.readers.errors == []
    assert len(landed) >= PUSHES // 2
    assert not run.pushes[-1].landed, "the collection started too late to refuse the delayed push"
    for push in refused:
        # Refused by the collection's read-only mode, never before it started.
        assert push.ended > run.gc_started, push.stderr
        assert "denied" in push.stderr.lower() or "unauthorized" in push.stderr.lower(), push.stderr

    # What the readers saw of the run went forward only.
    seen = [GC_ORDER.index(s) for s in run.readers.statuses]
    assert seen and seen == sorted(seen), run.readers.statuses

    # The repositories are exactly the landed images, each with its one tag and manifest.
    listed = call("GET", f"{run.api}/v2/registries/{REGISTRY}/repositoriesV2?per_page=200").json()["repositories"]
    assert sorted(r["name"] for r in listed) == sorted(i.repository for i in landed)
    for image in landed:
        tags = call("GET", f"{run.api}/v2/registries/{REGISTRY}/repositories/{image.repository}/tags").json()["tags"]
        assert [(t["tag"], t["manifest_digest"]) for t in tags] == [(image.tag, image.digest)]

    # The run deleted what it was going to, only objects of refused pushes, and the registry
    # now holds exactly the landed images.
    [finished] = call("GET", f"{run.api}/v2/registry/{REGISTRY}/garbage-collections").json()["garbage_collections"]
    assert finished["status"] == "succeeded"
    refused_objects = {d: s for p in refused for d, s in p.image.objects.items()}
    assert set(run.preview["digests"]) <= set(refused_objects)
    assert finished["blobs_deleted"] == run.preview["count"] == len(run.preview["digests"])
    assert finished["freed_bytes"] == run.preview["bytes"] == sum(refused_objects[d] for d in run.preview["digests"])
    stored = call("GET", f"{run.api}/v2/registries/{REGISTRY}").json()["registry"]["storage_usage_bytes"]
    assert stored == sum(i.stored_bytes for i in landed) == run.stored_before - finished["freed_bytes"]

    for image in landed:
        pull_matches(image, run.host, run.creds, tmp_path / image.repository)

    # Memory: the growth of the server's peak RSS over its RSS after the warm-up, against the
    # most it ever stored (before the run freed anything).
    growth = memory(run.served.proc.pid, "VmHWM") - run.baseline_rss
    print(f"\nload: {PUSHES} pushes of {UNIT // MiB} to {PUSHES * UNIT // MiB} MiB, {len(landed)} landed, "
          f"{len(refused)} refused; {run.readers.requests} DO API reads; stored at most "
          f"{run.stored_before / MiB:.1f} MiB, the collection deleted {finished['blobs_deleted']} objects "
          f"({finished['freed_bytes'] / MiB:.1f} MiB); server peak RSS grew {growth / MiB:.1f} MiB "
          f"({growth / run.stored_before:.2f}x); load {run.seconds:.1f}s")
    assert growth <= MEMORY_BOUND * run.stored_before

    # The saved form of the world (asked for after the peak was read: it copies every blob)
    # holds the same: the landed images' objects and nothing else.
    registry = next(r for r in state(run.api)["registries"] if r["name"] == REGISTRY)
    held = {b["digest"]: b["size"] for b in registry["blobs"]}
    assert held == {d: s for i in landed for d, s in i.objects.items()}
    assert registry["storage_usage_bytes"] == sum(held.values())


def state(api: str) -> dict:
    return call("GET", f"{api}/_docrsim/state").json()


def test_a_killed_server_comes_back_from_its_state_folder(run, tmp_path):
    landed = [p.image for p in run.pushes if p.landed]
    before = state(run.api)
    run.served.proc.kill()  # SIGKILL: no chance to save anything on the way out
    run.served.proc.wait(timeout=30)
    again = ServedProcess(*run.args)
    try:
        urls = again.wait_ready()
        api, host = urls["API host"], urls["registry host"].split("://", 1)[1]
        assert state(api) == before
        for image in landed:
            pull_matches(image, host, run.creds, tmp_path / image.repository)
    finally:
        again.kill()
