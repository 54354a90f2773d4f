"""Clean-up jobs and garbage collection, written the way a pydo user writes them.

pydo's ``registries.run_garbage_collection`` sends no body, so it always runs DO's default type
(``unreferenced blobs only``); choosing a type takes the older ``registry.run_garbage_collection``
with ``body={"type": ...}``. A run is watched by polling ``get_garbage_collection`` until it
answers 404 (pydo returns that body, it does not raise), while the test moves docrsim's clock.
"""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError

from tests.clients.pydo_support import page_number, page_token, with_status
from tests.clients.pydo_support import pydo_client  # noqa: F401  (a fixture)

UNTAGGED_AND_BLOBS = "untagged manifests and unreferenced blobs"
DANGLING = "layer of an image deleted before this scenario begins"  # small-app's only unreferenced blob
LIFECYCLE = ["requested", "waiting for write JWTs to expire", "scanning manifests",
             "deleting unreferenced blobs", "succeeded"]


# -- what a pydo user's clean-up script looks like ------------------------------------------------
def delete_superseded_tags(client, registry: str, max_pages: int = 100) -> list[tuple[str, str]]:
    """In every repository keep the tags of the newest tagged image; delete all other tags."""
    deleted, token = [], None
    for _ in range(max_pages):
        page = client.registries.list_repositories_v2(registry, per_page=1, page_token=token)
        for repo in page["repositories"]:
            manifests = client.registries.list_repository_manifests(registry, repo["name"], per_page=200)["manifests"]
            tagged = sorted((m for m in manifests if m["tags"]), key=lambda m: m["updated_at"], reverse=True)
            keep = set(tagged[0]["tags"]) if tagged else set()
            for tag in client.registries.list_repository_tags(registry, repo["name"], per_page=200)["tags"]:
                if tag["tag"] not in keep:
                    client.registries.delete_repository_tag(registry, repo["name"], tag["tag"])
                    deleted.append((repo["name"], tag["tag"]))
        following = page["links"].get("pages", {}).get("next")
        if following is None:
            return deleted
        token = page_token(following)
    raise AssertionError(f"still a next page after {max_pages} pages")


def watch(get_active, live, registry: str, step: float = 0.05, limit: int = 2000) -> list[str]:
    """Poll the active run, moving the clock ``step`` seconds between polls; its statuses seen."""
    statuses = []
    for _ in range(limit):
        active = get_active(registry)
        if "garbage_collection" not in active:
            assert active["id"] == "not_found"
            return statuses
        statuses.append(active["garbage_collection"]["status"])
        live.advance(step)
    raise AssertionError(f"garbage collection still active after {limit} polls: {statuses[-3:]}")


def run_until_idle(live) -> None:
    """Ask docrsim to move its clock until no garbage collection is active."""
    answer = live.http.post(live.url("/_docrsim/clock"), json={"until_idle": True})
    assert answer.status_code == 200, answer.text


def assert_lifecycle_order(statuses: list[str]) -> None:
    assert statuses and statuses[0] == "requested"
    positions = [LIFECYCLE.index(s) for s in statuses]
    assert positions == sorted(positions), statuses


def digests(manifests) -> set[str]:
    return {m["digest"] for m in manifests}


