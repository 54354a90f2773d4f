"""Garbage collection through the DO API: start, watch, cancel, list, and its read-only effects."""

from __future__ import annotations

import pytest

BASE = "/v2/registries/acme"
OLDER = "/v2/registry/acme"
DANGLING = "layer of an image deleted before this scenario begins"


@pytest.fixture
def app(scenario):
    return scenario("small-app")


def stored(live) -> tuple[int, int]:
    blobs = live.sim.account.registry("acme").content.blobs
    return len(blobs), blobs.total_bytes


def run_to_the_end(live) -> None:
    answer = live.http.post(live.url("/_docrsim/clock"), json={"until_idle": True})
    assert answer.status_code == 200


def test_a_run_without_body_collects_unreferenced_blobs(app):
    count_before, bytes_before = stored(app)
    started = app.http.post(app.url(BASE + "/garbage-collection"))
    assert started.status_code == 201
    run = started.json()["garbage_collection"]
    assert run["status"] == "requested" and run["type"] == "unreferenced blobs only"
    assert (run["blobs_deleted"], run["freed_bytes"]) == (0, 0)
    assert run["registry_name"] == "acme" and run["created_at"] == run["updated_at"] == "2026-01-01T00:00:00Z"
    assert app.http.get(app.url(BASE + "/garbage-collection")).json()["garbage_collection"]["uuid"] == run["uuid"]
    assert app.http.get(app.url(BASE)).json()["registry"]["read_only"] is True

    app.advance(3600)
    run_to_the_end(app)
    finished = app.http.get(app.url(BASE + "/garbage-collections")).json()
    assert finished["meta"]["total"] == 1
    done = finished["garbage_collections"][0]
    assert done["uuid"] == run["uuid"] and done["status"] == "succeeded"
    # Only the dangling layer is unreferenced: the untagged build still links its blobs.
    assert (done["blobs_deleted"], done["freed_bytes"]) == (1, len(DANGLING))
    assert stored(app) == (count_before - 1, bytes_before - len(DANGLING))

    registry = app.http.get(app.url(BASE)).json()["registry"]
    assert registry["read_only"] is False
    assert registry["storage_usage_bytes"] == bytes_before - len(DANGLING)
    assert registry["storage_usage_bytes_updated_at"] > "2026-01-01T00:00:00Z"
    assert app.http.get(app.url(BASE + "/garbage-collection")).status_code == 404


def test_untagged_manifests_and_blobs_on_the_older_family(app):
    digests = app.http.get(app.url(BASE + "/repositories/web/digests")).json()["manifests"]
    untagged = [m["digest"] for m in digests if not m["tags"]]
    assert len(untagged) == 2  # the re-tagged build and the signature of v2
    count_before, bytes_before = stored(app)
    started = app.http.post(app.url(OLDER + "/garbage-collection"), json={"type": "untagged manifests and unreferenced blobs"})
    assert started.status_code == 201
    run_to_the_end(app)
    done = app.http.get(app.url(OLDER + "/garbage-collections")).json()["garbage_collections"][0]
    assert done["status"] == "succeeded"
    left = {m["digest"] for m in app.http.get(app.url(BASE + "/repositories/web/digests")).json()["manifests"]}
    # The signature refers to the tagged v2, so it is not garbage; the old build is.
    signature = next(m for m in digests if not m["tags"] and m["updated_at"] == "2025-12-04T10:05:00Z")["digest"]
    assert signature in left and not (set(untagged) - {signature}) & left
    count_after, bytes_after = stored(app)
    assert done["blobs_deleted"] == count_before - count_after > 1
    assert done["freed_bytes"] == bytes_before - bytes_after


def test_only_one_active_run_and_content_is_frozen(app):
    run = app.http.post(app.url(BASE + "/garbage-collection"), json={"type": "untagged manifests only"}).json()["garbage_collection"]
    again = app.http.post(app.url(BASE + "/garbage-collection"))
    assert again.status_code == 409 and again.json()["id"] == "conflict"
    for path in ("/repositories/web/tags/v1", "/repositories/web", "/repositories/tools%2Fmigrate"):
        refused = app.http.delete(app.url(BASE + path))
        assert refused.status_code == 409
        assert run["uuid"] in refused.json()["message"]
    assert app.http.delete(app.url(BASE)).status_code == 409
    assert app.http.get(app.url(BASE + "/repositories/web/tags")).json()["meta"]["total"] == 3


def test_cancel_keeps_what_was_deleted_and_lifts_read_only(app):
    run = app.http.post(app.url(BASE + "/garbage-collection"), json={"type": "untagged manifests and unreferenced blobs"}).json()["garbage_collection"]
    cancelled = app.http.put(app.url(BASE + f"/garbage-collection/{run['uuid']}"), json={"cancel": True})
    assert cancelled.status_code == 200
    assert cancelled.json()["garbage_collection"]["status"] == "cancelling"
    app.advance(60)
    history = app.http.get(app.url(BASE + "/garbage-collections")).json()["garbage_collections"]
    assert history[0]["status"] == "cancelled"
    assert (history[0]["blobs_deleted"], history[0]["freed_bytes"]) == (0, 0)  # cancelled before deleting
    assert app.http.get(app.url(BASE)).json()["registry"]["read_only"] is False
    again = app.http.put(app.url(BASE + f"/garbage-collection/{run['uuid']}"), json={"cancel": True})
    assert again.status_code == 404


def test_history_is_newest_first_and_paginated(app):
    uuids = []
    for _ in range(3):
        uuids.append(app.http.post(app.url(BASE + "/garbage-collection")).json()["garbage_collection"]["uuid"])
        run_to_the_end(app)
        app.advance(60)
    page = app.http.get(app.url(BASE + "/garbage-collections?per_page=2")).json()
    assert page["meta"]["total"] == 3
    assert [r["uuid"] for r in page["garbage_collections"]] == uuids[::-1][:2]
    assert "last" in page["links"]["pages"]


@pytest.mark.parametrize(
    "method, path, body, status",
    [
        ("POST", BASE + "/garbage-collection", {"type": "everything"}, 422),
        ("POST", BASE + "/garbage-collection", {"type": 3}, 422),
        ("POST", BASE + "/garbage-collection", {"kind": "untagged manifests only"}, 422),
        ("POST", "/v2/registries/nope/garbage-collection", None, 404),
        ("GET", BASE + "/garbage-collection", None, 404),
        ("GET", "/v2/registry/nope/garbage-collections", None, 404),
        ("PUT", BASE + "/garbage-collection/00000000-0000-4000-8000-000000000000", {"cancel": True}, 404),
        ("PUT", BASE + "/garbage-collection/00000000-0000-4000-8000-000000000000", {}, 422),
        ("PUT", BASE + "/garbage-collection/00000000-0000-4000-8000-000000000000", {"cancel": "yes"}, 422),
    ],
)
def test_gc_errors(app, method, path, body, status):
    before = app.sim.export_state()
    answer = app.http.request(method, app.url(path), json=body)
    assert answer.status_code == status, answer.text
    assert app.sim.export_state() == before


def test_cancel_false_changes_nothing(app):
    run = app.http.post(app.url(BASE + "/garbage-collection")).json()["garbage_collection"]
    answer = app.http.put(app.url(BASE + f"/garbage-collection/{run['uuid']}"), json={"cancel": False})
    assert answer.status_code == 200 and answer.json()["garbage_collection"]["status"] == "requested"
