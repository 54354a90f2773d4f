"""The README's cleanup session, replayed over HTTP on fixtures/cleanup-drain.yaml."""

from __future__ import annotations

import pytest

GC = "/v2/registry/shop/garbage-collection"
TAGS = "/v2/registry/shop/repositories/api/tags"
INCLUDE_UNTAGGED = {"type": "untagged manifests and unreferenced blobs"}


@pytest.fixture
def shop(scenario):
    live = scenario("cleanup-drain")
    # Slow deletion down so the run can be caught, and cancelled, halfway.
    assert live.http.put(live.url("/_docrsim/gc-rates"), json={"delete_objects_per_second": 0.5}).status_code == 200
    return live


def clock(live, **body):
    answer = live.http.post(live.url("/_docrsim/clock"), json=body)
    assert answer.status_code == 200
    return answer.json()["now"]


def active(live):
    return live.http.get(live.url(GC)).json()["garbage_collection"]


def history(live):
    return live.http.get(live.url("/v2/registry/shop/garbage-collections")).json()["garbage_collections"]


def run_once_uninterrupted(live):
    for tag in ("1.0", "1.1"):
        assert live.http.delete(live.url(f"{TAGS}/{tag}")).status_code == 204
    live.http.post(live.url(GC), json=INCLUDE_UNTAGGED)
    clock(live, until_idle=True)
    return history(live)[0]


def test_the_run_waits_for_the_write_token_then_deletes(shop):
    for tag in ("1.0", "1.1"):
        assert shop.http.delete(shop.url(f"{TAGS}/{tag}")).status_code == 204
    started = shop.http.post(shop.url(GC), json=INCLUDE_UNTAGGED).json()["garbage_collection"]
    assert (started["status"], started["created_at"]) == ("requested", "2026-03-02T09:00:00Z")

    clock(shop, advance_seconds=300)
    assert active(shop)["status"] == "waiting for write JWTs to expire"
    refused = shop.http.delete(shop.url(f"{TAGS}/latest"))
    assert refused.status_code == 409 and started["uuid"] in refused.json()["message"]

    # The token pushed at 08:55 expires at 09:10: only then does the scan begin.
    clock(shop, set="2026-03-02T09:09:59Z")
    assert active(shop)["status"] == "waiting for write JWTs to expire"
    clock(shop, set="2026-03-02T09:10:00Z")
    assert active(shop)["status"] == "scanning manifests"

    clock(shop, advance_seconds=7)
    midway = active(shop)
    assert midway["status"] == "deleting unreferenced blobs" and 0 < midway["blobs_deleted"] < 10


def test_cancel_keeps_partial_counters_and_a_second_run_finishes_the_job(shop, scenario):
    whole = run_once_uninterrupted(scenario("cleanup-drain"))
    assert whole["status"] == "succeeded" and whole["blobs_deleted"] == 10

    for tag in ("1.0", "1.1"):
        shop.http.delete(shop.url(f"{TAGS}/{tag}"))
    first = shop.http.post(shop.url(GC), json=INCLUDE_UNTAGGED).json()["garbage_collection"]
    clock(shop, set="2026-03-02T09:10:07Z")
    partial = active(shop)
    assert partial["status"] == "deleting unreferenced blobs"
    cancel = shop.http.put(shop.url(f"{GC}/{first['uuid']}"), json={"cancel": True}).json()["garbage_collection"]
    assert cancel["status"] == "cancelling"
    clock(shop, until_idle=True)
    cancelled = history(shop)[0]
    assert cancelled["status"] == "cancelled"
    assert partial["blobs_deleted"] <= cancelled["blobs_deleted"] < whole["blobs_deleted"]

    shop.http.post(shop.url(GC), json=INCLUDE_UNTAGGED)
    clock(shop, until_idle=True)
    second = history(shop)[0]
    assert second["status"] == "succeeded"
    # Nothing is lost or counted twice across the cancel.
    assert cancelled["blobs_deleted"] + second["blobs_deleted"] == whole["blobs_deleted"]
    assert cancelled["freed_bytes"] + second["freed_bytes"] == whole["freed_bytes"]
    tags = {t["tag"] for t in shop.http.get(shop.url(TAGS)).json()["tags"]}
    assert tags == {"1.2", "latest"}