# -- the tests ------------------------------------------------------------------------------------
def test_clean_up_job_deletes_old_tags_and_collects_untagged_images(scenario, pydo_client):
    live = scenario("small-app")
    client = pydo_client(live)
    before = client.registries.get("acme")["registry"]
    web_before = client.registries.list_repository_manifests("acme", "web")["manifests"]
    tools_before = client.registries.list_repository_manifests("acme", "tools/migrate")["manifests"]

    assert delete_superseded_tags(client, "acme") == [("web", "v1")]
    # The job walked the repositories one per page, by page token.
    walked = [s.path for s in client.seen if s.operation_id == "registries_list_repositoriesV2"]
    assert len(walked) == 2

    started = client.registry.run_garbage_collection("acme", body={"type": UNTAGGED_AND_BLOBS})["garbage_collection"]
    assert (started["status"], started["type"]) == ("requested", UNTAGGED_AND_BLOBS)
    assert (started["blobs_deleted"], started["freed_bytes"]) == (0, 0)
    assert started["registry_name"] == "acme" and started["created_at"] == "2026-01-01T00:00:00Z"
    assert client.registries.get("acme")["registry"]["read_only"] is True

    statuses = watch(client.registries.get_garbage_collection, live, "acme")
    assert_lifecycle_order(statuses)
    assert len(set(statuses)) >= 2  # the run was seen at work, not only requested

    history = client.registries.list_garbage_collections("acme")
    assert history["meta"] == {"total": 1}
    done = history["garbage_collections"][0]
    assert (done["uuid"], done["status"], done["type"]) == (started["uuid"], "succeeded", UNTAGGED_AND_BLOBS)
    assert done["updated_at"] > done["created_at"] == started["created_at"]

    after = client.registries.get("acme")["registry"]
    assert after["read_only"] is False
    assert after["storage_usage_bytes_updated_at"] > before["storage_usage_bytes_updated_at"]
    assert done["freed_bytes"] == before["storage_usage_bytes"] - after["storage_usage_bytes"] > 0

    # The old v1 build and the build re-tagged away are gone; v2 and its signature are not.
    web_after = client.registries.list_repository_manifests("acme", "web")["manifests"]
    assert [m["tags"] for m in web_after] == [[], ["latest", "v2"]]
    assert web_after[0]["updated_at"] == "2025-12-04T10:05:00Z"  # the signature refers to v2
    assert {t["tag"] for t in client.registries.list_repository_tags("acme", "web")["tags"]} == {"latest", "v2"}
    assert client.registries.list_repository_manifests("acme", "tools/migrate")["manifests"] == tools_before

    removed = [m for m in web_before if m["digest"] not in digests(web_after)]
    assert len(removed) == 2
    still_used = {b["digest"] for m in web_after + tools_before for b in m["blobs"]}
    orphaned = {b["digest"]: b["compressed_size_bytes"] for m in removed for b in m["blobs"]
                if b["digest"] not in still_used}
    assert len(orphaned) == 4  # each build's config and application layer; the base layer is shared
    # Each removed manifest, each blob it alone used, and the blob dangling since the start.
    assert done["blobs_deleted"] == len(removed) + len(orphaned) + 1 == 7
    # The counted bytes include the two manifests' own documents.
    assert done["freed_bytes"] > sum(orphaned.values()) + len(DANGLING)


def test_current_family_runs_the_default_type(scenario, pydo_client):
    live = scenario("small-app")
    client = pydo_client(live)
    web = client.registries.list_repository_manifests("acme", "web")["manifests"]
    v1 = next(m for m in web if m["tags"] == ["v1"])
    assert client.registries.delete_repository_manifest("acme", "web", v1["digest"]) is None
    storage = client.registries.get("acme")["registry"]["storage_usage_bytes"]

    started = client.registries.run_garbage_collection("acme")["garbage_collection"]
    assert started["type"] == "unreferenced blobs only"
    assert client.registry.get_garbage_collection("acme")["garbage_collection"]["uuid"] == started["uuid"]
    assert_lifecycle_order(watch(client.registry.get_garbage_collection, live, "acme"))

    done = client.registry.list_garbage_collections("acme")["garbage_collections"][0]
    assert (done["uuid"], done["status"]) == (started["uuid"], "succeeded")
    # v1's manifest, its config and its application layer, and the dangling layer; the
    # re-tagged build is untagged but still a manifest, so it and its blobs stay.
    left = client.registries.list_repository_manifests("acme", "web")["manifests"]
    assert len(left) == 3 and v1["digest"] not in digests(left)
    assert done["blobs_deleted"] == 4
    own_blobs = sorted(b["compressed_size_bytes"] for b in v1["blobs"])[:2]  # app layer, config (not the base)
    assert done["freed_bytes"] > sum(own_blobs) + len(DANGLING)
    assert done["freed_bytes"] == storage - client.registries.get("acme")["registry"]["storage_usage_bytes"]


