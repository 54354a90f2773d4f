"""Read-only mode holds at the instant content would land, not only when a request began.

A blob upload is authorised when its final request arrives, then streams its body, then
commits. If the push token expires meanwhile and the run starts scanning, the commit must be
refused: from its scan on, a run's registry takes no content at all.
"""

from __future__ import annotations

import threading
import time

import pytest

from tests.stateful.support import SCANNING, World, oci_code, sha256

FIXTURE = {
    "description": "read-only: a tagged image, so a run's scan takes a few simulated seconds",
    "clock": {"start": "2026-01-01T00:00:00Z"},
    "account": {"tier": "professional"},
    "registries": [{"name": "acme", "repositories": [{"name": "app", "manifests": [
        {"tags": ["v1"], "layers": [{"content": "one"}, {"content": "two"}]},
        {"tags": ["v2"], "layers": [{"content": "three"}]},
    ]}]}],
}


@pytest.fixture(scope="module")
def world():
    instance = World()
    yield instance
    instance.stop()


def test_an_upload_finishing_after_the_drain_is_refused(world):
    world.reset_to(FIXTURE)
    api, http = world.api, world.client()
    token = world.token(api, "acme", ["app"], push=True).json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    started = http.post(world.registry_url + "/v2/acme/app/blobs/uploads/", headers=auth)
    assert started.status_code == 202, started.text
    run = api.post(world.api_url + "/v2/registries/acme/garbage-collection", json={"type": "unreferenced blobs only"})
    assert run.status_code == 201, run.text

    data = b"a layer whose upload outlives its token" * 100
    go_on = threading.Event()

    def body():  # the first half at once, the rest once the run is scanning (chunked)
        yield data[:100]
        go_on.wait(10)
        yield data[100:]

    answers = []
    finisher = threading.Thread(target=lambda: answers.append(http.put(
        world.registry_url + started.headers["Location"], params={"digest": sha256(data)}, data=body(),
        headers={**auth, "Content-Type": "application/octet-stream"})))
    finisher.start()
    time.sleep(0.3)  # the server has authorised the final request and is reading its body
    moved = api.post(world.api_url + "/_docrsim/clock", json={"advance_seconds": 900})  # the token expires
    assert moved.status_code == 200, moved.text
    active = api.get(world.api_url + "/v2/registries/acme/garbage-collection").json()["garbage_collection"]
    assert active["status"] == SCANNING
    go_on.set()
    finisher.join(10)

    answer = answers[0]
    assert answer.status_code == 403 and oci_code(answer) == "DENIED", (answer.status_code, answer.text)
    assert active["uuid"] in answer.json()["errors"][0]["message"]
    stored = {b["digest"] for r in world.state()["registries"] for b in r["blobs"]}
    assert sha256(data) not in stored
    http.close()
