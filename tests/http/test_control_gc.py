"""The control API's garbage-collection aids over real HTTP: until_idle, the garbage preview,
injected GC faults and the GC rates."""

from __future__ import annotations

from freezegun import freeze_time

from docrsim.core.clock import SystemClock, format_exact_instant, format_instant
from docrsim.core.gc import GC_TYPES

BASE = "/v2/registries/acme"
SMALL_APP = {
    "clock": {"start": "2026-01-01T00:00:00Z"},
    "registries": [{
        "name": "acme",
        "repositories": [{"name": "web", "manifests": [
            {"tags": ["v1"], "layers": [{"content": "base"}, {"content": "v1 files"}]},
            {"layers": [{"content": "base"}, {"content": "files of an untagged build"}]},
        ]}],
        "blobs": [{"content": "a dangling layer"}],
        # Issued five minutes before the start: a run waits ten more minutes for it.
        "write_tokens": [{"issued_at": "2025-12-31T23:55:00Z"}],
    }],
}


def reset(live, document=SMALL_APP):
    answer = live.http.post(live.url("/_docrsim/reset"), json={"fixture": document})
    assert answer.status_code == 204, answer.text


def clock(live, body):
    return live.http.post(live.url("/_docrsim/clock"), json=body)


def start_gc(live, gc_type=GC_TYPES[2]):
    answer = live.http.post(live.url(BASE + "/garbage-collection"), json={"type": gc_type})
    assert answer.status_code == 201, answer.text
    return answer.json()["garbage_collection"]


def newest_run(live):
    return live.http.get(live.url(BASE + "/garbage-collections")).json()["garbage_collections"][0]


def assert_error(answer, status, words=""):
    assert answer.status_code == status, answer.text
    assert words in answer.json()["message"]


# -- until_idle ---------------------------------------------------------------------------------

def test_until_idle_is_a_no_op_when_no_run_is_active(live):
    reset(live)
    answer = clock(live, {"until_idle": True})
    assert answer.status_code == 200
    assert answer.json() == {"now": "2026-01-01T00:00:00Z", "kind": "manual"}


def test_until_idle_stops_where_the_last_run_ends(live):
    reset(live)
    run = start_gc(live)
    with live.sim.transaction():
        expected = live.sim.gc.idle_at()
    assert expected > live.sim.now().replace(minute=10)  # the write token holds it back
    answer = clock(live, {"until_idle": True})
    assert answer.status_code == 200 and answer.json()["now"] == format_exact_instant(expected)
    assert live.sim.now() == expected
    done = newest_run(live)
    assert done["uuid"] == run["uuid"] and done["status"] == "succeeded"
    assert live.http.get(live.url(BASE)).json()["registry"]["read_only"] is False
    assert clock(live, {"until_idle": True}).json()["now"] == format_exact_instant(expected)


def test_a_long_advance_ends_a_run_exactly_as_a_single_jump_would(live):
    reset(live)
    preview = live.http.get(live.url("/_docrsim/registries/acme/garbage")).json()[GC_TYPES[2]]
    start_gc(live)
    with live.sim.transaction():
        ends = live.sim.gc.idle_at()
    answer = clock(live, {"advance_seconds": 3600})  # stepped through the run's checkpoints
    assert answer.json()["now"] == "2026-01-01T01:00:00Z"
    done = newest_run(live)
    assert done["status"] == "succeeded" and done["updated_at"] == format_instant(ends)
    assert (done["blobs_deleted"], done["freed_bytes"]) == (preview["count"], preview["bytes"])


def test_until_idle_wants_true_and_alone(live):
    assert_error(clock(live, {"until_idle": False}), 422, "until_idle must be true")
    assert_error(clock(live, {"until_idle": True, "advance_seconds": 1}), 422, "exactly one")


def test_until_idle_cannot_move_the_system_clock(live):
    reset(live)
    live.sim.clock = SystemClock()
    with freeze_time("2026-01-01T00:00:00Z"):
        assert clock(live, {"until_idle": True}).status_code == 200  # idle: nothing to move
        start_gc(live)
        assert_error(clock(live, {"until_idle": True}), 422, "--clock manual")