def test_a_deleted_repository_is_freed_by_the_next_collection(scenario, pydo_client):
    live = scenario("small-app")
    client = pydo_client(live)
    image = client.registries.list_repository_manifests("acme", "tools/migrate")["manifests"][0]
    storage = client.registries.get("acme")["registry"]["storage_usage_bytes"]
    assert client.registries.delete_repository("acme", "tools/migrate") is None
    assert [r["name"] for r in client.registries.list_repositories_v2("acme")["repositories"]] == ["web"]
    assert client.registries.list()["total_storage_usage_bytes"] == storage  # nothing freed yet

    client.registries.run_garbage_collection("acme")
    watch(client.registries.get_garbage_collection, live, "acme")
    done = client.registries.list_garbage_collections("acme")["garbage_collections"][0]
    # The image's manifest and its three blobs (the 30 MiB base among them), and the dangling layer.
    assert (done["status"], done["blobs_deleted"]) == ("succeeded", 1 + 3 + 1)
    assert done["freed_bytes"] > image["compressed_size_bytes"] + len(DANGLING)
    listed = client.registries.list()
    assert listed["total_storage_usage_bytes"] == storage - done["freed_bytes"] < storage - 31457280
    assert listed["registries"][0]["storage_usage_bytes"] == listed["total_storage_usage_bytes"]


def test_cancel_through_both_families(scenario, pydo_client):
    live = scenario("small-app")
    client = pydo_client(live)
    run = client.registry.run_garbage_collection("acme", body={"type": UNTAGGED_AND_BLOBS})["garbage_collection"]

    unchanged = client.registry.update_garbage_collection("acme", run["uuid"], body={"cancel": False})
    assert unchanged["garbage_collection"]["status"] == "requested"
    cancelling = client.registries.update_garbage_collection("acme", run["uuid"], body={"cancel": True})
    assert cancelling["garbage_collection"]["status"] == "cancelling"
    assert client.registries.get("acme")["registry"]["read_only"] is True

    live.advance(60)
    done = client.registries.list_garbage_collections("acme")["garbage_collections"][0]
    assert (done["uuid"], done["status"]) == (run["uuid"], "cancelled")
    assert (done["blobs_deleted"], done["freed_bytes"]) == (0, 0)  # stopped before deleting anything
    assert client.registries.get("acme")["registry"]["read_only"] is False
    assert client.registries.list_repositories_v2("acme")["repositories"][1]["manifest_count"] == 4

    for update in (client.registries.update_garbage_collection, client.registry.update_garbage_collection):
        status, body, _ = update("acme", run["uuid"], body={"cancel": True}, cls=with_status)
        assert status == 404 and body["id"] == "not_found" and run["uuid"] in body["message"]
    with pytest.raises(HttpResponseError) as bad:
        client.registries.update_garbage_collection("acme", run["uuid"], body={"cancel": "yes"})
    assert bad.value.status_code == 422 and "cancel must be a boolean" in bad.value.response.json()["message"]


def test_content_is_frozen_while_a_run_is_active(scenario, pydo_client):
    live = scenario("small-app")
    client = pydo_client(live)
    run = client.registries.run_garbage_collection("acme")["garbage_collection"]
    web = client.registries.list_repository_manifests("acme", "web")["manifests"]
    refusals = [
        lambda: client.registries.run_garbage_collection("acme"),
        lambda: client.registry.run_garbage_collection("acme", body={"type": "untagged manifests only"}),
        lambda: client.registries.delete_repository_tag("acme", "web", "v1"),
        lambda: client.registry.delete_repository_manifest("acme", "web", web[0]["digest"]),
        lambda: client.registries.delete_repository("acme", "tools/migrate"),
        lambda: client.registries.delete("acme"),
    ]
    for refused in refusals:
        with pytest.raises(ResourceExistsError) as conflict:
            refused()
        body = conflict.value.response.json()
        assert conflict.value.status_code == 409 and body["id"] == "conflict"
        assert run["uuid"] in body["message"]
    assert client.registries.list_repository_tags("acme", "web")["meta"]["total"] == 3
    assert client.registries.list_garbage_collections("acme")["meta"]["total"] == 1

    watch(client.registries.get_garbage_collection, live, "acme")
    assert client.registries.delete_repository_tag("acme", "web", "v1") is None  # writable again


