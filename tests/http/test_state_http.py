"""Exporting and importing the whole world over the control API: GET /_docrsim/state and
POST /_docrsim/reset with {"state": ...}. Every response is checked against our OpenAPI
document by the live session."""

from __future__ import annotations

import base64
import copy
import hashlib

import pytest

from docrsim.core.clock import SystemClock
from tests.conftest import START, start_live
from tests.documents import set_at

BASE = "/v2/registries/acme"
BOTH = "untagged manifests and unreferenced blobs"


def get_state(live) -> dict:
    answer = live.http.get(live.url("/_docrsim/state"))
    assert answer.status_code == 200
    return answer.json()


def put_state(live, document):
    return live.http.post(live.url("/_docrsim/reset"), json={"state": document})


def assert_refused(answer, words: str) -> None:
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["id"] == "unprocessable_entity" and words in body["message"], body["message"]


def busy(live) -> str:
    """Mint credentials, change content and leave a collection in the middle of deleting."""
    http = live.http
    assert http.put(live.url("/_docrsim/gc-rates"), json={"delete_objects_per_second": 1}).status_code == 200
    assert http.get(live.url(BASE + "/docker-credentials?read_write=true")).status_code == 200
    assert http.delete(live.url(BASE + "/repositories/web/tags/v1")).status_code == 204
    started = http.post(live.url(BASE + "/garbage-collection"), json={"type": BOTH})
    assert started.status_code == 201
    assert http.post(live.url("/_docrsim/clock"), json={"advance_seconds": 3.5}).status_code == 200
    run = http.get(live.url(BASE + "/garbage-collection")).json()["garbage_collection"]
    assert run["status"] == "deleting unreferenced blobs" and run["blobs_deleted"] > 0
    return run["uuid"]


def test_a_state_put_back_is_the_state_read(scenario):
    app = scenario("small-app")
    busy(app)
    saved = get_state(app)
    assert saved["format"] == "docrsim-state/1"
    assert app.http.post(app.url("/_docrsim/reset")).status_code == 204  # away from it...
    assert get_state(app) != saved
    assert put_state(app, saved).status_code == 204  # ...and back
    assert get_state(app) == saved


def test_an_imported_world_goes_on_as_the_exported_one(scenario):
    original = scenario("small-app")
    uuid = busy(original)
    copy_ = start_live(seed=42)  # another server: other seed, no scenario
    try:
        assert put_state(copy_, get_state(original)).status_code == 204
        for live in (original, copy_):
            assert live.http.get(live.url(BASE + "/garbage-collection")).json()["garbage_collection"]["uuid"] == uuid
            live.http.post(live.url("/_docrsim/clock"), json={"until_idle": True})
            again = live.http.post(live.url(BASE + "/garbage-collection"), json={"type": BOTH})
            assert again.status_code == 201
            live.http.post(live.url("/_docrsim/clock"), json={"until_idle": True})
        assert get_state(copy_) == get_state(original)
        runs = [live.http.get(live.url(BASE + "/garbage-collections")).json() for live in (original, copy_)]
        assert runs[0] == runs[1]  # the second run's uuid included: ids go on as they would have
    finally:
        copy_.http.close()
        copy_.server.stop()


def test_a_plain_reset_after_an_import_returns_to_the_start_up_scenario(scenario, live):
    app = scenario("small-app")
    initial = get_state(app)
    assert put_state(app, get_state(live)).status_code == 204  # the empty world
    assert get_state(app)["registries"] == []
    assert app.http.post(app.url("/_docrsim/reset")).status_code == 204
    assert get_state(app) == initial


def test_a_manual_clock_follows_the_state_and_the_system_clock_does_not(scenario, live):
    app = scenario("small-app")
    app.advance(86400)
    saved = get_state(app)
    assert put_state(live, saved).status_code == 204
    assert live.http.get(live.url("/_docrsim/clock")).json()["now"] == saved["clock"]["now"]
    live.sim.clock = SystemClock()
    assert put_state(live, saved).status_code == 204
    assert get_state(live)["clock"]["kind"] == "system"
    assert get_state(live)["registries"] == saved["registries"]


@pytest.mark.parametrize("change, words", [
    (set_at(["format"], "docrsim-state/0"), "format: expected 'docrsim-state/1'"),
    (set_at(["registries", 0, "blobs", 0, "size"], -1), "registries[0].blobs[0].size"),
    (set_at(["registries", 0, "repositories", 0, "tags"], [{"tag": "x", "manifest_digest": "sha256:" + "1" * 64,
                                                            "updated_at": "2026-01-01T00:00:00Z"}]),
     "registries[0].repositories[0].tags[0].manifest_digest"),
    (set_at(["clock", "now"], "soon"), "clock.now"),
    (lambda d: d.pop("registries"), "'registries' is a required property"),
])
def test_a_malformed_state_is_422_naming_what_is_wrong_and_changes_nothing(scenario, change, words):
    app = scenario("small-app")
    busy(app)
    before = get_state(app)
    document = copy.deepcopy(before)
    change(document)
    assert_refused(put_state(app, document), words)
    assert get_state(app) == before


@pytest.mark.parametrize("body, words", [
    ({"state": "docrsim-state/1"}, "a saved state is a JSON object"),
    ({"state": {}, "fixture": {}}, "at most one of 'fixture' or 'state'"),
    ({"states": {}}, "unknown field"),
])
def test_other_reset_bodies_are_refused(scenario, body, words):
    app = scenario("small-app")
    before = get_state(app)
    assert_refused(app.http.post(app.url("/_docrsim/reset"), json=body), words)
    assert get_state(app) == before


def test_a_state_may_be_larger_than_any_do_api_body(live):
    """The API host takes at most 16 MiB per request; a saved world may weigh more."""
    data = bytes(range(256)) * (13 * 4096)  # 13 MiB: more than 16 MiB once in base64
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    document = get_state(live)
    document["registries"] = [{
        "name": "big", "region": "nyc3", "created_at": "2026-01-01T00:00:00Z",
        "storage_usage_bytes": len(data), "storage_usage_bytes_updated_at": "2026-01-01T00:00:00Z",
        "blobs": [{"digest": digest, "size": len(data), "synthetic": False, "base64": base64.b64encode(data).decode()}],
        "repositories": [], "blob_links": [], "write_tokens": [], "gc_fault": None, "garbage_collections": [],
    }]
    assert put_state(live, document).status_code == 204
    assert live.sim.account.registry("big").content.blobs.data(digest) == data
    assert live.sim.now() == START