# -- garbage preview ----------------------------------------------------------------------------

def test_the_preview_matches_what_a_run_then_deletes(live):
    reset(live)
    answer = live.http.get(live.url("/_docrsim/registries/acme/garbage"))
    assert answer.status_code == 200
    preview = answer.json()
    assert list(preview) == list(GC_TYPES)
    assert preview[GC_TYPES[0]]["count"] == 1 and preview[GC_TYPES[0]]["bytes"] == len("a dangling layer")
    assert preview[GC_TYPES[1]]["count"] == 1  # the untagged build's own bytes
    # The build's bytes, its config, its own layer and the dangling layer.
    assert preview[GC_TYPES[2]]["count"] == 4 == len(preview[GC_TYPES[2]]["digests"])
    start_gc(live)
    clock(live, {"until_idle": True})
    done = newest_run(live)
    assert (done["blobs_deleted"], done["freed_bytes"]) == (preview[GC_TYPES[2]]["count"], preview[GC_TYPES[2]]["bytes"])
    after = live.http.get(live.url("/_docrsim/registries/acme/garbage")).json()
    assert all(entry == {"count": 0, "bytes": 0, "digests": []} for entry in after.values())


def test_the_preview_of_an_unknown_registry_is_404(live):
    assert_error(live.http.get(live.url("/_docrsim/registries/nope/garbage")), 404, "nope")


# -- GC faults ----------------------------------------------------------------------------------

def test_an_injected_fault_fails_the_next_run_only(live):
    reset(live)
    answer = live.http.post(live.url("/_docrsim/faults/gc"),
                            json={"registry": "acme", "fail_in": "deleting unreferenced blobs"})
    assert answer.status_code == 204 and answer.content == b""
    start_gc(live)
    clock(live, {"until_idle": True})
    failed = newest_run(live)
    assert failed["status"] == "failed" and 0 < failed["blobs_deleted"] < 4
    assert live.http.get(live.url(BASE)).json()["registry"]["read_only"] is False
    start_gc(live)
    clock(live, {"until_idle": True})
    assert newest_run(live)["status"] == "succeeded"


def test_fault_requests_are_checked(live):
    reset(live)
    url = live.url("/_docrsim/faults/gc")
    assert_error(live.http.post(url, json={"registry": "nope", "fail_in": "requested"}), 404, "nope")
    assert_error(live.http.post(url, json={"registry": "acme", "fail_in": "succeeded"}), 422, "succeeded")
    assert_error(live.http.post(url, json={"registry": "acme"}), 422, "required")
    assert_error(live.http.post(url, json={"registry": "acme", "fail_in": "requested", "why": 1}), 422, "why")


# -- GC rates -----------------------------------------------------------------------------------

def test_rates_can_be_read_and_changed_until_a_reset(live):
    url = live.url("/_docrsim/gc-rates")
    defaults = live.http.get(url).json()
    assert set(defaults) == {"scan_manifests_per_second", "delete_objects_per_second", "delete_bytes_per_second"}
    changed = live.http.put(url, json={"scan_manifests_per_second": 0.5})
    assert changed.status_code == 200 and changed.json() == {**defaults, "scan_manifests_per_second": 0.5}
    reset(live)
    # The write token runs out ten minutes after the start; then two manifest links at half a
    # link per second make scanning last four seconds.
    live.http.put(url, json={"scan_manifests_per_second": 0.5})
    start_gc(live)
    clock(live, {"advance_seconds": 600 + 3})
    assert newest_run(live)["status"] == "scanning manifests"
    clock(live, {"advance_seconds": 1.5})
    assert newest_run(live)["status"] != "scanning manifests"
    reset(live)
    assert live.http.get(url).json() == defaults


def test_bad_rates_are_refused(live):
    url = live.url("/_docrsim/gc-rates")
    assert_error(live.http.put(url, json={"delete_objects_per_second": 0}), 422, "positive")
    assert_error(live.http.put(url, json={"delete_bytes_per_second": "fast"}), 422, "positive")
    assert_error(live.http.put(url, json={"speed": 3}), 422, "speed")