def test_run_history_is_newest_first_and_paginated(scenario, pydo_client):
    live = scenario("small-app")
    client = pydo_client(live)
    web = client.registries.list_repository_manifests("acme", "web")["manifests"]
    retagged = next(m for m in web if m["updated_at"] == "2025-12-03T10:00:00Z")  # untagged build
    shared = {b["digest"] for m in web if m is not retagged for b in m["blobs"]}
    retagged_own = [b["compressed_size_bytes"] for b in retagged["blobs"] if b["digest"] not in shared]
    assert len(retagged_own) == 2  # its config and its application layer

    kinds = ["unreferenced blobs only", "untagged manifests only", UNTAGGED_AND_BLOBS]
    uuids = []
    for kind in kinds:
        uuids.append(client.registry.run_garbage_collection("acme", body={"type": kind})["garbage_collection"]["uuid"])
        run_until_idle(live)
        assert client.registry.get_garbage_collection("acme")["id"] == "not_found"  # none active
        live.advance(60)
    first = client.registries.list_garbage_collections("acme", per_page=2)
    assert first["meta"] == {"total": 3}
    assert [r["uuid"] for r in first["garbage_collections"]] == uuids[::-1][:2]
    assert page_number(first["links"]["pages"]["last"]) == 2
    second = client.registry.list_garbage_collections("acme", per_page=2, page=2)
    assert [(r["uuid"], r["type"]) for r in second["garbage_collections"]] == [(uuids[0], kinds[0])]
    runs = {r["type"]: r for r in first["garbage_collections"] + second["garbage_collections"]}
    assert {r["status"] for r in runs.values()} == {"succeeded"}
    # First the dangling layer; then the untagged build is unlinked, taking only its own
    # document; last the config and layer that build alone used.
    assert (runs[kinds[0]]["blobs_deleted"], runs[kinds[0]]["freed_bytes"]) == (1, len(DANGLING))
    assert runs[kinds[1]]["blobs_deleted"] == 1 and runs[kinds[1]]["freed_bytes"] > 0
    assert (runs[kinds[2]]["blobs_deleted"], runs[kinds[2]]["freed_bytes"]) == (2, sum(retagged_own))
    left = client.registries.list_repository_manifests("acme", "web")["manifests"]
    assert retagged["digest"] not in digests(left) and len(left) == 3


def test_an_index_protects_its_untagged_children(scenario, pydo_client):
    live = scenario("multi-arch")
    client = pydo_client(live)
    before = client.registries.list_repository_manifests("multiarch", "tool")["manifests"]
    index = next(m for m in before if m["tags"])
    children = {b["digest"] for b in index["blobs"]}

    client.registry.run_garbage_collection("multiarch", body={"type": UNTAGGED_AND_BLOBS})
    assert_lifecycle_order(watch(client.registry.get_garbage_collection, live, "multiarch"))
    done = client.registry.list_garbage_collections("multiarch")["garbage_collections"][0]
    assert done["status"] == "succeeded"

    after = client.registries.list_repository_manifests("multiarch", "tool")["manifests"]
    assert digests(after) == {index["digest"]} | children  # the old index and its two images are gone
    gone = [m for m in before if m["digest"] not in digests(after)]
    old_index = next(m for m in gone if {b["digest"] for b in m["blobs"]} <= digests(gone))
    old_images = [m for m in gone if m is not old_index]
    assert len(old_images) == 2
    assert {max(b["compressed_size_bytes"] for b in m["blobs"]) for m in old_images} == {2000000, 1900000}
    # Three manifests, and each old image's config and layer.
    assert done["blobs_deleted"] == 3 + 4
    assert done["freed_bytes"] > sum(b["compressed_size_bytes"] for m in old_images for b in m["blobs"])
